import Foundation
import Logging
import RecCore
import RecData

/// What every stage gets: the settings, the Dispatch workers and a logger.
public struct StageContext: Sendable {
    public var config: PipelineConfig
    public var parallel: Parallel
    public var logger: Logger
    /// Reports progress of long loops (what, done, total); the command line draws a bar on a
    /// terminal and nothing otherwise.
    public var progress: @Sendable (String, Int, Int) -> Void

    public init(config: PipelineConfig, logger: Logger,
                progress: @escaping @Sendable (String, Int, Int) -> Void = { _, _, _ in }) {
        self.config = config
        self.parallel = Parallel.resolve(config.workers)
        self.logger = logger
        self.progress = progress
    }

    public var paths: StagePaths { config.paths }
}

/// What a stage's run reports.
public struct StageResult: Sendable {
    /// Row counts and other facts: logged as `key=value` (the scalars) and recorded in the
    /// stage's manifest.
    public var facts: [String: JSONValue]
    /// `rec-ingest`'s line reports of the ratings and the movies files: recorded in the
    /// manifest under `ratingsLinesKey` and `moviesLinesKey`, their skipped lines counted in
    /// its `skipped`.
    public var lines: IngestLines?
    /// `rec-score`'s figures as text: printed on stdout, not recorded.
    public var summary: String?

    public struct IngestLines: Sendable {
        public var ratings: LineReport
        public var movies: LineReport
    }

    /// The manifest keys of ingest's line reports, which the monitoring textfile reads back.
    public static let ratingsLinesKey = "ratingsLines"
    public static let moviesLinesKey = "moviesLines"

    init(_ facts: [String: JSONValue], lines: IngestLines? = nil, summary: String? = nil) {
        self.facts = facts
        self.lines = lines
        self.summary = summary
    }

    /// What the stage's manifest records: the facts and the line reports.
    func recorded() throws -> JSONValue {
        var all = facts
        if let lines {
            all[Self.ratingsLinesKey] = try JSONValue.from(lines.ratings)
            all[Self.moviesLinesKey] = try JSONValue.from(lines.movies)
        }
        return .object(all)
    }

    /// Skipped input lines per reason, over both files.
    var skipped: [String: Int] {
        guard let lines else { return [:] }
        return lines.ratings.skipped.merging(lines.movies.skipped, uniquingKeysWith: +)
    }
}

/// One step of the pipeline: what it reads, what it writes, which settings it depends on, and
/// the work. The runner uses the declarations to decide what is out of date.
public protocol Stage: Sendable {
    /// Short name: `ingest`, `split`, …
    var name: String { get }
    /// The executable that runs it alone.
    var executable: String { get }
    func inputs(_ c: PipelineConfig) -> [String]
    func outputs(_ c: PipelineConfig) -> [String]
    /// The top-level settings sections this stage reads itself (`input`, `split`, …). Its
    /// fingerprint adds those of every stage before it: see `Pipeline.fingerprint`.
    func reads(_ c: PipelineConfig) -> [String]
    /// Does the work; returns row counts and other facts for the log and the manifest.
    func run(_ ctx: StageContext) throws -> StageResult
}

/// The pipeline, in order.
public enum Pipeline {
    public static let stages: [any Stage] = [
        IngestStage(), SplitStage(), BuildMatrixStage(), TrainStage(), ScoreStage(), ExportStage(),
    ]

    public static func stage(named name: String) -> (any Stage)? {
        stages.first { $0.name == name || $0.executable == name }
    }

    /// The program's version: part of every manifest, so a new build reruns the stages.
    /// 0.3.0: data artefacts record the rating scale (`ratingScale`), which train and score read.
    public static let version = "0.3.0"

    /// Settings that say where or how fast, never what: changing them changes no byte of any
    /// output, so they are in no fingerprint (a new folder simply has no manifests yet).
    /// `monitoring` only names the file rec-pipeline reports each run in.
    static let operationalSettings: Set<String> = ["artefactDir", "outputDir", "workers", "memoryLimitGB", "monitoring", "slurm"]

    /// The settings a stage's outputs depend on, as recorded in its manifest: every section
    /// that it or any stage before it reads, so a change reruns the first stage that reads it
    /// and every stage after it, whatever bytes the reruns write. A section that no stage
    /// declares (a setting added without an owner) is in every stage's fingerprint: a new
    /// setting can rerun too much, never too little.
    static func fingerprint(_ stage: any Stage, _ c: PipelineConfig) throws -> JSONValue {
        guard case .object(let all) = try JSONValue.from(c) else { return .object([:]) }
        let base = baseName(stage.name)
        let position = stages.firstIndex { $0.name == base } ?? stages.count - 1
        let declared = Set(stages.flatMap { $0.reads(c) })
        var sections = Set(stages[...position].flatMap { $0.reads(c) })
        sections.formUnion(all.keys.filter { !declared.contains($0) && !operationalSettings.contains($0) })
        return .object(all.filter { sections.contains($0.key) && !operationalSettings.contains($0.key) })
    }
}

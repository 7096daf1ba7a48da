import Foundation
import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import RecCore
import RecStore
import RecData
import RecPipeline

/// What `rec-pipeline` tells a monitoring system about each run: a Prometheus text-format file
/// for node_exporter's textfile collector (`monitoring.textfile` in the settings), rewritten
/// atomically at the end of every run, failed ones included.
///
/// Typical use in a command:
/// ```
/// let monitor = RunMonitor(config: config, configPath: path, started: start)   // before the run
/// ... run ...
/// monitor?.finish(exitCode: code, logger: logger)                               // after it, whatever happened
/// ```
///
/// The file holds, each sample labelled with `config` (the settings file's absolute path, so
/// that two pipelines' files can sit in one collector folder without clashing series):
/// - the run: end time, duration and exit code of the last run, end time of the last run that
///   succeeded (read back from the previous file, so a failed run keeps it), runs by result;
/// - each stage: whether it ran in the last run (0 = up to date, or not reached after a
///   failure) and its seconds, from the stage records (manifests) this run wrote;
/// - the data: lines read and skipped by reason, ratings kept, users and rows exported, from
///   the records of each stage's last successful run, and the list and rating metrics of the
///   published `metrics.json`.
///
/// The text format is written by hand rather than with swift-server/swift-prometheus: that
/// package is an in-process registry of live atomic metrics (and brings swift-atomics and
/// swift-metrics), while this is one small file written once per run, whose previous copy must
/// also be read back for the last success time and the run counters, which no registry does.
/// The format's rules that matter here (HELP/TYPE lines, label and help escaping, `+Inf`/`NaN`)
/// take a few lines, below.
///
/// Every file it reads (stage records, the settings, the published metrics, its own previous
/// copy) is read with `try?`: what cannot be read is left out of the report, and monitoring
/// never changes how the run itself goes or ends.
public struct RunMonitor: Sendable {
    /// Prefix of every metric name.
    public static let prefix = "rec_pipeline_"

    /// The textfile, absolute.
    public let textfile: String
    let configPath: String
    let config: PipelineConfig?
    let started: Date
    /// Each stage's manifest bytes before the run (absent = none): a stage ran in this run
    /// exactly when its manifest changed, since every run of a stage writes a new record
    /// (with its start time and seconds).
    let manifestsBefore: [String: Data]

    /// Monitoring of a run whose settings loaded; nil when `monitoring.textfile` is empty.
    /// Call it before the run: it notes what the stage records hold.
    public init?(config: PipelineConfig, configPath: String, started: Date) {
        guard !config.monitoring.textfile.isEmpty else { return nil }
        self.textfile = config.resolve(config.monitoring.textfile)
        RunState.shared.addFolders([URL(fileURLWithPath: textfile).deletingLastPathComponent().path])
        self.configPath = RunMonitor.absolute(configPath)
        self.config = config
        self.started = started
        var before: [String: Data] = [:]
        for stage in Pipeline.stages {
            before[stage.name] = (try? PlainFile.read(Manifest.path(stage: stage.name, dir: config.paths.artefacts))).map({ Data($0) })
        }
        self.manifestsBefore = before
    }

    /// Monitoring of a run whose settings did not load (exit code 2): the textfile is taken from
    /// the settings file's JSON when it names one ending in `.prom`, so that an edit that broke
    /// the settings shows up as a failed run rather than as silence. Nil when it cannot be found.
    public init?(unloadableConfigAt configPath: String, started: Date) {
        guard let bytes = (try? PlainFile.read(configPath)).map({ Data($0) }),
              let json = try? JSONDecoder().decode(JSONValue.self, from: bytes),
              let file = json["monitoring"]?["textfile"]?.stringValue, file.hasSuffix(".prom")
        else { return nil }
        let absolute = RunMonitor.absolute(configPath)
        self.textfile = file.hasPrefix("/") ? file
            : URL(fileURLWithPath: absolute).deletingLastPathComponent().appendingPathComponent(file).standardized.path
        self.configPath = absolute
        self.config = nil
        self.started = started
        self.manifestsBefore = [:]
    }

    static func absolute(_ path: String) -> String {
        URL(fileURLWithPath: path, relativeTo: URL(fileURLWithPath: FileManager.default.currentDirectoryPath)).standardized.path
    }

    /// Writes the file for a run that ended with `exitCode`. A file that cannot be written is
    /// logged as an error and does not change the run's exit code (the stale file's last-run
    /// time then tells the monitoring system that something is wrong).
    /// - Parameter lockTaken: the run found another run's lock and did nothing; that run owns
    ///   the stage records and published files, so only the run's own figures are written.
    public func finish(exitCode: Int32, lockTaken: Bool = false, logger: Logger, now: Date = Date()) {
        do {
            try write(exitCode: exitCode, lockTaken: lockTaken, now: now)
        } catch let e as RecError {
            logger.error("monitoring: \(e.description)")
        } catch {
            logger.error("monitoring: \(textfile): \(error)")
        }
    }

    func write(exitCode: Int32, lockTaken: Bool, now: Date) throws {
        let dir = URL(fileURLWithPath: textfile).deletingLastPathComponent().path
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        } catch {
            throw RecError(.runtime, "cannot create the folder \(dir)", file: textfile)
        }
        // Reading the previous file and replacing it is one step among rec-pipeline processes
        // (a run that found the lock taken writes too): an exclusive flock on the folder, which
        // creates no file in the collector's folder. Closing the descriptor releases it.
        let fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 {
            while flock(fd, LOCK_EX) != 0 && errno == EINTR {}
        }
        defer { if fd >= 0 { close(fd) } }
        let previous = RunMonitor.Previous(text: (try? PlainFile.read(textfile)).map({ String(decoding: $0, as: UTF8.self) }) ?? "")
        try AtomicFile.write(render(exitCode: exitCode, lockTaken: lockTaken, now: now, previous: previous), to: textfile)
    }

    /// What the previous file said that a run must carry on.
    struct Previous: Equatable {
        var lastSuccess: Double?
        var runs: [String: Double] = [:]

        /// Reads our own samples back; lines of any other shape are ignored (a damaged or
        /// foreign file only loses the history, it never stops the run).
        init(text: String) {
            for line in text.split(separator: "\n") where !line.hasPrefix("#") {
                guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]),
                      value.isFinite, value >= 0 else { continue }
                let series = line[..<space]
                if series.hasPrefix(RunMonitor.prefix + "last_success_timestamp_seconds") {
                    lastSuccess = value
                } else if series.hasPrefix(RunMonitor.prefix + "runs_total") {
                    for result in ["success", "failure"] where series.contains("result=\"\(result)\"") { runs[result] = value }
                }
            }
        }
    }

    /// The file's text: the run's own figures, then (with settings, and unless another run
    /// held the lock) each stage's and the data's.
    func render(exitCode: Int32, lockTaken: Bool = false, now: Date, previous: Previous) -> String {
        var x = Exposition(prefix: RunMonitor.prefix, common: [("config", configPath)])
        addRun(to: &x, exitCode: exitCode, now: now, previous: previous)
        guard let config, !lockTaken else { return x.text }
        addStages(to: &x, artefacts: config.paths.artefacts)
        addData(to: &x, config)
        return x.text
    }

    /// When the run ended, how long it took, its exit code, the last success and the run counts.
    private func addRun(to x: inout Exposition, exitCode: Int32, now: Date, previous: Previous) {
        let end = now.timeIntervalSince1970
        let success = exitCode == 0
        x.gauge("last_run_timestamp_seconds", "Unix time at which the last rec-pipeline run ended.", end)
        x.gauge("last_run_duration_seconds", "Seconds the last rec-pipeline run took.", max(0, now.timeIntervalSince(started)))
        x.gauge("last_run_exit_code",
                "Exit code of the last rec-pipeline run: 0 done, 1 failure (bad input, damaged artefact, run-time error), 2 usage or settings error, 3 another run held the lock, 4 the quality gate kept the previous exports.",
                Double(exitCode))
        x.gauge("last_success_timestamp_seconds",
                "Unix time at which the last rec-pipeline run that exited with 0 ended (0 = none recorded).",
                success ? end : previous.lastSuccess ?? 0)
        var runs = previous.runs
        runs[success ? "success" : "failure", default: 0] += 1
        for result in ["success", "failure"] {
            x.counter("runs_total", "rec-pipeline runs by result (success = exit code 0), counted in this file.",
                      [("result", result)], runs[result] ?? 0)
        }
    }

    /// Whether each stage ran in this run (its manifest changed) and for how long.
    private func addStages(to x: inout Exposition, artefacts: String) {
        for stage in Pipeline.stages {
            let current = (try? PlainFile.read(Manifest.path(stage: stage.name, dir: artefacts))).map({ Data($0) })
            let ran = current != nil && current != manifestsBefore[stage.name]
            let seconds = ran ? current.flatMap { try? JSONDecoder().decode(StageRecord.self, from: $0) }?.seconds ?? 0 : 0
            x.gauge("stage_ran", "1 when the stage ran in the last run; 0 when it was skipped as up to date or not reached after a failure.",
                    [("stage", stage.name)], ran ? 1 : 0)
            x.gauge("stage_duration_seconds", "Seconds the stage took in the last run, as its record says (0 when it did not run).",
                    [("stage", stage.name)], seconds)
        }
    }

    /// The data, from each stage's last successful run, and the published exports' figures.
    private func addData(to x: inout Exposition, _ config: PipelineConfig) {
        let artefacts = config.paths.artefacts
        if let ingest = Manifest.read(stage: IngestStage().name, dir: artefacts), ingest.success {
            for (file, key) in [("ratings", StageResult.ratingsLinesKey), ("movies", StageResult.moviesLinesKey)] {
                guard let report = ingest.stats[key] else { continue }
                x.gauge("input_lines_read", "Lines of the input file read by the last successful ingest.",
                        [("file", file)], report["linesRead"]?.doubleValue ?? 0)
                for reason in LineProblem.allCases {
                    x.gauge("input_lines_skipped", "Lines of the input file left out by the last successful ingest, by reason (only with invalidLines = skip).",
                            [("file", file), ("reason", reason.rawValue)], report["skipped"]?[reason.rawValue]?.doubleValue ?? 0)
                }
            }
            for (name, key, help) in [("ratings_read", "ratings", "Ratings kept by the last successful ingest."),
                                      ("users_read", "users", "Users with at least one rating, in the last successful ingest."),
                                      ("movies_rated", "items", "Movies with at least one rating, in the last successful ingest.")] {
                if let v = ingest.stats[key]?.doubleValue { x.gauge(name, help, v) }
            }
        }
        if let export = Manifest.read(stage: ExportStage().name, dir: artefacts), export.success {
            if let v = export.stats["users"]?.doubleValue { x.gauge("users_written", "Users in the exports written by the last successful export.", v) }
            if let v = export.stats["rows"]?.doubleValue {
                x.gauge("recommendations_written", "Rows of recommendations.csv written by the last successful export.", v)
            }
        }
        if let modified = (try? FileManager.default.attributesOfItem(atPath: config.paths.recommendationsCSV))?[.modificationDate] as? Date {
            x.gauge("exports_timestamp_seconds", "Unix time at which the published recommendations.csv was last replaced.",
                    modified.timeIntervalSince1970)
        }
        if let bytes = (try? PlainFile.read(config.paths.metrics)).map({ Data($0) }),
           let metrics = try? JSONDecoder().decode(JSONValue.self, from: bytes) {
            RunMonitor.addMetrics(metrics, to: &x)
        }
    }

    /// The published metrics.json's figures: the pipeline's models as `model="pipeline"`, the
    /// baselines under their names there.
    static func addMetrics(_ m: JSONValue, to x: inout Exposition) {
        var models: [(String, JSONValue)] = [("pipeline", m)]
        if case .object(let baselines)? = m["baselines"] {
            models += baselines.keys.sorted().map { ($0, baselines[$0]!) }
        }
        for (model, figures) in models {
            for (measure, help) in [("rmse", "Root mean squared error of the predicted ratings (clipped to the scale), by data slice, from metrics.json."),
                                    ("mae", "Mean absolute error of the predicted ratings (clipped to the scale), by data slice, from metrics.json.")] {
                guard case .object(let slices)? = figures[measure] else { continue }
                for slice in slices.keys.sorted() {
                    if let v = slices[slice]?.doubleValue { x.gauge("rating_\(measure)", help, [("model", model), ("slice", slice)], v) }
                }
            }
            if let ranking = figures["ranking"], let k = ranking["k"]?.intValue {
                for (key, name, help) in [
                    ("precision", "list_precision", "Precision@k of the lists on the test slice, from metrics.json."),
                    ("recall", "list_recall", "Recall@k of the lists on the test slice, from metrics.json."),
                    ("ndcg", "list_ndcg", "NDCG@k of the lists on the test slice, from metrics.json."),
                    ("hitRate", "list_hit_rate", "HitRate@k of the lists on the test slice, from metrics.json."),
                    ("mrr", "list_mrr", "MRR@k of the lists on the test slice, from metrics.json."),
                    ("coverage", "list_coverage", "Share of the rated movies that appear in some list, from metrics.json."),
                    ("usersEvaluated", "list_users_evaluated", "Users with a relevant test movie, over whom the list metrics are averaged, from metrics.json."),
                ] {
                    if let v = ranking[key]?.doubleValue { x.gauge(name, help, [("model", model), ("k", String(k))], v) }
                }
            }
            if case .object(let accuracy)? = figures["topKAccuracy"] {
                for k in accuracy.keys.sorted(by: { (Int($0) ?? 0, $0) < (Int($1) ?? 0, $1) }) {
                    if let v = accuracy[k]?.doubleValue {
                        x.gauge("top_k_accuracy", "Share of the top k of each user's test movies (by predicted rating) rated 4 or more, from metrics.json.",
                                [("model", model), ("k", k)], v)
                    }
                }
            }
        }
        addListQuality(m, to: &x)
    }
}

/// Prometheus's text exposition format (version 0.0.4): families in the order first added,
/// each with its HELP and TYPE lines and then its samples.
struct Exposition {
    enum Kind: String { case gauge, counter }

    private struct Family {
        var name: String
        var kind: Kind
        var help: String
        var samples: [String] = []
    }

    let prefix: String
    /// Labels every sample carries first.
    let common: [(String, String)]
    private var families: [Family] = []
    private var index: [String: Int] = [:]

    init(prefix: String, common: [(String, String)] = []) {
        self.prefix = prefix
        self.common = common
    }

    mutating func gauge(_ name: String, _ help: String, _ labels: [(String, String)] = [], _ value: Double) {
        add(name, .gauge, help, labels, value)
    }

    mutating func gauge(_ name: String, _ help: String, _ value: Double) { add(name, .gauge, help, [], value) }

    mutating func counter(_ name: String, _ help: String, _ labels: [(String, String)], _ value: Double) {
        add(name, .counter, help, labels, value)
    }

    private mutating func add(_ name: String, _ kind: Kind, _ help: String, _ labels: [(String, String)], _ value: Double) {
        let full = prefix + name
        let i: Int
        if let existing = index[full] {
            i = existing
        } else {
            i = families.count
            index[full] = i
            families.append(Family(name: full, kind: kind, help: help))
        }
        let pairs = (common + labels).map { "\($0.0)=\"\(Exposition.escapeLabel($0.1))\"" }
        families[i].samples.append(full + (pairs.isEmpty ? "" : "{" + pairs.joined(separator: ",") + "}") + " " + Exposition.format(value))
    }

    var text: String {
        families.map { f in
            "# HELP \(f.name) \(Exposition.escapeHelp(f.help))\n# TYPE \(f.name) \(f.kind.rawValue)\n" + f.samples.map { $0 + "\n" }.joined()
        }.joined()
    }

    /// Label values: backslash, double quote and line feed escaped.
    static func escapeLabel(_ s: String) -> String {
        s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n")
    }

    /// HELP text: backslash and line feed escaped.
    static func escapeHelp(_ s: String) -> String {
        s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\n", with: "\\n")
    }

    /// Whole numbers without a fraction, others in Swift's shortest round-tripping form (which
    /// Go's ParseFloat reads), and the format's spellings of infinities and NaN.
    static func format(_ v: Double) -> String {
        if v.isNaN { return "NaN" }
        if v.isInfinite { return v > 0 ? "+Inf" : "-Inf" }
        if v == v.rounded(), abs(v) < 9_007_199_254_740_992 { return String(Int64(v)) }
        return String(v)
    }
}

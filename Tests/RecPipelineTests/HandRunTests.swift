import Foundation
import Logging
import RecTestSupport
import Testing
@testable import RecCore
@testable import RecPipeline

/// Stages run by hand after a change of settings: the published set is either refused, or
/// exactly what a fresh run with the new settings publishes.
///
/// The stages run one by one through `Runner.runAlone`, the entry their executables use.
@Suite struct HandRunTests {
    static let logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }

    /// Runs `stages[s...]` one by one as their executables would, stopping at the first error.
    /// - Returns: the error that stopped them, nil when every stage ran.
    static func runByHand(from s: Int, _ fixture: PipelineFixture) throws -> RecError? {
        let c = try PipelineConfig.load(fixture.configPath)
        let ctx = StageContext(config: c, logger: logger)
        for stage in Pipeline.stages[s...] {
            do {
                _ = try Runner.runAlone(stage, ctx, wait: false)
            } catch let e as RecError {
                return e
            }
        }
        return nil
    }

    /// The first stage before `s` that the runner would rerun under the fixture's settings.
    static func firstStale(before s: Int, _ fixture: PipelineFixture) throws -> Int? {
        let c = try PipelineConfig.load(fixture.configPath)
        return try Pipeline.stages[..<s].firstIndex { !(try Runner.check($0, c).0) }
    }

    /// The suffix starts tried for a case: both sides of the first stage the change makes
    /// stale (run from it: allowed; from the one after: refused), and one more that turns
    /// with the case, so that every start is tried across the cases.
    static func starts(index: Int, old: PipelineConfig, new: PipelineConfig) throws -> [Int] {
        let n = Pipeline.stages.count
        let affected = try Pipeline.stages.firstIndex { try Pipeline.fingerprint($0, old) != Pipeline.fingerprint($0, new) }
        var starts = [index % n]
        if let affected { starts += [affected, affected + 1].filter { $0 < n } }
        return Array(Set(starts)).sorted()
    }

    @Test(arguments: Array(IncrementalRunTests.cases().enumerated()).map { HandRunCase(index: $0.offset, c: $0.element) })
    func changingOneSetting_thenRunningAnySuffixOfStagesByHand_isRefusedOrEqualsAFreshRun(_ hc: HandRunCase) throws {
        let c = hc.c
        let base = IncrementalRunTests.bases[c.base]!
        let fixture = try PipelineFixture(settings: base)
        let changed = try #require(try IncrementalRunTests.changed(c, fixture: fixture), "no other valid value known for \(c.key.joined(separator: "."))")

        let fresh = try PipelineFixture(settings: base)
        try fresh.write(try #require(try IncrementalRunTests.changed(c, fixture: fresh)))
        try fresh.run(force: true)
        let scratch = try fresh.exports()

        let old = try PipelineConfig.load(fixture.configPath)
        try fixture.write(changed)
        let new = try PipelineConfig.load(fixture.configPath)
        let name = c.key.joined(separator: ".")
        for s in try Self.starts(index: hc.index, old: old, new: new) {
            // The old settings, published; then the new ones, and stages s… run by hand.
            try fixture.write(base)
            try fixture.run()
            let before = try fixture.exports()
            try fixture.write(changed)
            let stale = try Self.firstStale(before: s, fixture)
            let refusal = try Self.runByHand(from: s, fixture)
            let label = "\(name), stages from \(Pipeline.stages[s].executable)"
            if let refusal {
                let named = Pipeline.stages[..<s].contains { refusal.hint?.hasPrefix("run \($0.executable) first") == true }
                #expect(stale != nil, "\(label): refused although every earlier stage is up to date: \(refusal)")
                #expect(refusal.kind == .config || (refusal.kind == .artefact && refusal.message == "not found"), "\(label): \(refusal)")
                #expect(named, "\(label): the refusal names no stage before \(Pipeline.stages[s].name): \(refusal)")
                if refusal.kind == .config, let stale {
                    #expect(refusal.hint?.hasPrefix("run \(Pipeline.stages[stale].executable) first") == true, "\(label): \(refusal)")
                }
                // The old settings' exports are as they were.
                try fixture.write(base)
                #expect(try fixture.exports() == before, "\(label): a refused run changed the exports")
            } else {
                #expect(stale == nil, "\(label): ran on a stale \(stale.map { Pipeline.stages[$0].name } ?? "")")
                for (file, (a, b)) in zip(PipelineFixture.exports, zip(try fixture.exports(), scratch)) {
                    #expect(a == b, "\(label): \(file) differs from a fresh run with the new settings")
                }
            }
        }
    }

    /// Random walks of hand runs between two settings: any stage, any order. Whenever the
    /// export runs, it publishes the fresh run's exports of the settings in force; a refused
    /// stage changes no export.
    @Test(arguments: [1, 2, 3, 4] as [UInt64])
    func randomHandRunsBetweenTwoSettings_publishOnlyWhatAFreshRunOfTheCurrentSettingsPublishes(seed: UInt64) throws {
        var rng = SplitMix64(seed: seed)
        let base = PipelineFixture.baseSettings
        // The other settings: a change early (the split), mid (the ranking model) or late (k).
        let variants: [[String: JSONValue]] = [
            IncrementalRunTests.setting(.object(base), ["split", "seed"], to: .int(4)),
            IncrementalRunTests.setting(.object(base), ["rankingModel", "lambda"], to: .double(35)),
            IncrementalRunTests.setting(.object(base), ["score", "k"], to: .int(4)),
        ].map { if case .object(let o) = $0 { o } else { [:] } }
        let other = variants[rng.below(variants.count)]
        var reference: [[Data]] = []
        for settings in [base, other] {
            let fresh = try PipelineFixture(settings: settings)
            try fresh.run(force: true)
            reference.append(try fresh.exports())
        }
        #expect(reference[0] != reference[1])
        let f = try PipelineFixture(settings: base)
        try f.run()
        var published = try f.exports(), ran = 0, refused = 0, which = 0
        for step in 0..<14 {
            which = rng.below(2)
            try f.write(which == 0 ? base : other)
            let s = rng.below(Pipeline.stages.count)
            let c = try PipelineConfig.load(f.configPath)
            let stale = try Self.firstStale(before: s, f)
            do {
                _ = try Runner.runAlone(Pipeline.stages[s], StageContext(config: c, logger: Self.logger), wait: false)
                ran += 1
                #expect(stale == nil, "step \(step): \(Pipeline.stages[s].name) ran on a stale chain")
                if s == Pipeline.stages.count - 1 {
                    #expect(try f.exports() == reference[which], "step \(step): the export is not the fresh run's of the settings in force")
                }
            } catch let e as RecError {
                refused += 1
                #expect(e.kind == .config && stale != nil, "step \(step): \(e)")
                #expect(stale.map { e.hint?.hasPrefix("run \(Pipeline.stages[$0].executable) first") == true } == true, "step \(step): \(e)")
            }
            let now = try f.exports()
            #expect(now == published || s == Pipeline.stages.count - 1, "step \(step): a stage other than export changed the exports")
            published = now
        }
        // The runner brings any state the walk left to the settings in force.
        try f.run()
        #expect(try f.exports() == reference[which])
        #expect(ran > 0 && refused > 0, "the walk ran \(ran) stages and refused \(refused)")
    }
}

/// A case of the settings-key property with its place in the list (which picks its extra
/// suffix start).
struct HandRunCase: CustomTestStringConvertible, Sendable {
    let index: Int
    let c: IncrementalRunTests.Case
    var testDescription: String { c.testDescription }
}

import Foundation
import Testing

/// The systemd units in deploy/systemd: what they say, `systemd-analyze verify` on them, and the
/// service's command line run as the service would run it.
@Suite struct DeployTests {
    static let units = repositoryRoot.appendingPathComponent("deploy/systemd")
    /// Where the committed units expect the checkout.
    static let installedCheckout = "/srv/recommender"

    /// `Key=value` lines of one section of a unit file.
    static func section(_ text: String, _ name: String) -> [String: String] {
        var current = "", out: [String: String] = [:]
        for raw in text.split(separator: "\n") {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("#") || line.isEmpty { continue }
            if line.hasPrefix("[") { current = line; continue }
            guard current == "[\(name)]", let eq = line.firstIndex(of: "=") else { continue }
            out[String(line[..<eq])] = String(line[line.index(after: eq)...])
        }
        return out
    }

    @Test func units_sayOneshotUnprivilegedQuietDailyAndPersistent() throws {
        let service = try read(Self.units.appendingPathComponent("rec-pipeline.service").path)
        let timer = try read(Self.units.appendingPathComponent("rec-pipeline.timer").path)
        let s = Self.section(service, "Service")
        #expect(s["Type"] == "oneshot")
        #expect(s["User"].map { !$0.isEmpty && $0 != "root" && $0 != "0" } == true)
        let exec = (s["ExecStart"] ?? "").split(separator: " ").map(String.init)
        #expect(exec.first?.hasSuffix("/.build/release/rec-pipeline") == true)
        #expect(exec.contains("--quiet"))
        // Stopping sends a signal that rec-pipeline handles (logged, cleaned up, recorded as a
        // failed run), with time for it before SIGKILL; a stopped run is not a success.
        #expect(["SIGTERM", "SIGINT", "SIGHUP"].contains(s["KillSignal"] ?? "SIGTERM"))
        #expect(s["TimeoutStopSec"].flatMap { Int($0) }.map { $0 >= 5 } == true)
        #expect(!(s["SuccessExitStatus"] ?? "").split(separator: " ").contains { ["129", "130", "143", "SIGTERM", "SIGINT", "SIGHUP"].contains(String($0)) })
        let t = Self.section(timer, "Timer")
        #expect(t["Persistent"] == "true")
        #expect(t["Unit"] == "rec-pipeline.service")
        #expect(Self.section(timer, "Install")["WantedBy"] == "timers.target")
        // Daily: the next two elapses of the calendar expression are the same wall-clock time on
        // consecutive days (read as UTC, so a change of daylight saving time does not matter).
        let calendar = try runTool("systemd-analyze", ["calendar", "--iterations=2", t["OnCalendar"] ?? ""])
        #expect(calendar.status == 0, "\(calendar.stderr)")
        let elapses = calendar.stdout.split(separator: "\n").compactMap { line -> Date? in
            guard line.contains("Next elapse:") || line.contains("Iter. #2:") else { return nil }
            let fields = line.split(separator: " ")
            guard fields.count >= 3 else { return nil }
            let stamp = fields.suffix(3).prefix(2).joined(separator: " ")
            let parser = DateFormatter()
            parser.locale = Locale(identifier: "en_US_POSIX")
            parser.dateFormat = "yyyy-MM-dd HH:mm:ss"
            parser.timeZone = TimeZone(identifier: "UTC")
            return parser.date(from: stamp)
        }
        #expect(elapses.count == 2, "\(calendar.stdout)")
        if elapses.count == 2 { #expect(elapses[1].timeIntervalSince(elapses[0]) == 86_400) }
    }

    @Test func units_withThisBuildsPaths_passSystemdAnalyzeVerifyAndTheServiceCommandRuns() throws {
        let f = try Fixture(.ml1mNoTimestamps)
        // ExecStart must exist for verify: the units as installed into this fixture's folder,
        // with this build's rec-pipeline.
        let dir = f.dir.appendingPathComponent("units")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for name in ["rec-pipeline.service", "rec-pipeline.timer"] {
            let text = try read(Self.units.appendingPathComponent(name).path)
                .replacingOccurrences(of: Self.installedCheckout + "/.build/release", with: productsDirectory.path)
                .replacingOccurrences(of: Self.installedCheckout, with: f.dir.path)
            try Data(text.utf8).write(to: dir.appendingPathComponent(name))
        }
        let service = dir.appendingPathComponent("rec-pipeline.service").path
        let verify = try runTool("systemd-analyze", ["verify", service, dir.appendingPathComponent("rec-pipeline.timer").path])
        #expect(verify.status == 0, "\(verify.stderr)")
        // verify exits 0 on unknown keys and unparsable values, which it reports on stderr.
        #expect(verify.stderr.isEmpty, "\(verify.stderr)")

        let s = Self.section(try read(service), "Service")
        let exec = (s["ExecStart"] ?? "").split(separator: " ").map(String.init)
        let r = try runProgram(exec[0], Array(exec.dropFirst()), in: URL(fileURLWithPath: s["WorkingDirectory"] ?? "/"))
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.isEmpty, "--quiet logs warnings and errors only")
        #expect(FileManager.default.fileExists(atPath: f.path("output/recommendations.csv")))
    }
}

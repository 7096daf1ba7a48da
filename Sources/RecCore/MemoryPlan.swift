import Foundation

/// What a stage will hold in memory at its peak, estimated from the data's size and the
/// settings before anything large is allocated, and the check against the machine.
///
/// A setting that would need more memory than the machine has must end with a message that
/// names the figure, the limit and the setting to change, not with a failed allocation that
/// traps after minutes of work: stages build their plan first and call `check`.
public struct MemoryPlan: Sendable, Equatable {
    /// One thing held at the peak.
    public struct Part: Sendable, Equatable {
        public var what: String
        public var bytes: Int
        /// The setting that makes it smaller, in words (e.g. `rankingModel.maxItems`).
        public var setting: String?

        public init(_ what: String, bytes: Int, setting: String? = nil) {
            self.what = what
            self.bytes = max(0, bytes)
            self.setting = setting
        }
    }

    /// The most a run may use.
    public struct Limit: Sendable, Equatable {
        public var bytes: Int
        /// Where the figure comes from, for messages.
        public var source: String

        public init(bytes: Int, source: String) {
            self.bytes = bytes
            self.source = source
        }
    }

    /// Who needs it (`rec-train`, `rec-score`).
    public var step: String
    public var parts: [Part]

    public init(step: String, parts: [Part] = []) {
        self.step = step
        self.parts = parts
    }

    public var bytes: Int { MemoryPlan.sum(parts.map(\.bytes)) }

    // MARK: - Arithmetic that cannot trap

    /// The product, or `Int.max` when it overflows; a negative factor counts as 0.
    public static func product(_ factors: Int...) -> Int { product(factors) }

    public static func product(_ factors: [Int]) -> Int {
        var p = 1
        for f in factors {
            guard f > 0 else { return 0 }
            let (r, overflow) = p.multipliedReportingOverflow(by: f)
            if overflow { return Int.max }
            p = r
        }
        return p
    }

    /// The sum, or `Int.max` when it overflows.
    public static func sum(_ terms: [Int]) -> Int {
        var s = 0
        for t in terms where t > 0 {
            let (r, overflow) = s.addingReportingOverflow(t)
            if overflow { return Int.max }
            s = r
        }
        return s
    }

    /// The larger of two plans' peaks, for steps that run one after the other (what the first
    /// holds is freed before the second starts): the plan with the larger total.
    public static func larger(_ a: [Part], _ b: [Part]) -> [Part] { sum(a.map(\.bytes)) >= sum(b.map(\.bytes)) ? a : b }

    // MARK: - The limit

    /// Share of the physical memory a run may plan to use: the rest is the operating system's,
    /// the program's own and the estimate's error.
    static let physicalShare = 0.9

    /// `setting` gigabytes when above 0, else `physicalShare` of the physical memory (or of the
    /// control group's limit, when the process runs in a smaller one).
    public static func limit(settingGB: Double) -> Limit {
        if settingGB > 0 {
            return Limit(bytes: Int(min(settingGB * 1e9, Double(Int.max / 2))), source: "memoryLimitGB")
        }
        let (physical, source) = physicalMemory()
        return Limit(bytes: Int(Double(physical) * physicalShare),
                     source: "\(Int(physicalShare * 100)) % of \(source), \(format(physical))")
    }

    /// The memory this process can have: the machine's, or its control group's limit when
    /// lower (cgroup v2 `memory.max`, v1 `memory.limit_in_bytes`).
    public static func physicalMemory() -> (bytes: Int, source: String) {
        var bytes = Int(clamping: ProcessInfo.processInfo.physicalMemory), source = "the physical memory"
        for file in ["/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"] {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8),
                  let limit = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)), limit > 0, limit < bytes else { continue }
            bytes = limit
            source = "the control group's memory limit"
        }
        return (bytes, source)
    }

    // MARK: - The check

    /// Throws `RecError(.config)` when the plan needs more than `limit`: the message gives the
    /// total, the limit and where it comes from, and the largest parts; the hint names the
    /// settings of the largest parts that have one.
    public func check(_ limit: Limit) throws {
        let total = bytes
        guard total > limit.bytes else { return }
        let largest = parts.filter { $0.bytes > 0 }.sorted { $0.bytes > $1.bytes }
        let listed = largest.prefix(4).map { "\($0.what) \(MemoryPlan.format($0.bytes))" }.joined(separator: "; ")
        var settings: [String] = []
        for p in largest { if let s = p.setting, !settings.contains(s) { settings.append(s) } }
        let raise = limit.source == "memoryLimitGB" ? "raise memoryLimitGB" : "run it on a machine with more memory"
        throw RecError(
            .config,
            "\(step) would need about \(MemoryPlan.format(total)) of memory, more than the limit of \(MemoryPlan.format(limit.bytes)) (\(limit.source)): \(listed)",
            hint: (settings.prefix(2).map { "change \($0)" } + [raise]).joined(separator: ", or "))
    }

    /// Bytes as `41.8 GB`, `512 MB` or `12 kB` (powers of 1000, as `free -h --si`).
    public static func format(_ bytes: Int) -> String {
        if bytes == Int.max { return "more than 9 EB" }
        let b = Double(bytes)
        if b >= 1e9 { return String(format: "%.1f GB", b / 1e9) }
        if b >= 1e6 { return String(format: "%.0f MB", b / 1e6) }
        return String(format: "%.0f kB", b / 1e3)
    }
}

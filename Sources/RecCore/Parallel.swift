import Dispatch
import Foundation

/// A pointer that may cross into `concurrentPerform` closures. Each task must write only its
/// own disjoint range: that is the contract that makes this `@unchecked Sendable` sound.
public struct SharedPointer<T>: @unchecked Sendable {
    public let base: UnsafeMutablePointer<T>
    public init(_ base: UnsafeMutablePointer<T>) { self.base = base }
    @inlinable public subscript(i: Int) -> T {
        get { base[i] }
        nonmutating set { base[i] = newValue }
    }
}

/// Fixed partitions of `0..<count` and Dispatch over them.
///
/// Chunk boundaries depend only on `count` and `chunkSize`, never on the number of workers, so
/// any reduction done per chunk and then combined in chunk order gives the same bits whatever
/// the thread count.
public struct Parallel: Sendable {
    /// Number of concurrent workers (1 = run on the calling thread).
    public let workers: Int
    /// Workers kept awake between regions, inside `withTeam`.
    private let team: (any Sendable)?

    public init(workers: Int) {
        self.workers = max(1, workers)
        team = nil
    }

    private init(workers: Int, team: any Sendable) {
        self.workers = workers
        self.team = team
    }

    /// Runs `body` with a `Parallel` whose regions go to a team of workers started once and
    /// kept awake between regions (`WorkerTeam`), for computations made of many short regions
    /// (training). The same chunks and the same results as `self`; the team stops when `body`
    /// returns. Nothing changes with one worker.
    public func withTeam<T>(_ body: (Parallel) throws -> T) rethrows -> T {
        guard workers > 1, #available(macOS 15, *) else { return try body(self) }
        let team = WorkerTeam(workers: workers)
        defer { team.finish() }
        return try body(Parallel(workers: workers, team: team))
    }

    /// Workers = 0 means all cores.
    public static func resolve(_ requested: Int) -> Parallel {
        Parallel(workers: requested > 0 ? requested : ProcessInfo.processInfo.activeProcessorCount)
    }

    /// The chunk ranges of `0..<count`.
    public static func chunks(count: Int, chunkSize: Int) -> [Range<Int>] {
        let size = max(1, chunkSize)
        return stride(from: 0, to: count, by: size).map { $0..<min($0 + size, count) }
    }

    /// Runs `body(chunkIndex, range)` for every chunk, on up to `workers` threads. Chunks are
    /// handed out dynamically; results must be written to per-chunk slots.
    public func forEachChunk(count: Int, chunkSize: Int, _ body: (Int, Range<Int>) throws -> Void) rethrows {
        let ranges = Parallel.chunks(count: count, chunkSize: chunkSize)
        if workers == 1 || ranges.count <= 1 {
            for (i, r) in ranges.enumerated() { try body(i, r) }
            return
        }
        if #available(macOS 15, *), let team = team as? WorkerTeam, team.canLead, ranges.count <= WorkerTeam.maxChunks {
            try withoutActuallyEscaping(body) { body in
                if let error = team.run(ranges, body) { throw error }
            }
            return
        }
        try withoutActuallyEscaping(body) { body in
            let next = Locked(0)
            let failure = Locked<(any Error)?>(nil)
            let work = UncheckedBox(body)
            DispatchQueue.concurrentPerform(iterations: min(workers, ranges.count)) { _ in
                while failure.withLock({ $0 == nil }) {
                    let i = next.withLock { n in defer { n += 1 }; return n }
                    if i >= ranges.count { return }
                    do { try work.value(i, ranges[i]) } catch { failure.keepFirst(error) }
                }
            }
            if let error = failure.withLock({ $0 }) { throw error }
        }
    }

    /// Maps every chunk to a value, returned in chunk order.
    public func mapChunks<T>(count: Int, chunkSize: Int, _ body: (Range<Int>) throws -> T) rethrows -> [T] {
        let n = Parallel.chunks(count: count, chunkSize: chunkSize).count
        var slots = [T?](repeating: nil, count: n)
        try slots.withUnsafeMutableBufferPointer { buffer in
            let out = SharedPointer(buffer.baseAddress!)
            try forEachChunk(count: count, chunkSize: chunkSize) { i, r in out[i] = try body(r) }
        }
        return slots.map { $0! }
    }
}

/// Lets a non-Sendable closure be called from Dispatch workers; the callers above guarantee
/// that each invocation touches disjoint data.
public struct UncheckedBox<T>: @unchecked Sendable {
    public let value: T
    public init(_ value: T) { self.value = value }
}


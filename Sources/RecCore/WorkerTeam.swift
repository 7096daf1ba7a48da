import Dispatch
import Foundation
import Synchronization

/// Workers that stay awake between the parallel regions of one long computation (an
/// autoencoder's training: a dozen regions a batch, most of them 0.1–0.5 ms long).
///
/// `DispatchQueue.concurrentPerform` hands a region to pool threads that went to sleep at the
/// end of the last one, and waking one took about 45 µs on this project's 2-core VM: measured
/// with two iterations of a 40 µs loop, the pair took 86 µs in parallel against 42 µs for one
/// alone (no gain at all), and with 4 µs iterations parallel was 0.56× serial; only at 400 µs
/// did two workers give 2×. A team's followers are started once, with Dispatch, and between
/// regions they watch for the next one (for up to `spinLimit` checks, then they sleep on a
/// semaphore and are woken as before), so a region starts on every worker at once.
///
/// Chunks are the caller's fixed ranges, claimed one at a time, as in
/// `Parallel.forEachChunk`: what each chunk computes does not depend on which worker runs it,
/// so results are the same bits with a team, without one and for any number of workers.
///
/// The calling thread (the leader) publishes a region and works on it too; a region called
/// from inside a chunk (nested) runs on the calling thread alone.
@available(macOS 15, *)
final class WorkerTeam: @unchecked Sendable {
    /// The published region: generation (24 bits), chunk count (20 bits) and next chunk to
    /// claim (20 bits), in one word, so that a claim (compare-and-exchange) is a claim on the
    /// region it read and never on one published after it.
    private let ticket = Atomic<UInt64>(0)
    /// Chunks of the current region not finished yet.
    private let pending = Atomic<Int>(0)
    private let sleepers = Atomic<Int>(0)
    private let stopped = Atomic<Bool>(false)
    private let wake = DispatchSemaphore(value: 0)
    private let followersDone = DispatchGroup()
    private let followers: Int
    private let leader = pthread_self()
    private var generation: UInt64 = 0
    /// The current region's work; written by the leader before it publishes the ticket, read
    /// by a worker only after it claimed a chunk of that region (so it cannot change under it).
    private var job: ((Int, Range<Int>) throws -> Void)?
    private var ranges: [Range<Int>] = []
    private var failure = Locked<(any Error)?>(nil)

    /// Checks of the ticket before a follower sleeps, with a `sched_yield` every 64: 130–230 µs
    /// on this project's VM, longer than the serial gaps between the regions of a batch.
    static let spinLimit = 20_000
    /// The largest number of chunks a region may have (20 bits); larger regions run through
    /// `concurrentPerform`.
    static let maxChunks = (1 << 20) - 1

    private static func pack(_ generation: UInt64, _ count: Int, _ next: Int) -> UInt64 {
        (generation & 0xFF_FFFF) << 40 | UInt64(count) << 20 | UInt64(next)
    }

    private static func unpack(_ t: UInt64) -> (count: Int, next: Int) {
        (Int((t >> 20) & 0xF_FFFF), Int(t & 0xF_FFFF))
    }

    /// Starts `workers − 1` followers on Dispatch's global queue, at most one a core besides
    /// the leader (watching followers on a shared core would only take turns with it).
    init(workers: Int) {
        followers = max(0, min(workers, ProcessInfo.processInfo.activeProcessorCount) - 1)
        for _ in 0..<followers {
            DispatchQueue.global(qos: .userInitiated).async(group: followersDone) { [self] in follow() }
        }
    }

    /// Stops the followers and waits for them to leave.
    func finish() {
        stopped.store(true, ordering: .sequentiallyConsistent)
        for _ in 0..<followers { wake.signal() }
        followersDone.wait()
    }

    /// Whether the calling thread may publish a region (it is the leader and not inside one).
    var canLead: Bool { pthread_equal(pthread_self(), leader) != 0 && job == nil }

    /// Runs `body` on every range, on the leader and the followers; returns when all are done,
    /// with the first error a chunk threw (the chunks after it are skipped).
    public func run(_ chunks: [Range<Int>], _ body: @escaping (Int, Range<Int>) throws -> Void) -> Error? {
        precondition(chunks.count <= WorkerTeam.maxChunks)
        job = body
        ranges = chunks
        failure = Locked(nil)
        pending.store(chunks.count, ordering: .relaxed)
        generation &+= 1
        ticket.store(WorkerTeam.pack(generation, chunks.count, 0), ordering: .sequentiallyConsistent)
        let asleep = sleepers.load(ordering: .sequentiallyConsistent)
        for _ in 0..<min(asleep, followers) { wake.signal() }
        work()
        while pending.load(ordering: .acquiring) > 0 {}
        job = nil
        ranges = []
        return failure.withLock { $0 }
    }

    /// Claims and runs chunks of the published region until none is left.
    private func work() {
        while true {
            let t = ticket.load(ordering: .acquiring)
            let (count, next) = WorkerTeam.unpack(t)
            guard next < count else { return }
            guard ticket.compareExchange(expected: t, desired: t + 1, ordering: .acquiringAndReleasing).exchanged else { continue }
            if failure.withLock({ $0 == nil }), let job {
                do { try job(next, ranges[next]) } catch { failure.keepFirst(error) }
            }
            pending.subtract(1, ordering: .releasing)
        }
    }

    /// A follower's life: work on each region as it is published, watch for the next one,
    /// sleep when none comes for a while, leave when stopped.
    private func follow() {
        var spins = 0
        while !stopped.load(ordering: .relaxed) {
            let (count, next) = WorkerTeam.unpack(ticket.load(ordering: .acquiring))
            if next < count {
                work()
                spins = 0
                continue
            }
            spins += 1
            // Lets another thread of this core run now and then (a loaded or oversubscribed
            // machine), at no cost on an idle core.
            if spins % 64 == 0 { sched_yield() }
            if spins < WorkerTeam.spinLimit { continue }
            sleepers.add(1, ordering: .sequentiallyConsistent)
            let (c, n) = WorkerTeam.unpack(ticket.load(ordering: .sequentiallyConsistent))
            if n >= c, !stopped.load(ordering: .sequentiallyConsistent) { wake.wait() }
            sleepers.subtract(1, ordering: .sequentiallyConsistent)
            spins = 0
        }
    }
}

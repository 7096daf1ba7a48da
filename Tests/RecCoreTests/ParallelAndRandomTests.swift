import Foundation
import Testing
@testable import RecCore

@Suite struct ParallelTests {
    @Test func chunks_coverTheRangeInOrder() {
        #expect(Parallel.chunks(count: 0, chunkSize: 4).isEmpty)
        #expect(Parallel.chunks(count: 10, chunkSize: 3) == [0..<3, 3..<6, 6..<9, 9..<10])
        #expect(Parallel.chunks(count: 3, chunkSize: 0) == [0..<1, 1..<2, 2..<3])
        #expect(Parallel.chunks(count: 5, chunkSize: 99) == [0..<5])
    }

    @Test func init_clampsWorkersToAtLeastOne() {
        #expect(Parallel(workers: 0).workers == 1)
        #expect(Parallel(workers: -3).workers == 1)
        #expect(Parallel.resolve(3).workers == 3)
        #expect(Parallel.resolve(0).workers == ProcessInfo.processInfo.activeProcessorCount)
    }

    @Test(arguments: [1, 2, 4, 16])
    func mapChunks_returnsResultsInChunkOrder(workers: Int) {
        let p = Parallel(workers: workers)
        #expect(p.mapChunks(count: 1000, chunkSize: 7) { $0.reduce(0, +) } == Parallel.chunks(count: 1000, chunkSize: 7).map { $0.reduce(0, +) })
        #expect(p.mapChunks(count: 0, chunkSize: 7) { $0.count }.isEmpty)
    }

    struct Boom: Error, Equatable { let chunk: Int }

    @Test(arguments: [1, 4])
    func forEachChunk_whenABodyThrows_rethrowsIt(workers: Int) {
        #expect(throws: Boom(chunk: 13)) {
            try Parallel(workers: workers).forEachChunk(count: 100, chunkSize: 1) { i, _ in
                if i == 13 { throw Boom(chunk: 13) }
            }
        }
    }

    @Test func forEachChunk_visitsEveryChunkExactlyOnce() {
        var hits = [Int](repeating: 0, count: 500)
        hits.withUnsafeMutableBufferPointer { buffer in
            let out = SharedPointer(buffer.baseAddress!)
            Parallel(workers: 4).forEachChunk(count: 500, chunkSize: 3) { _, r in for i in r { out[i] += 1 } }
        }
        #expect(hits.allSatisfy { $0 == 1 })
    }
}

@Suite struct SplitMix64Tests {
    @Test func next_matchesTheReferenceSequence() {
        // Steele, Lea and Flood's SplitMix64 with seed 0.
        var g = SplitMix64(seed: 0)
        #expect([g.next(), g.next(), g.next()] == [0xE220_A839_7B1D_CDAF, 0x6E78_9E6A_A1B9_65F4, 0x06C4_5D18_8009_454F])
    }

    @Test func streams_areReproducibleAndDistinct() {
        var a = SplitMix64(seed: 42, stream: 7), b = SplitMix64(seed: 42, stream: 7)
        var c = SplitMix64(seed: 42, stream: 8), d = SplitMix64(seed: 43, stream: 7)
        let x = (0..<4).map { _ in a.next() }
        #expect(x == (0..<4).map { _ in b.next() })
        #expect(x != (0..<4).map { _ in c.next() })
        #expect(x != (0..<4).map { _ in d.next() })
    }

    @Test(arguments: [1, 2, 3, 10, 1000, Int(Int32.max)])
    func below_staysInRangeAndReachesBothEnds(bound: Int) {
        var g = SplitMix64(seed: UInt64(bound))
        var low = Int.max, high = Int.min
        for _ in 0..<20_000 {
            let v = g.below(bound)
            low = min(low, v); high = max(high, v)
        }
        #expect(low >= 0 && high < bound)
        if bound <= 10 { #expect(low == 0 && high == bound - 1) }
    }

    @Test func below_isRoughlyUniform() {
        var g = SplitMix64(seed: 1)
        var counts = [Int](repeating: 0, count: 10)
        for _ in 0..<100_000 { counts[g.below(10)] += 1 }
        #expect(counts.allSatisfy { abs($0 - 10_000) < 500 }, "\(counts)")
    }

    @Test func unitFloat_isInTheHalfOpenUnitInterval() {
        var g = SplitMix64(seed: 2)
        var sum: Float = 0
        for _ in 0..<100_000 {
            let u = g.unitFloat()
            #expect(u >= 0 && u < 1)
            sum += u
        }
        #expect(abs(sum / 100_000 - 0.5) < 0.01)
    }

    @Test(arguments: [0, 1, 2, 3, 50])
    func shuffle_isASeededPermutation(n: Int) {
        var a = Array(0..<n), b = Array(0..<n)
        var g1 = SplitMix64(seed: 5), g2 = SplitMix64(seed: 5)
        g1.shuffle(&a); g2.shuffle(&b)
        #expect(a == b)
        #expect(a.sorted() == Array(0..<n))
        if n == 50 { #expect(a != Array(0..<n)) }
    }
}

/// `Parallel.withTeam`: the same chunks and results as plain Dispatch, through many regions,
/// pauses long enough for the followers to sleep, errors and nested regions.
@Suite struct WorkerTeamTests {
    /// Each chunk's sum of squares into its slot, for `regions` regions in a row.
    func sums(_ p: Parallel, regions: Int, count: Int, chunkSize: Int, pause: Double = 0) -> [[Int]] {
        (0..<regions).map { region in
            if pause > 0 { Thread.sleep(forTimeInterval: pause) }
            return p.mapChunks(count: count, chunkSize: chunkSize) { r in r.reduce(0) { $0 + ($1 + region) * ($1 + region) } }
        }
    }

    @Test(arguments: [2, 3, 8])
    func manyShortRegions_giveTheResultsOfPlainDispatch(workers: Int) {
        let plain = sums(Parallel(workers: 1), regions: 2000, count: 97, chunkSize: 4)
        let teamed = Parallel(workers: workers).withTeam { sums($0, regions: 2000, count: 97, chunkSize: 4) }
        #expect(teamed == plain)
    }

    @Test func regionsAfterThePausesThatPutFollowersToSleep_stillRunEveryChunk() {
        // 20 ms pauses: far beyond the followers' watching time, so each region wakes them.
        let plain = sums(Parallel(workers: 1), regions: 8, count: 500, chunkSize: 3, pause: 0)
        let teamed = Parallel(workers: 2).withTeam { sums($0, regions: 8, count: 500, chunkSize: 3, pause: 0.02) }
        #expect(teamed == plain)
    }

    @Test func aThrowingChunk_isRethrownAndTheTeamRunsTheNextRegion() {
        Parallel(workers: 2).withTeam { p in
            #expect(throws: ParallelTests.Boom(chunk: 40)) {
                try p.forEachChunk(count: 100, chunkSize: 1) { i, _ in
                    if i == 40 { throw ParallelTests.Boom(chunk: 40) }
                }
            }
            var hits = [Int](repeating: 0, count: 300)
            hits.withUnsafeMutableBufferPointer { buffer in
                let out = SharedPointer(buffer.baseAddress!)
                p.forEachChunk(count: 300, chunkSize: 7) { _, r in for i in r { out[i] += 1 } }
            }
            #expect(hits.allSatisfy { $0 == 1 })
        }
    }

    @Test func aRegionInsideAChunk_runsOnItsCallerAndGivesTheSameResult() {
        let expected = (0..<10).map { c in (0..<50).reduce(0) { $0 + $1 * c } }
        let got = Parallel(workers: 2).withTeam { p in
            p.mapChunks(count: 10, chunkSize: 1) { outer in
                p.mapChunks(count: 50, chunkSize: 5) { inner in inner.reduce(0) { $0 + $1 * outer.lowerBound } }.reduce(0, +)
            }
        }
        #expect(got == expected)
    }

    @Test(.enabled(if: ProcessInfo.processInfo.activeProcessorCount > 1, "one core: the team has no followers"))
    func chunks_runOnMoreThanOneThread() {
        let threads = Parallel(workers: 2).withTeam { p in
            (0..<50).flatMap { _ in
                p.mapChunks(count: 8, chunkSize: 1) { _ -> UInt in
                    var x = 0.0
                    for i in 0..<20_000 { x += Double(i).squareRoot() }
                    return x < 0 ? 0 : UInt(pthread_self())
                }
            }
        }
        #expect(Set(threads).count > 1)
    }

    @Test func oneWorker_hasNoTeam() {
        let threads = Parallel(workers: 1).withTeam { p in p.mapChunks(count: 20, chunkSize: 1) { _ in UInt(pthread_self()) } }
        #expect(Set(threads) == [UInt(pthread_self())])
    }
}

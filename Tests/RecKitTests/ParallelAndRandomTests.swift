import Foundation
@testable import RecKit
import Testing

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

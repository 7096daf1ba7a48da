// TEMPORARY: replaced by TopKSelection.swift from the models branch at merge.
import RecKit

public protocol ItemScorer: Sendable {
    var itemCount: Int { get }
    func scores(users: Range<Int>, input: CSRMatrix, into scores: UnsafeMutablePointer<Float>)
}

public enum TopK {
    public static func all(scorer: ItemScorer, input: CSRMatrix, k: Int, parallel: Parallel) -> (items: [Int32], scores: [Float]) {
        let n = scorer.itemCount
        var items = [Int32](repeating: -1, count: input.rows * k)
        var scores = [Float](repeating: -.infinity, count: input.rows * k)
        items.withUnsafeMutableBufferPointer { ib in
            scores.withUnsafeMutableBufferPointer { sb in
                let (ip, sp) = (SharedPointer(ib.baseAddress!), SharedPointer(sb.baseAddress!))
                parallel.forEachChunk(count: input.rows, chunkSize: 256) { _, users in
                    var buf = [Float](repeating: 0, count: users.count * n)
                    buf.withUnsafeMutableBufferPointer { b in
                        scorer.scores(users: users, input: input, into: b.baseAddress!)
                        for (local, u) in users.enumerated() {
                            let row = b.baseAddress! + local * n
                            for t in input.row(u) { row[Int(input.columns[t])] = -.infinity }
                            let best = (0..<n).filter { row[$0] > -.infinity }.sorted { row[$0] != row[$1] ? row[$0] > row[$1] : $0 < $1 }.prefix(k)
                            for (r, i) in best.enumerated() { ip[u * k + r] = Int32(i); sp[u * k + r] = row[i] }
                        }
                    }
                }
            }
        }
        return (items, scores)
    }
}

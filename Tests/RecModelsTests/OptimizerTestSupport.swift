@testable import RecCore
@testable import RecModels

/// Conveniences the optimiser tests call: a dense step given the decayed ranges, and one lazy
/// row update, both through the optimiser's own paths (`step`, `RowUpdater`).
extension Optimizer {
    /// A dense step over `0..<count`, the ranges in `decayed` with weight decay and the rest
    /// without.
    func update(_ p: UnsafeMutablePointer<Float>, grad: UnsafeMutablePointer<Float>, decayed: [Range<Int>], count: Int, parallel: Parallel) {
        var pieces: [Piece] = []
        var position = 0
        for d in decayed.sorted(by: { $0.lowerBound < $1.lowerBound }) {
            if position < d.lowerBound { pieces.append(Piece(range: position..<d.lowerBound, decayed: false)) }
            pieces.append(Piece(range: d, decayed: true))
            position = d.upperBound
        }
        if position < count { pieces.append(Piece(range: position..<count, decayed: false)) }
        step(p, grad: grad, pieces: pieces, parallel: parallel)
    }

    /// A lazy update of one row: `count` parameters at `offset`, whose gradient is `grad`
    /// (a scratch row, consumed). Advances `rowSteps[row]`.
    func updateRow(_ row: Int, _ p: UnsafeMutablePointer<Float>, grad: UnsafeMutablePointer<Float>, offset: Int, count: Int, decayed: Bool) {
        withRowUpdater { $0.update(row, p, grad: grad, offset: offset, count: count, decayed: decayed) }
    }
}

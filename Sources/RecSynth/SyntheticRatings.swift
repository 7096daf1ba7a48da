import Foundation
import RecCore
import RecData

/// The ratings matrix of `rec-bench --synthetic USERSxITEMSxRATINGS`: the data `rec-synth`
/// writes (`SyntheticMovieLens`, MovieLens-shaped: heavy-tailed users and movies, half stars),
/// built in memory instead of written to disk, for timing training at shapes the real data does
/// not have. Every movie of the shape is rated.
public enum SyntheticRatings {
    /// `USERSxITEMSxRATINGS` (e.g. `162541x59047x25000000`, MovieLens-25M's) as generator
    /// settings with `seed`.
    /// - Throws: `RecError(.config)` when the text is not three numbers or the generator cannot
    ///   meet the sizes.
    public static func settings(parsing text: String, seed: UInt64) throws -> SynthSettings {
        let parts = text.lowercased().split(separator: "x", omittingEmptySubsequences: false).map { Int($0) }
        guard parts.count == 3, let users = parts[0], let items = parts[1], let ratings = parts[2] else {
            throw RecError(.config, "--synthetic '\(text)': expected USERSxITEMSxRATINGS, e.g. 162541x59047x25000000")
        }
        let s = SynthSettings(users: users, movies: items, ratedMovies: items, ratings: ratings, seed: seed)
        do { try s.validate() } catch let error as RecError {
            throw RecError(.config, "--synthetic '\(text)': \(error.message)")
        }
        return s
    }

    /// The rating scale of the matrix: half stars.
    public static let scale: ClosedRange<Float> = 0.5...5

    /// The matrix (users × movies, each row's columns ascending, ratings 0.5…5), the same for
    /// given settings whatever the number of workers (each user's draws are their own).
    public static func matrix(_ s: SynthSettings, parallel: Parallel) throws -> CSRMatrix {
        let model = try SyntheticMovieLens(s)
        var rowStart = [Int](repeating: 0, count: s.users + 1)
        for u in 0..<s.users { rowStart[u + 1] = rowStart[u] + model.counts[u] }
        var columns = [Int32](repeating: 0, count: rowStart[s.users])
        var values = [Float](repeating: 0, count: rowStart[s.users])
        columns.withUnsafeMutableBufferPointer { cb in
            values.withUnsafeMutableBufferPointer { vb in
                let (col, val) = (SharedPointer(cb.baseAddress!), SharedPointer(vb.baseAddress!))
                parallel.forEachChunk(count: s.users, chunkSize: 1024) { _, users in
                    var scratch = SyntheticMovieLens.Scratch(ratedMovies: s.ratedMovies)
                    for u in users {
                        for (k, r) in model.userRatings(u, scratch: &scratch).enumerated() {
                            col[rowStart[u] + k] = r.movie
                            val[rowStart[u] + k] = Float(r.halfStars) / 2
                        }
                    }
                }
            }
        }
        return CSRMatrix(rows: s.users, cols: s.movies, rowStart: rowStart, columns: columns, values: values)
    }
}

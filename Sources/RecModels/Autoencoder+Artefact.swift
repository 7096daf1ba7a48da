import RecCore
import RecStore
import RecData

extension Autoencoder {
    /// Writes the model: its shape in the header, all parameters in one section.
    public func write(to path: String, meta: [String: JSONValue], parallel: Parallel) throws {
        var b = ArtefactBuilder(kind: .model)
        b.meta = meta
        b.meta["sizes"] = .array(layout.sizes.map { .int($0) })
        b.meta["activation"] = .string(activation.rawValue)
        b.add("parameters", parameters)
        // Weights barely compress (Float32 weights: zstd ratio 1.09, measured on this
        // platform's libzstd 1.5.4): the fastest level is enough.
        try b.write(to: path, parallel: parallel, level: 1)
    }

    /// Reads a model written by `write`, checking that its shape and parameters agree.
    public static func read(_ a: Artefact, parallel: Parallel) throws -> Autoencoder {
        guard case .array(let s)? = a.meta("sizes"), s.count >= 3,
              let sizes = Optional(s.compactMap(\.intValue)), sizes.count == s.count, sizes.first == sizes.last,
              let act = a.meta("activation")?.stringValue.flatMap(Activation.init(rawValue:)) else {
            throw RecError(.artefact, "is not an autoencoder model", file: a.path, hint: "rerun rec-train")
        }
        let layout = AutoencoderLayout(items: sizes[0], hidden: Array(sizes[1..<(sizes.count - 1)]))
        let p: [Float] = try a.array("parameters", parallel: parallel)
        guard p.count == layout.parameterCount else {
            throw RecError(.artefact, "holds \(p.count) parameters, its shape needs \(layout.parameterCount)", file: a.path, hint: "rerun rec-train")
        }
        guard p.allSatisfy(\.isFinite) else {
            throw RecError(.artefact, "holds non-finite parameters", file: a.path, hint: "rerun rec-train")
        }
        return Autoencoder(layout: layout, activation: act, parameters: p)
    }
}

/// Predicts ratings for (user, item) pairs.
public protocol RatingPredictor: Sendable {
    /// Predictions at the entries of `queries` (rows = users), aligned with `queries.values`,
    /// from the users' rows of `train`.
    func predict(train: CSRMatrix, queries: CSRMatrix, parallel: Parallel) -> [Float]
}

/// The seed's user-based autoencoder: each user's ratings in, the user's ratings out.
public struct UserAutoencoderRatings: RatingPredictor {
    public let model: Autoencoder
    public init(_ model: Autoencoder) { self.model = model }
    public func predict(train: CSRMatrix, queries: CSRMatrix, parallel: Parallel) -> [Float] {
        model.predict(input: train, queries: queries, parallel: parallel)
    }
}

/// I-AutoRec (Sedhain et al. 2015): each movie's ratings by all users in, the same out.
public struct ItemAutoencoderRatings: RatingPredictor {
    public let model: Autoencoder
    public init(_ model: Autoencoder) { self.model = model }
    public func predict(train: CSRMatrix, queries: CSRMatrix, parallel: Parallel) -> [Float] {
        let (q, positions) = queries.transposedWithPositions()
        let p = model.predict(input: train.transposed(), queries: q, parallel: parallel)
        var out = [Float](repeating: 0, count: p.count)
        for (t, k) in positions.enumerated() { out[k] = p[t] }
        return out
    }
}

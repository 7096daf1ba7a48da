import RecCore

// What each model needs in memory at its peak, from the sizes alone, for `MemoryPlan`. Each
// figure counts the large buffers the code allocates (measured against peak resident memory
// on the synthetic 5M and 25M data, see README: Scale); small ones (a few rows, a tile) are
// left out.

extension EASE {
    /// The fit's peak besides its input matrix (and writing or reading the model, which holds
    /// B and its compressed frames, no more than the fit).
    /// - Parameters:
    ///   - items: the catalogue width (columns of the input).
    ///   - ratedItems: columns with at least one entry (what `auto` and the cover depend on).
    ///   - nonZeros: ratings in the input.
    ///   - setting: the settings section, for the hint (`rankingModel`).
    public static func memoryParts(items: Int, ratedItems: Int, nonZeros: Int, solver: Solver,
                                   setting: String = "rankingModel") -> [MemoryPlan.Part] {
        switch solver.resolved(ratedItems: ratedItems) {
        case .exact:
            // G in Double, inverted in place, then B in Float beside it; the Gram index holds
            // two Ints per entry; rating weights one Float per entry.
            let hint = "\(setting).solver (\"auto\" or \"blocked\": at most \(setting).maxItems movies)"
            return [
                MemoryPlan.Part("EASE (exact solver, \(items) movies): G and P in Double", bytes: MemoryPlan.product(items, items, 8), setting: hint),
                MemoryPlan.Part("EASE: B in Float", bytes: MemoryPlan.product(items, items, 4), setting: hint),
                MemoryPlan.Part("EASE: index of the ratings", bytes: MemoryPlan.product(nonZeros, 20)),
            ]
        case .blocked(let maxItems), .auto(let maxItems):
            let m = min(maxItems, ratedItems)
            return [
                MemoryPlan.Part("EASE (blocked solver, \(m) movies): G and P in Float", bytes: MemoryPlan.product(m, m, 8),
                                setting: "\(setting).maxItems"),
                MemoryPlan.Part("EASE: the ratings restricted to the cover, and their index", bytes: MemoryPlan.product(nonZeros, 20)),
            ]
        }
    }

    /// A fitted model in memory while it is read and scored with: B, and the artefact's bytes
    /// while it is read.
    public static func scoringParts(items: Int, ratedItems: Int, solver: Solver, setting: String = "rankingModel") -> [MemoryPlan.Part] {
        let m: Int
        switch solver.resolved(ratedItems: ratedItems) {
        case .exact: m = items
        case .blocked(let maxItems), .auto(let maxItems): m = min(maxItems, ratedItems)
        }
        return [MemoryPlan.Part("EASE: B (\(m) movies) and its artefact being read", bytes: MemoryPlan.product(m, m, 8),
                                setting: "\(setting).maxItems")]
    }
}

extension Autoencoder {
    /// Training's peak besides the input: parameters, gradients, the optimiser's state (Adam:
    /// two moments, RMSprop: one), the best epoch's parameters when there is a validation
    /// slice, the batch's hidden activations and gradients, the prediction block, and one
    /// prediction per train and validation rating.
    /// - Parameters:
    ///   - items: width of a row (movies for the user-based model, users for the item-based).
    ///   - ratings: train + validation ratings predicted after each epoch.
    ///   - setting: the settings section, for the hint (`ratingModel`).
    public static func memoryParts(items: Int, hidden: [Int], batchSize: Int, optimizer: AutoencoderSettings.OptimizerKind, validation: Bool,
                                   ratings: Int, setting: String = "ratingModel") -> [MemoryPlan.Part] {
        let parameters = parameterCount(items: items, hidden: hidden)
        let copies = 2 + (optimizer == .adam ? 2 : 1) + (validation ? 1 : 0)
        let width = MemoryPlan.sum(hidden)
        return [
            MemoryPlan.Part("\(setting): \(parameters) parameters × \(copies) (weights, gradients, optimiser\(validation ? ", best epoch" : ""))",
                            bytes: MemoryPlan.product(parameters, copies, 4), setting: "\(setting).hidden"),
            MemoryPlan.Part("\(setting): activations of a batch and of a prediction block",
                            bytes: MemoryPlan.product(MemoryPlan.sum([MemoryPlan.product(batchSize, 2), 1024]), width, 4),
                            setting: "\(setting).batchSize"),
            MemoryPlan.Part("\(setting): predictions of every rating", bytes: MemoryPlan.product(ratings, 4)),
        ]
    }

    /// Parameters of an autoencoder with these sizes (saturating: never traps).
    public static func parameterCount(items: Int, hidden: [Int]) -> Int {
        let sizes = [items] + hidden + [items]
        var total = 0
        for l in 0..<(sizes.count - 1) {
            total = MemoryPlan.sum([total, MemoryPlan.product(sizes[l], sizes[l + 1]), sizes[l + 1]])
        }
        return total
    }

    /// A trained model in memory while it scores: its parameters, the artefact being read, and
    /// one scoring block's hidden layers.
    public static func scoringParts(items: Int, hidden: [Int], setting: String = "ratingModel") -> [MemoryPlan.Part] {
        let parameters = parameterCount(items: items, hidden: hidden)
        return [MemoryPlan.Part("\(setting): \(parameters) parameters and the artefact being read", bytes: MemoryPlan.product(parameters, 8),
                                setting: "\(setting).hidden")]
    }
}

import RecCore
import RecModels

extension PipelineConfig {
    /// The rating model's checks that involve other sections: a choice needs the validation
    /// slice of an evaluated run (it never chooses on the test part); ranking by predicted
    /// rating needs a user autoencoder.
    func validateRatingModel(file: String) throws {
        func bad(_ what: String) -> RecError { RecError(.config, what, file: file) }
        do { try ratingModel.validate("ratingModel") } catch let p as ConfigProblem { throw bad(p.message) }
        if case .choice = ratingModel {
            guard evaluation.enabled, split.validationRatio > 0 else {
                throw bad("'ratingModel.type' choice picks the rating model on the validation slice: set 'split.validationRatio' above 0 and keep 'evaluation.enabled' true, or pin one model (such as user-item-bias or biased-mf)")
            }
        }
        if case .ratingModel = rankingModel, !ratingModel.isAutoencoder {
            throw bad("'rankingModel.type' rating-model needs a user-based rating model: ratingModel.type \(ratingModel.type) ranks no lists; set rankingModel.type to ease, popularity or user-autoencoder")
        }
    }

    /// The settings file's candidate lists, each model overlaid on its type's defaults (as a
    /// model section is), so a candidate's unknown key is an error naming its place.
    static func mergeCandidates(_ over: JSONValue, path: String, file: String,
                                merge: (JSONValue, JSONValue, String) throws -> JSONValue) throws -> JSONValue {
        guard case .array(let list) = over else { throw RecError(.config, "'\(path)' must be a list of models", file: file) }
        return .array(try list.enumerated().map { i, model in
            let at = "\(path)[\(i)]"
            guard case .object(let o) = model, case .string(let type)? = o["type"] else {
                throw RecError(.config, "'\(at)' must be a model: an object with a \"type\"", file: file)
            }
            guard let defaults = RatingModelConfig.defaults(type: type) else {
                throw RecError(.config, "'\(at).type' must be one of " + RatingModelConfig.types.joined(separator: ", "), file: file)
            }
            return try merge(try JSONValue.from(defaults), model, at)
        })
    }
}

import Foundation
import RecCore
import RecData
import RecModels
import RecEval

// What rec-score adds to the lists: catalogue rules on the served lists, a reason per served
// recommendation, the similar lists, and the lists' beyond-accuracy figures.

extension ScoreStage {
    /// The dense items the catalogue rules leave out of the served lists (ascending), and a
    /// sentence for `served.choices`; empty without rules. The evaluation never applies them.
    /// - Parameter catalogue: the catalogue, read only when there are rules.
    func ruleExclusions(_ m: Matrices, catalogue: () throws -> Catalogue, _ ctx: StageContext) throws -> (items: [Int], note: JSONValue?) {
        let c = ctx.config
        guard !c.catalogueRules.isEmpty else { return ([], nil) }
        let catalogue = try catalogue()
        let rules = try CatalogueRules.load(c, catalogue: catalogue)
        let items = rules.excludedItems(m.ids, catalogue: catalogue)
        ctx.logger.info("catalogue rules: \(items.count) of \(m.ids.itemCount) rated movies left out of the served lists")
        return (items, .string("catalogueRules left \(items.count) of \(m.ids.itemCount) rated movies out of the served lists and similar lists; the evaluation figures are measured without the rules"))
    }

    /// The served lists' reasons and similar lists.
    func explanations(_ job: ListJob, _ lists: TopKLists, excluded: [Int], _ ctx: StageContext) -> Explanations {
        let k = lists.k, clock = ContinuousClock.now
        var allowed = [Bool](repeating: true, count: lists.ids.itemCount)
        for i in job.input.emptyColumns() + excluded { allowed[i] = false }
        let because = reasons(job.scorer, input: job.input, items: lists.items, k: k, ctx.parallel)
        let similar = similarLists(job.scorer, input: job.input, allowed: allowed, k: k, ctx.parallel)
        ctx.logger.info("reasons and similar lists of the served model: \(String(format: "%.2f", clock.duration(to: .now).seconds)) s")
        return Explanations(k: k, because: because, similarK: k, similarItems: similar.items, similarScores: similar.scores, ids: lists.ids)
    }

    /// Each recommendation's reason (`Reasons`): read off B for a linear item–item model and
    /// off its members' for a blend (`ItemBlend.reasons`), none for a model whose scores do not depend on the user's ratings (popularity), and the
    /// exact leave-one-out recomputation for any other model.
    func reasons(_ scorer: any ItemScorer, input: CSRMatrix, items: [Int32], k: Int, _ parallel: Parallel) -> [Int32] {
        if let blend = scorer as? ItemBlend { return blend.reasons(input: input, items: items, k: k, parallel: parallel) }
        if let linear = scorer as? any ItemItemWeights {
            return Reasons.linear(linear, input: input, items: items, k: k, parallel: parallel)
        }
        if scorer.sharedScores != nil { return [Int32](repeating: -1, count: items.count) }
        let score: @Sendable (CSRMatrix, CSRMatrix) -> [Float]
        if let autoencoder = scorer as? AutoencoderScorer {
            score = { autoencoder.model.predict(input: $0, queries: $1, parallel: Parallel(workers: 1)) }
        } else {
            score = { scorer.scores(input: $0, queries: $1) }
        }
        return BLASThreads.single { Reasons.leaveOneOut(score: score, input: input, items: items, k: k, parallel: parallel) }
    }

    /// Every allowed movie's `k` most similar allowed movies: B's row for a linear item–item
    /// model (for a blend, its largest-weight item–item member's), the co-occurrence cosine of
    /// `input` for any other.
    func similarLists(_ scorer: any ItemScorer, input: CSRMatrix, allowed: [Bool], k: Int, _ parallel: Parallel)
        -> (items: [Int32], scores: [Float]) {
        if let blend = scorer as? ItemBlend, let model = blend.similarListsModel {
            return SimilarItems.fromWeights(model, allowed: allowed, count: k, parallel: parallel)
        }
        if let linear = scorer as? any ItemItemWeights {
            return SimilarItems.fromWeights(linear, allowed: allowed, count: k, parallel: parallel)
        }
        return SimilarItems.cooccurrence(input, allowed: allowed, count: k, parallel: parallel)
    }

    /// Novelty, diversity and short-head share of the evaluation lists and of the most-popular
    /// baseline's, and the hit rate of the evaluation model's similar lists against the
    /// popularity baseline, on the test slice.
    /// - Parameters:
    ///   - popular: the most-popular baseline's evaluation lists (as `evaluate` built them).
    ///   - scorer: the evaluation's ranking scorer (its lists are `evalLists`).
    func listQuality(_ evalLists: TopKLists, popular popularLists: TopKLists, scorer: any ItemScorer, _ m: Matrices,
                     catalogue: Catalogue, _ ctx: StageContext) -> ListQuality {
        let k = ctx.config.score.k, clock = ContinuousClock.now
        // Lists are built from, and exclude, every rating known before the test.
        let known = m.known
        let unrated = known.emptyColumns()
        let genres = m.ids.itemIds.map { id in catalogue.index(of: id).map { catalogue.genres[$0] } ?? [] }
        var allowed = [Bool](repeating: true, count: m.ids.itemCount)
        for i in unrated { allowed[i] = false }
        let similar = similarLists(scorer, input: known, allowed: allowed, k: k, ctx.parallel)
        let quality = ListQuality(
            model: BeyondAccuracy.measure(lists: evalLists, input: known, genres: genres, parallel: ctx.parallel),
            mostPopular: BeyondAccuracy.measure(lists: popularLists, input: known, genres: genres, parallel: ctx.parallel),
            similar: SimilarHitRate.measure(similar: similar.items, k: k, known: known, test: m.test, parallel: ctx.parallel))
        ctx.logger.info("\(Report.listQualitySummary(quality)) (measured in \(String(format: "%.2f", clock.duration(to: .now).seconds)) s)")
        return quality
    }
}

import Foundation
import RecCore
import RecModels
import RecEval
import RecPipeline

/// `rec-bench --ease-matrices`: EASE alone on a `matrices.art`, for sizing its solver. For
/// each cover size: the fit on train + validation (seconds by phase), the lists of every
/// user built from train + validation, their NDCG@k on the test slice, and the process's peak
/// resident memory so far.
public struct EASEBenchmark {
    public var matricesPath: String
    public var solvers: [EASE.Solver]
    public var lambda: Double
    public var weighting: EASE.Weighting
    public var k = 10
    public var workers: Int

    public init(matricesPath: String, solvers: [EASE.Solver], lambda: Double, weighting: EASE.Weighting, workers: Int) {
        self.matricesPath = matricesPath
        self.solvers = solvers
        self.lambda = lambda
        self.weighting = weighting
        self.workers = workers
    }

    /// Runs every solver in turn; `print` gets one line per figure as they come.
    public func run(print: @escaping (String) -> Void) throws {
        let parallel = Parallel.resolve(workers)
        let m = try Matrices.read(matricesPath, parallel: parallel)
        let known = m.known
        let cold = known.emptyColumns()
        let rated = m.ids.itemCount - cold.count
        print("data: \(m.ids.userCount) users, \(rated) rated movies, \(known.nonZeros) train + validation ratings, \(m.test.nonZeros) test; \(parallel.workers) workers")
        let popular = rankedLists(MostPopular.fit(known), input: known, excluding: cold, k: k, ids: m.ids, parallel: parallel)
        let popularNDCG = try RankingMetrics.measure(lists: popular, test: m.test, trainItemCount: rated, parallel: parallel).ndcg
        print(String(format: "most popular: NDCG@%d %.4f", k, popularNDCG))
        for solver in solvers {
            let cpu0 = processCPUSeconds()
            let clock = ContinuousClock.now
            let ease = try EASE.fit(known, lambda: lambda, weighting: weighting, ratingMax: m.scale.upperBound, solver: solver, parallel: parallel) {
                print("  " + $0)
            }
            let fit = clock.duration(to: .now).seconds
            let cpu1 = processCPUSeconds()
            let scoring = ContinuousClock.now
            let lists = BLASThreads.single { rankedLists(ease, input: known, excluding: cold, k: k, ids: m.ids, parallel: parallel) }
            let listSeconds = scoring.duration(to: .now).seconds
            let cpu2 = processCPUSeconds()
            let ndcg = try RankingMetrics.measure(lists: lists, test: m.test, trainItemCount: rated, parallel: parallel).ndcg
            print(String(format: "%@ over %d movies: fit %.1f s (CPU %.1f s), lists %.1f s (CPU %.1f s), NDCG@%d %.4f, peak memory so far %.0f MB",
                         "\(solver)", ease.covered.count, fit, cpu1 - cpu0, listSeconds, cpu2 - cpu1, k, ndcg, peakResidentMB()))
        }
    }
}


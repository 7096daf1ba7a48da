import Foundation
import RecData

extension Report {
    /// One line for the log and the run's summary: the similar lists' hit rate against the
    /// popularity baseline's, and the model's beyond-accuracy figures beside the baseline's.
    public static func listQualitySummary(_ q: ListQuality) -> String {
        func f(_ x: Double) -> String { RecommendationExport.fixed(x, digits: 4) }
        let s = q.similar
        return "similar movies: hit rate@\(s.k) \(f(s.hitRate)) (most popular, as many candidates: \(f(s.mostPopularHitRate)); \(s.pairs) liked test movies of \(s.usersEvaluated) users, \(RecommendationExport.fixed(s.meanCandidates, digits: 1)) candidates per user); "
            + "novelty \(f(q.model.novelty)) bits (most popular \(f(q.mostPopular.novelty))), "
            + "genre diversity \(f(q.model.intraListDiversity)) (\(f(q.mostPopular.intraListDiversity))), "
            + "top-1 % share \(f(q.model.shortHeadShare)) (\(f(q.mostPopular.shortHeadShare)))"
    }

    /// `<section id="beyond-accuracy">`: a table of the model's and the most-popular
    /// baseline's figures (`<tr class="model">`, `<tr class="baseline">`) and their definitions.
    static func listQualityHTML(_ q: ListQuality, k: Int) -> String {
        func f(_ x: Double) -> String { RecommendationExport.fixed(x, digits: 4) }
        var out = "<section id=\"beyond-accuracy\">\n<h2>Beyond accuracy and similar movies</h2>\n<table id=\"list-quality\">\n"
        out += "<thead><tr><th scope=\"col\">Lists</th><th scope=\"col\">Novelty (bits)</th><th scope=\"col\">Genre diversity</th>"
        out += "<th scope=\"col\">Top-1 % share</th><th scope=\"col\">Similar-movie hit rate@\(q.similar.k)</th></tr></thead>\n<tbody>\n"
        for (name, css, b, hit) in [("model", "model", q.model, q.similar.hitRate), ("most popular", "baseline", q.mostPopular, q.similar.mostPopularHitRate)] {
            out += "<tr class=\"\(css)\"><td>\(name)</td><td>\(f(b.novelty))</td><td>\(f(b.intraListDiversity))</td>"
            out += "<td>\(f(b.shortHeadShare))</td><td>\(f(hit))</td></tr>\n"
        }
        out += "</tbody>\n</table>\n" + listQualityDefinitions(q) + "</section>\n"
        return out
    }

    private static func listQualityDefinitions(_ q: ListQuality) -> String {
        """
            <dl class="definitions">
            <dt>Novelty</dt><dd>Mean self-information −log2(share of users who rated the movie) of the recommended movies, in bits; higher = less obvious.</dd>
            <dt>Genre diversity</dt><dd>Per user, the mean Jaccard distance 1 − |G_a ∩ G_b| / |G_a ∪ G_b| between the genre sets of every pair of recommended movies; averaged over users with two or more.</dd>
            <dt>Top-1 % share</dt><dd>Share of recommendations that are among the 1 % most-rated movies.</dd>
            <dt>Similar-movie hit rate@k</dt><dd>For every test movie a user liked (rated 4 or more): whether it is among the k similar movies of some movie the user liked before the test (\(RecommendationExport.fixed(q.similar.meanCandidates, digits: 1)) candidates per user on average); the baseline offers each user as many of the most-rated movies.</dd>
            </dl>

            """
    }
}

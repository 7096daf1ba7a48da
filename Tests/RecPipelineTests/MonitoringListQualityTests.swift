import Foundation
import Testing
@testable import RecCore
@testable import RecOps

/// metrics.json's listQuality in the Prometheus textfile: one gauge per figure, for the
/// pipeline and the most-popular baseline.
@Suite struct MonitoringListQualityTests {
    @Test func listQuality_becomesGaugesForPipelineAndBaseline() throws {
        let metrics = try JSONDecoder().decode(JSONValue.self, from: Data("""
            {"ranking": {"k": 10, "ndcg": 0.3},
             "listQuality": {"model": {"novelty": 2.25, "intraListDiversity": 0.75, "shortHeadShare": 0.5},
                             "mostPopular": {"novelty": 1.5, "intraListDiversity": 0.625, "shortHeadShare": 1},
                             "similar": {"k": 10, "hitRate": 0.75, "mostPopularHitRate": 0.5, "meanCandidates": 243, "pairs": 9, "usersEvaluated": 3}}}
            """.utf8))
        var x = Exposition(prefix: "p_")
        RunMonitor.addMetrics(metrics, to: &x)
        let lines = Set(x.text.split(separator: "\n").map(String.init))
        for expected in [
            #"p_list_novelty_bits{model="pipeline",k="10"} 2.25"#, #"p_list_novelty_bits{model="mostPopular",k="10"} 1.5"#,
            #"p_list_genre_diversity{model="pipeline",k="10"} 0.75"#, #"p_list_genre_diversity{model="mostPopular",k="10"} 0.625"#,
            #"p_list_top1pct_share{model="pipeline",k="10"} 0.5"#, #"p_list_top1pct_share{model="mostPopular",k="10"} 1"#,
            #"p_similar_hit_rate{model="pipeline",k="10"} 0.75"#, #"p_similar_hit_rate{model="mostPopular",k="10"} 0.5"#,
            "# TYPE p_similar_hit_rate gauge",
        ] {
            #expect(lines.contains(expected), "\(expected) missing from:\n\(x.text)")
        }
        // Without listQuality (a metrics.json of an earlier run) nothing is added.
        var y = Exposition(prefix: "p_")
        RunMonitor.addMetrics(try JSONDecoder().decode(JSONValue.self, from: Data(#"{"ranking": {"k": 10}}"#.utf8)), to: &y)
        #expect(!y.text.contains("similar_hit_rate"))
    }
}

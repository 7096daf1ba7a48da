import RecCore

extension RunMonitor {
    /// metrics.json's `listQuality`: the beyond-accuracy figures and the similar lists' hit
    /// rate of the pipeline's lists (`model="pipeline"`) and the popularity baseline's
    /// (`model="mostPopular"`), labelled with the lists' k.
    static func addListQuality(_ m: JSONValue, to x: inout Exposition) {
        guard let q = m["listQuality"], let k = m["ranking"]?["k"]?.intValue else { return }
        for (model, lists, hitRate) in [("pipeline", "model", "hitRate"), ("mostPopular", "mostPopular", "mostPopularHitRate")] {
            for (key, name, help) in [
                ("novelty", "list_novelty_bits", "Mean self-information (bits) of the recommended movies in the evaluation lists, from metrics.json."),
                ("intraListDiversity", "list_genre_diversity", "Mean pairwise Jaccard distance of the genre sets within a list, from metrics.json."),
                ("shortHeadShare", "list_top1pct_share", "Share of recommendations among the 1 % most-rated movies, from metrics.json."),
            ] {
                if let v = q[lists]?[key]?.doubleValue { x.gauge(name, help, [("model", model), ("k", String(k))], v) }
            }
            if let v = q["similar"]?[hitRate]?.doubleValue {
                x.gauge("similar_hit_rate", "Share of liked test movies among the similar movies of the movies the user liked before the test (the baseline: as many of the most-rated), from metrics.json.",
                        [("model", model), ("k", String(k))], v)
            }
        }
    }
}

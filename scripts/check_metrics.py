#!/usr/bin/env python3
"""Recomputes the ranking metrics of metrics.json from the exported recommendations and the
test split alone, independently of the Swift code, and compares them.

    scripts/check_metrics.py OUTPUT_DIR [--test TEST_ART] [--inspect PATH_TO_rec-inspect]

Reads OUTPUT_DIR/recommendations.csv, OUTPUT_DIR/metrics.json, and the test split through
`rec-inspect TEST_ART --csv` (user_id,movie_id,rating in MovieLens ids); TEST_ART defaults to
OUTPUT_DIR/artefacts/test.art.
Protocol (README, "How the metrics are defined"): relevant = test movies rated >= 4; users with
at least one relevant movie; Precision@k = hits/k, Recall@k = hits/relevant, NDCG@k with binary
gain and log2 discount, ideal over min(k, relevant). Exit 0 when all agree to 1e-6.
"""
import csv, io, json, math, os, subprocess, sys


def main():
    args = sys.argv[1:]
    if not args:
        sys.exit(__doc__)
    out = args[0]
    inspect = args[args.index("--inspect") + 1] if "--inspect" in args else os.path.join(
        os.path.dirname(__file__), "..", ".build", "release", "rec-inspect")
    test_art = args[args.index("--test") + 1] if "--test" in args else os.path.join(out, "artefacts", "test.art")
    metrics = json.load(open(os.path.join(out, "metrics.json")))
    k = metrics["ranking"]["k"]
    test = subprocess.run([inspect, test_art, "--csv"],
                          check=True, capture_output=True, text=True).stdout
    relevant = {}
    for row in csv.DictReader(io.StringIO(test)):
        if float(row["rating"]) >= 4:
            relevant.setdefault(row["user_id"], set()).add(row["movie_id"])
    lists = {}
    with open(os.path.join(out, "recommendations.csv"), newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            lists.setdefault(row["user_id"], []).append((int(row["rank"]), row["movie_id"]))
    precision = recall = ndcg = 0.0
    users = 0
    for user, rel in relevant.items():
        ranked = [m for _, m in sorted(lists.get(user, []))][:k]
        hits = [m in rel for m in ranked]
        dcg = sum(1 / math.log2(r + 2) for r, h in enumerate(hits) if h)
        ideal = sum(1 / math.log2(r + 2) for r in range(min(k, len(rel))))
        precision += sum(hits) / k
        recall += sum(hits) / len(rel)
        ndcg += dcg / ideal
        users += 1
    mine = {"precision": precision / users, "recall": recall / users, "ndcg": ndcg / users, "usersEvaluated": users}
    ok = True
    for key, value in mine.items():
        theirs = metrics["ranking"][key]
        agree = abs(value - theirs) <= 1e-6
        ok &= agree
        print(f"{key:15s} recomputed {value:.9f}   metrics.json {theirs:.9f}   {'ok' if agree else 'MISMATCH'}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()

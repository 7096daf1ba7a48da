#!/usr/bin/env python3
"""Recomputes the ranking metrics of metrics.json from the evaluation lists and the test split
alone, independently of the Swift code, and compares them.

    scripts/check_metrics.py OUTPUT_DIR [--artefacts DIR] [--inspect PATH_TO_rec-inspect]

Reads OUTPUT_DIR/metrics.json, the evaluation lists through `rec-inspect DIR/eval-topk.art --csv`
(user_id,rank,movie_id,score,... in MovieLens ids) and the test split through
`rec-inspect DIR/test.art --csv` (user_id,movie_id,rating); DIR defaults to
OUTPUT_DIR/artefacts. (The published recommendations.csv holds the served lists, built from
every rating including the test split, so they are not what the figures measure.)
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
    artefacts = args[args.index("--artefacts") + 1] if "--artefacts" in args else os.path.join(out, "artefacts")
    test_art = os.path.join(artefacts, "test.art")
    metrics = json.load(open(os.path.join(out, "metrics.json")))
    k = metrics["ranking"]["k"]
    test = subprocess.run([inspect, test_art, "--csv"],
                          check=True, capture_output=True, text=True).stdout
    relevant = {}
    for row in csv.DictReader(io.StringIO(test)):
        if float(row["rating"]) >= 4:
            relevant.setdefault(row["user_id"], set()).add(row["movie_id"])
    lists = {}
    evaluated = subprocess.run([inspect, os.path.join(artefacts, "eval-topk.art"), "--csv"],
                               check=True, capture_output=True, text=True).stdout
    for row in csv.DictReader(io.StringIO(evaluated)):
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

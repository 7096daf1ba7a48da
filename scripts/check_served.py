#!/usr/bin/env python3
"""Checks the published recommendations against the raw ratings file, not the artefacts.

    scripts/check_served.py RATINGS_FILE RECOMMENDATIONS_CSV [--k K]

RATINGS_FILE is read as MovieLens ships it: `user::movie::rating[::timestamp]` (ML-1M, ML-10M),
tab-separated `user movie rating timestamp` (ML-100K), or CSV with a `userId,movieId,...`
header (ML-20M and later). Prints how many exported (user, movie) pairs the user already rated
(must be 0), how many users have exactly k rows, and exits 1 when any pair was rated or any
user that has at least k unrated movies got fewer than k rows.
"""
import csv, sys
from collections import defaultdict


def ratings(path):
    rated = defaultdict(set)
    with open(path, "rb") as f:
        for n, raw in enumerate(f):
            line = raw.decode("utf-8", "replace").lstrip("\ufeff").strip()
            if not line:
                continue
            if "::" in line:
                parts = line.split("::")
            elif "\t" in line:
                parts = line.split("\t")
            else:
                parts = line.split(",")
                if n == 0 and not parts[0].strip().isdigit():
                    continue  # header
            rated[parts[0].strip()].add(parts[1].strip())
    return rated


def main():
    args = sys.argv[1:]
    if len(args) < 2:
        sys.exit(__doc__)
    rated = ratings(args[0])
    rows = defaultdict(list)
    with open(args[1], newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            rows[row["user_id"]].append(row["movie_id"])
    k = int(args[args.index("--k") + 1]) if "--k" in args else max(len(v) for v in rows.values())
    movies = set().union(*rated.values())
    overlap = sum(1 for u, ms in rows.items() for m in ms if m in rated.get(u, ()))
    duplicates = sum(len(ms) - len(set(ms)) for ms in rows.values())
    short = [u for u in rated if len(rows.get(u, [])) < min(k, len(movies - rated[u]))]
    exact = sum(1 for u in rated if len(rows.get(u, [])) == k)
    total = sum(len(v) for v in rows.values())
    print(f"ratings file: {sum(len(v) for v in rated.values())} ratings, {len(rated)} users, {len(movies)} movies")
    print(f"exported rows: {total}; users with exactly k={k} rows: {exact} of {len(rated)}")
    print(f"exported (user, movie) pairs the user already rated: {overlap}")
    print(f"users with fewer than k rows although they have k unrated movies: {len(short)}; duplicate rows: {duplicates}")
    sys.exit(0 if overlap == 0 and not short and duplicates == 0 else 1)


if __name__ == "__main__":
    main()

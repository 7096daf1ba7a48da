#!/usr/bin/env python3
"""A small CSV release made from MovieLens-1M, in the layout of ml-latest-small.

GroupLens's small CSV release (ml-latest-small: 610 users, about 100,000 ratings, ratings.csv
and movies.csv in UTF-8 with a header) cannot be downloaded on an offline machine. This writes
the same layout from an ML-1M ratings file with timestamps (`UserID::MovieID::Rating::Timestamp`)
and its movies.dat (ISO-8859-1): a seeded sample of users with all their ratings, and every
movie. `configs/ml-1m-small-csv.json` runs the pipeline on it (docs/results.md).

    python3 scripts/small_csv_release.py --ratings RATINGS --movies MOVIES --output data/ml-1m-small-csv
"""
import argparse
import csv
import os
import random


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ratings", required=True, help="ML-1M ratings with timestamps (4 fields, '::')")
    ap.add_argument("--movies", required=True, help="ML-1M movies.dat (ISO-8859-1)")
    ap.add_argument("--output", required=True, help="folder to write ratings.csv and movies.csv into")
    ap.add_argument("--users", type=int, default=610)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    by_user = {}
    with open(args.ratings, encoding="ascii") as f:
        for n, line in enumerate(f, 1):
            fields = line.rstrip("\n").split("::")
            if len(fields) != 4:
                raise SystemExit(f"{args.ratings}:{n}: expected UserID::MovieID::Rating::Timestamp")
            by_user.setdefault(int(fields[0]), []).append((int(fields[1]), float(fields[2]), int(fields[3])))
    if args.users > len(by_user):
        raise SystemExit(f"{args.ratings}: {len(by_user)} users, fewer than --users {args.users}")
    users = sorted(random.Random(args.seed).sample(sorted(by_user), args.users))

    os.makedirs(args.output, exist_ok=True)
    with open(os.path.join(args.output, "ratings.csv"), "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["userId", "movieId", "rating", "timestamp"])
        for u in users:
            for movie, rating, ts in sorted(by_user[u]):
                w.writerow([u, movie, f"{rating:.1f}", ts])
    with open(args.movies, encoding="iso-8859-1") as f, \
            open(os.path.join(args.output, "movies.csv"), "w", newline="", encoding="utf-8") as out:
        w = csv.writer(out, lineterminator="\n")
        w.writerow(["movieId", "title", "genres"])
        for line in f:
            movie, title, genres = line.rstrip("\n").split("::")
            w.writerow([int(movie), title, genres])
    print(f"{args.output}: {len(users)} users, {sum(len(by_user[u]) for u in users)} ratings")


if __name__ == "__main__":
    main()

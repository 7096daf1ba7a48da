#!/usr/bin/env python3
"""The scale benchmark (`make bench-scale`): MovieLens-shaped synthetic data of 1M, 5M and 25M
ratings through the default pipeline, one size after the other.

For each size: rec-synth writes the data (ratings.csv in the ML-25M format with half stars and
timestamps, and the movies file) under data/synth/SIZE/ (never committed); the settings are the
repository's pipeline.json with only the input paths changed (and artefact and output folders
of their own, so the real outputs are left alone; its rating scale "auto" finds the half stars);
rec-pipeline runs every stage (--force). Printed per size: seconds per stage and for the two
model fits of each kind (evaluation and serving), peak resident memory of the pipeline
process, ratings per second, NDCG@10 of the evaluated lists and of the most-popular baseline
on the same split; at the end, seconds per rating at the largest size against the smallest.

Usage: scripts/bench_scale.py [--sizes 1M,5M,25M] [--bin .build/release] [--data data/synth]
                              [--work /tmp/rec-bench-scale] [--workers N]
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# ML-25M's movies.csv by default; BENCH_MOVIES_FORMAT=dat writes ML-1M's movies.dat instead
# (the ratings are ML-25M's ratings.csv either way).
MOVIES_FORMAT = os.environ.get("BENCH_MOVIES_FORMAT", "csv")


def run_measured(cmd, log_path):
    """Runs cmd (stdout dropped, stderr to log_path); returns (seconds, exit code, its own peak
    resident memory in MB, from wait4's rusage of that child alone)."""
    start = time.monotonic()
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=log)
        _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.monotonic() - start
    return seconds, os.waitstatus_to_exitcode(status), usage.ru_maxrss / 1024


def get(d, *path, default=None):
    for p in path:
        if not isinstance(d, dict) or p not in d:
            return default
        d = d[p]
    return d


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default=os.environ.get("SIZES", "1M,5M,25M"))
    ap.add_argument("--bin", default=os.path.join(ROOT, ".build", "release"))
    ap.add_argument("--data", default=os.path.join(ROOT, "data", "synth"))
    ap.add_argument("--work", default=os.environ.get("BENCH_WORK", "/tmp/rec-bench-scale"))
    ap.add_argument("--workers", type=int, default=0)
    args = ap.parse_args()
    sizes = [s.strip().upper() for s in re.split(r"[ ,]+", args.sizes) if s.strip()]
    for s in sizes:
        if s not in ("1M", "5M", "25M"):
            sys.exit(f"bench-scale: unknown size {s!r} (1M, 5M or 25M)")

    with open(os.path.join(ROOT, "pipeline.json")) as f:
        base = json.load(f)
    nproc = os.cpu_count()
    print(f"bench-scale  {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}  {nproc} cores, load {os.getloadavg()[0]:.1f}")
    print("settings: pipeline.json with the inputs (and the artefact and output folders) changed")
    results = {}
    for size in sizes:
        data = os.path.join(args.data, size)
        work = os.path.join(args.work, size)
        os.makedirs(data, exist_ok=True)
        os.makedirs(work, exist_ok=True)
        print(f"\n== {size}")
        t = time.monotonic()
        synth = subprocess.run([os.path.join(args.bin, "rec-synth"), "--size", size, "--output", data,
                                "--movies-format", MOVIES_FORMAT], capture_output=True, text=True)
        if synth.returncode != 0:
            sys.exit(f"rec-synth failed: {synth.stderr}")
        synth_seconds = time.monotonic() - t
        summary = synth.stdout.strip().splitlines()
        print(f"data (rec-synth, {synth_seconds:.1f} s): " + "; ".join(summary[1:3]))

        c = json.loads(json.dumps(base))
        c["input"]["ratings"] = os.path.join(data, "ratings.csv")
        c["input"]["movies"] = os.path.join(data, "movies." + MOVIES_FORMAT)
        c["artefactDir"] = os.path.join(work, "artefacts")
        c["outputDir"] = os.path.join(work, "output")
        if args.workers:
            c["workers"] = args.workers
        cfg = os.path.join(work, "pipeline.json")
        with open(cfg, "w") as f:
            json.dump(c, f, indent=1)

        log = os.path.join(work, "pipeline.log")
        total, code, peak = run_measured([os.path.join(args.bin, "rec-pipeline"), "--config", cfg, "--force"], log)
        if code != 0:
            print(open(log).read()[-3000:])
            sys.exit(f"rec-pipeline failed on {size} (exit {code}); log: {log}")
        text = open(log).read()
        stages = {m.group(1): float(m.group(2)) for m in re.finditer(r"info: ([a-z-]+): done in ([0-9.]+) s", text)}
        manifests = os.path.join(c["artefactDir"], "manifests")
        train = json.load(open(os.path.join(manifests, "train.json"))).get("stats", {})
        score = json.load(open(os.path.join(manifests, "score.json"))).get("stats", {})
        metrics = json.load(open(os.path.join(c["outputDir"], "metrics.json")))
        ratings = get(metrics, "counts", "train", default=0) + get(metrics, "counts", "validation", default=0) + get(metrics, "counts", "test", default=0)
        fits = []
        for product in ("evaluation", "serving"):
            for model in ("ratingModel", "rankingModel"):
                s = get(train, product, model, "seconds")
                if s is not None:
                    fits.append(f"{product} {model} {s:.1f} s")
        ndcg = get(metrics, "ranking", "ndcg", default=float("nan"))
        popular = get(metrics, "baselines", "mostPopular", "ranking", "ndcg", default=float("nan"))
        print("stages: " + ", ".join(f"{k} {v:.1f} s" for k, v in stages.items()))
        print("fits: " + ", ".join(fits))
        print(f"whole pipeline {total:.1f} s, peak resident memory {peak / 1024:.2f} GB, "
              f"{ratings / total:,.0f} ratings/s, {total / ratings * 1e6:.2f} µs per rating")
        print(f"NDCG@10: lists {ndcg:.4f}, most popular {popular:.4f} (same split; {get(metrics, 'counts', 'users')} users, "
              f"{get(metrics, 'counts', 'items')} movies)")
        results[size] = {"seconds": total, "ratings": ratings, "peakGB": peak / 1024, "ndcg": ndcg, "popularNDCG": popular,
                         "stages": stages}

    if len(results) > 1:
        small, large = sizes[0], sizes[-1]
        a = results[small]["seconds"] / results[small]["ratings"]
        b = results[large]["seconds"] / results[large]["ratings"]
        print(f"\nseconds per rating, {large} against {small}: {b * 1e6:.2f} µs / {a * 1e6:.2f} µs = {b / a:.2f}× "
              f"({'within' if b / a <= 2 else 'above'} 2×)")
    with open(os.path.join(args.work, "results.json"), "w") as f:
        json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()

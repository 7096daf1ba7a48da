#!/usr/bin/env bash
# Fuzzes the readers of untrusted bytes for a bounded time: the MovieLens parsers
# (fuzz-ratings), the settings parser (fuzz-settings) and the artefact reader (fuzz-artefact).
# Linux only: libFuzzer ships with the Swift toolchain's clang runtime.
#
#   scripts/fuzz.sh [seconds per target, default 60]
#
# Builds Fuzz/ with libFuzzer + AddressSanitizer, makes a seed corpus in a temp folder (a few
# ratings and movies files in each format; the project's own settings files and a few odd
# ones; one valid artefact of each kind, written by the library's own ArtefactBuilder), runs
# each target, and prints executions and crashes.
# libFuzzer stops a target at its first crash; the input is kept in fuzz-corpus/crashes/
# (git-ignored); replay it with `SWIFT_BACKTRACE=enable=no Fuzz/.build/release/<target> <file>`.
# A target that runs fewer than FUZZ_MIN_RUNS inputs (default 1000) counts as failed: a
# harness that stops at its first seed, or never starts, is not fuzzing anything.
# Exit status: 0 no crash, 1 a target crashed or ran too few inputs, 2 build or set-up failure.
set -euo pipefail

seconds="${1:-60}"
[[ "$seconds" =~ ^[0-9]+$ && "$seconds" -gt 0 ]] || { echo "usage: $0 [seconds per target]" >&2; exit 2; }
min_runs="${FUZZ_MIN_RUNS:-1000}"

root="$(cd "$(dirname "$0")/.." && pwd)"
flags=(-c release -Xswiftc -sanitize=fuzzer,address -Xswiftc -use-ld=lld)
cd "$root/Fuzz"
swift build "${flags[@]}" >&2 || exit 2
bin="$(swift build "${flags[@]}" --show-bin-path)"

# Memory-backed when possible: fuzz-artefact writes every input to a file in here.
tmp="${TMPDIR:-/tmp}"
[[ -d /dev/shm && -w /dev/shm ]] && tmp=/dev/shm
work="$(mktemp -d "$tmp/rec-fuzz.XXXXXX")"
trap 'rm -rf "$work"' EXIT
export FUZZ_SCRATCH="$work"
crashes="$root/fuzz-corpus/crashes"
mkdir -p "$crashes"

# Swift's own crash reporter reads memory in a way AddressSanitizer reports as an overflow of
# its own: turn it off so a trap is reported as what it is.
export SWIFT_BACKTRACE=enable=no

# Ratings and movies files: ML-1M '::' (with and without timestamps), ML-100K tabs, newer
# comma files with a header, a BOM with CRLF, latin-1 and ML-100K u.item movies, bad lines.
seeds="$work/seeds-ratings"
mkdir -p "$seeds"
printf '1::1193::5::978300760\n1::661::3::978302109\n2::1357::5::978298709\n' > "$seeds/ml1m.dat"
printf '1::1193::5\n1::661::3\n' > "$seeds/ml1m-no-time.dat"
printf '196\t242\t3\t881250949\n186\t302\t3\t891717742\n' > "$seeds/u.data"
printf 'userId,movieId,rating,timestamp\n1,1,4.0,964982703\n1,3,4.5,964981247\n' > "$seeds/ratings.csv"
printf '\xef\xbb\xbf1::1::5::1\r\n2::1::0.5::2\r\n' > "$seeds/bom-crlf.dat"
printf '1::2::x::3\n\n0::1::5::1\n1::1::9::1\n1::1::-1.5\n' > "$seeds/bad-lines.dat"
printf '1::Toy Story (1995)::Animation|Children'"'"'s|Comedy\n2::Jumanji (1995)::(no genres listed)\n' > "$seeds/movies.dat"
printf '73::Mis\xe9rables, Les (1995)::Drama|Musical\n73::Again::Drama\n' > "$seeds/movies-latin1.dat"
printf '1|Toy Story (1995)|01-Jan-1995||http://us.imdb.com/M/title-exact?Toy%%20Story%%20(1995)|0|0|0|1|1|1|0|0|0|0|0|0|0|0|0|0|0|0|0\n' > "$seeds/u.item"
# Headers read by name: columns in other orders and under other releases' names, a header
# without timestamps, a wrong header, a row short of the header's fields.
printf 'movieId,userId,rating,timestamp\n242,196,3,881250949\n302,186,3.5,891717742\n' > "$seeds/ratings-reordered.csv"
printf 'Rating::UserID::MovieID\n5::1::1193\n3::1::661\n' > "$seeds/ratings-header.dat"
printf 'item id\tuser id\ttimestamp\trating\n242\t196\t881250949\t3\n' > "$seeds/ratings-header.tsv"
printf 'foo,bar,baz,qux\n1,2,3,4\n' > "$seeds/ratings-unknown-header.csv"
printf 'userId,movieId,rating,timestamp\n1,1,4.0\n1,3,4.5,964981247\n' > "$seeds/ratings-short-row.csv"
printf 'movieId,title,genres\n1,Toy Story (1995),Adventure|Animation\n11,"American President, The (1995)",Comedy|Drama\n' > "$seeds/movies.csv"
printf 'genres,movieId,title\n(no genres listed),2,"Quote ""Unquote"" (1999)"\nDrama,3,Am\xc3\xa9lie (2001)\n' > "$seeds/movies-reordered.csv"
# Encodings and control characters: UTF-8 with a stray byte, a NUL and a tab in titles, C1
# controls as ISO-8859-1 bytes, a line break inside a quoted title.
printf '1::Am\xc3\xa9lie (2001)::Comedy\n2::Mis\xe9rables (1995)::Drama\n3::\xe5\x8d\x83 (2001)::Animation\n' > "$seeds/movies-stray-byte.dat"
printf 'movieId,title,genres\n1,"Nul\x00 (1990)",Drama\n2,Tab\there (1991),Drama\n3,"Two\nLines",Drama\n' > "$seeds/movies-controls.csv"
printf '1::C1 \x85\x9b (1990)::Drama\n2::Ok (1991)::Dr\x7fama\n' > "$seeds/movies-c1.dat"

# Settings files: every configuration in the repository, plus the shapes the parser refuses
# (a duplicate key, a wrong type, a number too large, nesting, escapes).
seeds="$work/seeds-settings"
mkdir -p "$seeds"
cp "$root/pipeline.json" "$seeds/"
for f in "$root"/configs/*.json; do cp "$f" "$seeds/config-$(basename "$f")"; done
printf '{}' > "$seeds/empty.json"
printf '{"score": {"k": 3},\n "score": {"k": 4}}' > "$seeds/duplicate.json"
printf '{"split": {"seed": -1, "testRatio": "0.2"}, "workers": 1e300}' > "$seeds/types.json"
printf '{"ratingModel": {"hidden": [1, [2, {"a": {"a": 1}}]], "lambdaGrid": [1e-320, 0.5]}}' > "$seeds/nested.json"
printf '{"artefactDir": "out/../out/\\u00e9", "outputDir": "out", "input": {"ratings": "\\ud83d\\ude00"}}' > "$seeds/paths.json"
printf '{"input": {"ratingScale": [-1e308, 1e308]}, "memoryLimitGB": 1e309, "rankingModel": {"type": "ease", "lambda": 3.5e38}, "ratingModel": {"learningRate": 1e-50}}' > "$seeds/extreme-numbers.json"

ASAN_OPTIONS=detect_leaks=0 FUZZ_WRITE_SEEDS="$work/seeds-artefact" "$bin/fuzz-artefact" || exit 2

status=0
for target in fuzz-ratings fuzz-settings fuzz-artefact; do
    corpus="$work/corpus-$target"
    mkdir -p "$corpus" "$crashes/$target"
    log="$work/$target.log"
    before=$(find "$crashes/$target" -type f | wc -l)
    start=$SECONDS
    set +e
    "$bin/$target" -max_total_time="$seconds" -timeout=10 -print_final_stats=1 \
        -artifact_prefix="$crashes/$target/" "$corpus" "$work/seeds-${target#fuzz-}" > "$log" 2>&1
    code=$?
    set -e
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    found=$(( $(find "$crashes/$target" -type f | wc -l) - before ))
    if [[ $code -ne 0 && $found -eq 0 ]]; then found=1; fi  # died without writing its input
    echo "$target: ${runs:-?} executions in $((SECONDS - start)) s, $found crash(es), corpus $(find "$corpus" -type f | wc -l) inputs"
    if [[ $found -eq 0 && ${runs:-0} -lt $min_runs ]]; then
        echo "    $target ran ${runs:-no} inputs, fewer than $min_runs: the harness is dead (the end of its log follows)"
        tail -n 5 "$log" | sed 's/^/    /'
        status=1
    fi
    if [[ $found -ne 0 ]]; then
        status=1
        # What failed, the first frame in our sources, and where the input was kept.
        { grep -E 'ERROR|Fatal error|runtime failure|SUMMARY' "$log" | head -n 4
          sed -n '/ERROR/,$p' "$log" | grep -v 'runtime failure' | grep -m1 -E '/Sources/'
          grep -E 'Test unit written' "$log"; } | sed 's/^ */    /' || true
    fi
done
exit $status

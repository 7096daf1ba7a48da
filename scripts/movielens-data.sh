#!/usr/bin/env bash
# Puts a MovieLens release into data/: leaves it alone when it is there, links the project's
# shared copy when the checkout sits beside one, else downloads the zip from GroupLens, checks
# it against the pinned checksum and unzips it. `make data` and `make run` call it.
#
#   scripts/movielens-data.sh [--data DIR] [--shared DIR] [DATASET]
#
# DATASET: ml-100k, ml-1m (default), ml-10m, ml-20m, ml-25m, ml-latest-small.
# --data DIR    where releases go (default: data)
# --shared DIR  the project's shared data folder (default: ../shared/data); its ml-1m holds
#               ratings_no_timestamps.dat, linked as ratings.dat
#
# A download is written under a hidden folder inside DIR and moved into place only once its
# checksum and its zip CRCs are right, so a failed or interrupted run leaves nothing half-written.
# Only regular files and folders are installed: a zip entry that is a symbolic link, a hard
# link, a device, a FIFO or a socket, or whose name is absolute or has a '..' part, stops the
# run before anything is unzipped, naming the entry, and DIR is left exactly as it was.
# Exit codes: 0 done, 1 the data could not be put in place (the message says why and what to
# do), 2 usage.
#
# For the tests only (they run without internet, against a server on 127.0.0.1):
#   MOVIELENS_BASE_URL   replaces https://files.grouplens.org/datasets/movielens
#   MOVIELENS_CHECKSUMS  a file of `DATASET MD5 SHA256` lines ('-' for none) used instead of the
#                        pinned checksums below
set -euo pipefail

base_url=${MOVIELENS_BASE_URL:-https://files.grouplens.org/datasets/movielens}
data=data
shared=../shared/data
dataset=ml-1m

usage() {
  echo "usage: $0 [--data DIR] [--shared DIR] [ml-100k|ml-1m|ml-10m|ml-20m|ml-25m|ml-latest-small]" >&2
  exit 2
}
while [ $# -gt 0 ]; do
  case $1 in
    --data) [ $# -ge 2 ] || usage; data=$2; shift 2 ;;
    --shared) [ $# -ge 2 ] || usage; shared=$2; shift 2 ;;
    -h|--help) usage ;;
    -*) echo "unknown option: $1" >&2; usage ;;
    *) dataset=$1; shift ;;
  esac
done

# The releases: folder inside the zip, the ratings and movies files, the MD5 GroupLens publishes
# beside each zip, and a SHA-256 where one was computed from a genuine download ('-': none).
# No SHA-256 is pinned yet: none of the zips could be downloaded where this was written; pin
# one by putting it in the last column (both are then checked).
# ml-latest-small has no published checksum, and GroupLens regenerates the "latest" sets from
# time to time, so none is pinned: its zip is checked by its own CRCs (unzip -t) and the files it
# must hold, and the SHA-256 of what was fetched is printed for the record.
case $dataset in
  ml-100k)         folder=ml-100k;         files="u.data u.item";          md5=0e33842e24a9c977be4e0107933c0723; sha256=- ;;
  ml-1m)           folder=ml-1m;           files="ratings.dat movies.dat"; md5=c4d9eecfca2ab87c1945afe126590906; sha256=- ;;
  ml-10m)          folder=ml-10M100K;      files="ratings.dat movies.dat"; md5=ce571fd55effeba0271552578f2648bd; sha256=- ;;
  ml-20m)          folder=ml-20m;          files="ratings.csv movies.csv"; md5=cd245b17a1ae2cc31bb14903e1204af3; sha256=- ;;
  ml-25m)          folder=ml-25m;          files="ratings.csv movies.csv"; md5=6b51fb2759a8657d3bfcbfc42b592ada; sha256=- ;;
  ml-latest-small) folder=ml-latest-small; files="ratings.csv movies.csv"; md5=-;                                sha256=- ;;
  *) echo "unknown dataset '$dataset': choose ml-100k, ml-1m, ml-10m, ml-20m, ml-25m or ml-latest-small" >&2; exit 2 ;;
esac
if [ -n "${MOVIELENS_CHECKSUMS:-}" ]; then
  md5=-; sha256=-
  while read -r name m s; do
    if [ "$name" = "$dataset" ]; then md5=${m:--}; sha256=${s:--}; fi
  done < "$MOVIELENS_CHECKSUMS"
fi
zip=$dataset.zip
url=$base_url/$zip
target=$data/$folder
file_list="$target/${files// / and $target/}"

fail() {
  echo "error: $*" >&2
  echo "To place the files by hand: download $url on a machine with internet$([ "$md5" != - ] && echo ", check that its MD5 is $md5"), and unzip it into $data/ so that $file_list exist." >&2
  exit 1
}

# 1. Already there.
complete=yes
for f in $files; do [ -f "$target/$f" ] || complete=no; done
if [ $complete = yes ]; then exit 0; fi
if [ -e "$target" ] || [ -L "$target" ]; then
  echo "error: $target exists but does not hold $file_list: complete it or remove it (it was left as it is)" >&2
  exit 1
fi

# 2. The project's shared copy beside the checkout.
link() { # link TARGET_PATH LINK_PATH, relative so that the tree can move
  ln -s "$(realpath -s --relative-to="$(dirname "$2")" "$1")" "$2"
}
case $dataset in
  ml-1m)
    if [ -f "$shared/ml-1m/ratings_no_timestamps.dat" ] && [ -f "$shared/ml-1m/movies.dat" ]; then
      mkdir -p "$target"
      link "$shared/ml-1m/ratings_no_timestamps.dat" "$target/ratings.dat"
      link "$shared/ml-1m/movies.dat" "$target/movies.dat"
      echo "linked MovieLens-1M from $shared/ml-1m"
      # configs/ml-100k.json reads data/ml-100k: link it too when the shared folder has it.
      if [ -f "$shared/ml-100k/u.data" ] && [ ! -e "$data/ml-100k" ] && [ ! -L "$data/ml-100k" ]; then
        link "$shared/ml-100k" "$data/ml-100k"
      fi
      exit 0
    fi ;;
  ml-100k)
    if [ -f "$shared/ml-100k/u.data" ] && [ -f "$shared/ml-100k/u.item" ]; then
      mkdir -p "$data"
      link "$shared/ml-100k" "$target"
      echo "linked MovieLens-100K from $shared/ml-100k"
      exit 0
    fi ;;
esac

# 3. Download, check, unzip, move into place.
for tool in curl unzip zipinfo md5sum sha256sum; do
  command -v $tool >/dev/null || fail "$tool is missing (make deps installs curl and unzip)"
done
made_data=no
[ -d "$data" ] || made_data=yes
mkdir -p "$data"
# Folders left by a run that was killed (their process is gone).
for old in "$data"/.download-*; do
  [ -f "$old/pid" ] || continue
  kill -0 "$(cat "$old/pid")" 2>/dev/null || rm -rf "$old"
done
# On every way out (error, Ctrl-C, kill): the download folder goes, and so does data/ itself
# when this run made it and installed nothing.
work=
trap 'if [ -n "$work" ]; then rm -rf "$work"; fi; if [ $made_data = yes ]; then rmdir "$data" 2>/dev/null || true; fi' EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM
work=$(mktemp -d "$data/.download-$dataset.XXXXXX")
echo $$ > "$work/pid"

echo "downloading $url"
fetch=(curl --fail --location --show-error --connect-timeout 30 --speed-limit 1024 --speed-time 60 --output "$work/$zip" "$url")
status=0
if [ -t 2 ]; then
  # On a terminal: curl's progress bar, and its own error message if it fails.
  "${fetch[@]}" --progress-bar || status=$?
  reason="curl exit code $status, see above"
else
  "${fetch[@]}" --silent 2> "$work/curl.err" || status=$?
  reason=$(grep -v '^[[:space:]]*$' "$work/curl.err" | tail -n 1 | sed 's/^curl: //' || true)
fi
if [ $status -ne 0 ]; then
  case $status in
    6|7|28) fail "could not download $url: no connection ($reason); check the network or a proxy (curl reads https_proxy)" ;;
    18|52|56) fail "could not download $url: the connection was cut before the file was whole ($reason); nothing was kept, try again" ;;
    *) fail "could not download $url: $reason" ;;
  esac
fi

got_md5=$(md5sum "$work/$zip" | cut -d' ' -f1)
got_sha256=$(sha256sum "$work/$zip" | cut -d' ' -f1)
if [ "$md5" != - ] && [ "$got_md5" != "$md5" ]; then
  fail "$url does not match its checksum: MD5 $got_md5, expected $md5 (a cut-off or damaged download, or a changed file); nothing was kept"
fi
if [ "$sha256" != - ] && [ "$got_sha256" != "$sha256" ]; then
  fail "$url does not match its checksum: SHA-256 $got_sha256, expected $sha256 (a cut-off or damaged download, or a changed file); nothing was kept"
fi
if ! unzip -tq "$work/$zip" > "$work/unzip.err" 2>&1; then
  fail "$url is not a whole zip file (cut off or damaged: unzip -t finds it broken); nothing was kept"
fi
# Only regular files and folders, under names that stay inside the folder they are unzipped
# into. Checked on the zip's own listing before unzipping (unzip would create a symbolic link
# and could then write through it), and again on what unzip made (a file with a second hard
# link included).
refuse() {
  echo "error: $url holds $1; only regular files and folders are installed, and nothing was kept ($data is as it was)." >&2
  echo "This is not a MovieLens release as GroupLens publishes it: check where the download comes from (MOVIELENS_BASE_URL, a proxy)." >&2
  exit 1
}
zipinfo -1 "$work/$zip" > "$work/names" 2> /dev/null || fail "$url is not a zip file that can be listed"
entries=$(wc -l < "$work/names")
# `zipinfo -s`: two header lines, then one line per entry in the same order, whose first
# character is the entry's type as `ls -l` shows it ('?' for none: unzip makes a regular file).
zipinfo -s "$work/$zip" 2> /dev/null | sed -n "3,$((entries + 2))p" | cut -c1 > "$work/types"
[ "$(wc -l < "$work/types")" -eq "$entries" ] || fail "$url: its listing cannot be read"
while IFS= read -r name <&3 && IFS= read -r type <&4; do
  case $type in
    -|d|\?) ;;
    l) refuse "'$name', a symbolic link" ;;
    p) refuse "'$name', a FIFO" ;;
    b|c) refuse "'$name', a device" ;;
    s) refuse "'$name', a socket" ;;
    *) refuse "'$name', an entry of type '$type'" ;;
  esac
  case $name in
    /*|\\*|[A-Za-z]:*) refuse "'$name', an absolute path" ;;
  esac
  case /${name//\\//}/ in
    */../*) refuse "'$name', a path with a '..' part" ;;
  esac
done 3< "$work/names" 4< "$work/types"
unzip -q "$work/$zip" -d "$work/unzipped" || fail "could not unzip $url into $work"
odd=$(find "$work/unzipped" -mindepth 1 \( -type l -o \( ! -type f ! -type d \) -o \( -type f -links +1 \) \) -printf "'%P' " | head -c 400)
[ -z "$odd" ] || refuse "${odd% } (not regular files or folders once unzipped)"
for f in $files; do
  [ -f "$work/unzipped/$folder/$f" ] || fail "$url does not hold $folder/$f"
done
[ -e "$target" ] || [ -L "$target" ] && fail "$target appeared while downloading (another run?); it was left as it is"
mv -T "$work/unzipped/$folder" "$target"
if [ "$md5" = - ] && [ "$sha256" = - ]; then
  echo "MovieLens $dataset is in $target (no published checksum to check: its zip CRCs are right; SHA-256 $got_sha256)"
else
  echo "MovieLens $dataset is in $target (checksum verified: MD5 $got_md5, SHA-256 $got_sha256)"
fi

# The two commands: `make run` (whole pipeline on MovieLens-1M) and `make test`.
SHELL := /bin/bash
SWIFT ?= swift
RELEASE := .build/release
APT_PACKAGES := libzstd-dev libopenblas-dev libxxhash-dev pkg-config
# The end-to-end tests also load the exports into sqlite3, PostgreSQL, DuckDB and pandas (the
# last two from a virtual environment of requirements-test.txt), parse the monitoring file with
# prometheus_client, check the systemd units with systemd-analyze, and render the report in Chromium.
TEST_APT_PACKAGES := $(APT_PACKAGES) sqlite3 chromium python3 python3-venv postgresql systemd
VENV := .venv
VENV_PYTHON ?= /usr/bin/python3
# Where a checkout beside the project's shared folder finds MovieLens (see README: Data).
SHARED_ML1M := ../shared/data/ml-1m
SHARED_ML100K := ../shared/data/ml-100k

.PHONY: run test build deps test-deps venv data bench bench-scale fuzz clean

run: deps build data
	$(RELEASE)/rec-pipeline --config pipeline.json

test: test-deps
	@$(MAKE) --no-print-directory venv
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --disable-xctest

build: deps
	$(SWIFT) build -c release

# System libraries (Debian/Ubuntu names). Installs only what is missing; needs root or sudo.
deps:
	@$(MAKE) --no-print-directory install-packages PACKAGES="$(APT_PACKAGES)"

test-deps:
	@$(MAKE) --no-print-directory install-packages PACKAGES="$(TEST_APT_PACKAGES)"

# The tests' Python packages (pip from PyPI). Only reinstalled when requirements-test.txt changes:
# an up-to-date venv costs a timestamp comparison.
venv: $(VENV)/.installed

$(VENV)/.installed: requirements-test.txt
	$(VENV_PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-test.txt
	touch $@

install-packages:
	@missing=$$(for p in $(PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing: $$missing"; \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq $$missing; \
	fi

# MovieLens-1M into data/ml-1m/. Its licence forbids redistribution, so it is never in git:
# download ml-1m.zip from https://grouplens.org/datasets/movielens/1m/ and unzip it into data/.
# A checkout beside the project's shared folder links that copy instead.
data:
	@if [ -f data/ml-1m/ratings.dat ] && [ -f data/ml-1m/movies.dat ]; then exit 0; fi; \
	if [ -f $(SHARED_ML1M)/ratings_no_timestamps.dat ]; then \
	  mkdir -p data/ml-1m; \
	  ln -sf ../../$(SHARED_ML1M)/ratings_no_timestamps.dat data/ml-1m/ratings.dat; \
	  ln -sf ../../$(SHARED_ML1M)/movies.dat data/ml-1m/movies.dat; \
	  echo "linked MovieLens-1M from $(SHARED_ML1M)"; \
	  if [ -f $(SHARED_ML100K)/u.data ] && [ ! -e data/ml-100k ]; then ln -sf ../$(SHARED_ML100K) data/ml-100k; fi; \
	else \
	  echo "MovieLens-1M is missing: download ml-1m.zip from https://grouplens.org/datasets/movielens/1m/"; \
	  echo "and unzip it here so that data/ml-1m/ratings.dat and data/ml-1m/movies.dat exist."; \
	  exit 1; \
	fi

bench: deps build data
	$(RELEASE)/rec-bench --config configs/seed-75-25.json

# The scale benchmark: synthetic MovieLens-shaped data of 1M, 5M and 25M ratings (written by
# rec-synth under data/synth/, never committed) through the default pipeline; prints seconds
# per stage, peak memory, ratings/s and NDCG@10 per size. One size: make bench-scale SIZES=5M.
# The 25M size takes several minutes and a few GB.
SIZES ?= 1M,5M,25M
bench-scale: deps build
	@$(MAKE) --no-print-directory install-packages PACKAGES="python3"
	python3 scripts/bench_scale.py --sizes "$(SIZES)"

fuzz: deps
	scripts/fuzz.sh 60

clean:
	rm -rf .build output/artefacts output/*.csv output/*.jsonl output/*.json output/*.html

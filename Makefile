# The two commands: `make run` (whole pipeline on MovieLens-1M) and `make test`.
SHELL := /bin/bash
SWIFT ?= swift
RELEASE := .build/release
APT_PACKAGES := libzstd-dev libopenblas-dev libxxhash-dev pkg-config
# The end-to-end tests also load the exports into sqlite3, PostgreSQL, DuckDB and pandas (the
# last two from a virtual environment of requirements-test.txt), parse the monitoring file with
# prometheus_client, check the systemd units with systemd-analyze, render the report in Chromium,
# run the pipeline on a throw-away one-node Slurm cluster (scripts/slurm-test-cluster.sh), and
# run scripts/movielens-data.sh against a local server.
TEST_APT_PACKAGES := $(APT_PACKAGES) sqlite3 chromium python3 python3-venv postgresql systemd slurm-wlm munge curl unzip ca-certificates
VENV := .venv
VENV_PYTHON ?= /usr/bin/python3
# The download of `make data` (scripts/movielens-data.sh).
DATA_APT_PACKAGES := curl unzip ca-certificates
# The folder of this Makefile, so that `make -f PATH/Makefile data` works from another folder.
MAKEFILE_DIR := $(dir $(abspath $(lastword $(MAKEFILE_LIST))))

.PHONY: run test build deps test-deps venv data bench bench-scale fuzz clean

run: deps build data
	$(RELEASE)/rec-pipeline --config pipeline.json

# After the tests, a short fuzz run of every reader of untrusted bytes (scripts/fuzz.sh: the
# sanitizer build of Fuzz/, then FUZZ_SECONDS per target); it fails when a target crashes or
# runs fewer than 1,000 inputs (a dead harness).
FUZZ_SECONDS ?= 10
test: test-deps
	@$(MAKE) --no-print-directory venv
	python3 scripts/check_module_deps.py
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --disable-xctest
	scripts/fuzz.sh $(FUZZ_SECONDS)

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

# A MovieLens release into data/ (default ml-1m; `make data DATASET=ml-25m` for another).
# Its licence forbids redistribution, so it is never in git. scripts/movielens-data.sh leaves a
# release that is there alone, links the project's shared copy when the checkout sits beside
# it, else downloads the zip from GroupLens, checks its MD5 and unzips it (README: Data).
DATASET ?= ml-1m
SHARED_DATA := ../shared/data

data:
	@$(MAKE) --no-print-directory -f $(MAKEFILE_DIR)Makefile install-packages PACKAGES="$(DATA_APT_PACKAGES)"
	@$(MAKEFILE_DIR)scripts/movielens-data.sh --data data --shared $(SHARED_DATA) $(DATASET)

# The PyTorch half of the speed comparison (scripts/bench_torch.py) runs in a venv made from a
# local CPU wheel of torch, TORCH_WHEEL; with none, rec-bench says it skipped that half.
TORCH_WHEEL ?= $(firstword $(wildcard /opt/wheels/torch-*+cpu-*.whl))
BENCH_VENV := .build/bench-venv

bench: deps build data
	@if [ ! -x $(BENCH_VENV)/bin/python ] && [ -n "$(TORCH_WHEEL)" ]; then \
	  echo "installing $(TORCH_WHEEL) into $(BENCH_VENV)"; \
	  python3 -m venv $(BENCH_VENV) && $(BENCH_VENV)/bin/pip install -q "$(TORCH_WHEEL)" || rm -rf $(BENCH_VENV); \
	fi
	$(RELEASE)/rec-bench --config configs/seed-75-25.json \
	  --torch-python $$([ -x $(BENCH_VENV)/bin/python ] && echo $(BENCH_VENV)/bin/python || echo python3)

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

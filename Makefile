# Two commands set up a fresh machine: `make run` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
RUN_STAMP := $(VENV)/.installed-run
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: run test test-fast lint bench system-deps clean-state

$(PY):
	python3 -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

# CPU torch first: the build on this machine's disk, not the multi-GB CUDA one a plain resolve pulls.
$(RUN_STAMP): pyproject.toml | $(PY)
	$(PIP) install torch==2.13.0
	$(PIP) install -e .
	touch $@

$(DEV_STAMP): $(RUN_STAMP) pyproject.toml
	$(PIP) install -e '.[dev]'
	touch $@

run: $(RUN_STAMP)
	$(VENV)/bin/rag-service db upgrade
	$(VENV)/bin/rag-service serve

# Browser and fonts for the web UI tests, git-doc for the eval and benchmarks (Debian packages).
system-deps:
	@command -v chromium >/dev/null && [ -d /usr/share/doc/git-doc ] && fc-list 2>/dev/null | grep -qi "noto sans cjk" || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			chromium fonts-noto-cjk git-doc >/dev/null)

test: $(DEV_STAMP) system-deps
	$(VENV)/bin/ruff check .
	$(VENV)/bin/pytest -q

test-fast: $(DEV_STAMP)
	$(VENV)/bin/pytest -q -m "not slow and not e2e"

lint: $(DEV_STAMP)
	$(VENV)/bin/ruff check .

BENCH_STAMP := $(VENV)/.installed-bench

$(BENCH_STAMP): $(DEV_STAMP)
	$(PIP) install -e '.[dev,bench]'
	touch $@

# BENCH_ARGS=--quick for a 60-file run; results land in benchmarks/results/.
bench: $(BENCH_STAMP) system-deps
	$(PY) -m benchmarks.run $(BENCH_ARGS)

clean-state:
	find indexes -mindepth 1 ! -name README.md -exec rm -rf {} +

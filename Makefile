# Two commands set up a fresh machine: `make run` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
# READER=off skips the reader model and llama.cpp's build (about 11 minutes, once per machine): a quick try of
# `make run` with the extractive rules alone. `make test` always has the reader.
READER ?= on
RUN_STAMP := $(VENV)/.installed-run-reader-$(READER)
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: run test test-fast lint bench system-deps clean-state

$(PY):
	python3 -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

# llama.cpp for AVX2 without AMX: its AMX kernels crash on Xeons that have them (ggml-org/llama.cpp#20824),
# and a build that is not tuned to one CPU runs on every machine a team has. Built once per machine.
LLAMA_VERSION := 0.3.36
LLAMA_WHEELS := $(HOME)/.cache/rag-service/wheels-portable
LLAMA_CMAKE := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON
LLAMA_WHEEL := $(LLAMA_WHEELS)/llama_cpp_python-$(LLAMA_VERSION)-*.whl
define install_llama
	ls $(LLAMA_WHEEL) >/dev/null 2>&1 || \
		CMAKE_ARGS="$(LLAMA_CMAKE)" $(PIP) wheel --no-deps --no-cache-dir llama-cpp-python==$(LLAMA_VERSION) -w $(LLAMA_WHEELS)
	$(PIP) install --no-deps --force-reinstall $(LLAMA_WHEEL)
endef

# CPU torch first: the build on this machine's disk, not the multi-GB CUDA one a plain resolve pulls.
$(RUN_STAMP): pyproject.toml | $(PY)
	$(PIP) install torch==2.13.0
ifeq ($(READER),off)
	$(PIP) install -e '.[ocr]'
else
	$(install_llama)
	$(PIP) install -e '.[ocr,reader]'
endif
	touch $@

$(DEV_STAMP): pyproject.toml | $(PY)
	$(PIP) install torch==2.13.0
	$(install_llama)
	$(PIP) install -e '.[dev]'
	touch $@

run: $(RUN_STAMP)
	$(VENV)/bin/rag-service db upgrade
	$(if $(filter off,$(READER)),RAG_READER=off) $(VENV)/bin/rag-service serve

# Browser and fonts for the web UI tests (the CJK font also draws the Chinese OCR fixtures); git-doc for the eval
# and benchmarks; python3.11-doc (Sphinx) and debian-handbook (DocBook) for the HTML cleaning tests and the
# python-doc eval; LibreOffice (headless, ~20 s to install) for the legacy .doc/.ppt/.xls conversion test.
system-deps:
	@command -v chromium >/dev/null && command -v soffice >/dev/null && [ -d /usr/share/doc/git-doc ] && \
		[ -d /usr/share/doc/python3.11/html ] && [ -d /usr/share/doc/debian-handbook/html ] && \
		fc-list 2>/dev/null | grep -qi "noto sans cjk" || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			chromium fonts-noto-cjk git-doc python3.11-doc debian-handbook \
			libreoffice-writer-nogui libreoffice-calc-nogui libreoffice-impress-nogui >/dev/null)

# The MCP Inspector (npm), the second MCP client of tests/integration/test_mcp.py; without npm that test is skipped.
INSPECTOR := tests/mcp_inspector/node_modules/.installed

$(INSPECTOR): tests/mcp_inspector/package.json tests/mcp_inspector/package-lock.json
	if command -v npm >/dev/null; then npm ci --prefix tests/mcp_inspector --no-audit --no-fund --loglevel=error && \
		touch $@; else echo "npm not found: the MCP Inspector test will be skipped"; fi

test: $(DEV_STAMP) system-deps $(INSPECTOR)
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

# BENCH_ARGS=--quick for a 60-file run; results land in benchmarks/results/ (bench-*, ocr-* for OCR, scale-out-*
# for workers, replication lag and catch-up on the local PostgreSQL and Redis). `python -m benchmarks.sizing`
# (RAM and database size at 1M/10M chunks, about 9 minutes) is run by hand.
bench: $(BENCH_STAMP) system-deps
	$(PY) -m benchmarks.run $(BENCH_ARGS)
	$(PY) -m benchmarks.ocr
	$(PY) -m benchmarks.scale_out $(findstring --quick,$(BENCH_ARGS))

clean-state:
	find indexes -mindepth 1 ! -name README.md -exec rm -rf {} +

# framewatch: everything bootstraps from a bare python3 (3.11+). `make demo` and `make test` are the
# two commands; the rest are steps they use, or benchmarks.
PYTHON ?= python3
TOOLS := .tools
UV := $(TOOLS)/bin/uv
UV_VERSION := 0.13.8
VENV := .venv
PY := $(VENV)/bin/python
export UV_PYTHON := $(PYTHON)
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: help setup demo test lint bench bench-extract bench-body-tuning bench-dedupe bench-load bench-stories bench-framing train-framing bench-translation bench-cross-language bench-profile bench-cpu browser clean

help:
	@echo "make demo    - set up, start the replay world, run one full cycle into data/demo.sqlite, write the report"
	@echo "make test    - set up and run the test suite (SQLite and PostgreSQL)"
	@echo "make bench   - all benchmarks in one table (bench-extract, bench-dedupe, bench-load, bench-stories: one each)"

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# The lock file pins every dependency; bytecode is compiled at install because this environment
# sets PYTHONDONTWRITEBYTECODE and Airflow would otherwise import twice as slowly.
$(VENV)/.synced: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --compile-bytecode
	@touch $@

setup: $(VENV)/.synced

demo: setup
	$(PY) -m demo.run

test: setup browser
	$(VENV)/bin/ruff check .
	$(PY) -m pytest

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

bench: setup
	$(PY) bench/all.py

bench-extract: setup
	$(PY) bench/extraction.py

# How the body's one tuned number was chosen: per held-out fold, on the other folds only (needs ../shared/eval).
bench-body-tuning: setup
	$(PY) bench/body_tuning.py

bench-dedupe: setup
	$(PY) bench/dedupe.py

bench-load: setup
	$(PY) bench/load.py

# One cycle with 1, 10 and 100 story definitions, and matching's decisions per second on one core.
bench-stories: setup
	$(PY) bench/stories.py

# Framing measures against human labels (cross-validated), beside their baselines; needs ../shared/eval.
bench-framing: setup
	$(PY) bench/framing.py

# Rebuilds config/framing/tone_model.npz from NewsMTSC and the packaged encoder (docs/framing.md).
train-framing: setup
	$(PY) -m pipeline.framing.train

# Translated copies (#17): precision, recall, CPU and peak memory on the 5,000-article world.
bench-translation: setup
	$(PY) bench/translation.py

bench-cross-language: setup
	$(PY) bench/cross_language.py

# Profiles behind missed targets: STAGE=cycle (py-spy over every process of one bench cycle), pages
# (process_page's parts per page, no profiler), or cProfile of STAGE=process or framing (replay
# world), or load (PostgreSQL).
bench-profile: setup
	$(PY) bench/profile_stages.py $(or $(STAGE),process)

# CPU seconds of one bench cycle by process, as the kernel counts them (no profiler's skew).
bench-cpu: setup
	$(PY) bench/cycle_cpu.py

# Headless Chromium renders the HTML report in the tests (Debian's package; installing it needs root).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	      || echo "could not install chromium: the browser tests will skip (and fail under CI=true)"; \
	  else echo "chromium is not installed and this is not root: the browser tests will skip"; fi; }

clean:
	rm -rf $(VENV) $(TOOLS) data/demo* .pytest_cache

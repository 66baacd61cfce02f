# From N-grams to Transformers — the two commands a newcomer needs are `make book` and `make test`.
# Every target creates (or refreshes) the pinned environment in .venv first.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

# Every Python process of a build or a test runs under the offline guard (tests/offline/sitecustomize.py);
# text progress bars keep the built pages readable (widgets need a live kernel).
RUN := PYTHONPATH=$(CURDIR)/tests/offline N2T_OFFLINE=1 N2T_PROGRESS=text

QUICK_SITE := _build/quick

.PHONY: book test lab bench clean env

env: $(STAMP)

$(STAMP): requirements.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $@

book: $(STAMP)  ## execute every chapter in the full profile and build the website into _build/html
	$(RUN) N2T_PROFILE=$${N2T_PROFILE:-full} $(BIN)/jupyter-book build . --all -W -n --keep-going
	@echo "The book is at file://$(CURDIR)/_build/html/index.html"

test: $(STAMP)  ## lint, unit tests, nbval (quick), strict site build (quick), browser check
	$(BIN)/ruff check .
	$(RUN) $(BIN)/python -m pytest tests -n 2 -m "not browser"
	$(RUN) N2T_PROFILE=quick $(BIN)/python -m pytest chapters --nbval-lax --nbval-current-env \
		--nbval-cell-timeout=600 -n 2 --dist loadfile
	rm -rf $(QUICK_SITE)
	$(RUN) N2T_PROFILE=quick $(BIN)/jupyter-book build . --path-output $(QUICK_SITE) -W -n --keep-going
	$(RUN) N2T_SITE=$(CURDIR)/$(QUICK_SITE)/_build/html $(BIN)/python -m pytest tests -m browser

lab: $(STAMP)  ## open JupyterLab; chapters/*.py open as notebooks (jupytext)
	$(BIN)/jupyter lab chapters

bench: $(STAMP)  ## the benchmarks under tests/benchmarks (not part of make test); installs requirements-bench.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-bench.txt
	@for script in tests/benchmarks/bench_*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf _build .pytest_cache .ruff_cache

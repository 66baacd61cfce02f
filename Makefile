# From N-grams to Transformers — the two commands a newcomer needs are `make book` and `make test`.
# Every target creates (or refreshes) the pinned environment in .venv first.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
# The environment every target uses; a conda user points it at the active environment: VENV=$CONDA_PREFIX.
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

# torch: the CPU build unless TORCH=cuda. On Linux, PyPI's torch wheel depends on gigabytes of CUDA packages
# whatever the pin, so pip also reads PyTorch's CPU wheel index, and prefers its torch==2.13.0+cpu (a local
# version sorts above 2.13.0). TORCH=cuda takes PyPI's default build instead. A machine that cannot reach the
# index within a few seconds (one that installs from a local mirror, offline) installs from its own pip
# configuration, without waiting on it.
TORCH ?= cpu
TORCH_CPU_INDEX := https://download.pytorch.org/whl/cpu
TORCH_INDEX_PROBE := import urllib.request; urllib.request.urlopen("$(TORCH_CPU_INDEX)/torch/", timeout=5)
PIP_INSTALL := $(BIN)/python -m pip install --quiet --disable-pip-version-check

# Every Python process of a build or a test runs under the offline guard (tests/offline/sitecustomize.py);
# text progress bars keep the built pages readable (widgets need a live kernel).
RUN := PYTHONPATH=$(CURDIR)/tests/offline N2T_OFFLINE=1 N2T_PROGRESS=text

QUICK_SITE := _build/quick

.PHONY: book test lab bench clean env

env: $(STAMP)

$(STAMP): requirements.txt
	@case "$(TORCH)" in cpu|cuda) ;; *) echo "TORCH must be cpu or cuda; got '$(TORCH)'" >&2; exit 2;; esac
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@index=""; \
	if [ "$(TORCH)" = cpu ]; then \
		if $(BIN)/python -c '$(TORCH_INDEX_PROBE)' 2>/dev/null; then index="--extra-index-url $(TORCH_CPU_INDEX)"; \
		else echo "== $(TORCH_CPU_INDEX) is out of reach: torch comes from pip's own configuration"; fi; \
	fi; \
	echo "$(PIP_INSTALL) $$index -r requirements.txt"; \
	$(PIP_INSTALL) $$index -r requirements.txt
	$(PIP_INSTALL) --no-deps --no-build-isolation -e .
	@touch $@

# The zoo's artefacts are trained first, in parallel processes (one per core, at most 4: python -m n2t.zoo);
# the chapters then execute one after another and load them.
book: $(STAMP)  ## train the zoo, execute every chapter in the full profile and build the website into _build/html
	$(RUN) N2T_PROFILE=$${N2T_PROFILE:-full} $(BIN)/python -m n2t.zoo
	$(RUN) N2T_PROFILE=$${N2T_PROFILE:-full} $(BIN)/jupyter-book build . --all -W -n --keep-going
	@echo "The book is at file://$(CURDIR)/_build/html/index.html"

test: $(STAMP)  ## lint, unit tests, nbval (quick), strict site build (quick), browser checks (site, lab)
	$(BIN)/ruff check .
	$(RUN) $(BIN)/python -m pytest tests -n 2 -m "not browser"
	@# Two notebooks run at once on two workers: one torch thread each, or the threads fight over the cores.
	$(RUN) N2T_PROFILE=quick OMP_NUM_THREADS=1 $(BIN)/python -m pytest chapters --nbval-lax --nbval-current-env \
		--nbval-cell-timeout=600 -n 2 --dist loadfile
	rm -rf $(QUICK_SITE)
	$(RUN) N2T_PROFILE=quick $(BIN)/jupyter-book build . --path-output $(QUICK_SITE) -W -n --keep-going
	$(RUN) N2T_SITE=$(CURDIR)/$(QUICK_SITE)/_build/html $(BIN)/python -m pytest tests -m browser

# JupyterLab with the project's configuration in .jupyter/ (tests/test_lab.py starts it the same way): a
# double-click opens a chapter as a notebook, nothing is fetched from the network, root is allowed only as root.
LAB := JUPYTER_CONFIG_PATH=$(CURDIR)/.jupyter$${JUPYTER_CONFIG_PATH:+:$$JUPYTER_CONFIG_PATH} $(BIN)/jupyter lab

lab: $(STAMP)  ## open JupyterLab on the chapters; double-click one to open it as a notebook
	@echo "== Starting JupyterLab: open the http://localhost:...?token=... address printed below; Ctrl-C stops it."
	$(LAB) chapters

bench: $(STAMP)  ## the benchmarks under tests/benchmarks (not part of make test); installs requirements-bench.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-bench.txt
	@for script in tests/benchmarks/bench_*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf _build .pytest_cache .ruff_cache

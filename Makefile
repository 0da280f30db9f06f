# Everything runs in .venv, made on first use from the repository's own files.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-test
RUFF := $(PY) -m ruff check --line-length 110 --target-version py311 --select E,F,W,I,UP,B

# Kernels started by the tests log errors only (tests/ipython holds the profile that says so).
QUIET_KERNELS := IPYTHONDIR=$(CURDIR)/tests/ipython
NBVAL := $(QUIET_KERNELS) ORQ_NB_OFFLINE=1 $(PY) -m pytest -q -p no:cacheprovider --nbval --nbval-current-env --nbval-sanitize-with notebooks/sanitize.cfg notebooks/

# make demo and make lab: venvs of their own, at the versions binder/constraints.txt pins.
DEMO := .venv-demo
LAB := .venv-lab
CONSTRAINTS := binder/constraints.txt
# Voila culls kernels idle this long with no page connected, checking every CULL_INTERVAL
# seconds (a test uses seconds).
CULL_SECONDS ?= 600
CULL_INTERVAL ?= 60
PORT ?= 8866

.PHONY: install test lint docs demo lab bench sample notebooks clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# setuptools announces every editable install at length; the install itself is what matters.
$(STAMP): setup.cfg pyproject.toml | $(PY)
	PYTHONWARNINGS=ignore $(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

lint: install
	$(RUFF) orq_nb tests benchmarks notebooks/clean.py docs/conf.py docs/check_outputs.py
	@out=$$($(VENV)/bin/lint-imports --no-logo 2>&1) || { echo "$$out"; exit 1; }; echo "import contracts kept"

# The manual, warnings as errors; it executes the example notebooks on the sample.
docs: install
	$(QUIET_KERNELS) $(PY) -m sphinx -W --keep-going -q -b html docs docs/_build/html
	$(PY) docs/check_outputs.py docs/_build/html
	@echo "the manual: docs/_build/html/index.html"

# pytest runs on every core (pytest-xdist: each worker its own fake servers, stores and browser, on
# free ports and temporary folders); NBVAL then runs the notebooks, one kernel each.
test: install lint
	$(QUIET_KERNELS) $(PY) -m pytest -q -n auto
	$(NBVAL)
	$(MAKE) docs
	# Binder's pins must resolve together (pip's resolver, nothing installed).
	$(PY) -m pip install --dry-run --ignore-installed --quiet -r binder/requirements.txt

# The demo installs a copy of the package (not editable): rebuilt when a source file changes.
$(DEMO)/.installed: setup.cfg pyproject.toml $(CONSTRAINTS) $(shell find orq_nb -name '*.py' -o -name '*.gz')
	test -d $(DEMO) || $(PYTHON) -m venv $(DEMO)
	$(DEMO)/bin/python -m pip install --quiet --upgrade pip
	$(DEMO)/bin/python -m pip install --quiet -c $(CONSTRAINTS) ".[dashboard]"
	$(DEMO)/bin/jupyter trust notebooks/dashboard.ipynb
	touch $@

demo: $(DEMO)/.installed
	@echo "orq_nb dashboard over the bundled sample: http://127.0.0.1:$(PORT) (Ctrl-C stops it)"
	JUPYTER_PATH=$(CURDIR)/share/jupyter $(DEMO)/bin/voila --no-browser --Voila.ip=127.0.0.1 --port=$(PORT) \
		--template=orq --MappingKernelManager.cull_idle_timeout=$(CULL_SECONDS) \
		--MappingKernelManager.cull_interval=$(CULL_INTERVAL) notebooks/dashboard.ipynb

$(LAB)/.installed: setup.cfg pyproject.toml $(CONSTRAINTS)
	$(PYTHON) -m venv $(LAB)
	$(LAB)/bin/python -m pip install --quiet --upgrade pip
	PYTHONWARNINGS=ignore $(LAB)/bin/python -m pip install --quiet -c $(CONSTRAINTS) -e ".[all]"
	touch $@

# Every save goes through notebooks/clean.py (its pre_save): running the examples leaves git status clean.
lab: $(LAB)/.installed
	ORQ_NB_OFFLINE=1 PYTHONPATH=$(CURDIR)/notebooks $(LAB)/bin/jupyter lab --no-browser --ServerApp.ip=127.0.0.1 \
		--FileContentsManager.pre_save_hook=clean.pre_save \
		$(if $(filter 0,$(shell id -u)),--allow-root) notebooks/

notebooks: install
	for nb in notebooks/*.ipynb; do \
		ORQ_NB_OFFLINE=1 $(VENV)/bin/jupyter nbconvert --to notebook --execute --inplace $$nb || exit 1; \
	done
	# Widget state and views are the kernel's to rebuild: kept out of the files (see notebooks/clean.py).
	$(PY) notebooks/clean.py notebooks/*.ipynb

bench: install
	$(PY) benchmarks/bench_load.py
	$(PY) benchmarks/bench_fetch.py
	$(PY) benchmarks/bench_explore.py
	$(PY) benchmarks/bench_store.py
	$(PY) benchmarks/bench_compare.py
	$(PY) benchmarks/bench_spend.py

sample: install
	$(PY) -m orq_nb.testing.synthetic
	$(PY) -m orq_nb.testing.synthetic_traces

clean:
	rm -rf $(VENV) $(DEMO) $(LAB) test-artifacts docs/_build docs/examples docs/generated docs/api.rst

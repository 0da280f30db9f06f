# Everything runs in .venv, made on first use from the repository's own files.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-test
RUFF := $(PY) -m ruff check --line-length 110 --target-version py311 --select E,F,W,I,UP,B

.PHONY: install test lint demo bench sample clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): setup.cfg pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e ".[test,fast]"
	touch $(STAMP)

install: $(STAMP)

lint: install
	$(RUFF) orq_nb tests benchmarks

test: install lint
	$(PY) -m pytest

demo: install
	$(PY) -m orq_nb.demo

bench: install
	$(PY) benchmarks/bench_load.py
	$(PY) benchmarks/bench_fetch.py
	$(PY) benchmarks/bench_explore.py

sample: install
	$(PY) -m orq_nb.synthetic

clean:
	rm -rf $(VENV) demo_output benchmarks/out

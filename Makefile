# Two commands do all the set-up (see README.md):
#   make book   install, execute the chapters whose inputs changed (smoke profile on CPU), build the HTML
#   make test   install, run the test suite (it executes every chapter in the smoke profile)
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.rgsym-installed
# `make book PROFILE=smoke` (or paper) executes every chapter whose notebook was not made with that
# profile; left empty, current notebooks are reused whatever their profile and the rest run in smoke.
PROFILE ?=

.PHONY: book chapters html test test-fast bench clean

book: chapters html

chapters: $(STAMP)
	$(BIN)/python -m rgsym.pipeline run $(if $(PROFILE),-p profile $(PROFILE) --replace)

html: $(STAMP)
	. $(BIN)/activate && jupyter-book build book/

test: $(STAMP)
	$(BIN)/python -m pytest

test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow"

bench: $(STAMP)
	for s in benchmarks/bench_*.py; do $(BIN)/python $$s || exit 1; done

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.txt
	$(BIN)/python -m pip install -q -e ".[test]"
	touch $(STAMP)

clean:
	rm -rf _build book/_build

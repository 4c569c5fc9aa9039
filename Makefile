# Swapless Page Migration workbook.  Every target sets up what it needs, so each one
# works on a fresh clone:   make book | make test | make lab | make bench | make conformance
#
#   setup        .venv (python3.11 -m venv) + requirements.txt, re-installed only when
#                requirements.txt or pyproject.toml changed (stamp: .venv/.installed)
#   book         vendored JS (npm, cached) + jupyter-book build -W -n --keep-going -> _build/html
#   lite         the in-browser site (JupyterLite + Pyodide, no CDN) -> _build/html/lite; `book` runs it
#   test         model tests, notebooks (nbval), then builds the book and checks the
#                built HTML (offline, no CDN) and a real headless Chromium on it
#   lab          JupyterLab on the repo
#   outputs      re-run the book's notebooks in place (refresh the outputs nbval compares)
#   exercises    generate the learner notebooks exercises/exN-*.ipynb from exercises/source/
#                (solutions -> stubs), then: they run (nbval-lax) and the grader's tests pass
#   grade        grade SUBMISSIONS (notebooks or folders of them) into _grade/: a Gradescope
#                results.json per submission, summary.csv and summary.md (JOBS workers)
#   autograder   _grade/autograder.zip for Gradescope (CASES=hidden.json to ship hidden cases)
#   bench        bench/run.py            conformance   conformance/lab.py
#   bench-lite   bench/lite.py: the lite site's start-up and check times in headless Chromium;
#                bench/lite-kernel.mjs: the kernel start's Python steps under Node (CPU time)
#   clean        removes _build, .venv, caches and the vendored JS

SHELL      := /bin/bash
PYTHON     ?= python3.11
VENV       := .venv
BIN        := $(VENV)/bin
STAMP      := $(VENV)/.installed
VENDOR     := book/_static/vendor/.stamp
SANITIZE   := tests/nbval_sanitize.cfg
# This machine's pip config names local wheel folders that may not exist: pip then warns
# once per package.  Harmless; filtered so that real errors stay visible.
PIP_NOISE  := ^WARNING: Location .* is ignored: it is neither a file nor a directory
CI         ?=
export CI
# Kernels started by jupyter-book, nbval and lab must see the venv's python and jupyter.
export PATH := $(abspath $(BIN)):$(PATH)

# The book, its stored outputs and the notebook tests hold the static form of the steppers
# (every frame in the page, stepped by book/_static/workbook.js); without this variable,
# in JupyterLab or JupyterLite, refmodel.render.show() gives the live ipywidgets form.
book outputs test-notebooks: export WORKBOOK_STATIC := 1

# Notebooks: book chapters are checked strictly against their stored outputs,
# exercises only for running (their outputs are kept cleared).
BOOK_NOTEBOOKS     = $(shell find book -name '*.ipynb' -not -path '*/.ipynb_checkpoints/*' -not -path 'book/_static/*' | sort)
# (exercises/source/ holds the solutions: the learner notebooks are made from them.)
EXERCISE_NOTEBOOKS = $(shell find exercises -name '*.ipynb' -not -path '*/.ipynb_checkpoints/*' -not -path 'exercises/source/*' 2>/dev/null | sort)

.PHONY: all setup book vendor outputs test test-model test-notebooks test-built-book lab bench conformance clean exercises grade autograder lite bench-lite

all: book

setup: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	set -o pipefail; $(BIN)/python -m pip install --quiet --upgrade pip 2>&1 | { grep -v "$(PIP_NOISE)" || true; }
	set -o pipefail; $(BIN)/python -m pip install --quiet -r requirements.txt 2>&1 | { grep -v "$(PIP_NOISE)" || true; }
	$(BIN)/python -m pip check
	@touch $@

vendor: $(VENDOR)

$(VENDOR): scripts/vendor-js.sh
	bash scripts/vendor-js.sh
	@touch $@

# What `jupyter-book build` prints that says nothing when all is well: Sphinx's progress
# per file, the settings dumps of myst and myst-nb, a line per notebook taken from the
# cache, each kernel's warning that it talks over local TCP, Jupyter Book's banner.
# Filtered out; warnings (which -W turns into errors), errors and one line per executed
# notebook (the progress of a cold build) stay.
BOOK_NOISE := Kernel is running over TCP without encryption|Using cached notebook:|reading sources\.\.\.|writing output\.\.\.|myst(-nb)? v[0-9.]+:|Cached executed notebook|Executing notebook using|Excluded from execution by pattern|Using jupyter-cache at|sphinx-multitoc-numbering|loading translations|making output directory|building \[(mo|html)\]|copying (static|extra|assets|images|downloadable)|dumping (search index|object inventory)|generating indices|writing additional pages|looking for now-outdated|pickling environment|checking consistency|preparing documents|updating environment|loading pickled environment|^\[etoc\]|Running (Jupyter-Book|Sphinx)|(Source Folder|Config Path|Output Path):|={20}|Finished generating HTML|Your book.s HTML pages are here|_build/html/|You can look at your book|Or paste this line|The HTML pages are in|^\s*$$

# The executed chapters are cached by their code alone (_build/.jupyter_cache), and Sphinx
# re-reads only the pages whose source changed (_build/.doctrees): a change to the model or
# its data would leave the built pages showing the old outputs.  Both are dropped whenever
# anything under refmodel/ is newer than this stamp.
MODEL_FILES := $(shell find refmodel -type f \( -name '*.py' -o -name '*.json' \) -not -path '*/__pycache__/*' 2>/dev/null)
MODEL_STAMP := _build/.model-stamp
$(MODEL_STAMP): $(MODEL_FILES)
	@if [ -d _build/.jupyter_cache ]; then echo "book: the model changed, so every chapter runs again"; \
	  rm -rf _build/.jupyter_cache _build/.doctrees; fi
	@mkdir -p _build && touch $@

book: setup vendor $(MODEL_STAMP)
	@echo "book: jupyter-book build (one line per notebook it executes; warnings are errors)"
	@set -o pipefail; $(BIN)/jupyter-book build -W -n --keep-going . 2>&1 | { grep -v -E "$(BOOK_NOISE)" || true; }
	@$(MAKE) --no-print-directory lite
	@echo "book: open _build/html/index.html"

# The book's notebooks runnable in the browser: scripts/build-lite.py (Pyodide from npm via
# vendor, wheels from PyPI, refmodel built from this checkout) -> _build/html/lite
PYODIDE    := lite/vendor/pyodide/package.json
$(PYODIDE): scripts/vendor-js.sh
	bash scripts/vendor-js.sh

lite: setup vendor $(PYODIDE)
	$(BIN)/python scripts/build-lite.py

# `make test` builds the book itself (step 3), because the last checks read _build/html.
test: setup
	@$(MAKE) --no-print-directory test-model
	@$(MAKE) --no-print-directory test-notebooks
	@$(MAKE) --no-print-directory book
	@$(MAKE) --no-print-directory test-built-book

# 1. Everything in tests/ (and the lab's host-side tests in conformance/, which never boot
#    QEMU) that does not need the built book.  Exit code 5 means
#    "no test collected", which is not a failure while tests/ is still being filled.
test-model: setup
	$(BIN)/pytest -m "not book" tests conformance; rc=$$?; if [ $$rc -eq 5 ]; then echo "test-model: no book-independent tests yet"; rc=0; fi; exit $$rc

# 2. Notebooks: chapters strictly against stored outputs, exercises only for running.
test-notebooks: setup
	$(if $(BOOK_NOTEBOOKS),$(BIN)/pytest --nbval --nbval-sanitize-with $(SANITIZE) $(BOOK_NOTEBOOKS),@echo "test-notebooks: no notebooks under book/")
	$(if $(EXERCISE_NOTEBOOKS),$(BIN)/pytest --nbval-lax $(EXERCISE_NOTEBOOKS),@echo "test-notebooks: no notebooks under exercises/")

# 4. The built HTML: no external scripts or stylesheets, then headless Chromium.
test-built-book: setup
	$(BIN)/pytest -m book tests

outputs: setup
	$(BIN)/python scripts/execute-notebooks.py $(BOOK_NOTEBOOKS)

exercises: setup
	$(BIN)/python -m refmodel.grading.generate
	$(BIN)/pytest --nbval-lax exercises/*.ipynb     # (a shell glob: the notebooks just made)
	$(BIN)/pytest tests/grading

# make grade SUBMISSIONS="subs/alice subs/bob" [CASES=hidden.json] [JOBS=2]
#   (default: the shipped stubs, which score 0)
SUBMISSIONS ?= exercises
JOBS        ?= 2
CASES       ?=
grade: setup
	$(BIN)/python -m refmodel.grade $(SUBMISSIONS) --out _grade -j $(JOBS) $(if $(CASES),--cases $(CASES))

# make autograder [CASES=hidden.json] -> _grade/autograder.zip (Gradescope's setup.sh, run_autograder)
autograder: setup
	$(BIN)/python -m refmodel.grading.autograder --out _grade/autograder.zip $(if $(CASES),--cases $(CASES))

# Jupyter refuses to run as root unless told; containers and CI images often are root.
lab: setup
	$(BIN)/jupyter lab $(if $(filter 0,$(shell id -u)),--allow-root)

bench: setup
	$(BIN)/python bench/run.py

conformance: setup
	$(BIN)/python conformance/lab.py

bench-lite: setup
	@test -f _build/html/lite/index.html || $(MAKE) --no-print-directory book
	$(BIN)/python bench/lite.py
	node bench/lite-kernel.mjs _build/html/lite

clean:
	rm -rf _build _grade $(VENV) .cache book/_static/vendor .pytest_cache .hypothesis
	rm -rf lite/vendor
	find . -name __pycache__ -type d -prune -not -path './.git/*' -exec rm -rf {} +
	rm -rf *.egg-info

# Two commands do all set-up on a fresh machine with only Python 3.11: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test setup demo bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# torch first and pinned, so no later requirement swaps in a CUDA build.
	$(PY) -m pip install -q torch==2.13.0 torchvision==0.28.0
	$(PY) -m pip install -q -e ".[all,test]"
	# pyiqa's metric code without its heavy declared dependencies (see the iqa extra)
	$(PY) -m pip install -q --no-deps pyiqa==0.1.16 facexlib==0.3.0
	touch $(STAMP)

setup: $(STAMP)

run: $(STAMP)
	$(PY) -m dataset_forge app assets/demo

test: $(STAMP)
	$(PY) -m pytest -q -p no:cacheprovider

demo: $(STAMP)
	$(PY) assets/make_demo.py assets/demo

bench: $(STAMP)
	$(PY) benchmarks/bench_parallel.py

clean:
	rm -rf $(VENV) build *.egg-info

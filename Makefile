# Two entry points for people: `make demo` and `make test`. Both (re)use .venv.
PYTHON ?= python3.11
# torch's CPU-only build (a few hundred MB, not the multi-GB CUDA one); for a GPU:
# make TORCH_INDEX=https://download.pytorch.org/whl/cu128 (any index serving torch 2.13.0)
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test venv benchmarks docs clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip "setuptools<81" wheel
	$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install -q --index-url $(TORCH_INDEX) torch==2.13.0
	$(PY) -m pip install -q -e ".[all]"
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	HF_HUB_OFFLINE=1 $(VENV)/bin/bci-valence demo

test: $(STAMP)
	QT_QPA_PLATFORM=offscreen HF_HUB_OFFLINE=1 $(PY) -m pytest -q -ra

benchmarks: $(STAMP)
	$(PY) benchmarks/features.py

# docs/results.md, docs/benchmarks.md, docs/paper-claims.md and the README's figures,
# from the JSON in docs/data/ (record one with: $(PY) -m offline.docs record NAME -- CMD ...)
docs: $(STAMP)
	$(PY) -m offline.docs

clean:
	rm -rf $(VENV) build *.egg-info

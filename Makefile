# Two entry points for people: `make demo` and `make test`. Both (re)use .venv.
PYTHON ?= python3.11
# torch's CPU-only build (a few hundred MB, not the multi-GB CUDA one); for a GPU:
# make TORCH_INDEX=https://download.pytorch.org/whl/cu128 (any index serving TORCH_VERSION).
# pyproject.toml accepts any torch 2.x from 2.4 on; a torch already in .venv is kept.
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu
TORCH_VERSION ?= 2.13.0
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
TORCH_LOG := $(VENV)/torch-install.log

# torch from TORCH_INDEX when that index answers (a 10-s probe first, so an unreachable
# index costs no page of pip's retry warnings); else one line says so and torch comes from
# pip's usual sources (on Linux, PyPI serves the CUDA build).
TORCH_INDEX_ANSWERS = $(PY) -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=10)" \
	"$(TORCH_INDEX:%/=%)/torch/" >/dev/null 2>&1
INSTALL_TORCH = if $(TORCH_INDEX_ANSWERS); then \
	  $(PY) -m pip install -q --index-url $(TORCH_INDEX) torch==$(TORCH_VERSION); \
	else \
	  echo "PyTorch's index $(TORCH_INDEX) cannot be reached: torch comes from the default package index instead"; \
	  $(PY) -m pip install -q --retries 1 --timeout 30 torch==$(TORCH_VERSION) >$(TORCH_LOG) 2>&1 \
	    || echo "no torch $(TORCH_VERSION) there either (see $(TORCH_LOG)): pip picks a torch 2.x with the project"; \
	fi

.PHONY: demo test venv benchmarks docs clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip "setuptools<81" wheel
	@$(PY) -c "import torch" 2>/dev/null || { $(INSTALL_TORCH); }
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

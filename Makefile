# Two entry points for a fresh machine: `make quickstart` (main job) and `make test`.
# Both create .venv once; the stamp file makes a second run skip the install.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: quickstart test lint bench gpu-check release-model clean-venv

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# CPU torch 2.13.0 only where no torch is installed yet (a user's CUDA build is kept).
	$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

quickstart: $(STAMP)
	$(VENV)/bin/vdt-physion run configs/quickstart.yaml --out runs/quickstart

test: $(STAMP)
	$(PY) -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# On a GPU machine: throughput of VDT-S/2 and L/2 (eager / compiled, bf16) and a 2-minute run of the real stages.
gpu-check: $(STAMP)
	$(PY) benchmarks/gpu_check.py --json runs/gpu_check.json

# The shipped pretrained VDT (models/), remade from its two configs (3000 steps of residual_v from scratch, then 3000
# more on fresh trials); one thread: the same bytes on any machine size. About 95 min here.
RELEASE_STAGE1 := runs/release/vdt_ti4_physion32_stage1.pt
release-model: $(STAMP)
	OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $(VENV)/bin/vdt-physion release-model configs/release/vdt_ti4_physion32.yaml \
		--file $(RELEASE_STAGE1)
	OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $(VENV)/bin/vdt-physion release-model \
		configs/release/vdt_ti4_physion32_continued.yaml --file models/vdt_ti4_physion32.pt

bench: $(STAMP)
	$(PY) benchmarks/train_step.py
	$(PY) benchmarks/sample.py
	$(PY) benchmarks/rollout.py

clean-venv:
	rm -rf $(VENV)

# Two commands on a fresh clone: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: demo test lint bench eval model clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(DEV_STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP) $@

demo: $(STAMP)
	$(BIN)/cm-coach review --engine offline --platform x \
	  --context "Un siège sans dossier dans un avion, comment cela peut-il être autorisé ?" \
	  "Avant que nous puissions enquêter sur le sujet, je vous demande de supprimer la photographie et de nous donner plus d'informations en messages privés."

test: $(DEV_STAMP)
	$(BIN)/ruff check bot tests bench
	$(BIN)/python -m pytest

lint: $(DEV_STAMP)
	$(BIN)/ruff check bot tests bench

bench: $(DEV_STAMP)
	$(BIN)/python bench/run.py

eval: $(STAMP)
	$(BIN)/cm-coach eval --tuning --format text | sed -n 1,3p
	$(BIN)/cm-coach eval --held-back
	$(BIN)/cm-coach eval corpus/written/*.jsonl --held-back | sed -n 1,2p

# Retrain the learned layer (bot/review/model/) on the tuning split of corpus/ and of
# corpus/written/, the rule packs' examples and the drafts of tests/test_generalisation.py;
# the held-back thirds are never read.
model: $(DEV_STAMP)
	$(BIN)/python -m pip install --quiet -e '.[train]'
	$(BIN)/python tools/train_risk_model.py --no-embeddings

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache

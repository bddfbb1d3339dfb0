# Newswire: `make run` and `make test` set everything up on a fresh machine.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed
JARS    = .cache/kafka/.jars-fetched
DATASET ?= ../shared/datasets/article-extraction-benchmark
PYTEST  = $(BIN)/python -m pytest

.PHONY: help venv jars run test test-unit test-agents test-integration test-e2e lint schemas clean

help:
	@echo "make run    - broker + seed server + the four services, showing stories (Ctrl-C stops)"
	@echo "make test   - the whole test suite (starts its own Kafka broker)"
	@echo "make lint   - ruff + mypy"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

# Kafka's jars from Maven Central, fetched once into .cache/ (skipped when an
# external cluster is configured).
$(JARS): deploy/kafka/pom.xml | $(STAMP)
	@if [ -z "$$NEWSWIRE_KAFKA_BOOTSTRAP" ]; then $(BIN)/newswire broker fetch; fi
	@mkdir -p $(dir $(JARS)) && touch $(JARS)

jars: $(JARS)

run: venv jars
	$(BIN)/newswire run

test: venv jars
	$(PYTEST)

test-unit: venv
	$(PYTEST) -m unit

test-agents: venv
	$(PYTEST) -m agents

test-integration: venv jars
	$(PYTEST) -m integration

test-e2e: venv jars
	$(PYTEST) -m e2e

lint: venv
	$(BIN)/ruff check services tests
	$(BIN)/mypy
	$(BIN)/newswire schemas

schemas: venv
	$(BIN)/newswire schemas --write

clean:
	rm -rf .cache .pytest_cache .mypy_cache .ruff_cache

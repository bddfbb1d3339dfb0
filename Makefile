# Newswire: `make run` and `make test` set everything up on a fresh machine.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed
# Runtime + dev, hashed (`make lock`); the image installs requirements/runtime.txt.
LOCK    = requirements/dev.txt
UV_VENV = .cache/uv
JARS    = .cache/kafka/.jars-fetched
DATASETS ?= ../shared/datasets
RESULTS  ?= results
PYTEST  = $(BIN)/python -m pytest
TOOLS   = .cache/bin
HELM_VERSION = v3.19.0
GO_DIR  ?= .cache/go
RUNTEST = PATH="$(abspath $(TOOLS)):$$PATH" $(PYTEST)

.PHONY: help venv lock jars tools prometheus run test-deploy test test-unit test-agents test-integration test-e2e lint schemas clean \
	check-feeds bench-fetcher eval-extract bench-cleaner bench-enricher eval-dedup bench-dedup bench-dedup-agent \
	bench-backfill fuzz audit chaos soak bench test-image libcompare settings-doc

help:
	@echo "make run    - broker + seed server + the four services, showing stories (Ctrl-C stops)"
	@echo "make test   - the whole test suite (starts its own Kafka broker)"
	@echo "make lint   - ruff + mypy"

# Every package from the hashed lock (runtime + dev, pip and setuptools included), wheels
# only so no build pulls in unpinned tools; --no-deps because the lock is the whole closure
# (pip's resolver would otherwise take a dependency's lxml[html_clean] as unpinned), and
# pip check proves it is. Then newswire itself, built with the locked setuptools.
$(STAMP): pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes --only-binary :all: --no-deps -r $(LOCK)
	$(BIN)/pip check
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

venv: $(STAMP)

# The locks, regenerated after a change to pyproject.toml or requirements/*.in: one
# resolution for CPython 3.11 on Linux x86_64 (this machine, CI, the image), uv from a
# hashed lock of its own in .cache/uv, the model wheels' hashes narrowed to models.in.
UV_COMPILE = $(UV_VENV)/bin/uv pip compile --quiet --generate-hashes \
	--python-version 3.11 --python-platform x86_64-manylinux_2_28
REQ_IN = pyproject.toml requirements/build.in requirements/models.in
lock:
	$(PYTHON) -m venv $(UV_VENV)
	$(UV_VENV)/bin/pip install --quiet --require-hashes --only-binary :all: -r requirements/uv.txt
	$(UV_COMPILE) $(REQ_IN) --extra dev -o requirements/dev.txt
	$(PYTHON) -m services.devtools.lockfile pin requirements/dev.txt requirements/models.in
	$(UV_COMPILE) $(REQ_IN) -c requirements/dev.txt -o requirements/runtime.txt
	$(PYTHON) -m services.devtools.lockfile pin requirements/runtime.txt requirements/models.in
	$(UV_COMPILE) requirements/fetcher.in requirements/build.in -c requirements/runtime.txt -o requirements/fetcher.txt
	$(UV_COMPILE) requirements/uv.in -o requirements/uv.txt
	$(UV_COMPILE) requirements/pip-audit.in -o requirements/pip-audit.txt
	$(UV_COMPILE) requirements/libcompare.in -o requirements/libcompare.txt

# Kafka's jars from Maven Central, fetched once into .cache/ (skipped when an
# external cluster is configured).
$(JARS): deploy/kafka/pom.xml | $(STAMP)
	@if [ -z "$$NEWSWIRE_KAFKA_BOOTSTRAP" ]; then $(BIN)/newswire broker fetch; fi
	@mkdir -p $(dir $(JARS)) && touch $(JARS)

jars: $(JARS)

# Tools the deploy checks use: helm (built with Go from the module proxy) and
# promtool/prometheus (Debian's package; installed when missing and we are root).
# Helm needs Go >= 1.24: `.ci/run go` fetches one into $(GO_DIR) when the installed Go
# is older (Debian 12's is 1.19) or missing, and that one comes first here.
$(TOOLS)/helm:
	@mkdir -p $(TOOLS)
	GO_DIR="$(abspath $(GO_DIR))" ./.ci/run go
	PATH="$(abspath $(GO_DIR))/bin:$$PATH" GOBIN=$(abspath $(TOOLS)) GOFLAGS=-mod=mod \
		go install helm.sh/helm/v3/cmd/helm@$(HELM_VERSION)

prometheus:
	@command -v promtool >/dev/null && command -v prometheus >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus; \
	  else echo "install Debian's prometheus package (promtool, prometheus)"; exit 1; fi; }

tools: $(TOOLS)/helm prometheus

run: venv jars
	$(BIN)/newswire run

test: venv jars tools
	$(RUNTEST)

test-unit: venv tools
	$(RUNTEST) -m unit

test-agents: venv
	$(RUNTEST) -m agents

test-integration: venv jars
	$(RUNTEST) -m integration

test-deploy: venv tools
	$(RUNTEST) tests/unit/deploy

test-e2e: venv jars tools
	$(RUNTEST) -m e2e

lint: venv
	$(BIN)/ruff check services tests
	$(BIN)/mypy
	$(BIN)/newswire schemas
	$(BIN)/hadolint --failure-threshold style deploy/docker/Dockerfile

# Every feed of feedparser's test corpus through the fetcher, served from 127.0.0.1.
check-feeds: venv
	@mkdir -p $(RESULTS)
	$(BIN)/python -m services.devtools.checkfeeds $(or $(DATASET),$(DATASETS)/feedparser-tests) \
		--out $(RESULTS)/check-feeds.json

# Feed polls per second through the fetcher's code vs a bare aiohttp loop, same run.
bench-fetcher: venv
	@mkdir -p $(RESULTS)
	$(BIN)/python -m services.devtools.benchfetcher --out $(RESULTS)/bench-fetcher.json

# Extraction quality (P/R/F1) and speed: our cleaner vs bare trafilatura, same pages, same run.
eval-extract: venv
	@mkdir -p $(RESULTS)
	$(BIN)/python -m services.devtools.evalextract \
		$(or $(DATASET),$(DATASETS)) --out $(RESULTS)/eval-extract.json

# Cleaner speed and peak memory (the agent's handle_page with its process pool) vs bare
# trafilatura, same pages, same run.
bench-cleaner: venv
	@mkdir -p $(RESULTS)
	$(BIN)/python -m services.devtools.benchcleaner \
		$(or $(DATASET),$(DATASETS)/article-extraction-benchmark) --out $(RESULTS)/bench-cleaner.json

# Enricher speed on the benchmark's gold article bodies: articles/s per core, ms per enricher.
bench-enricher: venv
	@mkdir -p $(RESULTS)
	$(BIN)/python -m services.devtools.benchenricher \
		$(or $(DATASET),$(DATASETS)/article-extraction-benchmark) --out $(RESULTS)/bench-enricher.json

# newswire backfill into a local broker vs a bare fastwarc read of the same WARC (target >= 0.8x).
bench-backfill: venv jars
	@mkdir -p $(RESULTS)
	$(BIN)/python -m services.devtools.benchbackfill \
		$(or $(DATASET),$(DATASETS)/article-extraction-benchmark) --out $(RESULTS)/bench-backfill.json

# Dedup quality: near-duplicate grouping (extraction benchmark variants) and story
# clustering (ECB+ dev), pairwise and B-cubed P/R/F1.
eval-dedup: venv
	@mkdir -p $(RESULTS)
	$(BIN)/python -m services.devtools.evaldedup $(or $(DATASET_DIR),$(DATASETS)) \
		--out $(RESULTS)/eval-dedup.json

# Dedup speed (near-duplicate path and whole engine, articles/s) and index bytes per article.
bench-dedup: venv
	@mkdir -p $(RESULTS)
	$(BIN)/python -m services.devtools.benchdedup \
		$(or $(DATASET),$(DATASETS)/article-extraction-benchmark) --out $(RESULTS)/bench-dedup.json

# Dedup through its workers on a local broker (all hops, changelogs): new-heavy and
# duplicate-heavy mixes timed apart, worker/broker CPU and records per article, every
# story record checked against newswire cluster per decision sequence (verdicts_match).
# By default 1 worker/1 sequence and 2 workers/2 sequences (scope site), each on a fresh
# broker, ROUNDS (2) times in alternating order: sequences_speedup. WORKERS=/SEQUENCES=
# run one configuration alone.
bench-dedup-agent: venv jars
	@mkdir -p $(RESULTS)
	$(BIN)/python -m services.devtools.benchdedupagent $(or $(DATASET_DIR),$(DATASETS)) \
		$(if $(WORKERS),--workers $(WORKERS)) $(if $(SEQUENCES),--sequences $(SEQUENCES)) \
		--rounds $(or $(ROUNDS),2) --out $(RESULTS)/bench-dedup-agent.json

# The whole pipeline end to end: broker, a loopback web of the datasets' pages, the four
# services as processes; articles/s, latency at half load, CPU and memory per stage, 1 vs 2
# workers, the bare libraries on the same pages. Writes results/bench-<date>.json and
# renders docs/performance.md. BENCH_ARGS='--pages 60 --seconds 30' for a quick check.
bench: venv jars
	@mkdir -p $(RESULTS)
	$(BIN)/python -m services.devtools.benchpipeline --datasets $(or $(DATASET_DIR),$(DATASETS)) \
		--out $(RESULTS)/bench-$$(date -u +%Y-%m-%d).json --doc docs/performance.md \
		--fetcher-results $(RESULTS)/bench-fetcher.json $(BENCH_ARGS)

# Fuzzing: atheris + hypothesis on feed parsing, charset decoding, extraction, enrichment
# and dedup/record decoding; crashing inputs under results/fuzz-crashes/<target>/.
# CASES=N for fewer cases per target (the full run takes hours on two cores).
fuzz: venv
	@mkdir -p $(RESULTS)
	$(BIN)/python -m services.devtools.fuzz --cases $(or $(CASES),100000) --target all \
		--jobs 2 --out $(RESULTS)/fuzz.json

# Chaos: the datasets' pages plus syndicated copies on 20 loopback hosts through the four
# services twice on fresh brokers: undisturbed, then each service SIGKILLed 5 times, the
# broker paused 30 s and later killed and restarted on its data; newswire.stories compared
# with the ground truth and the undisturbed run. CHAOS_ARGS: --sigterm, --guarantee
# exactly_once, --pages N, --seed N.
chaos: venv jars
	@mkdir -p $(RESULTS)
	$(BIN)/python -m services.devtools.chaos --datasets $(or $(DATASET_DIR),$(DATASETS)) \
		--out $(RESULTS)/chaos.json $(CHAOS_ARGS)

# Soak and burst: MINUTES (30) at RATE (2) articles/s through the four services with each
# process's memory, open files and asyncio tasks sampled; then BURST (10000) pages at once.
soak: venv jars
	@mkdir -p $(RESULTS)
	$(BIN)/python -m services.devtools.soak --datasets $(or $(DATASET_DIR),$(DATASETS)) \
		--minutes $(or $(MINUTES),30) --rate $(or $(RATE),2) --burst $(or $(BURST),10000) \
		--out $(RESULTS)/soak.json

AUDIT_VENV = .cache/pip-audit

# pip-audit in a virtualenv of its own (its dependencies stay out of the audited set),
# from its own hashed lock. --no-deps: the lock is the whole closure; without it pip
# resolved pip-audit's "CacheControl[filecache]>=0.13.0" against the index once a newer
# CacheControl was published, and refused it unpinned (pip check proves the closure).
$(AUDIT_VENV)/.installed: requirements/pip-audit.txt
	$(PYTHON) -m venv $(AUDIT_VENV)
	$(AUDIT_VENV)/bin/pip install --quiet --require-hashes --only-binary :all: --no-deps \
		-r requirements/pip-audit.txt
	$(AUDIT_VENV)/bin/pip check
	touch $@

# Known vulnerabilities in the installed packages (pip-audit). A package it cannot look
# up is counted as skipped, not clean; STRICT=1 fails on skipped packages too.
audit: venv $(AUDIT_VENV)/.installed
	@mkdir -p $(RESULTS)
	$(BIN)/python -m services.devtools.audit --pip-audit $(AUDIT_VENV)/bin/pip-audit \
		--out $(RESULTS)/audit.json $(if $(STRICT),--strict)

# Our robots.txt matcher, WHATWG charset labels and URL canonicaliser beside protego, w3lib
# and courlan on the same cases (why each of ours is kept: their module docstrings). The two
# libraries come from their own hashed lock into .cache/libcompare, outside the services'
# dependencies. Writes results/libcompare.json and the case-by-case results/libcompare.md.
LIBCOMPARE_DIR = .cache/libcompare
libcompare: venv
	@mkdir -p $(RESULTS)
	$(BIN)/pip install --quiet --require-hashes --only-binary :all: --no-deps --upgrade \
		--target $(LIBCOMPARE_DIR) -r requirements/libcompare.txt
	PYTHONPATH=$(LIBCOMPARE_DIR) $(BIN)/python -m services.devtools.libcompare \
		--out $(RESULTS)/libcompare.json --table $(RESULTS)/libcompare.md

# The image built with podman and run for real: deploy/docker/Dockerfile (the one image and
# the slim fetcher target) on a Debian-built stand-in base cached in .cache/image, the four
# services from it against a local broker (read-only root, UID 10001); installs podman
# with apt-get when root. Writes results/test-image.json; its last line is that JSON.
test-image: venv jars
	@mkdir -p $(RESULTS)
	$(BIN)/python -m services.devtools.imagetest --out $(RESULTS)/test-image.json

schemas: venv
	$(BIN)/newswire schemas --write

# docs/settings.md from services/common/settings.py (a unit test fails when it is stale).
settings-doc: venv
	$(BIN)/python -m services.devtools.settingsdoc

clean:
	rm -rf .cache .pytest_cache .mypy_cache .ruff_cache

# Tasks of PulseCheckpoint. Deno tasks are defined in deno.json; this file
# keeps the seed's target names. `make help` lists them.

DENO ?= deno
PYTHON ?= python3
PIP ?= pip
COMPOSE ?= docker compose

# Permission flags of the tests, as in `deno task test`.
TEST_FLAGS := --no-prompt --allow-run --allow-net --allow-env --allow-sys --allow-read --allow-write

.DEFAULT_GOAL := help

.PHONY: help dev-up dev-down build-runtime install-sdk run-runtime run-example \
	test-runtime test-sdk test-integration test generate-certs lint

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "} {printf "  %-18s %s\n", $$1, $$2}'

dev-up: ## Start MinIO, the runtime (S3 backend), Prometheus and Grafana
	$(COMPOSE) up -d --build

dev-down: ## Stop the local stack (volumes are kept; add -v to drop them)
	$(COMPOSE) down

build-runtime: ## Compile the runtime to dist/pulse-runtime
	$(DENO) task compile

install-sdk: ## Install the Python SDK
	$(PIP) install ./sdk/python

run-runtime: ## Run the runtime from source (config.toml, embedded store in ./data)
	$(DENO) task start

run-example: ## Run the quickstart example against a running runtime
	$(DENO) task example

test-runtime: ## Runtime unit and deployment tests (not the integration tests)
	$(DENO) test $(TEST_FLAGS) --ignore=tests/integration/ tests/

test-sdk: ## Python SDK tests
	$(PYTHON) -m pytest sdk/python/tests

test-integration: ## End-to-end tests: the runtime as a real process
	$(DENO) test $(TEST_FLAGS) tests/integration/

test: ## Every test: runtime, integration and SDK
	$(DENO) task test
	$(MAKE) test-sdk

generate-certs: ## Self-signed TLS certificate and key for PULSE_TLS_CERT/PULSE_TLS_KEY
	$(DENO) task certs

lint: ## yamllint and shellcheck over the repository
	bash scripts/lint_files.sh

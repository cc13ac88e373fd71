# Developer / CI entry points for the waldur.keycloak collection.
#   make test      everything: venv, unit, Keycloak, integration, reliability, molecule, sanity
#   make stress    the heavy reliability tests (RELIABILITY.md); Keycloak must be up
#   make demo      start Keycloak and run scripts/demo.sh
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c

PYTHON ?= python3
VENV ?= .venv
KEYCLOAK_PORT ?= 18080
PYTEST_ARGS ?=

export KEYCLOAK_PORT

COLLECTIONS_DIR := $(abspath $(VENV))/collections
COLLECTION_LINK := $(COLLECTIONS_DIR)/ansible_collections/waldur/keycloak
VENV_STAMP := $(VENV)/.requirements.stamp
KEYCLOAK := scripts/keycloak.sh

# Environment in which tests see the collection as ansible_collections.waldur.keycloak.
TEST_ENV := PATH="$(abspath $(VENV))/bin:$$PATH" \
	PYTHONPATH="$(COLLECTIONS_DIR)$${PYTHONPATH:+:$$PYTHONPATH}" \
	ANSIBLE_COLLECTIONS_PATH="$(COLLECTIONS_DIR)"

.PHONY: help venv collection keycloak-up keycloak-down keycloak-status unit integration reliability stress molecule sanity test demo clean

help:
	@echo "targets: venv collection keycloak-up keycloak-down keycloak-status unit integration reliability stress molecule sanity test demo clean"

venv: $(VENV_STAMP)

$(VENV_STAMP): requirements.txt requirements-test.txt
	@start=$$(date +%s); \
	if [ ! -x "$(VENV)/bin/python" ]; then $(PYTHON) -m venv "$(VENV)"; fi; \
	"$(VENV)/bin/python" -m pip install -q --disable-pip-version-check -U pip; \
	"$(VENV)/bin/python" -m pip install -q --disable-pip-version-check -r requirements-test.txt; \
	touch "$@"; \
	echo "venv ready in $$(( $$(date +%s) - start ))s"

collection: venv
	@mkdir -p "$(dir $(COLLECTION_LINK))"
	@ln -sfn "$(CURDIR)" "$(COLLECTION_LINK)"
	@echo "collection linked: $(COLLECTION_LINK) -> $(CURDIR)"

keycloak-up:
	@$(KEYCLOAK) up

keycloak-down:
	@$(KEYCLOAK) down

keycloak-status:
	@$(KEYCLOAK) status

unit: collection
	$(TEST_ENV) "$(VENV)/bin/pytest" tests/unit -q $(PYTEST_ARGS)

integration: collection
	@$(KEYCLOAK) status >/dev/null || { echo "Keycloak is not running: run 'make keycloak-up' first" >&2; exit 1; }
	eval "$$($(KEYCLOAK) env)"; \
	$(TEST_ENV) "$(VENV)/bin/pytest" tests/integration -q $(PYTEST_ARGS)

# Reliability and security tests (tests/reliability; figures in RELIABILITY.md), against the running Keycloak:
#   make reliability  the light ones, a stage of `make test`: faults on the wire, concurrency, short tokens,
#                     hostile input, secrets, least privilege
#   make stress       the heavy ones (pytest marker `stress`): kill -9 and TLS on a private Keycloak of their
#                     own (free ports, own state dir; the shared one is never stopped), 20 and 24 writers,
#                     a run of over a minute on 5 s tokens, 100 generated stores
reliability: collection
	@$(KEYCLOAK) status >/dev/null || { echo "Keycloak is not running: run 'make keycloak-up' first" >&2; exit 1; }
	eval "$$($(KEYCLOAK) env)"; \
	$(TEST_ENV) "$(VENV)/bin/pytest" tests/reliability -q -m "not stress" $(PYTEST_ARGS)

stress: collection
	@$(KEYCLOAK) status >/dev/null || { echo "Keycloak is not running: run 'make keycloak-up' first" >&2; exit 1; }
	eval "$$($(KEYCLOAK) env)"; \
	$(TEST_ENV) "$(VENV)/bin/pytest" tests/reliability -q -m stress $(PYTEST_ARGS)

# Molecule scenario extensions/molecule/default against the same Keycloak (localhost, no containers).
molecule: collection
	@$(KEYCLOAK) status >/dev/null || { echo "Keycloak is not running: run 'make keycloak-up' first" >&2; exit 1; }
	eval "$$($(KEYCLOAK) env)"; \
	$(TEST_ENV) "$(VENV)/bin/molecule" test --scenario-name default

sanity: collection
	VENV="$(VENV)" scripts/sanity.sh

# Run every stage, time each one, always stop Keycloak, fail if any stage failed.
test:
	@failed=""; \
	stage() { \
		local name=$$1 start rc; start=$$(date +%s); \
		echo "=== [$$name] start"; \
		if $(MAKE) --no-print-directory "$$name"; then rc=0; else rc=$$?; fi; \
		echo "=== [$$name] $$( [ $$rc = 0 ] && echo OK || echo "FAILED (exit $$rc)" ) in $$(( $$(date +%s) - start ))s"; \
		[ $$rc = 0 ] || failed="$$failed $$name"; \
		return $$rc; \
	}; \
	total=$$(date +%s); \
	if stage venv && stage collection; then \
		stage unit || true; \
		if stage keycloak-up; then stage integration || true; stage reliability || true; stage molecule || true; fi; \
		stage sanity || true; \
	fi; \
	stage keycloak-down || true; \
	echo "=== total $$(( $$(date +%s) - total ))s"; \
	if [ -n "$$failed" ]; then echo "=== FAILED stages:$$failed"; exit 1; fi; \
	echo "=== all stages passed"

demo: collection keycloak-up
	eval "$$($(KEYCLOAK) env)"; \
	$(TEST_ENV) bash scripts/demo.sh

clean:
	-$(KEYCLOAK) down
	rm -rf "$(VENV)" .keycloak .pytest_cache

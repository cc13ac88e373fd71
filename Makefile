# Developer / CI entry points for the waldur.keycloak collection.
#   make test      everything: unit, Keycloak, integration, doc-plays, reliability, stress, molecule, bench-smoke, install-test, sanity,
#                  changelog, docs, lint, ee
#   make stress    the heavy reliability tests (RELIABILITY.md); Keycloak must be up
#   make demo      start Keycloak and run scripts/demo.sh
#   make bench     performance benchmark against the real Keycloak -> bench/RESULTS.md, bench/results.png
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

.PHONY: help venv collection keycloak-up keycloak-down keycloak-status unit integration doc-plays reliability stress molecule \
	sanity test demo clean bench-venv bench bench-smoke

help:
	@echo "targets: venv collection keycloak-up keycloak-down keycloak-status unit integration doc-plays reliability stress molecule sanity test demo clean bench bench-smoke"

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

# Every play of README.md and docs/*.md (tests/docs), run with ansible-playbook against the running Keycloak,
# one fresh realm per play; only placeholders (URL, password, realm, example ids) are replaced.
doc-plays: collection
	@$(KEYCLOAK) status >/dev/null || { echo "Keycloak is not running: run 'make keycloak-up' first" >&2; exit 1; }
	eval "$$($(KEYCLOAK) env)"; \
	$(TEST_ENV) "$(VENV)/bin/pytest" tests/docs -q $(PYTEST_ARGS)

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
		if stage keycloak-up; then stage integration || true; stage doc-plays || true; stage reliability || true; stage stress || true; stage molecule || true; stage bench-smoke || true; stage install-test || true; fi; \
		stage sanity || true; \
		stage changelog-lint || true; stage docs-lint || true; stage docs || true; stage lint || true; stage ee || true; \
	fi; \
	stage keycloak-down || true; \
	echo "=== total $$(( $$(date +%s) - total ))s"; \
	if [ -n "$$failed" ]; then echo "=== FAILED stages:$$failed"; exit 1; fi; \
	echo "=== all stages passed"

demo: collection keycloak-up
	@eval "$$($(KEYCLOAK) env)"; \
	$(TEST_ENV) bash scripts/demo.sh

# --- benchmark (bench/README.md) ---------------------------------------------------------
# Its own virtualenv: ansible-core 2.19 plus the `ansible` package (community.general, the
# baseline), matplotlib and pyinstrument. bench/run.py starts Keycloak (or reuses it) itself.
BENCH_VENV ?= .venv-bench
BENCH_STAMP := $(BENCH_VENV)/.requirements.stamp
BENCH_ARGS ?=

bench-venv: $(BENCH_STAMP)

$(BENCH_STAMP): bench/requirements.txt
	@start=$$(date +%s); \
	if [ ! -x "$(BENCH_VENV)/bin/python" ]; then $(PYTHON) -m venv "$(BENCH_VENV)"; fi; \
	"$(BENCH_VENV)/bin/python" -m pip install -q --disable-pip-version-check -U pip; \
	"$(BENCH_VENV)/bin/python" -m pip install -q --disable-pip-version-check -r bench/requirements.txt; \
	touch "$@"; \
	echo "bench venv ready in $$(( $$(date +%s) - start ))s"

# N=100 and 1,000 (BENCH_N=100,1000,10000 adds 10,000), 3 repeats (BENCH_REPEATS);
# writes bench/RESULTS.md, bench/results.png and bench/results.json.
bench: bench-venv
	BENCH_COMMAND="$${BENCH_N:+BENCH_N=$$BENCH_N }make bench$(if $(BENCH_ARGS), BENCH_ARGS='$(BENCH_ARGS)')" \
	"$(BENCH_VENV)/bin/python" bench/run.py $(BENCH_ARGS)

# CI smoke: N=100, one repeat, results in a temporary directory (never bench/RESULTS.md);
# exits non-zero when a request-count goal fails. Times are reported, never asserted.
bench-smoke: bench-venv
	out=$$(mktemp -d "$${TMPDIR:-/tmp}/waldur-bench.XXXXXX"); \
	BENCH_COMMAND="make bench-smoke" "$(BENCH_VENV)/bin/python" bench/run.py --smoke --out "$$out" $(BENCH_ARGS)

clean:
	-$(KEYCLOAK) down
	rm -rf "$(VENV)" "$(BENCH_VENV)" .keycloak .pytest_cache

# --- ecosystem: the built tarball, changelog, docs, lint, execution environment -------------
#   make install-test    build the tarball, check it holds only collection content, install it into an
#                        empty collections path, run waldur.keycloak.demo from there (Keycloak up)
#   make changelog       regenerate changelogs/changelog.yaml and CHANGELOG.md from the fragments
#   make changelog-lint  antsibull-changelog lint + changelog.yaml/CHANGELOG.md up to date
#   make docs            HTML docs of every module, plugin and role -> docs/build/html/index.html
#   make docs-lint       antsibull-docs lint-collection-docs --plugin-docs
#   make lint            ansible-lint (production profile): playbooks, roles, molecule, examples
#   make ee              ansible-builder create of the docs/awx.md definition, checked
.PHONY: install-test changelog changelog-lint docs docs-lint lint ee

install-test: venv
	@$(KEYCLOAK) status >/dev/null || { echo "Keycloak is not running: run 'make keycloak-up' first" >&2; exit 1; }
	eval "$$($(KEYCLOAK) env)"; \
	VENV="$(VENV)" scripts/install_test.sh

changelog: venv
	VENV="$(VENV)" scripts/changelog.sh release

changelog-lint: venv
	VENV="$(VENV)" scripts/changelog.sh lint

docs: venv
	VENV="$(VENV)" scripts/docs.sh build

docs-lint: venv
	VENV="$(VENV)" scripts/docs.sh lint

lint: collection
	VENV="$(VENV)" COLLECTIONS_DIR="$(COLLECTIONS_DIR)" scripts/lint.sh

ee: venv
	VENV="$(VENV)" scripts/ee.sh

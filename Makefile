# Developer / CI entry points for the waldur.keycloak collection. `make help` lists every target, from the
# "## " line just above each one (tests/tooling/test_makefile.py checks that every .PHONY target has one).
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

# Every virtualenv installs its lock from locks/ (`make lock`: the exact set CI proves, hashes checked);
# LOCKED=0 installs from the ranges instead (`make test-latest`: the newest releases they allow).
LOCKED ?= 1
PYTHON_VERSION := $(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)
# $(call requirements_for,LOCK,RANGES): what a virtualenv installs; with LOCKED=0 pip compares to the lock.
requirements_for = $(if $(filter 1,$(LOCKED)),locks/$(1)-py$(PYTHON_VERSION).txt,$(2))
lock_compare_for = $(if $(filter 1,$(LOCKED)),,LOCK_COMPARE=locks/$(1)-py$(PYTHON_VERSION).txt)
export LOCKED

# Environment in which tests see the collection as ansible_collections.waldur.keycloak.
TEST_ENV := PATH="$(abspath $(VENV))/bin:$$PATH" \
	PYTHONPATH="$(COLLECTIONS_DIR)$${PYTHONPATH:+:$$PYTHONPATH}" \
	ANSIBLE_COLLECTIONS_PATH="$(COLLECTIONS_DIR)"

.PHONY: help venv collection keycloak-up keycloak-down keycloak-status unit tooling ansible-units check integration doc-plays \
	recipes reliability stress molecule runner compat sanity sanity-matrix test test-latest lock demo clean bench-venv bench \
	bench-smoke eda-venv eda demo-events bench-events

## this list
help:
	@echo "make TARGET, where TARGET is one of:"
	@awk '/^## / { d = d (d == "" ? "" : "\n                   ") substr($$0, 4); next } \
		/^[a-z][a-z-]*:/ && d != "" { split($$0, t, ":"); printf "  %-16s %s\n", t[1], d } { d = "" }' \
		$(firstword $(MAKEFILE_LIST))

## the test virtualenv .venv (VENV=...) from locks/test-pyX.Y.txt (LOCKED=0: requirements-test.txt), steps timed
venv: $(VENV_STAMP)

$(VENV_STAMP): requirements.txt requirements-test.txt $(call requirements_for,test,requirements-test.txt)
	@PYTHON="$(PYTHON)" $(call lock_compare_for,test) scripts/venv.sh "$(VENV)" \
		"$(call requirements_for,test,requirements-test.txt)" venv
	@touch "$@"

# Run it when a range in requirements*.txt or bench/requirements.txt changes, when tests/compat/matrix.yml
# names another ansible-core, and to move CI to newer releases once `make test-latest` has passed with them
# (LOCK_UPGRADE=1 resolves everything anew; without it a lock keeps its pins where the ranges allow).
## regenerate the locks in locks/ (uv pip compile, hashes) from the ranges; commit the result
lock:
	@PYTHON="$(PYTHON)" scripts/lock.sh

## venv, plus this checkout linked as ansible_collections/waldur/keycloak in it
collection: venv
	@mkdir -p "$(dir $(COLLECTION_LINK))"
	@ln -sfn "$(CURDIR)" "$(COLLECTION_LINK)"
	@echo "collection linked: $(COLLECTION_LINK) -> $(CURDIR)"

## start the test Keycloak (scripts/keycloak.sh up: fetch, unpack, start, wait; steps with elapsed time)
keycloak-up:
	@$(KEYCLOAK) up

## stop it
keycloak-down:
	@$(KEYCLOAK) down

## is it running and ready?
keycloak-status:
	@$(KEYCLOAK) status

# The collection's unit tests (tests/unit, laid out as ansible-test expects) and the tests of this repository's own
# tooling (tests/tooling: scripts/, the Makefile, the benchmark's memory probe); CONTRIBUTING.md says how to run one.
## the collection's unit tests, tests/unit (no Keycloak; PYTEST_ARGS="-k ..." for some)
unit: collection
	$(TEST_ENV) "$(VENV)/bin/pytest" tests/unit -q $(PYTEST_ARGS)

## the tests of the repository's tooling, tests/tooling: keycloak.sh, the Makefile, locks, compat matrix (no Keycloak)
tooling: collection
	$(TEST_ENV) "$(VENV)/bin/pytest" tests/tooling -q $(PYTEST_ARGS)

## the unit tests as `ansible-test units --venv` runs them, in a clean ansible_collections/ tree (scripts/sanity.sh units)
ansible-units: collection
	VENV="$(VENV)" scripts/sanity.sh units

# The checks to run before a commit, none of which needs Keycloak: each timed, then a verdict (as make test).
## the fast checks, no Keycloak: unit tooling lint changelog-lint sanity, each timed, then a verdict
check:
	@failed=""; $(STAGE); total=$$(date +%s); \
	if stage venv && stage collection; then \
		stage unit || true; stage tooling || true; stage lint || true; stage changelog-lint || true; stage sanity || true; \
	fi; \
	echo "=== total $$(( $$(date +%s) - total ))s"; \
	if [ -n "$$failed" ]; then echo "=== FAILED stages:$$failed"; exit 1; fi; \
	echo "=== all fast checks passed"

## ansible-playbook runs against the running Keycloak (tests/integration)
integration: collection
	@$(KEYCLOAK) status >/dev/null || { echo "Keycloak is not running: run 'make keycloak-up' first" >&2; exit 1; }
	eval "$$($(KEYCLOAK) env)"; \
	$(TEST_ENV) "$(VENV)/bin/pytest" tests/integration $(PYTEST_ARGS)

# Every play of README.md and docs/*.md (tests/docs), run with ansible-playbook against the running Keycloak,
# one fresh realm per play; only placeholders (URL, password, realm, example ids) are replaced.
## every play of README.md and docs/*.md, run against the running Keycloak
doc-plays: collection
	@$(KEYCLOAK) status >/dev/null || { echo "Keycloak is not running: run 'make keycloak-up' first" >&2; exit 1; }
	eval "$$($(KEYCLOAK) env)"; \
	$(TEST_ENV) "$(VENV)/bin/pytest" tests/docs $(PYTEST_ARGS)

# Every shell recipe of README.md, docs/*.md and roles/*/README.md (tests/recipes), run verbatim as a user
# would: a fresh HOME, a clean copy of the repository, no project virtualenv on PATH, PyPI reachable
# (pip cache: WALDUR_RECIPES_PIP_CACHE); the example Keycloak is the running one.
## every shell recipe of README.md and docs/*.md, run verbatim in a fresh HOME against the running Keycloak
recipes: collection
	@$(KEYCLOAK) status >/dev/null || { echo "Keycloak is not running: run 'make keycloak-up' first" >&2; exit 1; }
	eval "$$($(KEYCLOAK) env)"; \
	$(TEST_ENV) "$(VENV)/bin/pytest" tests/recipes $(PYTEST_ARGS)

# Reliability and security tests (tests/reliability; figures in RELIABILITY.md), against the running Keycloak:
#   make reliability  the light ones, a stage of `make test`: faults on the wire, concurrency, short tokens,
#                     hostile input, secrets, least privilege
#   make stress       the heavy ones (pytest marker `stress`): kill -9 and TLS on a private Keycloak of their
#                     own (free ports, own state dir; the shared one is never stopped), 20 and 24 writers,
#                     a run of over a minute on 5 s tokens, 100 generated stores
## the light reliability and security tests (tests/reliability), Keycloak up
reliability: collection
	@$(KEYCLOAK) status >/dev/null || { echo "Keycloak is not running: run 'make keycloak-up' first" >&2; exit 1; }
	eval "$$($(KEYCLOAK) env)"; \
	$(TEST_ENV) "$(VENV)/bin/pytest" tests/reliability -m "not stress" $(PYTEST_ARGS)

## the heavy reliability tests (RELIABILITY.md), Keycloak up
stress: collection
	@$(KEYCLOAK) status >/dev/null || { echo "Keycloak is not running: run 'make keycloak-up' first" >&2; exit 1; }
	eval "$$($(KEYCLOAK) env)"; \
	$(TEST_ENV) "$(VENV)/bin/pytest" tests/reliability -m stress $(PYTEST_ARGS)

# Molecule scenario extensions/molecule/default against the same Keycloak (localhost, no containers).
## the Molecule scenario against the running Keycloak
molecule: collection
	@$(KEYCLOAK) status >/dev/null || { echo "Keycloak is not running: run 'make keycloak-up' first" >&2; exit 1; }
	eval "$$($(KEYCLOAK) env)"; \
	$(TEST_ENV) "$(VENV)/bin/molecule" test --scenario-name default

# docs/awx.md's jobs (the demo, apply as Check then Run, the drift report) run as AWX runs them: through
# ansible-runner's Python API, a private data directory per job, the credential in env/envvars; checked
# from the runner's artifacts (status, job events, no secret) and with the raw client (tests/runner).
## the demo, a sync and the drift report as AWX jobs through ansible-runner (tests/runner), Keycloak up
runner: collection
	@$(KEYCLOAK) status >/dev/null || { echo "Keycloak is not running: run 'make keycloak-up' first" >&2; exit 1; }
	eval "$$($(KEYCLOAK) env)"; \
	$(TEST_ENV) "$(VENV)/bin/pytest" tests/runner $(PYTEST_ARGS)

## ansible-test sanity
sanity: collection
	VENV="$(VENV)" scripts/sanity.sh

# The compatibility matrix (tests/compat/matrix.yml, scripts/compat.py): one cached virtualenv per ansible-core
# (${XDG_CACHE_HOME:-~/.cache}/waldur-keycloak/compat), each against the running Keycloak; the main ansible-core
# against every other Keycloak, each started on its own ports (.keycloak-compat/VERSION) and stopped afterwards.
# Prints the matrix, writes .compat/results.{json,md}, then checks README.md's "Supported versions" and
# requires_ansible against it. COMPAT_CELLS="2.16/26.7.3 ..." runs only some cells.
## the compact suite on every ansible-core x Keycloak cell of tests/compat/matrix.yml (Keycloak up)
## -> .compat/results.md; README's supported versions checked against it
compat: collection
	@$(KEYCLOAK) status >/dev/null || { echo "Keycloak is not running: run 'make keycloak-up' first" >&2; exit 1; }
	"$(VENV)/bin/python" scripts/compat.py run

## ansible-test sanity with every other ansible-core of tests/compat/matrix.yml (its cached virtualenv)
sanity-matrix: collection
	"$(VENV)/bin/python" scripts/compat.py sanity

# Run every stage, time each one, always stop Keycloak, fail if any stage failed. sanity, ansible-units and
# sanity-matrix need no Keycloak and spend much of their time installing ansible-test's virtualenvs: they run alongside
# the Keycloak stages (their lines prefixed), which keeps the whole run within its budget on 2 cores.
# stage NAME: `make NAME`, its time and verdict; a failed stage is added to $failed.
STAGE := stage() { \
		local name=$$1 start rc; start=$$(date +%s); \
		echo "=== [$$name] start"; \
		if $(MAKE) --no-print-directory "$$name"; then rc=0; else rc=$$?; fi; \
		echo "=== [$$name] $$( [ $$rc = 0 ] && echo OK || echo "FAILED (exit $$rc)" ) in $$(( $$(date +%s) - start ))s"; \
		[ $$rc = 0 ] || failed="$$failed $$name"; \
		return $$rc; \
	}

## every stage, each timed, then a verdict; starts and stops Keycloak; what CI runs (.ci/run):
## venv collection unit tooling keycloak-up integration doc-plays recipes reliability stress molecule runner eda
## bench-smoke install-test compat changelog-lint docs-lint docs lint ee de keycloak-down,
## with sanity ansible-units sanity-matrix alongside
test:
	@failed=""; $(STAGE); \
	total=$$(date +%s); \
	if stage venv && stage collection; then \
		background=$$(mktemp -d); \
		( failed=""; stage sanity || true; stage ansible-units || true; stage sanity-matrix || true; \
			echo "$$failed" >"$$background/failed" ) 2>&1 | sed -u 's/^/[sanity, alongside] /' & \
		stage unit || true; stage tooling || true; \
		if stage keycloak-up; then stage integration || true; stage doc-plays || true; stage recipes || true; stage reliability || true; stage stress || true; stage molecule || true; stage runner || true; stage eda || true; stage bench-smoke || true; stage install-test || true; stage compat || true; fi; \
		stage changelog-lint || true; stage docs-lint || true; stage docs || true; stage lint || true; stage ee || true; stage de || true; \
		echo "=== waiting for sanity, ansible-units and sanity-matrix (alongside since the start)"; wait; \
		failed="$$failed$$(cat "$$background/failed" 2>/dev/null || echo " sanity-alongside")"; rm -rf "$$background"; \
	fi; \
	stage keycloak-down || true; \
	echo "=== total $$(( $$(date +%s) - total ))s"; \
	if [ -n "$$failed" ]; then echo "=== FAILED stages:$$failed"; exit 1; fi; \
	echo "=== all stages passed"

# The newest releases the ranges allow, on purpose: how an upstream break is found before users find it, and
# how the locks move forward (then `make lock LOCK_UPGRADE=1`). Its own virtualenvs (.venv-latest,
# .venv-eda-latest), each listing what differs from its lock; not part of `make test`.
## the ranges without the locks (newest releases): venv unit tooling sanity keycloak-up integration doc-plays recipes
## reliability molecule runner eda install-test keycloak-down, in .venv-latest; not part of make test
test-latest:
	@$(MAKE) --no-print-directory LOCKED=0 VENV=.venv-latest EDA_VENV=.venv-eda-latest EDA_COMPAT= test-latest-stages

.PHONY: test-latest-stages
## test-latest's stages, in whichever virtualenvs VENV and EDA_VENV name (run make test-latest instead)
test-latest-stages:
	@failed=""; $(STAGE); total=$$(date +%s); \
	if stage venv && stage collection; then \
		stage unit || true; stage tooling || true; stage sanity || true; \
		if stage keycloak-up; then stage integration || true; stage doc-plays || true; stage recipes || true; \
			stage reliability || true; stage molecule || true; stage runner || true; stage eda || true; \
			stage install-test || true; fi; \
	fi; \
	stage keycloak-down || true; \
	echo "=== total $$(( $$(date +%s) - total ))s (LOCKED=$(LOCKED), $(VENV))"; \
	if [ -n "$$failed" ]; then echo "=== FAILED stages:$$failed"; exit 1; fi; \
	echo "=== all stages passed with the newest releases"

## virtualenv, Keycloak, then the GitOps story (scripts/demo.sh); leaves Keycloak running
demo: collection keycloak-up
	@eval "$$($(KEYCLOAK) env)"; \
	$(TEST_ENV) bash scripts/demo.sh

# --- benchmark (bench/README.md) ---------------------------------------------------------
# Its own virtualenv: ansible-core 2.19 plus the `ansible` package (community.general, the
# baseline), matplotlib and pyinstrument. bench/run.py starts Keycloak (or reuses it) itself.
BENCH_VENV ?= .venv-bench
BENCH_STAMP := $(BENCH_VENV)/.requirements.stamp
BENCH_ARGS ?=

## the benchmark's own virtualenv .venv-bench (BENCH_VENV=...) from locks/bench-pyX.Y.txt
bench-venv: $(BENCH_STAMP)

$(BENCH_STAMP): bench/requirements.txt $(call requirements_for,bench,bench/requirements.txt)
	@PYTHON="$(PYTHON)" $(call lock_compare_for,bench) scripts/venv.sh "$(BENCH_VENV)" \
		"$(call requirements_for,bench,bench/requirements.txt)" bench-venv
	@touch "$@"

# N=100 and 1,000 (BENCH_N=100,1000,10000 adds 10,000), 3 repeats (BENCH_REPEATS);
# writes bench/RESULTS.md, bench/results.png and bench/results.json.
## the benchmark -> bench/RESULTS.md, bench/results.png (BENCH_N, BENCH_REPEATS)
bench: bench-venv
	BENCH_COMMAND="$${BENCH_N:+BENCH_N=$$BENCH_N }make bench$(if $(BENCH_ARGS), BENCH_ARGS='$(BENCH_ARGS)')" \
	"$(BENCH_VENV)/bin/python" bench/run.py $(BENCH_ARGS)

# CI smoke: N=100, one repeat, results in a temporary directory (never bench/RESULTS.md);
# exits non-zero when a request-count goal fails. Times are reported, never asserted.
## N=100, one repeat; fails when a request-count goal fails (a stage of make test)
bench-smoke: bench-venv
	out=$$(mktemp -d "$${TMPDIR:-/tmp}/waldur-bench.XXXXXX"); \
	BENCH_COMMAND="make bench-smoke" "$(BENCH_VENV)/bin/python" bench/run.py --smoke --out "$$out" $(BENCH_ARGS)

# --- Event-Driven Ansible (docs/events.md) -------------------------------------------------
# Its own virtualenv: ansible-rulebook pins its own stack (websockets, aiohttp, psycopg, the drools_jpy
# Java bridge), which the test venv shared by every other stage should not follow. It needs Java 17.
EDA_VENV ?= .venv-eda
EDA_STAMP := $(EDA_VENV)/.requirements.stamp
EDA_COLLECTIONS := $(abspath $(EDA_VENV))/collections
# No PYTHONPATH: ansible-rulebook must find the collection's module_utils as an operator's install does.
EDA_ENV := PATH="$(abspath $(EDA_VENV))/bin:$$PATH" ANSIBLE_COLLECTIONS_PATH="$(EDA_COLLECTIONS)"

## ansible-rulebook's virtualenv .venv-eda (EDA_VENV=...) from locks/eda-pyX.Y.txt, collection linked; Java 17
eda-venv: $(EDA_STAMP)
	@mkdir -p "$(EDA_COLLECTIONS)/ansible_collections/waldur"
	@ln -sfn "$(CURDIR)" "$(EDA_COLLECTIONS)/ansible_collections/waldur/keycloak"

$(EDA_STAMP): requirements.txt requirements-eda.txt $(call requirements_for,eda,requirements-eda.txt)
	@command -v java >/dev/null || [ -n "$${JAVA_HOME:-}" ] || { \
		echo "ansible-rulebook needs Java 17: install it (Debian: apt-get install openjdk-17-jre-headless)" >&2; exit 1; }
	@PYTHON="$(PYTHON)" $(call lock_compare_for,eda) scripts/venv.sh "$(EDA_VENV)" \
		"$(call requirements_for,eda,requirements-eda.txt)" eda-venv
	@touch "$@"

# EDA_COMPAT: other ansible-cores (tests/compat/matrix.yml) whose ansible-playbook then runs the rulebook's playbook
# once more, with hostile text from Keycloak (tests/eda/test_hostile_text.py, one scenario each; the cached
# virtualenv of scripts/compat.py venv first on the rulebook's PATH). EDA_COMPAT= runs none.
EDA_COMPAT ?= 2.16 2.21
EDA_COMPAT_SCENARIO ?= create-mixed

## the event source and the drift rulebook under ansible-rulebook, against the running Keycloak (tests/eda);
## then one hostile-text scenario with each ansible-core of EDA_COMPAT (default 2.16 2.21)
eda: eda-venv $(if $(strip $(EDA_COMPAT)),venv)
	@$(KEYCLOAK) status >/dev/null || { echo "Keycloak is not running: run 'make keycloak-up' first" >&2; exit 1; }
	eval "$$($(KEYCLOAK) env)"; \
	$(EDA_ENV) "$(EDA_VENV)/bin/pytest" tests/eda -p no:cacheprovider $(PYTEST_ARGS); \
	for version in $(EDA_COMPAT); do \
		venv=$$("$(VENV)/bin/python" scripts/compat.py venv "$$version"); \
		echo "=== tests/eda, hostile text, with the ansible-playbook of ansible-core $$version ($$venv)"; \
		EDA_ANSIBLE_PLAYBOOK_VENV="$$venv" $(EDA_ENV) "$(EDA_VENV)/bin/pytest" tests/eda/test_hostile_text.py \
			-p no:cacheprovider -q -k "$(EDA_COMPAT_SCENARIO)"; \
	done

## Keycloak, then a change made by hand caught by the drift rulebook (scripts/demo_events.sh); leaves Keycloak running
demo-events: eda-venv keycloak-up
	@eval "$$($(KEYCLOAK) env)"; \
	$(EDA_ENV) bash scripts/demo_events.sh

## delay from a Keycloak change to the drift report's start, and the source's idle requests/min (docs/events.md)
bench-events: eda-venv
	@$(KEYCLOAK) status >/dev/null || { echo "Keycloak is not running: run 'make keycloak-up' first" >&2; exit 1; }
	eval "$$($(KEYCLOAK) env)"; \
	$(EDA_ENV) "$(EDA_VENV)/bin/python" bench/events.py $(BENCH_ARGS)

## stop Keycloak, remove the virtualenvs, .keycloak and .compat (not the caches in ~/.cache, ~/.m2)
clean:
	-$(KEYCLOAK) down
	rm -rf "$(VENV)" "$(BENCH_VENV)" "$(EDA_VENV)" .venv-latest .venv-eda-latest .venv-lock .keycloak .keycloak-compat .compat .pytest_cache

# --- ecosystem: the built tarball, changelog, docs, lint, execution environment -------------
#   make install-test    build the tarball, check it holds only collection content, install it into an
#                        empty collections path, run waldur.keycloak.demo from there (Keycloak up)
#   make changelog       at release time: the fragments join galaxy.yml's version in changelog.yaml, then go
#   make changelog-lint  antsibull-changelog lint (fragments, changelog.yaml) + CHANGELOG.md written from it
#   make docs            HTML docs of every module, plugin and role -> docs/build/html/index.html
#   make docs-lint       antsibull-docs lint-collection-docs --plugin-docs
#   make lint            ansible-lint (production profile): playbooks, roles, molecule, examples
#   make ee              ansible-builder create of the docs/awx.md definition, checked
#   make de              ansible-builder create of the docs/events.md decision environment, checked
.PHONY: install-test changelog changelog-lint docs docs-lint lint ee de

## build the tarball, install it into an empty path, run waldur.keycloak.demo (Keycloak up)
install-test: venv
	@$(KEYCLOAK) status >/dev/null || { echo "Keycloak is not running: run 'make keycloak-up' first" >&2; exit 1; }
	eval "$$($(KEYCLOAK) env)"; \
	VENV="$(VENV)" scripts/install_test.sh

## release time: the fragments join the release of galaxy.yml's version in changelog.yaml (then are removed); CHANGELOG.md
changelog: venv
	VENV="$(VENV)" scripts/changelog.sh release

## antsibull-changelog lint; changelog.yaml and CHANGELOG.md up to date
changelog-lint: venv
	VENV="$(VENV)" scripts/changelog.sh lint

## HTML docs of every module, plugin and role -> docs/build/html/index.html
docs: venv
	VENV="$(VENV)" scripts/docs.sh build

## antsibull-docs lint-collection-docs --plugin-docs
docs-lint: venv
	VENV="$(VENV)" scripts/docs.sh lint

## ansible-lint (production profile): playbooks, roles, molecule, examples
lint: collection
	VENV="$(VENV)" COLLECTIONS_DIR="$(COLLECTIONS_DIR)" scripts/lint.sh

## ansible-builder create of the docs/awx.md definition, checked
ee: venv
	VENV="$(VENV)" scripts/ee.sh

## ansible-builder create of the docs/events.md decision environment (EDA controller), checked
de: venv
	VENV="$(VENV)" scripts/de.sh

# cloudward: set up, run and test. `make demo` and `make test` are the README's quick start.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO_STAMP := $(VENV)/.installed-demo
PORT   ?= 8470
# The modules' bytecode, as installing a wheel writes it: an editable install writes none, and
# where PYTHONDONTWRITEBYTECODE is set every command would compile its modules at each start.
COMPILE := $(BIN)/python -m compileall -q agent planner collectors >/dev/null
APT_PACKAGES := snmpd snmp openssh-server openssh-client postgresql prometheus iproute2 chromium chromium-driver procps systemd wrk

.PHONY: help setup system-packages venv demo run test test-quick explore lint typecheck bench clean

help:
	@echo "make demo      run cloudward on the built-in demo estate (PORT=8470; pip only, no apt)"
	@echo "make test      set up (system packages, venv) and run the whole test suite"
	@echo "make lint      ruff (lint and format) + mypy + deptry (declared vs imported dependencies)"
	@echo "make bench     benchmarks with ratios against baselines (BENCH_ARGS=--quick)"
	@echo "make explore   the randomised tests with fresh random seeds and more examples"

# System packages for real peers (snmpd, sshd, PostgreSQL, promtool, chromium) and wrk (the API
# benchmark's load generator). Needs root and apt; elsewhere it says what to install and goes on.
system-packages:
	@if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
	  missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	  if [ -n "$$missing" ]; then \
	    echo "installing:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	  fi; \
	else echo "not root or no apt-get: install $(APT_PACKAGES) yourself for the peer tests"; fi

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	$(COMPILE)
	touch $(STAMP)

# The demo needs only the package and its demo extra (snmpsim): no test tools, no apt packages.
$(DEMO_STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[demo]'
	$(COMPILE)
	touch $(DEMO_STAMP)

venv: $(STAMP)

setup: system-packages venv

demo: $(DEMO_STAMP)
	$(BIN)/cloudward demo --listen 127.0.0.1:$(PORT)

run: venv
	$(BIN)/cloudward run --config $(or $(CONFIG),cloudward.yaml)

test: setup
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

# The randomised tests (hypothesis, schemathesis) run derandomised in `make test`; here they
# draw fresh examples. A failure found here is turned into a fixed regression test.
RANDOMISED := $(shell grep -rlE '^(from|import) (hypothesis|schemathesis)|^    from hypothesis' tests --include='test_*.py')

explore: setup
	CLOUDWARD_HYPOTHESIS_PROFILE=explore $(BIN)/python -m pytest -q -p no:cacheprovider $(RANDOMISED) $(PYTEST_ARGS)

test-quick: venv
	$(BIN)/python -m pytest -q -x -m "not slow" $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check agent collectors planner simulator tests bench
	$(BIN)/ruff format --check agent collectors planner simulator tests bench
	$(BIN)/mypy
	$(BIN)/deptry .

bench: venv
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache var

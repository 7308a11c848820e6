PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat requirements.txt requirements-run.txt requirements-dev.txt | cksum | cut -d' ' -f1)
# `make run` serves from its own, smaller venv: only requirements-run.txt (docs/local-run.md).
RUN_VENV  := .venv-run
RUN_STAMP := $(RUN_VENV)/.installed-$(shell cat requirements.txt requirements-run.txt | cksum | cut -d' ' -f1)
PIP_FLAGS := --disable-pip-version-check --no-compile --no-deps

.PHONY: run test lint typecheck unit package deploy soak bench mutants clean

$(STAMP): requirements.txt requirements-run.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	rm -f $(VENV)/.installed-*; touch $@

# Every package pinned in requirements-run.txt (--no-deps: no resolver, none of Chalice's CLI dependencies). No pip
# inside the venv when this machine's pip can install into it (pip >= 22.3: --python), and no bytecode
# compiled ahead for the thousands of modules never imported here: the first start compiles what it uses.
$(RUN_STAMP): requirements.txt requirements-run.txt
	@echo "make run: installing what serving needs into $(RUN_VENV)/ (requirements-run.txt)"
	@rm -rf $(RUN_VENV)
	$(PYTHON) -m venv --without-pip $(RUN_VENV)
	$(PYTHON) -m pip --python $(RUN_VENV)/bin/python install $(PIP_FLAGS) -r requirements-run.txt \
		|| { $(RUN_VENV)/bin/python -m ensurepip -q && $(RUN_VENV)/bin/python -m pip install $(PIP_FLAGS) -r requirements-run.txt; }
	@touch $@

run: $(RUN_STAMP)
	@echo "make run: starting (data in $${LOYALTY_DATA_DIR:-.local/}; FRESH=1 starts empty)"
	$(RUN_VENV)/bin/python -m local.run

test: lint typecheck package unit

STAGE ?= prod
# The Lambda runtime's Python (docs/deploy.md, "Runtime"). Chalice packages for the Python it runs under (runtime and
# wheels), and bytecode is used only by the version that compiled it: the zip is built in a venv of this interpreter.
LAMBDA_PYTHON ?= $(shell for v in "" $$(pyenv versions --bare 2>/dev/null | grep -E '^3\.12(\.|$$)'); do \
	PYENV_VERSION=$$v python3.12 -c 'import sys; print(sys.executable)' 2>/dev/null && break; done)
LAMBDA_VENV := .venv-lambda
LAMBDA_BIN  := $(LAMBDA_VENV)/bin
LAMBDA_STAMP := $(LAMBDA_VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)

$(LAMBDA_STAMP): requirements.txt requirements-dev.txt
	@test -n "$(LAMBDA_PYTHON)" || { echo "Python 3.12 (the Lambda runtime's) not found: install it (pyenv install 3.12," \
		"apt-get install python3.12) or set LAMBDA_PYTHON=/path/to/python3.12"; exit 1; }
	$(LAMBDA_PYTHON) -m venv $(LAMBDA_VENV)
	$(LAMBDA_BIN)/python -m pip install -q --disable-pip-version-check -r requirements.txt \
		$$(grep -E '^(chalice|boto3)==' requirements-dev.txt)
	rm -f $(LAMBDA_VENV)/.installed-*; touch $@

# The deployable template and zip in build/. Chalice only warns when a dependency cannot be packaged for Lambda:
# here that fails the build. cfn-lint must report nothing. The last step prints the commands `make deploy` would
# run (build/deploy-plan.txt), so make test checks them without AWS.
package: $(STAMP) $(LAMBDA_STAMP)
	rm -rf build && mkdir -p build
	$(BIN)/python -m infra.build_template
	AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-eu-central-1} $(LAMBDA_BIN)/chalice package --stage $(STAGE) \
		--merge-template infra/resources.json build > build/package.log 2>&1 || (cat build/package.log; exit 1)
	@if grep -qiE "could not|unable to|warning" build/package.log; then cat build/package.log; \
		echo "chalice could not package a dependency: see above"; exit 1; fi
	$(BIN)/python -m infra.slim build/deployment.zip
	$(LAMBDA_BIN)/python -m infra.bytecode build/deployment.zip build/sam.json
	$(BIN)/cfn-lint build/sam.json
	$(BIN)/python -m infra.deploy --stage $(STAGE) --dry-run > build/deploy-plan.txt

# Package, upload (to BUCKET, or a bucket of the account's made on first use) and deploy the stack
# coalition-loyalty-$(STAGE) in one command: `make deploy STAGE=prod [BUCKET=...] [PARAMS="AlarmEmail=ops@x.org"]`.
# DRY_RUN=1 prints the aws commands instead. docs/deploy.md.
deploy: package
	$(BIN)/python -m infra.deploy --stage $(STAGE) $(if $(BUCKET),--bucket $(BUCKET)) $(if $(DRY_RUN),--dry-run) \
		$(if $(PARAMS),--parameter-overrides $(PARAMS))

# ruff also holds the layering rules that fit a linter (pynamodb/botocore banned outside chalicelib/db, complexity
# <= 12); import-linter holds the layers themselves (pyproject.toml [tool.importlinter]).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/python -m pytest -q

# The long profile of the model-based test (not part of make test): 1,000 random programs of 12 steps.
soak: $(STAMP)
	LEDGER_EXAMPLES=1000 SCHEMATHESIS_EXAMPLES=100 $(BIN)/python -m pytest -q tests/test_ledger_properties.py \
		tests/test_schemathesis.py

# Every measurement in one run (bench/run.py, about five minutes): bench/results.json, docs/BENCHMARKS.md with the
# targets beside the results, and docs/deploy.md's cost per million transactions recomputed from the measured units.
bench: package
	$(BIN)/python -m bench.run

# Hand-made mutations of the money guards, each expected to fail a named test (a few minutes): bench/mutants.json.
mutants: $(STAMP)
	$(BIN)/python -m bench.mutants

clean:
	rm -rf $(VENV) $(RUN_VENV) $(LAMBDA_VENV) .pytest_cache .mypy_cache .ruff_cache build

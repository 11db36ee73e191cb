# Two commands do all set-up on a fresh clone:  `make demo` (run the embedded default) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CORES ?= 2
# pytest-xdist workers: the tests of each shared run stay on one worker (tests/conftest.py)
TEST_WORKERS ?= 2
CONFIG ?= config/config.yaml
STAMP := $(VENV)/.installed

EXTRAS := test,slurm,reports

.PHONY: demo test check lint types clean lock docs

# the locked environment: pyproject.toml's ranges, constrained to requirements.lock's exact versions
$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -c requirements.lock -e '.[$(EXTRAS)]'
	touch $(STAMP)

# re-resolve the newest versions the ranges allow, in a scratch venv, into requirements.lock
lock:
	rm -rf .venv-lock && $(PYTHON) -m venv .venv-lock
	.venv-lock/bin/pip install --quiet --disable-pip-version-check -e '.[$(EXTRAS)]'
	{ sed -n '1,2p' requirements.lock; .venv-lock/bin/pip freeze --exclude-editable | grep -v '^synthval'; } > requirements.lock.new
	mv requirements.lock.new requirements.lock && rm -rf .venv-lock

# synthval run resumes a run that was killed (a stale lock is cleared, incomplete files made again) and
# refuses to start beside a live one
demo: $(STAMP)
	$(BIN)/synthval run -c $(CONFIG) --cores $(CORES)
	@echo "Report: $(CURDIR)/results/report/report.html"

# everything: lint, types, the unit tests and the workflow runs (the cluster tests where SLURM runs), with
# the share of the library's lines the test processes ran (jobs run in their own processes: not counted).
# The type check (one core for most of a minute) runs beside the tests; its verdict is printed after theirs.
test: lint $(STAMP)
	@rm -f .types.out; $(BIN)/mypy > .types.out 2>&1 & types=$$!; \
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --no-loadscope-reorder --cov --cov-report=term:skip-covered; \
	tests=$$?; wait $$types; typed=$$?; echo "$(BIN)/mypy"; cat .types.out; rm -f .types.out; \
	test $$tests -eq 0 -a $$typed -eq 0

# a few minutes: lint, types and the unit tests, without the workflow runs (what .pre-commit-config.yaml runs)
check: lint types
	$(BIN)/python -m pytest -n $(TEST_WORKERS) -m "not integration" -q

types: $(STAMP)
	$(BIN)/mypy

# docs/glossary.md and docs/citing.md are rendered from the library (the report's glossary, the papers);
# DEFAULT=<folder of a run of config/config.yaml> and STUDY=<... of config/digits-study.yaml> rewrite the
# figures the README and docs/findings.md quote from those runs (bench/results/demo.md gives the time)
docs: $(STAMP)
	$(BIN)/python -m synthval.report.docs docs $(if $(DEFAULT),--default $(DEFAULT)) $(if $(STUDY),--study $(STUDY))

lint: $(STAMP)
	$(BIN)/snakemake --lint --configfile $(CONFIG)
	$(BIN)/snakefmt --check Snakefile workflow/rules
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf results .snakemake

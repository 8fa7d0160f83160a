# Every target creates .venv when missing and installs into it: a fresh clone needs nothing else.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint format bench bench-ingest bench-budgets bench-slack bench-anomalies bench-recs bench-cost-types bench-digests bench-exports chat serve teams-app clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/cloudoptima demo
	@if [ -t 0 ] && [ -t 1 ]; then $(BIN)/cloudoptima chat --demo; fi

chat: $(STAMP)
	$(BIN)/cloudoptima chat --demo

serve: $(STAMP)
	$(BIN)/cloudoptima serve

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/hadolint Dockerfile

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: lint
	.ci/ensure-postgres
	.ci/ensure-promtool
	$(BIN)/pytest -n 2 $(PYTEST_ARGS)

bench: bench-ingest bench-budgets bench-slack bench-anomalies bench-recs bench-cost-types bench-digests bench-exports

bench-ingest: $(STAMP)
	.ci/ensure-postgres
	$(BIN)/python benchmarks/ingest.py $(BENCH_ARGS)

bench-budgets: $(STAMP)
	.ci/ensure-postgres
	$(BIN)/python benchmarks/budgets.py $(BUDGET_BENCH_ARGS)

bench-anomalies: $(STAMP)
	.ci/ensure-postgres
	$(BIN)/python benchmarks/anomalies.py $(ANOMALY_BENCH_ARGS)

bench-slack: $(STAMP)
	$(BIN)/python benchmarks/slack_load.py $(SLACK_BENCH_ARGS)

bench-recs: $(STAMP)
	.ci/ensure-postgres
	$(BIN)/python benchmarks/recommendations.py $(RECS_BENCH_ARGS)

bench-digests: $(STAMP)
	@# 500 digests over 50 channels against a fake Slack allowing 1 post/s/channel
	$(BIN)/python benchmarks/digests.py $(DIGEST_BENCH_ARGS)

bench-cost-types: $(STAMP)
	.ci/ensure-postgres
	$(BIN)/python benchmarks/cost_types.py $(COST_TYPES_BENCH_ARGS)

bench-exports: $(STAMP)
	.ci/ensure-postgres
	$(BIN)/python benchmarks/exports.py $(EXPORT_BENCH_ARGS)

teams-app: $(STAMP)
	$(BIN)/cloudoptima teams-app

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build *.egg-info

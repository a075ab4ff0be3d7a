#!/usr/bin/env bash
# `make scale`: replay/scale.py on this machine over loopback — a Prefect server backed by PostgreSQL, a
# process work pool, one worker then two, one of them SIGKILLed mid-run (see replay/scale.py). Uses the
# running PostgreSQL server (left running) with a throwaway role that may create databases.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=${PGPORT:-5432}
as_postgres() { if [ "$(id -un)" = postgres ]; then "$@"; elif command -v runuser >/dev/null; then runuser -u postgres -- "$@"; else sudo -n -u postgres -- "$@"; fi; }
psql_pg() { as_postgres psql -X -q -v ON_ERROR_STOP=1 -p "$PORT" -d postgres "$@"; }
ROLE="fr_scale_$$"
PASSWORD="$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
cleanup() {
    psql_pg -c "DROP DATABASE IF EXISTS ${ROLE}" -c "DROP ROLE IF EXISTS ${ROLE}" >/dev/null 2>&1 || true
}
trap cleanup EXIT
psql_pg -c "CREATE ROLE ${ROLE} LOGIN CREATEDB PASSWORD '${PASSWORD}'" -c "CREATE DATABASE ${ROLE} OWNER ${ROLE}"
.venv/bin/python -m replay.scale --admin-url "postgresql+psycopg://${ROLE}:${PASSWORD}@127.0.0.1:${PORT}/${ROLE}" "$@"

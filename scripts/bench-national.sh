#!/usr/bin/env bash
# `make bench-national`: 500,000 basic filings on PostgreSQL (bench/national_bench.py), on two throwaway
# databases (ours and the raw executemany baseline) owned by a throwaway role, dropped at the end.
# The running PostgreSQL server is used and left running. SIZE=50000 make bench-national for a shorter run.
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE=${SIZE:-500000}
PORT=${PGPORT:-5432}
as_postgres() { if [ "$(id -un)" = postgres ]; then "$@"; elif command -v runuser >/dev/null; then runuser -u postgres -- "$@"; else sudo -n -u postgres -- "$@"; fi; }
psql_pg() { as_postgres psql -X -q -v ON_ERROR_STOP=1 -p "$PORT" -d postgres "$@"; }
ROLE="fr_bench_$$"
PASSWORD="$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
cleanup() {
    psql_pg -c "DROP DATABASE IF EXISTS ${ROLE}_ours" -c "DROP DATABASE IF EXISTS ${ROLE}_raw" \
        -c "DROP ROLE IF EXISTS ${ROLE}" >/dev/null 2>&1 || true
}
trap cleanup EXIT
psql_pg -c "CREATE ROLE ${ROLE} LOGIN PASSWORD '${PASSWORD}'" \
    -c "CREATE DATABASE ${ROLE}_ours OWNER ${ROLE}" -c "CREATE DATABASE ${ROLE}_raw OWNER ${ROLE}"
URL="postgresql+psycopg://${ROLE}:${PASSWORD}@127.0.0.1:${PORT}"
.venv/bin/python -m bench.national_bench --size "$SIZE" --url "${URL}/${ROLE}_ours" --raw-url "${URL}/${ROLE}_raw"

#!/usr/bin/env bash
# `make bench-national`: 500,000 basic filings on PostgreSQL (bench/national_bench.py), on two throwaway
# databases (ours and the raw executemany baseline) owned by a throwaway role, dropped at the end.
# The running PostgreSQL server is used and left running. SIZE=50000 make bench-national for a shorter run.
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE=${SIZE:-500000}
source scripts/pg-admin.sh
ROLE="fr_bench_$$"
PASSWORD="$(random_password)"
cleanup() {
    psql_pg -c "DROP DATABASE IF EXISTS ${ROLE}_ours" -c "DROP DATABASE IF EXISTS ${ROLE}_raw" \
        -c "DROP ROLE IF EXISTS ${ROLE}" >/dev/null 2>&1 || true
}
trap cleanup EXIT
psql_pg -c "CREATE ROLE ${ROLE} LOGIN PASSWORD '${PASSWORD}'" \
    -c "CREATE DATABASE ${ROLE}_ours OWNER ${ROLE}" -c "CREATE DATABASE ${ROLE}_raw OWNER ${ROLE}"
URL="postgresql+psycopg://${ROLE}:${PASSWORD}@127.0.0.1:${PORT}"
.venv/bin/python -m bench.national_bench --size "$SIZE" --url "${URL}/${ROLE}_ours" --raw-url "${URL}/${ROLE}_raw"

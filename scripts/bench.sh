#!/usr/bin/env bash
# `make bench`: every row of `python -m bench`. With a PostgreSQL server running here, the rows that need
# one (several Prefect workers, the web pages and HTTP submits on PostgreSQL) get a throwaway role that may
# create databases, dropped at the end with every database it made. Without one, those rows say so.
# A FACTORY_REVIEW_SCALE_ADMIN_URL already set is used as it is.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${FACTORY_REVIEW_SCALE_ADMIN_URL:-}" ]; then
    source scripts/pg-admin.sh
    if psql_pg -c "SELECT 1" >/dev/null 2>&1; then
        ROLE="fr_bench_$$"
        PASSWORD="$(random_password)"
        cleanup() {
            for db in $(psql_pg -tA -c "SELECT datname FROM pg_database d JOIN pg_roles r ON r.oid = d.datdba WHERE r.rolname = '${ROLE}'" 2>/dev/null); do
                psql_pg -c "DROP DATABASE IF EXISTS \"${db}\" WITH (FORCE)" >/dev/null 2>&1 || true
            done
            psql_pg -c "DROP ROLE IF EXISTS ${ROLE}" >/dev/null 2>&1 || true
        }
        trap cleanup EXIT
        psql_pg -c "CREATE ROLE ${ROLE} LOGIN CREATEDB PASSWORD '${PASSWORD}'" -c "CREATE DATABASE ${ROLE} OWNER ${ROLE}"
        export FACTORY_REVIEW_SCALE_ADMIN_URL="postgresql+psycopg://${ROLE}:${PASSWORD}@127.0.0.1:${PORT}/${ROLE}"
    else
        echo "make bench: no PostgreSQL server answers on port ${PORT:-5432}; its rows will say 'not measured'" \
             "(pg_ctlcluster 15 main start, then make bench again)" >&2
    fi
fi
.venv/bin/python -m bench "$@"

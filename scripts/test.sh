#!/usr/bin/env bash
# The test command (README, `make test`, .ci/run). One pytest run over both databases: every test that
# takes the `db_url`/`engine`/`session` fixture runs on a SQLite file and, when a PostgreSQL server can
# be reached or started here, on PostgreSQL too (PostgreSQL 15 is installed on these machines but not
# running) — except test files marked `sqlite_only` (rules, documents, page rendering: no SQL that differs
# between the backends), which run on SQLite alone.
#
# PostgreSQL, in order:
#   FACTORY_REVIEW_TEST_PG_URL set      → used as given (a role with CREATEDB gets a database per test);
#   FACTORY_REVIEW_TEST_PG=off          → SQLite only;
#   otherwise                           → start the local cluster if it is down (and stop it afterwards),
#                                         create a throwaway role and database, drop them at the end.
# A server that was already running is left running; only what this script created is removed.
#
# Reliability figures (concurrency, faults, hypothesis examples) are printed at the end of the run and
# written to out/reliability-report.txt. FACTORY_REVIEW_STRESS_EVENTS scales the 8 × 1,000 stress test.
set -euo pipefail
cd "$(dirname "$0")/.."
export PREFECT_SERVER_ANALYTICS_ENABLED=false
export PYTHONDONTWRITEBYTECODE=1

.venv/bin/ruff check .
.venv/bin/mypy

PG_CLUSTER=""        # "15 main" when we started it (and must stop it)
PG_ROLE=""           # the throwaway role we created (owner of every database made for the run)
PG_PORT=""
PG_STATUS=""         # one line for the summary

as_postgres() {
    # Run a command as the postgres OS user (peer authentication on the local socket).
    if [ "$(id -un)" = postgres ]; then
        "$@"
    elif [ "$(id -u)" = 0 ] && command -v runuser >/dev/null; then
        runuser -u postgres -- "$@"
    elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
        sudo -n -u postgres -- "$@"
    else
        return 1
    fi
}

pg_psql() {
    as_postgres psql -X -q -v ON_ERROR_STOP=1 -p "$PG_PORT" -d postgres "$@"
}

start_postgres() {
    if ! command -v pg_lsclusters >/dev/null; then
        PG_STATUS="PostgreSQL skipped: pg_lsclusters not found (no PostgreSQL installed here)"
        return 1
    fi
    local line version name port status
    # Prefer 15/main; otherwise the first cluster listed.
    line=$(pg_lsclusters -h 2>/dev/null | awk '$1 == "15" && $2 == "main"' | head -n1)
    [ -n "$line" ] || line=$(pg_lsclusters -h 2>/dev/null | head -n1)
    if [ -z "$line" ]; then
        PG_STATUS="PostgreSQL skipped: no cluster found by pg_lsclusters"
        return 1
    fi
    read -r version name port status _ <<<"$line"
    PG_PORT=$port
    if [ "$status" != online ]; then
        if ! pg_ctlcluster "$version" "$name" start >/tmp/factory-review-pg-start.$$ 2>&1 \
            && ! as_postgres pg_ctlcluster "$version" "$name" start >>/tmp/factory-review-pg-start.$$ 2>&1; then
            PG_STATUS="PostgreSQL skipped: could not start cluster $version/$name: $(tail -n1 /tmp/factory-review-pg-start.$$)"
            rm -f /tmp/factory-review-pg-start.$$
            return 1
        fi
        rm -f /tmp/factory-review-pg-start.$$
        PG_CLUSTER="$version $name"
        PG_STATUS="PostgreSQL $version/$name started here on port $port (stopped again at the end)"
    else
        PG_STATUS="PostgreSQL $version/$name already running on port $port (left running)"
    fi
    local i
    for i in $(seq 1 30); do
        as_postgres pg_isready -q -p "$PG_PORT" && break
        sleep 1
    done
    if ! as_postgres pg_isready -q -p "$PG_PORT"; then
        PG_STATUS="PostgreSQL skipped: cluster on port $PG_PORT did not become ready"
        return 1
    fi
    local suffix password
    suffix="$(date +%s)_$$"
    password="$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
    PG_ROLE="fr_test_${suffix}"
    if ! pg_psql -c "CREATE ROLE ${PG_ROLE} LOGIN CREATEDB PASSWORD '${password}'" \
        || ! pg_psql -c "CREATE DATABASE ${PG_ROLE} OWNER ${PG_ROLE}"; then
        PG_STATUS="PostgreSQL skipped: could not create a throwaway role and database (psql as postgres failed)"
        PG_ROLE=""
        return 1
    fi
    export FACTORY_REVIEW_TEST_PG_URL="postgresql+psycopg://${PG_ROLE}:${password}@127.0.0.1:${PG_PORT}/${PG_ROLE}"
    return 0
}

cleanup() {
    set +e
    if [ -n "$PG_ROLE" ]; then
        # Every database the role owns (the base one and any per-test database a crash left behind).
        local db
        for db in $(pg_psql -At -c "SELECT datname FROM pg_database d JOIN pg_roles r ON r.oid = d.datdba WHERE r.rolname = '${PG_ROLE}'"); do
            pg_psql -c "DROP DATABASE IF EXISTS \"${db}\" WITH (FORCE)" >/dev/null
        done
        pg_psql -c "DROP ROLE IF EXISTS ${PG_ROLE}" >/dev/null
    fi
    if [ -n "$PG_CLUSTER" ]; then
        # shellcheck disable=SC2086
        pg_ctlcluster $PG_CLUSTER stop >/dev/null 2>&1 || as_postgres pg_ctlcluster $PG_CLUSTER stop >/dev/null 2>&1
    fi
}
trap cleanup EXIT

if [ -n "${FACTORY_REVIEW_TEST_PG_URL:-}" ]; then
    PG_STATUS="PostgreSQL: using FACTORY_REVIEW_TEST_PG_URL as given"
elif [ "${FACTORY_REVIEW_TEST_PG:-auto}" = off ]; then
    PG_STATUS="PostgreSQL skipped: FACTORY_REVIEW_TEST_PG=off"
else
    start_postgres || unset FACTORY_REVIEW_TEST_PG_URL
fi
echo "== databases: sqlite + $([ -n "${FACTORY_REVIEW_TEST_PG_URL:-}" ] && echo postgresql || echo '(no postgresql)')"
echo "== ${PG_STATUS}"

# Tests run in parallel (pytest-xdist), one worker per core up to four: most of the suite's time is spent
# waiting on databases, SMTP, subprocesses and Prefect's server, so two workers on two cores take about half
# the time of one. Each worker has its own template databases and Prefect server; FACTORY_REVIEW_TEST_WORKERS=0
# runs everything in this one process (what `pytest` alone does).
cores=$(nproc 2>/dev/null || echo 2)
WORKERS="${FACTORY_REVIEW_TEST_WORKERS:-$(( cores < 4 ? cores : 4 ))}"
echo "== pytest workers: ${WORKERS} (FACTORY_REVIEW_TEST_WORKERS; 0 = none)"

started=$(date +%s)
rc=0
.venv/bin/python -m pytest -q --durations=30 -n "$WORKERS" --dist worksteal "$@" || rc=$?
elapsed=$(( $(date +%s) - started ))
if [ "$rc" = 5 ]; then
    echo "== pytest collected no tests for these arguments (exit 5): a run that tests nothing fails"
fi
echo "== ${PG_STATUS}"
if [ ! -x /usr/lib/chromium/chromium ]; then
    echo "!! =========================================================================================="
    echo "!! BROWSER TESTS SKIPPED: /usr/lib/chromium/chromium is missing"
    echo "!!   install it: apt-get install -y chromium chromium-driver fonts-noto-cjk  (.ci/run does)"
    echo "!! =========================================================================================="
fi
echo "== pytest finished in ${elapsed}s with exit code ${rc}"
exit "$rc"

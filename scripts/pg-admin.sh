# Sourced by scripts/bench-national.sh and scripts/scale.sh: psql as the postgres OS user on the running
# server (peer authentication on the local socket; the server is used and left running).
PORT=${PGPORT:-5432}
as_postgres() { if [ "$(id -un)" = postgres ]; then "$@"; elif command -v runuser >/dev/null; then runuser -u postgres -- "$@"; else sudo -n -u postgres -- "$@"; fi; }
psql_pg() { as_postgres psql -X -q -v ON_ERROR_STOP=1 -p "$PORT" -d postgres "$@"; }
random_password() { head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n'; }

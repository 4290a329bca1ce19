# pg.sh - a throwaway PostgreSQL 15 server for the tests, from Debian's postgresql-15 binaries
# (/usr/lib/postgresql/15/bin; scripts/install-deps installs them). Sourced by
# tests/support/with-postgres (the unit tests' PostgreSQL runs) and by
# tests/integration/test_fotad_postgres.sh; also run as a command by the tests themselves:
#
#   bash pg.sh ctl DIR stop|start     stop or start the server of DIR (a test's restart)
#   bash pg.sh watch PID DIR          (internal) remove DIR's server once PID is gone
#
# pg_cluster_start makes a new cluster in a new directory under ${TMPDIR:-/tmp} (short, so that
# the socket path fits in a sockaddr_un) and starts it listening only on a Unix socket in that
# directory: no TCP port is taken, so tests run in parallel never collide. The server runs as a
# user other than root (initdb refuses root): the caller itself when it is not root, else
# "postgres" (made by Debian's postgresql package) or, without it, "nobody"; the directory is
# theirs. Authentication is "trust" for the socket (nobody else can reach it), the role is
# "fota", fsync is off (a test's data need not survive a power cut). A watchdog stops the server
# and removes the directory if the test process dies without doing it (a ctest timeout).
#
# After pg_cluster_start: PG_DIR, PG_HOST (the socket directory), PG_PORT, PG_USER (the role),
# PG_URI (a libpq URI of the maintenance database "postgres"); pg_uri DB prints one for DB.

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PG_SH=$(readlink -f "${BASH_SOURCE[0]}")

# The user the server runs as.
pg_os_user() {
    if [ "$(id -u)" != 0 ]; then
        id -un
    elif id postgres >/dev/null 2>&1; then
        echo postgres
    else
        echo nobody
    fi
}

# pg_as OSUSER CMD...: run CMD as OSUSER (directly when that is who we are).
pg_as() {
    local user=$1
    shift
    if [ "$(id -un)" = "$user" ]; then
        "$@"
    else
        runuser -u "$user" -- "$@"
    fi
}

# pg_ctl_dir DIR stop|start: the server of the cluster in DIR, as the owner of its data.
pg_ctl_dir() {
    local dir=$1 what=$2 owner
    owner=$(stat -c %U "$dir/data")
    case "$what" in
    start) pg_as "$owner" "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start ;;
    stop) pg_as "$owner" "$PG_BIN/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop ;;
    kill) pg_as "$owner" "$PG_BIN/pg_ctl" -D "$dir/data" -m immediate -w -t 60 stop ;;
    *) echo "pg.sh: ctl DIR start|stop|kill" >&2 && return 2 ;;
    esac
}

pg_uri() {
    echo "postgresql://$PG_USER@/$1?host=$PG_HOST&port=$PG_PORT"
}

pg_cluster_start() {
    if [ ! -x "$PG_BIN/initdb" ] || [ ! -x "$PG_BIN/pg_ctl" ]; then
        echo "FAIL: no PostgreSQL 15 server in $PG_BIN (install Debian's postgresql:" \
            "scripts/install-deps)" >&2
        return 1
    fi
    local user
    user=$(pg_os_user)
    PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/fota-pg.XXXXXX") || return 1
    [ "$(id -u)" != 0 ] || chown "$user" "$PG_DIR" || return 1
    PG_HOST=$PG_DIR
    PG_PORT=5432
    PG_USER=fota
    PG_URI=$(pg_uri postgres)
    if ! pg_as "$user" "$PG_BIN/initdb" -D "$PG_DIR/data" -U "$PG_USER" --auth=trust --no-sync \
        -E UTF8 --locale=C >"$PG_DIR/initdb.log" 2>&1; then
        cat "$PG_DIR/initdb.log" >&2
        echo "FAIL: initdb as $user" >&2
        return 1
    fi
    cat >>"$PG_DIR/data/postgresql.conf" <<EOF
listen_addresses = ''
unix_socket_directories = '$PG_DIR'
port = $PG_PORT
fsync = off
shared_buffers = 16MB
max_connections = 60
EOF
    setsid bash "$PG_SH" watch "$$" "$PG_DIR" </dev/null >/dev/null 2>&1 &
    PG_WATCHDOG=$!
    if ! pg_ctl_dir "$PG_DIR" start >"$PG_DIR/pg_ctl.log" 2>&1; then
        cat "$PG_DIR/pg_ctl.log" "$PG_DIR/server.log" >&2
        echo "FAIL: the PostgreSQL server did not start" >&2
        return 1
    fi
}

# pg_cluster_stop: stop the server and remove its directory (safe to call twice).
pg_cluster_stop() {
    [ -n "${PG_DIR:-}" ] && [ -d "$PG_DIR" ] || return 0
    [ -z "${PG_WATCHDOG:-}" ] || kill "$PG_WATCHDOG" 2>/dev/null || true
    pg_ctl_dir "$PG_DIR" kill >/dev/null 2>&1 || true
    rm -rf "$PG_DIR"
    PG_DIR=""
}

# The watchdog: once the test process is gone, stop what it left.
pg_watch() {
    local pid=$1 dir=$2
    while kill -0 "$pid" 2>/dev/null && [ -d "$dir/data" ]; do
        sleep 2
    done
    if [ -d "$dir/data" ]; then
        pg_ctl_dir "$dir" kill >/dev/null 2>&1 || true
        rm -rf "$dir"
    fi
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    case "${1:-}" in
    ctl) pg_ctl_dir "$2" "$3" ;;
    watch) pg_watch "$2" "$3" ;;
    *) echo "usage: pg.sh ctl DIR start|stop|kill | watch PID DIR" >&2 && exit 2 ;;
    esac
fi

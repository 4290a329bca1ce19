# nginx.sh - starting and stopping an nginx of a test or a demo on loopback (sourced, not run):
# nginx runs as a child of the caller's shell (daemon off) with its prefix, logs, pid file and
# temporary files in a directory of the caller's; a free port is not known in advance, so random
# ones are tried until nginx answers /healthz there (nginx exits at once when its port is taken).
# Used by scripts/lib/cluster.sh and tests/integration/lib/nginx.sh.
#
#   ngx_start DIR WRITE_CONF SCHEME [curl args]   WRITE_CONF PORT writes DIR/nginx.conf for that
#                                                 port (its pid file DIR/nginx.pid); nginx started
#                                                 on it answers SCHEME://127.0.0.1:PORT/healthz
#                                                 ({"ok":true}, curl given the args); NGX_PID and
#                                                 NGX_URL, else 1 with nginx's messages on stderr
#                                                 (those of ports tried: DIR/error.log.tried)
#   ngx_stop                                      stop it (SIGTERM) and wait for it
NGX_BIN=$(command -v nginx || echo /usr/sbin/nginx)
NGX_PID=""
NGX_URL=""

ngx_start() {
    local dir=$1 write_conf=$2 scheme=$3 port _
    shift 3
    mkdir -p "$dir/tmp"
    for _ in 1 2 3 4 5 6 7 8; do
        port=$((20000 + RANDOM % 30000))
        "$write_conf" "$port" || return 1
        rm -f "$dir/nginx.pid"
        "$NGX_BIN" -p "$dir/" -c "$dir/nginx.conf" -e "$dir/error.log" 2>>"$dir/stderr" &
        NGX_PID=$!
        for _ in $(seq 1 100); do
            kill -0 "$NGX_PID" 2>/dev/null || break
            if [ "$(cat "$dir/nginx.pid" 2>/dev/null)" = "$NGX_PID" ] &&
                curl -sf "$@" "$scheme://127.0.0.1:$port/healthz" 2>/dev/null |
                grep -q '"ok":true'; then
                NGX_URL="$scheme://127.0.0.1:$port"
                return 0
            fi
            sleep 0.05
        done
        ngx_stop
        # A port found taken leaves its bind errors aside, out of the log of the nginx that runs.
        cat "$dir/error.log" >>"$dir/error.log.tried" 2>/dev/null || true
        rm -f "$dir/error.log"
    done
    cat "$dir/stderr" "$dir/error.log.tried" >&2 2>/dev/null || true
    return 1
}

ngx_stop() {
    if [ -n "$NGX_PID" ]; then
        kill -TERM "$NGX_PID" 2>/dev/null || true
        wait "$NGX_PID" 2>/dev/null || true
    fi
    NGX_PID=""
}

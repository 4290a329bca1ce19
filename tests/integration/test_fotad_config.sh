#!/usr/bin/env bash
# test_fotad_config.sh - running fotad (docs/SERVER.md): --help, usage errors (exit 2), startup
# errors (exit 1: bad key, short master secret, port in use), a config file with flags
# overriding it, the log level, the request log line, and clean shutdown on SIGINT and SIGTERM;
# a --database that is not a postgresql:// URI (exit 2) or names no reachable server (exit 1).
# Run by ctest as: bash test_fotad_config.sh BUILD_DIR
source "$(dirname "$0")/lib/fotad.sh" "$1" fotad-config

make_keys

# run_fotad WANT_EXIT ARGS...: a fotad that must exit by itself (usage or startup error).
run_fotad() {
    local want=$1 rc=0
    shift
    timeout 10 "$BUILD/fotad" "$@" >"$W/out" 2>"$W/err" || rc=$?
    check_sanitizer "$W/err"
    [ "$rc" -eq "$want" ] || { cat "$W/out" "$W/err" >&2; fail "fotad $*: exit $rc, wanted $want"; }
}
err_has() {
    grep -qF -- "$1" "$W/err" || { cat "$W/err" >&2; fail "stderr lacks '$1'"; }
}

COMMON=(--port 0 --data-dir "$W/data" --release-key "$W/release.pub" --master-secret-file "$W/master")

run_fotad 0 --help
grep -q -- "--port-file" "$W/out" || fail "--help lacks --port-file"
grep -q -- "--config FILE" "$W/out" || fail "--help lacks --config"
run_fotad 2 --bogus
err_has "unknown option '--bogus'"
run_fotad 2 --port
err_has "needs a value"
run_fotad 2 --port 70000 --admin-token x
err_has "bad value '70000'"
run_fotad 2 "${COMMON[@]}"
err_has "admin_token or admin_token_file is not set"
run_fotad 2 --port 0 --admin-token t
err_has "release_key is not set"
run_fotad 2 stray
err_has "unexpected argument 'stray'"

# Startup errors: logged with their cause, exit 1, nothing left listening.
printf 'not a key\n' >"$W/junk.pub"
run_fotad 1 --port 0 --data-dir "$W/data" --release-key "$W/junk.pub" \
    --master-secret-file "$W/master" --admin-token t0123456789abcdef
err_has "release key $W/junk.pub"
run_fotad 1 --port 0 --data-dir "$W/data" --release-key "$W/release.pem" \
    --master-secret-file "$W/master" --admin-token t0123456789abcdef
err_has "not an EC P-256 public key"
head -c 16 /dev/urandom >"$W/short-master"
run_fotad 1 --port 0 --data-dir "$W/data" --release-key "$W/release.pub" \
    --master-secret-file "$W/short-master" --admin-token t0123456789abcdef
err_has "at least 32 needed"
run_fotad 1 "${COMMON[@]}" --admin-token-file "$W/no-such-file"
err_has "cannot read"
run_fotad 2 "${COMMON[@]}" --admin-token t0123456789abcdef --database "$W/data/fotad.db"
err_has "bad value '$W/data/fotad.db' for --database"
run_fotad 1 "${COMMON[@]}" --admin-token t0123456789abcdef \
    --database "postgresql://fotad@/fotad?host=$W/no-such-dir"
err_has "store: cannot connect to PostgreSQL"
err_has "startup failed"

# A config file; flags override it (the admin token here).
cat >"$W/fotad.conf" <<CONF
# fotad test configuration
listen = 127.0.0.1
port = 0
port_file = $W/port
data_dir = $W/data
release_key = $W/release.pub
master_secret_file = $W/master
admin_token = from-the-file-0123456789
threads = 2
max_upload = 1M
log_level = info

db_sync = full
CONF
"$BUILD/fotad" --config "$W/fotad.conf" --admin-token "$TOKEN" 2>>"$W/fotad.log" &
FOTAD_PID=$!
for i in $(seq 1 200); do
    [ -s "$W/port" ] && break
    sleep 0.05
done
[ -s "$W/port" ] || fail "fotad from a config file did not start"
URL="http://127.0.0.1:$(cat "$W/port")"
admin GET /api/admin/releases
expect 200 "the flag's token"
raw GET /api/admin/releases -H "Authorization: Bearer from-the-file-0123456789"
error_is 403 forbidden "the file's token was overridden"
grep -q "(2 threads" "$W/fotad.log" || fail "threads from the config file not used"
grep -q 'request method=GET path="/api/admin/releases" status=200 bytes=[0-9]* ms=' "$W/fotad.log" ||
    fail "no request log line"

# Port in use: a second fotad on the same port fails at startup.
run_fotad 1 --port "$(cat "$W/port")" --data-dir "$W/data2" --release-key "$W/release.pub" \
    --master-secret-file "$W/master" --admin-token t0123456789abcdef
err_has "cannot listen"

# SIGINT stops it cleanly.
kill -INT "$FOTAD_PID"
rc=0
wait "$FOTAD_PID" || rc=$?
FOTAD_PID=""
[ "$rc" -eq 0 ] || fail "exit $rc after SIGINT"
grep -q "SIGINT: shutting down" "$W/fotad.log" || fail "SIGINT not logged"
check_sanitizer "$W/fotad.log"

# Bad config files name the file and line.
printf 'port = 0\nthreads = lots\n' >"$W/bad.conf"
run_fotad 2 --config "$W/bad.conf"
err_has "$W/bad.conf:2: bad value for threads"
printf 'colour = blue\n' >"$W/bad.conf"
run_fotad 2 --config "$W/bad.conf"
err_has "$W/bad.conf:1: unknown key 'colour'"
run_fotad 1 --config "$W/missing.conf"
err_has "cannot read the config file"

# Connection limits: --max-connections must be at least 1; with --max-connections-per-ip 3,
# a fourth connection from this address is closed unanswered until one of the three goes.
run_fotad 2 "${COMMON[@]}" --admin-token t0123456789abcdef --max-connections 0
err_has "bad value '0'"
fotad_start --max-connections-per-ip 3
exec {c1}<>"/dev/tcp/127.0.0.1/$PORT" {c2}<>"/dev/tcp/127.0.0.1/$PORT" {c3}<>"/dev/tcp/127.0.0.1/$PORT"
sleep 0.2
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$URL/healthz") || true
[ "$code" = 000 ] || fail "a fourth connection from one address was answered ($code)"
exec {c3}>&-
sleep 0.2
raw GET /healthz
expect 200 "a connection once the address is under its limit"
exec {c1}>&- {c2}>&-
fotad_stop

# --log-level warn: successful requests are not logged, errors are.
: >"$W/fotad.log"
fotad_start --log-level warn
raw GET /healthz
expect 200 "healthz"
raw GET /nothing
expect 404 "unknown route"
kill -TERM "$FOTAD_PID"
rc=0
wait "$FOTAD_PID" || rc=$?
FOTAD_PID=""
[ "$rc" -eq 0 ] || fail "exit $rc after SIGTERM"
check_sanitizer "$W/fotad.log"
grep -q 'path="/healthz"' "$W/fotad.log" && fail "info line written at --log-level warn"
grep -q 'path="/nothing" status=404' "$W/fotad.log" || fail "404 not logged at warn"
pass

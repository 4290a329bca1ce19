#!/usr/bin/env bash
# test_fotad_roles.sh - the admin API's roles, tokens and audit log against a real fotad
# (docs/ADMIN_API.md, "Roles and tokens", "Audit log"), on SQLite and then on PostgreSQL with two
# fotad sharing the database. The table ROUTES below names every admin route and its least role;
# it must equal what fotad --routes lists, so a route added to fotad without a line here fails the
# test. For every route a viewer, an operator and an admin token each get the expected answer
# (allowed, or 403 naming the role needed); whoami for each; the token is shown once (not in the
# listing, not in fotad's log, not in the SQLite file or the PostgreSQL tables); a revoked token is
# refused at once, on the other fotad too; the audit log has a row for every POST of the matrix
# with the token, role, action, target, client and status, pages with before/after and filters;
# fotactl token create/list/revoke and fotactl audit.
# Run by ctest as: bash test_fotad_roles.sh BUILD_DIR
source "$(dirname "$0")/lib/fotad.sh" "$1" fotad-roles
source "$(dirname "$0")/../support/pg.sh"
[ -x "$BUILD/fotactl" ] || fail "fotactl not built"

# Every admin route and the least role that may call it.
ROUTES='POST /api/admin/releases admin
GET /api/admin/releases viewer
GET /api/admin/releases/{id} viewer
GET /api/admin/devices viewer
GET /api/admin/overview viewer
GET /api/admin/devices/{id} viewer
POST /api/admin/assignments operator
GET /api/admin/assignments viewer
POST /api/admin/products admin
GET /api/admin/products viewer
GET /api/admin/products/{id} viewer
GET /api/admin/legacy viewer
POST /api/admin/legacy admin
GET /api/admin/enrollments viewer
POST /api/admin/enrollments/approve operator
POST /api/admin/enrollments/reject operator
POST /api/admin/enrollments/delete operator
POST /api/admin/device-tags operator
POST /api/admin/rollouts operator
GET /api/admin/rollouts viewer
GET /api/admin/rollouts/{id} viewer
GET /api/admin/rollouts/{id}/history viewer
POST /api/admin/rollouts/{id}/start operator
POST /api/admin/rollouts/{id}/pause operator
POST /api/admin/rollouts/{id}/resume operator
POST /api/admin/rollouts/{id}/cancel operator
POST /api/admin/rollouts/{id}/install operator
POST /api/admin/rollouts/{id}/update operator
GET /api/admin/whoami viewer
POST /api/admin/tokens admin
GET /api/admin/tokens admin
POST /api/admin/tokens/{id}/revoke admin
GET /api/admin/audit admin'

"$BUILD/fotad" --routes >"$W/routes.all" || fail "fotad --routes"
grep ' /api/admin/' "$W/routes.all" | sort >"$W/routes.fotad"
printf '%s\n' "$ROUTES" | sort >"$W/routes.test"
diff -u "$W/routes.test" "$W/routes.fotad" >&2 ||
    fail "the routes of fotad --routes differ from ROUTES"
! grep -v ' /api/admin/' "$W/routes.all" | grep -qv ' -$' || fail "a non-admin route with a role"

rank() {
    case $1 in viewer) echo 1 ;; operator) echo 2 ;; admin) echo 3 ;; *) fail "role $1" ;; esac
}

# call URL TOKEN METHOD PATH [curl args]: status in $STATUS, body in $W/body.
call() {
    local url=$1 token=$2 method=$3 path=$4
    shift 4
    STATUS=$(curl -s -o "$W/body" -w '%{http_code}' -X "$method" \
        -H "Authorization: Bearer $token" "$@" "$url$path") || fail "curl $method $path"
}

# json EXPR: a Python expression over the last body (parsed as j), printed.
json() {
    python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print($1)" "$W/body" ||
        fail "json: $1"
}

# mk_token URL NAME ROLE: make a token as the bootstrap admin; its text in $SECRET, id in $ID.
mk_token() {
    call "$1" "$TOKEN" POST /api/admin/tokens -d "{\"name\":\"$2\",\"role\":\"$3\"}"
    expect 201 "make the $3 token"
    SECRET=$(json 'j["secret"]')
    ID=$(json 'j["id"]')
    [ "$(json 'j["role"]')" = "$3" ] || fail "token role"
    [ "$(json 'j["created_by"]')" = bootstrap ] || fail "token made by"
    [[ $SECRET == fota_${ID}_* ]] || fail "token text $SECRET"
}

# suite URL OTHER_URL: everything, through URL; OTHER_URL is another fotad on the same store (or
# the same one).
suite() {
    local url=$1 other=$2
    URL=$url # fotactl_ok talks to it
    declare -A TOK TID
    for role in viewer operator admin; do
        mk_token "$url" "$role-token" "$role"
        TOK[$role]=$SECRET
        TID[$role]=$ID
    done

    # Bad token requests: refused, clear errors.
    call "$url" "$TOKEN" POST /api/admin/tokens -d '{"name":"x","role":"root"}'
    error_is 400 bad_request "an unknown role"
    call "$url" "$TOKEN" POST /api/admin/tokens -d '{"name":"","role":"viewer"}'
    error_is 400 bad_request "an empty name"
    call "$url" "$TOKEN" POST /api/admin/tokens/zz/revoke -d '{}'
    error_is 404 not_found "revoke an unknown token"

    # whoami for each.
    for role in viewer operator admin; do
        call "$other" "${TOK[$role]}" GET /api/admin/whoami
        expect 200 "whoami $role"
        [ "$(json 'j["token"], j["name"], j["role"]')" = "${TID[$role]} $role-token $role" ] ||
            fail "whoami $role: $(cat "$W/body")"
    done
    call "$url" "$TOKEN" GET /api/admin/whoami
    [ "$(json 'j["token"], j["role"]')" = "bootstrap admin" ] || fail "whoami bootstrap"
    call "$url" "${TOK[viewer]}x" GET /api/admin/whoami
    error_is 403 forbidden "a token with one more character"
    call "$url" "" GET /api/admin/whoami
    error_is 401 unauthorized "no token"

    # The matrix: every route, each role.
    local n_post=0 n_admin_post=0 n_operator_post=0 method path role who
    while read -r method path role; do
        local p=${path//\{id\}/1}
        [ "$method" = POST ] && n_post=$((n_post + 1))
        [ "$method $role" = "POST admin" ] && n_admin_post=$((n_admin_post + 1))
        [ "$method $role" = "POST operator" ] && n_operator_post=$((n_operator_post + 1))
        for who in viewer operator admin; do
            if [ "$method" = GET ]; then
                call "$url" "${TOK[$who]}" GET "$p"
            else
                call "$url" "${TOK[$who]}" POST "$p" -H 'Content-Type: application/json' -d '{}'
            fi
            if [ "$(rank "$who")" -ge "$(rank "$role")" ]; then
                case $STATUS in
                401 | 403 | 5*) fail "$who $method $path: $STATUS, not allowed" ;;
                esac
            else
                error_is 403 forbidden "$who $method $path"
                body_has "\"required_role\":\"$role\""
            fi
        done
    done <<<"$ROUTES"

    # The audit log: one row per POST of each token, refusals with 403.
    for who in viewer operator admin; do
        call "$url" "$TOKEN" GET "/api/admin/audit?limit=1000&token=${TID[$who]}"
        expect 200 "audit of $who"
        [ "$(json 'len(j["audit"])')" = "$n_post" ] || fail "audit rows of $who: $(cat "$W/body")"
        local refused
        refused=$(json 'sum(1 for a in j["audit"] if a["status"] == 403)')
        case $who in
        viewer) [ "$refused" = "$n_post" ] || fail "viewer refusals: $refused" ;;
        operator) [ "$refused" = "$n_admin_post" ] || fail "operator refusals: $refused" ;;
        admin) [ "$refused" = 0 ] || fail "admin refusals: $refused" ;;
        esac
        [ "$(json 'set(a["role"] for a in j["audit"]) == {"'"$who"'"}')" = True ] || fail "roles"
    done
    local pause="action=POST%20/api/admin/rollouts/%7Bid%7D/pause"
    call "$url" "$TOKEN" GET "/api/admin/audit?limit=1000&token=${TID[viewer]}&$pause"
    [ "$(json 'len(j["audit"])')" = 1 ] || fail "audit filtered by action: $(cat "$W/body")"
    [ "$(json '[j["audit"][0][k] for k in ("target","client","status","role")]')" = \
        "['1', '127.0.0.1', 403, 'viewer']" ] || fail "audit row: $(cat "$W/body")"
    call "$url" "$TOKEN" GET "/api/admin/audit?limit=1000&token=${TID[operator]}&$pause"
    [ "$(json 'j["audit"][0]["status"]')" = 404 ] || fail "the operator's pause: not done (404)"
    # Token creation by the bootstrap token, with the new id as target.
    call "$url" "$TOKEN" GET \
        "/api/admin/audit?limit=1000&token=bootstrap&action=POST%20/api/admin/tokens"
    local made='sum(1 for a in j["audit"] if a["status"] == 201 and a["target"] == "'"${TID[admin]}"'")'
    [ "$(json "$made")" = 1 ] ||
        fail "no audit row for the admin token's creation: $(cat "$W/body")"
    # GETs are not recorded.
    call "$url" "$TOKEN" GET "/api/admin/audit?limit=1000"
    [ "$(json 'sum(1 for a in j["audit"] if a["action"].startswith("GET"))')" = 0 ] ||
        fail "a GET audited"
    # Pages: newest first, before / after, more.
    call "$url" "$TOKEN" GET "/api/admin/audit?limit=3"
    [ "$(json 'len(j["audit"]), j["more"]')" = "3 True" ] || fail "first page"
    local s1 s3
    s1=$(json 'j["audit"][0]["seq"]')
    s3=$(json 'j["audit"][2]["seq"]')
    [ "$s1" -gt "$s3" ] || fail "not newest first"
    call "$url" "$TOKEN" GET "/api/admin/audit?limit=2&before=$s3"
    [ "$(json 'j["audit"][0]["seq"]')" -lt "$s3" ] || fail "before"
    call "$url" "$TOKEN" GET "/api/admin/audit?limit=2&after=$s3"
    [ "$(json '[a["seq"] for a in j["audit"]]')" = "[$((s3 + 1)), $((s3 + 2))]" ] || fail "after"
    call "$url" "$TOKEN" GET "/api/admin/audit?limit=0"
    error_is 400 bad_request "limit 0"
    call "$url" "$TOKEN" GET "/api/admin/audit?since=x"
    error_is 400 bad_request "since x"

    # The token is shown once: not in the listing, not in the log.
    call "$url" "$TOKEN" GET /api/admin/tokens
    expect 200 "token list"
    for role in viewer operator admin; do
        body_has "\"id\":\"${TID[$role]}\""
        ! grep -qF "${TOK[$role]#fota_*_}" "$W/body" || fail "a secret in the token list"
    done
    ! grep -q 'sha256\|secret' "$W/body" || fail "the list shows a digest or a secret"
    ! grep -qF "${TOK[admin]#fota_*_}" "$W"/*.log || fail "a secret in fotad's log"

    # Revoked: refused at once, here and by the other fotad; a second revoke keeps the first time.
    call "$url" "$TOKEN" POST "/api/admin/tokens/${TID[operator]}/revoke" -d '{}'
    expect 200 "revoke"
    local revoked
    revoked=$(json 'j["revoked"]')
    [ "$revoked" -gt 0 ] || fail "revoked time"
    call "$other" "${TOK[operator]}" GET /api/admin/whoami
    error_is 403 forbidden "a revoked token on the other fotad"
    call "$url" "${TOK[operator]}" POST /api/admin/rollouts/1/pause -d '{}'
    error_is 403 forbidden "a revoked token"
    sleep 1
    call "$url" "$TOKEN" POST "/api/admin/tokens/${TID[operator]}/revoke" -d '{}'
    [ "$(json 'j["revoked"]')" = "$revoked" ] || fail "a second revoke changed the time"
    call "$url" "$TOKEN" GET \
        "/api/admin/audit?limit=5&token=bootstrap&action=POST%20/api/admin/tokens/%7Bid%7D/revoke"
    [ "$(json 'sum(1 for a in j["audit"] if a["target"] == "'"${TID[operator]}"'")')" = 2 ] ||
        fail "revocations not audited"

    # fotactl.
    local out=$W/ctl.out
    : >"$out"
    fotactl_ok token create --name ctl-token --role viewer
    local ctl ctl_id
    ctl=$(grep -oE 'fota_[0-9a-f]{12}_[0-9a-f]{64}' "$out") ||
        fail "fotactl token create: $(cat "$out")"
    ctl_id=${ctl:5:12}
    grep -q "^Role *viewer" "$out" || fail "fotactl token create: role"
    : >"$out"
    fotactl_ok token list
    grep -q "^$ctl_id  *ctl-token  *viewer" "$out" || fail "fotactl token list: $(cat "$out")"
    ! grep -qF "${ctl#fota_*_}" "$out" || fail "fotactl token list shows the secret"
    local rc=0
    "$BUILD/fotactl" token list --server "$url" --token "$ctl" >"$W/ctl.viewer" 2>&1 || rc=$?
    [ "$rc" -ne 0 ] && grep -q "needs the role admin" "$W/ctl.viewer" ||
        fail "fotactl token list as a viewer: rc $rc, $(cat "$W/ctl.viewer")"
    "$BUILD/fotactl" rollout pause 1 --server "$url" --token "$ctl" >/dev/null 2>&1 || true
    : >"$out"
    fotactl_ok audit --limit 1 --token-id "$ctl_id"
    grep -q "ACTION" "$out" && grep -q "POST /api/admin/rollouts/{id}/pause" "$out" &&
        grep -q " 403$" "$out" || fail "fotactl audit: $(cat "$out")"
    : >"$out"
    fotactl_ok audit --limit 2
    grep -q "^(more: --before [0-9]*)$" "$out" || fail "fotactl audit: no next page: $(cat "$out")"
    : >"$out"
    fotactl_ok token revoke "$ctl_id"
    grep -q "^Revoked  *20" "$out" || fail "fotactl token revoke: $(cat "$out")"
    call "$url" "$ctl" GET /api/admin/whoami
    error_is 403 forbidden "the token fotactl revoked"
    rc=0
    "$BUILD/fotactl" token create --name x --role root --server "$url" --token "$TOKEN" \
        >/dev/null 2>&1 || rc=$?
    [ "$rc" -eq 2 ] || fail "fotactl token create --role root: exit $rc"
    check_sanitizer "$out" "$W/ctl.viewer"

    SECRETS=("${TOK[viewer]}" "${TOK[operator]}" "${TOK[admin]}" "$ctl")
}

# --- SQLite ---------------------------------------------------------------------------------------
make_keys
fotad_start
suite "$URL" "$URL"
fotad_stop
for s in "${SECRETS[@]}"; do
    ! grep -rqF "${s#fota_*_}" "$W/data" || fail "a secret in the SQLite store"
done
# The rows are there (the digests are), and they outlive a restart.
[ "$(sqlite3 "$W/data/fotad.db" 'SELECT count(*) FROM tokens')" = 4 ] || fail "tokens in SQLite"
fotad_start
call "$URL" "${SECRETS[0]}" GET /api/admin/whoami
expect 200 "a token after a restart"
call "$URL" "${SECRETS[1]}" GET /api/admin/whoami
error_is 403 forbidden "a revoked token after a restart"
fotad_stop

# --- PostgreSQL: two fotad on one database --------------------------------------------------------
NODE_PIDS=()
cleanup() {
    local p
    for p in "${NODE_PIDS[@]}"; do
        kill -KILL "$p" 2>/dev/null || true
    done
    pg_cluster_stop
    t_cleanup
}
trap cleanup EXIT
pg_cluster_start || fail "the PostgreSQL server did not start"
"$PG_BIN/psql" -X -q "$PG_URI" -c "CREATE DATABASE roles" || fail "createdb"
DB=$(pg_uri roles)
for n in a b; do
    "$BUILD/fotad" --port 0 --port-file "$W/$n.port" --data-dir "$W/node-$n" \
        --release-key "$W/release.pub" --master-secret-file "$W/master" \
        --admin-token-file "$W/token" --threads 2 --database "$DB" 2>"$W/node-$n.log" &
    NODE_PIDS+=($!)
    for i in $(seq 1 200); do
        [ -s "$W/$n.port" ] && break
        sleep 0.05
    done
    [ -s "$W/$n.port" ] || fail "fotad $n did not start"
done
suite "http://127.0.0.1:$(cat "$W/a.port")" "http://127.0.0.1:$(cat "$W/b.port")"
for n in a b; do
    check_sanitizer "$W/node-$n.log"
done
"$PG_BIN/psql" -X -q "$DB" -c "COPY tokens TO STDOUT" -c "COPY audit TO STDOUT" >"$W/pg.dump" ||
    fail "dump"
[ "$(grep -c . "$W/pg.dump")" -gt 4 ] || fail "no rows in PostgreSQL"
for s in "${SECRETS[@]}"; do
    ! grep -qF "${s#fota_*_}" "$W/pg.dump" || fail "a secret in PostgreSQL"
done
pass

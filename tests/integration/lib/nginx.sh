# nginx.sh - the integration tests' nginx in front of fotad (sourced after lib/fotad.sh, not run
# by ctest): the shipped server/nginx/fota.conf with the three lines it marks CHANGE changed
# (nginx's listen line, fotad's address $PORT, the data directory $W/data), included by a main
# configuration that keeps nginx's pid file, logs and temporary files in $W/nginx, started on a
# free loopback port by scripts/lib/nginx.sh.
#
#   nginx_front [--tls]   nginx in front of fotad_start's fotad; with --tls its listen line a
#                         TLS one with $W/nginx.pem and $W/nginx.key (tls_cert ca nginx ...), its
#                         health checked with $W/ca.pem; NGX_PID, URL_N (fails the test when
#                         nginx does not start)
#   ngx_stop              stop it
source "$(dirname "${BASH_SOURCE[0]}")/../../../scripts/lib/nginx.sh"
[ -x "$NGX_BIN" ] || fail "nginx is not installed: run scripts/install-deps"
NGX_TLS=0

# The shipped file for nginx on port PORT, checked to hold the lines this changes.
nginx_site() { # PORT
    local listen="listen 127.0.0.1:$1;" sub="listen 127.0.0.1:$1;"
    if [ "$NGX_TLS" = 1 ]; then
        listen="listen 127.0.0.1:$1 ssl;"
        sub="$listen\n\1ssl_certificate $W/nginx.pem;\n\1ssl_certificate_key $W/nginx.key;"
    fi
    sed -e "s|^\( *\)listen 80;.*|\1$sub|" \
        -e "s|^\( *\)server 127.0.0.1:8080;|\1server 127.0.0.1:$PORT;|" \
        -e "s|alias /var/lib/fotad/objects/;|alias $W/data/objects/;|" \
        "$(dirname "${BASH_SOURCE[0]}")/../../../server/nginx/fota.conf" >"$W/nginx/fota.conf"
    grep -q "$listen" "$W/nginx/fota.conf" &&
        grep -q "server 127.0.0.1:$PORT;" "$W/nginx/fota.conf" &&
        grep -q "alias $W/data/objects/;" "$W/nginx/fota.conf" ||
        fail "server/nginx/fota.conf no longer has the lines this test changes"
}

nginx_conf() { # PORT: nginx.conf, including the site for PORT
    {
        [ "$(id -u)" = 0 ] && echo "user root;"
        cat <<EOF2
worker_processes 1;
daemon off;
pid $W/nginx/nginx.pid;
error_log $W/nginx/error.log notice;
events { worker_connections 256; }
http {
    access_log $W/nginx/access.log;
    client_body_temp_path $W/nginx/tmp/body;
    proxy_temp_path $W/nginx/tmp/proxy;
    fastcgi_temp_path $W/nginx/tmp/fastcgi;
    uwsgi_temp_path $W/nginx/tmp/uwsgi;
    scgi_temp_path $W/nginx/tmp/scgi;
    include $W/nginx/fota.conf;
}
EOF2
    } >"$W/nginx/nginx.conf"
    nginx_site "$1"
}

nginx_front() {
    NGX_TLS=0
    if [ "${1:-}" = --tls ]; then
        NGX_TLS=1
        ngx_start "$W/nginx" nginx_conf https --cacert "$W/ca.pem" || fail "nginx did not start"
    else
        ngx_start "$W/nginx" nginx_conf http || fail "nginx did not start"
    fi
    URL_N=$NGX_URL
}

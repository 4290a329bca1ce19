# cluster.sh - fotad past one machine on loopback, the pieces scripts/cluster-demo and
# bench/cluster.sh both start (sourced, not run): fotad nodes on one PostgreSQL database, each
# with its own data directory, and nginx in front of them (an upstream hashed on the device id,
# one internal location per node's object cache for its X-Accel-Redirect). The caller sets W (a
# private directory), BUILD, and has sourced tests/support/pg.sh and started its server.
#
#   cl_node NAME DATABASE_URI [fotad args]   start fotad NAME; CL_PORT[NAME], CL_PID[NAME]
#                                            (with "$(cl_accel NAME)" among its args, its blob
#                                            bytes are left to the nginx of cl_nginx)
#   cl_nginx NAME...                         nginx in front of those nodes; CL_URL
#   cl_stop                                  stop nginx and every node still running
# nginx is started and stopped by scripts/lib/nginx.sh.
source "$(dirname "${BASH_SOURCE[0]}")/nginx.sh"
declare -A CL_PORT CL_PID
CL_NGINX_PID=""
CL_URL=""
CL_NGINX=$NGX_BIN

cl_node() {
    local n=$1 db=$2
    shift 2
    rm -f "$W/$n.port"
    "$BUILD/fotad" --port 0 --port-file "$W/$n.port" --data-dir "$W/data-$n" --database "$db" \
        --release-key "$W/release.pub" --master-secret-file "$W/master" \
        --admin-token-file "$W/token" "$@" 2>>"$W/$n.log" &
    CL_PID[$n]=$!
    local _
    for _ in $(seq 1 200); do
        [ -s "$W/$n.port" ] && break
        kill -0 "${CL_PID[$n]}" 2>/dev/null || break
        sleep 0.05
    done
    [ -s "$W/$n.port" ] || { tail "$W/$n.log" >&2; echo "fotad $n did not start" >&2; return 1; }
    CL_PORT[$n]=$(cat "$W/$n.port")
}

# The fotad option that leaves node NAME's blob bytes to nginx (its internal location).
cl_accel() {
    echo "--accel-redirect=/_fota_objects_$1/"
}

# The configuration of nginx in front of the nodes named, on port NGINX_PORT (replaced later).
cl_nginx_conf() {
    local n
    [ "$(id -u)" = 0 ] && echo "user root;"
    cat <<EOF2
worker_processes 2;
daemon off;
pid $W/nginx/nginx.pid;
error_log $W/nginx/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 100000000;
    client_body_temp_path $W/nginx/tmp/body;
    proxy_temp_path $W/nginx/tmp/proxy;
    fastcgi_temp_path $W/nginx/tmp/fastcgi;
    uwsgi_temp_path $W/nginx/tmp/uwsgi;
    scgi_temp_path $W/nginx/tmp/scgi;
    upstream fotad {
        hash \$http_x_device_id consistent;
$(for n in "$@"; do echo "        server 127.0.0.1:${CL_PORT[$n]} max_fails=1 fail_timeout=5s;"; done)
        keepalive 32;
        keepalive_timeout 20s;
    }
    server {
        listen 127.0.0.1:NGINX_PORT;
        client_max_body_size 16m;
        location / {
            proxy_pass http://fotad;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host \$host;
            proxy_pass_header Date;
        }
EOF2
    for n in "$@"; do
        cat <<EOF2
        location /_fota_objects_$n/ {
            internal;
            alias $W/data-$n/objects/;
            sendfile on;
            tcp_nopush on;
            types { }
            default_type application/octet-stream;
            etag off;
            add_header ETag \$upstream_http_etag always;
            add_header Last-Modified "" always;
            if_modified_since off;
            max_ranges 1;
        }
EOF2
    done
    echo "    }"
    echo "}"
}

# nginx.conf for port PORT, from the configuration cl_nginx wrote.
cl_nginx_port() { # PORT
    sed "s/NGINX_PORT/$1/" "$W/nginx/nginx.conf.in" >"$W/nginx/nginx.conf"
}

cl_nginx() {
    mkdir -p "$W/nginx"
    cl_nginx_conf "$@" >"$W/nginx/nginx.conf.in"
    ngx_start "$W/nginx" cl_nginx_port http || return 1
    CL_NGINX_PID=$NGX_PID
    CL_URL=$NGX_URL
}

cl_stop() {
    local n
    ngx_stop
    CL_NGINX_PID=""
    for n in "${!CL_PID[@]}"; do
        if [ -n "${CL_PID[$n]}" ]; then
            kill -TERM "${CL_PID[$n]}" 2>/dev/null && wait "${CL_PID[$n]}" 2>/dev/null
            CL_PID[$n]=""
        fi
    done
    true
}

#!/usr/bin/env bash
# Sourced by the benchmarks: starts nginx (one worker, a small static file, keep-alive
# without limit) on a free loopback port in "$work", sets URL and BASE, and stops it on
# exit. Also serves /api/phien-ban as release 1.0.0 for `stagegate run`'s version check,
# and /nginx_status (stub_status: the requests the server answered, counted by the server).
# Needs `work` set to a scratch folder; installs nginx-light when missing (as root).
command -v nginx >/dev/null 2>&1 || { apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >/dev/null; }
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$work/www/api"
printf 'ok\n' > "$work/www/index.html"
printf '{"version":"1.0.0"}' > "$work/www/api/phien-ban"
cat > "$work/nginx.conf" <<CONF
worker_processes 1;
worker_rlimit_nofile 65000;
pid $work/nginx.pid;
error_log $work/error.log;
events { worker_connections 60000; }
http {
  access_log off;
  client_body_temp_path $work; proxy_temp_path $work; fastcgi_temp_path $work; uwsgi_temp_path $work; scgi_temp_path $work;
  keepalive_requests 1000000;
  server { listen 127.0.0.1:$port; root $work/www; location = /nginx_status { stub_status; } }
}
CONF
nginx -c "$work/nginx.conf" -p "$work"
trap 'kill $(cat "$work/nginx.pid" 2>/dev/null) 2>/dev/null || true; rm -rf "$work"' EXIT
BASE="http://127.0.0.1:$port"
URL="$BASE/index.html"
sleep 0.5

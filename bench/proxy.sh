#!/usr/bin/env bash
# Proxy benchmark: the same load generator (wrk) against a fast stub runtime
# directly, through llmlbd, and through nginx as a plain reverse proxy, for
# non-streaming chat at 1 and 64 connections; and time to first byte of a
# streamed answer (curl, 200 requests each). The same again over TLS: a
# second llmlbd with --tls self-signed, and nginx with `ssl` on that same
# certificate and key (clients keep their connections, so this measures
# record encryption, not handshakes). Loopback only; bounded.
#
#   bash bench/proxy.sh            # prints a Markdown table
#   DURATION=20 bash bench/proxy.sh
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10}
TTFB_RUNS=${TTFB_RUNS:-200}
STUB=127.0.0.1:18080
LB=127.0.0.1:18000
NGINX=127.0.0.1:18001
LB_TLS=127.0.0.1:18002
NGINX_TLS=127.0.0.1:18003
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

need() { command -v "$1" >/dev/null 2>&1; }
if ! need wrk || ! need nginx || ! need curl; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq wrk nginx-light curl >/dev/null
fi
NGINX_BIN=$(command -v nginx || echo /usr/sbin/nginx)

cargo build --release --quiet --bin llmlbd --example stub_runtime

wait_port() { # host:port [scheme]
  for _ in $(seq 1 100); do
    if curl -sk -o /dev/null "${2:-http}://$1/"; then return 0; fi
    sleep 0.1
  done
  echo "nothing answers on $1" >&2; exit 1
}

# The stub runtime.
target/release/examples/stub_runtime "$STUB" 2>/dev/null &
PIDS+=($!)
wait_port "$STUB"

# llmlbd, with the stub registered, approved and kept online: plain on $LB,
# and with its own self-signed certificate on $LB_TLS.
heartbeat() { # base-url token node-id
  curl -skf -X POST "$1/v0/health" -H "x-node-token: $2" \
    -H 'content-type: application/json' \
    -d "{\"node_id\":\"$3\",\"cpu_usage\":1,\"memory_usage\":1,
         \"loaded_models\":[\"bench-model\"],\"ready_models\":[1,1]}" >/dev/null
}
start_lb() { # base-url data-dir extra-flags...
  local base=$1 dir=$2; shift 2
  target/release/llmlbd --listen "${base#*://}" --data-dir "$dir" "$@" 2>"$dir.log" &
  PIDS+=($!)
  wait_port "${base#*://}" "${base%%://*}"
  local admin reg node token
  admin=$(cat "$dir/admin.token")
  reg=$(curl -skf -X POST "$base/v0/nodes" -H 'content-type: application/json' -d "{
    \"machine_name\": \"bench-stub\", \"ip_address\": \"127.0.0.1\", \"runtime_version\": \"stub\",
    \"runtime_port\": ${STUB##*:}, \"node_api_port\": ${STUB##*:}, \"gpu_available\": true,
    \"gpu_devices\": [{\"model\": \"RTX 4090\", \"count\": 1}]}")
  node=$(echo "$reg" | sed -E 's/.*"node_id":"([^"]+)".*/\1/')
  token=$(echo "$reg" | sed -E 's/.*"runtime_token":"([^"]+)".*/\1/')
  curl -skf -X POST "$base/v0/nodes/$node/approve" -H "authorization: Bearer $admin" >/dev/null
  heartbeat "$base" "$token" "$node"
  ( while sleep 5; do heartbeat "$base" "$token" "$node" || true; done ) &
  PIDS+=($!)
}
start_lb "http://$LB" "$WORK/lb"
start_lb "https://$LB_TLS" "$WORK/lbtls" --tls self-signed

# nginx as a plain reverse proxy with upstream keep-alive.
mkdir -p "$WORK/nginx/logs"
cat >"$WORK/nginx/nginx.conf" <<CONF
worker_processes 2;
error_log $WORK/nginx/logs/error.log warn;
pid $WORK/nginx/nginx.pid;
events { worker_connections 4096; }
http {
  access_log off;
  # wrk keeps its connections; nginx would close each after 1000 requests
  # (llmlbd sets no such limit), which over TLS means a new handshake.
  keepalive_requests 1000000;
  upstream stub { server $STUB; keepalive 128; }
  server {
    listen $NGINX;
    location / {
      proxy_pass http://stub;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
    }
  }
  # The same over TLS, on llmlbd's own certificate and key.
  server {
    listen $NGINX_TLS ssl;
    ssl_certificate $WORK/lbtls/tls.crt;
    ssl_certificate_key $WORK/lbtls/tls.key;
    ssl_protocols TLSv1.2 TLSv1.3;
    location / {
      proxy_pass http://stub;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
    }
  }
}
CONF
"$NGINX_BIN" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -g 'daemon off;' &
PIDS+=($!)
wait_port "$NGINX"
wait_port "$NGINX_TLS" https

BODY='{"model":"bench-model","messages":[{"role":"user","content":"Say hello."}]}'
cat >"$WORK/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '$BODY'
LUA

# wrk → "p50_us p99_us rps"
to_us() {
  awk '{ v=$1; if (v ~ /us$/) { sub(/us$/,"",v); print v }
         else if (v ~ /ms$/) { sub(/ms$/,"",v); print v*1000 }
         else if (v ~ /s$/) { sub(/s$/,"",v); print v*1000000 } }'
}
run_wrk() { # url threads connections
  local out
  out=$(wrk -t"$2" -c"$3" -d"${DURATION}s" --latency -s "$WORK/post.lua" "$1")
  if echo "$out" | grep -q "Non-2xx"; then echo "wrk saw errors for $1:" >&2; echo "$out" >&2; exit 1; fi
  local p50 p99 rps
  p50=$(echo "$out" | awk '$1=="50%"{print $2}' | to_us)
  p99=$(echo "$out" | awk '$1=="99%"{print $2}' | to_us)
  rps=$(echo "$out" | awk '/Requests\/sec/{print $2}')
  echo "$p50 $p99 $rps"
}

ttfb() { # url → "p50_us p99_us"
  local i
  for i in $(seq 1 "$TTFB_RUNS"); do
    curl -sk -o /dev/null -w '%{time_starttransfer}\n' -X POST "$1" \
      -H 'content-type: application/json' \
      -d '{"model":"bench-model","stream":true,"messages":[{"role":"user","content":"hi"}]}'
  done | sort -n | awk '{a[NR]=$1} END {
      printf "%.0f %.0f\n", a[int(NR*0.5)]*1e6, a[int(NR*0.99)]*1e6 }'
}

declare -A R
declare -A URL=(
  [direct]="http://$STUB/v1/chat/completions"
  [llmlbd]="http://$LB/v1/chat/completions"
  [nginx]="http://$NGINX/v1/chat/completions"
  [llmlbd-tls]="https://$LB_TLS/v1/chat/completions"
  [nginx-tls]="https://$NGINX_TLS/v1/chat/completions"
)
TARGETS=(direct llmlbd nginx llmlbd-tls nginx-tls)
for target in "${TARGETS[@]}"; do
  url=${URL[$target]}
  run_wrk "$url" 1 8 >/dev/null # warm-up: connections, pools
  R[$target,c1]=$(run_wrk "$url" 1 1)
  R[$target,ttfb]=$(ttfb "$url")
done
# Throughput drifts with the machine (a shared VM), so llmlbd and nginx run
# alternately, ROUNDS times, and the ratio is the median of the rounds.
ROUNDS=${ROUNDS:-3}
ratios=()
tls_ratios=()
rps_of() { echo "${R[$1,c64,$2]}" | awk '{print $3}'; }
for round in $(seq 1 "$ROUNDS"); do
  for target in "${TARGETS[@]}"; do
    R[$target,c64,$round]=$(run_wrk "${URL[$target]}" 2 64)
  done
  ratios+=("$(awk -v a="$(rps_of llmlbd "$round")" -v b="$(rps_of nginx "$round")" 'BEGIN { print a/b }')")
  tls_ratios+=("$(awk -v a="$(rps_of llmlbd-tls "$round")" -v b="$(rps_of nginx-tls "$round")" 'BEGIN { print a/b }')")
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
for target in "${TARGETS[@]}"; do
  rps=(); p99=()
  for round in $(seq 1 "$ROUNDS"); do
    rps+=("$(echo "${R[$target,c64,$round]}" | awk '{print $3}')")
    p99+=("$(echo "${R[$target,c64,$round]}" | awk '{print $2}')")
  done
  R[$target,c64]="0 $(median "${p99[@]}") $(median "${rps[@]}")"
done

f() { echo "${R[$1,$2]}" | awk -v i="$3" '{print $i}'; }
ms() { awk -v v="$1" 'BEGIN { printf "%.3f ms", v/1000 }'; }
added() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%+.3f ms", (a-b)/1000 }'; }

echo "Proxy benchmark, $(date -u +%Y-%m-%d), $(nproc) cores, wrk ${DURATION}s per run, 64-connection runs: median of $ROUNDS alternating rounds, TTFB over $TTFB_RUNS requests"
echo
echo "| path | 1 conn p50 | 1 conn p99 | 64 conn req/s (median) | 64 conn p99 (median) | stream TTFB p50 | stream TTFB p99 |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
for t in "${TARGETS[@]}"; do
  echo "| $t | $(ms "$(f $t c1 1)") | $(ms "$(f $t c1 2)") | $(f $t c64 3) | $(ms "$(f $t c64 2)") | $(ms "$(f $t ttfb 1)") | $(ms "$(f $t ttfb 2)") |"
done
echo
ratio=$(awk -v r="$(median "${ratios[@]}")" 'BEGIN { printf "%.2f", r }')
all_ratios=$(printf '%.2f ' "${ratios[@]}")
echo "| figure | target | llmlbd | nginx |"
echo "| --- | --- | --- | --- |"
echo "| added latency p50, 1 connection | ≤ 0.2 ms | $(added "$(f llmlbd c1 1)" "$(f direct c1 1)") | $(added "$(f nginx c1 1)" "$(f direct c1 1)") |"
echo "| added latency p99, 1 connection | ≤ 1 ms | $(added "$(f llmlbd c1 2)" "$(f direct c1 2)") | $(added "$(f nginx c1 2)" "$(f direct c1 2)") |"
echo "| throughput at 64 connections vs nginx (median of rounds: ${all_ratios% }) | ≥ 0.90× | ${ratio}× | 1.00× |"
echo "| added TTFB p50, streaming | | $(added "$(f llmlbd ttfb 1)" "$(f direct ttfb 1)") | $(added "$(f nginx ttfb 1)" "$(f direct ttfb 1)") |"
tls_ratio=$(awk -v r="$(median "${tls_ratios[@]}")" 'BEGIN { printf "%.2f", r }')
all_tls=$(printf '%.2f ' "${tls_ratios[@]}")
echo
echo "Over TLS (llmlbd-tls and nginx-tls on one certificate; added latency is against the stub without TLS):"
echo
echo "| figure | target | llmlbd-tls | nginx-tls |"
echo "| --- | --- | --- | --- |"
echo "| added latency p50, 1 connection | ≤ 0.2 ms | $(added "$(f llmlbd-tls c1 1)" "$(f direct c1 1)") | $(added "$(f nginx-tls c1 1)" "$(f direct c1 1)") |"
echo "| added latency p99, 1 connection | | $(added "$(f llmlbd-tls c1 2)" "$(f direct c1 2)") | $(added "$(f nginx-tls c1 2)" "$(f direct c1 2)") |"
echo "| throughput at 64 connections vs nginx-tls (median of rounds: ${all_tls% }) | ≥ 0.90× | ${tls_ratio}× | 1.00× |"
echo "| added TTFB p50, streaming (a new TLS connection each) | | $(added "$(f llmlbd-tls ttfb 1)" "$(f direct ttfb 1)") | $(added "$(f nginx-tls ttfb 1)" "$(f direct ttfb 1)") |"

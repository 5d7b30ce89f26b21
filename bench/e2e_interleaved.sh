#!/usr/bin/env bash
# Authenticated ÷ unauthenticated throughput of the bench server, measured in alternating rounds.
#
# `../shared/bench/peers/bench.sh` runs each server once for 8 s, one after the other; on a shared
# VM whose speed moves by a third between minutes, one such pair cannot tell 0.95 from 1.0. Here
# both servers (`bench_server --auth` and `bench_server`) run at once, pinned to CPU 0, and wrk
# (pinned to CPU 1, the harness's `bench.lua`, request and token) loads one at a time: ROUNDS
# rounds of ROUND_SECONDS on each, the order flipped every round (ABBA) so drift cancels. It prints
# every round and the median of the per-round ratios of req/s, of p99, and of the server's CPU
# time per request (user + system, from /proc: what the server spent, whatever else ran).
#
#   bench/e2e_interleaved.sh                  # after one run of bench.sh (its keys and bench.lua)
#   ROUNDS=15 ROUND_SECONDS=3 CONNS=16 BENCH_WORK=/tmp/mcp-peers-bench/work bench/e2e_interleaved.sh
#   AUTH_ARGS= bench/e2e_interleaved.sh      # A/A check of the method: both servers plain
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WORK=${BENCH_WORK:-/tmp/mcp-peers-bench/work}
ROUNDS=${ROUNDS:-15}
ROUND_SECONDS=${ROUND_SECONDS:-3}
CONNS=${CONNS:-16}
SERVER=${SERVER:-$ROOT/target/release/bench_server}
AUTH_ARGS=${AUTH_ARGS---auth}
PORT_AUTH=${PORT_AUTH:-18201}
PORT_PLAIN=${PORT_PLAIN:-18202}
BODY='{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"delete_product","arguments":{"id":42}}}'

die() { echo "e2e_interleaved: $*" >&2; exit 1; }
[[ -x "$SERVER" ]] || die "no $SERVER: cargo build --release -p mcp-rbac-examples --bin bench_server"
[[ -f "$WORK/keys/token.jwt" && -f "$WORK/bench.lua" ]] ||
  die "no keys or bench.lua in $WORK: run ../shared/bench/peers/bench.sh once first"
command -v wrk >/dev/null || die "wrk missing (bench.sh installs it)"

export BENCH_PUBLIC_KEY="$WORK/keys/public.pem" BENCH_ISSUER="https://issuer.bench.local/"
export BENCH_AUDIENCE="mcp-peers-bench" BENCH_TOKEN BENCH_PROTO=2025-11-25 BENCH_BODY="$BODY"
BENCH_TOKEN=$(cat "$WORK/keys/token.jwt")

PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT
# shellcheck disable=SC2086  # AUTH_ARGS is a word list, empty for the A/A check
taskset -c 0 "$SERVER" --port "$PORT_AUTH" $AUTH_ARGS >/dev/null 2>&1 & PID_AUTH=$!
taskset -c 0 "$SERVER" --port "$PORT_PLAIN" >/dev/null 2>&1 & PID_PLAIN=$!
PIDS+=("$PID_AUTH" "$PID_PLAIN")

call() {  # port -> the answer's text
  curl -s -m 5 -X POST "http://127.0.0.1:$1/mcp" -H 'Content-Type: application/json' \
    -H 'Accept: application/json, text/event-stream' -H "MCP-Protocol-Version: $BENCH_PROTO" \
    -H "Authorization: Bearer $BENCH_TOKEN" --data "$BODY" || true
}
for port in "$PORT_AUTH" "$PORT_PLAIN"; do
  for _ in $(seq 1 50); do call "$port" | grep -q 'product 42 deleted' && continue 2; sleep 0.2; done
  die "the server on port $port did not answer"
done

cpu_ticks() {  # pid -> user+system clock ticks the process has used
  awk '{print $14 + $15}' "/proc/$1/stat"
}

load() {  # port pid seconds -> "rps p99_ms cpu_us_per_request"
  local out before
  before=$(cpu_ticks "$2")
  out=$(cd "$WORK" && taskset -c 1 wrk -t1 -c"$CONNS" -d"${3}s" --timeout 5s --latency \
    -s bench.lua "http://127.0.0.1:$1/mcp" 2>&1 | grep '^RESULT ') || die "wrk gave no RESULT"
  awk -v ticks="$(( $(cpu_ticks "$2") - before ))" -v hz="$(getconf CLK_TCK)" \
    '{for (i = 2; i <= NF; i++) {split($i, kv, "="); r[kv[1]] = kv[2]}
      if (r["non2xx"] + r["rpc_error"] + r["tool_error"] + r["sock_errors"] > 0) exit 1
      print r["rps"], r["p99_ms"], 1e6 * ticks / hz / r["requests"]}' <<<"$out" ||
    die "errors under load: $out"
}
load "$PORT_AUTH" "$PID_AUTH" 2 >/dev/null
load "$PORT_PLAIN" "$PID_PLAIN" 2 >/dev/null

echo "# $ROUNDS rounds of ${ROUND_SECONDS}s per server, wrk -t1 -c$CONNS, servers on cpu0, wrk on cpu1"
printf '%5s %10s %10s %7s %9s %9s %7s %8s %8s %7s\n' round auth_rps plain_rps ratio \
  auth_p99 plain_p99 ratio auth_cpu plain_cpu ratio
RATIOS=()
P99_RATIOS=()
CPU_RATIOS=()
for round in $(seq 1 "$ROUNDS"); do
  if (( round % 2 )); then
    read -r a_rps a_p99 a_cpu < <(load "$PORT_AUTH" "$PID_AUTH" "$ROUND_SECONDS")
    read -r p_rps p_p99 p_cpu < <(load "$PORT_PLAIN" "$PID_PLAIN" "$ROUND_SECONDS")
  else
    read -r p_rps p_p99 p_cpu < <(load "$PORT_PLAIN" "$PID_PLAIN" "$ROUND_SECONDS")
    read -r a_rps a_p99 a_cpu < <(load "$PORT_AUTH" "$PID_AUTH" "$ROUND_SECONDS")
  fi
  ratio=$(awk -v a="$a_rps" -v p="$p_rps" 'BEGIN{printf "%.3f", a / p}')
  p99_ratio=$(awk -v a="$a_p99" -v p="$p_p99" 'BEGIN{printf "%.3f", a / p}')
  cpu_ratio=$(awk -v a="$a_cpu" -v p="$p_cpu" 'BEGIN{printf "%.3f", a / p}')
  RATIOS+=("$ratio")
  P99_RATIOS+=("$p99_ratio")
  CPU_RATIOS+=("$cpu_ratio")
  printf '%5d %10.1f %10.1f %7s %9.2f %9.2f %7s %8.1f %8.1f %7s\n' "$round" "$a_rps" "$p_rps" \
    "$ratio" "$a_p99" "$p_p99" "$p99_ratio" "$a_cpu" "$p_cpu" "$cpu_ratio"
done
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END{print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
echo "median auth/plain: req/s $(median "${RATIOS[@]}"), p99 $(median "${P99_RATIOS[@]}"), server CPU µs per request $(median "${CPU_RATIOS[@]}")"

#!/usr/bin/env bash
# Measures the reference app's server CPU time per request on /api/whoami
# (cookie and file session stores) against a bare handler, with wrk as the
# load generator on the other core. Needs wrk (apt-get install wrk).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DUR="${DUR:-10}"
CONNS="${CONNS:-64}"
BIN="$ROOT/.cache/bin/loadtest"
go build -o "$BIN" "$ROOT/internal/loadtest"
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)"; exit 1; }

cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)

measure() { # store path cookie?
	local store=$1 path=$2 withcookie=$3 out pid url cookie
	out=$(mktemp)
	taskset -c 0 "$BIN" -store "$store" >"$out" &
	pid=$!
	for _ in $(seq 100); do grep -q '^COOKIE=' "$out" && break; sleep 0.1; done
	url=$(sed -n 's/^URL=//p' "$out"); cookie=$(sed -n 's/^COOKIE=//p' "$out")
	local hdr=()
	[[ $withcookie == 1 ]] && hdr=(-H "Cookie: $cookie")
	taskset -c 1 wrk -t1 -c"$CONNS" -d2s "${hdr[@]}" "$url$path" >/dev/null # warm up
	local t0 t1 res reqs
	t0=$(cpu_ticks $pid)
	res=$(taskset -c 1 wrk -t1 -c"$CONNS" -d"${DUR}s" --latency "${hdr[@]}" "$url$path")
	t1=$(cpu_ticks $pid)
	kill $pid; wait $pid 2>/dev/null || true; rm -f "$out"
	reqs=$(echo "$res" | awk '/requests in/ {print $1}')
	local non2xx; non2xx=$(echo "$res" | awk '/Non-2xx/ {print $5}')
	local p50 p99; p50=$(echo "$res" | awk '$1=="50%" {print $2}'); p99=$(echo "$res" | awk '$1=="99%" {print $2}')
	awk -v s="$store" -v p="$path" -v c="$withcookie" -v t=$((t1 - t0)) -v hz="$hz" -v n="$reqs" -v e="${non2xx:-0}" -v p50="$p50" -v p99="$p99" \
		'BEGIN { printf "%-6s %-14s cookie=%s  requests=%-8d non2xx=%-4s  server CPU/request=%6.2f µs  p50=%s p99=%s\n", s, p, c, n, e, t / hz / n * 1e6, p50, p99 }'
}

echo "wrk: 1 thread, $CONNS connections, ${DUR}s; server on core 0, wrk on core 1"
measure cookie /bare/whoami 0
measure cookie /bare/whoami 1
measure cookie /api/whoami 1
measure file /bare/whoami 1
measure file /api/whoami 1

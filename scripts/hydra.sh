#!/usr/bin/env bash
# hydra.sh — build, start and stop a local Ory Hydra v2.3.0 for tests and the demo.
#
#   scripts/hydra.sh build                 build (or reuse) .cache/bin/hydra
#   scripts/hydra.sh path                  print the binary path, building it if needed
#   scripts/hydra.sh start CONFIG [PIDFILE] [LOGFILE]
#                                          run `hydra serve all --dev` with CONFIG in the
#                                          background, wait until both ports are ready
#   scripts/hydra.sh stop [PIDFILE]        stop the server started with PIDFILE
#
# The binary is built from the v2.3.0 module sources with SQLite (cgo) and kept in
# .cache/bin (git-ignored); a stamp file records the version it was built from.
set -euo pipefail

VERSION=v2.3.0
CLIENT_VERSION=v2.2.1
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="$ROOT/.cache"
BIN="$CACHE/bin/hydra"
STAMP="$CACHE/bin/hydra.version"
DEFAULT_PIDFILE="$CACHE/hydra.pid"
DEFAULT_LOGFILE="$CACHE/hydra.log"

die() { echo "hydra.sh: $*" >&2; exit 1; }

# is_built reports whether $BIN exists and was built from $VERSION, by its
# stamp file or by what `hydra version` prints (this script stamps it).
is_built() {
	[[ -x "$BIN" ]] || return 1
	[[ -f "$STAMP" && "$(cat "$STAMP")" == "$VERSION" ]] && return 0
	"$BIN" version 2>/dev/null | grep -Eq "^Version:[[:space:]]+$VERSION\$"
}

build() {
	if is_built; then
		echo "hydra.sh: reusing $BIN ($VERSION)" >&2
		return 0
	fi
	command -v go >/dev/null || die "go is not on PATH"
	command -v "${CC:-gcc}" >/dev/null || die "a C compiler (${CC:-gcc}) is needed: Hydra's SQLite driver uses cgo"
	local start=$SECONDS
	mkdir -p "$CACHE/bin"
	# Concurrent builds (parallel test packages) wait for the first one.
	if command -v flock >/dev/null; then
		exec 9>"$CACHE/hydra-build.lock"
		flock 9
		if is_built; then
			echo "hydra.sh: reusing $BIN ($VERSION), built meanwhile" >&2
			return 0
		fi
	fi
	local dir
	# Run outside the project so that its go.mod and go.sum stay untouched.
	dir="$(cd / && GOWORK=off GOFLAGS=-mod=mod go mod download -json "github.com/ory/hydra/v2@$VERSION" |
		sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
	[[ -n "$dir" && -d "$dir" ]] || die "go mod download github.com/ory/hydra/v2@$VERSION gave no source directory"
	local src="$CACHE/hydra-src-$VERSION"
	if [[ -d "$src" ]]; then
		chmod -R u+w "$src"
		rm -rf "$src"
	fi
	cp -R "$dir" "$src"
	chmod -R u+w "$src"
	# The module's go.mod points the generated client at a directory the module
	# zip does not contain; use the published client instead.
	sed -i '\#^replace github.com/ory/hydra-client-go/v2 => ./internal/httpclient#d' "$src/go.mod"
	(
		cd "$src"
		export GOFLAGS="-mod=mod -buildvcs=false" GOWORK=off
		go get "github.com/ory/hydra-client-go/v2@$CLIENT_VERSION"
		CGO_ENABLED=1 go build -tags sqlite,sqlite_omit_load_extension \
			-ldflags "-X github.com/ory/hydra/v2/driver/config.Version=$VERSION" -o "$BIN.tmp" .
	)
	mv "$BIN.tmp" "$BIN"
	chmod -R u+w "$src"
	rm -rf "$src"
	echo "$VERSION" >"$STAMP"
	echo "hydra.sh: built $BIN ($VERSION) in $((SECONDS - start))s" >&2
}

# ports_of CONFIG prints the public and admin "host:port" of a config written in
# the flow style used by internal/hydra and HYDRA.md.
ports_of() {
	local cfg=$1 kind
	for kind in public admin; do
		local line host port
		line="$(grep -E "^[[:space:]]*$kind:[[:space:]]*\{" "$cfg" | head -n1 || true)"
		host="$(sed -n 's/.*host:[[:space:]]*"\{0,1\}\([^",}[:space:]]*\).*/\1/p' <<<"$line")"
		port="$(sed -n 's/.*port:[[:space:]]*\([0-9]*\).*/\1/p' <<<"$line")"
		[[ -n "$port" ]] || die "no serve.$kind port found in $cfg (expected '$kind: {host: H, port: P}')"
		echo "${host:-127.0.0.1}:$port"
	done
}

wait_ready() {
	local pid=$1 addr deadline=$((SECONDS + 30))
	shift
	for addr in "$@"; do
		until curl -fsS -o /dev/null "http://$addr/health/ready" 2>/dev/null; do
			kill -0 "$pid" 2>/dev/null || return 1
			((SECONDS < deadline)) || return 1
			sleep 0.05
		done
	done
}

start() {
	local cfg=${1:-} pidfile=${2:-$DEFAULT_PIDFILE} logfile=${3:-$DEFAULT_LOGFILE}
	[[ -n "$cfg" ]] || die "usage: hydra.sh start CONFIG [PIDFILE] [LOGFILE]"
	[[ -f "$cfg" ]] || die "config $cfg does not exist"
	command -v curl >/dev/null || die "curl is needed to wait for readiness"
	if [[ -f "$pidfile" ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
		die "already running with PID $(cat "$pidfile") ($pidfile)"
	fi
	local addrs
	mapfile -t addrs < <(ports_of "$cfg")
	build
	mkdir -p "$(dirname "$pidfile")" "$(dirname "$logfile")"
	local t0=$SECONDS
	"$BIN" serve all --dev --sqa-opt-out -c "$cfg" >"$logfile" 2>&1 &
	local pid=$!
	echo "$pid" >"$pidfile"
	if ! wait_ready "$pid" "${addrs[@]}"; then
		kill "$pid" 2>/dev/null || true
		rm -f "$pidfile"
		tail -n 20 "$logfile" >&2 || true
		die "hydra did not become ready on ${addrs[*]} (log: $logfile)"
	fi
	echo "hydra.sh: ready (PID $pid, public http://${addrs[0]}, admin http://${addrs[1]}, $((SECONDS - t0))s, log $logfile)" >&2
}

stop() {
	local pidfile=${1:-$DEFAULT_PIDFILE}
	[[ -f "$pidfile" ]] || { echo "hydra.sh: no PID file $pidfile" >&2; return 0; }
	local pid
	pid="$(cat "$pidfile")"
	if kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid"
		local i
		for i in $(seq 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$pid" 2>/dev/null; then
			kill -KILL "$pid" 2>/dev/null || true
		fi
	fi
	rm -f "$pidfile"
	echo "hydra.sh: stopped PID $pid" >&2
}

case "${1:-}" in
build) build ;;
path)
	build
	echo "$BIN"
	;;
start)
	shift
	start "$@"
	;;
stop)
	shift
	stop "$@"
	;;
*) die "usage: hydra.sh build|path|start CONFIG [PIDFILE] [LOGFILE]|stop [PIDFILE]" ;;
esac

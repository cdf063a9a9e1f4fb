#!/usr/bin/env bash
# Installs what the full test suite needs beyond Go: Chromium and
# redis-server from Debian (only with CI=true, or when asked with
# --install), and the pinned Ory Hydra built from the module proxy.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"

install=0
[[ "${CI:-}" == "true" || "${1:-}" == "--install" ]] && install=1

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)

if ((${#missing[@]})); then
	if ((install)); then
		sudo=""
		[[ $(id -u) -ne 0 ]] && sudo="sudo"
		echo "deps: installing ${missing[*]} from Debian"
		export DEBIAN_FRONTEND=noninteractive
		$sudo apt-get update -qq
		$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
	else
		echo "deps: not installed: ${missing[*]} (tests that need them skip; run 'scripts/deps.sh --install' to install them)"
	fi
fi

"$ROOT/scripts/hydra.sh" build

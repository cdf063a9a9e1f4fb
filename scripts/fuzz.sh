#!/usr/bin/env bash
# fuzz.sh — run every Go fuzz target of the module, one after the other.
#
#   scripts/fuzz.sh                 # each target for 10s
#   FUZZTIME=60s scripts/fuzz.sh    # longer
#   FUZZPARALLEL=1 scripts/fuzz.sh  # fuzzing workers per target (default: GOMAXPROCS)
#   FUZZMINIMIZETIME=60s ...        # time to minimize each new input (default 2s; Go's
#                                   # own default, 60s, can eat a short run whole)
#   scripts/fuzz.sh ./logout/...    # only the targets of these packages
#
# Targets are discovered with `go test -list`. The first target that finds
# a failing input stops the run: Go writes the input to the package's
# testdata/fuzz/<Target>/ directory, where it becomes a regression seed
# that plain `go test` runs from then on. The last line is a summary,
# "N passed, M failed".
set -euo pipefail
cd "$(dirname "$0")/.."

GO=${GO:-go}
FUZZTIME=${FUZZTIME:-10s}
pkgs=("$@")
[ ${#pkgs[@]} -gt 0 ] || pkgs=(./...)

# go test prints each package's listing as one block: the names, then the
# package's "ok" line.
targets=()
names=()
while IFS= read -r line; do
	case "$line" in
	Fuzz*) names+=("$line") ;;
	ok*)
		pkg=$(awk '{print $2}' <<<"$line")
		for n in "${names[@]}"; do targets+=("$pkg $n"); done
		names=()
		;;
	FAIL*)
		echo "fuzz.sh: listing failed: $line" >&2
		exit 1
		;;
	*) names=() ;;
	esac
done < <($GO test -list '^Fuzz' "${pkgs[@]}" 2>&1)

if [ ${#targets[@]} -eq 0 ]; then
	echo "fuzz.sh: no fuzz targets found" >&2
	exit 1
fi

flags=(-run '^$' -fuzztime "$FUZZTIME" -fuzzminimizetime "${FUZZMINIMIZETIME:-2s}")
[ -z "${FUZZPARALLEL:-}" ] || flags+=(-parallel "$FUZZPARALLEL")

passed=0
for t in "${targets[@]}"; do
	pkg=${t% *}
	name=${t#* }
	echo "=== $name ($pkg, $FUZZTIME)"
	if ! $GO test "${flags[@]}" -fuzz "^${name}\$" "$pkg"; then
		echo "--- $name found a failing input; see $pkg's testdata/fuzz/$name/"
		echo "$passed passed, 1 failed"
		exit 1
	fi
	passed=$((passed + 1))
done
echo "$passed passed, 0 failed"

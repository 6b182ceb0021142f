#!/usr/bin/env bash
# Runs every fuzz target of every package for $FUZZTIME (default 60s).
# `go test -fuzz` accepts one package and one target per run, so targets are
# discovered with `go test -list` and run one at a time.
set -euo pipefail
cd "$(dirname "$0")/.."

fuzztime="${FUZZTIME:-60s}"
go="${GO:-go}"
count=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# run_target fuzzes one target. Go 1.26's fuzz coordinator sometimes ends
# a run that found nothing with "context deadline exceeded" when the time
# is up (golang/go#75804, fixed in Go 1.27). Such a run is tried once
# more; a run that found a failing input ("Failing input written to")
# always fails.
run_target() {
	local pkg=$1 target=$2 try
	for try in 1 2; do
		if "$go" test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg" 2>&1 | tee "$log"; then
			return 0
		fi
		if grep -q 'Failing input written to' "$log" || ! grep -q 'context deadline exceeded' "$log"; then
			return 1
		fi
		echo "fuzz: $target hit the Go fuzz coordinator's deadline bug (golang/go#75804), no failing input; running it again"
	done
	return 1
}

for pkg in $("$go" list ./...); do
	# Only packages with a _test.go file that mentions a fuzz target are worth
	# compiling a test binary for.
	dir=$("$go" list -f '{{.Dir}}' "$pkg")
	if ! grep -qs 'func Fuzz' "$dir"/*_test.go; then
		continue
	fi
	targets=$("$go" test -run '^$' -list '^Fuzz' "$pkg" | grep '^Fuzz' || true)
	for target in $targets; do
		echo "fuzz: $pkg $target ($fuzztime)"
		run_target "$pkg" "$target"
		count=$((count + 1))
	done
done
echo "fuzz: $count target(s) run for $fuzztime each"

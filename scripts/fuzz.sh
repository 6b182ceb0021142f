#!/usr/bin/env bash
# Runs every fuzz target of every package for $FUZZTIME (default 60s).
# `go test -fuzz` accepts one package and one target per run, so targets are
# discovered with `go test -list` and run one at a time.
set -euo pipefail
cd "$(dirname "$0")/.."

fuzztime="${FUZZTIME:-60s}"
go="${GO:-go}"
count=0

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
		"$go" test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg"
		count=$((count + 1))
	done
done
echo "fuzz: $count target(s) run for $fuzztime each"

//go:build linux

// Package posix holds the POSIX battery: every case runs once in a plain
// temp directory and once inside a veilfs mount, and the two observations
// must be equal. The cases live in the _test.go files; this file only gives
// the package its documentation.
package posix

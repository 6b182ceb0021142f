// Package harness is the black-box test harness shared by every package
// under tests/: it builds the veilfs binary once per test process, runs it,
// creates and mounts volumes, and makes sure no mount outlives its test.
//
// Readiness is never guessed with sleeps. `veilfs mount` returns only once the
// filesystem is serving (CLI contract), and the harness then confirms that the
// mountpoint is listed in /proc/self/mountinfo with a fuse filesystem type.
// Cleanup unmounts with retries (a file still open elsewhere makes unmount
// fail with EBUSY for a moment) and fails the test if the mount stays.
//
// The tests run on Linux only. The packages that use Linux-only calls
// themselves (cli, faults, fsck, hostile, posix, reverse, stress) are
// //go:build linux; the others and this harness also compile on darwin and
// FreeBSD, so that `make cross` type-checks them, and RequireFUSE skips
// every mount there.
//
// Environment (the skips themselves are internal/testenv's):
//
//	VEILFS_TEST_STRICT=1        set by `make test` (CI=true does the same): a
//	                            test that lacks a tool, root, /dev/fuse or a
//	                            capability fails instead of skipping
//	VEILFS_REQUIRE_FUSE=1       missing /dev/fuse fails instead of skipping
//	VEILFS_REQUIRE_GOCRYPTFS=1  missing gocryptfs binary fails instead of skipping
//	VEILFS_REQUIRE_TOOLS=1      a missing tool (dpkg-deb, groff, bash-completion,
//	                            a sync client of tests/sync, ...) fails
//	VEILFS_BINARY=path          use this prebuilt binary instead of building one
package harness

//go:build linux

// Package stress holds the long-running randomized tests of a veilfs mount:
//
//   - TestFSX, a data exerciser in the spirit of xfstests' fsx: a seeded,
//     random sequence of read, write, truncate, mmap read and write,
//     fallocate (mode 0, KEEP_SIZE, PUNCH_HOLE, ZERO_RANGE with and
//     without KEEP_SIZE), SEEK_DATA/SEEK_HOLE, O_DIRECT read, append,
//     rename (descriptors open), close+reopen, fsync and a periodic
//     remount on one file, checked against an in-memory model after every
//     operation, on every volume kind (default, --xchacha, --aessiv,
//     --plaintextnames). A probe at the start ("fsx probe:" lines) tries
//     the fallocate modes that punch or zero and leaves out those the
//     mount refuses (a read of the same range takes their place);
//   - TestConcurrency, goroutines and child processes writing disjoint
//     regions of shared files, reading them, and creating, renaming, linking
//     and deleting in shared directories, with a hang watchdog, a lost-write
//     check, a file-descriptor leak check and a scan of the daemon's stderr
//     for data races and panics;
//   - TestRenameOver, readers against writers that replace every file by
//     renaming a complete new version over its name (as sync clients do),
//     some versions under two names: no read may return bytes no version
//     held (zeros, a cut, a foreign version). It runs on a plain directory
//     and on a veilfs mount with the same code; ESTALE from open is counted
//     on veilfs (fs/identity.go) and fails only on the plain directory.
//
// Every mount is a foreground daemon (`veilfs mount -f`) started by this
// package, so that its stderr is captured: a daemon built with -race
// (VEILFS_BUILDFLAGS=-race, see tests/harness) reports races there.
//
// Leak checks count the daemon's descriptors into CIPHERDIR like the
// harness does, minus the O_PATH directory descriptors of its directory
// cache (fs/dircache.go), which live as long as the kernel knows the
// directory and are reported separately.
//
// The defaults are the short variant `make test` runs (about 30 s); `make
// stress` sets the long one. Environment:
//
//	VEILFS_FSX_OPS=N            operations per seed and volume kind (default 2000)
//	VEILFS_FSX_SEEDS=1,2,rand   seeds; "rand" draws one from the clock (default 1,2)
//	VEILFS_FSX_KINDS=default,xchacha,aessiv,plaintextnames   volume kinds (default all)
//	VEILFS_FSX_MAXLEN=BYTES     largest file size the exerciser makes (default 524288)
//	VEILFS_STRESS_DURATION=15s  how long the concurrency workload runs (default 15s)
//	VEILFS_STRESS_HANG=60s      an operation taking longer than this is a hang (default 60s)
//	VEILFS_STRESS_KIND=default  volume kind of the concurrency test (default "default")
//	VEILFS_STRESS_RACE=1        fail unless the daemon binary is built with -race
//	VEILFS_RENAMEOVER_DURATION=3s  how long each TestRenameOver run lasts (default 3s)
//
// A failing TestFSX run prints the seed, the index of the failing operation,
// the last 50 operations and the command that replays it.
package stress

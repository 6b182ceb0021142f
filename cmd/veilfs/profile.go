package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
)

// daemonMemoryLimit is the Go heap size the mount daemon steers its
// garbage collector by. Without a limit the heap may grow to twice what
// is live before a collection: on make bench-soak's untar, ls -lR, cat and
// rm -rf of the Go tree the daemon peaked at 80-97 MiB with a live heap
// of about 15 MiB; with this limit at 63-64 MiB, in the same time. It is
// a soft limit: a daemon that needs more (a huge tree's nodes) gets it and
// collects more often. GOMEMLIMIT in the environment overrides it.
const daemonMemoryLimit = 64 << 20

// limitDaemonMemory applies daemonMemoryLimit, unless GOMEMLIMIT is set.
func limitDaemonMemory() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(daemonMemoryLimit)
	}
}

// profileEnv names a file for a CPU profile of the mount daemon, and
// heapProfileEnv one for a heap profile, for performance work (`go tool
// pprof bin/veilfs FILE`). Both are written when the filesystem is
// unmounted; the heap profile after a garbage collection, so that it
// shows what the daemon still holds (a leak), not what it churned through.
const (
	profileEnv     = "VEILFS_CPUPROFILE"
	heapProfileEnv = "VEILFS_HEAPPROFILE"
)

// startProfile starts the profiles that profileEnv and heapProfileEnv ask
// for and returns the function that finishes them.
func startProfile() (stop func(), err error) {
	stopCPU := func() {}
	if path := os.Getenv(profileEnv); path != "" {
		f, err := os.Create(path)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", profileEnv, err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return nil, fmt.Errorf("%s: %w", profileEnv, err)
		}
		stopCPU = func() { pprof.StopCPUProfile(); f.Close() }
	}
	heap := os.Getenv(heapProfileEnv)
	return func() {
		stopCPU()
		if heap == "" {
			return
		}
		runtime.GC()
		if f, err := os.Create(heap); err == nil {
			pprof.WriteHeapProfile(f)
			f.Close()
		}
	}, nil
}

package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
)

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

package main

import (
	"fmt"
	"os"
	"runtime/pprof"
)

// profileEnv names a file for a CPU profile of the mount daemon, for
// performance work (`go tool pprof bin/veilfs FILE`). The profile is
// written when the filesystem is unmounted.
const profileEnv = "VEILFS_CPUPROFILE"

// startProfile starts the CPU profile that profileEnv asks for and returns
// the function that finishes it.
func startProfile() (stop func(), err error) {
	path := os.Getenv(profileEnv)
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", profileEnv, err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", profileEnv, err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

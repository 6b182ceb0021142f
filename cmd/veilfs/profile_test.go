package main

import (
	"runtime/debug"
	"testing"
)

// TestLimitDaemonMemory: the daemon steers its GC by daemonMemoryLimit,
// unless GOMEMLIMIT says otherwise.
func TestLimitDaemonMemory(t *testing.T) {
	prev := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(prev) })

	t.Setenv("GOMEMLIMIT", "")
	debug.SetMemoryLimit(1 << 40)
	limitDaemonMemory()
	if got := debug.SetMemoryLimit(-1); got != daemonMemoryLimit {
		t.Errorf("without GOMEMLIMIT: limit %d, want %d", got, daemonMemoryLimit)
	}

	t.Setenv("GOMEMLIMIT", "1GiB")
	debug.SetMemoryLimit(1 << 30)
	limitDaemonMemory()
	if got := debug.SetMemoryLimit(-1); got != 1<<30 {
		t.Errorf("with GOMEMLIMIT=1GiB: limit %d, want it left at %d", got, 1<<30)
	}
}

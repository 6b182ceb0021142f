package main

import (
	"strings"
	"testing"

	"github.com/veilfs/veilfs/cipher"
	"github.com/veilfs/veilfs/internal/testenv"
)

// TestCheckScryptMemory: the costliest scrypt cost gocryptfs writes
// (N = 2^28, R = 8: 256 GiB) passes cipher's bounds, but on a machine with
// less memory it is refused with exit code 23 before the password is read,
// instead of ending in the OOM killer; the default cost passes.
func TestCheckScryptMemory(t *testing.T) {
	total, ok := totalMemory()
	if !ok {
		testenv.Missing(t, "cannot tell this machine's memory")
	}
	if total >= 256<<30 {
		testenv.Platform(t, "this machine has 256 GiB: N = 2^28 fits")
	}
	huge := cipher.NewScryptParams(cipher.MaxScryptLogN)
	if err := huge.Validate(); err != nil {
		t.Fatal(err)
	}
	err := checkScryptMemory(huge)
	if err == nil || exitCode(err) != exitOpenConf || !strings.Contains(err.Error(), "needs 262144 MiB of memory") {
		t.Fatalf("N=2^28: %v (exit %d)", err, exitCode(err))
	}
	if err := checkScryptMemory(cipher.NewScryptParams(cipher.DefaultScryptLogN)); err != nil {
		t.Fatalf("default cost: %v", err)
	}
}

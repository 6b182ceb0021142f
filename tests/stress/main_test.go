//go:build linux

package stress

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/veilfs/veilfs/tests/harness"
)

// TestMain runs a child role instead of the tests when the test binary was
// re-executed by TestConcurrency (VEILFS_STRESS_CHILD set).
func TestMain(m *testing.M) {
	if role := os.Getenv(childEnv); role != "" {
		os.Exit(childMain(role))
	}
	harness.Main(m)
}

func envInt(t testing.TB, name string, def int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		t.Fatalf("%s=%q: want a non-negative integer", name, v)
	}
	return n
}

func envDuration(t testing.TB, name string, def time.Duration) time.Duration {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		t.Fatalf("%s=%q: want a positive duration such as 90s or 5m", name, v)
	}
	return d
}

// envSeeds parses VEILFS_FSX_SEEDS: comma-separated integers, "rand" for a
// seed drawn from the clock (logged, so that a failure can be replayed).
func envSeeds(t testing.TB, def string) []uint64 {
	t.Helper()
	v := os.Getenv("VEILFS_FSX_SEEDS")
	if v == "" {
		v = def
	}
	var out []uint64
	for _, f := range strings.Split(v, ",") {
		f = strings.TrimSpace(f)
		switch {
		case f == "":
		case f == "rand":
			out = append(out, uint64(time.Now().UnixNano())%1_000_000_007)
		default:
			n, err := strconv.ParseUint(f, 0, 64)
			if err != nil {
				t.Fatalf("VEILFS_FSX_SEEDS=%q: %q is not an integer or \"rand\"", v, f)
			}
			out = append(out, n)
		}
	}
	return out
}

// envKinds parses VEILFS_FSX_KINDS (default: all).
func envKinds(t testing.TB) []volumeKind {
	t.Helper()
	v := os.Getenv("VEILFS_FSX_KINDS")
	if v == "" {
		return allKinds
	}
	var out []volumeKind
	for _, name := range strings.Split(v, ",") {
		out = append(out, kindByName(t, name))
	}
	return out
}

func kindByName(t testing.TB, name string) volumeKind {
	t.Helper()
	for _, k := range allKinds {
		if k.name == strings.TrimSpace(name) {
			return k
		}
	}
	t.Fatalf("unknown volume kind %q (have default, xchacha, aessiv, plaintextnames)", name)
	return volumeKind{}
}

func mustf(t testing.TB, err error, format string, args ...any) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", fmt.Sprintf(format, args...), err)
	}
}

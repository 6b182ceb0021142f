//go:build linux

package stress

import (
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"time"
)

// Child processes: TestConcurrency re-executes its own test binary with
// VEILFS_STRESS_CHILD=ROLE and the arguments as JSON in
// VEILFS_STRESS_CHILD_ARGS; TestMain dispatches here before any test runs.
// A child prints its result as JSON on stdout, problems on stderr, and exits
// 1 if it found any.

const (
	childEnv     = "VEILFS_STRESS_CHILD"
	childArgsEnv = "VEILFS_STRESS_CHILD_ARGS"
)

type childArgs struct {
	Layout   stripeLayout `json:"layout"`
	Writer   int          `json:"writer"`
	Seed     uint64       `json:"seed"`
	Deadline int64        `json:"deadline_unix_nano"`
	Root     string       `json:"root"`
	Tops     []string     `json:"tops"`
	Prefix   string       `json:"prefix"`
}

type childResult struct {
	Gens stripeGens `json:"gens,omitempty"`
	Ops  int        `json:"ops"`
}

// stderrSink prints problems to stderr (the parent captures them).
type stderrSink struct {
	mu sync.Mutex
	n  int
}

func (s *stderrSink) errorf(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n++
	fmt.Fprintf(os.Stderr, "child %d: %s\n", os.Getpid(), fmt.Sprintf(format, args...))
}

func childMain(role string) int {
	var a childArgs
	if err := json.Unmarshal([]byte(os.Getenv(childArgsEnv)), &a); err != nil {
		fmt.Fprintf(os.Stderr, "child: bad %s: %v\n", childArgsEnv, err)
		return 2
	}
	deadline := time.Unix(0, a.Deadline)
	s := &stderrSink{}
	var res childResult
	switch role {
	case "writer":
		res.Gens = runStripeWriter(a.Layout, a.Writer, a.Seed, deadline, nil, s)
		for _, m := range res.Gens {
			for _, g := range m {
				res.Ops += g
			}
		}
	case "namespace":
		res.Ops = runNamespace(a.Root, a.Tops, a.Prefix, a.Seed, deadline, nil, s)
	default:
		fmt.Fprintf(os.Stderr, "child: unknown role %q\n", role)
		return 2
	}
	if err := json.NewEncoder(os.Stdout).Encode(res); err != nil {
		return 2
	}
	if s.n > 0 {
		return 1
	}
	return 0
}

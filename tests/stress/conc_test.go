//go:build linux

package stress

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/veilfs/veilfs/tests/harness"
)

// testSink reports worker problems through t, keeping the first few per
// worker so that one broken invariant does not bury the log.
type testSink struct {
	t    *testing.T
	name string
	n    atomic.Int32
}

func (s *testSink) errorf(format string, args ...any) {
	if s.n.Add(1) <= 5 {
		s.t.Errorf("[%s] %s", s.name, fmt.Sprintf(format, args...))
	}
}

// child is a re-executed test binary or shell loop run by TestConcurrency.
type child struct {
	name   string
	cmd    *exec.Cmd
	stdout bytes.Buffer
	stderr bytes.Buffer
	done   chan struct{}
	err    error
}

func startChild(t *testing.T, name string, cmd *exec.Cmd) *child {
	t.Helper()
	c := &child{name: name, cmd: cmd, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = &c.stdout, &c.stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting child %s: %v", name, err)
	}
	go func() {
		c.err = cmd.Wait()
		close(c.done)
	}()
	t.Cleanup(func() {
		select {
		case <-c.done:
		default:
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-c.done
		}
	})
	return c
}

func startGoChild(t *testing.T, name, role string, a childArgs) *child {
	t.Helper()
	exe, err := os.Executable()
	mustf(t, err, "os.Executable")
	args, _ := json.Marshal(a)
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+role, childArgsEnv+"="+string(args))
	return startChild(t, name, cmd)
}

// TestConcurrency runs, for VEILFS_STRESS_DURATION, goroutines and child
// processes that write disjoint stripes of shared files (every block shared
// by several writers), read them, run model-checked and chaotic namespace
// operations in shared directories, and walk the tree. It then checks that
// no write was lost (also after a remount), that the daemon leaked no
// descriptor, is alive, and printed no race report or panic; a hang watchdog
// fails the test with goroutine dumps of both sides if an operation stalls.
func TestConcurrency(t *testing.T) {
	dur := envDuration(t, "VEILFS_STRESS_DURATION", 15*time.Second)
	hang := envDuration(t, "VEILFS_STRESS_HANG", 60*time.Second)
	race := requireRaceIfAsked(t)
	seed := uint64(time.Now().UnixNano())
	if len(os.Getenv("VEILFS_FSX_SEEDS")) > 0 {
		seed = envSeeds(t, "")[0]
	}
	kind := allKinds[0]
	if v := os.Getenv("VEILFS_STRESS_KIND"); v != "" {
		kind = kindByName(t, v)
	}
	cipherdir := newCipherdir(t, kind)
	mnt := t.TempDir()
	m := mountFG(t, cipherdir, mnt)
	t.Logf("concurrency: %v on a %s volume, daemon pid %d race-built: %v, seed %d, hang timeout %v", dur, kind.name, m.pid, race, seed, hang)

	// Layout.
	for _, d := range []string{"data", "own", "ns", "ns/a", "ns/b", "ns/c", "dd"} {
		mustf(t, os.Mkdir(filepath.Join(mnt, d), 0o755), "mkdir %s", d)
	}
	const goWriters, childWriters = 4, 2
	layout := stripeLayout{StripeLen: 3000, NStripes: 96, Writers: goWriters + childWriters}
	for i := 0; i < 3; i++ {
		p := filepath.Join(mnt, "data", fmt.Sprintf("data%d", i))
		f, err := os.Create(p)
		mustf(t, err, "create %s", p)
		mustf(t, f.Truncate(layout.size()), "truncate %s", p)
		f.Close()
		layout.Files = append(layout.Files, p)
	}
	nsRoot := filepath.Join(mnt, "ns")
	tops := []string{"a", "b", "c"}
	src := filepath.Join(t.TempDir(), "src")
	srcData := make([]byte, 1<<20+123)
	rand.Read(srcData)
	mustf(t, os.WriteFile(src, srcData, 0o644), "write %s", src)
	stop := filepath.Join(t.TempDir(), "stop")

	deadline := time.Now().Add(dur)
	var wg sync.WaitGroup
	var progs []*progress
	goWorker := func(name string, fn func(pr *progress, s sink)) {
		pr := &progress{name: name}
		progs = append(progs, pr)
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(pr, &testSink{t: t, name: name})
		}()
	}
	counts := struct {
		sync.Mutex
		m map[string]int
	}{m: map[string]int{}}
	count := func(k string, n int) { counts.Lock(); counts.m[k] += n; counts.Unlock() }

	gens := make([]stripeGens, layout.Writers)
	for w := 0; w < goWriters; w++ {
		goWorker(fmt.Sprintf("writer%d", w), func(pr *progress, s sink) {
			gens[w] = runStripeWriter(layout, w, seed, deadline, pr, s)
		})
	}
	for r := 0; r < 2; r++ {
		goWorker(fmt.Sprintf("reader%d", r), func(pr *progress, s sink) {
			runStripeReader(layout, r, seed, deadline, pr, s)
		})
	}
	for i := 0; i < 2; i++ {
		// Created before any worker runs: the shell reader globs own/*,
		// which must never be empty.
		if err := os.WriteFile(filepath.Join(mnt, "own", fmt.Sprintf("f%d", i)), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		goWorker(fmt.Sprintf("private%d", i), func(pr *progress, s sink) {
			count("private-file ops", runPrivateFile(filepath.Join(mnt, "own", fmt.Sprintf("f%d", i)), seed+uint64(i), deadline, pr, s))
		})
	}
	for i := 0; i < 3; i++ {
		goWorker(fmt.Sprintf("namespace%d", i), func(pr *progress, s sink) {
			count("namespace ops (goroutines)", runNamespace(nsRoot, tops, fmt.Sprintf("g%d-", i), seed+uint64(i), deadline, pr, s))
		})
	}
	for i := 0; i < 3; i++ {
		goWorker(fmt.Sprintf("chaos%d", i), func(pr *progress, s sink) {
			count("chaos ops", runChaos(nsRoot, tops, i, seed, deadline, pr, s))
		})
	}
	goWorker("walker", func(pr *progress, s sink) {
		count("tree walks", runWalker(mnt, deadline, pr, s))
	})

	// Child processes: two stripe writers and a namespace worker
	// (re-executed test binary), a shell reader loop and a shell dd/cmp/mv
	// loop.
	var children []*child
	for w := goWriters; w < layout.Writers; w++ {
		children = append(children, startGoChild(t, fmt.Sprintf("writer%d (process)", w), "writer",
			childArgs{Layout: layout, Writer: w, Seed: seed, Deadline: deadline.UnixNano()}))
	}
	children = append(children, startGoChild(t, "namespace (process)", "namespace",
		childArgs{Root: nsRoot, Tops: tops, Prefix: "p0-", Seed: seed + 99, Deadline: deadline.UnixNano()}))
	shReader := `n=0; while [ ! -e "$2" ]; do cat "$1"/data/* "$1"/own/* >/dev/null || exit 3; ls -a "$1"/ns/a "$1"/ns/b "$1"/ns/c >/dev/null || exit 4; n=$((n+1)); done; echo $n`
	children = append(children, startChild(t, "sh reader loop", exec.Command("sh", "-c", shReader, "sh", mnt, stop)))
	shDD := `n=0; while [ ! -e "$3" ]; do f="$1/dd/f$n"; dd if="$2" of="$f" bs=65536 conv=fsync status=none || exit 3; cmp -s "$2" "$f" || exit 4; mv "$f" "$f.moved" || exit 5; cmp -s "$2" "$f.moved" || exit 6; rm "$f.moved" || exit 7; n=$((n+1)); done; echo $n`
	children = append(children, startChild(t, "sh dd loop", exec.Command("sh", "-c", shDD, "sh", mnt, src, stop)))

	// Watchdog: any operation in flight for longer than hang is a hang.
	allDone := make(chan struct{})
	go func() { wg.Wait(); close(allDone) }()
	hung := false
	ticker := time.NewTicker(time.Second)
wait:
	for {
		select {
		case <-allDone:
			break wait
		case <-ticker.C:
			if !m.alive() {
				t.Errorf("daemon %d died during the workload\n%s", m.pid, truncate(m.stderr.String(), 100000))
				m.kill()
				<-allDone
				break wait
			}
			if report := stuck(progs, hang); report != "" {
				hung = true
				reportHang(t, m, report, children)
				<-allDone
				break wait
			}
		}
	}
	ticker.Stop()
	os.WriteFile(stop, nil, 0o644)
	for _, c := range children {
		select {
		case <-c.done:
		case <-time.After(hang):
			if !hung {
				hung = true
				reportHang(t, m, fmt.Sprintf("child %s (pid %d) did not finish %v after the deadline", c.name, c.cmd.Process.Pid, hang), children)
			}
			syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
			<-c.done
		}
		out := strings.TrimSpace(c.stdout.String())
		if c.err != nil {
			t.Errorf("child %s: %v\nstdout: %s\nstderr: %s", c.name, c.err, truncate(out, 4000), truncate(c.stderr.String(), 20000))
			continue
		}
		switch {
		case strings.HasPrefix(c.name, "writer"):
			var res childResult
			if err := json.Unmarshal([]byte(out), &res); err != nil {
				t.Errorf("child %s: bad result %q: %v", c.name, out, err)
				continue
			}
			var w int
			fmt.Sscanf(c.name, "writer%d", &w)
			gens[w] = res.Gens
			count("stripe writes (processes)", res.Ops)
		case strings.HasPrefix(c.name, "namespace"):
			var res childResult
			json.Unmarshal([]byte(out), &res)
			count("namespace ops (process)", res.Ops)
		default:
			var n int
			fmt.Sscanf(out, "%d", &n)
			count(c.name+" iterations", n)
		}
	}
	if hung || t.Failed() && !m.alive() {
		return
	}
	for w := 0; w < goWriters; w++ {
		for _, g := range gens[w] {
			for _, n := range g {
				counts.m["stripe writes (goroutines)"] += n
			}
		}
	}

	// No lost write: every stripe holds its owner's last generation, read
	// through a fresh descriptor now and through a fresh daemon later.
	final := stripeGens{}
	for w, g := range gens {
		for fi, perStripe := range g {
			if final[fi] == nil {
				final[fi] = map[int]int{}
			}
			for st, gen := range perStripe {
				if layout.owner(st) != w {
					t.Fatalf("writer %d reported stripe %d it does not own", w, st)
				}
				final[fi][st] = gen
			}
		}
	}
	verify := func(when string) {
		for fi, p := range layout.Files {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Errorf("%s: read %s: %v", when, p, err)
				continue
			}
			if int64(len(b)) != layout.size() {
				t.Errorf("%s: %s has %d bytes, want %d", when, p, len(b), layout.size())
			}
			if err := checkStripes(layout, fi, b, 0, final); err != nil {
				t.Errorf("%s: %v", when, err)
			}
		}
	}
	verify("after the workload")

	if !m.alive() {
		t.Fatalf("daemon %d is not alive after the workload\n%s", m.pid, truncate(m.stderr.String(), 100000))
	}
	fdBefore, fdAfter, backBefore, backAfter := m.checkFDs(t)
	_, cached, deleted, _ := m.fdsDetail()
	m.unmount(t)
	m2 := mountFG(t, cipherdir, mnt)
	verify("after remount")
	m2.unmount(t)
	if harness.Gocryptfs() != "" {
		out, code := harness.GocryptfsFsck(t, cipherdir, harness.DefaultPassword)
		if code != 0 {
			t.Errorf("gocryptfs -fsck after the workload: exit %d\n%s", code, truncate(out, 20000))
		}
	}

	var lines []string
	for k, v := range counts.m {
		lines = append(lines, fmt.Sprintf("%s %d", k, v))
	}
	sort.Strings(lines)
	t.Logf("concurrency: %v, daemon race-built %v; %s; daemon fds %d -> %d (non-O_PATH into CIPHERDIR %d -> %d; plus %d O_PATH directory-cache fds, %d of them of deleted directories); no lost writes",
		dur, race, strings.Join(lines, ", "), fdBefore, fdAfter, backBefore, backAfter, cached, deleted)
}

// stuck returns a report of the workers whose operation has been in flight
// for longer than hang, or "".
func stuck(progs []*progress, hang time.Duration) string {
	var b strings.Builder
	for _, p := range progs {
		op, since, ops := p.state()
		if op != "" && time.Since(since) > hang {
			fmt.Fprintf(&b, "worker %s stuck for %v in %q (after %d ops)\n", p.name, time.Since(since).Round(time.Second), op, ops)
		}
	}
	if b.Len() == 0 {
		return ""
	}
	for _, p := range progs {
		op, since, ops := p.state()
		if op != "" {
			fmt.Fprintf(&b, "  %s: in %q for %v (%d ops done)\n", p.name, op, time.Since(since).Round(time.Millisecond), ops)
		} else {
			fmt.Fprintf(&b, "  %s: idle (%d ops done)\n", p.name, ops)
		}
	}
	return b.String()
}

// reportHang fails the test with everything there is to know about a hang:
// the stuck operations, the test's goroutines, the daemon threads' kernel
// stacks and the daemon's goroutines (SIGQUIT, which also ends the daemon
// and with it the FUSE connection, so that the stuck callers return).
func reportHang(t *testing.T, m *fgMount, report string, children []*child) {
	buf := make([]byte, 8<<20)
	n := runtime.Stack(buf, true)
	var kids strings.Builder
	for _, c := range children {
		select {
		case <-c.done:
		default:
			fmt.Fprintf(&kids, "child %s (pid %d):\n%s", c.name, c.cmd.Process.Pid, kernelStacks(c.cmd.Process.Pid))
		}
	}
	kstacks := kernelStacks(m.pid)
	m.kill()
	t.Errorf("HANG: the veilfs daemon (pid %d) stopped answering\n%s\n--- test goroutines:\n%s\n--- child processes (kernel stacks):\n%s\n--- daemon threads (kernel stacks):\n%s\n--- daemon stderr (SIGQUIT goroutine dump):\n%s",
		m.pid, report, truncate(string(buf[:n]), 200000), kids.String(), truncate(kstacks, 50000), truncate(m.stderr.String(), 400000))
}

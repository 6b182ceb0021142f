//go:build linux

package faults_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/tests/harness"
)

// hotFile is a file being written while the daemon is killed. For every
// block it knows the last acknowledged version (-1: never written, the
// block may be absent) and the versions whose write was in flight.
type hotFile struct {
	name     string
	acked    []int
	inflight map[int][]int // block -> versions written by unacknowledged calls
	ver      int
}

const (
	hotFiles     = 3
	hotInitial   = 48  // blocks written and fsynced before the first round
	hotMaxBlocks = 384 // writes may grow a file up to this many blocks (1.5 MiB)
	maxRun       = 256 // blocks per write call: 1 MiB, the largest FUSE request
)

// TestCrashDuringWrites kills the mount daemon with SIGKILL while three
// files are being rewritten and extended in runs of 1-256 blocks, then
// detaches the dead mount, remounts and checks block by block that every
// block holds its last acknowledged content or the content of a write that
// was in flight, that files not being written are intact, and that the
// config is unchanged and unlocks.
//
// A block that fails to decrypt (EIO) is a torn block: the kernel checks
// for a fatal signal between page-cache folios inside one pwrite, and
// 4128-byte ciphertext blocks straddle page boundaries, so a SIGKILL can
// stop a write in the middle of a block. The daemon's undo journal
// (fs/journal.go) lets the next mount put such a write back, so there must
// be none; any is a failure.
func TestCrashDuringWrites(t *testing.T) {
	harness.RequireFUSE(t)
	iters := envInt("VEILFS_CRASH_ITERS", 3)
	cdir, mnt := t.TempDir(), t.TempDir()
	harness.InitVolume(t, cdir, harness.DefaultPassword)
	conf, err := os.ReadFile(filepath.Join(cdir, "gocryptfs.conf"))
	if err != nil {
		t.Fatal(err)
	}

	m := harness.MustForeground(t, cdir, mnt, harness.DefaultPassword)
	hot := make([]*hotFile, hotFiles)
	for i := range hot {
		h := &hotFile{name: fmt.Sprintf("hot%d", i), inflight: map[int][]int{}}
		for b := 0; b < hotMaxBlocks; b++ {
			h.acked = append(h.acked, -1)
		}
		var data []byte
		for b := 0; b < hotInitial; b++ {
			data = append(data, blockData(h.name, b, 0)...)
			h.acked[b] = 0
		}
		writeSync(t, filepath.Join(mnt, h.name), data)
		hot[i] = h
	}
	// Untouched files: partial last blocks, a small one, one in a directory.
	cold := map[string][]byte{}
	rng := rand.New(rand.NewPCG(1, 2))
	for i, size := range []int{1, 4095, 4097, 100000, 300007} {
		b := make([]byte, size)
		for j := range b {
			b[j] = byte(rng.Uint32())
		}
		name := fmt.Sprintf("cold%d", i)
		if i == 3 {
			if err := os.Mkdir(filepath.Join(mnt, "dir"), 0o755); err != nil {
				t.Fatal(err)
			}
			name = "dir/cold3"
		}
		writeSync(t, filepath.Join(mnt, name), b)
		cold[name] = b
	}

	var torn, inflightSeen, checked, writes int
	for it := 0; it < iters; it++ {
		// Writers, one per hot file.
		var wg sync.WaitGroup
		stopWriters := make(chan struct{})
		var mu sync.Mutex
		for wi, h := range hot {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := rand.New(rand.NewPCG(uint64(it), uint64(wi)))
				f, err := os.OpenFile(filepath.Join(mnt, h.name), os.O_RDWR, 0)
				if err != nil {
					return
				}
				defer f.Close()
				for {
					select {
					case <-stopWriters:
						return
					default:
					}
					mu.Lock()
					nblocks := h.present()
					start := r.IntN(nblocks + 1) // may append right at the end
					run := 1 + r.IntN(maxRun)
					if start+run > hotMaxBlocks {
						run = hotMaxBlocks - start
					}
					if run <= 0 {
						mu.Unlock()
						continue
					}
					h.ver++
					ver := h.ver
					for b := start; b < start+run; b++ {
						h.inflight[b] = append(h.inflight[b], ver)
					}
					mu.Unlock()
					buf := make([]byte, 0, run*blockSize)
					for b := start; b < start+run; b++ {
						buf = append(buf, blockData(h.name, b, ver)...)
					}
					n, err := f.WriteAt(buf, int64(start)*blockSize)
					mu.Lock()
					if err == nil {
						writes++
					}
					// Blocks fully covered by an acknowledged count are acked.
					for b := start; b < start+n/blockSize; b++ {
						h.acked[b] = ver
						h.inflight[b] = dropVersion(h.inflight[b], ver)
					}
					mu.Unlock()
					if err != nil {
						if os.Getenv("VEILFS_CRASH_DEBUG") != "" {
							fmt.Fprintf(os.Stderr, "writer %s: ver %d blocks %d+%d: n=%d err=%v\n", h.name, ver, start, run, n, err)
						}
						return // the daemon is gone
					}
				}
			}()
		}
		time.Sleep(time.Duration(100+rand.IntN(300)) * time.Millisecond)
		m.Kill9()
		close(stopWriters)
		waitOrFail(t, &wg, "writers after the daemon was killed")

		if got, _ := os.ReadFile(filepath.Join(cdir, "gocryptfs.conf")); !bytes.Equal(got, conf) {
			t.Fatalf("round %d: gocryptfs.conf changed by a crash during writes", it)
		}
		m = harness.MustForeground(t, cdir, mnt, harness.DefaultPassword) // unlocks: the config is intact

		for _, h := range hot {
			res := h.verify(t, mnt, it)
			torn += res.torn
			inflightSeen += res.inflightSeen
			checked += res.checked
		}
		for name, want := range cold {
			var got []byte
			err := timed(mnt, func() (err error) { got, err = os.ReadFile(filepath.Join(mnt, name)); return })
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("round %d: untouched file %s damaged: %v (sha %s, want %s)", it, name, err, sha(got), sha(want))
			}
		}
	}
	m.Stop()
	t.Logf("crash during writes: %d rounds, %d acknowledged writes, %d blocks checked, %d held the content of a write in flight, %d torn (EIO)",
		iters, writes, checked, inflightSeen, torn)
	if torn > 0 {
		t.Errorf("%d torn block(s) in %d rounds: the undo journal did not restore a write in flight at the kill", torn, iters)
	}
}

// present is the number of leading blocks known to exist (acked).
func (h *hotFile) present() int {
	n := 0
	for n < len(h.acked) && h.acked[n] >= 0 {
		n++
	}
	return n
}

type verifyResult struct{ checked, torn, inflightSeen int }

// verify reads every block of h through the new mount, checks it against
// the acknowledged and in-flight versions, repairs torn blocks with a new
// version, and makes what it saw the new acknowledged state.
func (h *hotFile) verify(t *testing.T, mnt string, round int) verifyResult {
	t.Helper()
	var res verifyResult
	path := filepath.Join(mnt, h.name)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatalf("round %d: open %s after crash: %v", round, h.name, err)
	}
	defer f.Close()
	_ = unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_RANDOM)
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	size := fi.Size()
	ackedBlocks := h.present()
	if size < int64(ackedBlocks)*blockSize {
		t.Errorf("round %d: %s is %d bytes after the crash, but %d blocks (%d bytes) were acknowledged",
			round, h.name, size, ackedBlocks, ackedBlocks*blockSize)
	}
	nblocks := int((size + blockSize - 1) / blockSize)
	var tornBlocks []int
	for b := 0; b < nblocks; b++ {
		res.checked++
		buf := make([]byte, blockSize)
		var n int
		err := timed(mnt, func() (err error) { n, err = f.ReadAt(buf, int64(b)*blockSize); return })
		if err != nil && n < blockSize && !(b == nblocks-1 && n == int(size-int64(b)*blockSize)) {
			if harness.ErrnoOf(err) == unix.EIO {
				res.torn++
				tornBlocks = append(tornBlocks, b)
				continue
			}
			t.Errorf("round %d: %s block %d: %v", round, h.name, b, err)
			continue
		}
		ver := blockVersion(h.name, b, buf[:n])
		switch {
		case ver < 0:
			t.Errorf("round %d: %s block %d (%d bytes) holds content of no write (%q...)", round, h.name, b, n, buf[:min(n, 60)])
		case b < len(h.acked) && ver == h.acked[b]:
		case b < len(h.acked) && contains(h.inflight[b], ver):
			res.inflightSeen++
		default:
			t.Errorf("round %d: %s block %d holds version %d; acknowledged %d, in flight %v",
				round, h.name, b, ver, h.acked[b], h.inflight[b])
		}
		if ver >= 0 && b < len(h.acked) {
			h.acked[b] = ver
		}
	}
	if len(tornBlocks) > 1 {
		t.Errorf("round %d: %s has %d torn blocks %v; one pwrite in flight per file can tear at most one",
			round, h.name, len(tornBlocks), tornBlocks)
	}
	for _, b := range tornBlocks {
		if b >= len(h.acked) || len(h.inflight[b]) == 0 {
			t.Errorf("round %d: %s block %d is torn but no write to it was in flight: acknowledged data lost", round, h.name, b)
		}
	}
	if len(tornBlocks) > 0 {
		t.Logf("round %d: %s (size %d): torn blocks %v; acknowledged %v, in flight %v",
			round, h.name, size, tornBlocks, pick(h.acked, tornBlocks), pickInflight(h.inflight, tornBlocks))
	}
	// Forget blocks beyond the end, and repair torn ones so the next round
	// starts from a readable file.
	for b := nblocks; b < len(h.acked); b++ {
		h.acked[b] = -1
	}
	for _, b := range tornBlocks {
		h.ver++
		if _, err := f.WriteAt(blockData(h.name, b, h.ver), int64(b)*blockSize); err != nil {
			t.Fatalf("round %d: rewriting torn block %d of %s: %v", round, b, h.name, err)
		}
		h.acked[b] = h.ver
	}
	// A file whose tail was a partial block may now have a gap in acked.
	for b := h.present(); b < len(h.acked); b++ {
		h.acked[b] = -1
	}
	if err := f.Truncate(int64(h.present()) * blockSize); err != nil {
		t.Fatalf("round %d: truncate %s: %v", round, h.name, err)
	}
	h.inflight = map[int][]int{}
	return res
}

func pick(s []int, idx []int) []int {
	var out []int
	for _, i := range idx {
		if i < len(s) {
			out = append(out, s[i])
		}
	}
	return out
}

func pickInflight(m map[int][]int, idx []int) [][]int {
	var out [][]int
	for _, i := range idx {
		out = append(out, m[i])
	}
	return out
}

func contains(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func dropVersion(s []int, v int) []int {
	out := s[:0]
	for _, x := range s {
		if x != v {
			out = append(out, x)
		}
	}
	return out
}

func writeSync(t *testing.T, path string, data []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func waitOrFail(t *testing.T, wg *sync.WaitGroup, what string) {
	t.Helper()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatalf("%s did not stop within 30s", what)
	}
}

// TestCrashDuringPasswd kills `veilfs passwd` with SIGKILL at random
// moments. Afterwards gocryptfs.conf must be complete (veilfs info reads
// it), mode 0400, and unlock with the old or the new password. A leftover
// gocryptfs.conf.tmp must make the next passwd fail with a message that
// says what to do.
func TestCrashDuringPasswd(t *testing.T) {
	harness.RequireFUSE(t)
	iters := envInt("VEILFS_PASSWD_CRASH_ITERS", 12)
	cdir := t.TempDir()
	cur, next := "password-A", "password-B"
	harness.InitVolume(t, cdir, cur)
	conf := filepath.Join(cdir, "gocryptfs.conf")
	bin := harness.Binary(t)

	// How long a complete passwd takes here (scrypt dominates), so that the
	// kills land anywhere in it, including the save at the very end.
	pfCur, pfNext := harness.Passfile(t, cur), harness.Passfile(t, next)
	cmd := exec.Command(bin, "passwd", "--scryptn", "13", "--passfile", pfCur, "--new-passfile", pfNext, cdir)
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("passwd: %v\n%s", err, out)
	}
	full := time.Since(start)
	cur, next = next, cur

	outcomes := map[string]int{}
	for it := 0; it < iters; it++ {
		before, _ := os.ReadFile(conf)
		pfCur, pfNext := harness.Passfile(t, cur), harness.Passfile(t, next)
		cmd := exec.Command(bin, "passwd", "--scryptn", "13", "--passfile", pfCur, "--new-passfile", pfNext, cdir)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Half the kills anywhere, half in the last stretch where the new
		// config is written and renamed into place.
		delay := rand.Int64N(int64(full) * 11 / 10)
		if it%2 == 1 {
			delay = int64(full)*8/10 + rand.Int64N(int64(full)*3/10)
		}
		time.Sleep(time.Duration(delay))
		_ = cmd.Process.Signal(unix.SIGKILL)
		_ = cmd.Wait()
		killed := !cmd.ProcessState.Success()
		// Keep the late kills near the end of passwd as the machine's load
		// changes: shorter when passwd finished first, longer when a late
		// kill still found the old config.
		if !killed {
			full = full * 9 / 10
		} else if it%2 == 1 {
			full = full * 11 / 10
		}

		after, err := os.ReadFile(conf)
		if err != nil {
			t.Fatalf("round %d: gocryptfs.conf unreadable after passwd was killed: %v", it, err)
		}
		if res := harness.Run(t, "", "info", cdir); res.Code != 0 {
			t.Fatalf("round %d: gocryptfs.conf no longer parses after passwd was killed:\n%v\n%s", it, res, after)
		}
		if fi, err := os.Stat(conf); err != nil || fi.Mode().Perm() != 0o400 {
			t.Errorf("round %d: gocryptfs.conf mode %v, want 0400", it, fi.Mode())
		}
		unlocks := map[string]bool{}
		for _, pw := range []string{cur, next} {
			unlocks[pw] = tryUnlock(t, cdir, pw)
		}
		var o string
		switch {
		case unlocks[cur] && !unlocks[next]:
			o = "old password"
			if !bytes.Equal(before, after) {
				t.Errorf("round %d: config changed but still only the old password works", it)
			}
		case unlocks[next] && !unlocks[cur]:
			o = "new password"
			cur, next = next, cur
		default:
			t.Fatalf("round %d: unlocks with old=%v new=%v", it, unlocks[cur], unlocks[next])
		}
		if !killed {
			o += " (passwd finished before the kill)"
		}
		tmp := conf + ".tmp"
		if _, err := os.Lstat(tmp); err == nil {
			o += ", stale gocryptfs.conf.tmp"
			res := harness.Run(t, "", "passwd", "--scryptn", "12", "--passfile", harness.Passfile(t, cur),
				"--new-passfile", harness.Passfile(t, next), cdir)
			if res.Code == 0 || !strings.Contains(res.Stderr, "gocryptfs.conf.tmp") || !strings.Contains(res.Stderr, "remove") {
				t.Errorf("round %d: passwd with a stale gocryptfs.conf.tmp: %v\nwant a failure naming the file and saying to remove it", it, res)
			}
			if got, _ := os.ReadFile(conf); !bytes.Equal(got, after) {
				t.Errorf("round %d: passwd that refused because of the tmp file changed gocryptfs.conf", it)
			}
			if err := os.Remove(tmp); err != nil {
				t.Fatal(err)
			}
		}
		outcomes[o]++
	}
	var keys []string
	for k := range outcomes {
		keys = append(keys, fmt.Sprintf("%s: %d", k, outcomes[k]))
	}
	sort.Strings(keys)
	t.Logf("passwd killed %d times (a full passwd takes about %v): %s", iters, full.Round(time.Millisecond), strings.Join(keys, "; "))
}

// tryUnlock reports whether pw mounts the volume (mounting and unmounting
// at once).
func tryUnlock(t *testing.T, cdir, pw string) bool {
	t.Helper()
	mnt := t.TempDir()
	res := harness.TryMount(t, cdir, mnt, "--passfile", harness.Passfile(t, pw))
	switch res.Code {
	case 0:
		harness.Unmount(t, mnt)
		return true
	case 12:
		return false
	}
	t.Fatalf("mount with a candidate password: %v", res)
	return false
}

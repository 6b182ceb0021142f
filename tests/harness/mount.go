package harness

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/veilfs/veilfs/internal/mounttable"
)

// unmountRetryFor is how long Unmount keeps retrying while the mount is busy.
const unmountRetryFor = 5 * time.Second

// MountEntry is one line of /proc/self/mountinfo.
type MountEntry struct {
	MountPoint string
	FSType     string
	Source     string
	Options    string // per-mount options (field 6), e.g. "rw,nosuid,nodev"
}

// IsFUSE reports whether the entry is a FUSE filesystem ("fuse" or "fuse.NAME").
func (e MountEntry) IsFUSE() bool {
	return e.FSType == "fuse" || strings.HasPrefix(e.FSType, "fuse.")
}

// mounts remembers every mountpoint the harness mounted in this process
// (with its daemon, when found), so that Main can detect and detach
// leftovers and the unmount paths can run the daemon checks.
var mounts struct {
	sync.Mutex
	live map[string]*daemon
}

func trackMount(mnt string, d *daemon) {
	mounts.Lock()
	defer mounts.Unlock()
	if mounts.live == nil {
		mounts.live = map[string]*daemon{}
	}
	mounts.live[mnt] = d
}

func untrackMount(mnt string) {
	mounts.Lock()
	defer mounts.Unlock()
	delete(mounts.live, mnt)
}

func daemonOf(mnt string) *daemon {
	mounts.Lock()
	defer mounts.Unlock()
	return mounts.live[mnt]
}

func leftoverMounts() []string {
	mounts.Lock()
	var cand []string
	for m := range mounts.live {
		cand = append(cand, m)
	}
	mounts.Unlock()
	var left []string
	for _, m := range cand {
		if _, ok := FindMount(m); ok {
			left = append(left, m)
		}
	}
	sort.Strings(left)
	return left
}

// ParseMountinfo parses the content of /proc/PID/mountinfo.
func ParseMountinfo(data string) []MountEntry {
	var out []MountEntry
	for _, line := range strings.Split(data, "\n") {
		f := strings.Fields(line)
		// id parent maj:min root mountpoint options [optional...] - fstype source superopts
		sep := -1
		for i := 6; i < len(f); i++ {
			if f[i] == "-" {
				sep = i
				break
			}
		}
		if len(f) < 7 || sep < 0 || sep+2 >= len(f) {
			continue
		}
		out = append(out, MountEntry{
			MountPoint: mounttable.Unescape(f[4]),
			Options:    f[5],
			FSType:     f[sep+1],
			Source:     mounttable.Unescape(f[sep+2]),
		})
	}
	return out
}

// FindMount returns the last (topmost) mountinfo entry whose mountpoint is
// mnt. mnt is canonicalised without touching the mount itself.
func FindMount(mnt string) (MountEntry, bool) {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return MountEntry{}, false
	}
	want := canonical(mnt)
	var found MountEntry
	ok := false
	for _, e := range ParseMountinfo(string(data)) {
		if e.MountPoint == want {
			found, ok = e, true
		}
	}
	return found, ok
}

// canonical makes mnt absolute and resolves symlinks in its parent only, so
// that a hung FUSE mount at mnt itself is never stat'ed.
func canonical(mnt string) string {
	abs, err := filepath.Abs(mnt)
	if err != nil {
		return filepath.Clean(mnt)
	}
	parent, base := filepath.Split(abs)
	if p, err := filepath.EvalSymlinks(parent); err == nil {
		parent = p
	}
	if base == "" {
		return filepath.Clean(parent)
	}
	return filepath.Join(parent, base)
}

// MountVolume runs `veilfs mount --passfile P [extra] CIPHERDIR MNT`,
// checks that MNT is then a FUSE mount, and registers a cleanup that
// unmounts it (failing the test if it cannot).
func MountVolume(t testing.TB, cipherdir, mnt, password string, extra ...string) {
	t.Helper()
	args := append([]string{"--passfile", Passfile(t, password)}, extra...)
	MountWith(t, cipherdir, mnt, args...)
}

// MountWith runs `veilfs mount [args] CIPHERDIR MNT` with no password
// arguments added (use it for --masterkey or --extpass) and otherwise
// behaves like MountVolume.
func MountWith(t testing.TB, cipherdir, mnt string, args ...string) {
	t.Helper()
	res := TryMount(t, cipherdir, mnt, args...)
	if res.Code != 0 {
		t.Fatalf("veilfs mount %s %s %s: %v", strings.Join(args, " "), cipherdir, mnt, res)
	}
	e, ok := FindMount(mnt)
	if !ok {
		t.Fatalf("veilfs mount exited 0 but %s is not in /proc/self/mountinfo\n%v", mnt, res)
	}
	if !e.IsFUSE() {
		t.Fatalf("%s is mounted with type %q, want fuse.*", mnt, e.FSType)
	}
}

// TryMount runs `veilfs mount [args] CIPHERDIR MNT` and returns the result
// without judging it, for tests of failing mounts. A cleanup is registered
// in any case, so a mount that happened despite an error is still removed
// (and fails the test only if it cannot be removed).
func TryMount(t testing.TB, cipherdir, mnt string, args ...string) Result {
	t.Helper()
	RequireFUSE(t)
	bin := Binary(t)
	t.Cleanup(func() { cleanupMount(t, mnt, veilfsUnmounter(bin)) })
	trackMount(canonical(mnt), nil)
	all := append(append([]string{"mount"}, args...), cipherdir, mnt)
	res := execProgram(t, "", true, bin, all...)
	if _, ok := FindMount(mnt); ok && res.Code == 0 {
		trackMount(canonical(mnt), attachDaemon(t, bin, cipherdir, mnt, true))
	}
	return res
}

// Unmount runs `veilfs unmount MNT`, retrying for ~5s while it fails (a
// file still being closed makes the mount busy), and fails the test if MNT
// is still mounted afterwards.
func Unmount(t testing.TB, mnt string) {
	t.Helper()
	d := daemonOf(canonical(mnt))
	d.checkLeaks(t, mnt)
	if err := unmountRetry(mnt, veilfsUnmounter(Binary(t))); err != nil {
		t.Errorf("unmount %s: %v", mnt, err)
		forceUnmount(mnt)
		return
	}
	d.checkExited(t, mnt)
}

// unmounter performs one unmount attempt.
type unmounter func(mnt string) error

func veilfsUnmounter(bin string) unmounter {
	return func(mnt string) error {
		out, err := exec.Command(bin, "unmount", mnt).CombinedOutput()
		if err != nil {
			return fmt.Errorf("veilfs unmount: %w: %s", err, strings.TrimSpace(string(out)))
		}
		return nil
	}
}

func unmountRetry(mnt string, do unmounter) error {
	deadline := time.Now().Add(unmountRetryFor)
	var lastErr error
	for {
		if _, ok := FindMount(mnt); !ok {
			// Gone (possibly unmounted by the test already, or by the
			// attempt that reported busy): nothing left to do.
			untrackMount(canonical(mnt))
			return nil
		}
		err := do(mnt)
		if err == nil {
			if _, ok := FindMount(mnt); !ok {
				untrackMount(canonical(mnt))
				return nil
			}
			err = fmt.Errorf("unmount reported success but %s is still in mountinfo", mnt)
		}
		lastErr = err
		if time.Now().After(deadline) {
			return lastErr
		}
		// Back off before retrying; this is a retry loop for EBUSY, not a
		// readiness wait.
		time.Sleep(100 * time.Millisecond)
	}
}

// cleanupMount is the t.Cleanup body for every mount the harness makes.
func cleanupMount(t testing.TB, mnt string, do unmounter) {
	if _, ok := FindMount(mnt); !ok {
		untrackMount(canonical(mnt))
		return
	}
	d := daemonOf(canonical(mnt))
	d.checkLeaks(t, mnt)
	if err := unmountRetry(mnt, do); err != nil {
		t.Errorf("cleanup: could not unmount %s: %v", mnt, err)
		forceUnmount(mnt)
		return
	}
	d.checkExited(t, mnt)
}

// forceUnmount detaches mnt lazily so that nothing is left behind after a
// failed clean unmount, and reports whether it worked.
func forceUnmount(mnt string) bool {
	for i := 0; i < 10; i++ {
		if _, ok := FindMount(mnt); !ok {
			untrackMount(canonical(mnt))
			return true
		}
		if err := lazyUnmount(canonical(mnt)); err != nil {
			// Not root: let fusermount try.
			exec.Command("fusermount3", "-u", "-z", mnt).Run()
		}
	}
	_, ok := FindMount(mnt)
	return !ok
}

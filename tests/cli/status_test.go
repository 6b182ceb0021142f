//go:build linux

package cli

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/veilfs/veilfs/internal/testenv"
	"github.com/veilfs/veilfs/tests/harness"
)

type statusEntry struct {
	CipherDir    string   `json:"cipherdir"`
	Mountpoint   string   `json:"mountpoint"`
	PID          int      `json:"pid"`
	Options      []string `json:"options"`
	OpenFiles    int64    `json:"open_files"`
	BytesRead    uint64   `json:"bytes_read"`
	BytesWritten uint64   `json:"bytes_written"`
	Corruptions  uint64   `json:"corruptions"`
	Sync         struct {
		Repairs           uint64 `json:"repairs"`
		ClientFiles       uint64 `json:"client_files_skipped"`
		TransientSeen     uint64 `json:"transient_seen"`
		TransientResolved uint64 `json:"transient_resolved"`
	} `json:"sync"`
}

func statusOf(t *testing.T, mnt string) statusEntry {
	t.Helper()
	res := harness.Run(t, "", "status", "--json", mnt)
	if res.Code != 0 {
		t.Fatalf("veilfs status --json %s: %v", mnt, res)
	}
	var list []statusEntry
	if err := json.Unmarshal([]byte(res.Stdout), &list); err != nil || len(list) != 1 {
		t.Fatalf("status --json: %v, %d entries\n%s", err, len(list), res.Stdout)
	}
	return list[0]
}

// TestStatus: veilfs status lists the mount with its CIPHERDIR and options,
// counts open files and plaintext bytes, and refuses a path that is not a
// veilfs mount.
func TestStatus(t *testing.T) {
	cipherdir, mnt := harness.NewVolume(t)
	p := filepath.Join(mnt, "data")
	if err := os.WriteFile(p, make([]byte, 12345), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Read(make([]byte, 1000)); err != nil {
		t.Fatal(err)
	}
	st := statusOf(t, mnt)
	f.Close()
	if st.CipherDir != cipherdir || st.Mountpoint != mnt || st.PID <= 0 {
		t.Errorf("status names %q on %q (pid %d), want %q on %q", st.CipherDir, st.Mountpoint, st.PID, cipherdir, mnt)
	}
	if st.OpenFiles != 1 || st.BytesWritten != 12345 || st.BytesRead < 1000 || st.Corruptions != 0 {
		t.Errorf("status counters: %+v", st)
	}
	if len(st.Options) == 0 || st.Options[0] != "rw" {
		t.Errorf("options %q, want rw first", st.Options)
	}

	res := harness.Run(t, "", "status")
	if res.Code != 0 || !strings.Contains(res.Stdout, mnt) || !strings.Contains(res.Stdout, "MOUNTPOINT") {
		t.Errorf("veilfs status: %v", res)
	}
	res = harness.Run(t, "", "status", t.TempDir())
	if res.Code != 1 || !strings.Contains(res.Stderr, "is not a veilfs mount") {
		t.Errorf("veilfs status on a plain directory: %v", res)
	}
}

// TestStatusSyncEvents: what a sync client did shows in status: its own
// files skipped, and a directory from another machine whose
// gocryptfs.diriv has not arrived yet waiting (not corruption) until it
// does.
func TestStatusSyncEvents(t *testing.T) {
	cipherdir, mnt := harness.NewVolume(t)
	// The other machine: a copy of the volume with a memory of its own.
	other := filepath.Join(t.TempDir(), "other")
	if out, err := exec.Command("cp", "-a", cipherdir, other).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v\n%s", err, out)
	}
	t.Setenv("VEILFS_STATE_DIR", t.TempDir())
	otherMnt := t.TempDir()
	harness.MountVolume(t, other, otherMnt, harness.DefaultPassword)
	if err := os.Mkdir(filepath.Join(otherMnt, "d"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(otherMnt, "d", "f"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	harness.Unmount(t, otherMnt)
	// The sync client delivers d and f, not yet d's IV, and has its own
	// folder marker.
	ents, err := os.ReadDir(other)
	if err != nil {
		t.Fatal(err)
	}
	var d string
	for _, e := range ents {
		if e.IsDir() {
			d = e.Name()
		}
	}
	if out, err := exec.Command("cp", "-a", filepath.Join(other, d), cipherdir).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v\n%s", err, out)
	}
	iv := filepath.Join(cipherdir, d, "gocryptfs.diriv")
	if err := os.Remove(iv); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(cipherdir, ".stfolder"), 0o755); err != nil {
		t.Fatal(err)
	}

	os.ReadDir(mnt)
	os.ReadDir(filepath.Join(mnt, "d"))
	st := statusOf(t, mnt)
	if st.Sync.ClientFiles == 0 || st.Sync.TransientSeen != 1 || st.Sync.TransientResolved != 0 || st.Corruptions != 0 {
		t.Errorf("while the IV is on its way: %+v", st)
	}
	if res := harness.Run(t, "", "status", mnt); !strings.Contains(res.Stdout, "SYNC") || !strings.Contains(res.Stdout, "1 waiting") {
		t.Errorf("veilfs status:\n%s", res.Stdout)
	}
	if out, err := exec.Command("cp", "-a", filepath.Join(other, d, "gocryptfs.diriv"), iv).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v\n%s", err, out)
	}
	if got, err := os.ReadFile(filepath.Join(mnt, "d", "f")); err != nil || string(got) != "x" {
		t.Fatalf("d/f after the IV arrived: %q, %v", got, err)
	}
	if st := statusOf(t, mnt); st.Sync.TransientResolved != 1 {
		t.Errorf("after the IV arrived: %+v", st.Sync)
	}
}

// TestIdleUnmount: --idle unmounts a mount nobody uses, and not while a
// file is open in it.
func TestIdleUnmount(t *testing.T) {
	harness.RequireFUSE(t)
	cipherdir, mnt := t.TempDir(), t.TempDir()
	harness.InitVolume(t, cipherdir, harness.DefaultPassword)
	harness.MountVolume(t, cipherdir, mnt, harness.DefaultPassword, "--idle", "1s")
	f, err := os.Create(filepath.Join(mnt, "held-open"))
	if err != nil {
		t.Fatal(err)
	}
	// Held open for three idle periods: still mounted.
	time.Sleep(3 * time.Second)
	if _, ok := harness.FindMount(mnt); !ok {
		t.Fatal("idle unmount happened while a file was open")
	}
	f.Close()
	start := time.Now()
	for {
		if _, ok := harness.FindMount(mnt); !ok {
			t.Logf("unmounted %.1fs after the last file was closed", time.Since(start).Seconds())
			return
		}
		if time.Since(start) > 15*time.Second {
			t.Fatal("still mounted 15 s after the last use with --idle 1s")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// veilfsAsUser runs the veilfs binary as uid 65534, in an environment
// without XDG_RUNTIME_DIR (as under su, sudo -u or cron) plus env, and
// returns its combined output and exit code. With mountCaps it keeps the
// two capabilities to mount with mount(2) instead of fusermount3 (this
// machine may not let users open /dev/fuse) and to reach root's test
// directories; veilfs still runs as, and checks ownership for, uid 65534.
func veilfsAsUser(t *testing.T, env []string, mountCaps bool, args ...string) (string, int) {
	t.Helper()
	setpriv := harness.RequireTool(t, "setpriv", "util-linux")
	pre := []string{"--reuid=65534", "--regid=65534", "--clear-groups"}
	bin := harness.Binary(t)
	if mountCaps {
		pre = append(pre, "--inh-caps=+sys_admin,+dac_override", "--ambient-caps=+sys_admin,+dac_override")
	} else {
		// The build's directory is root's alone, and a background mount
		// executes the binary again.
		shared := filepath.Join(harness.WorldDir(t), "veilfs")
		data, err := os.ReadFile(bin)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(shared, data, 0o755); err != nil {
			t.Fatal(err)
		}
		bin = shared
	}
	cmd := exec.Command(setpriv, append(append(pre, bin), args...)...)
	cmd.Dir = "/"
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "XDG_RUNTIME_DIR=") {
			cmd.Env = append(cmd.Env, e)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		return string(out), ee.ExitCode()
	case err != nil:
		t.Fatalf("setpriv %v: %v\n%s", args, err, out)
	}
	return string(out), 0
}

// TestStatusWithoutXDGRuntimeDir: a user's mount made without
// XDG_RUNTIME_DIR keeps its undo journal and answers veilfs status, through
// the private directory TMPDIR/veilfs-UID it makes. One that another user
// planted there first is refused, and the mount says so on stderr (it
// used to say so only in syslog, and status showed the mount as "-").
func TestStatusWithoutXDGRuntimeDir(t *testing.T) {
	harness.RequireFUSE(t)
	testenv.NeedRoot(t, "acts as another user")
	must := func(t *testing.T, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, planted := range []bool{false, true} {
		t.Run(map[bool]string{false: "made", true: "planted"}[planted], func(t *testing.T) {
			base := t.TempDir()
			cdir, mnt, tmp := filepath.Join(base, "cipher"), filepath.Join(base, "mnt"), filepath.Join(base, "tmp")
			must(t, os.Mkdir(mnt, 0o755))
			must(t, os.Mkdir(tmp, 0o777))
			must(t, os.Chmod(tmp, 0o1777))
			runtime := filepath.Join(tmp, "veilfs-65534")
			if planted {
				must(t, os.Mkdir(runtime, 0o700)) // root's, not the user's
			}
			harness.InitVolume(t, cdir, harness.DefaultPassword)
			env := []string{"TMPDIR=" + tmp, "VEILFS_STATE_DIR=" + filepath.Join(base, "state")}
			out, code := veilfsAsUser(t, env, true, "mount", "--passfile", harness.Passfile(t, harness.DefaultPassword), cdir, mnt)
			if code != 0 {
				t.Fatalf("mount as uid 65534: exit %d\n%s", code, out)
			}
			t.Cleanup(func() {
				if res := harness.Run(t, "", "unmount", mnt); res.Code != 0 {
					harness.Detach(mnt)
				}
			})
			if warned := strings.Contains(out, "belongs to uid 0") && strings.Contains(out, "XDG_RUNTIME_DIR"); warned != planted {
				t.Errorf("mount's output, with a planted runtime directory %v:\n%s", planted, out)
			}

			out, code = veilfsAsUser(t, env, true, "status", "--json", mnt)
			var list []struct {
				PID     int       `json:"pid"`
				Started time.Time `json:"started"`
			}
			if code != 0 || json.Unmarshal([]byte(out), &list) != nil || len(list) != 1 {
				t.Fatalf("status --json as uid 65534: exit %d\n%s", code, out)
			}
			if planted {
				if list[0].PID != -1 {
					t.Errorf("status found a socket in a directory root planted: %s", out)
				}
				return
			}
			if list[0].PID <= 0 || time.Since(list[0].Started) > time.Hour {
				t.Errorf("status of the user's own mount: pid %d, started %v; want the daemon's", list[0].PID, list[0].Started)
			}
			var st syscall.Stat_t
			must(t, syscall.Lstat(runtime, &st))
			if st.Uid != 65534 || st.Mode&0o7777 != 0o700 || st.Mode&syscall.S_IFMT != syscall.S_IFDIR {
				t.Errorf("%s: uid %d mode %o, want a 0700 directory of uid 65534", runtime, st.Uid, st.Mode)
			}
			// The undo journal: one directory per mount,
			// <hash>-<daemon pid>-<random>.
			journals, _ := filepath.Glob(filepath.Join(runtime, "*-"+strconv.Itoa(list[0].PID)+"-*"))
			if len(journals) != 1 {
				entries, _ := os.ReadDir(runtime)
				t.Errorf("no undo journal of daemon %d in %s: %v", list[0].PID, runtime, entries)
			}
		})
	}
}

// TestStatusCountsDamageOnce: CORRUPT counts damaged ciphertext objects,
// as the help says, not the read requests that met one: the kernel asks
// for a bad block again after a failed readahead, and a program reads a
// file it cannot read more than once.
func TestStatusCountsDamageOnce(t *testing.T) {
	cipherdir, mnt := harness.NewVolume(t)
	for _, name := range []string{"a", "b"} {
		if err := os.WriteFile(filepath.Join(mnt, name), make([]byte, 3*4096), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	harness.Unmount(t, mnt)
	for _, name := range []string{"a", "b"} {
		res := harness.Run(t, harness.DefaultPassword+"\n", "path", "encrypt", cipherdir, name)
		if res.Code != 0 {
			t.Fatalf("veilfs path encrypt: %v", res)
		}
		// A byte inside the second block: header 18 bytes, blocks 4128.
		f, err := os.OpenFile(filepath.Join(cipherdir, strings.TrimSpace(res.Stdout)), os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteAt([]byte{0xff, 0xff}, 18+4128+100); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	harness.MountVolume(t, cipherdir, mnt, harness.DefaultPassword)

	readOnce := func(name string) {
		t.Helper()
		f, err := os.Open(filepath.Join(mnt, name))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := f.ReadAt(make([]byte, 2*4096), 4096); !errors.Is(err, syscall.EIO) {
			t.Fatalf("read of a damaged block: %v, want EIO", err)
		}
	}
	readOnce("a")
	if st := statusOf(t, mnt); st.Corruptions != 1 {
		t.Errorf("one read of one bad block: %d corruptions, want 1", st.Corruptions)
	}
	readOnce("a")
	if st := statusOf(t, mnt); st.Corruptions != 1 {
		t.Errorf("the same bad block read again: %d corruptions, want 1", st.Corruptions)
	}
	readOnce("b")
	if st := statusOf(t, mnt); st.Corruptions != 2 {
		t.Errorf("a second damaged file: %d corruptions, want 2", st.Corruptions)
	}
}

package harness

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMain(m *testing.M) { Main(m) }

func TestParseMountinfo(t *testing.T) {
	const data = `22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/vda rw
95 22 0:52 / /tmp/a\040b\134c rw,nosuid,nodev,relatime shared:50 - fuse.veilfs /tmp/ci\040pher rw,user_id=0,group_id=0
96 22 0:53 / /tmp/plain rw,nosuid,nodev,relatime - fuse /dev/fuse rw
garbage line
`
	got := ParseMountinfo(data)
	if len(got) != 3 {
		t.Fatalf("got %d entries, want 3: %+v", len(got), got)
	}
	want := MountEntry{MountPoint: `/tmp/a b\c`, FSType: "fuse.veilfs", Source: "/tmp/ci pher", Options: "rw,nosuid,nodev,relatime"}
	if got[1] != want {
		t.Errorf("entry 1 = %+v, want %+v", got[1], want)
	}
	if got[0].IsFUSE() || !got[1].IsFUSE() || !got[2].IsFUSE() {
		t.Errorf("IsFUSE wrong: %v %v %v", got[0].IsFUSE(), got[1].IsFUSE(), got[2].IsFUSE())
	}
}

func TestPassfile(t *testing.T) {
	p := Passfile(t, "pw")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(p)
	if string(b) != "pw\n" || fi.Mode().Perm() != 0o600 {
		t.Errorf("passfile = %q mode %v", b, fi.Mode())
	}
}

// TestVeilfsMountCycle checks the veilfs mount helpers end to end: the mount
// serves as soon as MountVolume returns, Unmount removes it, and a second
// mount of the same volume sees the data.
func TestVeilfsMountCycle(t *testing.T) {
	cipherdir, mnt := NewVolume(t)
	if _, ok := FindMount(mnt); !ok {
		t.Fatal("not mounted after NewVolume")
	}
	// The daemon checks of the cleanup depend on finding the daemon.
	d := daemonOf(canonical(mnt))
	if d == nil || d.pid == 0 || d.cipherdir == "" {
		t.Fatalf("daemon of %s not found: %+v", mnt, d)
	}
	if err := os.WriteFile(filepath.Join(mnt, "f"), []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	Unmount(t, mnt)
	if _, ok := FindMount(mnt); ok {
		t.Fatal("still mounted after Unmount")
	}
	if ProcessAlive(d.pid) {
		t.Fatalf("daemon %d alive after Unmount returned", d.pid)
	}
	if _, err := os.Stat(filepath.Join(cipherdir, "gocryptfs.conf")); err != nil {
		t.Fatal(err)
	}
	MountVolume(t, cipherdir, mnt, DefaultPassword)
	b, err := os.ReadFile(filepath.Join(mnt, "f"))
	if err != nil || string(b) != "hello" {
		t.Fatalf("after remount: %q, %v", b, err)
	}
	// The remount is left for the cleanup to remove.
}

func TestVeilfsWrongPassword(t *testing.T) {
	RequireFUSE(t)
	cipherdir, mnt := t.TempDir(), t.TempDir()
	InitVolume(t, cipherdir, "right")
	res := TryMount(t, cipherdir, mnt, "--passfile", Passfile(t, "wrong"))
	if res.Code != 12 {
		t.Errorf("mount with wrong password: %v; want exit code 12", res)
	}
	if _, ok := FindMount(mnt); ok {
		t.Error("mounted despite wrong password")
	}
}

// TestGocryptfsMountCycle exercises the gocryptfs peer helpers.
func TestGocryptfsMountCycle(t *testing.T) {
	RequireFUSE(t)
	RequireGocryptfs(t)
	cipherdir, mnt := t.TempDir(), t.TempDir()
	GocryptfsInit(t, cipherdir, "pw")
	GocryptfsMount(t, cipherdir, mnt, "pw")
	if err := os.WriteFile(filepath.Join(mnt, "f"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	GocryptfsUnmount(t, mnt)
	if _, ok := FindMount(mnt); ok {
		t.Fatal("still mounted")
	}
	out, code := GocryptfsFsck(t, cipherdir, "pw")
	if code != 0 || !strings.Contains(out, "no problems found") {
		t.Errorf("fsck: code %d\n%s", code, out)
	}
}

func TestBackingFDsAndSubtract(t *testing.T) {
	dir := t.TempDir()
	f, err := os.Create(filepath.Join(dir, "held"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := backingFDs(os.Getpid(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != filepath.Join(dir, "held") {
		t.Errorf("backingFDs = %q", got)
	}
	if extra := Subtract([]string{"a", "a", "b"}, []string{"a"}); strings.Join(extra, ",") != "a,b" {
		t.Errorf("subtract = %q", extra)
	}
	if ProcessAlive(1<<22 + 12345) {
		t.Error("ProcessAlive of a pid that cannot exist")
	}
}

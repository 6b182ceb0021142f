package cipherdir

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/cipher"
	"github.com/veilfs/veilfs/cipher/config"
)

var testPassword = []byte("pw")

func newTestVolume(t *testing.T, opts config.CreateOptions) (*Volume, int) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "c")
	opts.LogN = cipher.MinScryptLogN
	master, err := Init(dir, testPassword, opts)
	if err != nil {
		t.Fatal(err)
	}
	cipher.Wipe(master)
	v, err := Open(dir, testPassword)
	if err != nil {
		t.Fatal(err)
	}
	fd, err := v.OpenRoot()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd); v.Wipe() })
	return v, fd
}

func TestInitLayout(t *testing.T) {
	for name, tc := range map[string]struct {
		opts  config.CreateOptions
		diriv bool
	}{
		"default":       {config.CreateOptions{}, true},
		"deterministic": {config.CreateOptions{DeterministicNames: true}, false},
		"plaintext":     {config.CreateOptions{PlaintextNames: true}, false},
	} {
		t.Run(name, func(t *testing.T) {
			v, _ := newTestVolume(t, tc.opts)
			st, err := os.Stat(filepath.Join(v.Dir, config.Filename))
			if err != nil || st.Mode().Perm() != 0o400 {
				t.Fatalf("config: %v %v, want mode 0400", st.Mode(), err)
			}
			_, err = os.Stat(filepath.Join(v.Dir, "gocryptfs.diriv"))
			if (err == nil) != tc.diriv {
				t.Fatalf("root diriv present=%v, want %v", err == nil, tc.diriv)
			}
		})
	}
}

func TestInitRefusesNonEmpty(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "x"), nil, 0o644)
	if _, err := Init(dir, testPassword, config.CreateOptions{LogN: cipher.MinScryptLogN}); !errors.Is(err, ErrNotEmpty) {
		t.Fatalf("got %v, want ErrNotEmpty", err)
	}
}

func TestOpenWrongPassword(t *testing.T) {
	v, _ := newTestVolume(t, config.CreateOptions{})
	if _, err := Open(v.Dir, []byte("nope")); !errors.Is(err, config.ErrWrongPassword) {
		t.Fatalf("got %v, want ErrWrongPassword", err)
	}
}

func TestReadDirIVRejects(t *testing.T) {
	for name, content := range map[string][]byte{
		"short":    make([]byte, 15)[:15],
		"long":     bytes.Repeat([]byte{1}, 17),
		"all-zero": make([]byte, 16),
		"empty":    {},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, "gocryptfs.diriv"), content, 0o444)
			fd, _ := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY, 0)
			defer unix.Close(fd)
			if _, err := ReadDirIV(fd); !errors.Is(err, ErrBadDirIV) {
				t.Fatalf("got %v, want ErrBadDirIV", err)
			}
		})
	}
}

// TestNamesRoundTrip maps plaintext names to disk names and back, including
// long names with their sidecars.
func TestNamesRoundTrip(t *testing.T) {
	v, root := newTestVolume(t, config.CreateOptions{})
	iv, err := v.DirIVAt(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, plain := range []string{"a", "report.txt", strings.Repeat("x", 175), strings.Repeat("y", 176), strings.Repeat("z", 255)} {
		disk, cname, err := v.DiskName(plain, iv, true)
		if err != nil {
			t.Fatal(err)
		}
		long := len(plain) > 175
		if v.IsLong(disk) != long || (disk == cname) == long {
			t.Fatalf("%d-byte name: disk %q long=%v", len(plain), disk, v.IsLong(disk))
		}
		if err := v.PrepareName(root, disk, cname, func() error {
			return os.WriteFile(filepath.Join(v.Dir, disk), nil, 0o644)
		}); err != nil {
			t.Fatal(err)
		}
		got, err := v.PlainName(root, disk, iv, true)
		if err != nil || got != plain {
			t.Fatalf("PlainName(%q) = %q, %v", disk, got, err)
		}
	}
	for _, reserved := range []string{"gocryptfs.conf", "gocryptfs.diriv", "gocryptfs.conf.tmp", "gocryptfs.diriv.rmdir.42"} {
		if _, err := v.PlainName(root, reserved, iv, true); !errors.Is(err, ErrReservedName) {
			t.Fatalf("%s: got %v, want ErrReservedName", reserved, err)
		}
	}
}

// TestSwappedSidecar: a sidecar whose content does not hash to its object's
// name is rejected, so a planted sidecar cannot rename a file.
func TestSwappedSidecar(t *testing.T) {
	v, root := newTestVolume(t, config.CreateOptions{})
	iv, _ := v.DirIVAt(root)
	diskA, cnameA, _ := v.DiskName(strings.Repeat("a", 200), iv, true)
	_, cnameB, _ := v.DiskName(strings.Repeat("b", 200), iv, true)
	if _, err := v.WriteSidecar(root, diskA, cnameA); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(v.Dir, diskA+".name"), []byte(cnameB), 0o644)
	if _, err := v.PlainName(root, diskA, iv, true); !errors.Is(err, ErrBadSidecar) {
		t.Fatalf("got %v, want ErrBadSidecar", err)
	}
	// An existing sidecar with other content is never overwritten.
	if _, err := v.WriteSidecar(root, diskA, cnameA); err == nil {
		t.Fatal("WriteSidecar replaced a sidecar with different content")
	}
}

func TestPlaintextNamesReservesConfig(t *testing.T) {
	v, root := newTestVolume(t, config.CreateOptions{PlaintextNames: true})
	if _, _, err := v.DiskName("gocryptfs.conf", nil, true); !errors.Is(err, ErrReservedName) {
		t.Fatalf("root: got %v, want ErrReservedName", err)
	}
	if disk, _, err := v.DiskName("gocryptfs.conf", nil, false); err != nil || disk != "gocryptfs.conf" {
		t.Fatalf("subdirectory: %q %v", disk, err)
	}
	if _, err := v.PlainName(root, "gocryptfs.conf", nil, true); !errors.Is(err, ErrReservedName) {
		t.Fatalf("listing: got %v", err)
	}
}

// TestMkdirRmdir: mkdir writes an IV and the requested mode; rmdir of a
// directory holding only its IV works and leaves nothing behind, and a
// directory with content is refused with ENOTEMPTY and keeps its IV.
func TestMkdirRmdir(t *testing.T) {
	v, root := newTestVolume(t, config.CreateOptions{})
	if _, err := v.Mkdir(root, "d", 0o500); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(filepath.Join(v.Dir, "d"))
	if st.Mode().Perm() != 0o500 {
		t.Fatalf("mode %v, want 0500", st.Mode().Perm())
	}
	if _, err := os.Stat(filepath.Join(v.Dir, "d", "gocryptfs.diriv")); err != nil {
		t.Fatal(err)
	}
	os.Chmod(filepath.Join(v.Dir, "d"), 0o700)
	os.WriteFile(filepath.Join(v.Dir, "d", "child"), nil, 0o644)
	if err := v.Rmdir(root, "d"); !errors.Is(err, unix.ENOTEMPTY) {
		t.Fatalf("got %v, want ENOTEMPTY", err)
	}
	if _, err := os.Stat(filepath.Join(v.Dir, "d", "gocryptfs.diriv")); err != nil {
		t.Fatalf("IV lost by refused rmdir: %v", err)
	}
	os.Remove(filepath.Join(v.Dir, "d", "child"))
	if err := v.Rmdir(root, "d"); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(v.Dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "gocryptfs.diriv.rmdir") || e.Name() == "d" {
			t.Fatalf("left behind: %s", e.Name())
		}
	}
}

func TestLinkTargets(t *testing.T) {
	for name, opts := range map[string]config.CreateOptions{"default": {}, "xchacha": {XChaCha: true}, "plaintext": {PlaintextNames: true}} {
		t.Run(name, func(t *testing.T) {
			v, _ := newTestVolume(t, opts)
			for _, target := range []string{"", "a", "../x/y", strings.Repeat("t", 3000)} {
				stored, err := v.EncryptLink(target)
				if err != nil {
					t.Fatal(err)
				}
				if got, err := v.DecryptLink(stored); err != nil || got != target {
					t.Fatalf("round trip of %d bytes: %v", len(target), err)
				}
			}
			if _, err := v.EncryptLink(strings.Repeat("t", 4096)); !errors.Is(err, ErrTargetTooLong) {
				t.Fatalf("4096-byte target: %v", err)
			}
		})
	}
}

// TestLinkTargetSize: the plaintext length worked out from the stored
// length is the real one for every target length a volume accepts, and a
// stored length no target gives is left to reading the link.
func TestLinkTargetSize(t *testing.T) {
	for name, opts := range map[string]config.CreateOptions{"default": {}, "aessiv": {AESSIV: true}, "xchacha": {XChaCha: true}, "plaintext": {PlaintextNames: true}} {
		t.Run(name, func(t *testing.T) {
			v, _ := newTestVolume(t, opts)
			for n := 0; ; n++ {
				stored, err := v.EncryptLink(strings.Repeat("t", n))
				if errors.Is(err, ErrTargetTooLong) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				if got, ok := v.LinkTargetSize(int64(len(stored))); !ok || got != int64(n) {
					t.Fatalf("target of %d bytes stored in %d: size %d, %v", n, len(stored), got, ok)
				}
			}
			if opts.PlaintextNames {
				return
			}
			// "/etc/passwd" planted in place of an encrypted target, and a
			// length base64 cannot have.
			for _, bad := range []int64{11, 4*10 + 1} {
				if size, ok := v.LinkTargetSize(bad); ok {
					t.Errorf("stored length %d: size %d, want it left to readlink", bad, size)
				}
			}
		})
	}
}

// TestMkdirInheritsSetgid: like mkdir(2) in a setgid directory, the new
// directory keeps the inherited setgid bit.
func TestMkdirInheritsSetgid(t *testing.T) {
	v, root := newTestVolume(t, config.CreateOptions{})
	if _, err := v.Mkdir(root, "g", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Chmod(filepath.Join(v.Dir, "g"), 0o2775); err != nil {
		t.Fatal(err)
	}
	g, err := OpenDirAt(root, "g")
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(g)
	if _, err := v.Mkdir(g, "sub", 0o755); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(filepath.Join(v.Dir, "g", "sub"))
	if st.Mode()&os.ModeSetgid == 0 || st.Mode().Perm() != 0o755 {
		t.Fatalf("mode %v, want setgid + 0755", st.Mode())
	}
}

// TestOpenDirAtRefusesSymlinks: no symlink is followed in any component,
// and nothing outside the starting directory is reachable.
func TestOpenDirAtRefusesSymlinks(t *testing.T) {
	base := t.TempDir()
	root := filepath.Join(base, "root")
	outside := filepath.Join(base, "outside")
	for _, d := range []string{filepath.Join(root, "real", "deeper"), outside} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.Symlink(outside, filepath.Join(root, "abs"))
	os.Symlink("real", filepath.Join(root, "rel"))
	fd, err := unix.Open(root, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if d, err := OpenDirAt(fd, "real/deeper"); err != nil {
		t.Fatalf("plain path: %v", err)
	} else {
		unix.Close(d)
	}
	for _, p := range []string{"abs", "rel", "rel/deeper", "../outside", "/tmp"} {
		if d, err := OpenDirAt(fd, p); err == nil {
			unix.Close(d)
			t.Errorf("OpenDirAt(%q) succeeded, want a refusal", p)
		}
	}
}

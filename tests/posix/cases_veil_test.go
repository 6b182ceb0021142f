//go:build linux

package posix

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

var veilOnly = []veilCase{
	{"symlink_target_limits", veilSymlinkLimits},
	{"reserved_names", veilReservedNames},
	{"xattr_name_limit", veilXattrNameLimit},
	{"ciphertext_on_disk", veilCiphertextOnDisk},
}

// veilSymlinkLimits: FORMAT §6. The plain directory accepts longer targets,
// so this is not a comparison.
func veilSymlinkLimits(t *testing.T, v volume, dir string) {
	max := v.kind.symlinkMax
	ok := strings.Repeat("t", max)
	p := filepath.Join(dir, "max")
	if err := unix.Symlink(ok, p); err != nil {
		t.Fatalf("symlink with a %d-byte target: %v", max, err)
	}
	got, err := readlink(p)
	if err != nil || got != ok {
		t.Errorf("readlink of the %d-byte target: %d bytes, %v", max, len(got), err)
	}
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil || st.Size != int64(max) {
		t.Errorf("lstat size = %d (%v), want %d", st.Size, err, max)
	}
	err = unix.Symlink(ok+"t", filepath.Join(dir, "max+1"))
	if err != unix.ENAMETOOLONG {
		t.Errorf("symlink with a %d-byte target: %v, want ENAMETOOLONG", max+1, err)
	}
	if !v.kind.plaintextNames {
		err = unix.Symlink(strings.Repeat("t", 4000), filepath.Join(dir, "4000"))
		if err != unix.ENAMETOOLONG {
			t.Errorf("symlink with a 4000-byte target: %v, want ENAMETOOLONG", err)
		}
	}
	if _, err := os.Lstat(filepath.Join(dir, "max+1")); err == nil {
		t.Errorf("a failed symlink left an entry behind")
	}
}

// veilReservedNames: the config and IV files never show in listings; on
// plaintextnames volumes gocryptfs.conf cannot be created in the root
// (FORMAT §5.7, §8).
func veilReservedNames(t *testing.T, v volume, dir string) {
	for _, n := range names(t, v.mnt) {
		if n == "gocryptfs.conf" || n == "gocryptfs.diriv" || strings.HasPrefix(n, "gocryptfs.longname.") {
			t.Errorf("reserved name %q visible in the mount root", n)
		}
	}
	if v.kind.plaintextNames {
		p := filepath.Join(v.mnt, "gocryptfs.conf")
		_, err := unix.Open(p, unix.O_CREAT|unix.O_WRONLY|unix.O_CLOEXEC, 0o644)
		if err != unix.EPERM {
			t.Errorf("creating gocryptfs.conf in the root of a plaintextnames volume: %v, want EPERM", err)
		}
		if err := unix.Mkdir(p, 0o755); err != unix.EPERM && err != unix.EEXIST {
			t.Errorf("mkdir gocryptfs.conf in the root: %v, want EPERM", err)
		}
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != unix.ENOENT {
			t.Errorf("lstat gocryptfs.conf in the root: %v, want ENOENT (the config must stay hidden)", err)
		}
	}
	// In a subdirectory those names are ordinary (checked by the battery
	// case unicode_and_odd_names); here: a directory full of them lists
	// exactly.
	for _, n := range []string{"gocryptfs.diriv", "gocryptfs.conf"} {
		writeFile(t, filepath.Join(dir, n), []byte(n), 0o644)
	}
	if got := strings.Join(names(t, dir), ","); got != "gocryptfs.conf,gocryptfs.diriv" {
		t.Errorf("subdir listing = %s", got)
	}
}

// veilXattrNameLimit: FORMAT §7, plaintext attribute names up to 175 bytes.
func veilXattrNameLimit(t *testing.T, v volume, dir string) {
	p := filepath.Join(dir, "f")
	writeFile(t, p, nil, 0o644)
	n175 := "user." + strings.Repeat("x", 170)
	if err := unix.Setxattr(p, n175, []byte("v"), 0); err != nil {
		t.Fatalf("setxattr with a 175-byte name: %v", err)
	}
	if g := getx(p, n175); g != `"v"` {
		t.Errorf("getxattr of the 175-byte name: %s", g)
	}
	err := unix.Setxattr(p, n175+"x", []byte("v"), 0)
	if err == nil {
		t.Errorf("setxattr with a 176-byte name succeeded; the backing name cannot fit 255 bytes")
	} else if err != unix.ERANGE {
		t.Logf("setxattr with a 176-byte name: %v (gocryptfs: ERANGE)", err)
	}
}

// veilCiphertextOnDisk: what a plaintext write leaves in CIPHERDIR holds
// neither the content nor (unless plaintextnames) the name.
func veilCiphertextOnDisk(t *testing.T, v volume, dir string) {
	marker := []byte("VEILFS-PLAINTEXT-MARKER-0123456789")
	name := "visible-name-marker"
	content := bytes.Repeat(marker, 300)
	writeFile(t, filepath.Join(dir, name), content, 0o644)
	if err := unix.Setxattr(filepath.Join(dir, name), "user.markerattr", marker, 0); err != nil {
		t.Fatalf("setxattr: %v", err)
	}
	must(t, unix.Symlink(string(marker), filepath.Join(dir, "link")), "symlink")
	foundName := false
	// Only the case's own backing directory, where the markers are: reading
	// the objects of cases running in parallel moves their atimes.
	var st unix.Stat_t
	must(t, unix.Lstat(dir, &st), "lstat dir")
	err := filepath.WalkDir(backingDir(t, v.cipherdir, st.Ino), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) {
				return nil // other cases run in parallel and remove files
			}
			return err
		}
		if strings.Contains(d.Name(), name) {
			foundName = true
		}
		if info, err := d.Info(); err == nil && d.Type().IsRegular() && info.Size() < 1<<20 {
			b, err := os.ReadFile(p)
			if err != nil {
				return nil // vanished meanwhile
			}
			if bytes.Contains(b, marker) {
				t.Errorf("plaintext content found in %s", p)
			}
		}
		if d.Type()&fs.ModeSymlink != 0 {
			if tgt, _ := os.Readlink(p); strings.Contains(tgt, string(marker)) && !v.kind.plaintextNames {
				t.Errorf("plaintext symlink target in %s", p)
			}
		}
		if xs, err := userXattrs(p); err == nil {
			for _, x := range xs {
				if strings.Contains(x, "markerattr") {
					t.Errorf("plaintext xattr name %q on %s", x, p)
				}
				if strings.Contains(getx(p, x), string(marker)) {
					t.Errorf("plaintext xattr value on %s", p)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if foundName != v.kind.plaintextNames {
		t.Errorf("plaintext name on disk: %v, want %v", foundName, v.kind.plaintextNames)
	}
}

package interop

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/veilfs/veilfs/tests/harness"
)

// TestRotateThenGocryptfs: a volume made and filled by gocryptfs, of every
// init kind, is rotated by veilfs (also switching format where that kind
// allows it); afterwards gocryptfs -fsck is clean with the new password,
// a gocryptfs mount shows the same tree, and the old password and the old
// master key open nothing.
func TestRotateThenGocryptfs(t *testing.T) {
	requireAll(t)
	cases := []struct {
		name      string
		gocryptfs []string
		rotate    []string
	}{
		{"default", nil, nil},
		{"plaintextnames", []string{"-plaintextnames"}, nil},
		{"deterministic-names", []string{"-deterministic-names"}, nil},
		{"aessiv", []string{"-aessiv"}, nil},
		{"xchacha", []string{"-xchacha"}, nil},
		{"longnamemax-100", []string{"-longnamemax", "100"}, nil},
		{"to-xchacha-longnamemax-62", nil, []string{"--xchacha", "--longnamemax", "62"}},
	}
	want := reference(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			cipherdir, mntA, mntB := newDirs(t)
			if err := os.Mkdir(cipherdir, 0o700); err != nil {
				t.Fatal(err)
			}
			harness.GocryptfsInit(t, cipherdir, password, c.gocryptfs...)
			harness.GocryptfsMount(t, cipherdir, mntB, password)
			writeTree(t, mntB)
			harness.GocryptfsUnmount(t, mntB)
			oldConf, err := os.ReadFile(filepath.Join(cipherdir, "gocryptfs.conf"))
			if err != nil {
				t.Fatal(err)
			}

			const newPassword = "rotated password"
			args := append([]string{"rotate", "--passfile", harness.Passfile(t, password),
				"--new-passfile", harness.Passfile(t, newPassword)}, c.rotate...)
			res := harness.Run(t, "", append(args, cipherdir)...)
			if res.Code != 0 {
				t.Fatalf("veilfs rotate: %v", res)
			}
			if !strings.Contains(res.Stdout, "new master key") {
				t.Errorf("rotate did not print the new master key:\n%s", res.Stdout)
			}

			fsckClean(t, cipherdir, newPassword)
			if out, code := harness.GocryptfsFsck(t, cipherdir, password); code != 12 {
				t.Errorf("gocryptfs -fsck with the old password: exit %d, want 12\n%s", code, out)
			}
			harness.GocryptfsMount(t, cipherdir, mntB, newPassword, "-ro")
			compareSnapshots(t, "gocryptfs mount after veilfs rotate vs plain dir", want, snapshot(t, mntB))
			harness.GocryptfsUnmount(t, mntB)
			harness.MountVolume(t, cipherdir, mntA, newPassword)
			compareSnapshots(t, "veilfs mount after rotate vs plain dir", want, snapshot(t, mntA))
			harness.Unmount(t, mntA)

			// An old copy of gocryptfs.conf (a sync service's history) with
			// the old password yields the old key, which opens nothing now.
			oldCopy := filepath.Join(t.TempDir(), "old.conf")
			if err := os.WriteFile(oldCopy, oldConf, 0o400); err != nil {
				t.Fatal(err)
			}
			if out, code := harness.GocryptfsFsck(t, cipherdir, password, "-config", oldCopy); code == 0 {
				t.Errorf("gocryptfs -fsck with the old config and password is clean: the old key still decrypts\n%s", out)
			}
		})
	}
}

package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/veilfs/veilfs/internal/testenv"
)

// TestUserRuntimeDir: without XDG_RUNTIME_DIR (su, sudo -u, cron) a user's
// mounts still get a runtime directory, and only one that is theirs alone.
func TestUserRuntimeDir(t *testing.T) {
	uid := os.Geteuid()
	fallback := func(tmp string) string { return filepath.Join(tmp, "veilfs-"+strconv.Itoa(uid)) }

	t.Run("XDG_RUNTIME_DIR", func(t *testing.T) {
		got, err := userRuntimeDir(uid, "/run/user/1000", t.TempDir(), t.TempDir(), true)
		if err != nil || got != "/run/user/1000/veilfs" {
			t.Errorf("got %q, %v", got, err)
		}
	})
	t.Run("logind directory", func(t *testing.T) {
		runUser := t.TempDir()
		mine := filepath.Join(runUser, strconv.Itoa(uid))
		if err := os.Mkdir(mine, 0o700); err != nil {
			t.Fatal(err)
		}
		got, err := userRuntimeDir(uid, "", runUser, t.TempDir(), true)
		if err != nil || got != filepath.Join(mine, "veilfs") {
			t.Errorf("got %q, %v; want %s/veilfs", got, err, mine)
		}
		// Open to others: not used, the fallback is.
		if err := os.Chmod(mine, 0o755); err != nil {
			t.Fatal(err)
		}
		tmp := t.TempDir()
		if got, err := userRuntimeDir(uid, "", runUser, tmp, true); err != nil || got != fallback(tmp) {
			t.Errorf("with a 0755 %s: got %q, %v; want %s", mine, got, err, fallback(tmp))
		}
	})
	t.Run("fallback made private", func(t *testing.T) {
		tmp := t.TempDir()
		// status only looks: it names the directory without making it.
		if got, err := userRuntimeDir(uid, "", t.TempDir(), tmp, false); err != nil || got != fallback(tmp) {
			t.Errorf("create=false: got %q, %v", got, err)
		}
		if _, err := os.Lstat(fallback(tmp)); err == nil {
			t.Errorf("create=false made %s", fallback(tmp))
		}
		got, err := userRuntimeDir(uid, "", t.TempDir(), tmp, true)
		if err != nil || got != fallback(tmp) {
			t.Fatalf("got %q, %v", got, err)
		}
		if fi, err := os.Lstat(got); err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 {
			t.Errorf("%s: %v %v, want a 0700 directory", got, fi.Mode(), err)
		}
		// The second mount finds it and uses it.
		if again, err := userRuntimeDir(uid, "", t.TempDir(), tmp, true); err != nil || again != got {
			t.Errorf("again: %q, %v", again, err)
		}
	})
	// What another user could have put there first is refused, with a
	// message that says what is wrong with it.
	for _, tt := range []struct {
		name  string
		plant func(t *testing.T, d string)
		want  string
	}{
		{"symlink", func(t *testing.T, d string) { must(t, os.Symlink(t.TempDir(), d)) }, "not a directory"},
		{"open to others", func(t *testing.T, d string) { must(t, os.Mkdir(d, 0o700)); must(t, os.Chmod(d, 0o1777)) }, "other users can get in"},
		{"someone else's", func(t *testing.T, d string) {
			testenv.NeedRoot(t, "gives a directory away")
			must(t, os.Mkdir(d, 0o700))
			must(t, os.Chown(d, 4242, 4242))
		}, "belongs to uid 4242"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tmp := t.TempDir()
			tt.plant(t, fallback(tmp))
			got, err := userRuntimeDir(uid, "", t.TempDir(), tmp, true)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %q, %v; want an error saying %q", got, err, tt.want)
			}
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

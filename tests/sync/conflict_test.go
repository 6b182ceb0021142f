package sync_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/veilfs/veilfs/tests/harness"
)

// newEntry returns the ciphertext name of the single entry that
// appeared in dir between before and after.
func newEntry(t *testing.T, dir string, before []string) string {
	t.Helper()
	after := list(t, dir)
	var added []string
	for _, n := range after {
		if !slices.Contains(before, n) && !strings.HasSuffix(n, ".name") {
			added = append(added, n)
		}
	}
	if len(added) != 1 {
		t.Fatalf("expected one new ciphertext entry in %s, got %q", dir, added)
	}
	return added[0]
}

func list(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

// copyEntry copies a ciphertext file or directory as a sync client does
// when it keeps both versions: the original stays, the copy gets a marked
// name.
func copyEntry(t *testing.T, src, dst string) {
	t.Helper()
	if out, err := exec.Command("cp", "-a", src, dst).CombinedOutput(); err != nil {
		t.Fatalf("cp -a %s %s: %v\n%s", src, dst, err, out)
	}
}

// TestConflictCopies: for each sync client's pattern, a conflict copy of
// a file, of a long-named file and of a directory shows in the mount as the
// original's name with a readable marker, reads like the original, and can
// be renamed to a normal name (then it is an ordinary entry) or deleted.
func TestConflictCopies(t *testing.T) {
	long := strings.Repeat("quarterly-report-", 12) + "final.txt" // > 176 bytes: a long name
	patterns := []struct {
		client string
		mark   func(name string) string // the client's conflict name for name
		label  string
	}{
		{"Dropbox", func(n string) string { return n + " (laptop's conflicted copy 2026-11-27)" }, "2026-11-27 laptop"},
		{"Dropbox-nohost", func(n string) string { return n + " (conflicted copy 2026-11-27)" }, "2026-11-27"},
		{"Nextcloud", func(n string) string { return n + " (conflicted copy 2026-11-27 093015)" }, "2026-11-27 09:30:15"},
		{"Seafile", func(n string) string { return n + " (SFConflict ann@example.com 2026-11-27-09-30-15)" }, "2026-11-27 09:30:15 ann@example.com"},
		{"Syncthing", func(n string) string { return n + ".sync-conflict-20261127-093015-ABCDEF7" }, "2026-11-27 09:30:15 ABCDEF7"},
		{"GoogleDrive", func(n string) string { return n + " (1)" }, "copy 1"},
		{"OneDrive", func(n string) string { return n + "-LAPTOP42" }, "LAPTOP42"},
	}
	for _, p := range patterns {
		t.Run(p.client, func(t *testing.T) {
			cipherdir, mnt := harness.NewVolume(t)
			write := func(name, content string) string {
				before := list(t, cipherdir)
				if err := os.WriteFile(filepath.Join(mnt, name), []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
				return newEntry(t, cipherdir, before)
			}
			short := write("report.txt", "short version")
			longDisk := write(long, "long version")
			before := list(t, cipherdir)
			if err := os.MkdirAll(filepath.Join(mnt, "docs", "sub"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(mnt, "docs", "sub", "inner"), []byte("inner"), 0o644); err != nil {
				t.Fatal(err)
			}
			docs := newEntry(t, cipherdir, before)

			// The sync client keeps both versions.
			copyEntry(t, filepath.Join(cipherdir, short), filepath.Join(cipherdir, p.mark(short)))
			longMarked := p.mark(longDisk)
			if p.client == "Dropbox" || p.client == "Syncthing" || p.client == "OneDrive" {
				// Clients that keep extensions mark before the last dot.
				i := strings.LastIndexByte(longDisk, '.')
				longMarked = p.mark(longDisk[:i]) + longDisk[i:]
			}
			copyEntry(t, filepath.Join(cipherdir, longDisk), filepath.Join(cipherdir, longMarked))
			copyEntry(t, filepath.Join(cipherdir, docs), filepath.Join(cipherdir, p.mark(docs)))
			// Junk that is neither a valid name nor a known pattern stays hidden.
			if err := os.WriteFile(filepath.Join(cipherdir, "not base64!"), nil, 0o644); err != nil {
				t.Fatal(err)
			}

			marked := func(plain string) string {
				stem, ext := plain, ""
				if i := strings.LastIndexByte(plain, '.'); i > 0 {
					stem, ext = plain[:i], plain[i:]
				}
				marker := " (conflict " + p.label + ")" + ext
				if len(stem)+len(marker) > 255 { // must still fit NAME_MAX: the stem is cut
					stem = stem[:255-len(marker)-len("…")] + "…"
				}
				return stem + marker
			}
			want := []string{"docs", marked("docs"), "report.txt", marked("report.txt"), long, marked(long)}
			slices.Sort(want)
			// Listing may be cached for a second: poll.
			var got []string
			if _, ok := harness.Poll(5*time.Second, func() bool {
				got = list(t, mnt)
				slices.Sort(got)
				return slices.Equal(got, want)
			}); !ok {
				t.Fatalf("listing %q, want %q", got, want)
			}

			for name, content := range map[string]string{
				marked("report.txt"): "short version",
				marked(long):         "long version",
				filepath.Join(marked("docs"), "sub", "inner"): "inner",
			} {
				data, err := os.ReadFile(filepath.Join(mnt, name))
				if err != nil || string(data) != content {
					t.Errorf("read %q: %q, %v; want %q", name, data, err, content)
				}
			}

			// Renamed to a normal name, a conflict copy is an ordinary file.
			if err := os.Rename(filepath.Join(mnt, marked("report.txt")), filepath.Join(mnt, "report-laptop.txt")); err != nil {
				t.Fatalf("rename conflict copy: %v", err)
			}
			if data, err := os.ReadFile(filepath.Join(mnt, "report-laptop.txt")); err != nil || !bytes.Equal(data, []byte("short version")) {
				t.Errorf("renamed conflict copy: %q, %v", data, err)
			}
			if _, err := os.Stat(filepath.Join(cipherdir, p.mark(short))); !os.IsNotExist(err) {
				t.Errorf("the marked ciphertext name is still there after the rename: %v", err)
			}
			// Deleted, it is gone from CIPHERDIR; the original stays.
			if err := os.Remove(filepath.Join(mnt, marked(long))); err != nil {
				t.Fatalf("delete conflict copy: %v", err)
			}
			if _, err := os.Stat(filepath.Join(cipherdir, longMarked)); !os.IsNotExist(err) {
				t.Errorf("deleted conflict copy still in CIPHERDIR: %v", err)
			}
			if data, err := os.ReadFile(filepath.Join(mnt, long)); err != nil || string(data) != "long version" {
				t.Errorf("original after deleting the conflict copy: %q, %v", data, err)
			}
			if err := os.RemoveAll(filepath.Join(mnt, marked("docs"))); err != nil {
				t.Fatalf("delete conflict copy of a directory: %v", err)
			}
			if _, err := os.Stat(filepath.Join(mnt, "docs", "sub", "inner")); err != nil {
				t.Errorf("original directory after deleting its conflict copy: %v", err)
			}
		})
	}
}

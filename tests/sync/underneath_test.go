package sync_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/veilfs/veilfs/tests/harness"
)

// seenWithin is the promise: a change made in CIPHERDIR by someone else
// shows through the mount within 2 s.
const seenWithin = 2 * time.Second

// twoMounts mounts one CIPHERDIR twice, as a second machine's writes
// arriving through a sync client would change it underneath mount A: B's
// daemon writes ciphertext that A's kernel caches know nothing about.
// B needs --force: mount refuses a second writer on the same machine.
func twoMounts(t *testing.T) (cipherdir, a, b string) {
	cipherdir, a = harness.NewVolume(t)
	b = t.TempDir()
	harness.MountVolume(t, cipherdir, b, harness.DefaultPassword, "--force")
	return cipherdir, a, b
}

func readOr(p string) string {
	data, err := os.ReadFile(p)
	if err != nil {
		return "error: " + err.Error()
	}
	return string(data)
}

// TestChangesUnderneath: files and directories added, changed (same size
// and not), renamed and deleted through mount B appear in mount A within
// 2 s, with no stale content from A's caches. The times are logged.
func TestChangesUnderneath(t *testing.T) {
	_, a, b := twoMounts(t)
	pa, pb := func(p string) string { return filepath.Join(a, p) }, func(p string) string { return filepath.Join(b, p) }

	// A caches a file's content and a directory listing first.
	if err := os.WriteFile(pa("f"), []byte("version 1"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(pa("d"), 0o755); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		readOr(pa("f"))
		os.ReadDir(pa("d"))
	}

	steps := []struct {
		what   string
		change func() error
		seen   func() bool
	}{
		{"new file", func() error { return os.WriteFile(pb("d/new"), []byte("new"), 0o644) },
			func() bool { return readOr(pa("d/new")) == "new" }},
		{"content, same size", func() error { return os.WriteFile(pb("f"), []byte("version 2"), 0o644) },
			func() bool { return readOr(pa("f")) == "version 2" }},
		{"content, longer", func() error { return os.WriteFile(pb("f"), []byte("version 3, longer"), 0o644) },
			func() bool { return readOr(pa("f")) == "version 3, longer" }},
		{"content, shorter", func() error { return os.WriteFile(pb("f"), []byte("v4"), 0o644) },
			func() bool { return readOr(pa("f")) == "v4" }},
		{"rename", func() error { return os.Rename(pb("d/new"), pb("d/renamed")) },
			func() bool {
				_, errOld := os.Stat(pa("d/new"))
				return readOr(pa("d/renamed")) == "new" && errors.Is(errOld, os.ErrNotExist)
			}},
		{"new directory", func() error { return os.MkdirAll(pb("d/sub/deeper"), 0o755) },
			func() bool { fi, err := os.Stat(pa("d/sub/deeper")); return err == nil && fi.IsDir() }},
		{"listing", func() error { return os.WriteFile(pb("d/sub/x"), nil, 0o644) },
			func() bool {
				ents, _ := os.ReadDir(pa("d/sub"))
				var names []string
				for _, e := range ents {
					names = append(names, e.Name())
				}
				return slices.Equal(names, []string{"deeper", "x"})
			}},
		{"delete file", func() error { return os.Remove(pb("d/renamed")) },
			func() bool { _, err := os.Stat(pa("d/renamed")); return errors.Is(err, os.ErrNotExist) }},
		{"delete directory tree", func() error { return os.RemoveAll(pb("d/sub")) },
			func() bool { _, err := os.Stat(pa("d/sub")); return errors.Is(err, os.ErrNotExist) }},
		{"directory replaced by a file", func() error {
			if err := os.Remove(pb("d")); err != nil {
				return err
			}
			return os.WriteFile(pb("d"), []byte("now a file"), 0o644)
		}, func() bool { return readOr(pa("d")) == "now a file" }},
	}
	for _, s := range steps {
		s.seen() // A looks first, so that it has something cached
		if err := s.change(); err != nil {
			t.Fatalf("%s through B: %v", s.what, err)
		}
		took, ok := harness.Poll(5*time.Second, s.seen)
		switch {
		case !ok:
			t.Errorf("%s: not seen through A after %v", s.what, took)
		case took > seenWithin:
			t.Errorf("%s: seen through A after %v, promised within %v", s.what, took.Round(time.Millisecond), seenWithin)
		default:
			t.Logf("%s: seen through A after %v", s.what, took.Round(time.Millisecond))
		}
	}
}

// TestTwoMountsConcurrentWrites: two mounts of one CIPHERDIR write
// different files at the same time; every file ends up whole, seen the
// same through both.
func TestTwoMountsConcurrentWrites(t *testing.T) {
	_, a, b := twoMounts(t)
	const files, size = 20, 300_000
	content := func(side string, i int) []byte {
		return bytes.Repeat([]byte{side[0], byte(i)}, size/2)
	}
	var wg sync.WaitGroup
	for _, side := range []string{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range files {
				p := filepath.Join(side, "w-"+filepath.Base(side)+"-"+string(rune('a'+i)))
				if err := os.WriteFile(p, content(side, i), 0o644); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	for _, side := range []string{a, b} {
		for i := range files {
			name := "w-" + filepath.Base(side) + "-" + string(rune('a'+i))
			for _, view := range []string{a, b} {
				var got []byte
				harness.Poll(seenWithin, func() bool {
					got, _ = os.ReadFile(filepath.Join(view, name))
					return bytes.Equal(got, content(side, i))
				})
				if !bytes.Equal(got, content(side, i)) {
					t.Errorf("%s through %s: %d bytes, not what was written", name, view, len(got))
				}
			}
		}
	}
}

// TestTwoMountsSameMkdir: both mounts create the same directory at the
// same time: exactly one mkdir wins, the other gets EEXIST, and files
// created in it through either mount are readable through both (one
// directory IV, not two).
func TestTwoMountsSameMkdir(t *testing.T) {
	_, a, b := twoMounts(t)
	for round := range 20 {
		dir := "shared-" + string(rune('a'+round))
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, side := range []string{a, b} {
			wg.Add(1)
			go func() { defer wg.Done(); errs[i] = os.Mkdir(filepath.Join(side, dir), 0o755) }()
		}
		wg.Wait()
		if (errs[0] == nil) == (errs[1] == nil) || !(errors.Is(errs[0], os.ErrExist) || errors.Is(errs[1], os.ErrExist)) {
			t.Fatalf("round %d: mkdir results %v and %v, want one success and one EEXIST", round, errs[0], errs[1])
		}
		for i, side := range []string{a, b} {
			if err := os.WriteFile(filepath.Join(side, dir, "from-"+string(rune('a'+i))), []byte(side), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		for _, view := range []string{a, b} {
			for i, side := range []string{a, b} {
				p := filepath.Join(view, dir, "from-"+string(rune('a'+i)))
				if _, ok := harness.Poll(seenWithin, func() bool { return readOr(p) == side }); !ok {
					t.Errorf("round %d: %s reads %q, want %q", round, p, readOr(p), side)
				}
			}
		}
	}
}

// TestReplacedUnderOpenHandle: a file open in A is replaced through B (a
// new file renamed over it, as sync clients do): A's open handle keeps
// reading the old version whole, never a mix; a new open sees the new one.
func TestReplacedUnderOpenHandle(t *testing.T) {
	_, a, b := twoMounts(t)
	old := bytes.Repeat([]byte("old version "), 50_000)
	if err := os.WriteFile(filepath.Join(a, "doc"), old, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(a, "doc"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	first := make([]byte, 4096)
	if _, err := f.ReadAt(first, 0); err != nil {
		t.Fatal(err)
	}
	newer := bytes.Repeat([]byte("NEW VERSION "), 60_000)
	if err := os.WriteFile(filepath.Join(b, "doc.tmp"), newer, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(b, "doc.tmp"), filepath.Join(b, "doc")); err != nil {
		t.Fatal(err)
	}
	all := make([]byte, len(old))
	if _, err := f.ReadAt(all, 0); err != nil || !bytes.Equal(all, old) {
		t.Errorf("open handle after the replacement: err %v, same as old: %v", err, bytes.Equal(all, old))
	}
	if _, ok := harness.Poll(seenWithin, func() bool { return readOr(filepath.Join(a, "doc")) == string(newer) }); !ok {
		t.Errorf("a new open through A does not see the new version within %v", seenWithin)
	}
}

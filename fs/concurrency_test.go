package fs

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"

	"github.com/veilfs/veilfs/cipher/config"
)

// TestConcurrentWriters: goroutines with their own descriptors write
// disjoint, block-unaligned regions of one file; read-modify-write of the
// shared blocks must not lose any of them.
func TestConcurrentWriters(t *testing.T) {
	tm := newTestMount(t, config.CreateOptions{})
	p := filepath.Join(tm.mnt, "shared")
	const writers, chunk, rounds = 8, 1000, 40 // 1000-byte chunks straddle block edges
	if err := os.WriteFile(p, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f, err := os.OpenFile(p, os.O_WRONLY, 0)
			if err != nil {
				t.Error(err)
				return
			}
			defer f.Close()
			buf := bytes.Repeat([]byte{byte('a' + w)}, chunk)
			for r := range rounds {
				if _, err := f.WriteAt(buf, int64((r*writers+w)*chunk)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	// Concurrent readers must never see an error while writes go on.
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				if _, err := os.ReadFile(p); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	got, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != writers*chunk*rounds {
		t.Fatalf("size %d, want %d", len(got), writers*chunk*rounds)
	}
	for i := 0; i < len(got); i += chunk {
		want := byte('a' + (i/chunk)%writers)
		if got[i] != want || got[i+chunk-1] != want {
			t.Fatalf("chunk at %d holds %q, want %q", i, got[i], want)
		}
	}
}

// TestHardLinkSizes: a write through one name is seen, with the right size,
// through the other, and st_nlink is right right after link().
func TestHardLinkSizes(t *testing.T) {
	tm := newTestMount(t, config.CreateOptions{})
	a, b := filepath.Join(tm.mnt, "a"), filepath.Join(tm.mnt, "sub", "b")
	if err := os.Mkdir(filepath.Dir(b), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(a, []byte("first"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(a, b); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{a, b} {
		if st, err := os.Stat(p); err != nil || nlink(st) != 2 {
			t.Fatalf("%s: nlink %d after link (%v)", p, nlink(st), err)
		}
	}
	f, err := os.OpenFile(a, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(" and more"); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(b); err != nil || st.Size() != int64(len("first and more")) {
		t.Fatalf("size through other name before close: %v (%v)", st.Size(), err)
	}
	f.Close()
	if got, err := os.ReadFile(b); err != nil || string(got) != "first and more" {
		t.Fatalf("content through other name: %q (%v)", got, err)
	}
	if err := os.Remove(a); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(b); err != nil || nlink(st) != 1 {
		t.Fatalf("nlink after unlink: %v (%v)", nlink(st), err)
	}
}

// TestLongNamesAndLinks covers names around the long-name threshold,
// renames between short and long names, and long symlink targets.
func TestLongNamesAndLinks(t *testing.T) {
	for _, kind := range []string{"default", "longnamemax62", "plaintext"} {
		t.Run(kind, func(t *testing.T) {
			tm := newTestMount(t, volumeKinds[kind])
			for _, n := range []int{1, 175, 176, 255} {
				name := filepath.Join(tm.mnt, string(bytes.Repeat([]byte{'x'}, n)))
				if err := os.WriteFile(name, []byte(fmt.Sprint(n)), 0o644); err != nil {
					t.Fatalf("%d-byte name: %v", n, err)
				}
				long := filepath.Join(tm.mnt, "d"+string(bytes.Repeat([]byte{'y'}, n-1)))
				if err := os.Rename(name, long); err != nil {
					t.Fatalf("rename %d: %v", n, err)
				}
				if got, err := os.ReadFile(long); err != nil || string(got) != fmt.Sprint(n) {
					t.Fatalf("after rename %d: %q %v", n, got, err)
				}
				if err := os.Remove(long); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.WriteFile(filepath.Join(tm.mnt, string(bytes.Repeat([]byte{'z'}, 256))), nil, 0o644); !errors.Is(err, syscall.ENAMETOOLONG) {
				t.Fatalf("256-byte name: %v, want ENAMETOOLONG", err)
			}
			target := string(bytes.Repeat([]byte{'t'}, 3039))
			if err := os.Symlink(target, filepath.Join(tm.mnt, "l")); err != nil {
				t.Fatalf("3039-byte target: %v", err)
			}
			if got, err := os.Readlink(filepath.Join(tm.mnt, "l")); err != nil || got != target {
				t.Fatalf("readlink: %v", err)
			}
			if st, err := os.Lstat(filepath.Join(tm.mnt, "l")); err != nil || st.Size() != 3039 {
				t.Fatalf("lstat size %v, want 3039", st.Size())
			}
			// Only the residue of our own files may remain in CIPHERDIR.
			leftovers, _ := filepath.Glob(filepath.Join(tm.cipherDir, "gocryptfs.longname.*"))
			if len(leftovers) != 0 {
				t.Fatalf("sidecars left behind: %v", leftovers)
			}
		})
	}
}

package reverse

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"log"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/veilfs/veilfs/cipher"
	"github.com/veilfs/veilfs/cipher/config"
	"github.com/veilfs/veilfs/fs/cipherdir"
	"github.com/veilfs/veilfs/fs/reverse/view"
	"github.com/veilfs/veilfs/internal/testenv"
)

type mountedView struct {
	plain, mnt string
	vol        *cipherdir.Volume
	log        *testenv.LogBuffer
	m          *Mount
}

// mountView mounts the reverse view of plain (which setup fills first).
func mountView(t *testing.T, opts config.CreateOptions, excl *Excluder, setup func(plain string)) *mountedView {
	t.Helper()
	return mountViewWith(t, opts, setup, Options{Exclude: excl})
}

// mountViewWith is mountView with mount options; their Logger is the
// view's own.
func mountViewWith(t *testing.T, opts config.CreateOptions, setup func(plain string), mopts Options) *mountedView {
	t.Helper()
	testenv.NeedFUSE(t)
	v := &mountedView{plain: t.TempDir(), mnt: t.TempDir(), log: &testenv.LogBuffer{}}
	if setup != nil {
		setup(v.plain)
	}
	master := make([]byte, cipher.MasterKeySize)
	rand.Read(master)
	opts.AESSIV, opts.LogN = true, 10
	conf, err := config.New(master, []byte("pw"), opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := conf.Save(filepath.Join(v.plain, config.ReverseFilename)); err != nil {
		t.Fatal(err)
	}
	if v.vol, err = cipherdir.OpenWithConfig(v.plain, conf, master); err != nil {
		t.Fatal(err)
	}
	mopts.Logger = log.New(v.log, "", 0)
	if v.m, err = MountView(v.mnt, v.vol, mopts); err != nil {
		t.Fatalf("mount: %v", err)
	}
	done := make(chan struct{})
	go func() { v.m.Wait(); close(done) }()
	t.Cleanup(func() {
		for i := 0; ; i++ {
			err := v.m.Unmount()
			if err == nil {
				break
			}
			if i == 50 {
				t.Errorf("unmount: %v", err)
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		<-done
	})
	return v
}

// viewPath returns the view path of plaintext path p.
func (v *mountedView) viewPath(t *testing.T, p string) string {
	t.Helper()
	cdir := ""
	for _, c := range strings.Split(p, "/") {
		name, _, err := view.Name(v.vol, c, cdir)
		if err != nil {
			t.Fatal(err)
		}
		cdir = cipherdir.JoinPath(cdir, name)
	}
	return cdir
}

// wantFile is the view content of a file at view path key, by the
// definition in FORMAT §10.
func (v *mountedView) wantFile(t *testing.T, key string, plain []byte) []byte {
	t.Helper()
	if len(plain) == 0 {
		return nil
	}
	id, block0 := view.FileIVs(key)
	out, err := v.vol.Content.SealBlocksDerived(cipher.MarshalHeader(id), plain, 0, id, block0)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func randInt(n int64) int64 {
	i, _ := rand.Int(rand.Reader, big.NewInt(n))
	return i.Int64()
}

func TestReadAnyRange(t *testing.T) {
	sizes := []int{0, 1, 17, 4095, 4096, 4097, 3*4096 + 5, 300_000, 1<<20 + 123}
	files := map[string][]byte{}
	v := mountView(t, config.CreateOptions{}, nil, func(plain string) {
		os.MkdirAll(filepath.Join(plain, "d"), 0o755)
		for _, n := range sizes {
			name := filepath.Join("d", "f"+strings.Repeat("x", n%7)+string(rune('a'+len(files))))
			files[name] = randomBytes(n)
			if err := os.WriteFile(filepath.Join(plain, name), files[name], 0o644); err != nil {
				t.Fatal(err)
			}
		}
	})
	for name, plain := range files {
		cpath := v.viewPath(t, name)
		want := v.wantFile(t, cpath, plain)
		got, err := os.ReadFile(filepath.Join(v.mnt, cpath))
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("%s (%d bytes): whole read differs from the definition (err %v, got %d bytes, want %d)", name, len(plain), err, len(got), len(want))
		}
		fi, err := os.Stat(filepath.Join(v.mnt, cpath))
		if err != nil || fi.Size() != int64(len(want)) {
			t.Fatalf("%s: stat size %v, want %d (err %v)", name, fi.Size(), len(want), err)
		}
		f, err := os.Open(filepath.Join(v.mnt, cpath))
		if err != nil {
			t.Fatal(err)
		}
		for range 40 {
			off := randInt(int64(len(want)) + 10)
			n := randInt(70_000) + 1
			buf := make([]byte, n)
			m, err := f.ReadAt(buf, off)
			if err != nil && !errors.Is(err, io.EOF) {
				t.Fatalf("%s: ReadAt(%d, %d): %v", name, off, n, err)
			}
			start := min(off, int64(len(want)))
			end := max(start, min(off+n, int64(len(want))))
			if exp := want[start:end]; !bytes.Equal(buf[:m], exp) {
				t.Fatalf("%s: ReadAt(%d, %d) gave %d bytes that differ from the %d expected", name, off, n, m, len(exp))
			}
		}
		f.Close()
	}
}

func TestChangedWhileOpenIsEIO(t *testing.T) {
	data := randomBytes(64 << 10)
	v := mountView(t, config.CreateOptions{}, nil, func(plain string) {
		os.WriteFile(filepath.Join(plain, "doc"), data, 0o644)
	})
	p := filepath.Join(v.mnt, v.viewPath(t, "doc"))
	for _, change := range []struct {
		name string
		fn   func(path string) error
	}{
		{"rewrite same size", func(path string) error { return os.WriteFile(path, randomBytes(len(data)), 0o644) }},
		{"append", func(path string) error {
			f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = f.Write([]byte("more"))
			return err
		}},
	} {
		t.Run(change.name, func(t *testing.T) {
			f, err := os.Open(p)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, err := f.ReadAt(make([]byte, 5000), 0); err != nil {
				t.Fatalf("first read: %v", err)
			}
			time.Sleep(20 * time.Millisecond) // a new mtime even on coarse clocks
			if err := change.fn(filepath.Join(v.plain, "doc")); err != nil {
				t.Fatal(err)
			}
			_, err = f.ReadAt(make([]byte, 5000), 5000)
			if !errors.Is(err, syscall.EIO) {
				t.Fatalf("read after the plaintext changed: %v, want EIO", err)
			}
			if !strings.Contains(v.log.String(), "changed while it was being read") {
				t.Errorf("no log line for the refused read; log:\n%s", v.log)
			}
			// A new open reads the new version, consistently.
			plain, _ := os.ReadFile(filepath.Join(v.plain, "doc"))
			got, err := os.ReadFile(p)
			if err != nil || !bytes.Equal(got, v.wantFile(t, v.viewPath(t, "doc"), plain)) {
				t.Errorf("a fresh open after the change: err %v, content not the new version", err)
			}
		})
	}
}

func TestHardLinksShowOneFile(t *testing.T) {
	data := randomBytes(10_000)
	v := mountView(t, config.CreateOptions{}, nil, func(plain string) {
		os.Mkdir(filepath.Join(plain, "sub"), 0o755)
		os.WriteFile(filepath.Join(plain, "a"), data, 0o644)
		os.Link(filepath.Join(plain, "a"), filepath.Join(plain, "sub", "b"))
	})
	a, b := filepath.Join(v.mnt, v.viewPath(t, "a")), filepath.Join(v.mnt, v.viewPath(t, "sub/b"))
	// Open b first: the bytes must not depend on which name is used first.
	gb, err := os.ReadFile(b)
	if err != nil {
		t.Fatal(err)
	}
	ga, err := os.ReadFile(a)
	if err != nil {
		t.Fatal(err)
	}
	var st syscall.Stat_t
	syscall.Stat(filepath.Join(v.plain, "a"), &st)
	if want := v.wantFile(t, view.HardLinkKey(st.Ino), data); !bytes.Equal(ga, want) || !bytes.Equal(gb, want) {
		t.Error("hard links do not show the inode-keyed content")
	}
	var sa, sb syscall.Stat_t
	syscall.Stat(a, &sa)
	syscall.Stat(b, &sb)
	if sa.Ino != sb.Ino || sa.Nlink != 2 {
		t.Errorf("links show inodes %d and %d with %d links, want one inode with 2", sa.Ino, sb.Ino, sa.Nlink)
	}
}

func TestPlaintextRenameFollows(t *testing.T) {
	v := mountView(t, config.CreateOptions{}, nil, func(plain string) {
		os.MkdirAll(filepath.Join(plain, "old", "in"), 0o755)
		os.WriteFile(filepath.Join(plain, "old", "in", "f"), []byte("hello"), 0o644)
	})
	oldF := filepath.Join(v.mnt, v.viewPath(t, "old/in/f"))
	if _, err := os.ReadFile(oldF); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(v.plain, "old"), filepath.Join(v.plain, "new")); err != nil {
		t.Fatal(err)
	}
	newF := filepath.Join(v.mnt, v.viewPath(t, "new/in/f"))
	got, err := os.ReadFile(newF)
	if err != nil || !bytes.Equal(got, v.wantFile(t, v.viewPath(t, "new/in/f"), []byte("hello"))) {
		t.Fatalf("after a plaintext rename the new view path gives err %v or wrong bytes", err)
	}
	time.Sleep(cacheTimeout + 100*time.Millisecond)
	if _, err := os.Stat(oldF); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("old view path after the rename: %v, want ENOENT", err)
	}
}

func TestVirtualFiles(t *testing.T) {
	long := strings.Repeat("ü", 120)
	v := mountView(t, config.CreateOptions{}, nil, func(plain string) {
		os.Mkdir(filepath.Join(plain, "d"), 0o700)
		os.WriteFile(filepath.Join(plain, "d", long), []byte("x"), 0o600)
	})
	root, _ := os.ReadDir(v.mnt)
	var names []string
	for _, e := range root {
		names = append(names, e.Name())
	}
	want := []string{v.viewPath(t, "d"), "gocryptfs.conf", "gocryptfs.diriv"}
	slices.Sort(want) // os.ReadDir sorts
	if !slices.Equal(names, want) {
		t.Errorf("root lists %q", names)
	}
	conf, err := os.ReadFile(filepath.Join(v.mnt, "gocryptfs.conf"))
	wantConf, _ := os.ReadFile(filepath.Join(v.plain, config.ReverseFilename))
	if err != nil || !bytes.Equal(conf, wantConf) {
		t.Errorf("gocryptfs.conf: %v, or not the reverse config", err)
	}
	iv, err := os.ReadFile(filepath.Join(v.mnt, v.viewPath(t, "d"), "gocryptfs.diriv"))
	if err != nil || !bytes.Equal(iv, cipher.DerivedIV(v.viewPath(t, "d"), cipher.PurposeDirIV)) {
		t.Errorf("d/gocryptfs.diriv: %v, %x", err, iv)
	}
	lp := v.viewPath(t, "d/"+long)
	if !strings.Contains(lp, "gocryptfs.longname.") {
		t.Fatalf("long name not hashed: %s", lp)
	}
	side, err := os.ReadFile(filepath.Join(v.mnt, lp+".name"))
	_, cname, _ := view.Name(v.vol, long, v.viewPath(t, "d"))
	if err != nil || string(side) != cname {
		t.Errorf("sidecar: %v, %q, want %q", err, side, cname)
	}
	fi, err := os.Stat(filepath.Join(v.mnt, v.viewPath(t, "d"), "gocryptfs.diriv"))
	if err != nil || fi.Mode() != 0o444 || fi.Size() != 16 {
		t.Errorf("diriv attributes: %v %v %v", err, fi.Mode(), fi.Size())
	}
	if err := os.WriteFile(filepath.Join(v.mnt, "new"), nil, 0o644); !errors.Is(err, syscall.EROFS) {
		t.Errorf("create in the view: %v, want EROFS", err)
	}
}

func TestExcluder(t *testing.T) {
	e, err := NewExcluder([]string{"*.tmp", "cache/", "/top.txt", "!keep.tmp", "a/**/deep", "fil?.log"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path  string
		isDir bool
		want  bool
	}{
		{"x.tmp", false, true},
		{"sub/x.tmp", false, true},
		{"keep.tmp", false, false},
		{"cache", true, true},
		{"cache", false, false}, // dir-only rule
		{"sub/cache", true, true},
		{"top.txt", false, true},
		{"sub/top.txt", false, false}, // anchored
		{"a/b/c/deep", false, true},
		{"file.log", false, true},
		{"files.log", false, false},
		{"", true, false}, // the root never
		{"ok.txt", false, false},
	} {
		if got := e.Excluded(tc.path, tc.isDir); got != tc.want {
			t.Errorf("Excluded(%q, dir=%v) = %v, want %v", tc.path, tc.isDir, got, tc.want)
		}
	}
	var none *Excluder
	if none.Excluded("x.tmp", false) {
		t.Error("nil excluder excludes")
	}
	f := filepath.Join(t.TempDir(), "rules")
	os.WriteFile(f, []byte("# comment\n\n*.bak\r\n"), 0o644)
	e, err = NewExcluder(nil, []string{f})
	if err != nil || !e.Excluded("x.bak", false) || e.Excluded("# comment", false) {
		t.Errorf("rules from a file: %v", err)
	}
	if e, err := NewExcluder(nil, []string{f + ".missing"}); err == nil || e != nil {
		t.Error("missing rule file accepted")
	}
	if e, _ := NewExcluder([]string{"", "# c"}, nil); e != nil {
		t.Error("no rules should give a nil excluder")
	}
}

func TestExcludedEntriesAreGone(t *testing.T) {
	e, _ := NewExcluder([]string{"*.tmp", "cache/"}, nil)
	v := mountView(t, config.CreateOptions{}, e, func(plain string) {
		os.Mkdir(filepath.Join(plain, "cache"), 0o755)
		os.WriteFile(filepath.Join(plain, "cache", "c"), nil, 0o644)
		os.WriteFile(filepath.Join(plain, "a.tmp"), nil, 0o644)
		os.WriteFile(filepath.Join(plain, "b.txt"), nil, 0o644)
	})
	ents, _ := os.ReadDir(v.mnt)
	if len(ents) != 3 { // b.txt, gocryptfs.conf, gocryptfs.diriv
		t.Errorf("root shows %d entries, want 3", len(ents))
	}
	for _, p := range []string{"cache", "a.tmp", "cache/c"} {
		if _, err := os.Lstat(filepath.Join(v.mnt, v.viewPath(t, p))); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("excluded %s: %v, want ENOENT", p, err)
		}
	}
}

// TestConcurrentReaders reads files from many goroutines while the
// plaintext tree is renamed and rewritten underneath (run with -race).
func TestConcurrentReaders(t *testing.T) {
	data := randomBytes(200_000)
	v := mountView(t, config.CreateOptions{}, nil, func(plain string) {
		for _, d := range []string{"a", "b"} {
			os.Mkdir(filepath.Join(plain, d), 0o755)
			os.WriteFile(filepath.Join(plain, d, "f"), data, 0o644)
		}
	})
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := []string{"a/f", "b/f"}[i%2]
			want := v.wantFile(t, v.viewPath(t, p), data)
			for {
				select {
				case <-stop:
					return
				default:
				}
				got, err := os.ReadFile(filepath.Join(v.mnt, v.viewPath(t, p)))
				if err == nil && !bytes.Equal(got, want) {
					t.Errorf("%s: wrong bytes", p)
					return
				}
				os.ReadDir(v.mnt)
			}
		}()
	}
	for range 20 {
		os.Rename(filepath.Join(v.plain, "a"), filepath.Join(v.plain, "c"))
		time.Sleep(5 * time.Millisecond)
		os.Rename(filepath.Join(v.plain, "c"), filepath.Join(v.plain, "a"))
		time.Sleep(5 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
}

package rotate

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/cipher"
	"github.com/veilfs/veilfs/cipher/config"
	vfs "github.com/veilfs/veilfs/fs"
	"github.com/veilfs/veilfs/fs/cipherdir"
	"github.com/veilfs/veilfs/internal/testenv"
)

var password = []byte("rotate-test-password")

// requireFUSE: the tests mount the volume in-process, with mount(2) as root.
func requireFUSE(t *testing.T) {
	t.Helper()
	testenv.NeedFUSE(t)
	testenv.NeedRoot(t, "the tests mount in-process with mount(2)")
}

// withMount mounts the volume in dir with master for the duration of fn.
func withMount(t *testing.T, dir string, master []byte, fn func(mnt string)) {
	t.Helper()
	vol, err := cipherdir.OpenWithMasterKey(dir, master)
	if err != nil {
		t.Fatalf("open volume: %v", err)
	}
	mnt := t.TempDir()
	m, err := vfs.MountVolume(mnt, vol, vfs.Options{})
	if err != nil {
		t.Fatalf("mount: %v", err)
	}
	done := make(chan struct{})
	go func() { m.Wait(); close(done) }()
	defer func() {
		for i := 0; ; i++ {
			err := m.Unmount()
			if err == nil {
				break
			}
			if i == 50 {
				t.Fatalf("unmount: %v", err)
			}
			time.Sleep(20 * time.Millisecond)
		}
		<-done
	}()
	fn(mnt)
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// populate builds a tree with every kind of entry rotation must keep.
func populate(t *testing.T, mnt string, small bool) {
	w := func(p string, data []byte, mode os.FileMode) {
		must(t, os.WriteFile(filepath.Join(mnt, p), data, mode))
		must(t, os.Chmod(filepath.Join(mnt, p), mode))
	}
	long := strings.Repeat("long-name-", 20) // 200 bytes: a hashed long name
	must(t, os.MkdirAll(filepath.Join(mnt, "a/b/c"), 0o755))
	must(t, os.Mkdir(filepath.Join(mnt, long), 0o700))
	w("empty", nil, 0o644)
	w("a/one", []byte("x"), 0o600)
	w("a/b/block", bytes.Repeat([]byte("b"), 4096), 0o640)
	w("a/b/c/"+long+".txt", []byte("file with a long name"), 0o644)
	w(long+"/inner", []byte("inside a long-named directory"), 0o444)
	big := make([]byte, 300_000)
	for i := range big {
		big[i] = byte(i * 7)
	}
	if !small {
		big = slices.Repeat(big, 8) // 2.4 MB: several 1 MiB chunks
	}
	w("a/big", big, 0o644)
	// Sparse: data, a hole of whole blocks, data at the end.
	f, err := os.Create(filepath.Join(mnt, "sparse"))
	must(t, err)
	_, err = f.WriteAt([]byte("start"), 0)
	must(t, err)
	end := int64(10 << 20)
	if small {
		end = 1 << 20 // still a hole of whole blocks, a tenth of the bytes to hash
	}
	_, err = f.WriteAt([]byte("end"), end)
	must(t, err)
	must(t, f.Close())
	must(t, os.Link(filepath.Join(mnt, "a/one"), filepath.Join(mnt, "a/b/c/one-link")))
	must(t, os.Link(filepath.Join(mnt, "a/one"), filepath.Join(mnt, "one-link-2")))
	must(t, os.Symlink("a/b/block", filepath.Join(mnt, "link")))
	must(t, os.Symlink("/"+strings.Repeat("t", 300), filepath.Join(mnt, "a/long-target")))
	must(t, syscall.Mkfifo(filepath.Join(mnt, "a/fifo"), 0o600))
	must(t, unix.Setxattr(filepath.Join(mnt, "a/big"), "user.note", []byte("value"), 0))
	must(t, unix.Setxattr(filepath.Join(mnt, "a/big"), "user.empty", nil, 0))
	must(t, unix.Setxattr(filepath.Join(mnt, "empty"), "user.only-empty", nil, 0))
	must(t, unix.Setxattr(filepath.Join(mnt, "a"), "user.dir", []byte("dir value"), 0))
	must(t, unix.Setxattr(filepath.Join(mnt, long), "user.dir-empty", nil, 0))
	if os.Geteuid() == 0 {
		// Kept under trusted.gocryptfs. on the backing objects (FORMAT §7).
		must(t, unix.Lsetxattr(filepath.Join(mnt, "link"), "trusted.on-link", []byte("link value"), 0))
		must(t, unix.Lsetxattr(filepath.Join(mnt, "link"), "security.empty", nil, 0))
		must(t, unix.Lsetxattr(filepath.Join(mnt, "a/fifo"), "trusted.on-fifo", []byte("fifo value"), 0))
	}
	must(t, os.Chown(filepath.Join(mnt, "a/one"), 1234, 5678))
	past := time.Date(2020, 1, 2, 3, 4, 5, 600, time.UTC)
	for _, p := range []string{"a/big", "empty", "sparse", "a/b", "a"} {
		must(t, os.Chtimes(filepath.Join(mnt, p), past, past.Add(time.Hour)))
	}
	must(t, unix.Lutimes(filepath.Join(mnt, "link"), []unix.Timeval{{Sec: 1e9}, {Sec: 1e9 + 5}}))
}

// snapshot describes the plaintext tree, metadata and content. Hard links
// are described by their link sets. Reading a file can change its atime
// (relatime: when atime is older than ctime, which rotation changes), so
// the volume is mounted twice and metadata is read in a mount of its own:
// after reading everything for the first snapshot (metaFirst false), before
// reading anything for the second.
func snapshot(t *testing.T, dir string, master []byte, metaFirst bool) map[string]string {
	t.Helper()
	var content, out map[string]string
	if metaFirst {
		withMount(t, dir, master, func(mnt string) { out = describe(t, mnt, nil) })
		withMount(t, dir, master, func(mnt string) { content = readTree(t, mnt) })
		for k, c := range content {
			if _, ok := out[k]; ok {
				out[k] += " " + c
			}
		}
		return out
	}
	withMount(t, dir, master, func(mnt string) { content = readTree(t, mnt) })
	withMount(t, dir, master, func(mnt string) { out = describe(t, mnt, content) })
	for k, c := range content {
		out[k] += " " + c
	}
	return out
}

func readTree(t *testing.T, mnt string) map[string]string {
	content := map[string]string{}
	must(t, filepath.Walk(mnt, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(mnt, p)
		var s string
		switch {
		case fi.Mode().IsRegular():
			data, err := os.ReadFile(p)
			if err != nil {
				return fmt.Errorf("read %s: %w", rel, err)
			}
			s = fmt.Sprintf("sha=%x", sha256.Sum256(data))
		case fi.Mode()&os.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			s = "target=" + target
		}
		content[rel] = s
		return nil
	}))
	return content
}

func describe(t *testing.T, mnt string, content map[string]string) map[string]string {
	out := map[string]string{}
	inodes := map[uint64][]string{}
	if content == nil {
		content = map[string]string{}
		must(t, filepath.Walk(mnt, func(p string, _ os.FileInfo, err error) error {
			rel, _ := filepath.Rel(mnt, p)
			content[rel] = ""
			return err
		}))
	}
	for rel := range content {
		var st unix.Stat_t
		must(t, unix.Lstat(filepath.Join(mnt, rel), &st))
		if st.Mode&unix.S_IFMT != unix.S_IFDIR {
			inodes[st.Ino] = append(inodes[st.Ino], rel)
		}
	}
	for rel := range content {
		p := filepath.Join(mnt, rel)
		var st unix.Stat_t
		must(t, unix.Lstat(p, &st))
		var xs []string
		names, err := listXattrsPath(p)
		must(t, err)
		for _, n := range names {
			v := make([]byte, 1024)
			k, err := unix.Lgetxattr(p, n, v)
			must(t, err)
			xs = append(xs, n+"="+string(v[:k]))
		}
		slices.Sort(xs)
		links := slices.Clone(inodes[st.Ino])
		slices.Sort(links)
		desc := fmt.Sprintf("mode=%o uid=%d gid=%d size=%d nlink=%d mtime=%d.%d xattrs=%q links=%q",
			st.Mode, st.Uid, st.Gid, st.Size, st.Nlink, st.Mtim.Sec, st.Mtim.Nsec, xs, links)
		if st.Mode&unix.S_IFMT != unix.S_IFDIR {
			desc += fmt.Sprintf(" atime=%d.%d", st.Atim.Sec, st.Atim.Nsec)
		}
		out[rel] = desc
	}
	return out
}

func listXattrsPath(p string) ([]string, error) {
	buf := make([]byte, 4096)
	n, err := unix.Llistxattr(p, buf)
	if err != nil {
		return nil, err
	}
	var names []string
	for s := range strings.SplitSeq(string(buf[:n]), "\x00") {
		if s != "" {
			names = append(names, s)
		}
	}
	return names, nil
}

func compare(t *testing.T, want, got map[string]string) {
	t.Helper()
	for k, w := range want {
		if g, ok := got[k]; !ok {
			t.Errorf("%s: missing after rotation", k)
		} else if g != w {
			t.Errorf("%s:\n before %s\n after  %s", k, w, g)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: appeared after rotation: %s", k, got[k])
		}
	}
}

func wrapWith(pw []byte) func(*config.File, []byte) error {
	return func(f *config.File, mk []byte) error { return f.Rewrap(mk, pw, 0) }
}

type kind struct {
	name string
	opts config.CreateOptions
}

var kinds = []kind{
	{"default", config.CreateOptions{}},
	{"plaintextnames", config.CreateOptions{PlaintextNames: true}},
	{"deterministic", config.CreateOptions{DeterministicNames: true}},
	{"aessiv", config.CreateOptions{AESSIV: true}},
	{"xchacha", config.CreateOptions{XChaCha: true}},
	{"longnamemax62", config.CreateOptions{LongNameMax: 62}},
}

// newVolume creates and fills a volume and returns its dir, master key and
// the snapshot of its plaintext.
func newVolume(t *testing.T, opts config.CreateOptions, small bool) (string, []byte, map[string]string) {
	dir := filepath.Join(t.TempDir(), "cipher")
	opts.LogN = 10
	master, err := cipherdir.Init(dir, password, opts)
	must(t, err)
	withMount(t, dir, master, func(mnt string) {
		populate(t, mnt, small)
	})
	return dir, master, snapshot(t, dir, master, false)
}

// copyVolume copies the CIPHERDIR tmpl, keeping modes, times, hard links
// and holes (cp -a), into a new temporary directory.
func copyVolume(t *testing.T, tmpl string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "cipher")
	if out, err := exec.Command("cp", "-a", tmpl, dir).CombinedOutput(); err != nil {
		t.Fatalf("cp -a: %v: %s", err, out)
	}
	return dir
}

// unlockForRun does what veilfs rotate does before Run: the password
// unlocks the pending rotation's target config if there is one, else the
// volume's config. It returns the volume's config and the key.
func unlockForRun(t *testing.T, dir string) (*config.File, []byte) {
	t.Helper()
	conf := loadConf(t, dir)
	unlockConf, err := Pending(dir, conf)
	if errors.Is(err, os.ErrNotExist) {
		unlockConf = conf
	} else {
		must(t, err)
	}
	key, err := unlockConf.UnlockMasterKey(password)
	must(t, err)
	return conf, key
}

func loadConf(t *testing.T, dir string) *config.File {
	t.Helper()
	f, err := config.Load(filepath.Join(dir, config.Filename))
	must(t, err)
	return f
}

func TestRotateEveryKind(t *testing.T) {
	requireFUSE(t)
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			dir, oldMaster, before := newVolume(t, k.opts, false)
			var warnings []string
			res, err := Run(dir, loadConf(t, dir), oldMaster, Options{
				Wrap: wrapWith(password),
				Warn: func(m string) { warnings = append(warnings, m) },
			})
			must(t, err)
			if len(warnings) > 0 {
				t.Errorf("warnings: %q", warnings)
			}
			if bytes.Equal(res.NewMaster, oldMaster) {
				t.Fatal("new master key equals the old one")
			}
			if res.Progress.Files == 0 || res.Progress.Files != res.Progress.TotalFiles {
				t.Errorf("progress %+v", res.Progress)
			}
			checkRotated(t, dir, oldMaster, res.NewMaster, before)
		})
	}
}

// checkRotated verifies a finished rotation: no journal, no flag, the
// password opens the new key, the tree is unchanged, and the old key
// decrypts nothing.
func checkRotated(t *testing.T, dir string, oldMaster, newMaster []byte, before map[string]string) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(dir, JournalName)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("journal left behind: %v", err)
	}
	conf := loadConf(t, dir)
	if conf.Rotating() {
		t.Error("config still flagged as rotating")
	}
	mk, err := conf.UnlockMasterKey(password)
	must(t, err)
	if !bytes.Equal(mk, newMaster) {
		t.Fatal("the password does not unlock the new master key")
	}
	compare(t, before, snapshot(t, dir, newMaster, true))
	leftovers := 0
	must(t, filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if strings.Contains(filepath.Base(p), "gocryptfs.rotat") {
			leftovers++
			t.Errorf("leftover %s", p)
		}
		return err
	}))
	// The old key reads nothing: every non-empty file fails under it.
	oldVol, err := cipherdir.OpenWithConfig(dir, conf, oldMaster)
	must(t, err)
	defer oldVol.Wipe()
	checked := 0
	must(t, filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || !fi.Mode().IsRegular() || fi.Size() <= cipher.HeaderSize || strings.HasPrefix(fi.Name(), "gocryptfs.") {
			return err
		}
		data, err := os.ReadFile(p)
		must(t, err)
		id, err := cipher.ParseHeader(data)
		must(t, err)
		b := data[cipher.HeaderSize:min(len(data), cipher.HeaderSize+oldVol.Content.CipherBlockSize())]
		if _, err := oldVol.Content.OpenBlock(nil, b, 0, id); err == nil {
			t.Errorf("%s still decrypts with the old master key", p)
		}
		checked++
		return nil
	}))
	if checked == 0 {
		t.Error("no ciphertext file checked against the old key")
	}
}

// TestRotateFormatChange switches content cipher and long-name threshold in
// the same pass.
func TestRotateFormatChange(t *testing.T) {
	requireFUSE(t)
	dir, oldMaster, before := newVolume(t, config.CreateOptions{}, true)
	res, err := Run(dir, loadConf(t, dir), oldMaster, Options{
		Wrap:   wrapWith(password),
		Format: config.FormatChange{XChaCha: true, LongNameMax: 62},
	})
	must(t, err)
	conf := loadConf(t, dir)
	if conf.ContentAlgorithm() != cipher.XChaCha20Poly1305 || conf.LongNameMax != 62 {
		t.Fatalf("format not changed: %v, LongNameMax %d", conf.FeatureFlags, conf.LongNameMax)
	}
	checkRotated(t, dir, oldMaster, res.NewMaster, before)
}

// TestRotateResumeAtEveryStep stops the rotation at every step boundary in
// turn (as a crash there would), runs it again, and checks the result each
// time.
func TestRotateResumeAtEveryStep(t *testing.T) {
	requireFUSE(t)
	for _, k := range []kind{kinds[0], kinds[1], {"format-change", config.CreateOptions{}}} {
		t.Run(k.name, func(t *testing.T) {
			format := config.FormatChange{}
			if k.name == "format-change" {
				format = config.FormatChange{XChaCha: true, LongNameMax: 62}
			}
			steps := map[string]int{}
			// Each stop point gets a copy of one volume made per sweep
			// (mounting and filling a fresh one every time made this the
			// slowest test under -race, past its timeout on a loaded
			// machine). Each sweep's volume has its own random names and
			// so its own directory order, so stop point N is not always
			// the same step, and by chance one sweep can miss a step
			// altogether. A sweep that missed one is run again (the step
			// counts add up), up to three in all.
			for sweep := 1; ; sweep++ {
				tmpl, oldMaster, _ := newVolume(t, k.opts, true)
				for stop := 1; ; stop++ {
					// Its own snapshot: cp reads the template, which
					// moves the template's atimes.
					dir := copyVolume(t, tmpl)
					before := snapshot(t, dir, oldMaster, false)
					n := 0
					errStop := errors.New("injected stop")
					_, err := Run(dir, loadConf(t, dir), oldMaster, Options{
						Wrap: wrapWith(password), Format: format,
						fault: func(step string) error {
							if n++; n == stop {
								steps[step]++
								return errStop
							}
							return nil
						},
					})
					if err == nil {
						t.Logf("%d stop points: %v", stop-1, steps)
						break
					}
					if !errors.Is(err, errStop) {
						t.Fatalf("stop %d: %v", stop, err)
					}
					// A pending journal's target config, else the config
					// on disk, decides which key the password unlocks.
					conf, unlockKey := unlockForRun(t, dir)
					res, err := Run(dir, conf, unlockKey, Options{Wrap: wrapWith(password)})
					if errors.Is(err, ErrAlreadyDone) {
						compare(t, before, snapshot(t, dir, unlockKey, true))
						continue
					}
					if err != nil {
						t.Fatalf("resume after stop %d: %v", stop, err)
					}
					checkRotated(t, dir, oldMaster, res.NewMaster, before)
					if t.Failed() {
						t.Fatalf("after stop %d (%v)", stop, steps)
					}
				}
				var missed []string
				for _, s := range []string{"start", "journal", "copied", "replaced", "plan", "rename", "dirdone", "grouplink", "final", "saved"} {
					if steps[s] == 0 && !(s == "rename" && k.opts.PlaintextNames) {
						missed = append(missed, s)
					}
				}
				if len(missed) == 0 {
					break
				}
				if sweep == 3 {
					t.Fatalf("steps %q never exercised in %d sweeps", missed, sweep)
				}
				t.Logf("sweep %d never stopped at %q; sweeping again", sweep, missed)
			}
		})
	}
}

func TestRotateRefusesMounted(t *testing.T) {
	requireFUSE(t)
	dir, master, _ := newVolume(t, config.CreateOptions{}, true)
	withMount(t, dir, master, func(string) {
		_, err := Run(dir, loadConf(t, dir), master, Options{Wrap: wrapWith(password)})
		if !errors.Is(err, ErrMounted) {
			t.Fatalf("got %v, want ErrMounted", err)
		}
	})
}

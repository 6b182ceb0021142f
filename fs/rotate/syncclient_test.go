package rotate

import (
	"crypto/sha256"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/cipher/config"
	"github.com/veilfs/veilfs/fs/cipherdir"
)

// TestRotateLeavesSyncClientFiles: a rotation neither renames nor rewrites
// a sync client's own files and folders, not even a client's copy of a
// volume file (a download in progress, a version Syncthing keeps), does
// not count them, warns about nothing, and the tree reads as before.
func TestRotateLeavesSyncClientFiles(t *testing.T) {
	requireFUSE(t)
	for _, k := range []kind{kinds[0], {"longnamemax62", config.CreateOptions{LongNameMax: 62}}} {
		t.Run(k.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "cipher")
			opts := k.opts
			opts.LogN = 10
			master, err := cipherdir.Init(dir, password, opts)
			must(t, err)
			withMount(t, dir, master, func(mnt string) { populate(t, mnt, true) })

			// A volume file's ciphertext, and a directory to plant into.
			var file, sub string
			ents, err := os.ReadDir(dir)
			must(t, err)
			for _, e := range ents {
				switch n := e.Name(); {
				case strings.HasPrefix(n, "gocryptfs."):
				case e.IsDir():
					sub = n
				case e.Type().IsRegular():
					if st, _ := e.Info(); st.Size() > 100 {
						file = n
					}
				}
			}
			if file == "" || sub == "" {
				t.Fatalf("no file (%q) or directory (%q) in %s", file, sub, dir)
			}
			data, err := os.ReadFile(filepath.Join(dir, file))
			must(t, err)
			for _, d := range []string{".stfolder", ".stversions", filepath.Join(".stversions", sub), filepath.Join(sub, ".stversions")} {
				must(t, os.Mkdir(filepath.Join(dir, d), 0o755))
			}
			planted := map[string][]byte{
				".syncthing." + file + ".tmp":                          data,
				filepath.Join(".stversions", file+"~20261127-093015"):  data,
				filepath.Join(".stversions", sub, "x~20261127-093015"): []byte("an old version"),
				filepath.Join(sub, ".stversions", "y"):                 []byte("an old version"),
				"desktop.ini":                                          []byte("[.ShellClassInfo]"),
				"gocryptfs.diriv.partial":                              []byte("rclone's"),
				filepath.Join(sub, ".DS_Store"):                        []byte("Finder's"),
				filepath.Join(sub, "~syncthing~"+file+".tmp"):          data[:50],
			}
			for p, b := range planted {
				must(t, os.WriteFile(filepath.Join(dir, p), b, 0o644))
			}
			before := snapshot(t, dir, master, false)
			subPlain := plainName(t, dir, master, sub)

			var warnings []string
			res, err := Run(dir, loadConf(t, dir), master, Options{
				Wrap: wrapWith(password),
				Warn: func(m string) { warnings = append(warnings, m) },
			})
			must(t, err)
			if len(warnings) > 0 {
				t.Errorf("warnings: %q", warnings)
			}
			if res.Progress.Files == 0 || res.Progress.Files != res.Progress.TotalFiles {
				t.Errorf("progress %+v: the clients' files counted", res.Progress)
			}
			// sub is the volume's: it has a new name, and the clients'
			// files in it went along.
			newSub := diskName(t, dir, res.NewMaster, subPlain)
			for p, b := range planted {
				if rest, ok := strings.CutPrefix(p, sub+"/"); ok {
					p = filepath.Join(newSub, rest)
				}
				got, err := os.ReadFile(filepath.Join(dir, p))
				if err != nil || sha256.Sum256(got) != sha256.Sum256(b) {
					t.Errorf("%s changed or gone: %v", p, err)
				}
			}
			if _, err := os.Stat(filepath.Join(dir, ".stfolder")); err != nil {
				t.Errorf(".stfolder: %v", err)
			}
			if after := snapshot(t, dir, res.NewMaster, true); !maps.Equal(before, after) {
				compare(t, before, after)
			}
		})
	}
}

// plainName decrypts disk, an entry of the root of the volume in dir.
func plainName(t *testing.T, dir string, master []byte, disk string) string {
	t.Helper()
	v, root := openRoot(t, dir, master)
	iv, err := v.DirIVAt(root)
	must(t, err)
	plain, err := v.PlainName(root, disk, iv, true)
	must(t, err)
	return plain
}

// diskName encrypts plain, a name in the root of the volume in dir.
func diskName(t *testing.T, dir string, master []byte, plain string) string {
	t.Helper()
	v, root := openRoot(t, dir, master)
	iv, err := v.DirIVAt(root)
	must(t, err)
	disk, _, err := v.DiskName(plain, iv, true)
	must(t, err)
	return disk
}

func openRoot(t *testing.T, dir string, master []byte) (*cipherdir.Volume, int) {
	t.Helper()
	v, err := cipherdir.OpenWithConfig(dir, loadConf(t, dir), master)
	must(t, err)
	t.Cleanup(v.Wipe)
	root, err := v.OpenRoot()
	must(t, err)
	t.Cleanup(func() { unix.Close(root) })
	return v, root
}

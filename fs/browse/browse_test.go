package browse_test

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/cipher/config"
	"github.com/veilfs/veilfs/fs/browse"
	"github.com/veilfs/veilfs/fs/cipherdir"
	"github.com/veilfs/veilfs/fs/reverse/view"
)

// reverseVolume makes a reverse volume of a plaintext tree (dirs, then
// files each holding its own name), which needs no mount to list, and
// returns it with its root open.
func reverseVolume(t *testing.T, dirs, files []string) (*cipherdir.Volume, int) {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	plain := t.TempDir()
	for _, d := range dirs {
		must(os.MkdirAll(filepath.Join(plain, d), 0o700))
	}
	for _, f := range files {
		must(os.WriteFile(filepath.Join(plain, f), []byte(f), 0o600))
	}
	master, err := view.Init(plain, []byte("pw"), config.CreateOptions{LogN: 10})
	must(err)
	conf, err := config.Load(cipherdir.ReverseConfigPath(plain))
	must(err)
	v, err := cipherdir.OpenWithConfig(plain, conf, master)
	must(err)
	root, err := v.OpenRoot()
	must(err)
	t.Cleanup(func() { unix.Close(root); v.Wipe() })
	return v, root
}

// TestListReverseOrder: entries by plaintext name, each directory's rows
// right after its own, the view's own files after the entries, and names
// and paths from the listed directory and from the root.
func TestListReverseOrder(t *testing.T) {
	v, root := reverseVolume(t, []string{"a/c"}, []string{"b.txt", "a/z.txt", "a/c/d.txt", "c.txt"})
	start, err := view.EncryptPath(v, root, "")
	if err != nil {
		t.Fatal(err)
	}
	plain := func(opts browse.Options, p *cipherdir.VolumePath) (names, paths []string) {
		t.Helper()
		ls, err := browse.ListReverse(v, root, p, opts)
		if err != nil {
			t.Fatal(err)
		}
		if ls.Undecryptable != 0 || len(ls.Unlisted) != 0 {
			t.Errorf("listing: %d undecryptable, unlisted %q", ls.Undecryptable, ls.Unlisted)
		}
		for _, r := range ls.Rows {
			if r.Role != cipherdir.RoleEntry {
				names = append(names, "-"+r.Disk)
				continue
			}
			names, paths = append(names, r.Name), append(paths, r.Path)
		}
		return names, paths
	}
	names, paths := plain(browse.Options{Recursive: true}, start)
	if want := []string{"a", "a/c", "a/c/d.txt", "a/z.txt", "b.txt", "c.txt"}; !reflect.DeepEqual(names, want) {
		t.Errorf("-R: names %q, want %q", names, want)
	}
	if want := []string{"/a", "/a/c", "/a/c/d.txt", "/a/z.txt", "/b.txt", "/c.txt"}; !reflect.DeepEqual(paths, want) {
		t.Errorf("-R: paths %q, want %q", paths, want)
	}
	names, _ = plain(browse.Options{All: true}, start)
	if want := []string{"a", "b.txt", "c.txt", "-gocryptfs.conf", "-gocryptfs.diriv"}; !reflect.DeepEqual(names, want) {
		t.Errorf("-a: names %q, want %q", names, want)
	}
	file, err := view.EncryptPath(v, root, "a/z.txt")
	if err != nil {
		t.Fatal(err)
	}
	names, paths = plain(browse.Options{Recursive: true}, file)
	if !reflect.DeepEqual(names, []string{"z.txt"}) || !reflect.DeepEqual(paths, []string{"/a/z.txt"}) {
		t.Errorf("a file lists itself: %q %q", names, paths)
	}
}

package cipherdir

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/cipher"
	"github.com/veilfs/veilfs/cipher/config"
	"github.com/veilfs/veilfs/nametransform"
)

// pathVolumes are the name modes EncryptPath and DecryptPath must handle.
var pathVolumes = map[string]config.CreateOptions{
	"default":       {},
	"plaintext":     {PlaintextNames: true},
	"deterministic": {DeterministicNames: true},
	"longnamemax62": {LongNameMax: 62},
}

// makePath creates the plaintext path p (its directories as needed) with
// the layout primitives, independently of the code under test, and
// returns its ciphertext path. A trailing "/" makes the last component a
// directory; content is the plaintext of a file.
func makePath(t *testing.T, v *Volume, root int, p string, content []byte) string {
	t.Helper()
	isDir := strings.HasSuffix(p, "/")
	comps := strings.Split(strings.Trim(p, "/"), "/")
	dirfd, err := OpenDirAt(root, "")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { closeFD(dirfd) }()
	var cpath string
	for i, name := range comps {
		iv, err := v.DirIVAt(dirfd)
		if err != nil {
			t.Fatal(err)
		}
		disk, cname, err := v.DiskName(name, iv, i == 0)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		cpath = JoinPath(cpath, disk)
		last := i == len(comps)-1
		var st unix.Stat_t
		if unix.Fstatat(dirfd, disk, &st, unix.AT_SYMLINK_NOFOLLOW) == unix.ENOENT {
			err = v.PrepareName(dirfd, disk, cname, func() error {
				if !last || isDir {
					_, err := v.Mkdir(dirfd, disk, 0o755)
					return err
				}
				var data []byte
				if content != nil {
					id := cipher.NewFileID()
					data = v.Content.SealBlocks(cipher.MarshalHeader(id), content, 0, id)
				}
				return os.WriteFile(filepath.Join(v.Dir, cpath), data, 0o644)
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		if !last || isDir {
			child, err := OpenDirAt(dirfd, disk)
			if err != nil {
				t.Fatal(err)
			}
			closeFD(dirfd)
			dirfd = child
		}
	}
	return cpath
}

func TestPathRoundTrip(t *testing.T) {
	long := strings.Repeat("L", 200) // hashed in every mode but plaintext
	mid := strings.Repeat("m", 60)   // hashed with longnamemax 62 only
	paths := []string{
		"a.txt",
		"dir/sub dir/file with spaces.txt",
		"dir/Ünïcødé ✓/日本語.txt",
		long,
		"dir/" + long + "/" + mid,
		mid + "/x",
		"gocryptfs.conf.d/gocryptfs.conf", // reserved only in a plaintext-names root
	}
	for vname, opts := range pathVolumes {
		t.Run(vname, func(t *testing.T) {
			v, root := newTestVolume(t, opts)
			for _, p := range paths {
				want := makePath(t, v, root, p, []byte("x"))
				got, err := v.EncryptPath(root, p)
				if err != nil {
					t.Fatalf("EncryptPath(%q): %v", p, err)
				}
				if got.Cipher() != want || !got.Exists || got.IsDir {
					t.Errorf("EncryptPath(%q) = %q exists=%v dir=%v, want %q, an existing file", p, got.Cipher(), got.Exists, got.IsDir, want)
				}
				// With a leading slash, and back.
				if again, err := v.EncryptPath(root, "/"+p); err != nil || again.Cipher() != want {
					t.Errorf("EncryptPath(/%s) = %v, %v", p, again, err)
				}
				back, role, err := v.DecryptPath(root, want)
				if err != nil || role != RoleEntry || back.Plain() != "/"+p || !back.Exists {
					t.Errorf("DecryptPath(%q) = %v, %v, %v; want /%s", want, back, role, err, p)
				}
				for _, f := range v.RestoreFiles(got) {
					if _, err := os.Lstat(filepath.Join(v.Dir, f)); err != nil {
						t.Errorf("%s: RestoreFiles lists %s: %v", p, f, err)
					}
				}
			}
		})
	}
}

// RestoreFiles lists the object, its sidecar, and the IVs and sidecars of
// the directories above it; exactly what the volume kind has.
func TestRestoreFiles(t *testing.T) {
	long := strings.Repeat("L", 200)
	for _, tc := range []struct {
		vol, path string
		// want describes each line: o = object, s = sidecar, i = diriv.
		want string
	}{
		{"default", "a", "oi"},
		{"default", "d/a", "oii"},
		{"default", long, "osi"},
		{"default", long + "/a", "oisi"},
		{"default", "d/", "oii"},
		{"deterministic", "d/a", "o"},
		{"deterministic", long + "/" + long, "oss"},
		{"plaintext", long + "/a", "o"},
	} {
		t.Run(tc.vol+"/"+tc.path[:min(len(tc.path), 10)], func(t *testing.T) {
			v, root := newTestVolume(t, pathVolumes[tc.vol])
			makePath(t, v, root, tc.path, nil)
			p, err := v.EncryptPath(root, tc.path)
			if err != nil {
				t.Fatal(err)
			}
			files := v.RestoreFiles(p)
			var kinds string
			for _, f := range files {
				switch base := filepath.Base(f); {
				case base == nametransform.DirIVFilename:
					kinds += "i"
				case strings.HasSuffix(base, nametransform.LongNameSuffix):
					kinds += "s"
				default:
					kinds += "o"
				}
				if _, err := os.Lstat(filepath.Join(v.Dir, f)); err != nil {
					t.Errorf("%s does not exist", f)
				}
			}
			if kinds != tc.want || files[0] != p.Cipher() {
				t.Errorf("RestoreFiles = %q (%s), want kinds %s, object first", files, kinds, tc.want)
			}
		})
	}
}

// A deleted file's name is still computed, and decrypts back; a deleted
// directory stops the walk where its IV is needed, and says which one.
func TestPathNotOnDisk(t *testing.T) {
	for vname, opts := range pathVolumes {
		t.Run(vname, func(t *testing.T) {
			v, root := newTestVolume(t, opts)
			makePath(t, v, root, "d/", nil)
			p, err := v.EncryptPath(root, "d/gone.txt")
			if err != nil || p.Exists {
				t.Fatalf("deleted file: %v exists=%v", err, p != nil && p.Exists)
			}
			back, _, err := v.DecryptPath(root, p.Cipher())
			if err != nil || back.Plain() != "/d/gone.txt" || back.Exists {
				t.Errorf("DecryptPath of a deleted file: %v %v", back, err)
			}

			p, err = v.EncryptPath(root, "d/gonedir/x/y.txt")
			var missing *MissingDirError
			needIV := vname == "default" || vname == "longnamemax62"
			switch {
			case needIV && !errors.As(err, &missing):
				t.Fatalf("got %v, want a MissingDirError", err)
			case needIV:
				if missing.Dir.Plain() != "/d/gonedir" || !strings.Contains(err.Error(), "/d/gonedir") || !errors.Is(err, unix.ENOENT) {
					t.Errorf("MissingDirError names %s: %v", missing.Dir.Plain(), err)
				}
				want := makePath(t, v, root, "d/gonedir/", nil)
				if missing.Dir.Cipher() != want {
					t.Errorf("missing directory's ciphertext path %s, created as %s", missing.Dir.Cipher(), want)
				}
			case err != nil || p.Exists:
				t.Errorf("without IV files a path below a deleted directory is computable: %v", err)
			default:
				// And decryptable.
				back, _, err := v.DecryptPath(root, p.Cipher())
				if err != nil || back.Plain() != "/d/gonedir/x/y.txt" {
					t.Errorf("DecryptPath below a deleted directory: %v %v", back, err)
				}
			}
		})
	}
}

// Our own files decrypt to what they belong to, with their role.
func TestDecryptOwnFiles(t *testing.T) {
	long := strings.Repeat("L", 200)
	v, root := newTestVolume(t, config.CreateOptions{})
	dir := makePath(t, v, root, "dir/", nil)
	obj := makePath(t, v, root, "dir/"+long, nil)
	side := nametransform.SidecarName(obj)
	for _, tc := range []struct {
		cpath string
		plain string
		role  FileRole
	}{
		{"gocryptfs.diriv", "/", RoleDirIV},
		{"/" + dir + "/gocryptfs.diriv", "/dir", RoleDirIV},
		{"gocryptfs.conf", "/", RoleConfig},
		{"gocryptfs.conf.tmp", "/", RoleReserved},
		{dir + "/gocryptfs.diriv (conflicted copy 2026-11-27)", "/dir", RoleDirIV},
		{dir + "/gocryptfs.diriv.rmdir.42", "/dir", RoleReserved},
		{side, "/dir/" + long, RoleSidecar},
		{obj, "/dir/" + long, RoleEntry},
	} {
		p, role, err := v.DecryptPath(root, tc.cpath)
		if err != nil || role != tc.role || p.Plain() != tc.plain {
			t.Errorf("DecryptPath(%s) = %v %v %v, want %s %v", tc.cpath, p, role, err, tc.plain, tc.role)
		}
	}
	for _, bad := range []string{
		"gocryptfs.diriv/x",                 // not a directory
		dir + "/notbase64!",                 // does not decrypt
		"../etc",                            // outside
		dir + "/gocryptfs.longname.AAAA",    // no sidecar
		"gocryptfs.conf/" + dir,             // through a reserved file
		obj + "/x",                          // through a file
		dir + "/" + side[len(dir)+1:] + "x", // reserved, not a sidecar
	} {
		p, role, err := v.DecryptPath(root, bad)
		if err == nil && (role == RoleEntry || role == RoleSidecar) {
			t.Errorf("DecryptPath(%s) = %v %v, want an error", bad, p.Plain(), role)
		}
	}
}

// Conflict copies made by sync clients decrypt to the marked name, in both
// directions, for short and long names and their sidecars.
func TestPathConflictCopies(t *testing.T) {
	long := strings.Repeat("L", 200)
	v, root := newTestVolume(t, config.CreateOptions{})
	short := makePath(t, v, root, "dir/report.txt", []byte("mine"))
	obj := makePath(t, v, root, "dir/"+long, []byte("mine"))
	dir, shortName := filepath.Split(short)
	objName := filepath.Base(obj)
	for _, tc := range []struct {
		disk    string // in dir
		plain   string
		sidecar string
	}{
		{shortName + " (conflicted copy 2026-11-27)", "report (conflict 2026-11-27).txt", ""},
		{shortName + ".sync-conflict-20261127-123456-ABCDEFG", "report (conflict 2026-11-27 12:34:56 ABCDEFG).txt", ""},
		{objName + " (laptop's conflicted copy 2026-11-27)", long + " (conflict 2026-11-27 laptop)", objName + ".name"},
	} {
		if err := os.WriteFile(filepath.Join(v.Dir, dir, tc.disk), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		p, role, err := v.DecryptPath(root, dir+tc.disk)
		if err != nil || role != RoleEntry || p.Plain() != "/dir/"+tc.plain {
			t.Fatalf("DecryptPath(%s) = %v %v %v, want /dir/%s", tc.disk, p, role, err, tc.plain)
		}
		last := p.Steps[len(p.Steps)-1]
		if last.Conflict == nil || last.Sidecar != tc.sidecar {
			t.Errorf("%s: conflict %v sidecar %q, want %q", tc.disk, last.Conflict, last.Sidecar, tc.sidecar)
		}
		back, err := v.EncryptPath(root, p.Plain())
		if err != nil || back.Cipher() != dir+tc.disk || !back.Exists {
			t.Errorf("EncryptPath(%s) = %v %v, want the conflict copy %s", p.Plain(), back, err, tc.disk)
		}
	}
	// A conflict copy of a sidecar belongs to its object.
	sideCopy := objName + " (conflicted copy 2026-11-28).name"
	data, _ := os.ReadFile(filepath.Join(v.Dir, obj+".name"))
	os.WriteFile(filepath.Join(v.Dir, dir, sideCopy), data, 0o644)
	p, role, err := v.DecryptPath(root, dir+sideCopy)
	if err != nil || role != RoleSidecar || p.Plain() != "/dir/"+long {
		t.Errorf("conflict copy of a sidecar: %v %v %v", p, role, err)
	}
}

func TestListDir(t *testing.T) {
	long := strings.Repeat("L", 200)
	v, root := newTestVolume(t, config.CreateOptions{})
	makePath(t, v, root, "file.txt", []byte("hello"))
	makePath(t, v, root, "sub/", nil)
	obj := makePath(t, v, root, long, make([]byte, 5000))
	iv, _ := v.DirIVAt(root)
	link, _, _ := v.DiskName("link", iv, true)
	target, _ := v.EncryptLink("file.txt")
	os.Symlink(target, filepath.Join(v.Dir, link))
	os.WriteFile(filepath.Join(v.Dir, "AAAAAAAAAAAAAAAAAAAAAA"), nil, 0o644) // no valid name
	os.WriteFile(filepath.Join(v.Dir, "gocryptfs.conf.tmp"), nil, 0o644)

	entries, err := v.ListDir(root, iv, true)
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		role  FileRole
		plain string
		typ   uint32
		size  int64
	}
	got := map[string]row{}
	for _, e := range entries {
		if e.StatErr != nil || e.SizeErr != nil {
			t.Errorf("%s: %v %v", e.Disk, e.StatErr, e.SizeErr)
		}
		if e.Step.Undecryptable != (e.NameErr != nil) {
			t.Errorf("%s: Undecryptable %v, NameErr %v", e.Disk, e.Step.Undecryptable, e.NameErr)
		}
		got[e.Disk] = row{e.Role, e.Step.Plain, e.Mode & unix.S_IFMT, e.Size}
	}
	want := map[string]row{
		"gocryptfs.conf":         {RoleConfig, "", unix.S_IFREG, got["gocryptfs.conf"].size},
		"gocryptfs.diriv":        {RoleDirIV, "", unix.S_IFREG, 16},
		"gocryptfs.conf.tmp":     {RoleReserved, "", unix.S_IFREG, 0},
		obj:                      {RoleEntry, long, unix.S_IFREG, 5000},
		obj + ".name":            {RoleSidecar, long, unix.S_IFREG, got[obj+".name"].size},
		link:                     {RoleEntry, "link", unix.S_IFLNK, int64(len("file.txt"))},
		"AAAAAAAAAAAAAAAAAAAAAA": {RoleEntry, "?", unix.S_IFREG, 0},
	}
	// The rows whose plaintext names are not known in advance.
	for disk, r := range got {
		switch r.plain {
		case "file.txt":
			want[disk] = row{RoleEntry, "file.txt", unix.S_IFREG, 5}
		case "sub":
			want[disk] = row{RoleEntry, "sub", unix.S_IFDIR, r.size}
		}
	}
	if len(got) != len(want) {
		t.Errorf("got %d entries, want %d: %v", len(got), len(want), got)
	}
	for disk, w := range want {
		if got[disk] != w {
			t.Errorf("%s: got %+v, want %+v", disk, got[disk], w)
		}
	}
	names := slices.Sorted(func(yield func(string) bool) {
		for _, r := range got {
			if r.role == RoleEntry && !yield(r.plain) {
				return
			}
		}
	})
	if !slices.Equal(names, []string{"?", long, "file.txt", "link", "sub"}) {
		t.Errorf("plaintext names %q", names)
	}
}

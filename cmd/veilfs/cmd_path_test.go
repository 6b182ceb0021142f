package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/cipher"
	"github.com/veilfs/veilfs/fs/cipherdir"
)

// pathTestVolume makes a volume (password "pw") holding a.txt (5 bytes),
// "tab<TAB>name", sub/ with b.txt (0 bytes), and junk, a file whose name
// decrypts to nothing. It returns the directory and the ciphertext names.
func pathTestVolume(t *testing.T) (dir string, names map[string]string) {
	t.Helper()
	dir, _ = newVolume(t)
	vol, root := openTestVolume(t, dir)
	names = map[string]string{}
	create := func(dirfd int, parent, name string, content []byte, isDir bool) string {
		iv, err := vol.DirIVAt(dirfd)
		if err != nil {
			t.Fatal(err)
		}
		disk, _, err := vol.DiskName(name, iv, parent == "")
		if err != nil {
			t.Fatal(err)
		}
		rel := cipherdir.JoinPath(parent, disk)
		if isDir {
			_, err = vol.Mkdir(dirfd, disk, 0o755)
		} else {
			id := cipher.NewFileID()
			err = os.WriteFile(filepath.Join(dir, rel), vol.Content.SealBlocks(cipher.MarshalHeader(id), content, 0, id), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
		return rel
	}
	names["a.txt"] = create(root, "", "a.txt", []byte("hello"), false)
	names["tab\tname"] = create(root, "", "tab\tname", []byte("x"), false)
	names["sub"] = create(root, "", "sub", nil, true)
	sub, err := cipherdir.OpenDirAt(root, names["sub"])
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(sub)
	names["sub/b.txt"] = create(sub, names["sub"], "b.txt", nil, false)
	// One 16-byte name in 256 or so decrypts (valid padding) under a
	// random IV: take the first candidate that does not under this one.
	rootIV, err := vol.DirIVAt(root)
	if err != nil {
		t.Fatal(err)
	}
	for c := byte('A'); names["junk"] == ""; c++ {
		junk := strings.Repeat(string(c), 22)
		if _, err := vol.PlainName(root, junk, rootIV, true); err != nil {
			names["junk"] = junk
		}
	}
	if err := os.WriteFile(filepath.Join(dir, names["junk"]), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, names
}

// openTestVolume unlocks the volume in dir (password "pw") and opens its
// root, both closed when the test ends.
func openTestVolume(t *testing.T, dir string) (*cipherdir.Volume, int) {
	t.Helper()
	vol, err := cipherdir.Open(dir, []byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(vol.Wipe)
	root, err := vol.OpenRoot()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(root) })
	return vol, root
}

// TestPathAndLsMessages: what path and ls print, on stdout and stderr, and
// with which exit code, for good and bad arguments.
func TestPathAndLsMessages(t *testing.T) {
	dir, names := pathTestVolume(t)
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string // the whole of stdout when set
		stderr string // a substring
	}{
		{"path alone", []string{"path"}, exitUsage, "", "path: no command given"},
		{"unknown", []string{"path", "frob"}, exitUsage, "", `unknown path command "frob"`},
		{"missing plainpath", []string{"path", "encrypt", dir}, exitUsage, "", "missing PLAINPATH"},
		{"encrypt", []string{"path", "encrypt", dir, "sub/b.txt"}, 0, names["sub/b.txt"] + "\n", ""},
		{"encrypt absolute", []string{"path", "encrypt", "--absolute", dir, "/sub/b.txt"}, 0, filepath.Join(dir, names["sub/b.txt"]) + "\n", ""},
		{"encrypt root", []string{"path", "encrypt", dir, "/"}, 0, ".\n", ""},
		{"encrypt --all", []string{"path", "encrypt", "--all", dir, "sub/b.txt"}, 0,
			names["sub/b.txt"] + "\n" + names["sub"] + "/gocryptfs.diriv\ngocryptfs.diriv\n", ""},
		{"encrypt deleted", []string{"path", "encrypt", dir, "sub/gone"}, 0, "", "/sub/gone is not in CIPHERDIR now"},
		{"encrypt below deleted", []string{"path", "encrypt", dir, "gone/x"}, exitOther, "", "directory /gone is not in CIPHERDIR (its ciphertext path is "},
		{"encrypt dotdot", []string{"path", "encrypt", dir, "sub/../../x"}, exitOther, "", "must not contain .."},
		{"encrypt through a file", []string{"path", "encrypt", dir, "a.txt/x"}, exitOther, "", "/a.txt is not a directory"},
		{"decrypt", []string{"path", "decrypt", dir, names["sub/b.txt"]}, 0, "/sub/b.txt\n", ""},
		{"decrypt absolute", []string{"path", "decrypt", dir, filepath.Join(dir, names["sub/b.txt"])}, 0, "/sub/b.txt\n", ""},
		{"decrypt diriv", []string{"path", "decrypt", dir, names["sub"] + "/gocryptfs.diriv"}, 0, "/sub\n", "is the gocryptfs.diriv of the directory /sub"},
		{"decrypt config", []string{"path", "decrypt", dir, "gocryptfs.conf"}, 0, "/\n", "the volume's config file"},
		{"decrypt outside", []string{"path", "decrypt", dir, "/etc/passwd"}, exitUsage, "", "/etc/passwd is not inside CIPHERDIR"},
		{"decrypt junk", []string{"path", "decrypt", dir, names["junk"]}, exitOther, "", "not written by this volume"},
		{"decrypt reserved", []string{"path", "decrypt", dir, "gocryptfs.conf.tmp"}, exitOther, "", "one of the volume's own files"},
		{"ls missing", []string{"ls", dir, "nope"}, exitOther, "", "/nope is not in the volume"},
		{"ls file", []string{"ls", dir, "a.txt"}, 0,
			"TYPE  SIZE  PLAINTEXT NAME  CIPHERTEXT NAME\nfile  5     a.txt           " + names["a.txt"] + "\n", ""},
		{"no cipherdir", []string{"ls", filepath.Join(dir, "nope")}, exitCipherDir, "", "does not exist"},
		{"two secrets", []string{"ls", "--passfile", "x", "--masterkey", "-", dir}, exitUsage, "", "cannot be used together"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := run(t, "pw\n", tt.args...)
			if code != tt.code || !strings.Contains(stderr, tt.stderr) || (tt.stdout != "" && stdout != tt.stdout) {
				t.Errorf("veilfs %s: exit %d, want %d\nstdout %q (want %q)\nstderr %q (want %q)",
					strings.Join(tt.args, " "), code, tt.code, stdout, tt.stdout, stderr, tt.stderr)
			}
		})
	}
	if code, _, stderr := run(t, "wrong\n", "ls", dir); code != exitWrongPassword {
		t.Errorf("ls with a wrong password: exit %d, %s", code, stderr)
	}
}

// TestLsListing: the table and the JSON of ls -R: names side by side, a
// name that does not decrypt listed as ? and counted on stderr, a control
// character quoted, own files only with -a, and a directory that cannot
// be listed marked and failing the command after the rest is printed.
func TestLsListing(t *testing.T) {
	dir, names := pathTestVolume(t)
	code, stdout, stderr := run(t, "pw\n", "ls", "-R", dir)
	if code != 0 || !strings.Contains(stderr, "warning: 1 name does not decrypt, listed as ?") {
		t.Fatalf("ls -R: exit %d\n%s%s", code, stdout, stderr)
	}
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	want := [][]string{
		{"TYPE", "SIZE", "PLAINTEXT NAME", "CIPHERTEXT NAME", "NOTE"},
		{"file", "5", "a.txt", names["a.txt"], ""},
		{"dir", "-", "sub", names["sub"], ""},
		{"file", "0", "sub/b.txt", names["sub/b.txt"], ""},
		{"file", "1", `"tab\tname"`, names["tab\tname"], ""},
		{"file", "0", "?", names["junk"], "name does not decrypt"},
	}
	if len(lines) != len(want) {
		t.Fatalf("ls -R printed %d lines, want %d:\n%s", len(lines), len(want), stdout)
	}
	for i, w := range want {
		if got := strings.TrimRight(strings.Join(splitColumns(lines[i]), "|"), "|"); got != strings.TrimRight(strings.Join(w, "|"), "|") {
			t.Errorf("line %d: %q, want %q", i, got, strings.Join(w, "|"))
		}
	}

	// JSON: the same entries, with the undecryptable name null.
	code, stdout, _ = run(t, "pw\n", "ls", "-R", "--json", dir)
	var entries []map[string]any
	if err := json.Unmarshal([]byte(stdout), &entries); code != 0 || err != nil || len(entries) != 5 {
		t.Fatalf("ls -R --json: exit %d, %v, %d entries\n%s", code, err, len(entries), stdout)
	}
	if e := entries[2]; e["path"] != "/sub/b.txt" || e["cipher_path"] != names["sub/b.txt"] || e["size"] != 0.0 || e["type"] != "file" {
		t.Errorf("ls --json sub/b.txt: %v", e)
	}
	if e := entries[4]; e["name"] != nil || e["error"] == "" || e["cipher_name"] != names["junk"] {
		t.Errorf("ls --json junk: %v", e)
	}

	// -a adds the volume's own files, after the entries.
	_, stdout, _ = run(t, "pw\n", "ls", "-a", dir)
	for _, w := range []string{`(?m)^file +- +- +gocryptfs.conf +volume config$`, `(?m)^file +- +- +gocryptfs.diriv +IV of the names in /$`} {
		if !regexp.MustCompile(w).MatchString(stdout) {
			t.Errorf("ls -a lacks %q:\n%s", w, stdout)
		}
	}

	// A subdirectory whose IV is gone: listed, marked, and exit 11.
	if err := os.Remove(filepath.Join(dir, names["sub"], "gocryptfs.diriv")); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr = run(t, "pw\n", "ls", "-R", dir)
	if code != exitOther || !strings.Contains(stdout, "not listed: ") || strings.Contains(stdout, "b.txt") ||
		!strings.Contains(stderr, "1 directory could not be listed: /sub") || !strings.Contains(stdout, "a.txt") {
		t.Errorf("ls -R with a lost IV: exit %d\n%s%s", code, stdout, stderr)
	}
}

// splitColumns splits a table line at runs of two or more spaces.
func splitColumns(line string) []string {
	var out []string
	for _, f := range strings.Split(line, "  ") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// TestSyncClientFilesLsPath: a sync client's own files and folders are not
// names that do not decrypt: ls leaves them out (and -a lists them as the
// client's), path decrypt gives the directory they are in with a hint.
func TestSyncClientFilesLsPath(t *testing.T) {
	dir, names := pathTestVolume(t)
	for _, d := range []string{".stfolder", ".stversions", filepath.Join(names["sub"], ".stversions")} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"desktop.ini", ".syncthing." + names["a.txt"] + ".tmp", filepath.Join(names["sub"], ".DS_Store"),
		filepath.Join(".stversions", names["a.txt"]+"~20261127-093015")} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("the client's"), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	code, stdout, stderr := run(t, "pw\n", "ls", "-R", dir)
	if code != 0 || !strings.Contains(stderr, "warning: 1 name does not decrypt") || strings.Contains(stdout, "stversions") ||
		strings.Contains(stdout, "desktop.ini") || strings.Contains(stdout, "DS_Store") || strings.Contains(stdout, "syncthing") {
		t.Errorf("ls -R: exit %d\n%s%s", code, stdout, stderr)
	}
	_, stdout, _ = run(t, "pw\n", "ls", "-a", dir)
	for _, w := range []string{`(?m)^dir +- +- +\.stfolder +Syncthing's own folder, not part of the volume$`,
		`(?m)^file +- +- +desktop\.ini +Windows's own file, not part of the volume$`} {
		if !regexp.MustCompile(w).MatchString(stdout) {
			t.Errorf("ls -a lacks %q:\n%s", w, stdout)
		}
	}
	_, stdout, _ = run(t, "pw\n", "ls", "-a", "--json", dir)
	var entries []map[string]any
	if err := json.Unmarshal([]byte(stdout), &entries); err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e["cipher_name"] == ".stfolder" && (e["role"] != "sync-client" || e["error"] != nil || e["path"] != nil) {
			t.Errorf("ls --json .stfolder: %v", e)
		}
	}

	for _, tc := range []struct{ cpath, stdout, hint string }{
		{".stfolder", "/\n", ".stfolder is Syncthing's own folder, in the directory /: not part of the volume"},
		{"desktop.ini", "/\n", "desktop.ini is Windows's own file, in the directory /"},
		{".stversions/" + names["a.txt"] + "~20261127-093015", "/\n", "is inside .stversions, Syncthing's own folder, in the directory /"},
		{names["sub"] + "/.DS_Store", "/sub\n", "is macOS's own file, in the directory /sub"},
	} {
		code, stdout, stderr := run(t, "pw\n", "path", "decrypt", dir, tc.cpath)
		if code != 0 || stdout != tc.stdout || !strings.Contains(stderr, tc.hint) {
			t.Errorf("path decrypt %s: exit %d\nstdout %q, want %q\nstderr %q, want %q", tc.cpath, code, stdout, tc.stdout, stderr, tc.hint)
		}
	}
}

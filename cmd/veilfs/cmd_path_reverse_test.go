package main

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/veilfs/veilfs/cipher/config"
)

// gocryptfsReverseMaster is the master key of a reverse volume made with
// gocryptfs 2.3 (gocryptfs -init -reverse); the names below are what
// gocryptfs -reverse showed for its plaintext tree (the same vectors as
// fs/reverse/view's TestReversePathsGocryptfsVectors).
const gocryptfsReverseMaster = "f2c783ceb5daca98be85e46dac9dfa1ccf07d3621eb8a3fc2982112581fbc6ce"

var (
	revLong   = strings.Repeat("L", 200)
	revHashed = "gocryptfs.longname.E4MPGo0gfDg2nCYmsmt4JfuehwrbFlPEUHwd-W0TIF0"
	revNames  = map[string]string{
		"hello.txt":      "NzJ8y5mGecX5AtQjJ2oZ7g",
		"sub":            "bPliMSEWJnQuvyCHndzaow",
		"sub/inner.txt":  "bPliMSEWJnQuvyCHndzaow/e5mOVgZMg5Oi1S7r0ICEvA",
		"sub/deeper":     "bPliMSEWJnQuvyCHndzaow/9TphYr2MMSLWAqV1PpE2Qw",
		"sub/" + revLong: "bPliMSEWJnQuvyCHndzaow/" + revHashed,
	}
)

// reverseTestVolume makes the plaintext tree of the vectors a reverse
// volume with their master key and the password "pw".
func reverseTestVolume(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{"sub/deeper"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"hello.txt", "sub/inner.txt", "sub/" + revLong} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("x\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("hello.txt", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	master, _ := hex.DecodeString(gocryptfsReverseMaster)
	f, err := config.New(master, []byte("pw"), config.CreateOptions{AESSIV: true, LogN: 10})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Save(filepath.Join(dir, config.ReverseFilename)); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestPathReverse(t *testing.T) {
	dir := reverseTestVolume(t)
	sub := revNames["sub"]
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string // the whole of stdout when set
		stderr string // a substring
	}{
		{"encrypt", []string{"path", "encrypt", dir, "hello.txt"}, 0, revNames["hello.txt"] + "\n", ""},
		{"encrypt nested", []string{"path", "encrypt", dir, "/sub/inner.txt"}, 0, revNames["sub/inner.txt"] + "\n", ""},
		{"encrypt full path", []string{"path", "encrypt", dir, filepath.Join(dir, "sub", "deeper")}, 0, revNames["sub/deeper"] + "\n", ""},
		{"encrypt long", []string{"path", "encrypt", dir, "sub/" + revLong}, 0, revNames["sub/"+revLong] + "\n", ""},
		{"encrypt --all", []string{"path", "encrypt", "--all", dir, "sub/" + revLong}, 0,
			revNames["sub/"+revLong] + "\n" + revNames["sub/"+revLong] + ".name\n" + sub + "/gocryptfs.diriv\ngocryptfs.diriv\n", ""},
		{"encrypt --all dir", []string{"path", "encrypt", "--all", dir, "sub/deeper"}, 0,
			revNames["sub/deeper"] + "\n" + revNames["sub/deeper"] + "/gocryptfs.diriv\n" + sub + "/gocryptfs.diriv\ngocryptfs.diriv\n", ""},
		{"encrypt root", []string{"path", "encrypt", dir, "/"}, 0, ".\n", ""},
		{"encrypt missing", []string{"path", "encrypt", dir, "sub/new.txt"}, 0, "", "/sub/new.txt is not in " + dir + " now"},
		{"encrypt --absolute", []string{"path", "encrypt", "--absolute", dir, "hello.txt"}, exitUsage, "", "--absolute cannot be used with a reverse volume"},
		{"encrypt config", []string{"path", "encrypt", dir, config.ReverseFilename}, exitOther, "", "as gocryptfs.conf in its root"},
		{"encrypt through a symlink", []string{"path", "encrypt", dir, "link/x"}, exitOther, "", "/link is a symbolic link"},
		{"encrypt dotdot", []string{"path", "encrypt", dir, "../x"}, exitOther, "", "must not contain .."},
		{"decrypt", []string{"path", "decrypt", dir, revNames["sub/inner.txt"]}, 0, "/sub/inner.txt\n", ""},
		{"decrypt long", []string{"path", "decrypt", dir, revNames["sub/"+revLong]}, 0, "/sub/" + revLong + "\n", ""},
		{"decrypt sidecar", []string{"path", "decrypt", dir, revNames["sub/"+revLong] + ".name"}, 0, "/sub/" + revLong + "\n", "is the long-name sidecar of /sub/" + revLong},
		{"decrypt diriv", []string{"path", "decrypt", dir, sub + "/gocryptfs.diriv"}, 0, "/sub\n", "is the gocryptfs.diriv of the directory /sub"},
		{"decrypt config", []string{"path", "decrypt", dir, "gocryptfs.conf"}, 0, "/\n", filepath.Join(dir, config.ReverseFilename)},
		{"decrypt absolute", []string{"path", "decrypt", dir, "/" + revNames["hello.txt"]}, exitUsage, "", "is an absolute path"},
		{"decrypt junk", []string{"path", "decrypt", dir, "AAAAAAAAAAAAAAAAAAAAAA"}, exitOther, "", "not one this volume's view shows"},
		{"decrypt unknown long", []string{"path", "decrypt", dir, sub + "/gocryptfs.longname.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}, exitOther, "", "not part of the reverse view"},
		{"decrypt below own file", []string{"path", "decrypt", dir, "gocryptfs.diriv/x"}, exitOther, "", "one of the view's own files"},
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
	// The name "hello.txt" has in sub, though it is not there.
	_, stdout, _ := run(t, "pw\n", "path", "encrypt", dir, "sub/hello.txt")
	if code, out, _ := run(t, "pw\n", "path", "decrypt", dir, strings.TrimSpace(stdout)); code != 0 || out != "/sub/hello.txt\n" {
		t.Errorf("decrypt of a file not in PLAINDIR: exit %d, %q", code, out)
	}
	if code, _, stderr := run(t, "wrong\n", "path", "encrypt", dir, "hello.txt"); code != exitWrongPassword {
		t.Errorf("wrong password: exit %d, %s", code, stderr)
	}
}

// TestLsReverse: ls on a PLAINDIR lists the view, its own files with -a.
func TestLsReverse(t *testing.T) {
	dir := reverseTestVolume(t)
	code, stdout, stderr := run(t, "pw\n", "ls", "-R", "-a", "--json", dir)
	if code != 0 {
		t.Fatalf("ls: exit %d: %s", code, stderr)
	}
	var entries []map[string]any
	if err := json.Unmarshal([]byte(stdout), &entries); err != nil {
		t.Fatal(err)
	}
	got := map[string]map[string]any{}
	for _, e := range entries {
		got[e["cipher_path"].(string)] = e
	}
	for plain, view := range revNames {
		if e := got[view]; e == nil || e["path"] != "/"+plain {
			t.Errorf("ls: %s should be /%s: %v", view, plain, e)
		}
	}
	// A file's size in the view: 18-byte header, 2 bytes, 32-byte tag.
	if e := got[revNames["hello.txt"]]; e["size"] != 2.0 || e["cipher_size"] != 52.0 {
		t.Errorf("hello.txt: %v", e)
	}
	for _, own := range []string{"gocryptfs.conf", "gocryptfs.diriv", revNames["sub"] + "/gocryptfs.diriv", revNames["sub/"+revLong] + ".name"} {
		if got[own] == nil || got[own]["role"] == "" {
			t.Errorf("ls -a lacks the view's own file %s", own)
		}
	}
	if got[config.ReverseFilename] != nil {
		t.Error("ls lists the reverse config under its own name")
	}
	// 5 entries, a symlink, 4 own files (conf, 3 IVs), 1 sidecar.
	if len(entries) != 11 {
		t.Errorf("ls -R -a listed %d entries, want 11:\n%s", len(entries), stdout)
	}

	code, stdout, _ = run(t, "pw\n", "ls", dir, "sub/inner.txt")
	if code != 0 || !strings.Contains(stdout, "inner.txt") || !strings.Contains(stdout, strings.TrimPrefix(revNames["sub/inner.txt"], revNames["sub"]+"/")) {
		t.Errorf("ls of one file: exit %d\n%s", code, stdout)
	}
}

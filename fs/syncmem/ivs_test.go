package syncmem

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestIVsRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "ivs")
	m := OpenIVs(path)
	a, b := []byte("0123456789abcdef"), []byte("fedcba9876543210")
	if m.Knows(a) {
		t.Fatal("an empty memory knows an IV")
	}
	m.Record("dir/x", a)
	m.Record("dir/x", b)
	m.Record("y", b)
	// A fresh reader sees what was written, and skips damaged lines.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("not-hex z\nabcd short\n\n")
	f.Close()
	r := OpenIVs(path)
	if got := r.Recall("dir/x"); len(got) != 2 || !bytes.Equal(got[0], a) || !bytes.Equal(got[1], b) {
		t.Errorf("Recall(dir/x) = %q", got)
	}
	if got := r.All(); len(got) != 3 {
		t.Errorf("All() = %q, want 3 IVs", got)
	}
	if !r.Knows(a) || !r.Knows(b) || r.Knows([]byte("0000000000000000")) {
		t.Error("Knows is wrong")
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("memory file: %v, %v; want mode 0600", st, err)
	}
	var none *IVs = OpenIVs("")
	none.Record("x", a)
	if none.Recall("x") != nil || !none.Knows(a) {
		t.Error("a nil memory must remember nothing and record nothing")
	}
}

// TestIVsForget: a removed directory's IVs leave the memory, in this
// process and for the next reader of the file, and a directory made again
// under the same path is remembered afresh.
func TestIVsForget(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ivs")
	m := OpenIVs(path)
	a, b, c := []byte("0123456789abcdef"), []byte("fedcba9876543210"), []byte("aaaaaaaaaaaaaaaa")
	m.Record("gone", a)
	m.Record("kept", b)
	m.Forget("gone")
	m.Forget("never-recorded")
	if m.Recall("gone") != nil || m.Knows(a) || len(m.All()) != 1 {
		t.Errorf("after Forget: Recall %q, Knows %v, All %q", m.Recall("gone"), m.Knows(a), m.All())
	}
	m.Record("gone", c) // made again under the same path
	m.Close()
	r := OpenIVs(path)
	if got := r.Recall("gone"); len(got) != 1 || !bytes.Equal(got[0], c) {
		t.Errorf("next reader: Recall(gone) = %q, want only the new IV", got)
	}
	if r.Knows(a) || !r.Knows(b) || !r.Knows(c) {
		t.Error("next reader: Knows is wrong")
	}
	data, err := os.ReadFile(path)
	if err != nil || bytes.Count(data, []byte("forget ")) != 1 {
		t.Errorf("memory file: %q, %v; want one forget line (none for a path never recorded)", data, err)
	}
}

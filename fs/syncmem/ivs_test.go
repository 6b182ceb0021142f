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

package syncmem

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/veilfs/veilfs/nametransform"
)

// objOf is the long-name object of cname, as a Raw64 (raw) or padded
// volume names it.
func objOf(cname string, raw bool) string {
	h := sha256.Sum256([]byte(cname))
	enc := base64.URLEncoding
	if raw {
		enc = base64.RawURLEncoding
	}
	return nametransform.LongNamePrefix + enc.EncodeToString(h[:])
}

// cname returns a plausible full encrypted name (base64url, 342 bytes).
func cname(seed string) string {
	h := sha256.Sum256([]byte(seed))
	return base64.RawURLEncoding.EncodeToString(bytes.Repeat(h[:], 8))[:342]
}

func memPath(t *testing.T) string {
	return filepath.Join(t.TempDir(), "state", "longname-memory", "0123456789abcdef")
}

func TestRecordRecall(t *testing.T) {
	p := memPath(t)
	m := OpenLongNames(p)
	a, b := cname("a"), cname("b")
	m.Record(a)
	m.Record(a) // a repeat is not written again
	m.Record(b)
	for _, raw := range []bool{true, false} {
		if got, ok := m.Recall(objOf(a, raw)); !ok || got != a {
			t.Errorf("Recall(raw=%v) = %q, %v", raw, got, ok)
		}
	}
	if _, ok := m.Recall(objOf(cname("c"), true)); ok {
		t.Error("recalled a name never recorded")
	}
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if want := a + "\n" + b + "\n"; string(data) != want {
		t.Errorf("file holds %q, want %q", data, want)
	}
	st, err := os.Stat(p)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("file mode %v, %v; want 0600", st.Mode(), err)
	}
	if st, err := os.Stat(filepath.Dir(p)); err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("directory mode %v, %v; want 0700", st.Mode(), err)
	}

	// Another mount later reads what this one wrote, and does not append
	// a name the file has.
	m2 := OpenLongNames(p)
	if got, ok := m2.Recall(objOf(b, true)); !ok || got != b {
		t.Errorf("a new memory recalls %q, %v", got, ok)
	}
	m2.Record(a)
	if again, _ := os.ReadFile(p); !bytes.Equal(again, data) {
		t.Errorf("recording a known name changed the file: %q", again)
	}
}

// An entry can only name the object whose hash it is: a planted line,
// a hash of the wrong length or spelling, or another prefix finds nothing.
func TestRecallChecksTheHash(t *testing.T) {
	p := memPath(t)
	a, planted := cname("a"), cname("planted")
	os.MkdirAll(filepath.Dir(p), 0o700)
	if err := os.WriteFile(p, []byte(planted+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	m := OpenLongNames(p)
	if got, ok := m.Recall(objOf(a, true)); ok {
		t.Fatalf("the object of %q was given the planted name %q", a, got)
	}
	obj := objOf(planted, true)
	h := strings.TrimPrefix(obj, nametransform.LongNamePrefix)
	// The last Raw64 character of a 32-byte hash carries 2 unused bits.
	const alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	last := strings.IndexByte(alpha, h[len(h)-1])
	nonCanonical := nametransform.LongNamePrefix + h[:len(h)-1] + string(alpha[last^1])
	for _, bad := range []string{
		nonCanonical,
		nametransform.LongNamePrefix + h[:40],
		nametransform.LongNamePrefix + h + "AAAA",
		"gocryptfs.other." + h,
		h,
		nametransform.SidecarName(obj),
	} {
		if got, ok := m.Recall(bad); ok {
			t.Errorf("Recall(%q) = %q", bad, got)
		}
	}
	if got, ok := m.Recall(obj); !ok || got != planted {
		t.Errorf("the planted name's own object: %q, %v", got, ok)
	}
}

// Lines that cannot be names are skipped, however long; a last line cut
// short is skipped, and the next name still goes on a line of its own.
func TestLoadSkipsJunk(t *testing.T) {
	p := memPath(t)
	a, b, c := cname("a"), cname("b"), cname("c")
	var file bytes.Buffer
	file.WriteString(strings.Repeat("A", 401) + "\n") // too long for a name
	file.WriteString(strings.Repeat("B", 100000) + "\n")
	file.WriteString("not base64!\n\n")
	file.WriteString(a + "\n")
	file.WriteString(a[:10] + "\r\n")
	file.WriteString(b[:100]) // an append cut short
	os.MkdirAll(filepath.Dir(p), 0o700)
	if err := os.WriteFile(p, file.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	m := OpenLongNames(p)
	if got, ok := m.Recall(objOf(a, true)); !ok || got != a {
		t.Errorf("a: %q, %v", got, ok)
	}
	if _, ok := m.Recall(objOf(b, true)); ok {
		t.Error("recalled a cut name")
	}
	m.Record(c)
	if got, ok := OpenLongNames(p).Recall(objOf(c, true)); !ok || got != c {
		t.Errorf("c, appended after a cut line: %q, %v", got, ok)
	}
}

// Record writes nothing that would break the one-name-a-line format.
func TestRecordRefusesNonNames(t *testing.T) {
	p := memPath(t)
	m := OpenLongNames(p)
	for _, s := range []string{"", "a\nb", "a b", strings.Repeat("A", nametransform.MaxSidecarLen+1)} {
		m.Record(s)
	}
	if _, err := os.Stat(p); !os.IsNotExist(err) {
		t.Errorf("the file was written: %v", err)
	}
}

// ReadLongNames recalls and remembers in RAM, and never writes.
func TestReadLongNamesWritesNothing(t *testing.T) {
	p := memPath(t)
	m := ReadLongNames(p)
	a := cname("a")
	m.Record(a)
	if got, ok := m.Recall(objOf(a, true)); !ok || got != a {
		t.Errorf("Recall = %q, %v", got, ok)
	}
	if _, err := os.Stat(filepath.Dir(p)); !os.IsNotExist(err) {
		t.Errorf("a read-only memory created its directory: %v", err)
	}
}

// A file past the limit (maxMemory) is read up to there, and appending
// stops: a line past the limit would never be read back.
func TestLimit(t *testing.T) {
	p := memPath(t)
	a, b := cname("a"), cname("b")
	filler := strings.Repeat("A", 342) + "\n"
	var file bytes.Buffer
	file.WriteString(a + "\n")
	const limit = 1 << 20
	for file.Len() < limit {
		file.WriteString(filler)
	}
	file.WriteString(b + "\n") // past the limit
	os.MkdirAll(filepath.Dir(p), 0o700)
	if err := os.WriteFile(p, file.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	m := OpenLongNames(p)
	m.limit = limit
	if _, ok := m.Recall(objOf(a, true)); !ok {
		t.Error("a name before the limit is not recalled")
	}
	if _, ok := m.Recall(objOf(b, true)); ok {
		t.Error("a name past the limit is recalled")
	}
	m.Record(cname("c"))
	if st, _ := os.Stat(p); st.Size() != int64(file.Len()) {
		t.Errorf("the file grew past the limit: %d bytes, was %d", st.Size(), file.Len())
	}
}

func TestNilMemory(t *testing.T) {
	var m *LongNames
	m.Record(cname("a"))
	if _, ok := m.Recall(objOf(cname("a"), true)); ok {
		t.Error("a nil memory recalled a name")
	}
	if OpenLongNames("") != nil || ReadLongNames("") != nil {
		t.Error("an empty path gives a memory")
	}
}

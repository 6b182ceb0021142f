package nametransform

import (
	"crypto/sha256"
	"errors"
	"strings"
	"sync"
	"testing"
)

func TestNew(t *testing.T) {
	for _, tc := range []struct {
		key  int
		lnm  int
		fail bool
	}{{32, 0, false}, {32, 62, false}, {32, 255, false}, {32, 61, true}, {32, 256, true}, {32, -1, true}, {16, 0, true}, {0, 0, true}} {
		_, err := New(make([]byte, tc.key), Options{LongNameMax: tc.lnm})
		if (err != nil) != tc.fail {
			t.Errorf("key %d lnm %d: err %v", tc.key, tc.lnm, err)
		}
	}
}

func TestValidName(t *testing.T) {
	for _, tc := range []struct {
		name string
		want error
	}{
		{"a", nil}, {"...", nil}, {".hidden", nil}, {strings.Repeat("x", 255), nil}, {"ünïcødé", nil},
		{"", ErrInvalidName}, {".", ErrInvalidName}, {"..", ErrInvalidName},
		{"a/b", ErrInvalidName}, {"/", ErrInvalidName}, {"a\x00", ErrInvalidName},
		{strings.Repeat("x", 256), ErrNameTooLong},
	} {
		err := ValidName(tc.name)
		if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
			t.Errorf("ValidName(%q) = %v, want %v", tc.name, err, tc.want)
		}
	}
}

func TestEncryptNameErrors(t *testing.T) {
	tr, _ := New(make([]byte, 32), Options{Raw64: true})
	iv := make([]byte, 16)
	if _, err := tr.EncryptName(strings.Repeat("x", 256), iv); !errors.Is(err, ErrNameTooLong) {
		t.Errorf("256 bytes: %v", err)
	}
	for _, n := range []string{"", ".", "..", "a/b", "a\x00b"} {
		if _, err := tr.EncryptName(n, iv); !errors.Is(err, ErrInvalidName) {
			t.Errorf("%q: %v", n, err)
		}
	}
	if _, _, err := tr.EncryptDiskName("", iv); !errors.Is(err, ErrInvalidName) {
		t.Errorf("EncryptDiskName empty: %v", err)
	}
}

func TestRoundTripAllLengths(t *testing.T) {
	for _, raw64 := range []bool{true, false} {
		tr, _ := New(make([]byte, 32), Options{Raw64: raw64})
		iv := []byte("0123456789abcdef")
		for n := 1; n <= NameMax; n++ {
			name := strings.Repeat("\xff", n)
			c, err := tr.EncryptName(name, iv)
			if err != nil {
				t.Fatal(err)
			}
			if strings.ContainsAny(c, ".+/\r\n") {
				t.Fatalf("cName %q has a forbidden char", c)
			}
			p, err := tr.DecryptName(c, iv)
			if err != nil || p != name {
				t.Fatalf("raw64=%v n=%d: %v", raw64, n, err)
			}
		}
	}
}

func TestClassify(t *testing.T) {
	h := "C83dCeszrSCRjgSNZlFMUptXoC9XrvSk3T78iI_s0Zw"
	for _, tc := range []struct {
		name string
		want NameKind
	}{
		{"iDLK8VgfcBJXv_q-1D4NHQ", KindRegular},
		{"anything-else", KindRegular},
		{".gocryptfs.reverse.conf", KindRegular}, // fails decryption later
		{"gocryptfs", KindRegular},               // no dot: an ordinary (undecryptable) name
		{LongNamePrefix + h, KindLongName},
		{LongNamePrefix + "X1pxh-vb-jsgn4CGBG6oaQ==", KindLongName},
		{LongNamePrefix + h + ".name", KindLongNameSidecar},
		{"gocryptfs.diriv", KindReserved},
		{"gocryptfs.conf", KindReserved},
		{"gocryptfs.conf.tmp", KindReserved},
		{"gocryptfs.conf.bak", KindReserved},
		{"gocryptfs.diriv.rmdir.123", KindReserved},
		{"gocryptfs.", KindReserved},
		{"gocryptfs.longname.", KindReserved},
		{"gocryptfs.longname..name", KindReserved},
		{LongNamePrefix + h + ".name.tmp", KindReserved},
		{LongNamePrefix + h + ".other", KindReserved},
		{LongNamePrefix + "a/b", KindReserved},
		{"gocryptfs.longnamex", KindReserved},
	} {
		if got := Classify(tc.name); got != tc.want {
			t.Errorf("Classify(%q) = %v, want %v", tc.name, got, tc.want)
		}
	}
	if SidecarName(LongNamePrefix+h) != LongNamePrefix+h+".name" {
		t.Error("SidecarName")
	}
	if NameKind(9).String() != "NameKind(9)" || KindReserved.String() != "reserved" {
		t.Error("NameKind.String")
	}
}

func TestBase64(t *testing.T) {
	raw, _ := New(make([]byte, 32), Options{Raw64: true})
	pad, _ := New(make([]byte, 32), Options{Raw64: false})
	if b, err := raw.DecodeBase64(""); err != nil || len(b) != 0 {
		t.Errorf("empty: %v", err)
	}
	data := []byte{0xfb, 0xff, 0x00, 0x01}
	if s := raw.EncodeBase64(data); s != "-_8AAQ" {
		t.Errorf("raw encode %q", s)
	}
	if s := pad.EncodeBase64(data); s != "-_8AAQ==" {
		t.Errorf("padded encode %q", s)
	}
	for _, s := range []string{"-_8AAQ==", "-_8AAR", "-_8A\nAQ", "+/8AAQ", "-_8AA"} {
		if _, err := raw.DecodeBase64(s); !errors.Is(err, ErrCorruptName) {
			t.Errorf("raw decode %q: %v", s, err)
		}
	}
	for _, s := range []string{"-_8AAQ", "-_8AAQ=", "-_8AAQ===", "-_8AAR==", "-_8AAQ==\r"} {
		if _, err := pad.DecodeBase64(s); !errors.Is(err, ErrCorruptName) {
			t.Errorf("padded decode %q: %v", s, err)
		}
	}
}

func TestXattrNames(t *testing.T) {
	tr, _ := New(make([]byte, 32), Options{Raw64: true})
	for _, acl := range []string{ACLAccess, ACLDefault} {
		if s, err := tr.EncryptXattrName(acl); err != nil || s != acl {
			t.Errorf("encrypt %s: %q %v", acl, s, err)
		}
		if s, err := tr.DecryptXattrName(acl); err != nil || s != acl {
			t.Errorf("decrypt %s: %q %v", acl, s, err)
		}
	}
	// 175 bytes fits in 255; 176 is ERANGE territory.
	s, err := tr.EncryptXattrName("user." + strings.Repeat("x", 170))
	if err != nil || len(s) != 250 {
		t.Errorf("175-byte xattr name: len %d, %v", len(s), err)
	}
	if _, err := tr.EncryptXattrName("user." + strings.Repeat("x", 171)); !errors.Is(err, ErrXattrNameTooLong) {
		t.Errorf("176 bytes: %v", err)
	}
	for _, n := range []string{"", "user.a\x00b"} {
		if _, err := tr.EncryptXattrName(n); !errors.Is(err, ErrInvalidName) {
			t.Errorf("%q: %v", n, err)
		}
	}
	// Namespaces are all folded into user.gocryptfs.*; '/' is legal in xattr names.
	for _, n := range []string{"trusted.foo", "security.selinux", "user.a/b", "user.."} {
		s, err := tr.EncryptXattrName(n)
		if err != nil || !strings.HasPrefix(s, XattrStorePrefix) {
			t.Fatalf("%q: %q %v", n, s, err)
		}
		if p, err := tr.DecryptXattrName(s); err != nil || p != n {
			t.Errorf("round trip %q: %q %v", n, p, err)
		}
		// On a symlink they are stored under trusted.gocryptfs. instead.
		ts := AsTrustedXattr(s)
		if ts != XattrTrustedPrefix+strings.TrimPrefix(s, XattrStorePrefix) {
			t.Errorf("AsTrustedXattr(%q) = %q", s, ts)
		}
		if p, err := tr.DecryptXattrName(ts); err != nil || p != n {
			t.Errorf("round trip %q under %s: %q %v", n, XattrTrustedPrefix, p, err)
		}
	}
	if _, err := tr.DecryptXattrName(XattrTrustedPrefix + "abc"); !errors.Is(err, ErrCorruptName) {
		t.Errorf("%q: %v, want a corrupt name", XattrTrustedPrefix+"abc", err)
	}
	// Foreign attributes are not ours.
	for _, n := range []string{"user.foo", "security.capability", "user.gocryptfs", "trusted.gocryptfs", "trusted.foo"} {
		if _, err := tr.DecryptXattrName(n); !errors.Is(err, ErrNotEncryptedXattr) {
			t.Errorf("%q: %v", n, err)
		}
	}
	// Corrupt ones, and an encrypted ACL name (obsolete scheme), are rejected.
	iv := []byte(xattrNameIV)
	encACL := XattrStorePrefix + encryptRaw(tr, pad16([]byte(ACLAccess)), iv)
	long := XattrStorePrefix + encryptRaw(tr, pad16([]byte(strings.Repeat("y", 176))), iv)
	nul := XattrStorePrefix + encryptRaw(tr, pad16([]byte("user.\x00")), iv)
	for _, n := range []string{XattrStorePrefix, XattrStorePrefix + "AAAA", XattrStorePrefix + "iDLK8VgfcBJXv_q-1D4NHR", encACL, long, nul} {
		if _, err := tr.DecryptXattrName(n); !errors.Is(err, ErrCorruptName) {
			t.Errorf("%q: %v", n, err)
		}
	}
}

// TestConcurrent exercises one Transform from many goroutines (run with -race).
func TestConcurrent(t *testing.T) {
	tr, _ := New(make([]byte, 32), Options{Raw64: true})
	iv := make([]byte, 16)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				name := strings.Repeat(string(rune('a'+g)), 1+i%200)
				c, err := tr.EncryptName(name, iv)
				if err != nil {
					t.Error(err)
					return
				}
				if p, err := tr.DecryptName(c, iv); err != nil || p != name {
					t.Errorf("round trip: %v", err)
					return
				}
				x, _ := tr.EncryptXattrName("user." + name[:min(len(name), 100)])
				if _, err := tr.DecryptXattrName(x); err != nil {
					t.Error(err)
					return
				}
			}
		}(g)
	}
	wg.Wait()
}

// TestUnpad16 checks §5.3 step 4 directly (ValidName would also catch k == len,
// so this guards the padding rule on its own).
func TestUnpad16(t *testing.T) {
	ok := func(b []byte) bool { _, err := unpad16(b); return err == nil }
	full := make([]byte, 32)
	for i := range full {
		full[i] = 16
	}
	if !ok(full) {
		t.Error("a 16-byte name's full padding block rejected")
	}
	if ok(full[:16]) {
		t.Error("k == len accepted")
	}
	if ok(nil) || ok(make([]byte, 15)) || ok(make([]byte, 16)) {
		t.Error("empty, short, or k=0 accepted")
	}
	if p := pad16([]byte("0123456789abcdef")); len(p) != 32 || p[31] != 16 {
		t.Errorf("pad16 of 16 bytes = %x", p)
	}
}

func TestPlausible(t *testing.T) {
	for _, tc := range []struct {
		name string
		want bool
	}{
		{"from-a.txt", true}, {"ünïcødé", true}, {"日本語のファイル", true}, {"a b (1).pdf", true}, {"😀", true},
		{"tab\there", false}, {"new\nline", false}, {"del\x7f", false}, {"c1\u0085", false},
		{"latin1-\xe9", false}, {"s\xc2Ae\x93\xcd\xd7ʪ!\xab&\x01#\xd7", false},
	} {
		if got := Plausible(tc.name); got != tc.want {
			t.Errorf("Plausible(%q) = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestPlausibleRejectsWrongIV is the property the lost-IV repair relies
// on: decrypted under the wrong IV, a name sometimes passes the padding
// check but never looks like a name.
func TestPlausibleRejectsWrongIV(t *testing.T) {
	tr, _ := New(make([]byte, 32), Options{Raw64: true})
	valid := 0
	for _, name := range []string{"from-a.txt", "a-15-byte-name.", "x", strings.Repeat("long-", 20)} {
		cname, err := tr.EncryptName(name, []byte("0123456789abcdef"))
		if err != nil {
			t.Fatal(err)
		}
		for i := range 20000 {
			iv := sha256.Sum256([]byte{byte(i), byte(i >> 8), byte(i >> 16)})
			plain, err := tr.DecryptName(cname, iv[:DirIVLen])
			if err != nil {
				continue
			}
			valid++
			if Plausible(plain) {
				t.Errorf("%q under wrong IV %d decrypts to plausible %q", name, i, plain)
			}
		}
	}
	// 80,000 tries pass the padding check about 310 times: enough that the
	// loop above tested something.
	if valid < 200 {
		t.Errorf("only %d wrong-IV decryptions passed the padding check; expected about 310", valid)
	}
}

package nametransform

import (
	"bytes"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFixtureNames: every entry of every encrypted-name fixture volume
// encrypts to exactly the name gocryptfs 2.3 wrote, and decrypts back.
func TestFixtureNames(t *testing.T) {
	for _, f := range loadFixtures(t) {
		if f.plaintextNames() {
			continue
		}
		t.Run(f.Name, func(t *testing.T) {
			tr := f.transform(t)
			longSeen := 0
			for _, e := range f.Entries {
				_, plain := splitPath(e.Path)
				cdir, disk := splitPath(e.CipherPath)
				iv := f.dirIV(t, cdir)

				gotDisk, gotSidecar, err := tr.EncryptDiskName(plain, iv)
				if err != nil {
					t.Fatalf("%s: EncryptDiskName: %v", e.Path, err)
				}
				if gotDisk != disk {
					t.Errorf("%s: disk name\n got %s\nwant %s", e.Path, gotDisk, disk)
				}
				cname := disk
				if Classify(disk) == KindLongName {
					longSeen++
					side, err := os.ReadFile(f.cipherPath(e.CipherPath) + LongNameSuffix)
					if err != nil {
						t.Fatal(err)
					}
					if err := ValidSidecar(side); err != nil {
						t.Fatalf("%s: %v", e.Path, err)
					}
					cname = string(side)
					if gotSidecar != cname {
						t.Errorf("%s: sidecar content mismatch", e.Path)
					}
					if !tr.IsLong(cname) || tr.HashLongName(cname) != disk || !tr.LongNameMatches(disk, cname) {
						t.Errorf("%s: long-name hash mismatch (len %d)", e.Path, len(cname))
					}
				} else {
					if Classify(disk) != KindRegular {
						t.Errorf("%s: Classify(%q) = %v", e.Path, disk, Classify(disk))
					}
					if tr.IsLong(cname) || gotSidecar != "" {
						t.Errorf("%s: short name classified long (len %d)", e.Path, len(cname))
					}
				}
				gotC, err := tr.EncryptName(plain, iv)
				if err != nil || gotC != cname {
					t.Errorf("%s: EncryptName = %q, %v; want %q", e.Path, gotC, err, cname)
				}
				gotP, err := tr.DecryptName(cname, iv)
				if err != nil || gotP != plain {
					t.Errorf("%s: DecryptName = %q, %v", e.Path, gotP, err)
				}
			}
			if longSeen == 0 {
				t.Errorf("no long names exercised")
			}
		})
	}
}

// TestFixtureTreeDecrypts walks every ciphertext directory on disk: each
// entry classifies sensibly and each regular or long name decrypts.
func TestFixtureTreeDecrypts(t *testing.T) {
	for _, f := range loadFixtures(t) {
		if f.plaintextNames() {
			continue
		}
		t.Run(f.Name, func(t *testing.T) {
			tr := f.transform(t)
			root := f.cipherPath("")
			err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
				if err != nil || !d.IsDir() {
					return err
				}
				rel, _ := filepath.Rel(root, p)
				if rel == "." {
					rel = ""
				}
				iv := f.dirIV(t, filepath.ToSlash(rel))
				ents, err := os.ReadDir(p)
				if err != nil {
					return err
				}
				for _, de := range ents {
					name := de.Name()
					switch k := Classify(name); k {
					case KindReserved:
						if name != DirIVFilename && !(rel == "" && name == "gocryptfs.conf") {
							t.Errorf("%s/%s: unexpected reserved name", rel, name)
						}
					case KindLongNameSidecar:
						if _, err := os.Lstat(filepath.Join(p, strings.TrimSuffix(name, LongNameSuffix))); err != nil {
							t.Errorf("%s/%s: orphan sidecar", rel, name)
						}
					case KindLongName:
						side, err := os.ReadFile(filepath.Join(p, SidecarName(name)))
						if err != nil {
							t.Fatal(err)
						}
						if !tr.LongNameMatches(name, string(side)) {
							t.Errorf("%s/%s: hash mismatch", rel, name)
						}
						if _, err := tr.DecryptName(string(side), iv); err != nil {
							t.Errorf("%s/%s: %v", rel, name, err)
						}
					case KindRegular:
						if _, err := tr.DecryptName(name, iv); err != nil {
							t.Errorf("%s/%s: %v", rel, name, err)
						}
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestFixtureXattrNames: xattr names in cipher_xattrs, from every volume
// including PlaintextNames (padded base64, §7).
func TestFixtureXattrNames(t *testing.T) {
	total := 0
	for _, f := range loadFixtures(t) {
		t.Run(f.Name, func(t *testing.T) {
			tr := f.transform(t)
			for _, e := range f.Entries {
				if len(e.Xattrs) == 0 {
					continue
				}
				var stored []fixtureXattr
				for _, x := range f.CipherXattrs {
					if x.CipherPath == e.CipherPath {
						stored = append(stored, x)
					}
				}
				if len(stored) != len(e.Xattrs) {
					t.Fatalf("%s: %d stored xattrs for %d plaintext ones", e.Path, len(stored), len(e.Xattrs))
				}
				// Pair them: by count if one, else an empty value has an empty stored value.
				for _, x := range stored {
					want := ""
					for pn, pv := range e.Xattrs {
						if len(e.Xattrs) == 1 || (pv == "") == (x.ValueBase64 == "") {
							want = pn
						}
					}
					got, err := tr.DecryptXattrName(x.Name)
					if err != nil || got != want {
						t.Errorf("%s: DecryptXattrName(%q) = %q, %v; want %q", e.Path, x.Name, got, err, want)
					}
					enc, err := tr.EncryptXattrName(want)
					if err != nil || enc != x.Name {
						t.Errorf("%s: EncryptXattrName(%q) = %q, %v; want %q", e.Path, want, enc, err, x.Name)
					}
					total++
				}
			}
		})
	}
	if total < 15 {
		t.Errorf("only %d xattr names checked", total)
	}
}

// TestFormat13Vector: the worked example of FORMAT §13.
func TestFormat13Vector(t *testing.T) {
	mk := mustHex(t, "6caa112f104a78fef1dede2f6906dd67569b145416cc618f09f61b580790b61c")
	key := deriveNameKey(t, mk)
	if want := mustHex(t, "76b4a1e049a5731cb70daa9da934b09180e959964838caf2750f574a2285cc2a"); !bytes.Equal(key, want) {
		t.Fatalf("K_name = %x", key)
	}
	tr, err := New(key, Options{Raw64: true})
	if err != nil {
		t.Fatal(err)
	}
	iv := mustHex(t, "a425d8e2050a026887e3a34072136236")
	if got := pad16([]byte("one-byte.txt")); !bytes.Equal(got, mustHex(t, "6f6e652d627974652e74787404040404")) {
		t.Errorf("pad16 = %x", got)
	}
	c, err := tr.EncryptName("one-byte.txt", iv)
	if err != nil || c != "iDLK8VgfcBJXv_q-1D4NHQ" {
		t.Fatalf("EncryptName = %q, %v", c, err)
	}
	raw, err := tr.DecodeBase64(c)
	if err != nil || !bytes.Equal(raw, mustHex(t, "8832caf1581f701257bffabed43e0d1d")) {
		t.Errorf("EME output = %x, %v", raw, err)
	}
	p, err := tr.DecryptName(c, iv)
	if err != nil || p != "one-byte.txt" {
		t.Errorf("DecryptName = %q, %v", p, err)
	}
	// Long-name boundary (§13): 175 b's stay 235 chars; 176 c's hash.
	b175, _ := tr.EncryptName(strings.Repeat("b", 175), iv)
	c176, _ := tr.EncryptName(strings.Repeat("c", 176), iv)
	if len(b175) != 235 || tr.IsLong(b175) {
		t.Errorf("175-byte name: len %d", len(b175))
	}
	if len(c176) != 256 || tr.HashLongName(c176) != "gocryptfs.longname.EygtXk3NRbyhyaQoymax4UFN3hpS3Wm-xqMZc88pkVs" {
		t.Errorf("176-byte name: len %d, hash %s", len(c176), tr.HashLongName(c176))
	}
	// Symlink example (§6): Mnnliu… decodes to 44 bytes (nonce+ct+tag).
	sym, err := tr.DecodeBase64("Mnnliu4rxaY15vAmqho42ALLgZEHB7TnqoAirZ_rxcMjpHX_K27ZtmW9KEQ")
	if err != nil || len(sym) != 44 || tr.EncodeBase64(sym) != "Mnnliu4rxaY15vAmqho42ALLgZEHB7TnqoAirZ_rxcMjpHX_K27ZtmW9KEQ" {
		t.Errorf("symlink base64: %d bytes, %v", len(sym), err)
	}
}

// TestLongNameMax100: threshold from the config (§5.4), fixture v2-longnamemax100.
func TestLongNameMax100(t *testing.T) {
	f := fixtureByName(t, "v2-longnamemax100")
	if f.LongNameMax != 100 {
		t.Fatalf("LongNameMax = %d", f.LongNameMax)
	}
	tr := f.transform(t)
	if tr.LongNameMax() != 100 {
		t.Fatalf("LongNameMax() = %d", tr.LongNameMax())
	}
	iv := f.dirIV(t, "")
	for n, long := range map[int]bool{59: false, 63: false, 64: true} {
		c, _ := tr.EncryptName(strings.Repeat("m", n), iv)
		if tr.IsLong(c) != long {
			t.Errorf("n=%d len(cName)=%d IsLong=%v", n, len(c), tr.IsLong(c))
		}
	}
	// The same names with the default threshold are never long.
	def, err := New(make([]byte, 32), Options{Raw64: true})
	if err != nil {
		t.Fatal(err)
	}
	if def.IsLong(strings.Repeat("x", 255)) || !def.IsLong(strings.Repeat("x", 256)) {
		t.Errorf("default threshold is not 255")
	}
}

// TestLengthsTable: FORMAT §5.4 lengths table, both B64 variants.
func TestLengthsTable(t *testing.T) {
	key := make([]byte, 32)
	raw, _ := New(key, Options{Raw64: true})
	pad, _ := New(key, Options{Raw64: false})
	iv := make([]byte, DirIVLen)
	for _, tc := range []struct {
		n, padded, clen int
		long            bool
	}{
		{1, 16, 22, false}, {15, 16, 22, false}, {16, 32, 43, false}, {31, 32, 43, false},
		{47, 48, 64, false}, {59, 64, 86, false}, {64, 80, 107, false},
		{175, 176, 235, false}, {176, 192, 256, true}, {255, 256, 342, true},
	} {
		name := strings.Repeat("z", tc.n)
		c, err := raw.EncryptName(name, iv)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := raw.DecodeBase64(c)
		if len(b) != tc.padded || len(c) != tc.clen || raw.IsLong(c) != tc.long {
			t.Errorf("n=%d: padded %d len %d long %v; want %d %d %v", tc.n, len(b), len(c), raw.IsLong(c), tc.padded, tc.clen, tc.long)
		}
		if h := raw.HashLongName(c); len(h) != len(LongNamePrefix)+43 {
			t.Errorf("raw hash name len %d", len(h))
		}
		pc, _ := pad.EncryptName(name, iv)
		if want := 4 * ((tc.padded + 2) / 3); len(pc) != want {
			t.Errorf("n=%d padded-variant len %d, want %d", tc.n, len(pc), want)
		}
		if h := pad.HashLongName(pc); len(h) != len(LongNamePrefix)+44 {
			t.Errorf("padded hash name len %d", len(h))
		}
		if tc.n == 255 {
			if err := ValidSidecar([]byte(pc)); err != nil || len(pc) != MaxSidecarLen {
				t.Errorf("255-byte padded cName: len %d, %v", len(pc), err)
			}
		}
	}
	if ValidSidecar(nil) == nil || ValidSidecar(make([]byte, MaxSidecarLen+1)) == nil {
		t.Error("ValidSidecar accepts empty or oversize content")
	}
}

// encryptRaw EME-encrypts arbitrary (possibly badly padded) bytes, to build
// ciphertexts our writer would never produce.
func encryptRaw(tr *Transform, padded, iv []byte) string {
	return tr.EncodeBase64(tr.eme.Encrypt(iv, padded))
}

// TestDecryptRejects: one bad case per rule of FORMAT §5.3.
func TestDecryptRejects(t *testing.T) {
	key := make([]byte, 32)
	raw, _ := New(key, Options{Raw64: true})
	pad, _ := New(key, Options{Raw64: false})
	iv := mustHex(t, "a425d8e2050a026887e3a34072136236")
	good, _ := raw.EncryptName("one-byte.txt", iv)
	goodPad, _ := pad.EncryptName("one-byte.txt", iv)
	if !strings.HasSuffix(goodPad, "==") {
		t.Fatalf("padded name %q", goodPad)
	}
	bad := func(b ...byte) []byte { return b }
	block := func(fill byte, last ...byte) []byte {
		b := bytes.Repeat([]byte{fill}, 16)
		copy(b[16-len(last):], last)
		return b
	}
	// Non-canonical: flip an unused low bit of the last character.
	nonCanon := good[:len(good)-1] + string(rune(good[len(good)-1]+1))
	for _, tc := range []struct {
		name  string
		tr    *Transform
		cname string
	}{
		{"CR", raw, good[:5] + "\r" + good[5:]},
		{"LF", raw, good[:5] + "\n" + good[5:]},
		{"trailing LF", raw, good + "\n"},
		{"non-canonical unused bits", raw, nonCanon},
		{"padding in raw variant", raw, good + "=="},
		{"padded variant missing padding", pad, strings.TrimRight(goodPad, "=")},
		{"padded variant one pad char", pad, goodPad[:len(goodPad)-1]},
		{"padded variant extra pad", pad, goodPad + "="},
		{"non-alphabet char", raw, "iDLK8VgfcBJXv+q/1D4NHQ"},
		{"dot", raw, "gocryptfs.diriv"},
		{"empty", raw, ""},
		{"decodes to 15 bytes", raw, base64.RawURLEncoding.EncodeToString(make([]byte, 15))},
		{"decodes to 17 bytes", raw, base64.RawURLEncoding.EncodeToString(make([]byte, 17))},
		{"too long for EME", raw, base64.RawURLEncoding.EncodeToString(make([]byte, 4096))},
		{"longer than 255-byte name", raw, encryptRaw(raw, pad16(bytes.Repeat([]byte("a"), 256)), iv)},
		{"pad byte 0", raw, encryptRaw(raw, block('a', 0), iv)},
		{"pad byte 17", raw, encryptRaw(raw, block('a', 17), iv)},
		{"pad k == length", raw, encryptRaw(raw, block(16), iv)},
		{"pad inconsistent", raw, encryptRaw(raw, block('a', 'a', 3, 3), iv)},
		{"name dot", raw, encryptRaw(raw, pad16(bad('.')), iv)},
		{"name dotdot", raw, encryptRaw(raw, pad16(bad('.', '.')), iv)},
		{"name slash", raw, encryptRaw(raw, pad16([]byte("a/b")), iv)},
		{"name NUL", raw, encryptRaw(raw, pad16([]byte("a\x00b")), iv)},
		{"wrong dir IV", raw, encryptRaw(raw, block('a', 'a', 'a', 3, 3, 3), make([]byte, 16))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := tc.tr.DecryptName(tc.cname, iv)
			if !errors.Is(err, ErrCorruptName) {
				t.Errorf("DecryptName(%q) = %q, %v; want ErrCorruptName", tc.cname, p, err)
			}
		})
	}
	// Sanity: the good names themselves decrypt.
	if p, err := raw.DecryptName(good, iv); err != nil || p != "one-byte.txt" {
		t.Errorf("good raw: %q %v", p, err)
	}
	if p, err := pad.DecryptName(goodPad, iv); err != nil || p != "one-byte.txt" {
		t.Errorf("good padded: %q %v", p, err)
	}
	if _, err := raw.DecryptName(good, iv[:15]); !errors.Is(err, ErrBadDirIV) {
		t.Errorf("short IV: %v", err)
	}
	if _, err := raw.EncryptName("x", nil); !errors.Is(err, ErrBadDirIV) {
		t.Errorf("nil IV: %v", err)
	}
}

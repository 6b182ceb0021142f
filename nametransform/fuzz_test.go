package nametransform

import (
	"strings"
	"testing"
)

// fuzzSetup returns the raw and padded Transforms of the v2-default
// key, and the root dir IV, plus every stored name of every fixture as seeds.
func fuzzSetup(f *testing.F) (raw, pad *Transform, iv []byte, names, xattrs []string) {
	fx := loadFixtures(f)
	var def *fixture
	for _, v := range fx {
		if v.Name == "v2-default" {
			def = v
		}
		for _, e := range v.Entries {
			_, b := splitPath(e.CipherPath)
			names = append(names, b)
		}
		for _, x := range v.CipherXattrs {
			xattrs = append(xattrs, x.Name)
		}
	}
	raw = def.transform(f)
	o := def.opts()
	o.Raw64 = false
	pad, err := New(deriveNameKey(f, mustHex(f, def.MasterKeyHex)), o)
	if err != nil {
		f.Fatal(err)
	}
	return raw, pad, def.dirIV(f, ""), names, xattrs
}

// FuzzDecryptName: never panics; anything accepted is canonical, i.e.
// re-encrypts to exactly the same cName.
func FuzzDecryptName(f *testing.F) {
	raw, pad, iv, names, _ := fuzzSetup(f)
	for _, n := range names {
		f.Add(n, true)
		f.Add(n, false)
	}
	f.Add("iDLK8VgfcBJXv_q-1D4NHQ==", false)
	f.Add("iDLK8VgfcBJXv_q-1D4NHR", true)
	f.Fuzz(func(t *testing.T, cname string, useRaw bool) {
		tr := pad
		if useRaw {
			tr = raw
		}
		p, err := tr.DecryptName(cname, iv)
		if err != nil {
			return
		}
		if ValidName(p) != nil {
			t.Fatalf("accepted invalid name %q", p)
		}
		c, err := tr.EncryptName(p, iv)
		if err != nil || c != cname {
			t.Fatalf("non-canonical: %q -> %q -> %q (%v)", cname, p, c, err)
		}
	})
}

// FuzzDecodeBase64: never panics; accepted input is canonical (re-encodes
// identically) and free of CR/LF.
func FuzzDecodeBase64(f *testing.F) {
	raw, pad, _, names, xattrs := fuzzSetup(f)
	for _, n := range append(names, xattrs...) {
		f.Add(strings.TrimPrefix(n, XattrStorePrefix), true)
		f.Add(strings.TrimPrefix(n, XattrStorePrefix), false)
	}
	f.Add("Mnnliu4rxaY15vAmqho42ALLgZEHB7TnqoAirZ_rxcMjpHX_K27ZtmW9KEQ", true)
	f.Add("QQ==\n", false)
	f.Fuzz(func(t *testing.T, s string, useRaw bool) {
		tr := pad
		if useRaw {
			tr = raw
		}
		b, err := tr.DecodeBase64(s)
		if err != nil {
			return
		}
		if strings.ContainsAny(s, "\r\n") {
			t.Fatalf("accepted CR/LF in %q", s)
		}
		if e := tr.EncodeBase64(b); e != s {
			t.Fatalf("non-canonical: %q re-encodes as %q", s, e)
		}
	})
}

// FuzzDecryptXattrName: never panics; accepted names are valid, not an
// encrypted ACL name, and re-encrypt to exactly the stored name.
func FuzzDecryptXattrName(f *testing.F) {
	raw, pad, _, _, xattrs := fuzzSetup(f)
	for _, x := range xattrs {
		f.Add(x, true)
		f.Add(x, false)
	}
	f.Add(ACLAccess, true)
	f.Add("user.foo", true)
	f.Fuzz(func(t *testing.T, stored string, useRaw bool) {
		tr := pad
		if useRaw {
			tr = raw
		}
		p, err := tr.DecryptXattrName(stored)
		if err != nil {
			return
		}
		if IsACLName(p) != IsACLName(stored) {
			t.Fatalf("ACL confusion: %q -> %q", stored, p)
		}
		if ValidXattrName(p) != nil {
			t.Fatalf("accepted invalid xattr name %q", p)
		}
		s, err := tr.EncryptXattrName(p)
		if err != nil || s != stored {
			t.Fatalf("non-canonical: %q -> %q -> %q (%v)", stored, p, s, err)
		}
	})
}

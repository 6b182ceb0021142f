package view

import (
	"errors"
	"strings"
	"testing"

	"github.com/veilfs/veilfs/cipher"
	"github.com/veilfs/veilfs/cipher/config"
	"github.com/veilfs/veilfs/fs/cipherdir"
)

func reverseVolume(t testing.TB, opts config.CreateOptions) *cipherdir.Volume {
	t.Helper()
	master := make([]byte, cipher.MasterKeySize)
	opts.AESSIV, opts.LogN = true, 10
	conf, err := config.New(master, []byte("pw"), opts)
	if err != nil {
		t.Fatal(err)
	}
	v, err := cipherdir.OpenWithConfig(t.TempDir(), conf, master)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestReverseRole(t *testing.T) {
	enc := reverseVolume(t, config.CreateOptions{})
	det := reverseVolume(t, config.CreateOptions{DeterministicNames: true})
	pn := reverseVolume(t, config.CreateOptions{PlaintextNames: true})
	for _, tc := range []struct {
		v          *cipherdir.Volume
		name, cdir string
		want       Kind
	}{
		{enc, "gocryptfs.conf", "", KindConfig},
		{enc, "gocryptfs.conf", "d", KindInvalid},
		{enc, "gocryptfs.diriv", "d", KindDirIV},
		{det, "gocryptfs.diriv", "d", KindInvalid},
		{enc, "gocryptfs.longname.AMUbbqACLSWDbIVGComwkxEuDyQBpMTp6zt9a8s1vgY", "", KindEntry},
		{enc, "gocryptfs.longname.AMUbbqACLSWDbIVGComwkxEuDyQBpMTp6zt9a8s1vgY.name", "", KindSidecar},
		{enc, "CSxIgulWUDkQkggalJcYHw", "", KindEntry},
		{enc, "..", "", KindInvalid},
		{pn, "gocryptfs.diriv", "", KindEntry},
		{pn, "gocryptfs.conf", "", KindConfig},
	} {
		if got := Classify(tc.v, tc.name, tc.cdir); got != tc.want {
			t.Errorf("Classify(%q, %q) = %v, want %v", tc.name, tc.cdir, got, tc.want)
		}
	}
}

func TestReverseNameHidesConfigs(t *testing.T) {
	enc := reverseVolume(t, config.CreateOptions{})
	pn := reverseVolume(t, config.CreateOptions{PlaintextNames: true})
	for _, tc := range []struct {
		v           *cipherdir.Volume
		plain, cdir string
		hidden      bool
	}{
		{enc, config.ReverseFilename, "", true},
		{enc, config.ReverseFilename, "sub", false},
		{enc, config.Filename, "", false}, // encrypted, no clash
		{pn, config.Filename, "", true},
		{pn, config.Filename, "sub", false},
	} {
		_, _, err := Name(tc.v, tc.plain, tc.cdir)
		if got := errors.Is(err, ErrNotInView); got != tc.hidden {
			t.Errorf("Name(%q, %q): %v, want hidden=%v", tc.plain, tc.cdir, err, tc.hidden)
		}
	}
}

// FuzzPlainName: any view name either maps back to a plaintext name
// that encrypts to it, or fails cleanly.
func FuzzPlainName(f *testing.F) {
	v := reverseVolume(f, config.CreateOptions{})
	for _, s := range []string{"CSxIgulWUDkQkggalJcYHw", "gocryptfs.longname.x", "a", "", strings.Repeat("A", 300)} {
		f.Add(s, "")
	}
	f.Fuzz(func(t *testing.T, name, cdir string) {
		_ = Classify(v, name, cdir)
		listed := []string{"a", strings.Repeat("l", 200)}
		plain, err := PlainName(v, name, cdir, func(fn func(string) bool) error {
			for _, p := range listed {
				if !fn(p) {
					break
				}
			}
			return nil
		})
		if err != nil {
			return
		}
		back, _, err := Name(v, plain, cdir)
		if err != nil || back != name {
			t.Fatalf("%q decrypts to %q, which maps back to %q (%v)", name, plain, back, err)
		}
	})
}

// TestReversePlainNameRejectsUnhashedLongName: a plaintext name long enough
// to be shown as gocryptfs.longname.* must not also be reachable under its
// full encrypted name, or the view would show one file under two names.
// Found by FuzzPlainName.
func TestReversePlainNameRejectsUnhashedLongName(t *testing.T) {
	v := reverseVolume(t, config.CreateOptions{LongNameMax: 62})
	for _, cdir := range []string{"", "sub"} {
		plain := strings.Repeat("l", 80)
		full, err := v.Names.EncryptName(plain, DirIV(v, cdir))
		if err != nil {
			t.Fatal(err)
		}
		shown, _, err := Name(v, plain, cdir)
		if err != nil || shown == full {
			t.Fatalf("Name(%q, %q) = %q, %v; want a long name", plain, cdir, shown, err)
		}
		none := func(func(string) bool) error { return nil }
		if got, err := PlainName(v, full, cdir, none); !errors.Is(err, ErrNotInView) {
			t.Errorf("PlainName(%q, %q) = %q, %v; want ErrNotInView", full, cdir, got, err)
		}
	}
}

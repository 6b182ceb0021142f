package cipherdir

import (
	"errors"
	"strings"
	"testing"

	"github.com/veilfs/veilfs/cipher"
	"github.com/veilfs/veilfs/cipher/config"
)

func reverseVolume(t testing.TB, opts config.CreateOptions) *Volume {
	t.Helper()
	master := make([]byte, cipher.MasterKeySize)
	opts.AESSIV, opts.LogN = true, 10
	conf, err := config.New(master, []byte("pw"), opts)
	if err != nil {
		t.Fatal(err)
	}
	v, err := OpenWithConfig(t.TempDir(), conf, master)
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
		v          *Volume
		name, cdir string
		want       ViewRole
	}{
		{enc, "gocryptfs.conf", "", ViewConfig},
		{enc, "gocryptfs.conf", "d", ViewInvalid},
		{enc, "gocryptfs.diriv", "d", ViewDirIV},
		{det, "gocryptfs.diriv", "d", ViewInvalid},
		{enc, "gocryptfs.longname.AMUbbqACLSWDbIVGComwkxEuDyQBpMTp6zt9a8s1vgY", "", ViewEntry},
		{enc, "gocryptfs.longname.AMUbbqACLSWDbIVGComwkxEuDyQBpMTp6zt9a8s1vgY.name", "", ViewSidecar},
		{enc, "CSxIgulWUDkQkggalJcYHw", "", ViewEntry},
		{enc, "..", "", ViewInvalid},
		{pn, "gocryptfs.diriv", "", ViewEntry},
		{pn, "gocryptfs.conf", "", ViewConfig},
	} {
		if got := tc.v.ReverseRole(tc.name, tc.cdir); got != tc.want {
			t.Errorf("ReverseRole(%q, %q) = %v, want %v", tc.name, tc.cdir, got, tc.want)
		}
	}
}

func TestReverseNameHidesConfigs(t *testing.T) {
	enc := reverseVolume(t, config.CreateOptions{})
	pn := reverseVolume(t, config.CreateOptions{PlaintextNames: true})
	for _, tc := range []struct {
		v           *Volume
		plain, cdir string
		hidden      bool
	}{
		{enc, config.ReverseFilename, "", true},
		{enc, config.ReverseFilename, "sub", false},
		{enc, config.Filename, "", false}, // encrypted, no clash
		{pn, config.Filename, "", true},
		{pn, config.Filename, "sub", false},
	} {
		_, _, err := tc.v.ReverseName(tc.plain, tc.cdir)
		if got := errors.Is(err, ErrNotInView); got != tc.hidden {
			t.Errorf("ReverseName(%q, %q): %v, want hidden=%v", tc.plain, tc.cdir, err, tc.hidden)
		}
	}
}

// FuzzReversePlainName: any view name either maps back to a plaintext name
// that encrypts to it, or fails cleanly.
func FuzzReversePlainName(f *testing.F) {
	v := reverseVolume(f, config.CreateOptions{})
	for _, s := range []string{"CSxIgulWUDkQkggalJcYHw", "gocryptfs.longname.x", "a", "", strings.Repeat("A", 300)} {
		f.Add(s, "")
	}
	f.Fuzz(func(t *testing.T, name, cdir string) {
		_ = v.ReverseRole(name, cdir)
		listed := []string{"a", strings.Repeat("l", 200)}
		plain, err := v.ReversePlainName(name, cdir, func(fn func(string) bool) error {
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
		back, _, err := v.ReverseName(plain, cdir)
		if err != nil || back != name {
			t.Fatalf("%q decrypts to %q, which maps back to %q (%v)", name, plain, back, err)
		}
	})
}

// TestReversePlainNameRejectsUnhashedLongName: a plaintext name long enough
// to be shown as gocryptfs.longname.* must not also be reachable under its
// full encrypted name, or the view would show one file under two names.
// Found by FuzzReversePlainName.
func TestReversePlainNameRejectsUnhashedLongName(t *testing.T) {
	v := reverseVolume(t, config.CreateOptions{LongNameMax: 62})
	for _, cdir := range []string{"", "sub"} {
		plain := strings.Repeat("l", 80)
		full, err := v.Names.EncryptName(plain, v.ReverseDirIV(cdir))
		if err != nil {
			t.Fatal(err)
		}
		shown, _, err := v.ReverseName(plain, cdir)
		if err != nil || shown == full {
			t.Fatalf("ReverseName(%q, %q) = %q, %v; want a long name", plain, cdir, shown, err)
		}
		none := func(func(string) bool) error { return nil }
		if got, err := v.ReversePlainName(full, cdir, none); !errors.Is(err, ErrNotInView) {
			t.Errorf("ReversePlainName(%q, %q) = %q, %v; want ErrNotInView", full, cdir, got, err)
		}
	}
}

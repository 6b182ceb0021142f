package config

import (
	"bytes"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func newFormatTestConfig(t *testing.T, opts CreateOptions) *File {
	t.Helper()
	opts.LogN = testLogN
	f, err := New(testMaster, []byte("pw"), opts)
	if err != nil {
		t.Fatal(err)
	}
	if !f.HasFormatRecord() {
		t.Fatal("New made no format record")
	}
	return f
}

// reparse runs f through its file form, as every check on disk does.
func reparse(t *testing.T, f *File) *File {
	t.Helper()
	g, err := Parse(f.Marshal())
	if err != nil {
		t.Fatalf("Parse(Marshal): %v\n%s", err, f.Marshal())
	}
	return g
}

func TestFormatRecordVerifies(t *testing.T) {
	for _, opts := range []CreateOptions{{}, {PlaintextNames: true}, {DeterministicNames: true}, {AESSIV: true}, {XChaCha: true}, {LongNameMax: 100}} {
		f := reparse(t, newFormatTestConfig(t, opts))
		if err := f.VerifyFormat(testMaster); err != nil {
			t.Errorf("%+v: %v", opts, err)
		}
		// The order of the flags and a rotation's flag are not the format.
		slices.Reverse(f.FeatureFlags)
		f.SetRotating(true)
		if err := reparse(t, f).VerifyFormat(testMaster); err != nil {
			t.Errorf("%+v, flags reordered, rotating: %v", opts, err)
		}
		// Another key (another volume's, or a wrong one) does not verify.
		other := bytes.Repeat([]byte{1}, len(testMaster))
		var fc *FormatChangedError
		if err := f.VerifyFormat(other); !errors.Is(err, ErrFormatTampered) || errors.As(err, &fc) {
			t.Errorf("%+v: other key: %v", opts, err)
		}
	}
}

// Every field the record covers, changed in gocryptfs.conf alone, is
// detected and named.
func TestFormatRecordDetectsEveryChange(t *testing.T) {
	inMemory := map[string]bool{"scrypt N lowered": true, "scrypt r": true, "scrypt p": true, "scrypt KeyLen": true, "Version": true}
	for _, tc := range []struct {
		name   string
		opts   CreateOptions
		change func(f *File)
		want   string
	}{
		{"plaintext names", CreateOptions{}, func(f *File) {
			f.FeatureFlags = []Flag{FlagHKDF, FlagGCMIV128, FlagPlaintextNames}
		}, "gocryptfs.conf says PlaintextNames, but the volume was set up without it"},
		{"DirIV removed", CreateOptions{}, func(f *File) {
			f.FeatureFlags = slices.DeleteFunc(f.FeatureFlags, func(fl Flag) bool { return fl == FlagDirIV })
		}, "gocryptfs.conf lacks DirIV, but the volume was set up with it"},
		{"Raw64 removed", CreateOptions{}, func(f *File) {
			f.FeatureFlags = slices.DeleteFunc(f.FeatureFlags, func(fl Flag) bool { return fl == FlagRaw64 })
		}, "lacks Raw64"},
		{"plaintext names removed", CreateOptions{PlaintextNames: true}, func(f *File) {
			f.FeatureFlags = []Flag{FlagHKDF, FlagGCMIV128, FlagDirIV, FlagEMENames, FlagLongNames, FlagRaw64}
		}, "lacks PlaintextNames"},
		{"AES-SIV added", CreateOptions{}, func(f *File) { f.FeatureFlags = append(f.FeatureFlags, FlagAESSIV) }, "says AESSIV"},
		{"XChaCha to GCM", CreateOptions{XChaCha: true}, func(f *File) {
			f.FeatureFlags[slices.Index(f.FeatureFlags, FlagXChaCha20Poly1305)] = FlagGCMIV128
		}, "lacks XChaCha20Poly1305"},
		{"LongNameMax", CreateOptions{LongNameMax: 100}, func(f *File) { f.LongNameMax = 200 }, "says LongNameMax 200, but the volume was set up with 100"},
		{"LongNameMax added", CreateOptions{}, func(f *File) {
			f.LongNameMax = 62
			f.FeatureFlags = slices.Insert(f.FeatureFlags, slices.Index(f.FeatureFlags, FlagEMENames), FlagLongNameMax)
		}, "says LongNameMax 62"},
		{"scrypt N lowered", CreateOptions{}, func(f *File) { f.Scrypt.N = 512 }, "says scrypt N 512, but the volume was set up with 1024"},
		{"scrypt r", CreateOptions{}, func(f *File) { f.Scrypt.R = 1 }, "scrypt r 1"},
		{"scrypt p", CreateOptions{}, func(f *File) { f.Scrypt.P = 2 }, "scrypt p 2"},
		{"scrypt KeyLen", CreateOptions{}, func(f *File) { f.Scrypt.KeyLen = 64 }, "scrypt KeyLen 64"},
		{"scrypt salt", CreateOptions{}, func(f *File) { f.Scrypt.Salt[0] ^= 1 }, "its scrypt salt differs"},
		{"EncryptedKey", CreateOptions{}, func(f *File) { f.EncryptedKey[5] ^= 1 }, "its wrapped master key (EncryptedKey) differs"},
		{"Version", CreateOptions{}, func(f *File) { f.Version = 3 }, "says Version 3"},
		{"FIDO2", CreateOptions{}, func(f *File) { f.fido2 = []byte(`{"CredentialID":"AA=="}`) }, "its FIDO2 object differs"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFormatTestConfig(t, tc.opts)
			tc.change(f)
			// Parse refuses some changed configs outright (and so
			// does every command): VerifyFormat is checked in memory.
			if !inMemory[tc.name] {
				f = reparse(t, f)
			}
			err := f.VerifyFormat(testMaster)
			var fc *FormatChangedError
			if !errors.As(err, &fc) || !errors.Is(err, ErrFormatTampered) {
				t.Fatalf("VerifyFormat: %v, want a *FormatChangedError", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("message %q does not say %q", err, tc.want)
			}
		})
	}
}

// Changing the record along with the config, as an attacker without the
// key would to hide a change, breaks its MAC.
func TestFormatRecordItselfAuthenticated(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(f *File)
	}{
		{"flags in both", func(f *File) {
			f.FeatureFlags = []Flag{FlagHKDF, FlagGCMIV128, FlagPlaintextNames}
			f.format.FeatureFlags = formatFlags(f.FeatureFlags)
		}},
		{"scrypt N in both", func(f *File) { f.Scrypt.N, f.format.Scrypt.N = 2048, 2048 }},
		{"MAC", func(f *File) { f.format.MAC[0] ^= 1 }},
	} {
		f := newFormatTestConfig(t, CreateOptions{})
		tc.change(f)
		err := f.VerifyFormat(testMaster)
		var fc *FormatChangedError
		if !errors.Is(err, ErrFormatTampered) || errors.As(err, &fc) {
			t.Errorf("%s: %v, want a MAC failure", tc.name, err)
		}
	}
	f := newFormatTestConfig(t, CreateOptions{})
	f.format.MAC = f.format.MAC[:16]
	if _, err := Parse(f.Marshal()); err == nil || !strings.Contains(err.Error(), "VeilfsFormat") {
		t.Errorf("short MAC: %v", err)
	}
}

// The MAC covers every field of the record: changing any one of them
// changes what is authenticated. A field added to formatRecord later
// without a place in canonical fails here.
func TestFormatCanonicalCoversEveryField(t *testing.T) {
	base := newFormatTestConfig(t, CreateOptions{}).currentFormat()
	base.FIDO2 = []byte(`{"a":1}`)
	want := base.canonical()
	rt := reflect.TypeFor[formatRecord]()
	for i := range rt.NumField() {
		name := rt.Field(i).Name
		if name == "MAC" {
			continue
		}
		for _, sub := range fieldVariants(t, reflect.ValueOf(base).Elem().Field(i)) {
			r := *base
			r.Scrypt.Salt = bytes.Clone(base.Scrypt.Salt)
			r.EncryptedKey = bytes.Clone(base.EncryptedKey)
			r.FIDO2 = bytes.Clone(base.FIDO2)
			r.FeatureFlags = slices.Clone(base.FeatureFlags)
			sub.set(reflect.ValueOf(&r).Elem().Field(i))
			if bytes.Equal(r.canonical(), want) {
				t.Errorf("changing %s.%s leaves the canonical form unchanged", name, sub.name)
			}
		}
	}
}

type variant struct {
	name string
	set  func(v reflect.Value)
}

// fieldVariants returns ways to change the field v (its sub-fields for a
// struct).
func fieldVariants(t *testing.T, v reflect.Value) []variant {
	switch v.Kind() {
	case reflect.Int:
		return []variant{{"", func(w reflect.Value) { w.SetInt(w.Int() + 1) }}}
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return []variant{{"", func(w reflect.Value) { w.SetBytes(append(bytes.Clone(w.Bytes()), 0)) }}}
		}
		return []variant{{"", func(w reflect.Value) { w.Set(reflect.Append(w, reflect.ValueOf(FlagAESSIV))) }}}
	case reflect.Struct:
		var out []variant
		for i := range v.NumField() {
			for _, sub := range fieldVariants(t, v.Field(i)) {
				out = append(out, variant{v.Type().Field(i).Name, func(w reflect.Value) { sub.set(w.Field(i)) }})
			}
		}
		return out
	}
	t.Fatalf("formatRecord has a field of kind %v: teach canonical and this test about it", v.Kind())
	return nil
}

// gocryptfs's configs have no record: they are accepted as they are (the
// caller then checks CIPHERDIR), stay byte for byte gocryptfs's until
// veilfs writes them with the key, and get a record then.
func TestFormatRecordGocryptfsFixtures(t *testing.T) {
	for _, fx := range fixtures(t) {
		f, err := Parse(fx.conf)
		if err != nil {
			t.Fatal(err)
		}
		if f.HasFormatRecord() {
			t.Fatalf("%s: a gocryptfs config with a format record", fx.name)
		}
		mk, err := hexKey(fx.masterHex)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.VerifyFormat(mk); !errors.Is(err, ErrNoFormatRecord) {
			t.Errorf("%s: VerifyFormat: %v, want ErrNoFormatRecord", fx.name, err)
		}
		if !bytes.Equal(f.Marshal(), fx.conf) {
			t.Errorf("%s: Marshal changed gocryptfs's bytes", fx.name)
		}
		if err := f.Rewrap(mk, []byte("new"), testLogN); err != nil {
			t.Fatal(err)
		}
		g := reparse(t, f)
		if err := g.VerifyFormat(mk); err != nil {
			t.Errorf("%s: after Rewrap: %v", fx.name, err)
		}
		// gocryptfs -passwd writes its own fields only: the record is gone,
		// and the config is again one gocryptfs made.
		g.format = nil
		if err := reparse(t, g).VerifyFormat(mk); !errors.Is(err, ErrNoFormatRecord) {
			t.Errorf("%s: record dropped: %v", fx.name, err)
		}
	}
}

// Rewrap changes recorded fields (salt, cost, wrapped key) and seals them
// again; changes to the extra unlockers leave the record valid; a format
// change for a rotation drops the old record, and the new key's Rewrap
// seals the new format.
func TestFormatRecordAfterChanges(t *testing.T) {
	f := newFormatTestConfig(t, CreateOptions{})
	if err := f.Rewrap(testMaster, []byte("other"), testLogN+1); err != nil {
		t.Fatal(err)
	}
	if err := reparse(t, f).VerifyFormat(testMaster); err != nil {
		t.Errorf("after Rewrap: %v", err)
	}
	if err := f.AddKeyfileUnlocker(testMaster, "usb", testKeyfile); err != nil {
		t.Fatal(err)
	}
	if err := f.RemoveUnlocker("usb"); err != nil {
		t.Fatal(err)
	}
	if err := reparse(t, f).VerifyFormat(testMaster); err != nil {
		t.Errorf("after unlocker changes: %v", err)
	}
	n, err := f.WithFormat(FormatChange{XChaCha: true})
	if err != nil {
		t.Fatal(err)
	}
	if n.HasFormatRecord() {
		t.Error("WithFormat kept the old format's record")
	}
	newMaster := bytes.Repeat([]byte{7}, len(testMaster))
	if err := n.Rewrap(newMaster, []byte("pw"), 0); err != nil {
		t.Fatal(err)
	}
	if err := reparse(t, n).VerifyFormat(newMaster); err != nil {
		t.Errorf("rotated: %v", err)
	}
}

package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/veilfs/veilfs/cipher"
)

var (
	testMaster  = bytes.Repeat([]byte{0x5a}, cipher.MasterKeySize)
	testKeyfile = bytes.Repeat([]byte("keyfile!"), 8) // 64 bytes
)

// volumeWithUnlockers returns a new config (primary password "primary-pw")
// with a password unlocker "laptop" (password "laptop-pw") and a keyfile
// unlocker "usb" (testKeyfile).
func volumeWithUnlockers(tb testing.TB) *File {
	tb.Helper()
	f, err := New(testMaster, []byte("primary-pw"), CreateOptions{LogN: testLogN})
	if err != nil {
		tb.Fatal(err)
	}
	if err := f.AddPasswordUnlocker(testMaster, "laptop", []byte("laptop-pw"), 0); err != nil {
		tb.Fatal(err)
	}
	if err := f.AddKeyfileUnlocker(testMaster, "usb", testKeyfile); err != nil {
		tb.Fatal(err)
	}
	return f
}

func TestUnlockersRoundTrip(t *testing.T) {
	f := volumeWithUnlockers(t)
	data := f.Marshal()
	g, err := Parse(data)
	if err != nil {
		t.Fatalf("Parse(Marshal(f)): %v\n%s", err, data)
	}
	if !reflect.DeepEqual(f, g) {
		t.Errorf("Parse(Marshal(f)) differs:\n%#v\n%#v", f, g)
	}
	if !bytes.Equal(g.Marshal(), data) {
		t.Error("Marshal is not a fixed point")
	}
	// The new fields come last, after gocryptfs's keys in gocryptfs's order.
	var keys []string
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.Token()
	for dec.More() {
		k, _ := dec.Token()
		keys = append(keys, k.(string))
		var skip json.RawMessage
		dec.Decode(&skip)
	}
	if want := []string{"Creator", "EncryptedKey", "ScryptObject", "Version", "FeatureFlags", "VeilfsUnlockers", "VeilfsFormat"}; !slices.Equal(keys, want) {
		t.Errorf("keys %v, want %v", keys, want)
	}
	if !strings.Contains(string(data), "\n\t\"VeilfsUnlockers\": [\n\t\t{\n\t\t\t\"Label\": \"laptop\",\n\t\t\t\"Kind\": \"password\",") {
		t.Errorf("unexpected layout:\n%s", data)
	}

	infos := g.Unlockers()
	if len(infos) != 2 || infos[0].Label != "laptop" || infos[0].Kind != KindPassword ||
		infos[1].Label != "usb" || infos[1].Kind != KindKeyfile {
		t.Fatalf("Unlockers() = %+v", infos)
	}
	for _, in := range infos {
		if age := time.Since(in.Created); age < -time.Second || age > time.Minute || in.Created.Location() != time.UTC {
			t.Errorf("%s: Created %v", in.Label, in.Created)
		}
	}
	// The primary password still unlocks as gocryptfs would.
	if mk, err := g.UnlockMasterKey([]byte("primary-pw")); err != nil || !bytes.Equal(mk, testMaster) {
		t.Errorf("primary: %x, %v", mk, err)
	}
}

func TestUnlockWith(t *testing.T) {
	f := volumeWithUnlockers(t)
	tests := []struct {
		name      string
		password  string
		keyfile   []byte
		wantLabel string
		wantErr   error
	}{
		{name: "primary password", password: "primary-pw", wantLabel: PrimaryLabel},
		{name: "unlocker password", password: "laptop-pw", wantLabel: "laptop"},
		{name: "wrong password", password: "nope", wantErr: ErrWrongPassword},
		{name: "empty password", password: "", wantErr: ErrEmptyPassword},
		{name: "keyfile", keyfile: testKeyfile, wantLabel: "usb"},
		{name: "other keyfile", keyfile: bytes.Repeat([]byte{1}, 64), wantErr: ErrWrongKeyfile},
		{name: "keyfile plus a byte", keyfile: append(slices.Clone(testKeyfile), '\n'), wantErr: ErrWrongKeyfile},
		{name: "short keyfile", keyfile: testKeyfile[:31], wantErr: ErrWrongKeyfile},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var (
				mk    []byte
				label string
				err   error
			)
			if tt.keyfile != nil {
				mk, label, err = f.UnlockWithKeyfile(tt.keyfile)
			} else {
				mk, label, err = f.UnlockWithPassword([]byte(tt.password))
			}
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || mk != nil {
					t.Fatalf("got %x, %q, %v; want %v", mk, label, err, tt.wantErr)
				}
				return
			}
			if err != nil || label != tt.wantLabel || !bytes.Equal(mk, testMaster) {
				t.Fatalf("got %x, %q, %v; want the master key and %q", mk, label, err, tt.wantLabel)
			}
		})
	}
	// A keyfile does not open a password unlocker, nor a password a keyfile one.
	if _, _, err := f.UnlockWithPassword(testKeyfile); !errors.Is(err, ErrWrongPassword) {
		t.Errorf("keyfile bytes as password: %v", err)
	}
}

// A volume without extra unlockers marshals byte for byte as gocryptfs
// wrote it, also after an unlocker was added and removed again.
func TestNoUnlockersIsGocryptfsBytes(t *testing.T) {
	for _, fx := range fixtures(t) {
		f, err := Parse(fx.conf)
		if err != nil {
			t.Fatal(err)
		}
		if f.unlockers != nil || len(f.Unlockers()) != 0 {
			t.Fatalf("%s: unlockers in a gocryptfs config", fx.name)
		}
		mk, err := hexKey(fx.masterHex)
		if err != nil {
			t.Fatal(err)
		}
		if f.Has(FlagFIDO2) {
			continue
		}
		if err := f.AddKeyfileUnlocker(mk, "k", testKeyfile); err != nil {
			t.Fatal(err)
		}
		if bytes.Equal(f.Marshal(), fx.conf) {
			t.Fatalf("%s: adding an unlocker changed nothing", fx.name)
		}
		if err := f.RemoveUnlocker("k"); err != nil {
			t.Fatal(err)
		}
		if got := f.Marshal(); !bytes.Equal(got, fx.conf) {
			t.Errorf("%s: after add+remove:\n%s\nwant\n%s", fx.name, got, fx.conf)
		}
	}
}

func hexKey(s string) ([]byte, error) {
	var b []byte
	_, err := fmt.Sscanf(s, "%x", &b)
	return b, err
}

func TestValidateLabel(t *testing.T) {
	tests := []struct {
		label string
		ok    bool
	}{
		{"laptop", true},
		{"Alice's phone (2025)", true},
		{"clé USB ✓", true},
		{strings.Repeat("x", MaxLabelLen), true},
		{strings.Repeat("é", MaxLabelLen/2), true},
		{"", false},
		{strings.Repeat("x", MaxLabelLen+1), false},
		{strings.Repeat("é", MaxLabelLen/2) + "x", false},
		{"primary", false},
		{"PRIMARY", false},
		{"Primary", false},
		{"primary2", true},
		{"tab\there", false},
		{"new\nline", false},
		{"nul\x00", false},
		{"esc\x1b[31m", false},
		{"del\x7f", false},
		{"nbsp\u00a0x", false},
		{"bidi\u202ex", false},
		{" leading", false},
		{"trailing ", false},
		{"bad utf8 \xff", false},
	}
	for _, tt := range tests {
		if err := ValidateLabel(tt.label); (err == nil) != tt.ok {
			t.Errorf("ValidateLabel(%q) = %v, want ok=%v", tt.label, err, tt.ok)
		}
	}
}

func TestAddUnlockerRefuses(t *testing.T) {
	f := volumeWithUnlockers(t)
	before := f.Marshal()
	tests := []struct {
		name string
		add  func() error
		want error
	}{
		{"same label", func() error { return f.AddPasswordUnlocker(testMaster, "laptop", []byte("x"), 0) }, ErrUnlockerExists},
		{"same label other case", func() error { return f.AddKeyfileUnlocker(testMaster, "USB", testKeyfile) }, ErrUnlockerExists},
		{"primary", func() error { return f.AddPasswordUnlocker(testMaster, "primary", []byte("x"), 0) }, nil},
		{"bad label", func() error { return f.AddPasswordUnlocker(testMaster, "a\nb", []byte("x"), 0) }, nil},
		{"empty password", func() error { return f.AddPasswordUnlocker(testMaster, "e", nil, 0) }, ErrEmptyPassword},
		{"long password", func() error {
			return f.AddPasswordUnlocker(testMaster, "l", bytes.Repeat([]byte{'x'}, 2049), 0)
		}, ErrPasswordTooLong},
		{"short keyfile", func() error { return f.AddKeyfileUnlocker(testMaster, "s", testKeyfile[:31]) }, nil},
		{"short master key", func() error { return f.AddKeyfileUnlocker(testMaster[:31], "m", testKeyfile) }, nil},
		{"scrypt cost too low", func() error { return f.AddPasswordUnlocker(testMaster, "c", []byte("x"), 9) }, nil},
	}
	for _, tt := range tests {
		err := tt.add()
		if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) {
			t.Errorf("%s: %v, want an error (%v)", tt.name, err, tt.want)
		}
		if !bytes.Equal(f.Marshal(), before) {
			t.Fatalf("%s: a refused add changed the config", tt.name)
		}
	}

	fido, err := Parse([]byte(fido2Conf))
	if err != nil {
		t.Fatal(err)
	}
	var u *UnsupportedFeatureError
	if err := fido.AddKeyfileUnlocker(testMaster, "k", testKeyfile); !errors.As(err, &u) {
		t.Errorf("FIDO2 volume: %v", err)
	}

	full, err := New(testMaster, []byte("pw"), CreateOptions{LogN: testLogN})
	if err != nil {
		t.Fatal(err)
	}
	for i := range MaxUnlockers {
		if err := full.AddKeyfileUnlocker(testMaster, fmt.Sprint("k", i), testKeyfile); err != nil {
			t.Fatal(err)
		}
	}
	if err := full.AddKeyfileUnlocker(testMaster, "one too many", testKeyfile); err == nil {
		t.Error("unlocker beyond the maximum accepted")
	}
	// The largest config still loads: far below Load's size limit.
	if n := len(full.Marshal()); n > maxConfigSize/2 {
		t.Errorf("config with %d unlockers is %d bytes", MaxUnlockers, n)
	}
	path := filepath.Join(t.TempDir(), Filename)
	if err := full.Save(path); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); err != nil {
		t.Fatal(err)
	}
}

func TestRemoveUnlocker(t *testing.T) {
	f := volumeWithUnlockers(t)
	for _, label := range []string{"primary", "Primary", "nope", "LAPTOP"} {
		if err := f.RemoveUnlocker(label); err == nil {
			t.Errorf("RemoveUnlocker(%q) succeeded", label)
		}
	}
	if err := f.RemoveUnlocker("nope"); !errors.Is(err, ErrNoSuchUnlocker) {
		t.Errorf("unknown label: %v", err)
	}
	if err := f.RemoveUnlocker("laptop"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.UnlockWithPassword([]byte("laptop-pw")); !errors.Is(err, ErrWrongPassword) {
		t.Errorf("removed unlocker still opens: %v", err)
	}
	if _, label, err := f.UnlockWithKeyfile(testKeyfile); err != nil || label != "usb" {
		t.Errorf("remaining unlocker: %q, %v", label, err)
	}
	if f.HasUnlocker("laptop") || !f.HasUnlocker("usb") {
		t.Error("HasUnlocker after remove")
	}
}

func TestChangeUnlockerPassword(t *testing.T) {
	f := volumeWithUnlockers(t)
	created := f.Unlockers()[0].Created
	oldN := f.unlockers[0].Scrypt.N
	if err := f.ChangeUnlockerPassword(testMaster, "laptop", []byte("new-pw"), 0); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.UnlockWithPassword([]byte("laptop-pw")); !errors.Is(err, ErrWrongPassword) {
		t.Errorf("old password still opens: %v", err)
	}
	if mk, label, err := f.UnlockWithPassword([]byte("new-pw")); err != nil || label != "laptop" || !bytes.Equal(mk, testMaster) {
		t.Errorf("new password: %q, %v", label, err)
	}
	if in := f.Unlockers()[0]; in.Label != "laptop" || !in.Created.Equal(created) || f.unlockers[0].Scrypt.N != oldN {
		t.Errorf("label, creation time or cost changed: %+v N=%d", in, f.unlockers[0].Scrypt.N)
	}
	if err := f.ChangeUnlockerPassword(testMaster, "laptop", []byte("new-pw"), testLogN+1); err != nil {
		t.Fatal(err)
	}
	if f.unlockers[0].Scrypt.N != 1<<(testLogN+1) {
		t.Errorf("cost not changed: N=%d", f.unlockers[0].Scrypt.N)
	}
	if err := f.ChangeUnlockerPassword(testMaster, "usb", []byte("x"), 0); err == nil {
		t.Error("changed the password of a keyfile unlocker")
	}
	if err := f.ChangeUnlockerPassword(testMaster, "nope", []byte("x"), 0); !errors.Is(err, ErrNoSuchUnlocker) {
		t.Errorf("unknown label: %v", err)
	}
}

// TestReenrolUnlockers is what a key rotation does: every unlocker whose
// secret is given gets a fresh key pair committed to the new master key, the
// others are removed, and an unlocker removed before the rotation (kept in
// an old copy of the config) does not open the new key.
func TestReenrolUnlockers(t *testing.T) {
	f := volumeWithUnlockers(t)
	if err := f.AddPasswordUnlocker(testMaster, "phone", []byte("phone-pw"), 0); err != nil {
		t.Fatal(err)
	}
	stolen, err := Parse(f.Marshal()) // a copy the removed holder kept
	if err != nil {
		t.Fatal(err)
	}
	oldPub := func(label string) []byte {
		u := &stolen.unlockers[stolen.find(label)]
		pub, err := cipher.OpenPublicKey(testMaster, u.EncryptedPublicKey, u.aad())
		if err != nil {
			t.Fatal(err)
		}
		return pub
	}
	newMaster := bytes.Repeat([]byte{0xa5}, cipher.MasterKeySize)
	secrets := map[string][]byte{"laptop": []byte("laptop-pw"), "phone": []byte("phone-pw")}

	before := f.Marshal()
	for name, tc := range map[string]struct {
		old     []byte
		secrets map[string][]byte
		want    error
	}{
		"wrong old master key": {newMaster, secrets, ErrUnlockerDamaged},
		"wrong password":       {testMaster, map[string][]byte{"laptop": []byte("nope")}, ErrWrongPassword},
		"wrong keyfile":        {testMaster, map[string][]byte{"usb": bytes.Repeat([]byte{1}, 32)}, ErrWrongKeyfile},
	} {
		if _, err := f.ReenrolUnlockers(tc.old, newMaster, tc.secrets); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", name, err, tc.want)
		}
		if !bytes.Equal(f.Marshal(), before) {
			t.Fatalf("%s: a failed ReenrolUnlockers changed the config", name)
		}
	}

	removed, err := f.ReenrolUnlockers(testMaster, newMaster, secrets)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(removed, []string{"usb"}) {
		t.Errorf("removed %v, want [usb]", removed)
	}
	for _, label := range []string{"laptop", "phone"} {
		mk, got, err := f.UnlockWithPassword(secrets[label])
		if err != nil || got != label || !bytes.Equal(mk, newMaster) {
			t.Errorf("%s after re-enrolment: %x, %q, %v", label, mk, got, err)
		}
		u := &f.unlockers[f.find(label)]
		pub, err := cipher.OpenPublicKey(newMaster, u.EncryptedPublicKey, u.aad())
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Equal(pub, oldPub(label)) {
			t.Errorf("%s kept its key pair through the rotation", label)
		}
		old := &stolen.unlockers[stolen.find(label)]
		if u.Created != old.Created || u.Scrypt.N != old.Scrypt.N || bytes.Equal(u.Scrypt.Salt, old.Scrypt.Salt) {
			t.Errorf("%s: created %s (was %s), N %d (was %d), salt renewed %v", label, u.Created, old.Created,
				u.Scrypt.N, old.Scrypt.N, !bytes.Equal(u.Scrypt.Salt, old.Scrypt.Salt))
		}
	}
	// The removed keyfile still opens its old copy, which holds the old key only.
	if mk, _, err := stolen.UnlockWithKeyfile(testKeyfile); err != nil || !bytes.Equal(mk, testMaster) {
		t.Errorf("old copy: %x, %v", mk, err)
	}
	if _, _, err := f.UnlockWithKeyfile(testKeyfile); !errors.Is(err, ErrWrongKeyfile) {
		t.Errorf("removed keyfile opens the rotated config: %v", err)
	}
	// Nothing kept: no field at all, the file is gocryptfs's again.
	if _, err := f.ReenrolUnlockers(newMaster, testMaster, nil); err != nil || f.unlockers != nil {
		t.Errorf("re-enrol nothing: %v, %d left", err, len(f.unlockers))
	}
}

// TestUnlockerKeySubstitution is audit finding 5: a former holder of the
// master key knows every unlocker's public key (they are encrypted under
// the master key), so with write access to gocryptfs.conf they can seal a
// key of their own to an unlocker and re-encrypt its public key under it.
// Before the key commitment the unlocker then opened to their key, and
// the volume's new files were written under it.
func TestUnlockerKeySubstitution(t *testing.T) {
	f := volumeWithUnlockers(t)
	attackerKey := bytes.Repeat([]byte{0x77}, cipher.MasterKeySize)
	substitute := func(f *File, label string) {
		u := &f.unlockers[f.find(label)]
		aad := u.aad()
		pub, err := cipher.OpenPublicKey(testMaster, u.EncryptedPublicKey, aad)
		if err != nil {
			t.Fatal(err)
		}
		u.EncryptedPublicKey = cipher.SealPublicKey(attackerKey, pub, aad)
		if u.SealedMasterKey, err = cipher.SealKey(pub, attackerKey, aad); err != nil {
			t.Fatal(err)
		}
	}
	substitute(f, "usb")
	substitute(f, "laptop")
	g, err := Parse(f.Marshal())
	if err != nil {
		t.Fatal(err)
	}
	if mk, _, err := g.UnlockWithKeyfile(testKeyfile); !errors.Is(err, ErrUnlockerDamaged) {
		t.Errorf("keyfile unlocker with a substituted key: %x, %v; want ErrUnlockerDamaged", mk, err)
	}
	if mk, _, err := g.UnlockWithPassword([]byte("laptop-pw")); !errors.Is(err, ErrUnlockerDamaged) {
		t.Errorf("password unlocker with a substituted key: %x, %v; want ErrUnlockerDamaged", mk, err)
	}

	// Nor can the commitment be changed or dropped without the secret: the
	// private-key envelope authenticates it.
	for name, edit := range map[string]func(u *unlocker){
		"commitment to the attacker's key": func(u *unlocker) { u.KeyCommitment = cipher.KeyCommitment(attackerKey, u.aad()) },
		"commitment removed":               func(u *unlocker) { u.KeyCommitment = nil },
	} {
		h, err := Parse(f.Marshal())
		if err != nil {
			t.Fatal(err)
		}
		edit(&h.unlockers[h.find("usb")])
		if mk, _, err := h.UnlockWithKeyfile(testKeyfile); !errors.Is(err, ErrWrongKeyfile) {
			t.Errorf("%s: %x, %v; want ErrWrongKeyfile (the entry no longer opens)", name, mk, err)
		}
	}
}

// TestLegacyUnlocker: an entry written before the key commitment existed
// (no KeyCommitment field) still opens, and says it is not committed so
// that the caller checks the key against the volume's files.
func TestLegacyUnlocker(t *testing.T) {
	f := volumeWithUnlockers(t)
	u := &f.unlockers[f.find("usb")]
	// What an older veilfs wrote: the private key bound to the plain aad.
	priv, pub, err := cipher.NewX25519Key()
	if err != nil {
		t.Fatal(err)
	}
	kek, err := cipher.KeyfileKEK(testKeyfile, u.KeyfileSalt)
	if err != nil {
		t.Fatal(err)
	}
	aad := u.aad()
	u.KeyCommitment = nil
	u.EncryptedPrivateKey = cipher.SealPrivateKey(kek, priv, aad)
	u.EncryptedPublicKey = cipher.SealPublicKey(testMaster, pub, aad)
	if u.SealedMasterKey, err = cipher.SealKey(pub, testMaster, aad); err != nil {
		t.Fatal(err)
	}
	data := f.Marshal()
	if n := bytes.Count(data, []byte(`"KeyCommitment"`)); n != 1 {
		t.Fatalf("%d KeyCommitment fields for one committed and one legacy entry:\n%s", n, data)
	}
	g, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if mk, label, err := g.UnlockWithKeyfile(testKeyfile); err != nil || label != "usb" || !bytes.Equal(mk, testMaster) {
		t.Fatalf("legacy entry: %x, %q, %v", mk, label, err)
	}
	for _, in := range g.Unlockers() {
		if want := in.Label != "usb"; in.Committed != want {
			t.Errorf("%s: Committed = %v, want %v", in.Label, in.Committed, want)
		}
	}
	// A rotation re-enrols it with a commitment.
	newMaster := bytes.Repeat([]byte{0xa5}, cipher.MasterKeySize)
	if _, err := g.ReenrolUnlockers(testMaster, newMaster, map[string][]byte{"usb": testKeyfile}); err != nil {
		t.Fatal(err)
	}
	if in := g.Unlockers(); len(in) != 1 || !in[0].Committed {
		t.Errorf("after re-enrolment: %+v", in)
	}
}

// TestUnlockerTamper: changes to an entry by someone without the master key
// are detected, never turned into a wrong master key.
func TestUnlockerTamper(t *testing.T) {
	tests := []struct {
		name   string
		tamper func(f *File)
		// what the laptop password then gives
		want error
		// whether CheckUnlockers flags "laptop"
		flagged bool
	}{
		{"flip a byte of the sealed master key", func(f *File) { f.unlockers[0].SealedMasterKey[40] ^= 1 }, ErrUnlockerDamaged, false},
		{"flip a byte of the ephemeral key", func(f *File) { f.unlockers[0].SealedMasterKey[0] ^= 1 }, ErrUnlockerDamaged, false},
		{"flip a byte of the public key", func(f *File) { f.unlockers[0].EncryptedPublicKey[20] ^= 1 }, ErrUnlockerDamaged, true},
		{"flip a byte of the private key", func(f *File) { f.unlockers[0].EncryptedPrivateKey[20] ^= 1 }, ErrWrongPassword, false},
		{"seal of another unlocker", func(f *File) { f.unlockers[0].SealedMasterKey = slices.Clone(f.unlockers[1].SealedMasterKey) }, ErrUnlockerDamaged, false},
		{"public key of another unlocker", func(f *File) {
			f.unlockers[0].EncryptedPublicKey = slices.Clone(f.unlockers[1].EncryptedPublicKey)
		}, ErrUnlockerDamaged, true},
		{"relabel", func(f *File) { f.unlockers[0].Label = "desktop" }, ErrWrongPassword, true},
		{"swap labels", func(f *File) {
			f.unlockers[0].Label, f.unlockers[1].Label = f.unlockers[1].Label, f.unlockers[0].Label
		}, ErrWrongPassword, true},
		{"change creation time", func(f *File) { f.unlockers[0].Created = "2001-01-01T00:00:00Z" }, ErrWrongPassword, true},
		{"lower the scrypt cost", func(f *File) { f.unlockers[0].Scrypt.N = 1 << cipher.MinScryptLogN / 2 }, nil, false},
		{"other scrypt salt", func(f *File) { f.unlockers[0].Scrypt.Salt[0] ^= 1 }, ErrWrongPassword, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := volumeWithUnlockers(t)
			if err := f.AddPasswordUnlocker(testMaster, "other", []byte("other-pw"), 0); err != nil {
				t.Fatal(err)
			}
			// Entry 0 is "laptop", entry 1 "usb"; move "other" to 1 so that
			// swaps are between two password unlockers.
			f.unlockers[1], f.unlockers[2] = f.unlockers[2], f.unlockers[1]
			tt.tamper(f)
			g, err := Parse(f.Marshal())
			if tt.want == nil {
				if err == nil {
					t.Fatal("invalid config accepted")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			mk, _, err := g.UnlockWithPassword([]byte("laptop-pw"))
			if !errors.Is(err, tt.want) || mk != nil {
				t.Errorf("laptop password: %x, %v; want %v", mk, err, tt.want)
			}
			_, bad := g.CheckUnlockers(testMaster)
			if label := g.unlockers[0].Label; slices.Contains(bad, label) != tt.flagged {
				t.Errorf("CheckUnlockers bad = %v, want %q flagged=%v", bad, label, tt.flagged)
			}
			// The primary password is never affected.
			if mk, err := g.UnlockMasterKey([]byte("primary-pw")); err != nil || !bytes.Equal(mk, testMaster) {
				t.Errorf("primary: %v", err)
			}
		})
	}
}

// TestValidateUnlockers: structurally broken entries are refused by Parse.
func TestValidateUnlockers(t *testing.T) {
	good := volumeWithUnlockers(t).Marshal()
	edit := func(fn func(us []map[string]any)) []byte {
		var m map[string]any
		if err := json.Unmarshal(good, &m); err != nil {
			t.Fatal(err)
		}
		raw := m["VeilfsUnlockers"].([]any)
		us := make([]map[string]any, len(raw))
		for i, r := range raw {
			us[i] = r.(map[string]any)
		}
		fn(us)
		out, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	tests := []struct {
		name string
		data []byte
		sub  string
	}{
		{"unknown kind", edit(func(us []map[string]any) { us[0]["Kind"] = "fido2" }), "unknown kind"},
		{"password without scrypt", edit(func(us []map[string]any) { delete(us[0], "ScryptObject") }), "ScryptObject"},
		{"password with keyfile salt", edit(func(us []map[string]any) { us[0]["KeyfileSalt"] = us[1]["KeyfileSalt"] }), "KeyfileSalt"},
		{"keyfile with scrypt", edit(func(us []map[string]any) { us[1]["ScryptObject"] = us[0]["ScryptObject"] }), "ScryptObject"},
		{"keyfile without salt", edit(func(us []map[string]any) { delete(us[1], "KeyfileSalt") }), "KeyfileSalt"},
		{"weak unlocker scrypt", edit(func(us []map[string]any) { us[0]["ScryptObject"].(map[string]any)["N"] = 512 }), "scrypt N"},
		{"duplicate label", edit(func(us []map[string]any) { us[1]["Label"] = "Laptop" }), "two unlockers"},
		{"reserved label", edit(func(us []map[string]any) { us[1]["Label"] = "primary" }), "reserved"},
		{"control character in label", edit(func(us []map[string]any) { us[1]["Label"] = "a\u0007" }), "non-printable"},
		{"local time", edit(func(us []map[string]any) { us[0]["Created"] = "2025-01-02T03:04:05+01:00" }), "Created"},
		{"fractional seconds", edit(func(us []map[string]any) { us[0]["Created"] = "2025-01-02T03:04:05.5Z" }), "Created"},
		{"no time", edit(func(us []map[string]any) { delete(us[0], "Created") }), "Created"},
		{"short sealed key", edit(func(us []map[string]any) { us[0]["SealedMasterKey"] = "AAAA" }), "SealedMasterKey"},
		{"no private key", edit(func(us []map[string]any) { delete(us[0], "EncryptedPrivateKey") }), "EncryptedPrivateKey"},
		{"not a list", []byte(strings.Replace(string(good), `"VeilfsUnlockers": [`, `"VeilfsUnlockers": 5, "x": [`, 1)), "VeilfsUnlockers"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse(tt.data)
			if err == nil || f != nil {
				t.Fatalf("accepted:\n%s", tt.data)
			}
			if !strings.Contains(err.Error(), tt.sub) {
				t.Errorf("error %q does not mention %q", err, tt.sub)
			}
		})
	}
	// An empty list and null are "no unlockers", and marshal without the field.
	for _, v := range []string{"[]", "null"} {
		data := strings.Replace(string(fixtureConf(t, "v2-default")), "\n}\n", ",\n\t\"VeilfsUnlockers\": "+v+"\n}\n", 1)
		f, err := Parse([]byte(data))
		if err != nil {
			t.Fatalf("%s: %v", v, err)
		}
		if !bytes.Equal(f.Marshal(), fixtureConf(t, "v2-default")) {
			t.Errorf("%s: marshals as\n%s", v, f.Marshal())
		}
	}
}

package config

// Extra unlockers ("VeilfsUnlockers"): more ways into one volume than its
// gocryptfs password. They live in gocryptfs.conf as one extra top-level
// field, which gocryptfs ignores when it mounts (and drops when its -passwd
// rewrites the file), because a separate file in CIPHERDIR would be reported
// as a corrupt entry by gocryptfs -fsck. A volume without extra unlockers
// has no such field and stays byte-identical to gocryptfs's format.
//
// Every unlocker holds an X25519 key pair (package cipher, unlocker.go):
//
//   - EncryptedPrivateKey: the private key under the unlocker's KEK, which
//     is scrypt(password) with the unlocker's own ScryptObject, or
//     HKDF(keyfile, KeyfileSalt);
//   - SealedMasterKey: the master key sealed to the public key;
//   - EncryptedPublicKey: the public key under a key derived from the
//     master key;
//   - KeyCommitment: a commitment to the master key (cipher.KeyCommitment),
//     authenticated as part of the associated data of EncryptedPrivateKey.
//
// All of them are bound (AEAD associated data) to the unlocker's kind,
// label and creation time, so relabelling or swapping entries is detected
// by whoever opens them. Sealing needs only the public key, which any
// holder of the master key can decrypt: someone who once had the master
// key (an unlocker removed since) could seal a key of their own to the
// others. The commitment is what catches that: the private-key envelope,
// which only the unlocker's secret can make, fixes the master key the
// entry may hold, and open refuses any other. The flip side is that
// nothing but the secret can give an unlocker a new master key: a key
// rotation re-enrols every unlocker it keeps (ReenrolUnlockers), with a
// fresh key pair, so that the public keys old holders learned open
// nothing either.
//
// Entries written before the commitment existed have no KeyCommitment
// field. They still open (Committed reports false for them), and the
// caller then checks the key against the volume's files; re-enrolling them
// (a rotation, or keys passwd for a password unlocker) adds it.

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/veilfs/veilfs/cipher"
)

// PrimaryLabel names the gocryptfs password itself (EncryptedKey and
// ScryptObject) in lists and messages. No extra unlocker may use it.
const PrimaryLabel = "primary"

// UnlockerKind is what opens an extra unlocker.
type UnlockerKind string

// The kinds of extra unlockers.
const (
	KindPassword UnlockerKind = "password"
	KindKeyfile  UnlockerKind = "keyfile"
)

const (
	// MaxLabelLen bounds a label in bytes: it is shown in one line of a list.
	MaxLabelLen = 64
	// MaxUnlockers bounds the extra unlockers of a volume, so that the
	// config stays far below the size Load accepts, and so that a wrong
	// password costs at most this many scrypt runs more.
	MaxUnlockers = 32

	// aadPrefix starts the associated data of every unlocker ciphertext,
	// so that it can never be confused with another use of the same key.
	aadPrefix = "veilfs unlocker v1"
)

var (
	// ErrWrongKeyfile means the keyfile opens no keyfile unlocker of the volume.
	ErrWrongKeyfile = errors.New("the keyfile does not unlock this volume")
	// ErrNoSuchUnlocker means no extra unlocker has the label given.
	ErrNoSuchUnlocker = errors.New("no such unlocker")
	// ErrUnlockerExists means an unlocker with the label (in any letter
	// case) exists already.
	ErrUnlockerExists = errors.New("an unlocker with this label exists")
	// ErrUnlockerDamaged means an unlocker's secret was right but the rest
	// of its entry does not authenticate: the entry was damaged, or changed
	// by someone who does not have the master key.
	ErrUnlockerDamaged = errors.New("unlocker entry does not authenticate")
)

// UnlockerInfo is what may be shown about an extra unlocker without any key:
// it is stored in the clear in gocryptfs.conf.
type UnlockerInfo struct {
	Label   string
	Kind    UnlockerKind
	Created time.Time
	// ScryptLogN is a password unlocker's scrypt cost as log2(N), so that
	// passwd can tell a lowered one (0 for other kinds).
	ScryptLogN int
	// Committed reports that the entry commits to its master key, so a key
	// someone else sealed to it is refused when it is opened. Entries made
	// by veilfs before the commitment existed do not.
	Committed bool
}

// unlocker is one entry of VeilfsUnlockers.
type unlocker struct {
	Label   string
	Kind    UnlockerKind
	Created string // RFC 3339, UTC, whole seconds; kept as stored (it is in the AAD)

	Scrypt      *cipher.ScryptParams // KindPassword only
	KeyfileSalt []byte               // KindKeyfile only

	EncryptedPrivateKey []byte
	EncryptedPublicKey  []byte
	SealedMasterKey     []byte
	KeyCommitment       []byte // nil in entries older than the commitment
}

// jsonUnlocker is the JSON form of an unlocker; field order is key order.
type jsonUnlocker struct {
	Label               string
	Kind                UnlockerKind
	Created             string
	ScryptObject        *jsonScrypt `json:",omitempty"`
	KeyfileSalt         []byte      `json:",omitempty"`
	EncryptedPrivateKey []byte
	EncryptedPublicKey  []byte
	SealedMasterKey     []byte
	KeyCommitment       []byte `json:",omitempty"`
}

func unlockersFromJSON(js []jsonUnlocker) []unlocker {
	if len(js) == 0 {
		return nil
	}
	out := make([]unlocker, len(js))
	for i, j := range js {
		u := unlocker{
			Label: j.Label, Kind: j.Kind, Created: j.Created,
			EncryptedPrivateKey: j.EncryptedPrivateKey,
			EncryptedPublicKey:  j.EncryptedPublicKey,
			SealedMasterKey:     j.SealedMasterKey,
		}
		if len(j.KeyfileSalt) > 0 {
			u.KeyfileSalt = j.KeyfileSalt
		}
		if len(j.KeyCommitment) > 0 {
			u.KeyCommitment = j.KeyCommitment
		}
		if s := j.ScryptObject; s != nil {
			u.Scrypt = &cipher.ScryptParams{Salt: s.Salt, N: s.N, R: s.R, P: s.P, KeyLen: s.KeyLen}
		}
		out[i] = u
	}
	return out
}

func unlockersToJSON(us []unlocker) []jsonUnlocker {
	if len(us) == 0 {
		return nil
	}
	out := make([]jsonUnlocker, len(us))
	for i, u := range us {
		j := jsonUnlocker{
			Label: u.Label, Kind: u.Kind, Created: u.Created,
			KeyfileSalt:         u.KeyfileSalt,
			EncryptedPrivateKey: u.EncryptedPrivateKey,
			EncryptedPublicKey:  u.EncryptedPublicKey,
			SealedMasterKey:     u.SealedMasterKey,
			KeyCommitment:       u.KeyCommitment,
		}
		if s := u.Scrypt; s != nil {
			j.ScryptObject = &jsonScrypt{Salt: s.Salt, N: s.N, R: s.R, P: s.P, KeyLen: s.KeyLen}
		}
		out[i] = j
	}
	return out
}

// aad binds an unlocker's ciphertexts to its kind, label and creation time.
// Labels contain no control characters, so the NUL separators are
// unambiguous.
func (u *unlocker) aad() []byte {
	return []byte(aadPrefix + "\x00" + string(u.Kind) + "\x00" + u.Label + "\x00" + u.Created)
}

// privateAAD is the associated data of the private-key envelope: aad and,
// in a committed entry, the key commitment, so that the commitment cannot
// be changed (or removed) without the unlocker's secret.
func (u *unlocker) privateAAD() []byte {
	aad := u.aad()
	if u.KeyCommitment == nil {
		return aad
	}
	return append(append(aad, 0), u.KeyCommitment...)
}

// ValidateLabel checks a label for an extra unlocker: 1 to 64 bytes of
// printable UTF-8 (no control characters, no white space but the plain
// space, none at either end), and not "primary" in any letter case.
func ValidateLabel(label string) error {
	switch {
	case label == "":
		return errors.New("the label is empty")
	case len(label) > MaxLabelLen:
		return fmt.Errorf("the label is %d bytes long, at most %d are allowed", len(label), MaxLabelLen)
	case !utf8.ValidString(label):
		return errors.New("the label is not valid UTF-8")
	case strings.EqualFold(label, PrimaryLabel):
		return fmt.Errorf("the label %q is reserved for the volume's gocryptfs password", PrimaryLabel)
	case strings.TrimSpace(label) != label:
		return errors.New("the label starts or ends with white space")
	}
	for _, r := range label {
		if !unicode.IsPrint(r) {
			return fmt.Errorf("the label contains the non-printable character %U", r)
		}
	}
	return nil
}

// validateUnlockers checks the structure of VeilfsUnlockers (part of
// Validate). The cryptography is checked when an unlocker is used.
func (f *File) validateUnlockers() error {
	if len(f.unlockers) > MaxUnlockers {
		return fmt.Errorf("invalid config: %d extra unlockers, at most %d are allowed", len(f.unlockers), MaxUnlockers)
	}
	for i := range f.unlockers {
		u := &f.unlockers[i]
		if err := ValidateLabel(u.Label); err != nil {
			return fmt.Errorf("invalid config: unlocker %d: %w", i+1, err)
		}
		for _, v := range f.unlockers[:i] {
			if strings.EqualFold(v.Label, u.Label) {
				return fmt.Errorf("invalid config: two unlockers are labelled %q", u.Label)
			}
		}
		bad := func(format string, args ...any) error {
			return fmt.Errorf("invalid config: unlocker %q: %s", u.Label, fmt.Sprintf(format, args...))
		}
		switch u.Kind {
		case KindPassword:
			if u.Scrypt == nil {
				return bad("a password unlocker needs a ScryptObject")
			}
			if err := u.Scrypt.Validate(); err != nil {
				return bad("%v", err)
			}
			if u.KeyfileSalt != nil {
				return bad("a password unlocker has no KeyfileSalt")
			}
		case KindKeyfile:
			if u.Scrypt != nil {
				return bad("a keyfile unlocker has no ScryptObject")
			}
			if len(u.KeyfileSalt) != cipher.KeyfileSaltSize {
				return bad("KeyfileSalt is %d bytes, want %d", len(u.KeyfileSalt), cipher.KeyfileSaltSize)
			}
		default:
			return bad("unknown kind %q; a newer veilfs may be needed", u.Kind)
		}
		if t, err := time.Parse(time.RFC3339, u.Created); err != nil || t.UTC().Format(time.RFC3339) != u.Created {
			return bad("Created %q is not an RFC 3339 UTC time like 2006-01-02T15:04:05Z", u.Created)
		}
		for _, fl := range []struct {
			name string
			b    []byte
			want int
		}{
			{"EncryptedPrivateKey", u.EncryptedPrivateKey, cipher.EnvelopeSize},
			{"EncryptedPublicKey", u.EncryptedPublicKey, cipher.EnvelopeSize},
			{"SealedMasterKey", u.SealedMasterKey, cipher.SealedKeySize},
			{"KeyCommitment", u.KeyCommitment, cipher.KeyCommitmentSize},
		} {
			if fl.b == nil && fl.name == "KeyCommitment" {
				continue // an entry older than the commitment
			}
			if len(fl.b) != fl.want {
				return bad("%s is %d bytes, want %d", fl.name, len(fl.b), fl.want)
			}
		}
	}
	return nil
}

// Unlockers lists the extra unlockers in the order they were added. The
// primary (gocryptfs) password is not in the list.
func (f *File) Unlockers() []UnlockerInfo {
	out := make([]UnlockerInfo, 0, len(f.unlockers))
	for _, u := range f.unlockers {
		t, _ := time.Parse(time.RFC3339, u.Created) // checked by Validate
		in := UnlockerInfo{Label: u.Label, Kind: u.Kind, Created: t, Committed: u.KeyCommitment != nil}
		if u.Scrypt != nil {
			in.ScryptLogN = u.Scrypt.LogN()
		}
		out = append(out, in)
	}
	return out
}

// HasUnlocker reports whether an extra unlocker is labelled exactly label.
func (f *File) HasUnlocker(label string) bool {
	return f.find(label) >= 0
}

func (f *File) find(label string) int {
	return slices.IndexFunc(f.unlockers, func(u unlocker) bool { return u.Label == label })
}

// checkAdd runs the checks common to every new unlocker.
func (f *File) checkAdd(master []byte, label string) error {
	if f.Has(FlagFIDO2) {
		return &UnsupportedFeatureError{Flag: string(FlagFIDO2)}
	}
	if len(master) != cipher.MasterKeySize {
		return fmt.Errorf("master key is %d bytes, want %d", len(master), cipher.MasterKeySize)
	}
	if err := ValidateLabel(label); err != nil {
		return err
	}
	for _, u := range f.unlockers {
		if strings.EqualFold(u.Label, label) {
			return fmt.Errorf("label %q: %w", u.Label, ErrUnlockerExists)
		}
	}
	if len(f.unlockers) >= MaxUnlockers {
		return fmt.Errorf("the volume has %d extra unlockers already, the most allowed; remove one first", MaxUnlockers)
	}
	return nil
}

func now() string {
	return time.Now().UTC().Truncate(time.Second).Format(time.RFC3339)
}

// AddPasswordUnlocker adds an extra unlocker opened by password, with its
// own scrypt salt and cost 2^logN (0: the primary password's cost). f is
// changed only on success, after the new entry was checked to open with
// password (in memory); the caller then Saves f.
func (f *File) AddPasswordUnlocker(master []byte, label string, password []byte, logN int) error {
	if err := f.checkAdd(master, label); err != nil {
		return fmt.Errorf("add password unlocker: %w", err)
	}
	u, err := newPasswordUnlocker(master, label, now(), password, f.unlockerLogN(logN))
	if err != nil {
		return fmt.Errorf("add password unlocker %q: %w", label, err)
	}
	f.unlockers = append(slices.Clip(f.unlockers), u)
	return nil
}

// AddKeyfileUnlocker adds an extra unlocker opened by the content of a
// keyfile of at least cipher.MinKeyfileSize bytes. f is changed only on
// success, after the new entry was checked to open with keyfile.
func (f *File) AddKeyfileUnlocker(master []byte, label string, keyfile []byte) error {
	if err := f.checkAdd(master, label); err != nil {
		return fmt.Errorf("add keyfile unlocker: %w", err)
	}
	u, err := newKeyfileUnlocker(master, label, now(), keyfile)
	if err != nil {
		return fmt.Errorf("add keyfile unlocker %q: %w", label, err)
	}
	f.unlockers = append(slices.Clip(f.unlockers), u)
	return nil
}

func newKeyfileUnlocker(master []byte, label, created string, keyfile []byte) (unlocker, error) {
	u := unlocker{Label: label, Kind: KindKeyfile, Created: created, KeyfileSalt: make([]byte, cipher.KeyfileSaltSize)}
	rand.Read(u.KeyfileSalt) // cannot fail since Go 1.24
	kek, err := cipher.KeyfileKEK(keyfile, u.KeyfileSalt)
	if err != nil {
		return unlocker{}, err
	}
	defer cipher.Wipe(kek)
	if err := u.setKeys(master, kek); err != nil {
		return unlocker{}, err
	}
	return u, nil
}

func (f *File) unlockerLogN(logN int) int {
	if logN == 0 {
		return f.Scrypt.LogN()
	}
	return logN
}

func newPasswordUnlocker(master []byte, label, created string, password []byte, logN int) (unlocker, error) {
	if err := checkPassword(password); err != nil {
		return unlocker{}, err
	}
	p := cipher.NewScryptParams(logN)
	if err := p.Validate(); err != nil {
		return unlocker{}, err
	}
	kek, err := p.DeriveKEK(password)
	if err != nil {
		return unlocker{}, err
	}
	defer cipher.Wipe(kek)
	u := unlocker{Label: label, Kind: KindPassword, Created: created, Scrypt: &p}
	if err := u.setKeys(master, kek); err != nil {
		return unlocker{}, err
	}
	return u, nil
}

// setKeys gives u a fresh key pair and a commitment to master: the private
// key encrypted under kek (with the commitment in its associated data), the
// public key under the master key, and master sealed to it. Then it opens
// the result with kek, as an unlock would (add-then-verify).
func (u *unlocker) setKeys(master, kek []byte) error {
	priv, pub, err := cipher.NewX25519Key()
	if err != nil {
		return err
	}
	defer cipher.Wipe(priv)
	aad := u.aad()
	u.KeyCommitment = cipher.KeyCommitment(master, aad)
	u.EncryptedPrivateKey = cipher.SealPrivateKey(kek, priv, u.privateAAD())
	u.EncryptedPublicKey = cipher.SealPublicKey(master, pub, aad)
	if u.SealedMasterKey, err = cipher.SealKey(pub, master, aad); err != nil {
		return err
	}
	check, err := u.open(kek)
	if err != nil || !bytes.Equal(check, master) {
		panic(fmt.Sprintf("config: internal error: new unlocker does not open: %v", err))
	}
	cipher.Wipe(check)
	return nil
}

// errNotThisUnlocker: the KEK does not open the unlocker's private key.
var errNotThisUnlocker = errors.New("not this unlocker")

// open returns the master key from u with its KEK. A KEK that does not fit
// gives errNotThisUnlocker; a fitting KEK with a seal or public key that
// does not authenticate, or a sealed key other than the one the entry
// commits to, gives ErrUnlockerDamaged.
func (u *unlocker) open(kek []byte) ([]byte, error) {
	aad := u.aad()
	priv, err := cipher.OpenPrivateKey(kek, u.EncryptedPrivateKey, u.privateAAD())
	if err != nil {
		return nil, errNotThisUnlocker
	}
	defer cipher.Wipe(priv)
	master, err := cipher.OpenSealedKey(priv, u.SealedMasterKey, aad)
	if err != nil {
		return nil, fmt.Errorf("unlocker %q: its sealed master key: %w", u.Label, ErrUnlockerDamaged)
	}
	pub, err := cipher.X25519PublicKey(priv)
	if err != nil {
		cipher.Wipe(master)
		return nil, err
	}
	stored, err := cipher.OpenPublicKey(master, u.EncryptedPublicKey, aad)
	if err != nil || !bytes.Equal(stored, pub) {
		cipher.Wipe(master)
		return nil, fmt.Errorf("unlocker %q: its public key: %w", u.Label, ErrUnlockerDamaged)
	}
	if u.KeyCommitment != nil && !hmac.Equal(cipher.KeyCommitment(master, aad), u.KeyCommitment) {
		// The seal and the public key are consistent, so whoever made
		// them knew the public key (a former holder of the master key),
		// but the key is not the one the owner of the secret enrolled.
		cipher.Wipe(master)
		return nil, fmt.Errorf("unlocker %q holds a master key other than the one it was enrolled with (someone who knows its public key sealed another key to it): %w",
			u.Label, ErrUnlockerDamaged)
	}
	return master, nil
}

// UnlockWithPassword returns the master key and the label of what password
// opened: the primary (gocryptfs) password first, then each password
// unlocker in turn (each costs one scrypt run). A password that opens
// nothing returns an error wrapping ErrWrongPassword. The caller wipes the
// master key.
func (f *File) UnlockWithPassword(password []byte) (master []byte, label string, err error) {
	master, err = f.UnlockMasterKey(password)
	if err == nil {
		return master, PrimaryLabel, nil
	}
	if !errors.Is(err, ErrWrongPassword) {
		return nil, "", err
	}
	return f.unlockWith(KindPassword, ErrWrongPassword, func(u *unlocker) ([]byte, error) {
		return u.Scrypt.DeriveKEK(password)
	})
}

// UnlockWithKeyfile returns the master key and the label of the keyfile
// unlocker that keyfile opens, or an error wrapping ErrWrongKeyfile. The
// caller wipes the master key.
func (f *File) UnlockWithKeyfile(keyfile []byte) (master []byte, label string, err error) {
	if err := f.Validate(); err != nil {
		return nil, "", err
	}
	if len(keyfile) < cipher.MinKeyfileSize {
		return nil, "", fmt.Errorf("unlock master key: the keyfile is %d bytes, a keyfile has at least %d: %w",
			len(keyfile), cipher.MinKeyfileSize, ErrWrongKeyfile)
	}
	return f.unlockWith(KindKeyfile, ErrWrongKeyfile, func(u *unlocker) ([]byte, error) {
		return cipher.KeyfileKEK(keyfile, u.KeyfileSalt)
	})
}

// unlockWith tries every extra unlocker of kind with the KEK that kek
// derives for it, and returns the master key and label of the first one it
// opens, or an error wrapping none when none does.
func (f *File) unlockWith(kind UnlockerKind, none error, kek func(u *unlocker) ([]byte, error)) ([]byte, string, error) {
	for i := range f.unlockers {
		u := &f.unlockers[i]
		if u.Kind != kind {
			continue
		}
		k, err := kek(u)
		if err != nil {
			return nil, "", fmt.Errorf("unlock master key: unlocker %q: %w", u.Label, err)
		}
		master, err := u.open(k)
		cipher.Wipe(k)
		switch {
		case err == nil:
			return master, u.Label, nil
		case !errors.Is(err, errNotThisUnlocker):
			return nil, "", fmt.Errorf("unlock master key: %w", err)
		}
	}
	return nil, "", fmt.Errorf("unlock master key: %w", none)
}

// RemoveUnlocker deletes the extra unlocker labelled exactly label. It
// needs no key: the entry is simply dropped. Whoever held it may have kept
// the master key; only a key rotation (a new master key, then
// RewrapUnlockers) locks them out.
func (f *File) RemoveUnlocker(label string) error {
	if strings.EqualFold(label, PrimaryLabel) {
		return fmt.Errorf("remove unlocker: %q is the volume's gocryptfs password and cannot be removed", PrimaryLabel)
	}
	i := f.find(label)
	if i < 0 {
		return fmt.Errorf("remove unlocker %q: %w", label, ErrNoSuchUnlocker)
	}
	f.unlockers = slices.Delete(slices.Clone(f.unlockers), i, i+1)
	if len(f.unlockers) == 0 {
		f.unlockers = nil // no field at all: the file is gocryptfs's again
	}
	return nil
}

// ChangeUnlockerPassword gives the password unlocker labelled label a new
// password: a new scrypt salt (cost 2^logN, 0: keep its cost), a new key
// pair, master sealed to it. Label and creation time stay. The old password
// is not needed, the master key is. f is changed only on success.
func (f *File) ChangeUnlockerPassword(master []byte, label string, newPassword []byte, logN int) error {
	i := f.find(label)
	if i < 0 {
		return fmt.Errorf("change password of unlocker %q: %w", label, ErrNoSuchUnlocker)
	}
	old := f.unlockers[i]
	if old.Kind != KindPassword {
		return fmt.Errorf("change password of unlocker %q: it is a %s unlocker, not a password one", label, old.Kind)
	}
	if len(master) != cipher.MasterKeySize {
		return fmt.Errorf("change password of unlocker %q: master key is %d bytes, want %d", label, len(master), cipher.MasterKeySize)
	}
	if logN == 0 {
		logN = old.Scrypt.LogN()
	}
	u, err := newPasswordUnlocker(master, old.Label, old.Created, newPassword, logN)
	if err != nil {
		return fmt.Errorf("change password of unlocker %q: %w", label, err)
	}
	us := slices.Clone(f.unlockers)
	us[i] = u
	f.unlockers = us
	return nil
}

// CheckUnlockers opens every extra unlocker's public key with master and
// returns the labels that authenticate and those that do not. Any label in
// ok proves that master is this volume's master key (an AEAD under a key
// derived from it); a label in bad is damaged, was changed (relabelled,
// swapped) by someone without the master key, or master is wrong.
func (f *File) CheckUnlockers(master []byte) (ok, bad []string) {
	if len(master) != cipher.MasterKeySize {
		for _, u := range f.unlockers {
			bad = append(bad, u.Label)
		}
		return nil, bad
	}
	for i := range f.unlockers {
		u := &f.unlockers[i]
		if _, err := cipher.OpenPublicKey(master, u.EncryptedPublicKey, u.aad()); err != nil {
			bad = append(bad, u.Label)
		} else {
			ok = append(ok, u.Label)
		}
	}
	return ok, bad
}

// ReenrolUnlockers gives every extra unlocker whose secret is in secrets
// (keyed by label: a password unlocker's password, a keyfile unlocker's
// keyfile content) a new entry for newMaster: a fresh key pair, salt and
// key commitment, with the same label, kind, creation time and scrypt cost.
// The others are removed and their labels returned. It is what a key
// rotation calls: a former holder of the master key learned every public
// key, and could seal a key of their own to any unlocker that kept its
// key pair; nothing but the unlocker's secret can commit it to newMaster.
//
// Every secret must open its entry to oldMaster, the key the volume has
// now; a wrong one fails the whole call (wrapping ErrWrongPassword or
// ErrWrongKeyfile) and f is changed only on success. The primary password
// is not touched: re-wrap it with Rewrap.
func (f *File) ReenrolUnlockers(oldMaster, newMaster []byte, secrets map[string][]byte) (removed []string, err error) {
	if len(oldMaster) != cipher.MasterKeySize || len(newMaster) != cipher.MasterKeySize {
		return nil, fmt.Errorf("re-enrol unlockers: master keys are %d and %d bytes, want %d", len(oldMaster), len(newMaster), cipher.MasterKeySize)
	}
	var out []unlocker
	for i := range f.unlockers {
		u := &f.unlockers[i]
		secret, ok := secrets[u.Label]
		if !ok {
			removed = append(removed, u.Label)
			continue
		}
		if err := u.checkSecret(oldMaster, secret); err != nil {
			return nil, fmt.Errorf("re-enrol unlockers: %w", err)
		}
		var n unlocker
		switch u.Kind {
		case KindPassword:
			n, err = newPasswordUnlocker(newMaster, u.Label, u.Created, secret, u.Scrypt.LogN())
		default:
			n, err = newKeyfileUnlocker(newMaster, u.Label, u.Created, secret)
		}
		if err != nil {
			return nil, fmt.Errorf("re-enrol unlocker %q: %w", u.Label, err)
		}
		out = append(out, n)
	}
	f.unlockers = out // nil when none is kept: the file is gocryptfs's again
	return removed, nil
}

// CheckUnlockerSecret tells whether secret (a password, or a keyfile's
// content) opens the extra unlocker labelled label to master. It returns
// an error wrapping ErrWrongPassword or ErrWrongKeyfile when it does not,
// ErrUnlockerDamaged when the entry opens to another key, and
// ErrNoSuchUnlocker for an unknown label. Each call on a password unlocker
// costs one scrypt run.
func (f *File) CheckUnlockerSecret(master []byte, label string, secret []byte) error {
	i := f.find(label)
	if i < 0 {
		return fmt.Errorf("unlocker %q: %w", label, ErrNoSuchUnlocker)
	}
	return f.unlockers[i].checkSecret(master, secret)
}

func (u *unlocker) checkSecret(master, secret []byte) error {
	var (
		kek   []byte
		err   error
		wrong = ErrWrongKeyfile
	)
	switch u.Kind {
	case KindPassword:
		wrong = ErrWrongPassword
		kek, err = u.Scrypt.DeriveKEK(secret)
	default:
		kek, err = cipher.KeyfileKEK(secret, u.KeyfileSalt)
	}
	if err != nil {
		return fmt.Errorf("unlocker %q: %w", u.Label, err)
	}
	m, err := u.open(kek)
	cipher.Wipe(kek)
	switch {
	case errors.Is(err, errNotThisUnlocker):
		return fmt.Errorf("unlocker %q: %w", u.Label, wrong)
	case err != nil:
		return err
	}
	defer cipher.Wipe(m)
	if !hmac.Equal(m, master) {
		return fmt.Errorf("unlocker %q opens to another master key than the volume's: %w", u.Label, ErrUnlockerDamaged)
	}
	return nil
}

package config

// The format record ("VeilfsFormat"): gocryptfs.conf's format fields,
// authenticated under a key derived from the master key.
//
// Nothing in gocryptfs's config authenticates its feature flags: whoever
// can write a synced CIPHERDIR can add PlaintextNames, and gocryptfs (and
// veilfs before this record) mounts with the same password and writes every
// new name and symlink target in the clear. The record is a copy of every
// field that decides how data and names are encrypted, with an HMAC over
// them; after unlocking, the config's fields must equal the record's and
// the MAC must verify. The copy (rather than a bare MAC) lets the error
// name what changed. It is one more top-level field, which gocryptfs
// ignores, so gocryptfs still mounts the volume; gocryptfs -passwd drops
// it, and a config without it (made by gocryptfs, by an older veilfs, or
// rewritten by gocryptfs -passwd) cannot be told from an attacker's
// deletion: the caller then falls back to checks that need no key.

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/veilfs/veilfs/cipher"
)

// formatInfo is the HKDF info of the record's MAC key: used for nothing
// else, so the MAC key is independent of every other subkey.
const formatInfo = "veilfs gocryptfs.conf format record v1"

// formatMACSize is the length of an HMAC-SHA256.
const formatMACSize = sha256.Size

var (
	// ErrNoFormatRecord means the config has no VeilfsFormat field.
	ErrNoFormatRecord = errors.New("gocryptfs.conf has no format record")
	// ErrFormatTampered means the config's format fields are not the ones
	// recorded under the master key: someone without the key changed them
	// (or the record itself). Both *FormatChangedError and a record whose
	// MAC does not verify match it.
	ErrFormatTampered = errors.New("gocryptfs.conf was changed by someone without the master key")
)

// FormatChangedError lists how the config's format fields differ from the
// authenticated record, one phrase each, for the user.
type FormatChangedError struct {
	Changes []string
}

func (e *FormatChangedError) Error() string {
	return "the format in gocryptfs.conf is not the one recorded under the volume's master key: " + strings.Join(e.Changes, "; ")
}

// Unwrap makes the error match ErrFormatTampered.
func (e *FormatChangedError) Unwrap() error { return ErrFormatTampered }

// formatRecord is the record: the format fields as SealFormat saw them.
type formatRecord struct {
	Version      int
	FeatureFlags []Flag // sorted, without FlagRotation
	LongNameMax  int
	Scrypt       cipher.ScryptParams
	EncryptedKey []byte
	FIDO2        []byte // compact JSON, nil if none
	MAC          []byte
}

// jsonFormat is the JSON form of the record; field order is key order.
type jsonFormat struct {
	Version      int
	FeatureFlags []Flag
	LongNameMax  int `json:",omitempty"`
	ScryptObject jsonScrypt
	EncryptedKey []byte
	FIDO2        json.RawMessage `json:",omitempty"`
	MAC          []byte
}

func formatFromJSON(j *jsonFormat) *formatRecord {
	if j == nil {
		return nil
	}
	r := &formatRecord{
		Version: j.Version, FeatureFlags: j.FeatureFlags, LongNameMax: j.LongNameMax,
		Scrypt: cipher.ScryptParams{
			Salt: j.ScryptObject.Salt, N: j.ScryptObject.N, R: j.ScryptObject.R,
			P: j.ScryptObject.P, KeyLen: j.ScryptObject.KeyLen,
		},
		EncryptedKey: j.EncryptedKey,
		MAC:          j.MAC,
	}
	if raw := bytes.TrimSpace(j.FIDO2); len(raw) > 0 && !bytes.Equal(raw, []byte("null")) {
		var buf bytes.Buffer
		if json.Compact(&buf, raw) == nil {
			r.FIDO2 = buf.Bytes()
		} else {
			r.FIDO2 = raw // does not match the config's then: reported by VerifyFormat
		}
	}
	return r
}

func formatToJSON(r *formatRecord) *jsonFormat {
	if r == nil {
		return nil
	}
	return &jsonFormat{
		Version: r.Version, FeatureFlags: r.FeatureFlags, LongNameMax: r.LongNameMax,
		ScryptObject: jsonScrypt{
			Salt: r.Scrypt.Salt, N: r.Scrypt.N, R: r.Scrypt.R, P: r.Scrypt.P, KeyLen: r.Scrypt.KeyLen,
		},
		EncryptedKey: r.EncryptedKey,
		FIDO2:        r.FIDO2,
		MAC:          r.MAC,
	}
}

// formatFlags returns the config's feature flags as the record keeps them:
// sorted, without duplicates (their order and repetition change nothing),
// and without FlagRotation, which is a state of the volume, not its format,
// and is set and cleared by a rotation without re-sealing.
func formatFlags(flags []Flag) []Flag {
	out := slices.DeleteFunc(slices.Clone(flags), func(fl Flag) bool { return fl == FlagRotation })
	slices.Sort(out)
	return slices.Compact(out)
}

// currentFormat is the record of f's fields as they are now, without MAC.
func (f *File) currentFormat() *formatRecord {
	return &formatRecord{
		Version:      f.Version,
		FeatureFlags: formatFlags(f.FeatureFlags),
		LongNameMax:  f.LongNameMax,
		Scrypt: cipher.ScryptParams{
			Salt: bytes.Clone(f.Scrypt.Salt), N: f.Scrypt.N, R: f.Scrypt.R, P: f.Scrypt.P, KeyLen: f.Scrypt.KeyLen,
		},
		EncryptedKey: bytes.Clone(f.EncryptedKey),
		FIDO2:        bytes.Clone(f.fido2),
	}
}

// canonical is the unambiguous byte string the MAC covers: a domain
// string, then every field in a fixed order, each integer as 8 bytes and
// each byte string and list with its length first. The content cipher is
// derived from the flags, and included too, so that a future rule that
// picks it from something else cannot slip past the MAC.
func (r *formatRecord) canonical() []byte {
	b := []byte(formatInfo)
	str := func(s []byte) {
		b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
		b = append(b, s...)
	}
	num := func(v int) { b = binary.BigEndian.AppendUint64(b, uint64(int64(v))) }
	str([]byte("Version"))
	num(r.Version)
	str([]byte("FeatureFlags"))
	num(len(r.FeatureFlags))
	for _, fl := range r.FeatureFlags {
		str([]byte(fl))
	}
	str([]byte("ContentCipher"))
	str([]byte((&File{FeatureFlags: r.FeatureFlags}).ContentAlgorithm().String()))
	str([]byte("LongNameMax"))
	num(r.LongNameMax)
	str([]byte("ScryptObject"))
	num(r.Scrypt.N)
	num(r.Scrypt.R)
	num(r.Scrypt.P)
	num(r.Scrypt.KeyLen)
	str(r.Scrypt.Salt)
	str([]byte("EncryptedKey"))
	str(r.EncryptedKey)
	str([]byte("FIDO2"))
	str(r.FIDO2)
	return b
}

// mac is HMAC-SHA256(HKDF(master, formatInfo), canonical).
func (r *formatRecord) mac(master []byte) []byte {
	key := cipher.HKDF(master, formatInfo, 32)
	defer cipher.Wipe(key)
	h := hmac.New(sha256.New, key)
	h.Write(r.canonical())
	return h.Sum(nil)
}

// HasFormatRecord reports whether the config carries a format record.
func (f *File) HasFormatRecord() bool { return f.format != nil }

// SealFormat records f's current format fields, authenticated under master.
// Every change to a recorded field made with the master key at hand must
// be followed by it (Rewrap and New do it themselves); a volume without a
// record gets one the first time veilfs saves its config with the key.
func (f *File) SealFormat(master []byte) error {
	if len(master) != cipher.MasterKeySize {
		return fmt.Errorf("seal format record: master key is %d bytes, want %d", len(master), cipher.MasterKeySize)
	}
	r := f.currentFormat()
	r.MAC = r.mac(master)
	f.format = r
	return nil
}

// VerifyFormat checks the config's format fields against the record, under
// master. It returns ErrNoFormatRecord when there is none (the caller
// decides what else to check), an error matching ErrFormatTampered when
// the record does not authenticate under master, and a *FormatChangedError
// (which matches it too) when the record authenticates but the config's
// fields differ from it.
func (f *File) VerifyFormat(master []byte) error {
	r := f.format
	if r == nil {
		return ErrNoFormatRecord
	}
	if len(master) != cipher.MasterKeySize {
		return fmt.Errorf("verify format record: master key is %d bytes, want %d", len(master), cipher.MasterKeySize)
	}
	// The record is canonicalised as the config would be, so that a record
	// whose flags someone reordered is judged by its MAC, not by its order.
	rec := *r
	rec.FeatureFlags = formatFlags(r.FeatureFlags)
	if !hmac.Equal(rec.mac(master), r.MAC) {
		return fmt.Errorf("the format record (VeilfsFormat) in gocryptfs.conf does not authenticate under the master key: "+
			"it was changed, or copied from another volume: %w", ErrFormatTampered)
	}
	if changes := rec.diff(f.currentFormat()); len(changes) > 0 {
		return &FormatChangedError{Changes: changes}
	}
	return nil
}

// diff describes how cur (the config) differs from r (the record), in
// words for the user; nil if it does not.
func (r *formatRecord) diff(cur *formatRecord) []string {
	var out []string
	for _, fl := range cur.FeatureFlags {
		if !slices.Contains(r.FeatureFlags, fl) {
			out = append(out, fmt.Sprintf("gocryptfs.conf says %s, but the volume was set up without it", fl))
		}
	}
	for _, fl := range r.FeatureFlags {
		if !slices.Contains(cur.FeatureFlags, fl) {
			out = append(out, fmt.Sprintf("gocryptfs.conf lacks %s, but the volume was set up with it", fl))
		}
	}
	num := func(name string, got, want int) {
		if got != want {
			out = append(out, fmt.Sprintf("gocryptfs.conf says %s %d, but the volume was set up with %d", name, got, want))
		}
	}
	num("Version", cur.Version, r.Version)
	num("LongNameMax", cur.LongNameMax, r.LongNameMax)
	num("scrypt N", cur.Scrypt.N, r.Scrypt.N)
	num("scrypt r", cur.Scrypt.R, r.Scrypt.R)
	num("scrypt p", cur.Scrypt.P, r.Scrypt.P)
	num("scrypt KeyLen", cur.Scrypt.KeyLen, r.Scrypt.KeyLen)
	bin := func(what string, got, want []byte) {
		if !bytes.Equal(got, want) {
			out = append(out, fmt.Sprintf("its %s differs from the one recorded", what))
		}
	}
	bin("scrypt salt", cur.Scrypt.Salt, r.Scrypt.Salt)
	bin("wrapped master key (EncryptedKey)", cur.EncryptedKey, r.EncryptedKey)
	bin("FIDO2 object", cur.FIDO2, r.FIDO2)
	return out
}

// validateFormat checks the record's structure (part of Validate); its
// content is checked by VerifyFormat, which needs the key.
func (f *File) validateFormat() error {
	if f.format != nil && len(f.format.MAC) != formatMACSize {
		return fmt.Errorf("invalid config: VeilfsFormat's MAC is %d bytes, want %d", len(f.format.MAC), formatMACSize)
	}
	return nil
}

package config

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"syscall"

	"github.com/veilfs/veilfs/cipher"
)

// Filename is the config file's name in the root of a cipherdir (FORMAT §1).
const Filename = "gocryptfs.conf"

// ReverseFilename is the config file of a reverse-mode volume, in the root
// of the plaintext directory it encrypts (FORMAT §10). The reverse view
// shows it as Filename.
const ReverseFilename = ".gocryptfs.reverse.conf"

const (
	// formatVersion is the only on-disk format version (FORMAT §2.1 rule 2).
	formatVersion = 2
	// maxPasswordLen is gocryptfs's limit on password length (FORMAT §2.2).
	maxPasswordLen = 2048
	// MinLongNameMax and MaxLongNameMax bound the long-name threshold
	// (FORMAT §5.4, §11): a hashed name is 62 characters, and the default
	// 255 is never written. nametransform has the same bounds for the names
	// themselves; a test in fs/cipherdir keeps the two in step, as this
	// package does not import the name layer.
	MinLongNameMax     = 62
	MaxLongNameMax     = 255
	defaultLongNameMax = MaxLongNameMax
	defaultCreator     = "veilfs"
)

var (
	// ErrWrongPassword means the password did not unwrap the master key
	// (FORMAT §2.3: a tag mismatch).
	ErrWrongPassword = errors.New("wrong password")
	// ErrEmptyPassword: gocryptfs refuses empty passwords (FORMAT §2.2).
	ErrEmptyPassword = errors.New("empty password")
	// ErrPasswordTooLong: gocryptfs refuses passwords over 2048 bytes (FORMAT §2.2).
	ErrPasswordTooLong = errors.New("password longer than 2048 bytes")
)

// File is a parsed gocryptfs.conf (FORMAT §2.1).
type File struct {
	Creator      string
	EncryptedKey []byte
	Scrypt       cipher.ScryptParams
	Version      int
	FeatureFlags []Flag
	LongNameMax  int // 0 if unset

	// fido2 is the FIDO2 object as compact JSON, nil if absent. It is kept
	// opaque so that Marshal reproduces a FIDO2 volume's config.
	fido2 []byte

	// unlockers are veilfs's extra unlockers (unlockers.go), nil if none.
	unlockers []unlocker

	// format is the authenticated record of the format fields (format.go),
	// nil if the config has none.
	format *formatRecord
}

// jsonFile mirrors gocryptfs's ConfFile struct: the field order here is the
// key order in the file, and encoding/json's MarshalIndent with a TAB is
// exactly what gocryptfs runs, so Marshal reproduces its bytes (including
// its HTML escaping of <, > and & in strings).
type jsonFile struct {
	Creator      string
	EncryptedKey []byte
	ScryptObject jsonScrypt
	Version      int
	FeatureFlags []Flag
	FIDO2        json.RawMessage `json:",omitempty"`
	LongNameMax  int             `json:",omitempty"`
	// VeilfsUnlockers is veilfs's own (unlockers.go): gocryptfs ignores an
	// unknown key, and omitting it when empty keeps gocryptfs's bytes.
	VeilfsUnlockers []jsonUnlocker `json:",omitempty"`
	// VeilfsFormat is veilfs's record of the format fields, with a MAC
	// under a key derived from the master key (format.go).
	VeilfsFormat *jsonFormat `json:",omitempty"`
}

type jsonScrypt struct {
	Salt   []byte
	N      int
	R      int
	P      int
	KeyLen int
}

// CreateOptions are the format choices made when a volume is created.
type CreateOptions struct {
	PlaintextNames, DeterministicNames, AESSIV, XChaCha bool
	LongNameMax                                         int    // 0 = default 255
	LogN                                                int    // 0 = cipher.DefaultScryptLogN
	Creator                                             string // e.g. "veilfs v0.1.0"; "" = "veilfs"
}

func checkPassword(password []byte) error {
	switch {
	case len(password) == 0:
		return ErrEmptyPassword
	case len(password) > maxPasswordLen:
		return ErrPasswordTooLong
	}
	return nil
}

// Create draws a new master key and returns the config of a new volume
// holding it wrapped with password, and the key, which the caller wipes.
func Create(password []byte, opts CreateOptions) (*File, []byte, error) {
	master := make([]byte, cipher.MasterKeySize)
	rand.Read(master) // never fails since Go 1.24
	conf, err := New(master, password, opts)
	if err != nil {
		cipher.Wipe(master)
		return nil, nil, err
	}
	return conf, master, nil
}

// New returns the config of a new volume holding master wrapped with
// password. The feature flags are exactly gocryptfs 2.x -init's, in its
// order (FORMAT §2.1 table).
func New(master, password []byte, opts CreateOptions) (*File, error) {
	if err := checkPassword(password); err != nil {
		return nil, fmt.Errorf("create config: %w", err)
	}
	if len(master) != cipher.MasterKeySize {
		return nil, fmt.Errorf("create config: master key is %d bytes, want %d", len(master), cipher.MasterKeySize)
	}
	if opts.AESSIV && opts.XChaCha {
		return nil, errors.New("create config: AES-SIV and XChaCha20-Poly1305 are mutually exclusive")
	}
	lnm := opts.LongNameMax
	if lnm == defaultLongNameMax {
		lnm = 0 // 255 is the default and is not stored, as in gocryptfs
	}
	if lnm != 0 && (lnm < MinLongNameMax || lnm > defaultLongNameMax) {
		return nil, fmt.Errorf("create config: long name threshold %d out of range %d..%d", opts.LongNameMax, MinLongNameMax, defaultLongNameMax)
	}
	if opts.PlaintextNames && (opts.DeterministicNames || lnm != 0) {
		return nil, errors.New("create config: plaintext names cannot be combined with deterministic names or a long name threshold")
	}
	f := &File{Creator: opts.Creator, Version: formatVersion, LongNameMax: lnm}
	if f.Creator == "" {
		f.Creator = defaultCreator
	}
	// Same order as gocryptfs configfile.Create.
	f.FeatureFlags = append(f.FeatureFlags, FlagHKDF)
	if opts.XChaCha {
		f.FeatureFlags = append(f.FeatureFlags, FlagXChaCha20Poly1305)
	} else {
		f.FeatureFlags = append(f.FeatureFlags, FlagGCMIV128)
	}
	if opts.PlaintextNames {
		f.FeatureFlags = append(f.FeatureFlags, FlagPlaintextNames)
	} else {
		if !opts.DeterministicNames {
			f.FeatureFlags = append(f.FeatureFlags, FlagDirIV)
		}
		if lnm != 0 {
			f.FeatureFlags = append(f.FeatureFlags, FlagLongNameMax)
		}
		f.FeatureFlags = append(f.FeatureFlags, FlagEMENames, FlagLongNames, FlagRaw64)
	}
	if opts.AESSIV {
		f.FeatureFlags = append(f.FeatureFlags, FlagAESSIV)
	}
	logN := opts.LogN
	if logN == 0 {
		logN = cipher.DefaultScryptLogN
	}
	if err := f.wrap(master, password, logN); err != nil {
		return nil, fmt.Errorf("create config: %w", err)
	}
	if err := f.SealFormat(master); err != nil {
		return nil, fmt.Errorf("create config: %w", err)
	}
	if err := f.Validate(); err != nil {
		panic("config: internal error: New built an invalid config: " + err.Error())
	}
	return f, nil
}

// wrap sets Scrypt and EncryptedKey for master under password with a new
// salt and nonce, after checking that the result unwraps (restic's
// add-then-verify order, in memory). f is changed only on success.
func (f *File) wrap(master, password []byte, logN int) error {
	p := cipher.NewScryptParams(logN)
	kek, err := p.DeriveKEK(password)
	if err != nil {
		return err
	}
	defer cipher.Wipe(kek)
	wrapped := cipher.WrapMasterKey(kek, master)
	check, err := cipher.UnwrapMasterKey(kek, wrapped)
	if err != nil || !bytes.Equal(check, master) {
		panic("config: internal error: wrapped master key does not unwrap")
	}
	cipher.Wipe(check)
	f.Scrypt, f.EncryptedKey = p, wrapped
	return nil
}

// Parse decodes a gocryptfs.conf and validates it (FORMAT §2.1). Like
// gocryptfs, keys match case-insensitively and unknown keys are ignored.
func Parse(data []byte) (*File, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errors.New("parse config: file is empty")
	}
	var j jsonFile
	if err := json.Unmarshal(data, &j); err != nil {
		return nil, fmt.Errorf("parse config: %w", err)
	}
	f := &File{
		Creator:      j.Creator,
		EncryptedKey: j.EncryptedKey,
		Scrypt: cipher.ScryptParams{
			Salt: j.ScryptObject.Salt, N: j.ScryptObject.N, R: j.ScryptObject.R,
			P: j.ScryptObject.P, KeyLen: j.ScryptObject.KeyLen,
		},
		Version:      j.Version,
		FeatureFlags: j.FeatureFlags,
		LongNameMax:  j.LongNameMax,
		unlockers:    unlockersFromJSON(j.VeilfsUnlockers),
		format:       formatFromJSON(j.VeilfsFormat),
	}
	if raw := bytes.TrimSpace(j.FIDO2); len(raw) > 0 && !bytes.Equal(raw, []byte("null")) {
		if raw[0] != '{' {
			return nil, errors.New("parse config: FIDO2 is not a JSON object")
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, raw); err != nil {
			return nil, fmt.Errorf("parse config: FIDO2: %w", err)
		}
		f.fido2 = buf.Bytes()
	}
	if err := f.Validate(); err != nil {
		return nil, err
	}
	return f, nil
}

// Load reads and parses the config file at path.
func Load(path string) (*File, error) {
	data, err := readRegular(path)
	if err != nil {
		return nil, fmt.Errorf("load config: %w", err)
	}
	f, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("load config %s: %w", path, err)
	}
	return f, nil
}

// Validate applies every rule of FORMAT §2.1 "Validation" (1 is Parse's),
// including our SHOULDs: EMENames is required unless PlaintextNames (rule 6)
// and HKDF is required (rule 7). It also requires a 64-byte EncryptedKey
// (§2.3) and LongNameMax in 62..255 when set (§5.4), and checks the
// structure of veilfs's extra unlockers (unlockers.go).
func (f *File) Validate() error {
	// Rule 2.
	if f.Version != formatVersion {
		return fmt.Errorf("invalid config: %w", &VersionError{Version: f.Version})
	}
	// Rule 3.
	if err := f.Scrypt.Validate(); err != nil {
		return fmt.Errorf("invalid config: %w", err)
	}
	// Rule 4.
	for _, fl := range f.FeatureFlags {
		if !fl.known() {
			return fmt.Errorf("invalid config: %w", &UnsupportedFeatureError{Flag: string(fl)})
		}
	}
	// Rule 5: content cipher consistency.
	siv, xc, gcm128 := f.Has(FlagAESSIV), f.Has(FlagXChaCha20Poly1305), f.Has(FlagGCMIV128)
	switch {
	case siv && xc:
		return errors.New("invalid config: feature flags AESSIV and XChaCha20Poly1305 conflict")
	case siv && !gcm128:
		return errors.New("invalid config: feature flag AESSIV requires GCMIV128")
	case xc && gcm128:
		return errors.New("invalid config: feature flag XChaCha20Poly1305 conflicts with GCMIV128")
	case xc && !f.Has(FlagHKDF):
		return errors.New("invalid config: feature flag XChaCha20Poly1305 requires HKDF")
	case !siv && !xc && !gcm128:
		return errors.New("invalid config: AES-GCM content requires feature flag GCMIV128")
	}
	// Rule 6: name consistency.
	if f.Has(FlagPlaintextNames) {
		for _, fl := range []Flag{FlagEMENames, FlagDirIV, FlagLongNames, FlagRaw64, FlagLongNameMax} {
			if f.Has(fl) {
				return fmt.Errorf("invalid config: feature flags PlaintextNames and %s conflict", fl)
			}
		}
	} else if !f.Has(FlagEMENames) {
		return errors.New("invalid config: encrypted names require feature flag EMENames (older name schemes are not supported)")
	}
	if f.Has(FlagLongNameMax) != (f.LongNameMax != 0) {
		return fmt.Errorf("invalid config: feature flag LongNameMax and field LongNameMax=%d disagree", f.LongNameMax)
	}
	if f.LongNameMax != 0 && (f.LongNameMax < MinLongNameMax || f.LongNameMax > defaultLongNameMax) {
		return fmt.Errorf("invalid config: LongNameMax=%d out of range %d..%d", f.LongNameMax, MinLongNameMax, defaultLongNameMax)
	}
	// Rule 7.
	if !f.Has(FlagHKDF) {
		return errors.New("invalid config: feature flag HKDF missing (volume made by gocryptfs 1.2 or older); not supported")
	}
	if len(f.EncryptedKey) != cipher.WrappedKeySize {
		return fmt.Errorf("invalid config: EncryptedKey is %d bytes, want %d", len(f.EncryptedKey), cipher.WrappedKeySize)
	}
	if err := f.validateFormat(); err != nil {
		return err
	}
	return f.validateUnlockers()
}

// Has reports whether flag is in FeatureFlags.
func (f *File) Has(flag Flag) bool {
	return slices.Contains(f.FeatureFlags, flag)
}

// ContentAlgorithm returns the content cipher the flags select (FORMAT §11):
// XChaCha20Poly1305, else AESSIV, else AES-GCM.
func (f *File) ContentAlgorithm() cipher.Algorithm {
	switch {
	case f.Has(FlagXChaCha20Poly1305):
		return cipher.XChaCha20Poly1305
	case f.Has(FlagAESSIV):
		return cipher.AESSIV
	}
	return cipher.AESGCM
}

// UnlockMasterKey derives the KEK from password and unwraps the master key
// (FORMAT §2.2, §2.3). A wrong password returns an error wrapping
// ErrWrongPassword. FIDO2 volumes return an *UnsupportedFeatureError.
func (f *File) UnlockMasterKey(password []byte) ([]byte, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	if f.Has(FlagFIDO2) {
		return nil, fmt.Errorf("unlock master key: %w", &UnsupportedFeatureError{Flag: string(FlagFIDO2)})
	}
	if err := checkPassword(password); err != nil {
		return nil, fmt.Errorf("unlock master key: %w", err)
	}
	kek, err := f.Scrypt.DeriveKEK(password)
	if err != nil {
		return nil, fmt.Errorf("unlock master key: %w", err)
	}
	defer cipher.Wipe(kek)
	mk, err := cipher.UnwrapMasterKey(kek, f.EncryptedKey)
	if errors.Is(err, cipher.ErrAuthFailed) {
		return nil, fmt.Errorf("unlock master key: %w", ErrWrongPassword)
	}
	if err != nil {
		return nil, err
	}
	return mk, nil
}

// Rewrap replaces the password: the master key is wrapped again with a new
// random salt and nonce (FORMAT §2.4). logN 0 keeps the current scrypt cost.
// The master key, and so all data, is unchanged. The format record is
// sealed again (format.go). f is modified only on success; the caller then
// Saves it.
func (f *File) Rewrap(master, newPassword []byte, logN int) error {
	if f.Has(FlagFIDO2) {
		return fmt.Errorf("change password: %w", &UnsupportedFeatureError{Flag: string(FlagFIDO2)})
	}
	if err := checkPassword(newPassword); err != nil {
		return fmt.Errorf("change password: %w", err)
	}
	if len(master) != cipher.MasterKeySize {
		return fmt.Errorf("change password: master key is %d bytes, want %d", len(master), cipher.MasterKeySize)
	}
	if logN == 0 {
		logN = f.Scrypt.LogN()
	}
	if err := f.wrap(master, newPassword, logN); err != nil {
		return fmt.Errorf("change password: %w", err)
	}
	// The record covers the salt, the scrypt cost and the wrapped key,
	// which just changed; this also gives a record to a config that had
	// none (made by gocryptfs or an older veilfs).
	return f.SealFormat(master)
}

// Marshal returns the config in gocryptfs's exact layout: keys in its order,
// one TAB per indentation level, a trailing newline (FORMAT §2.1).
func (f *File) Marshal() []byte {
	j := jsonFile{
		Creator:      f.Creator,
		EncryptedKey: f.EncryptedKey,
		ScryptObject: jsonScrypt{
			Salt: f.Scrypt.Salt, N: f.Scrypt.N, R: f.Scrypt.R, P: f.Scrypt.P, KeyLen: f.Scrypt.KeyLen,
		},
		Version:         f.Version,
		FeatureFlags:    f.FeatureFlags,
		FIDO2:           f.fido2,
		LongNameMax:     f.LongNameMax,
		VeilfsUnlockers: unlockersToJSON(f.unlockers),
		VeilfsFormat:    formatToJSON(f.format),
	}
	out, err := json.MarshalIndent(&j, "", "\t")
	if err != nil {
		panic("config: internal error: marshal: " + err.Error())
	}
	return append(out, '\n')
}

// maxConfigSize bounds what Load reads: a real config is under 1 KiB.
const maxConfigSize = 64 << 10

// readRegular reads a config file that must be a regular file of sane
// size. Whoever controls a synced CIPHERDIR could put a FIFO or a device
// there; O_NONBLOCK keeps the open from waiting for a writer, and the
// check refuses to read from anything but a file. A symlink is followed:
// keeping the config outside the synced folder is a reasonable setup.
func readRegular(path string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file (%s)", path, fi.Mode().Type())
	}
	if fi.Size() > maxConfigSize {
		return nil, fmt.Errorf("%s is %d bytes, far more than a config file", path, fi.Size())
	}
	return io.ReadAll(io.LimitReader(f, maxConfigSize+1))
}

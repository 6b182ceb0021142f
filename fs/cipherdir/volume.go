package cipherdir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/veilfs/veilfs/cipher"
	"github.com/veilfs/veilfs/cipher/config"
	"github.com/veilfs/veilfs/nametransform"
)

// ErrNotEmpty is returned by Init when CIPHERDIR already holds files.
var ErrNotEmpty = errors.New("directory is not empty")

// Volume is an unlocked CIPHERDIR: the parsed config and the keys derived
// from the master key. It is safe for concurrent use.
type Volume struct {
	// Dir is the absolute path of CIPHERDIR.
	Dir    string
	Config *config.File

	Content *cipher.Content
	// Names encrypts file names (unless PlaintextNames) and, in every mode,
	// xattr names (FORMAT §7).
	Names *nametransform.Transform

	PlaintextNames bool
	// DirIV is true when every directory carries its own gocryptfs.diriv;
	// false means the all-zero IV of -deterministic-names (FORMAT §5.1).
	DirIV bool

	// LongNames, if set, is told every full encrypted long name read from
	// or written to a sidecar, and gives back one whose sidecar a sync
	// client lost (sidecars.go). Set it before the volume is used.
	LongNames LongNameMemory
}

// Init creates a new volume in dir: it creates dir if missing, refuses a
// non-empty dir, draws a master key, writes gocryptfs.conf (mode 0400) and
// the root gocryptfs.diriv. It returns the master key so that the caller can
// show it to the user once; the caller wipes it.
func Init(dir string, password []byte, opts config.CreateOptions) ([]byte, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create %s: %w", dir, err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", dir, err)
	}
	if len(entries) > 0 {
		return nil, fmt.Errorf("init %s: %w", dir, ErrNotEmpty)
	}
	conf, master, err := config.Create(password, opts)
	if err != nil {
		return nil, err
	}
	if !conf.Has(config.FlagPlaintextNames) && conf.Has(config.FlagDirIV) {
		if err := writeRootDirIV(dir); err != nil {
			cipher.Wipe(master)
			return nil, err
		}
	}
	// The config goes last: a directory with a config is a volume, so a
	// crash before this point leaves at most a stray IV file.
	if err := conf.Save(filepath.Join(dir, config.Filename)); err != nil {
		cipher.Wipe(master)
		return nil, err
	}
	return master, nil
}

func writeRootDirIV(dir string) error {
	fd, err := openDirPath(dir)
	if err != nil {
		return err
	}
	defer closeFD(fd)
	if err := WriteDirIV(fd); err != nil {
		return err
	}
	// Durable before the config that makes dir a volume is written.
	return (&Volume{DirIV: true}).SyncDirIV(fd)
}

// LoadConfig reads and validates CIPHERDIR/gocryptfs.conf.
func LoadConfig(dir string) (*config.File, error) {
	return config.Load(filepath.Join(dir, config.Filename))
}

// Open unlocks the volume in dir with a password. A wrong password gives an
// error that matches config.ErrWrongPassword.
func Open(dir string, password []byte) (*Volume, error) {
	conf, err := LoadConfig(dir)
	if err != nil {
		return nil, err
	}
	master, err := conf.UnlockMasterKey(password)
	if err != nil {
		return nil, err
	}
	defer cipher.Wipe(master)
	return newVolume(dir, conf, master)
}

// OpenWithMasterKey unlocks the volume in dir with its master key. The
// format options still come from gocryptfs.conf, which must exist.
func OpenWithMasterKey(dir string, master []byte) (*Volume, error) {
	if len(master) != cipher.MasterKeySize {
		return nil, fmt.Errorf("master key has %d bytes, want %d", len(master), cipher.MasterKeySize)
	}
	conf, err := LoadConfig(dir)
	if err != nil {
		return nil, err
	}
	return newVolume(dir, conf, master)
}

// newVolume derives every subkey from master; master itself is not kept.
func newVolume(dir string, conf *config.File, master []byte) (*Volume, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("resolve %s: %w", dir, err)
	}
	content, err := cipher.NewContent(master, conf.ContentAlgorithm())
	if err != nil {
		return nil, fmt.Errorf("set up content cipher: %w", err)
	}
	nameKey := cipher.NameKey(master)
	defer cipher.Wipe(nameKey)
	names, err := nametransform.New(nameKey, nametransform.Options{
		Raw64:       conf.Has(config.FlagRaw64),
		LongNameMax: conf.LongNameMax,
	})
	if err != nil {
		content.Wipe()
		return nil, fmt.Errorf("set up name cipher: %w", err)
	}
	return &Volume{
		Dir:            abs,
		Config:         conf,
		Content:        content,
		Names:          names,
		PlaintextNames: conf.Has(config.FlagPlaintextNames),
		DirIV:          conf.Has(config.FlagDirIV),
	}, nil
}

// Wipe overwrites the key material the volume holds. Best effort: the AES
// key schedules inside the standard library cannot be reached.
func (v *Volume) Wipe() {
	v.Content.Wipe()
}

// OpenWithConfig unlocks the volume in dir with master under conf, which
// need not be the config on disk: a key rotation works with the old and
// the new volume side by side.
func OpenWithConfig(dir string, conf *config.File, master []byte) (*Volume, error) {
	if len(master) != cipher.MasterKeySize {
		return nil, fmt.Errorf("master key has %d bytes, want %d", len(master), cipher.MasterKeySize)
	}
	if err := conf.Validate(); err != nil {
		return nil, err
	}
	return newVolume(dir, conf, master)
}

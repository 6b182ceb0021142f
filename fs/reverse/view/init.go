package view

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/cipher"
	"github.com/veilfs/veilfs/cipher/config"
	"github.com/veilfs/veilfs/fs/cipherdir"
)

// ErrExists is returned by Init when the directory already
// has a reverse config: a second one would replace the master key, and
// every backup made of the view so far would no longer match it.
var ErrExists = errors.New("it is a reverse volume already")

// ErrForwardVolume is returned by Init for a directory that holds a
// gocryptfs.conf: it is the CIPHERDIR of a forward volume, and since
// gocryptfs.conf wins over .gocryptfs.reverse.conf wherever veilfs looks
// for a config, the reverse volume could never be opened.
var ErrForwardVolume = errors.New("it holds " + config.Filename + ": it is the CIPHERDIR of a volume")

// ErrNeedsSIV is returned by Init when XChaCha20-Poly1305 is
// asked for: reverse mode derives its nonces from paths, so the same nonce
// seals every version of a file, which only AES-SIV tolerates (FORMAT §10).
var ErrNeedsSIV = errors.New("reverse mode needs AES-SIV content encryption")

// Init makes the existing directory dir a reverse volume, as
// gocryptfs -init -reverse does: it draws a master key and writes
// dir/.gocryptfs.reverse.conf (mode 0400, crash-safely, config.File.Save).
// dir keeps its files, and no gocryptfs.diriv is written: the view derives
// every IV from paths. AES-SIV is implied; opts.AESSIV need not be set.
// It returns the master key so that the caller can show it once; the
// caller wipes it.
func Init(dir string, password []byte, opts config.CreateOptions) ([]byte, error) {
	if opts.XChaCha {
		return nil, fmt.Errorf("init reverse volume %s: %w", dir, ErrNeedsSIV)
	}
	opts.AESSIV = true
	fi, err := os.Stat(dir)
	switch {
	case err != nil:
		return nil, fmt.Errorf("init reverse volume: %w", err)
	case !fi.IsDir():
		return nil, fmt.Errorf("init reverse volume %s: %w", dir, unix.ENOTDIR)
	}
	path := cipherdir.ReverseConfigPath(dir)
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		if err != nil {
			return nil, fmt.Errorf("init reverse volume %s: %w", dir, err)
		}
		return nil, fmt.Errorf("init reverse volume %s: %w", dir, ErrExists)
	}
	if _, err := os.Lstat(filepath.Join(dir, config.Filename)); !errors.Is(err, os.ErrNotExist) {
		if err != nil {
			return nil, fmt.Errorf("init reverse volume %s: %w", dir, err)
		}
		return nil, fmt.Errorf("init reverse volume %s: %w", dir, ErrForwardVolume)
	}
	conf, master, err := config.Create(password, opts)
	if err != nil {
		return nil, err
	}
	// Between the check above and the rename in Save another init could
	// write the file; as for Init's emptiness check, that race needs two
	// inits of one directory at once and is not guarded against.
	if err := conf.Save(path); err != nil {
		cipher.Wipe(master)
		return nil, err
	}
	return master, nil
}

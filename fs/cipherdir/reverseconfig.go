package cipherdir

import (
	"errors"
	"os"
	"path/filepath"

	"github.com/veilfs/veilfs/cipher/config"
)

// Which kind of volume a directory is, by the config it holds: a forward
// volume's CIPHERDIR has gocryptfs.conf, a reverse volume's PLAINDIR has
// .gocryptfs.reverse.conf. Every command looks for them in that order.

// ReverseConfigPath is where the config of the reverse volume of dir is.
func ReverseConfigPath(dir string) string {
	return filepath.Join(dir, config.ReverseFilename)
}

// IsReverseDir reports whether dir is a reverse volume: it has a
// .gocryptfs.reverse.conf and no gocryptfs.conf, the same precedence as
// the commands use to find a config.
func IsReverseDir(dir string) bool {
	if _, err := os.Lstat(filepath.Join(dir, config.Filename)); !errors.Is(err, os.ErrNotExist) {
		return false
	}
	_, err := os.Lstat(ReverseConfigPath(dir))
	return err == nil
}

package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/veilfs/veilfs/cipher/config"
)

// absPath makes a command-line path absolute, so that messages name it
// unambiguously and the mount daemon, which runs in "/", finds it.
func absPath(p string) (string, error) {
	a, err := filepath.Abs(p)
	if err != nil {
		return "", fail(errUsage, fmt.Errorf("resolve path %q: %w", p, err))
	}
	return a, nil
}

// checkCipherDir checks that dir exists and is a directory.
func checkCipherDir(dir string) error {
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return failf(errCipherDir, []string{"to create a new volume there, run: veilfs init " + dir},
			"CIPHERDIR %s does not exist", dir)
	case err != nil:
		return fail(errCipherDir, fmt.Errorf("CIPHERDIR %w", err))
	case !fi.IsDir():
		return failf(errCipherDir, nil, "CIPHERDIR %s is not a directory", dir)
	}
	return nil
}

// loadConfig checks dir and loads its gocryptfs.conf, before any password is
// asked for, so that a wrong directory is reported at once. A volume in the
// middle of a key rotation is refused: only rotate may touch it.
func loadConfig(dir string) (*config.File, string, error) {
	f, path, err := readConfig(dir)
	if err == nil && f.Rotating() {
		return nil, "", failf(errRotating, []string{"run 'veilfs rotate " + dir + "' with the same password to finish it; nothing is lost"},
			"a master-key rotation of %s was interrupted; the volume cannot be used until it is finished", dir)
	}
	return f, path, err
}

// readConfig is loadConfig without the rotation check. A directory with no
// gocryptfs.conf but a .gocryptfs.reverse.conf is a reverse volume: its
// config is returned (isReverse tells), so that the commands that only
// deal with the config (passwd, keys, info, path) work on it as well.
func readConfig(dir string) (*config.File, string, error) {
	if err := checkCipherDir(dir); err != nil {
		return nil, "", err
	}
	path := filepath.Join(dir, config.Filename)
	if _, err := os.Lstat(path); errors.Is(err, os.ErrNotExist) {
		if rev := filepath.Join(dir, config.ReverseFilename); fileExists(rev) {
			path = rev
		}
	}
	return readConfigFile(dir, path)
}

// readConfigFile loads the config at path, of the volume in dir.
func readConfigFile(dir, path string) (*config.File, string, error) {
	f, err := config.Load(path)
	var verr *config.VersionError
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil, "", failf(errOpenConf, []string{"to create a new volume there, run: veilfs init " + dir},
			"%s is not a veilfs/gocryptfs volume: it has no %s", dir, config.Filename)
	case errors.As(err, &verr) && verr.Newer():
		return nil, "", fail(errOpenConf, err, "a newer veilfs or gocryptfs made this volume: upgrade veilfs to open it")
	case errors.As(err, &verr):
		return nil, "", fail(errOpenConf, err, "gocryptfs 1.x volumes are not supported: open it with gocryptfs 1.x, or copy the files into a new volume")
	case isUnsupportedFeature(err):
		return nil, "", fail(errOpenConf, err, "a newer veilfs, or gocryptfs, may be able to open this volume")
	case err != nil:
		return nil, "", fail(errOpenConf, err) // names the file already
	}
	return f, path, nil
}

// isReverse reports whether configPath, as readConfig returned it, is the
// config of a reverse volume.
func isReverse(configPath string) bool {
	return filepath.Base(configPath) == config.ReverseFilename
}

func fileExists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

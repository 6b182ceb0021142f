package main

import (
	"crypto/aes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/pflag"

	"github.com/veilfs/veilfs/cipher/config"
	"github.com/veilfs/veilfs/fs/cipherdir"
	"github.com/veilfs/veilfs/nametransform"
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

// addReverseFlag defines --reverse for the commands that work on a
// volume's config without mounting it (info, passwd, keys, path, ls).
func addReverseFlag(fs *pflag.FlagSet) *bool {
	return fs.Bool("reverse", false, "the directory is a reverse volume's PLAINDIR: use its "+config.ReverseFilename)
}

// loadConfig checks dir and loads its config, before any password is
// asked for, so that a wrong directory is reported at once (see
// readConfig for which config). A volume in the middle of a key rotation
// is refused: only rotate may touch it.
func loadConfig(dir string, reverse bool, warn io.Writer) (*config.File, string, error) {
	f, path, err := readConfig(dir, reverse, warn)
	if err == nil && f.Rotating() {
		return nil, "", failf(errRotating, []string{"run 'veilfs rotate " + dir + "' to finish it, with the password it sets (the new one, if it was given --new-passfile); nothing is lost"},
			"a master-key rotation of %s was interrupted; the volume cannot be used until it is finished", dir)
	}
	return f, path, err
}

// readConfig is loadConfig without the rotation check. With reverse it
// reads the reverse volume's PLAINDIR/.gocryptfs.reverse.conf. Without,
// it reads gocryptfs.conf, as gocryptfs does; a directory that has only a
// .gocryptfs.reverse.conf is the reverse volume it says it is, so that
// passwd, keys, info and path work on it without --reverse (isReverse
// tells from the path returned). A directory with both is either a
// reverse volume's PLAINDIR with a gocryptfs.conf among its plaintext
// files or a volume whose CIPHERDIR was also made a PLAINDIR: the user is
// told which one is used and how to get the other, before a command
// rewrites the wrong file; warn gets that warning.
func readConfig(dir string, reverse bool, warn io.Writer) (*config.File, string, error) {
	if reverse {
		return readReverseConfig(dir)
	}
	if err := checkCipherDir(dir); err != nil {
		return nil, "", err
	}
	return readConfigFile(dir, forwardConfigPath(dir, warn))
}

// forwardConfigPath is the config readConfig reads in dir without
// --reverse: gocryptfs.conf, or .gocryptfs.reverse.conf when that is the
// only one; when dir has both, it warns that it takes gocryptfs.conf.
func forwardConfigPath(dir string, warn io.Writer) string {
	path := filepath.Join(dir, config.Filename)
	rev := filepath.Join(dir, config.ReverseFilename)
	switch forward := fileExists(path); {
	case !forward && fileExists(rev):
		path = rev
	case forward && fileExists(rev):
		warningf(warn, "%s has both a %s and a %s; using %s", dir, config.Filename, config.ReverseFilename, config.Filename)
		hintf(warn, "for the reverse volume whose plaintext %s holds, add --reverse", dir)
	}
	return path
}

// readsReverseConfig reports whether readConfig(dir, reverse, ...) reads a
// reverse volume's config, for the checks that must come before it.
func readsReverseConfig(dir string, reverse bool) bool {
	return reverse || cipherdir.IsReverseDir(dir)
}

// readReverseConfig reads the .gocryptfs.reverse.conf of PLAINDIR dir,
// with errors that say what dir is instead when it is not one.
func readReverseConfig(dir string) (*config.File, string, error) {
	hint := []string{"give the plaintext directory that 'veilfs init --reverse' prepared"}
	if fi, err := os.Stat(dir); err != nil {
		return nil, "", fail(errCipherDir, fmt.Errorf("PLAINDIR %w", err), hint...)
	} else if !fi.IsDir() {
		return nil, "", failf(errCipherDir, hint, "PLAINDIR %s is not a directory", dir)
	}
	path := filepath.Join(dir, config.ReverseFilename)
	if !fileExists(path) {
		if fileExists(filepath.Join(dir, config.Filename)) {
			return nil, "", failf(errOpenConf, []string{"leave out --reverse to use it"},
				"%s is an encrypted volume (it has %s), not a plaintext directory prepared for reverse mode", dir, config.Filename)
		}
		return nil, "", failf(errOpenConf, []string{"prepare it first: veilfs init --reverse " + dir},
			"%s is not prepared for reverse mode: it has no %s", dir, config.ReverseFilename)
	}
	return readConfigFile(dir, path)
}

// readConfigFile loads the config at path, of the volume in dir.
func readConfigFile(dir, path string) (*config.File, string, error) {
	f, err := config.Load(path)
	if err != nil {
		return nil, "", configLoadError(dir, path, err)
	}
	return f, path, nil
}

// configLoadError is what the user is told (exit code 23) when
// config.Load(path) failed with err, path being dir's config.
func configLoadError(dir, path string, err error) error {
	var verr *config.VersionError
	switch {
	case errors.Is(err, os.ErrNotExist):
		return missingConfig(dir)
	case errors.As(err, &verr) && verr.Newer():
		return fail(errOpenConf, err, "a newer veilfs or gocryptfs made this volume: upgrade veilfs to open it")
	case errors.As(err, &verr):
		return fail(errOpenConf, err, "gocryptfs 1.x volumes are not supported: open it with gocryptfs 1.x, or copy the files into a new volume")
	case isUnsupportedFeature(err):
		return fail(errOpenConf, err, "a newer veilfs, or gocryptfs, may be able to open this volume")
	case filepath.Base(path) == config.Filename:
		return fail(errOpenConf, err, // names the file already
			"restore "+config.Filename+" from a backup, or from your sync service's version history",
			"without one, the master key opens the volume: veilfs mount --masterkey-file FILE "+dir+" MOUNTPOINT; "+
				"veilfs init --masterkey-file FILE "+dir+" writes a new "+config.Filename+" (add init's format options if it was given any)")
	}
	return fail(errOpenConf, err) // names the file already
}

// missingConfig is the error for a directory without gocryptfs.conf. What
// to do depends on what the directory holds: an empty one can become a
// volume; one with a gocryptfs.diriv or encrypted names is a volume that
// lost its config, which only the master key (or a backup of the config)
// opens again, and where init, which needs an empty directory, must not be
// suggested; anything else is simply not a volume.
func missingConfig(dir string) error {
	names, _ := readDirNames(dir)
	switch {
	case len(names) == 0:
		return failf(errOpenConf, []string{"to create a new volume there, run: veilfs init " + dir},
			"%s is not a veilfs/gocryptfs volume: it has no %s", dir, config.Filename)
	case looksLikeVolume(names):
		return failf(errOpenConf, []string{
			"restore " + config.Filename + " from a backup, or from your sync service's version history",
			"without one, the master key that init printed still opens the files: veilfs mount --masterkey-file FILE " + dir + " MOUNTPOINT; " +
				"veilfs init --masterkey-file FILE " + dir + " writes a new " + config.Filename + " (add init's format options if it was given any)",
		}, "%s has no %s, but looks like a veilfs/gocryptfs volume (it has a %s or encrypted names): its config was deleted or has not been synced yet",
			dir, config.Filename, nametransform.DirIVFilename)
	}
	return failf(errOpenConf, []string{
		"give the directory that holds " + config.Filename,
		"to create a new volume, run veilfs init on a new or empty directory: init needs an empty one",
	}, "%s is not a veilfs/gocryptfs volume: it has no %s", dir, config.Filename)
}

// readDirNames lists dir, without sorting.
func readDirNames(dir string) ([]string, error) {
	d, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	return d.Readdirnames(-1)
}

// looksLikeVolume reports whether the entries of a directory are those of an
// encrypted-names volume: a gocryptfs.diriv, a long-name file, or a name
// that is an encrypted name (unpadded base64url of whole 16-byte blocks),
// which a person or program rarely chooses.
func looksLikeVolume(names []string) bool {
	for _, n := range names {
		if n == nametransform.DirIVFilename {
			return true
		}
		switch nametransform.Classify(n) {
		case nametransform.KindLongName, nametransform.KindLongNameSidecar:
			return true
		}
		if b, err := base64.RawURLEncoding.Strict().DecodeString(n); err == nil && len(b) > 0 && len(b)%aes.BlockSize == 0 { // EME encrypts whole AES blocks
			return true
		}
	}
	return false
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

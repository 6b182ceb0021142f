package fsck

import (
	"errors"
	"fmt"
	"io/fs"

	"github.com/veilfs/veilfs/cipher/config"
)

// ConfigProblem tells whether err, returned while loading gocryptfs.conf,
// means that the file is damaged: then fsck reports a bad-config problem
// and can check nothing else (without a valid config nothing says how the
// rest is encrypted). It returns false for what is not damage but a
// reason fsck cannot run: no config at all (not a volume), a permission
// error, or a newer format or a feature this veilfs does not know (a newer
// veilfs or gocryptfs can check that volume). The caller reports those as
// ordinary errors.
func ConfigProblem(err error) (Problem, bool) {
	var verr *config.VersionError
	var uerr *config.UnsupportedFeatureError
	switch {
	case err == nil,
		errors.Is(err, fs.ErrNotExist),
		errors.Is(err, fs.ErrPermission),
		errors.As(err, &uerr),
		errors.As(err, &verr) && verr.Newer():
		return Problem{}, false
	}
	return Problem{
		Kind:       BadConfig,
		Severity:   BadConfig.Severity(),
		CipherPath: config.Filename,
		Detail: fmt.Sprintf("%v; restore %s from a backup or your sync service's version history "+
			"(it holds the encrypted master key: without it or the master key the data cannot be decrypted)", err, config.Filename),
	}, true
}

// assumedConfigProblem is the problem reported for a volume checked with
// the master key and an assumed config because its gocryptfs.conf could
// not be used (why): the files may be fine, but the volume stays broken
// until a config is written for them.
func assumedConfigProblem(dir, why, format string) Problem {
	return Problem{
		Kind:       BadConfig,
		Severity:   BadConfig.Severity(),
		CipherPath: config.Filename,
		Detail: fmt.Sprintf("%s; checked with the master key and the format assumed (%s); write a new %s: veilfs init --masterkey-file FILE [format options] %s",
			why, format, config.Filename, dir),
	}
}

// RotationProblem is the problem reported for a volume whose config says a
// master-key rotation is unfinished: half of its files are under each
// key, so fsck stops and says to finish the rotation first.
func RotationProblem(dir string) Problem {
	return Problem{
		Kind:       Rotating,
		Severity:   Rotating.Severity(),
		CipherPath: config.Filename,
		Detail: fmt.Sprintf("a master-key rotation of this volume was interrupted (feature flag %s); "+
			"run 'veilfs rotate %s' to finish it (with the password it sets), then run fsck again", config.FlagRotation, dir),
	}
}

// unlockerProblems checks that every extra unlocker of conf authenticates
// with master: each holds its public key encrypted under a key derived
// from the master key, so one that does not open was damaged or changed by
// someone without the key.
func unlockerProblems(conf *config.File, master []byte) []Problem {
	_, bad := conf.CheckUnlockers(master)
	var out []Problem
	for _, label := range bad {
		out = append(out, Problem{
			Kind:       BadUnlocker,
			CipherPath: config.Filename,
			Detail: fmt.Sprintf("extra unlocker %q does not authenticate with the master key: its entry in %s was damaged, "+
				"or changed by someone without the key; it opens nothing now: remove it (veilfs keys remove --label %q) and add it again",
				label, config.Filename, label),
		})
	}
	return out
}

package main

// The parts of 'veilfs mount' that differ for --reverse: which config is
// read, how the volume is opened and which FUSE tree serves it.

import (
	"fmt"
	"io"

	"github.com/veilfs/veilfs/cipher"
	"github.com/veilfs/veilfs/cipher/config"
	veilfs "github.com/veilfs/veilfs/fs"
	"github.com/veilfs/veilfs/fs/cipherdir"
	"github.com/veilfs/veilfs/fs/reverse"
)

// servingMount is a mount being served, forward or reverse.
type servingMount interface {
	mounted
	Wait()
}

// dirLabel is what the mounted directory is called in messages.
func (o *mountFlags) dirLabel() string {
	if o.reverse {
		return "PLAINDIR"
	}
	return "CIPHERDIR"
}

// checkReverse checks the options that belong to --reverse and compiles
// the exclusion rules, so that a bad rule or an unreadable rule file is
// reported before the password is asked for. The rule files are made
// absolute for the daemon, which runs in "/".
func (o *mountFlags) checkReverse() error {
	if !o.reverse {
		if len(o.exclude) > 0 || len(o.excludeFrom) > 0 {
			return failf(errUsage, []string{"exclusions apply to the encrypted view of a plaintext directory: add --reverse"},
				"--exclude and --exclude-from need --reverse")
		}
		return nil
	}
	for i, f := range o.excludeFrom {
		abs, err := absPath(f)
		if err != nil {
			return err
		}
		o.excludeFrom[i] = abs
	}
	if _, err := reverse.NewExcluder(o.exclude, o.excludeFrom); err != nil {
		return fail(errUsage, err, "check the file given to --exclude-from")
	}
	return nil
}

// loadMountConfig loads the config of dir and checks that it is the kind
// of volume the mount asks for. With --reverse it is always
// .gocryptfs.reverse.conf: a gocryptfs.conf that the user keeps among
// their plaintext files is just one of them. warn gets readConfig's
// warning.
func loadMountConfig(dir string, o *mountFlags, warn io.Writer) (*config.File, error) {
	if !o.reverse {
		f, path, err := loadConfig(dir, false, warn)
		if err == nil && isReverse(path) {
			return nil, failf(errOpenConf, []string{"add --reverse: veilfs mount --reverse " + dir + " MOUNTPOINT"},
				"%s is a plaintext directory prepared for reverse mode (it has %s)", dir, config.ReverseFilename)
		}
		return f, err
	}
	f, path, err := readReverseConfig(dir)
	switch {
	case err != nil:
		return nil, err
	case f.Rotating():
		return nil, failf(errOpenConf, nil, "%s carries the flag of an unfinished key rotation, which reverse volumes never have", path)
	case f.ContentAlgorithm() != cipher.AESSIV:
		return nil, failf(errOpenConf, []string{"recreate it with: veilfs init --reverse " + dir},
			"%s does not use AES-SIV content encryption, which reverse mode needs", path)
	}
	return f, nil
}

// openMountVolume opens the volume to mount with the master key s and
// wipes s.
func openMountVolume(dir string, s *secret, o *mountFlags) (*cipherdir.Volume, error) {
	if o.assumed {
		return openAssumedVolume(dir, s, o.format)
	}
	if !o.reverse {
		return openVolume(dir, s)
	}
	defer s.wipe()
	f, err := loadMountConfig(dir, o, io.Discard) // reverse: nothing to warn about
	if err != nil {
		return nil, err
	}
	if err := checkVolumeFormat(dir, f, true, s.bytes); err != nil {
		return nil, err
	}
	vol, err := cipherdir.OpenWithConfig(dir, f, s.bytes)
	if err != nil {
		return nil, fail(errMountFailed, fmt.Errorf("open reverse volume %s: %w", dir, err))
	}
	return vol, nil
}

// mountVolume mounts vol at mnt, as its plaintext view or, with --reverse,
// as the encrypted view of its plaintext directory.
func mountVolume(mnt string, vol *cipherdir.Volume, opts veilfs.Options, o *mountFlags) (servingMount, error) {
	if !o.reverse {
		return veilfs.MountVolume(mnt, vol, opts)
	}
	excl, err := reverse.NewExcluder(o.exclude, o.excludeFrom)
	if err != nil {
		return nil, err
	}
	return reverse.MountView(mnt, vol, reverse.Options{
		AllowOther:        opts.AllowOther,
		Exclude:           excl,
		Logger:            opts.Logger,
		FsName:            opts.FsName,
		Debug:             opts.Debug,
		ExtraMountOptions: opts.ExtraMountOptions,
	})
}

package main

// Refusing a config whose format flags someone changed (SECURITY.md, "the
// config's format"). Two layers: the authenticated format record
// (config.File.VerifyFormat), checked once the master key is known; and,
// for a config without one (made by gocryptfs, an older veilfs, or
// rewritten by gocryptfs -passwd), a look at CIPHERDIR's root
// (cipherdir.CheckNameFormat), which needs no key and so runs before the
// password is asked for.

import (
	"errors"
	"fmt"

	"github.com/veilfs/veilfs/cipher/config"
	"github.com/veilfs/veilfs/fs/cipherdir"
	"github.com/veilfs/veilfs/nametransform"
)

// restoreConfigHint is what to do about a changed config: the old one is
// in a backup or in the sync service's version history.
const restoreConfigHint = "restore gocryptfs.conf from a backup or your sync service's version history; nothing was written to the volume"

// unlock returns the master key of the volume in dir (unlockKey), after
// checking that f's format is the volume's: every command that uses the
// master key comes through here, so none of them works with a format a
// CIPHERDIR writer chose. A config without a format record that passed
// checkNameFormat gets one, in f only: the commands that save f (passwd,
// keys) then write it, so that a volume made by gocryptfs or an older
// veilfs is protected from its next save on, and the others (mount, ls)
// change nothing on disk. The caller wipes the result.
func (c *cli) unlock(u *unlockFlags, dir string, f *config.File, reverse bool, prompt string) (*unlocked, error) {
	hadRecord := f.HasFormatRecord()
	if !hadRecord {
		if err := checkNameFormat(dir, f, reverse); err != nil {
			return nil, err
		}
	}
	k, err := c.unlockKey(u, dir, f, reverse, prompt)
	if err != nil {
		return nil, err
	}
	if hadRecord {
		err = verifyFormatRecord(f, k.master)
	} else if err = f.SealFormat(k.master); err != nil {
		err = fail(errOpenConf, err)
	}
	if err != nil {
		k.wipe()
		return nil, err
	}
	return k, nil
}

// checkVolumeFormat is both checks of unlock for a config read again after
// unlocking (the mount daemon reads gocryptfs.conf itself).
func checkVolumeFormat(dir string, f *config.File, reverse bool, master []byte) error {
	if !f.HasFormatRecord() {
		return checkNameFormat(dir, f, reverse)
	}
	return verifyFormatRecord(f, master)
}

// checkNameFormat refuses a config without a format record whose name
// format CIPHERDIR's root contradicts. A reverse volume's directory holds
// plaintext: there is nothing to compare with.
func checkNameFormat(dir string, f *config.File, reverse bool) error {
	if reverse {
		return nil
	}
	err := cipherdir.CheckNameFormat(dir, f)
	var nf *cipherdir.NameFormatError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &nf) && f.Has(config.FlagPlaintextNames) && nf.Entry != nametransform.DirIVFilename:
		return fail(errOpenConf, err, restoreConfigHint,
			fmt.Sprintf("if this volume really has plaintext names (gocryptfs -init -plaintextnames) and %q is a file of yours, rename it in %s", nf.Entry, dir))
	case errors.As(err, &nf):
		return fail(errOpenConf, err, restoreConfigHint)
	}
	return fail(errOpenConf, err)
}

// verifyFormatRecord refuses a config whose format fields are not the ones
// recorded under master. A config without a record passes: checkNameFormat
// has looked at it.
func verifyFormatRecord(f *config.File, master []byte) error {
	err := f.VerifyFormat(master)
	switch {
	case err == nil, errors.Is(err, config.ErrNoFormatRecord):
		return nil
	case errors.Is(err, config.ErrFormatTampered):
		return fail(errOpenConf, err, restoreConfigHint)
	}
	return fail(errOpenConf, fmt.Errorf("check gocryptfs.conf's format record: %w", err))
}

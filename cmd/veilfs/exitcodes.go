package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/veilfs/veilfs/cipher/config"
	"github.com/veilfs/veilfs/fs/cipherdir"
)

// Exit codes. Scripts depend on these numbers, so a number never changes meaning.
// Where gocryptfs (internal/exitcodes/exitcodes.go) has a code with the same
// meaning we use its number, so that scripts written for gocryptfs port over.
//
//	code  meaning                                                   gocryptfs
//	   0  success                                                   same
//	   1  usage: unknown command or flag, bad argument count/value  same (Usage)
//	   3  the filesystem could not be mounted or served             reserved there (old generic mount error)
//	   6  CIPHERDIR missing, not a directory, or not empty (init)   same (CipherDir)
//	   7  init failed for another reason                            same (Init)
//	   9  the password or keyfile could not be read (passfile,      same (ReadPassword)
//	      extpass, terminal, mismatch when typed twice, too long)
//	  10  MOUNTPOINT missing, not a directory, not empty, in use    same (MountPoint)
//	  11  any other error: read the message                         same (Other)
//	  12  wrong password, keyfile or master key: it opens nothing   same (PasswordIncorrect)
//	  14  the master key given to mount is not 64 hex digits        same (MasterKey)
//	  22  the password is empty                                     same (PasswordEmpty)
//	  23  gocryptfs.conf missing, unreadable, invalid, or needing   same (OpenConf); gocryptfs uses 8 for a
//	      a feature flag this veilfs does not support                malformed file, veilfs keeps one code;
//	      or changed by someone without the key (its format does     the format check is veilfs only
//	      not match its authenticated record or CIPHERDIR)
//	  24  gocryptfs.conf could not be written (passwd)              same (WriteConf)
//	  25  unmount failed: busy, not mounted, not a FUSE mount       veilfs only (25 is Profiler there)
//	  26  fsck found problems (that --repair did not fix)           same (FsckErrors)
//	  40  a key rotation is unfinished: run veilfs rotate           veilfs only
//
// A Go panic exits with 2, which is why no code here uses it.
const (
	exitOK            = 0
	exitUsage         = 1
	exitMount         = 3
	exitCipherDir     = 6
	exitInit          = 7
	exitReadPassword  = 9
	exitMountPoint    = 10
	exitOther         = 11
	exitWrongPassword = 12
	exitMasterKey     = 14
	exitEmptyPassword = 22
	exitOpenConf      = 23
	exitWriteConf     = 24
	exitUnmount       = 25
	exitFsck          = 26
	exitRotating      = 40
)

// Error classes. A sub-command tags an error with one of these through fail
// (it keeps its own message); exitCode turns the class into a number. They are
// never printed themselves.
var (
	errUsage         = errors.New("usage error")
	errMountFailed   = errors.New("mount failed")
	errCipherDir     = errors.New("invalid cipherdir")
	errInitFailed    = errors.New("init failed")
	errReadPassword  = errors.New("cannot read password")
	errMountPoint    = errors.New("invalid mountpoint")
	errMasterKey     = errors.New("invalid master key")
	errEmptyPassword = errors.New("empty password")
	errOpenConf      = errors.New("cannot open config")
	errWriteConf     = errors.New("cannot write config")
	errUnmount       = errors.New("unmount failed")
	errFsck          = errors.New("fsck found problems")
	errRotating      = errors.New("rotation unfinished")
	// errWrongSecret is a password or keyfile that opens nothing, where the
	// message must say more than messageOf's "wrong password" (which
	// unlocker it was given for, say).
	errWrongSecret = errors.New("wrong secret")

	// errHelpShown means the usage text was printed on request: exit 0, print nothing more.
	errHelpShown = errors.New("help shown")
)

// exitCodes is the mapping, first match wins. Library sentinels come first so
// that, say, a wrong password found while mounting is 12 and not 3.
var exitCodes = []struct {
	code    int
	matches func(error) bool
}{
	{exitOK, is(errHelpShown)},
	{exitWrongPassword, is(config.ErrWrongPassword)},
	{exitWrongPassword, is(config.ErrWrongKeyfile)},
	{exitWrongPassword, is(cipherdir.ErrKeyMismatch)},
	{exitEmptyPassword, is(config.ErrEmptyPassword)},
	{exitReadPassword, is(config.ErrPasswordTooLong)},
	{exitOpenConf, isUnsupportedFeature},
	{exitCipherDir, is(cipherdir.ErrNotEmpty)},
	{exitUsage, is(errUsage)},
	{exitMount, is(errMountFailed)},
	{exitCipherDir, is(errCipherDir)},
	{exitInit, is(errInitFailed)},
	{exitReadPassword, is(errReadPassword)},
	{exitMountPoint, is(errMountPoint)},
	{exitMasterKey, is(errMasterKey)},
	{exitEmptyPassword, is(errEmptyPassword)},
	{exitOpenConf, is(errOpenConf)},
	{exitWriteConf, is(errWriteConf)},
	{exitUnmount, is(errUnmount)},
	{exitFsck, is(errFsck)},
	{exitRotating, is(errRotating)},
	{exitWrongPassword, is(errWrongSecret)},
}

func is(target error) func(error) bool {
	return func(err error) bool { return errors.Is(err, target) }
}

func isUnsupportedFeature(err error) bool {
	var u *config.UnsupportedFeatureError
	return errors.As(err, &u)
}

// exitCode maps an error returned by a sub-command to the process exit code.
func exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	var r *reportedError
	if errors.As(err, &r) {
		return r.code
	}
	for _, e := range exitCodes {
		if e.matches(err) {
			return e.code
		}
	}
	return exitOther
}

// exitCodeHelp is printed by "veilfs help exit-codes"; keep it in step with the
// table at the top of this file (TestExitCodeHelpListsEveryCode checks the numbers).
const exitCodeHelp = `veilfs exit codes (numbers shared with gocryptfs where the meaning matches):

   0  success
   1  usage error: unknown command or flag, wrong number of arguments, bad value
   3  the filesystem could not be mounted or served
   6  CIPHERDIR does not exist, is not a directory, or is not empty (init)
   7  init failed for another reason
   9  the password or keyfile could not be read (passfile, extpass, terminal, mismatch)
  10  MOUNTPOINT does not exist, is not a directory, is not empty, or is in use
  11  other error: read the message
  12  wrong password, keyfile or master key
  14  the master key given to mount is not 64 hex digits
  22  the password is empty
  23  gocryptfs.conf is missing, unreadable, invalid, changed by someone without the key, or needs an unsupported feature
  24  gocryptfs.conf could not be written
  25  unmount failed: the filesystem is busy, not mounted, or not a FUSE mount
  26  fsck found problems that are left (not repaired)
  40  a master-key rotation of the volume is unfinished: run veilfs rotate
`

// classError tags err with an error class (for exitCode) and optional hints
// (for the user). Its message is err's message alone.
type classError struct {
	class error
	err   error
	hints []string
}

func (e *classError) Error() string { return e.err.Error() }
func (e *classError) Unwrap() []error {
	if e.class == nil {
		return []error{e.err}
	}
	return []error{e.err, e.class}
}

// fail tags err with class and hints. class may be nil to add hints only.
func fail(class, err error, hints ...string) error {
	return &classError{class: class, err: err, hints: hints}
}

// failf is fail with a new error built from format; %w works as in fmt.Errorf.
func failf(class error, hints []string, format string, args ...any) error {
	return fail(class, fmt.Errorf(format, args...), hints...)
}

// reportedError is returned when the message was already shown to the user
// (by the mount daemon, through the parent) and only the exit code remains.
type reportedError struct{ code int }

func (e *reportedError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// hintsOf returns the hints attached to err by fail, or default hints for
// well-known library errors.
func hintsOf(err error) []string {
	var hints []string
	for e := err; e != nil; {
		var ce *classError
		if !errors.As(e, &ce) {
			break
		}
		hints = append(hints, ce.hints...)
		e = ce.err
	}
	if len(hints) > 0 {
		return hints
	}
	switch {
	case errors.Is(err, config.ErrWrongPassword):
		return []string{wrongPasswordHint}
	case errors.Is(err, config.ErrWrongKeyfile):
		return []string{wrongKeyfileHint}
	case isUnsupportedFeature(err):
		return []string{"a newer veilfs or gocryptfs may support this volume"}
	}
	return nil
}

const wrongPasswordHint = "check the password (and --passfile/--extpass); the primary password and the password of any password unlocker work; " +
	"if all are lost, set a new password with the master key printed by init: veilfs passwd --masterkey-file FILE CIPHERDIR"

const wrongKeyfileHint = "check the file given to --keyfile: it must be the keyfile of an unlocker of this volume, unchanged (veilfs keys list CIPHERDIR shows them)"

// messageOf is the one-line message for err. A wrong password reads the same
// however deep it was found, because that is all the user needs to know.
func messageOf(err error) string {
	switch {
	case errors.Is(err, config.ErrWrongPassword):
		return "wrong password"
	case errors.Is(err, config.ErrWrongKeyfile):
		return "the keyfile does not unlock this volume"
	}
	return strings.TrimSpace(err.Error())
}

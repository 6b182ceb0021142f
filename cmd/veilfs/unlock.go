package main

// Unlocking a volume: the one place that turns what the user gives (a
// password, a keyfile or the master key) into the master key. mount,
// passwd, keys and rotate all go through (*cli).unlock, so every command
// accepts every unlocker: the primary (gocryptfs) password, the password of
// an extra password unlocker, a keyfile of a keyfile unlocker, or the
// master key.

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/pflag"

	"github.com/veilfs/veilfs/cipher"
	"github.com/veilfs/veilfs/cipher/config"
	"github.com/veilfs/veilfs/fs/cipherdir"
)

// maxKeyfileSize bounds what is read from a keyfile: a keyfile is a key,
// not a document, and reading must end even if it names /dev/zero.
const maxKeyfileSize = 1 << 20

// unlockFlags are the ways to give a secret that opens a volume. At most one
// of them may be used; none means a password from the terminal or stdin.
type unlockFlags struct {
	password      *passwordFlags
	keyfile       string
	masterKey     string
	masterKeyFile string
}

// addUnlockFlags defines --passfile, --extpass, --keyfile, --masterkey and
// --masterkey-file on fs.
func addUnlockFlags(fs *pflag.FlagSet) *unlockFlags {
	u := &unlockFlags{password: addPasswordFlags(fs)}
	fs.StringVar(&u.keyfile, "keyfile", "", "unlock with the keyfile `FILE`")
	fs.StringVar(&u.masterKey, "masterkey", "", "unlock with the master key `HEX`, or - to read it")
	fs.StringVar(&u.masterKeyFile, "masterkey-file", "", "unlock with the master key in `FILE`")
	return u
}

// parseUnlockArgs parses the arguments of a command that unlocks the
// volume named by its first positional argument: the flags, the check
// that u names at most one secret, and that argument made absolute.
func (c *cli) parseUnlockArgs(cmd *command, fs *pflag.FlagSet, args []string, u *unlockFlags) (dir string, err error) {
	if err := c.parseFlags(cmd, fs, args); err != nil {
		return "", err
	}
	if err := u.validate(); err != nil {
		return "", err
	}
	return absPath(fs.Arg(0))
}

// validate refuses two secrets at once: which one would be meant is a guess.
func (u *unlockFlags) validate() error {
	if err := u.password.validate(); err != nil {
		return err
	}
	var given []string
	if u.password.passfile != "" {
		given = append(given, "--passfile")
	}
	if u.password.extpass != "" {
		given = append(given, "--extpass")
	}
	if u.keyfile != "" {
		given = append(given, "--keyfile")
	}
	if u.masterKey != "" {
		given = append(given, "--masterkey")
	}
	if u.masterKeyFile != "" {
		given = append(given, "--masterkey-file")
	}
	if len(given) > 1 {
		return failf(errUsage, []string{"give exactly one of --passfile, --extpass, --keyfile, --masterkey, --masterkey-file (or none, to type the password)"},
			"%s and %s cannot be used together", given[0], given[1])
	}
	return nil
}

func (u *unlockFlags) usesMasterKey() bool { return u.masterKey != "" || u.masterKeyFile != "" }

// readsStdinToEnd reports whether the secret is read from standard input up
// to its end (--masterkey - when stdin is not a terminal): nothing is left
// for a new password after it.
func (c *cli) readsStdinToEnd(u *unlockFlags) bool {
	return u.masterKey == "-" && !c.stdinIsTerminal()
}

// unlocked is a volume's master key and what opened it.
type unlocked struct {
	// master is the 32-byte master key.
	master []byte
	// password is the primary (gocryptfs) password when that is what
	// opened the volume, else nil: a command that must re-wrap the primary
	// (a key rotation) can reuse it instead of asking again.
	password []byte
	// label is config.PrimaryLabel, the label of the extra unlocker that
	// opened the volume, or "" for the master key.
	label string
	// secret is what opened the extra unlocker label (its password, or
	// its keyfile's content), else nil: a key rotation re-enrols that
	// unlocker with it instead of asking again.
	secret []byte
}

// wipe overwrites the master key and the secrets.
func (k *unlocked) wipe() {
	cipher.Wipe(k.master)
	cipher.Wipe(k.password)
	cipher.Wipe(k.secret)
}

// unlockKey reads the secret u names (a password by default, prompted with
// prompt) and returns the master key of the volume in dir, whose config is
// f; reverse says f is a reverse volume's config (isReverse), whose
// directory holds plaintext, not files to check a key against. A password is tried on the primary first, then on every password
// unlocker; a keyfile on every keyfile unlocker. A master key is checked
// against the volume (its extra unlockers, else its files): a wrong one
// exits 12 instead of showing an empty volume and encrypting new files with
// it. The caller wipes the result.
//
// Errors carry their exit code: 12 for a secret that opens nothing, 9 or 22
// for one that could not be read, 14 for a malformed master key, 23 for a
// damaged unlocker entry.
func (c *cli) unlockKey(u *unlockFlags, dir string, f *config.File, reverse bool, prompt string) (*unlocked, error) {
	switch {
	case u.usesMasterKey():
		key, err := c.readMasterKey(u.masterKey, u.masterKeyFile)
		if err != nil {
			return nil, err
		}
		if err := c.checkMasterKey(dir, f, reverse, key); err != nil {
			cipher.Wipe(key)
			return nil, err
		}
		return &unlocked{master: key}, nil
	case u.keyfile != "":
		c.warnIfExposed(u.keyfile, "keyfile")
		kf, err := readKeyfile(u.keyfile)
		if err != nil {
			return nil, err
		}
		master, label, err := f.UnlockWithKeyfile(kf)
		if err != nil {
			cipher.Wipe(kf)
			return nil, unlockError(err, dir)
		}
		k := &unlocked{master: master, label: label, secret: kf}
		if err := c.checkUnlockerKey(dir, f, reverse, k); err != nil {
			k.wipe()
			return nil, err
		}
		return k, nil
	}
	if err := checkScryptMemory(f.Scrypt); err != nil {
		return nil, err
	}
	pw, err := c.readPassword(u.password, prompt, false)
	if err != nil {
		return nil, err
	}
	master, label, err := f.UnlockWithPassword(pw)
	if err != nil {
		cipher.Wipe(pw)
		return nil, unlockError(err, dir)
	}
	k := &unlocked{master: master, label: label}
	if label == config.PrimaryLabel {
		k.password = pw
		return k, nil
	}
	k.secret = pw
	if err := c.checkUnlockerKey(dir, f, reverse, k); err != nil {
		k.wipe()
		return nil, err
	}
	return k, nil
}

// unlockError adds the exit class and hints to an error of config's Unlock*.
func unlockError(err error, dir string) error {
	switch {
	case errors.Is(err, config.ErrWrongPassword), errors.Is(err, config.ErrWrongKeyfile),
		errors.Is(err, config.ErrEmptyPassword), errors.Is(err, config.ErrPasswordTooLong):
		return err // exitcodes.go knows these, with their hints
	case errors.Is(err, config.ErrUnlockerDamaged):
		return fail(errOpenConf, err,
			"the secret is right, but the rest of that unlocker's entry in gocryptfs.conf was damaged or changed by someone without the key",
			"unlock with another unlocker or the master key, then remove it: veilfs keys remove --label LABEL "+dir)
	}
	return fail(errOpenConf, fmt.Errorf("unlock %s: %w", dir, err))
}

// checkScryptMemory refuses, before the password is asked for, a scrypt
// cost that needs more memory than this machine has. cipher's bounds accept
// up to 256 GiB because gocryptfs -init -scryptn 28 writes that; deriving
// it here would end in the kernel's OOM killer, or a boot waiting on an
// fstab mount, rather than in a message.
func checkScryptMemory(p cipher.ScryptParams) error {
	total, ok := totalMemory()
	if !ok {
		return nil // cannot tell: let scrypt try
	}
	if need := p.MemoryNeeded(); need > total {
		return failf(errOpenConf, []string{"the cost was set with --scryptn when the volume was created or its password last changed; unlock it on a machine with more memory and lower it with veilfs passwd --scryptn"},
			"the password's scrypt cost (N=2^%d, R=%d) needs %d MiB of memory, more than this machine's %d MiB", p.LogN(), p.R, need>>20, total>>20)
	}
	return nil
}

// errScryptN refuses a --scryptn value out of cipher's range
// (cipher.ValidScryptLogN); command is the one whose --help to run.
func errScryptN(command string, logN int) error {
	return failf(errUsage, []string{"run 'veilfs " + command + " --help' for usage"},
		"--scryptn must be between %d and %d, not %d", cipher.MinScryptLogN, cipher.MaxScryptLogN, logN)
}

// checkMasterKey refuses a master key that is shown not to be the volume's,
// and warns when nothing could tell.
func (c *cli) checkMasterKey(dir string, f *config.File, reverse bool, key []byte) error {
	if f.Rotating() {
		return nil // half the files are under each key: rotate checks for itself
	}
	if reverse {
		return c.checkReverseMasterKey(dir, f, key)
	}
	ok, err := cipherdir.CheckMasterKey(dir, f, key)
	switch {
	case errors.Is(err, cipherdir.ErrKeyMismatch):
		return fail(nil, fmt.Errorf("the master key does not belong to %s: %w", dir, err),
			"check the key: it is the 64 hex digits that init or the last rotate printed for this volume")
	case err != nil:
		return fail(errOpenConf, fmt.Errorf("check the master key against %s: %w", dir, err))
	case !ok:
		warningf(c.stderr, "the master key could not be checked: %s holds no file content and no extra unlocker yet", dir)
		hintf(c.stderr, "if the key is wrong, the volume looks empty and new files are encrypted with the wrong key")
	}
	return nil
}

// checkReverseMasterKey is checkMasterKey for a reverse volume. Its
// directory holds plaintext, so only its extra unlockers can tell a wrong
// key; without them, a wrong key would encrypt the view with it, and
// copies of the view would not open with the password.
func (c *cli) checkReverseMasterKey(dir string, f *config.File, key []byte) error {
	ok, bad := f.CheckUnlockers(key)
	switch {
	case len(ok) > 0:
		return nil
	case len(bad) > 0:
		return fail(nil, fmt.Errorf("the master key does not belong to %s: none of its %d extra unlockers authenticates with it: %w", dir, len(bad), cipherdir.ErrKeyMismatch),
			"check the key: it is the 64 hex digits that init printed for this volume")
	}
	warningf(c.stderr, "the master key could not be checked: %s is a reverse volume, which has no encrypted files to check it against, and it has no extra unlocker", dir)
	hintf(c.stderr, "make sure it is the key init printed for this volume: a wrong one is used as it is, and what is encrypted with it does not match the copies of the view made with the right one")
	return nil
}

// checkUnlockerKey vouches for a master key that an extra unlocker gave.
// A committed entry (config.UnlockerInfo.Committed) proved it already: its
// secret authenticated the key it holds. An entry made before key
// commitments existed authenticated its key only to someone who once had
// the master key, who could have sealed another key to it: the user is told
// to re-enrol it. Either way the key is then checked against the volume's
// files, which catches a gocryptfs.conf rolled back to a copy from before
// a rotation (its unlockers open the retired key) unless someone planted
// a file under that key too; SECURITY.md says what this check is worth.
func (c *cli) checkUnlockerKey(dir string, f *config.File, reverse bool, k *unlocked) error {
	committed := unlockerCommitted(f, k.label)
	if !committed {
		warningf(c.stderr, "unlocker %q was made by a veilfs older than key commitments: someone who once had the master key could seal another key to it", k.label)
		hintf(c.stderr, "re-enrol it: veilfs rotate %s (it asks for each unlocker's secret), or remove it and add it again", dir)
	}
	if f.Rotating() || reverse {
		// Rotating: half the files are under each key. Reverse: there
		// are no encrypted files; the unlocker's entry is all there is.
		return nil
	}
	vol, err := cipherdir.OpenWithConfig(dir, f, k.master)
	if err != nil {
		return fail(errOpenConf, fmt.Errorf("open %s: %w", dir, err))
	}
	defer vol.Wipe()
	_, err = vol.CheckKey()
	switch {
	case !errors.Is(err, cipherdir.ErrKeyMismatch):
		return nil
	case committed:
		return failf(errOpenConf, []string{
			"gocryptfs.conf is probably an old copy, from before a key rotation: restore the current one from a backup or your sync service's version history",
		}, "unlocker %q opened, but the key it holds does not decrypt the files in %s (%v)", k.label, dir, err)
	}
	return failf(errOpenConf, []string{
		"gocryptfs.conf may have been tampered with: unlock with the primary password or the master key, then remove the unlocker: veilfs keys remove --label " + k.label + " " + dir,
	}, "unlocker %q opened, but the key it holds does not decrypt the files in %s (%v)", k.label, dir, err)
}

func unlockerCommitted(f *config.File, label string) bool {
	for _, u := range f.Unlockers() {
		if u.Label == label {
			return u.Committed
		}
	}
	return false
}

// readKeyfile returns the content of a keyfile. The caller wipes it.
func readKeyfile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fail(errReadPassword, fmt.Errorf("open keyfile: %w", err))
	}
	defer f.Close()
	kf, err := readAllLimited(f, maxKeyfileSize)
	if err != nil {
		return nil, fail(errReadPassword, fmt.Errorf("read keyfile %s: %w", path, err),
			fmt.Sprintf("a keyfile holds %d to %d bytes", cipher.MinKeyfileSize, maxKeyfileSize))
	}
	return kf, nil
}

// saveConfig writes f to path (atomically, mode 0400) after check has
// passed on what was written (config.File.SaveVerified): a change whose
// result does not check out never replaces the config that works.
func saveConfig(path string, f *config.File, check func(onDisk *config.File) error) error {
	err := f.SaveVerified(path, check)
	var verr *config.VerifyError
	switch {
	case errors.As(err, &verr):
		return fail(errWriteConf, fmt.Errorf("check %s after writing it: %w", path, verr.Err),
			"nothing changed: the new config was checked before it replaced the old one")
	case err != nil:
		return fail(errWriteConf, fmt.Errorf("write %s: %w", path, err),
			"nothing changed: the config is replaced in one atomic step")
	}
	return nil
}

// errStdinTaken explains why a command cannot read a new password from
// stdin after --masterkey - consumed it.
func errStdinTaken() error {
	return failf(errUsage, []string{"give the new password with --new-passfile FILE, or the master key with --masterkey-file FILE"},
		"--masterkey - reads standard input to its end: no new password can follow on it")
}

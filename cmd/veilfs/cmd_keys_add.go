package main

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/pflag"

	"github.com/veilfs/veilfs/cipher"
	"github.com/veilfs/veilfs/cipher/config"
)

var keysAddCommand = command{
	name:    "keys add",
	summary: "add a password or keyfile unlocker",
	usage:   keysAddUsage,
	args:    []string{"CIPHERDIR"},
	flags:   declare(defineKeysAddFlags),
	run:     runKeysAdd,
}

var keysAddUsage = `Usage: veilfs keys add [options] --label NAME CIPHERDIR

Add an extra unlocker to the volume in CIPHERDIR: a password of its own (the
default) or a keyfile (--new-keyfile FILE). It opens the volume wherever a
password is asked for, like the primary password. gocryptfs.conf is
rewritten: the new one is read back and checked before it replaces the old.

The volume is unlocked first, with anything that opens it: a password (the
primary one or that of any password unlocker) from --passfile, --extpass, the
terminal or the first line of standard input; or --keyfile, or the master key.

The new password comes from --new-passfile, else it is asked twice on the
terminal, else it is the next line of standard input. It gets its own scrypt
salt; its cost is the primary password's unless --scryptn says otherwise.

--new-keyfile FILE: if FILE does not exist, it is created with 64 random
bytes, readable by you only (mode 0400): keep it secret and back it up, it
opens the volume like a password. An existing FILE is used as it is and must
hold at least 32 bytes; its content is the key and nothing stretches it, so
it must be random data, not text someone could guess.

The label is 1 to 64 bytes of printable text, unique in the volume (letter
case ignored), and not "primary". Labels, kinds and creation times are stored
in the clear in gocryptfs.conf.

Options:
      --label NAME           the new unlocker's label (required)
      --new-passfile FILE    the new unlocker's password: the first line of FILE
      --new-keyfile FILE     add a keyfile unlocker for FILE (created if missing)
      --scryptn N            scrypt cost of the new password as log2(N), 10 to 28
` + keysUnlockUsage("unlock with the keyfile of an existing unlocker") + `      --reverse              CIPHERDIR is a reverse volume's PLAINDIR: use its
                             .gocryptfs.reverse.conf even if it has a gocryptfs.conf
  -h, --help                 show this help

Examples:
  $ veilfs keys add --label laptop ~/vault.enc
  $ veilfs keys add --passfile pw.txt --new-passfile alice.txt --label alice ~/vault.enc
  $ veilfs keys add --label usb --new-keyfile /media/usb/vault.keyfile ~/vault.enc
`

// newKeyfileSize is the size of a keyfile keys add creates: 512 random bits.
const newKeyfileSize = 64

// keysAddOptions are the values of keys add's flags.
type keysAddOptions struct {
	unlock                         *unlockFlags
	label, newPassfile, newKeyfile string
	logN                           int
	reverse                        *bool
}

func defineKeysAddFlags(fs *pflag.FlagSet) *keysAddOptions {
	o := &keysAddOptions{unlock: addUnlockFlags(fs)}
	fs.StringVar(&o.label, "label", "", "label of the new unlocker")
	fs.StringVar(&o.newPassfile, "new-passfile", "", "read the new password from `FILE`")
	fs.StringVar(&o.newKeyfile, "new-keyfile", "", "add a keyfile unlocker for `FILE`")
	fs.IntVar(&o.logN, "scryptn", 0, "scrypt cost of the new password as log2(N)")
	o.reverse = addReverseFlag(fs)
	return o
}

func runKeysAdd(c *cli, cmd *command, args []string) error {
	fs, o := newFlags(cmd, defineKeysAddFlags)
	dir, err := c.parseUnlockArgs(cmd, fs, args, o.unlock)
	if err != nil {
		return err
	}
	if err := c.checkKeysAddFlags(cmd, fs, o); err != nil {
		return err
	}
	f, path, err := loadConfig(dir, *o.reverse, c.stderr)
	if err != nil {
		return err
	}
	if err := checkLabelFree(f, o.label, dir); err != nil {
		return err
	}
	// An existing keyfile is read before any password is asked for, so
	// that a wrong path is reported at once.
	s := &newSecret{kind: config.KindPassword}
	if o.newKeyfile != "" {
		s.kind, s.path = config.KindKeyfile, o.newKeyfile
		if s.keyfile, err = readNewKeyfile(o.newKeyfile); err != nil {
			return err
		}
	}
	defer s.wipe()

	k, err := c.unlock(o.unlock, dir, f, isReverse(path), "Password: ")
	if err != nil {
		return err
	}
	defer k.wipe()

	if err := c.obtainNewSecret(s, f, k, o.newPassfile, dir); err != nil {
		return err
	}
	err = s.addTo(f, k.master, o.label, o.logN)
	if err == nil {
		err = saveNewUnlocker(path, f, k.master, o.label, s)
	}
	if err != nil {
		return s.addFailed(err, o.label, dir)
	}
	if s.created {
		fmt.Fprintf(c.stdout, "Created the keyfile %s (%d random bytes, mode 0400): keep it secret and back it up\n", s.path, newKeyfileSize)
	}
	fmt.Fprintf(c.stdout, "Added %s unlocker %q to %s\n", s.kind, o.label, dir)
	return nil
}

// checkKeysAddFlags checks the flags against each other, before anything
// is read or asked for.
func (c *cli) checkKeysAddFlags(cmd *command, fs *pflag.FlagSet, o *keysAddOptions) error {
	if err := checkLabelFlag(cmd, o.label); err != nil {
		return err
	}
	usage := func(format string, args ...any) error {
		return failf(errUsage, []string{"run 'veilfs keys add --help' for usage"}, format, args...)
	}
	switch {
	case strings.EqualFold(o.label, config.PrimaryLabel):
		return usage("the label %q is the volume's gocryptfs password; change it with veilfs passwd", config.PrimaryLabel)
	case o.newPassfile != "" && o.newKeyfile != "":
		return usage("--new-passfile and --new-keyfile cannot be used together: an unlocker is a password or a keyfile")
	case o.newKeyfile != "" && fs.Changed("scryptn"):
		return usage("--scryptn sets the cost of a new password; a keyfile needs none")
	case fs.Changed("scryptn") && !cipher.ValidScryptLogN(o.logN):
		return errScryptN("keys add", o.logN)
	case o.newKeyfile == "" && o.newPassfile == "" && c.readsStdinToEnd(o.unlock):
		return errStdinTaken()
	}
	return nil
}

// checkLabelFree refuses a label that an unlocker of f has already, in any
// letter case.
func checkLabelFree(f *config.File, label, dir string) error {
	for _, in := range f.Unlockers() {
		if strings.EqualFold(in.Label, label) {
			return failf(errUsage, []string{"choose another label, or remove that unlocker first: veilfs keys remove --label " + in.Label + " " + dir},
				"%s has an unlocker labelled %q already", dir, in.Label)
		}
	}
	return nil
}

// newSecret is the secret of the unlocker keys add adds.
type newSecret struct {
	kind     config.UnlockerKind
	password []byte // of a password unlocker
	// path and keyfile are a keyfile unlocker's file and its content;
	// created says this command created the file, so that it is removed
	// again if the unlocker cannot be added.
	path    string
	keyfile []byte
	created bool
}

func (s *newSecret) wipe() {
	cipher.Wipe(s.password)
	cipher.Wipe(s.keyfile)
}

// obtainNewSecret completes s once the volume is unlocked: a keyfile read
// already must open no unlocker of f yet, a missing one is created, and a
// new password is read.
func (c *cli) obtainNewSecret(s *newSecret, f *config.File, k *unlocked, newPassfile, dir string) error {
	if s.kind == config.KindKeyfile {
		if s.keyfile == nil {
			kf, err := createKeyfile(s.path)
			if err != nil {
				return err
			}
			s.keyfile, s.created = kf, true
			return nil
		}
		if mk, other, err := f.UnlockWithKeyfile(s.keyfile); err == nil {
			cipher.Wipe(mk)
			return failf(errUsage, []string{"a keyfile needs only one unlocker; give another file, or a new path to create one"},
				"%s already opens the unlocker %q of %s", s.path, other, dir)
		}
		return nil
	}
	pw, err := c.readNewPassword(newPassfile)
	if err != nil {
		return err
	}
	s.password = pw
	if k.password != nil && bytes.Equal(k.password, pw) {
		warningf(c.stderr, "the new unlocker's password is the same as the primary password")
	}
	return nil
}

// addTo adds the unlocker label with secret s to f, in memory.
func (s *newSecret) addTo(f *config.File, master []byte, label string, logN int) error {
	if s.kind == config.KindKeyfile {
		return f.AddKeyfileUnlocker(master, label, s.keyfile)
	}
	return f.AddPasswordUnlocker(master, label, s.password, logN)
}

// saveNewUnlocker saves f to path, checking that the config written has
// the unlocker label, authenticated by the master key, and that a new
// keyfile opens it.
func saveNewUnlocker(path string, f *config.File, master []byte, label string, s *newSecret) error {
	return saveConfig(path, f, func(g *config.File) error {
		if ok, _ := g.CheckUnlockers(master); !slices.Contains(ok, label) {
			return fmt.Errorf("the new unlocker %q is missing or does not authenticate", label)
		}
		if s.kind == config.KindKeyfile {
			mk, got, err := g.UnlockWithKeyfile(s.keyfile)
			cipher.Wipe(mk)
			if err != nil || got != label {
				return fmt.Errorf("the keyfile does not open the new unlocker %q (%v)", label, err)
			}
		}
		return nil
	})
}

// addFailed removes a keyfile this command created, useless now, and says
// why the unlocker label could not be added.
func (s *newSecret) addFailed(err error, label, dir string) error {
	if s.created {
		os.Remove(s.path) // ours (O_EXCL) and useless now
	}
	if errors.Is(err, config.ErrUnlockerExists) {
		return fail(errUsage, err)
	}
	return fmt.Errorf("add unlocker %q to %s: %w", label, dir, err)
}

// readNewKeyfile reads an existing keyfile for keys add, or returns nil when
// path does not exist yet (it is created after the volume is unlocked; its
// directory must exist).
func readNewKeyfile(path string) ([]byte, error) {
	if _, err := os.Lstat(path); errors.Is(err, os.ErrNotExist) {
		if fi, err := os.Stat(filepath.Dir(path)); err != nil || !fi.IsDir() {
			return nil, failf(errUsage, nil, "cannot create the keyfile %s: %s is not an existing directory", path, filepath.Dir(path))
		}
		return nil, nil
	}
	kf, err := readKeyfile(path)
	if err != nil {
		return nil, err
	}
	if len(kf) < cipher.MinKeyfileSize {
		n := len(kf)
		cipher.Wipe(kf)
		return nil, failf(errUsage, []string{"give a file of random data, or a path that does not exist yet: veilfs then creates the keyfile"},
			"keyfile %s has %d bytes, a keyfile needs at least %d", path, n, cipher.MinKeyfileSize)
	}
	return kf, nil
}

// createKeyfile creates path with newKeyfileSize random bytes, mode 0400,
// never overwriting anything (O_EXCL), durable before it is used.
func createKeyfile(path string) ([]byte, error) {
	fd, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o400)
	if err != nil {
		return nil, fail(errReadPassword, fmt.Errorf("create keyfile: %w", err))
	}
	kf := make([]byte, newKeyfileSize)
	rand.Read(kf) // cannot fail since Go 1.24
	// 0400 whatever the umask. A filesystem without modes (FAT) may
	// refuse; that is harmless, it cannot protect the file anyway.
	_ = fd.Chmod(0o400)
	_, err = fd.Write(kf)
	if err == nil {
		err = fd.Sync()
	}
	if cerr := fd.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		cipher.Wipe(kf)
		os.Remove(path)
		return nil, fail(errReadPassword, fmt.Errorf("write keyfile %s: %w", path, err))
	}
	return kf, nil
}

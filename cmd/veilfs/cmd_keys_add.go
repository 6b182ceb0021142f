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
rewritten atomically, then read back and checked.

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
	u, reverse := o.unlock, o.reverse
	dir, err := c.parseUnlockArgs(cmd, fs, args, u)
	if err != nil {
		return err
	}
	label, newPassfile, newKeyfile, logN := o.label, o.newPassfile, o.newKeyfile, o.logN
	if err := checkLabelFlag(cmd, label); err != nil {
		return err
	}
	usage := func(format string, args ...any) error {
		return failf(errUsage, []string{"run 'veilfs keys add --help' for usage"}, format, args...)
	}
	switch {
	case strings.EqualFold(label, config.PrimaryLabel):
		return usage("the label %q is the volume's gocryptfs password; change it with veilfs passwd", config.PrimaryLabel)
	case newPassfile != "" && newKeyfile != "":
		return usage("--new-passfile and --new-keyfile cannot be used together: an unlocker is a password or a keyfile")
	case newKeyfile != "" && fs.Changed("scryptn"):
		return usage("--scryptn sets the cost of a new password; a keyfile needs none")
	case fs.Changed("scryptn") && (logN < cipher.MinScryptLogN || logN > cipher.MaxScryptLogN):
		return usage("--scryptn must be between %d and %d, not %d", cipher.MinScryptLogN, cipher.MaxScryptLogN, logN)
	case newKeyfile == "" && newPassfile == "" && c.readsStdinToEnd(u):
		return errStdinTaken()
	}
	f, path, err := loadConfig(dir, *reverse, c.stderr)
	if err != nil {
		return err
	}
	for _, in := range f.Unlockers() {
		if strings.EqualFold(in.Label, label) {
			return failf(errUsage, []string{"choose another label, or remove that unlocker first: veilfs keys remove --label " + in.Label + " " + dir},
				"%s has an unlocker labelled %q already", dir, in.Label)
		}
	}
	// An existing keyfile is read before any password is asked for, so
	// that a wrong path is reported at once.
	var keyfile []byte
	if newKeyfile != "" {
		if keyfile, err = readNewKeyfile(newKeyfile); err != nil {
			return err
		}
		defer func() { cipher.Wipe(keyfile) }()
	}

	k, err := c.unlock(u, dir, f, isReverse(path), "Password: ")
	if err != nil {
		return err
	}
	defer k.wipe()

	var kind config.UnlockerKind
	created := false
	if newKeyfile != "" {
		kind = config.KindKeyfile
		if keyfile != nil {
			if mk, other, err := f.UnlockWithKeyfile(keyfile); err == nil {
				cipher.Wipe(mk)
				return failf(errUsage, []string{"a keyfile needs only one unlocker; give another file, or a new path to create one"},
					"%s already opens the unlocker %q of %s", newKeyfile, other, dir)
			}
		} else {
			if keyfile, err = createKeyfile(newKeyfile); err != nil {
				return err
			}
			created = true
		}
		err = f.AddKeyfileUnlocker(k.master, label, keyfile)
	} else {
		kind = config.KindPassword
		pw, rerr := c.readNewPassword(newPassfile)
		if rerr != nil {
			return rerr
		}
		defer cipher.Wipe(pw)
		if k.password != nil && bytes.Equal(k.password, pw) {
			warningf(c.stderr, "the new unlocker's password is the same as the primary password")
		}
		err = f.AddPasswordUnlocker(k.master, label, pw, logN)
	}
	if err == nil {
		err = saveConfig(path, f, func(g *config.File) error {
			if ok, _ := g.CheckUnlockers(k.master); !slices.Contains(ok, label) {
				return fmt.Errorf("the new unlocker %q is missing or does not authenticate", label)
			}
			if kind == config.KindKeyfile {
				mk, got, err := g.UnlockWithKeyfile(keyfile)
				cipher.Wipe(mk)
				if err != nil || got != label {
					return fmt.Errorf("the keyfile does not open the new unlocker %q (%v)", label, err)
				}
			}
			return nil
		})
	}
	if err != nil {
		if created {
			os.Remove(newKeyfile) // ours (O_EXCL) and useless now
		}
		if errors.Is(err, config.ErrUnlockerExists) {
			return fail(errUsage, err)
		}
		return fmt.Errorf("add unlocker %q to %s: %w", label, dir, err)
	}
	if created {
		fmt.Fprintf(c.stdout, "Created the keyfile %s (%d random bytes, mode 0400): keep it secret and back it up\n", newKeyfile, newKeyfileSize)
	}
	fmt.Fprintf(c.stdout, "Added %s unlocker %q to %s\n", kind, label, dir)
	return nil
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

package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/pflag"

	"github.com/veilfs/veilfs/cipher"
	"github.com/veilfs/veilfs/cipher/config"
	"github.com/veilfs/veilfs/fs/cipherdir"
	"github.com/veilfs/veilfs/fs/reverse/view"
)

var initCommand = command{
	name:    "init",
	summary: "create a new encrypted volume",
	usage:   initUsage,
	args:    []string{"CIPHERDIR"},
	flags:   declare(defineInitFlags),
	run:     runInit,
}

const initUsage = `Usage: veilfs init [options] CIPHERDIR
       veilfs init --reverse [options] PLAINDIR
       veilfs init --masterkey-file FILE [options] CIPHERDIR

Create a new encrypted volume in CIPHERDIR, in the gocryptfs 2.x format.
CIPHERDIR is created if it does not exist; an existing one must be empty.

With --reverse, make the existing directory PLAINDIR a reverse volume
instead, as gocryptfs -init -reverse does: only its config,
PLAINDIR/.gocryptfs.reverse.conf, is written, and the files in PLAINDIR stay
as they are. 'veilfs mount --reverse PLAINDIR MOUNTPOINT' then shows a
read-only, encrypted view of PLAINDIR, to back up or sync: a copy of the
view is a normal volume that mounts with the same password. Reverse mode
encrypts contents with AES-SIV (--aessiv is implied, --xchacha refused);
the name options below work as for any volume.

With --masterkey-file (or --masterkey), write a new gocryptfs.conf for the
existing files of a volume whose config is missing or damaged: the master key
is the one init (or the last rotate) printed, the format options are the ones
the volume was created with (none: the default). Both are checked against the
files first; a damaged config is moved out of CIPHERDIR into veilfs's state
directory. The new config has the password given now and no extra unlockers.

The password comes from --passfile or --extpass, else it is asked twice on the
terminal, else it is the first line of standard input.

The master key is printed once. Write it down and keep it offline: it is the
only way back into the data if the password is lost or gocryptfs.conf is
damaged, and anyone who has it can read the data. (Of a reverse volume, the
data is every copy of its view.)

Options:
      --passfile FILE        read the password from the first line of FILE
      --extpass CMD          run CMD with /bin/sh -c, use the first line it prints
      --scryptn N            scrypt cost as log2(N), 10 to 28 (default 16);
                             each step doubles the time and memory to unlock
      --plaintextnames       do not encrypt file names
      --deterministic-names  encrypt names without per-directory IVs, so the
                             same name gives the same encrypted name everywhere
      --aessiv               encrypt contents with AES-SIV-512 (nonce misuse resistant)
      --xchacha              encrypt contents with XChaCha20-Poly1305 (fast without AES-NI)
      --longnamemax N        store encrypted names longer than N bytes (62 to
                             255, default 255) in gocryptfs.longname.* files
      --reverse              make the existing directory PLAINDIR a reverse
                             volume (an encrypted view of it), see above
      --masterkey-file FILE  recover: write a new config for the existing
                             volume in CIPHERDIR with the master key in FILE
      --masterkey HEX        recover with this master key, or - to read it
                             (visible to other users as HEX: avoid)
  -h, --help                 show this help

Examples:
  $ veilfs init ~/vault.enc
  $ veilfs init --xchacha ~/vault.enc
  $ veilfs init --passfile ~/.vault-password --scryptn 10 /tmp/test.enc
  $ veilfs init --reverse ~/Documents
  $ veilfs init --masterkey-file ~/vault.key ~/vault.enc
`

// initOptions are the values of init's flags.
type initOptions struct {
	password *passwordFlags // the new password
	create   config.CreateOptions
	reverse  bool
	// masterKey is the master key to recover with; its password stays
	// empty: --passfile is the new password here.
	masterKey unlockFlags
}

func defineInitFlags(fs *pflag.FlagSet) *initOptions {
	o := &initOptions{password: addPasswordFlags(fs), masterKey: unlockFlags{password: &passwordFlags{}}}
	fs.IntVar(&o.create.LogN, "scryptn", cipher.DefaultScryptLogN, "scrypt cost as log2(N)")
	fs.BoolVar(&o.create.PlaintextNames, "plaintextnames", false, "do not encrypt file names")
	fs.BoolVar(&o.create.DeterministicNames, "deterministic-names", false, "no per-directory IVs")
	fs.BoolVar(&o.create.AESSIV, "aessiv", false, "AES-SIV-512 content encryption")
	fs.BoolVar(&o.create.XChaCha, "xchacha", false, "XChaCha20-Poly1305 content encryption")
	fs.IntVar(&o.create.LongNameMax, "longnamemax", 0, "hash encrypted names longer than N bytes")
	fs.BoolVar(&o.reverse, "reverse", false, "make PLAINDIR a reverse volume")
	fs.StringVar(&o.masterKey.masterKeyFile, "masterkey-file", "", "recover with the master key in `FILE`")
	fs.StringVar(&o.masterKey.masterKey, "masterkey", "", "recover with the master key `HEX`, or - to read it")
	return o
}

func runInit(c *cli, cmd *command, args []string) error {
	fs, o := newFlags(cmd, defineInitFlags)
	if err := c.parseFlags(cmd, fs, args); err != nil {
		return err
	}
	pf, opts, reverse, mk := o.password, o.create, o.reverse, o.masterKey
	if err := validateInitOptions(pf, &opts, fs.Changed("longnamemax")); err != nil {
		return err
	}
	if reverse && opts.XChaCha {
		return failf(errUsage, []string{"leave out --xchacha: reverse mode always encrypts contents with AES-SIV"},
			"--xchacha cannot be used with --reverse: reverse mode derives each block's nonce from the file's path, which only AES-SIV tolerates")
	}
	opts.Creator = "veilfs " + version

	dir, err := absPath(fs.Arg(0))
	if err != nil {
		return err
	}
	if mk.usesMasterKey() {
		if reverse {
			return failf(errUsage, []string{"a reverse volume's config is made anew with veilfs init --reverse PLAINDIR: its files are plaintext"},
				"--masterkey and --masterkey-file recover a volume; they cannot be used with --reverse")
		}
		return c.initRecover(dir, pf, &mk, opts, fs.Changed("longnamemax"))
	}
	// Checked here too (cipherdir.Init checks again) so that the user is not
	// asked for a password that cannot be used.
	check := checkInitDir
	if reverse {
		check = checkReverseInitDir
	}
	if err := check(dir); err != nil {
		return err
	}
	pw, err := c.readPassword(pf, "Password: ", true)
	if err != nil {
		return err
	}
	defer cipher.Wipe(pw)

	if reverse {
		return c.initReverse(dir, pw, opts)
	}
	master, err := cipherdir.Init(dir, pw, opts)
	if err != nil {
		if errors.Is(err, cipherdir.ErrNotEmpty) {
			return fail(errCipherDir, fmt.Errorf("CIPHERDIR %s is not empty", dir), "choose an empty or new directory")
		}
		return fail(errInitFailed, fmt.Errorf("create volume in %s: %w", dir, err))
	}
	defer cipher.Wipe(master)
	printInitDone(c.stdout, dir, master, false)
	return nil
}

// initRecover writes a new gocryptfs.conf, for the master key mk names and
// the format opts, into the volume dir whose config is missing or damaged
// (recover.go), after checking both against its files.
func (c *cli) initRecover(dir string, pf *passwordFlags, mk *unlockFlags, opts config.CreateOptions, longNameMaxSet bool) error {
	if err := mk.validate(); err != nil {
		return err
	}
	_, _, err := loadConfig(dir, false, c.stderr)
	switch {
	case err == nil:
		return failf(errOpenConf, []string{"to set a new password with the master key: veilfs passwd --masterkey-file FILE " + dir},
			"%s has a usable %s: there is nothing to recover", dir, config.Filename)
	case !configUnusable(err):
		return err
	}
	ff := &formatFlags{plaintextNames: opts.PlaintextNames, deterministicNames: opts.DeterministicNames,
		aessiv: opts.AESSIV, xchacha: opts.XChaCha, longNameMax: opts.LongNameMax, longNameMaxSet: longNameMaxSet}
	f, err := assumedConfig(dir, ff)
	if err != nil {
		return err
	}
	key, err := c.readMasterKey(mk.masterKey, mk.masterKeyFile)
	if err != nil {
		return err
	}
	defer cipher.Wipe(key)
	ok, err := checkAssumed(dir, f, ff, key)
	if err != nil {
		return err
	}
	if !ok {
		warningf(c.stderr, "nothing in %s could confirm the master key and the format (%s): it holds no file content, no symlink and too few names",
			dir, describeFormat(opts))
	}
	if pf.passfile == "" && pf.extpass == "" && c.readsStdinToEnd(mk) {
		return errStdinTaken()
	}
	pw, err := c.readPassword(pf, "New password: ", true)
	if err != nil {
		return err
	}
	defer cipher.Wipe(pw)
	nf, err := config.New(key, pw, opts)
	if err != nil {
		return fail(errInitFailed, err)
	}
	moved, err := moveAsideDamagedConfig(dir)
	if err != nil {
		return fail(errWriteConf, err, "move or delete "+filepath.Join(dir, config.Filename)+" yourself, then run this again")
	}
	path := filepath.Join(dir, config.Filename)
	if err := saveConfig(path, nf, func(g *config.File) error {
		m, err := g.UnlockMasterKey(pw)
		if err == nil && !bytes.Equal(m, key) {
			err = errors.New("the new config opens another key")
		}
		cipher.Wipe(m)
		return err
	}); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "Wrote a new %s for the files in %s (%s), with the new password.\n", config.Filename, dir, describeFormat(opts))
	if moved != "" {
		fmt.Fprintf(c.stdout, "The damaged one was moved to %s.\n", moved)
	}
	fmt.Fprintf(c.stdout, "The master key stays the same. Extra unlockers (veilfs keys) were in the old config: add them again.\n")
	return nil
}

// initReverse is init --reverse once the password is read.
func (c *cli) initReverse(dir string, pw []byte, opts config.CreateOptions) error {
	master, err := view.Init(dir, pw, opts)
	switch {
	case errors.Is(err, view.ErrExists), errors.Is(err, view.ErrForwardVolume):
		// Made meanwhile: checkReverseInitDir explains either.
		if cerr := checkReverseInitDir(dir); cerr != nil {
			return cerr
		}
		return fail(errCipherDir, err)
	case err != nil:
		return fail(errInitFailed, fmt.Errorf("create reverse volume in %s: %w", dir, err))
	}
	defer cipher.Wipe(master)
	printInitDone(c.stdout, dir, master, true)
	return nil
}

func validateInitOptions(pf *passwordFlags, opts *config.CreateOptions, longNameMaxSet bool) error {
	if err := pf.validate(); err != nil {
		return err
	}
	usage := func(format string, args ...any) error {
		return failf(errUsage, []string{"run 'veilfs init --help' for usage"}, format, args...)
	}
	switch {
	case !cipher.ValidScryptLogN(opts.LogN):
		return errScryptN("init", opts.LogN)
	case opts.AESSIV && opts.XChaCha:
		return usage("--aessiv and --xchacha cannot be used together")
	case opts.PlaintextNames && opts.DeterministicNames:
		return usage("--plaintextnames and --deterministic-names cannot be used together")
	case opts.PlaintextNames && longNameMaxSet:
		return usage("--longnamemax has no effect with --plaintextnames")
	case longNameMaxSet && (opts.LongNameMax < config.MinLongNameMax || opts.LongNameMax > config.MaxLongNameMax):
		return usage("--longnamemax must be between %d and %d, not %d", config.MinLongNameMax, config.MaxLongNameMax, opts.LongNameMax)
	}
	return nil
}

// checkInitDir accepts a missing directory or an empty one.
func checkInitDir(dir string) error {
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil
	case err != nil:
		return fail(errCipherDir, fmt.Errorf("CIPHERDIR %w", err))
	case !fi.IsDir():
		return failf(errCipherDir, nil, "CIPHERDIR %s is not a directory", dir)
	}
	f, err := os.Open(dir)
	if err != nil {
		return fail(errCipherDir, fmt.Errorf("CIPHERDIR %w", err))
	}
	defer f.Close()
	if _, err := f.Readdirnames(1); err == nil {
		return failf(errCipherDir, []string{"choose an empty or new directory"}, "CIPHERDIR %s is not empty", dir)
	} else if err != io.EOF {
		return fail(errCipherDir, fmt.Errorf("CIPHERDIR %w", err))
	}
	return nil
}

// checkReverseInitDir accepts an existing directory that is no volume yet:
// reverse mode encrypts what is in it, so it need not be empty.
func checkReverseInitDir(dir string) error {
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return failf(errCipherDir, []string{"reverse mode shows an encrypted view of an existing directory: give the directory to back up"},
			"PLAINDIR %s does not exist", dir)
	case err != nil:
		return fail(errCipherDir, fmt.Errorf("PLAINDIR %w", err))
	case !fi.IsDir():
		return failf(errCipherDir, nil, "PLAINDIR %s is not a directory", dir)
	}
	if fileExists(cipherdir.ReverseConfigPath(dir)) {
		return failf(errCipherDir, []string{
			"mount its encrypted view with: veilfs mount --reverse " + dir + " MOUNTPOINT",
			"a new config would bring a new master key, and with it new names and bytes for every file of the view: backups of it would start over",
		}, "%s is a reverse volume already: it has %s", dir, config.ReverseFilename)
	}
	if fileExists(filepath.Join(dir, config.Filename)) {
		return failf(errCipherDir, []string{"reverse mode encrypts a plaintext directory; an encrypted volume's CIPHERDIR can be backed up as it is"},
			"%s holds %s: it is the CIPHERDIR of an encrypted volume", dir, config.Filename)
	}
	return nil
}

// printInitDone prints the master key once, laid out as gocryptfs does.
func printInitDone(w io.Writer, dir string, master []byte, reverse bool) {
	const indent = "    "
	buf := make([]byte, 0, 1024)
	if reverse {
		buf = fmt.Appendf(buf, "Created a new reverse volume in %s: its config is %s; the files in it stay as they are\n\nYour master key is:\n\n%s",
			dir, config.ReverseFilename, indent)
	} else {
		buf = fmt.Appendf(buf, "Created a new encrypted volume in %s\n\nYour master key is:\n\n%s", dir, indent)
	}
	buf = appendMasterKey(buf, master, indent)
	if reverse {
		buf = append(buf, `

Write it down on paper and keep it offline, away from this computer. If you
forget the password or lose the config, the master key is the only way back
into the copies (backups) of the encrypted view; anyone who has it can read
them. It is printed only this once.

Mount the encrypted view with: veilfs mount --reverse `...)
	} else {
		buf = append(buf, `

Write it down on paper and keep it offline, away from this computer. If you
forget the password or gocryptfs.conf is damaged, the master key is the only
way back into your files; anyone who has it can read them. It is printed only
this once.

Mount the volume with: veilfs mount `...)
	}
	buf = append(buf, dir...)
	buf = append(buf, " MOUNTPOINT\n"...)
	w.Write(buf)
	cipher.Wipe(buf)
}

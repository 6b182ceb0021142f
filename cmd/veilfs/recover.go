package main

// Opening a volume whose gocryptfs.conf is missing or damaged, with the
// master key (docs/recovery.md). The config holds only the wrapped master
// key and the format flags: with the key in hand, the format is all that
// is missing, and init's format options say it (the default when none is
// given), as gocryptfs -masterkey does. What is assumed is checked against
// the volume's files before anything is shown or written: the root's names
// against the name format, the first content blocks and symlink targets
// against the key and content cipher. A guess that does not fit is refused
// with the option that does fit, where another cipher authenticates the
// files; it is never shown as an empty tree. mount, ls, path and fsck open
// such a volume; init --masterkey-file writes a new gocryptfs.conf for it.

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/veilfs/veilfs/cipher"
	"github.com/veilfs/veilfs/cipher/config"
	"github.com/veilfs/veilfs/fs/cipherdir"
)

// formatFlags are init's format options. Given to mount, ls, path or fsck,
// they describe a volume whose gocryptfs.conf cannot be read.
type formatFlags struct {
	plaintextNames, deterministicNames, aessiv, xchacha bool
	longNameMax                                         int
	longNameMaxSet                                      bool
}

// addFormatFlags defines the format options on fs, for the commands that
// open a volume (not init, which documents them as its own).
func addFormatFlags(fs *pflag.FlagSet) *formatFlags {
	ff := &formatFlags{}
	fs.BoolVar(&ff.plaintextNames, "plaintextnames", false, "without gocryptfs.conf: the volume's names are not encrypted")
	fs.BoolVar(&ff.deterministicNames, "deterministic-names", false, "without gocryptfs.conf: names without per-directory IVs")
	fs.BoolVar(&ff.aessiv, "aessiv", false, "without gocryptfs.conf: AES-SIV content encryption")
	fs.BoolVar(&ff.xchacha, "xchacha", false, "without gocryptfs.conf: XChaCha20-Poly1305 content encryption")
	fs.IntVar(&ff.longNameMax, "longnamemax", 0, "without gocryptfs.conf: the long-name threshold `N`")
	return ff
}

// parsed records what parseFlags saw; call it after parsing.
func (ff *formatFlags) parsed(fs *pflag.FlagSet) {
	ff.longNameMaxSet = fs.Changed("longnamemax")
}

func (ff *formatFlags) given() bool {
	return ff.plaintextNames || ff.deterministicNames || ff.aessiv || ff.xchacha || ff.longNameMaxSet
}

func (ff *formatFlags) options() config.CreateOptions {
	return config.CreateOptions{
		PlaintextNames: ff.plaintextNames, DeterministicNames: ff.deterministicNames,
		AESSIV: ff.aessiv, XChaCha: ff.xchacha, LongNameMax: ff.longNameMax,
		Creator: "veilfs " + version,
	}
}

// args gives the options back as command-line arguments (for the mount daemon).
func (ff *formatFlags) args() []string {
	var a []string
	for _, f := range []struct {
		on   bool
		name string
	}{{ff.plaintextNames, "plaintextnames"}, {ff.deterministicNames, "deterministic-names"}, {ff.aessiv, "aessiv"}, {ff.xchacha, "xchacha"}} {
		if f.on {
			a = append(a, "--"+f.name)
		}
	}
	if ff.longNameMaxSet {
		a = append(a, fmt.Sprintf("--longnamemax=%d", ff.longNameMax))
	}
	return a
}

// validate checks the options as init does, and that they are only given
// where they mean something: without a readable gocryptfs.conf.
func (ff *formatFlags) validate() error {
	opts := ff.options()
	opts.LogN = cipher.MinScryptLogN
	return validateInitOptions(&passwordFlags{}, &opts, ff.longNameMaxSet)
}

// describeFormat says in words what opts encrypts with, for the warning.
func describeFormat(opts config.CreateOptions) string {
	content := describeContent(opts)
	if opts.PlaintextNames {
		return content + ", names not encrypted"
	}
	names := "names encrypted with per-directory IVs"
	if opts.DeterministicNames {
		names = "names encrypted without per-directory IVs"
	}
	lnm := opts.LongNameMax
	if lnm == 0 {
		lnm = config.MaxLongNameMax
	}
	return fmt.Sprintf("%s, %s, long names over %d bytes", content, names, lnm)
}

func describeContent(opts config.CreateOptions) string {
	switch {
	case opts.AESSIV:
		return "AES-SIV contents"
	case opts.XChaCha:
		return "XChaCha20-Poly1305 contents"
	}
	return "AES-256-GCM contents"
}

const formatFlagsHint = "if init was given format options, give the same ones: --plaintextnames, --deterministic-names, --xchacha, --aessiv, --longnamemax N"

// configUnusable reports whether err, from loadConfig, is a gocryptfs.conf
// that is missing or cannot be used, in a directory that exists: the case
// the master key and the format options stand in for.
func configUnusable(err error) bool {
	return err != nil && errors.Is(err, errOpenConf) && !errors.Is(err, errRotating)
}

// assumedConfig is the config a volume without a usable gocryptfs.conf is
// opened with: what init would write with ff's options. The master key it
// wraps is a throwaway: it is never saved, and callers use the key the
// user gave. dir must look like a volume of that format.
func assumedConfig(dir string, ff *formatFlags) (*config.File, error) {
	names, _ := readDirNames(dir)
	switch {
	case len(names) == 0:
		return nil, failf(errOpenConf, []string{"to create a new volume there, run: veilfs init " + dir},
			"%s is empty: there is no volume to open with the master key", dir)
	case !ff.plaintextNames && !looksLikeVolume(names):
		return nil, failf(errOpenConf, []string{"give the directory that holds the volume's files (CIPHERDIR)",
			"a volume made with --plaintextnames has no such files: give --plaintextnames"},
			"%s has no %s and no encrypted names: it does not look like a volume", dir, config.Filename)
	}
	throwaway := make([]byte, cipher.MasterKeySize)
	defer cipher.Wipe(throwaway)
	opts := ff.options()
	opts.LogN = cipher.MinScryptLogN // wraps the throwaway key, never saved
	f, err := config.New(throwaway, []byte("unused"), opts)
	if err != nil {
		return nil, fail(errUsage, err)
	}
	return f, nil
}

// checkAssumed checks the assumed config f and the master key against the
// volume's files (see the file comment). It returns false when nothing in
// the volume could tell (no content, no symlink, too few names).
func checkAssumed(dir string, f *config.File, ff *formatFlags, master []byte) (bool, error) {
	var nf *cipherdir.NameFormatError
	if err := cipherdir.CheckNameFormat(dir, f); errors.As(err, &nf) {
		return false, failf(errOpenConf, []string{formatFlagsHint},
			"the volume's files do not fit the format assumed: its root holds %q, %s, which a volume with %s would not",
			nf.Entry, nf.Found, nf.Config)
	} else if err != nil {
		return false, fail(errOpenConf, err)
	}
	ok, err := keyFits(dir, f, master)
	if !errors.Is(err, cipherdir.ErrKeyMismatch) {
		return ok, err
	}
	// Another content cipher with the same names?
	for _, alt := range []struct {
		flag          string
		aessiv, xchac bool
	}{{"", false, false}, {"--xchacha", false, true}, {"--aessiv", true, false}} {
		if alt.aessiv == ff.aessiv && alt.xchac == ff.xchacha {
			continue
		}
		o := *ff
		o.aessiv, o.xchacha = alt.aessiv, alt.xchac
		g, gerr := assumedConfig(dir, &o)
		if gerr != nil {
			continue
		}
		if ok, _ := keyFits(dir, g, master); ok {
			give := "without --xchacha and --aessiv"
			if alt.flag != "" {
				give = "with " + alt.flag
			}
			return false, failf(errOpenConf, []string{"run the command again " + give},
				"the volume's files decrypt with this master key and %s, not %s as assumed", describeContent(o.options()), describeContent(ff.options()))
		}
	}
	return false, fail(nil, fmt.Errorf("the master key does not decrypt the files of %s with the format assumed (%s) or another content cipher: %w",
		dir, describeFormat(ff.options()), err),
		"check the key: it is the 64 hex digits that init or the last rotate printed for this volume", formatFlagsHint)
}

// keyFits is Volume.CheckKeyAndContent for config f and master: the
// content cipher is part of what is assumed.
func keyFits(dir string, f *config.File, master []byte) (bool, error) {
	vol, err := cipherdir.OpenWithConfig(dir, f, master)
	if err != nil {
		return false, fail(errOpenConf, fmt.Errorf("open %s: %w", dir, err))
	}
	defer vol.Wipe()
	return vol.CheckKeyAndContent()
}

// unlockAssumed reads the master key u names, for a volume whose
// gocryptfs.conf could not be used (cause), and returns the config assumed
// from ff with it, once both are checked against the files. The warning
// says what was assumed. The caller wipes the key.
func (c *cli) unlockAssumed(u *unlockFlags, ff *formatFlags, dir string, cause error) (*config.File, *unlocked, error) {
	if !u.usesMasterKey() {
		return nil, nil, cause
	}
	f, err := assumedConfig(dir, ff)
	if err != nil {
		return nil, nil, err
	}
	key, err := c.readMasterKey(u.masterKey, u.masterKeyFile)
	if err != nil {
		return nil, nil, err
	}
	ok, err := checkAssumed(dir, f, ff, key)
	if err != nil {
		cipher.Wipe(key)
		return nil, nil, err
	}
	what := "is missing"
	if fileExists(filepath.Join(dir, config.Filename)) {
		what = "cannot be used (" + strings.TrimSpace(messageOf(cause)) + ")"
	}
	warningf(c.stderr, "%s of %s %s: opening the volume with the master key, assuming %s", config.Filename, dir, what, describeFormat(ff.options()))
	if !ok {
		warningf(c.stderr, "nothing in %s could confirm the key and the format: it holds no file content, no symlink and too few names", dir)
	}
	hintf(c.stderr, "%s", formatFlagsHint)
	hintf(c.stderr, "to write a new %s for these files: veilfs init --masterkey-file FILE [format options] %s", config.Filename, dir)
	return f, &unlocked{master: key}, nil
}

// refuseFormatFlags is the error for format options given with a usable
// gocryptfs.conf: the config's format is the volume's.
func refuseFormatFlags(dir string) error {
	return failf(errUsage, []string{"leave them out: the format comes from " + filepath.Join(dir, config.Filename)},
		"--plaintextnames, --deterministic-names, --xchacha, --aessiv and --longnamemax describe a volume without a usable %s; %s has one",
		config.Filename, dir)
}

// openConfig is loadConfig for the commands that also open a volume
// without a usable gocryptfs.conf (mount, ls, path, fsck): with the master
// key, such a volume is opened with the config ff assumes, and k is its
// key (already checked); otherwise k is nil and the caller unlocks.
func (c *cli) openConfig(u *unlockFlags, ff *formatFlags, dir string, reverse bool) (f *config.File, path string, k *unlocked, err error) {
	f, path, err = loadConfig(dir, reverse, c.stderr)
	switch {
	case err == nil && ff.given():
		return nil, "", nil, refuseFormatFlags(dir)
	case err == nil || reverse || !configUnusable(err) || !u.usesMasterKey():
		return f, path, nil, err
	}
	if verr := ff.validate(); verr != nil {
		return nil, "", nil, verr
	}
	f, k, err = c.unlockAssumed(u, ff, dir, err)
	return f, filepath.Join(dir, config.Filename), k, err
}

// moveAsideDamagedConfig moves a gocryptfs.conf that cannot be used out of
// CIPHERDIR, into veilfs's state directory (where no sync client sees it,
// and gocryptfs -fsck does not report it), and returns where it went.
func moveAsideDamagedConfig(dir string) (string, error) {
	src := filepath.Join(dir, config.Filename)
	fi, err := os.Lstat(src)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return "", nil
	case err != nil:
		return "", err
	case fi.IsDir():
		return "", fmt.Errorf("%s is a directory", src)
	case !fi.Mode().IsRegular():
		// A FIFO, socket, device or symlink holds no config to keep (and
		// reading a FIFO would block): it goes.
		return "", os.Remove(src)
	}
	base := stateBase()
	if base == "" {
		return "", errors.New("no state directory to keep the damaged gocryptfs.conf in (set HOME or XDG_STATE_HOME)")
	}
	dst := stateFile(base, "damaged-configs", dir) + "." + time.Now().UTC().Format("20060102T150405Z")
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return "", err
	}
	if err := os.Rename(src, dst); err != nil {
		// Another filesystem: copy what can be read, then remove.
		b, rerr := os.ReadFile(src)
		if rerr != nil {
			return "", fmt.Errorf("move %s aside: %w", src, err)
		}
		if werr := os.WriteFile(dst, b, 0o400); werr != nil {
			return "", fmt.Errorf("move %s aside: %w", src, werr)
		}
		if rmErr := os.Remove(src); rmErr != nil {
			return "", fmt.Errorf("move %s aside: %w", src, rmErr)
		}
	}
	return dst, nil
}

// recoveryOptionsUsage documents addFormatFlags in the usage texts of the
// commands that take them, after their --masterkey-file line.
const recoveryOptionsUsage = `      --plaintextnames       no gocryptfs.conf (with the master key): names not encrypted
      --deterministic-names  no gocryptfs.conf: names without per-directory IVs
      --xchacha              no gocryptfs.conf: XChaCha20-Poly1305 contents
      --aessiv               no gocryptfs.conf: AES-SIV contents
      --longnamemax N        no gocryptfs.conf: the long-name threshold (62..255)
`

// openAssumedVolume is openVolume for a volume without a usable
// gocryptfs.conf: with the config ff assumes, checked by the parent
// (unlockAssumed) before the key got here. It wipes s.
func openAssumedVolume(dir string, s *secret, ff *formatFlags) (*cipherdir.Volume, error) {
	defer s.wipe()
	f, err := assumedConfig(dir, ff)
	if err != nil {
		return nil, err
	}
	vol, err := cipherdir.OpenWithConfig(dir, f, s.bytes)
	if err != nil {
		return nil, fail(errMountFailed, fmt.Errorf("open volume %s: %w", dir, err))
	}
	return vol, nil
}

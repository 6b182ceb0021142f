package main

// The extra unlockers a key rotation keeps. A former holder of the master
// key knows every unlocker's public key, so a rotation that kept the key
// pairs would let them seal a key of their own to the unlockers left
// (SECURITY.md, "unlockers"). Each kept unlocker is re-enrolled with a
// fresh key pair committed to the new key, which takes its secret: the one
// that unlocked comes with k, the others from --keep-unlocker LABEL=FILE or
// the terminal; the rest are removed, but only when the user said so
// (--drop-unlockers, or Enter at the prompt). The approach is cryptsetup's
// when it re-encrypts a LUKS volume: a key slot without its passphrase
// does not survive.

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/veilfs/veilfs/cipher"
	"github.com/veilfs/veilfs/cipher/config"
)

// unlockerSecrets returns the secret of every extra unlocker of f that the
// rotation keeps, keyed by label, each checked to open its entry to
// k.master. keep holds the --keep-unlocker values; drop is
// --drop-unlockers. Nothing is changed on disk. The caller wipes the
// result (wipeSecrets).
func (c *cli) unlockerSecrets(dir string, f *config.File, k *unlocked, keep []string, drop bool) (map[string][]byte, error) {
	unlockers := f.Unlockers()
	files, err := keepFiles(f, keep)
	if err != nil {
		return nil, err
	}
	secrets := map[string][]byte{}
	done := false
	defer func() {
		if !done {
			wipeSecrets(secrets)
		}
	}()
	var missing []string
	prompted := false
	for _, u := range unlockers {
		var secret []byte
		switch {
		case u.Label == k.label && k.secret != nil:
			secret = bytes.Clone(k.secret)
		case files[u.Label] != "":
			if secret, err = c.readUnlockerSecret(u, files[u.Label]); err != nil {
				return nil, err
			}
		case drop:
			continue
		case c.stdinIsTerminal():
			if !prompted {
				fmt.Fprintf(c.stderr, "A rotation gives every extra unlocker a fresh key pair, which needs its secret.\n"+
					"Give each one's secret to keep it, or press Enter to remove it.\n")
				prompted = true
			}
			if secret, err = c.promptUnlockerSecret(u); err != nil {
				return nil, err
			}
			if len(secret) == 0 {
				continue // removed, as the prompt said
			}
		default:
			missing = append(missing, u.Label)
			continue
		}
		if err := f.CheckUnlockerSecret(k.master, u.Label, secret); err != nil {
			cipher.Wipe(secret)
			return nil, unlockerSecretError(u, err, dir)
		}
		secrets[u.Label] = secret
	}
	if len(missing) > 0 {
		return nil, failf(errUsage, []string{
			"give each one's secret with --keep-unlocker LABEL=FILE (FILE: the password's passfile, or the keyfile), or run rotate on a terminal to be asked",
			"or remove them with --drop-unlockers, and add them again afterwards: veilfs keys add --label LABEL " + dir,
			"nothing was changed",
		}, "a rotation gives every extra unlocker a fresh key pair, which needs its secret; none was given for %s",
			quoteList(missing))
	}
	done = true
	return secrets, nil
}

// unlockerSecretError explains a secret that does not open the unlocker it
// was given for. Nothing was changed yet.
func unlockerSecretError(u config.UnlockerInfo, err error, dir string) error {
	what := "password"
	if u.Kind == config.KindKeyfile {
		what = "keyfile"
	}
	if errors.Is(err, config.ErrWrongPassword) || errors.Is(err, config.ErrWrongKeyfile) {
		return failf(errWrongSecret, []string{
			"check the " + what + " given for it (veilfs keys list " + dir + " shows each unlocker's kind); nothing was changed",
		}, "the %s given for unlocker %q does not open it", what, u.Label)
	}
	return unlockError(err, dir)
}

// keepFiles parses the --keep-unlocker values: LABEL=FILE, each label an
// extra unlocker of f, given once.
func keepFiles(f *config.File, keep []string) (map[string]string, error) {
	files := map[string]string{}
	for _, kv := range keep {
		label, file, ok := strings.Cut(kv, "=")
		switch {
		case !ok || label == "" || file == "":
			return nil, failf(errUsage, []string{"for example: --keep-unlocker laptop=laptop-pw.txt --keep-unlocker usb=/media/usb/vault.keyfile"},
				"--keep-unlocker %q: want LABEL=FILE", kv)
		case !f.HasUnlocker(label):
			labels := make([]string, 0, len(f.Unlockers()))
			for _, u := range f.Unlockers() {
				labels = append(labels, u.Label)
			}
			hint := "the volume has no extra unlockers"
			if len(labels) > 0 {
				hint = "its extra unlockers are " + quoteList(labels) + " (veilfs keys list)"
			}
			return nil, failf(errUsage, []string{hint}, "--keep-unlocker: the volume has no extra unlocker labelled %q", label)
		case files[label] != "":
			return nil, failf(errUsage, nil, "--keep-unlocker: %q is given twice", label)
		}
		files[label] = file
	}
	return files, nil
}

// readUnlockerSecret reads the secret of u from path: the first line of a
// passfile for a password unlocker, the whole keyfile for a keyfile one.
func (c *cli) readUnlockerSecret(u config.UnlockerInfo, path string) ([]byte, error) {
	if u.Kind == config.KindKeyfile {
		c.warnIfExposed(path, "keyfile")
		return readKeyfile(path)
	}
	c.warnIfExposed(path, "passfile")
	pw, err := readPassfile(path)
	if err != nil {
		return nil, fail(errReadPassword, err)
	}
	if len(pw) == 0 {
		return nil, failf(errEmptyPassword, nil, "the passfile %s for unlocker %q is empty", path, u.Label)
	}
	return pw, nil
}

// promptUnlockerSecret asks on the terminal for u's password (no echo), or
// for the path of its keyfile. An empty answer means: remove u.
func (c *cli) promptUnlockerSecret(u config.UnlockerInfo) ([]byte, error) {
	if u.Kind == config.KindPassword {
		pw, err := c.promptPassword(fmt.Sprintf("Password of unlocker %q (Enter: remove it): ", u.Label))
		if err != nil {
			return nil, fail(errReadPassword, fmt.Errorf("read the password of unlocker %q from the terminal: %w", u.Label, err))
		}
		return pw, nil
	}
	fmt.Fprintf(c.stderr, "Keyfile of unlocker %q, its path (Enter: remove it): ", u.Label)
	line, err := readSecretLine(c.stdin)
	if err == io.EOF || len(bytes.TrimSpace(line)) == 0 {
		return nil, nil
	}
	if err != nil {
		return nil, fail(errReadPassword, fmt.Errorf("read the keyfile path of unlocker %q: %w", u.Label, err))
	}
	return c.readUnlockerSecret(u, string(bytes.TrimSpace(line)))
}

func wipeSecrets(secrets map[string][]byte) {
	for _, s := range secrets {
		cipher.Wipe(s)
	}
}

// quoteList is labels quoted and joined with commas, for messages.
func quoteList(labels []string) string {
	q := make([]string, len(labels))
	for i, l := range labels {
		q[i] = fmt.Sprintf("%q", l)
	}
	return strings.Join(q, ", ")
}

// printReenrolled says which extra unlockers the rotation kept (with fresh
// key pairs) and which it removed, with the command that adds one again.
func printReenrolled(w io.Writer, dir string, kept, removed []string) {
	if len(kept)+len(removed) > 0 {
		fmt.Fprintln(w)
	}
	if len(kept) > 0 {
		fmt.Fprintf(w, "Extra unlockers re-enrolled with fresh key pairs: %s.\n", strings.Join(kept, ", "))
	}
	if len(removed) > 0 {
		fmt.Fprintf(w, "Extra unlockers removed: %s. Add one again with: veilfs keys add --label LABEL %s\n",
			strings.Join(removed, ", "), dir)
	}
}

// keptLabels is the labels of secrets, in the config's order.
func keptLabels(f *config.File, secrets map[string][]byte) []string {
	var out []string
	for _, u := range f.Unlockers() {
		if _, ok := secrets[u.Label]; ok {
			out = append(out, u.Label)
		}
	}
	return slices.Clip(out)
}

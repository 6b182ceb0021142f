package main

import (
	"fmt"
	"math/bits"
	"strings"

	"github.com/veilfs/veilfs/cipher/config"
	"github.com/veilfs/veilfs/nametransform"
)

var infoCommand = command{
	name:    "info",
	summary: "show a volume's format",
	usage:   infoUsage,
	args:    []string{"CIPHERDIR"},
	flags:   declare(addReverseFlag),
	run:     runInfo,
}

const infoUsage = `Usage: veilfs info CIPHERDIR

Show the format of the volume in CIPHERDIR, read from its gocryptfs.conf:
format version, creator, feature flags, content cipher, file name encryption,
scrypt cost and long-name limit. No password is needed and nothing secret is
shown.

For a reverse volume (veilfs init --reverse), give its PLAINDIR: the format
is read from PLAINDIR/.gocryptfs.reverse.conf, and a first line says that it
is a reverse volume.

Options:
      --reverse   CIPHERDIR is a reverse volume's PLAINDIR: use its
                  .gocryptfs.reverse.conf even if it has a gocryptfs.conf
  -h, --help      show this help

Examples:
  $ veilfs info ~/vault.enc
  $ veilfs info ~/Documents
`

func runInfo(c *cli, cmd *command, args []string) error {
	fs, reverse := newFlags(cmd, addReverseFlag)
	if err := c.parseFlags(cmd, fs, args); err != nil {
		return err
	}
	dir, err := absPath(fs.Arg(0))
	if err != nil {
		return err
	}
	f, path, err := loadConfig(dir, *reverse, c.stderr)
	if err != nil {
		return err
	}
	if isReverse(path) {
		fmt.Fprintf(c.stdout, "Volume type:     reverse (its mount shows an encrypted, read-only view of the files in %s; config %s)\n", dir, config.ReverseFilename)
	}
	fmt.Fprint(c.stdout, formatInfo(f))
	return nil
}

func formatInfo(f *config.File) string {
	flags := make([]string, len(f.FeatureFlags))
	for i, fl := range f.FeatureFlags {
		flags[i] = string(fl)
	}
	names := "encrypted (EME, "
	switch {
	case f.Has(config.FlagPlaintextNames):
		names = "not encrypted (plaintext names)"
	default:
		if f.Has(config.FlagDirIV) {
			names += "per-directory IV, "
		} else {
			names += "deterministic, "
		}
		if f.Has(config.FlagRaw64) {
			names += "unpadded base64)"
		} else {
			names += "padded base64)"
		}
	}
	longNames := fmt.Sprintf("none (names over %d bytes are not supported)", nametransform.NameMax)
	switch {
	case f.Has(config.FlagPlaintextNames):
		longNames = "n/a"
	case f.Has(config.FlagLongNames) && f.LongNameMax > 0:
		longNames = fmt.Sprintf("%d bytes", f.LongNameMax)
	case f.Has(config.FlagLongNames):
		longNames = fmt.Sprintf("%d bytes", nametransform.NameMax)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Format version:  %d\n", f.Version)
	fmt.Fprintf(&b, "Creator:         %s\n", f.Creator)
	fmt.Fprintf(&b, "Feature flags:   %s\n", strings.Join(flags, " "))
	fmt.Fprintf(&b, "Content cipher:  %s\n", f.ContentAlgorithm())
	fmt.Fprintf(&b, "File names:      %s\n", names)
	fmt.Fprintf(&b, "Scrypt cost:     N=%d (logN %d), r=%d, p=%d\n", f.Scrypt.N, bits.Len(uint(f.Scrypt.N))-1, f.Scrypt.R, f.Scrypt.P)
	fmt.Fprintf(&b, "Long-name limit: %s\n", longNames)
	return b.String()
}

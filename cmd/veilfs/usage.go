package main

import (
	"fmt"
	"strings"
)

// The entries that document the unlock flags (addUnlockFlags) in the usage
// texts of the commands that take them: written once here, composed into
// each text by unlockUsage.String.

// optionColumn is where an option's description starts in an Options
// block: "      --masterkey-file FILE  unlock...".
const optionColumn = 29

// optionEntry formats one entry of an Options block: the flag with its
// argument, then its description, whose lines after the first (separated
// by "\n") are indented to the description column.
func optionEntry(flag, desc string) string {
	const indent = "      " // no short form: the column of "-x, "
	desc = strings.ReplaceAll(desc, "\n", "\n"+strings.Repeat(" ", optionColumn))
	return fmt.Sprintf("%s%-*s%s\n", indent, optionColumn-len(indent), flag, desc)
}

// The wording most commands use; a command rewords an entry in its
// unlockUsage where the secret plays another part for it.
const (
	passfileDesc       = "read the password from the first line of FILE"
	extpassDesc        = "run CMD with /bin/sh -c, use the first line it prints"
	keyfileDesc        = "unlock with a keyfile unlocker (veilfs keys)"
	masterKeyFileDesc  = "use the master key in FILE instead of a password"
	masterKeyStdinDesc = "read the master key from standard input (or the terminal)"
	masterKeyHexDesc   = "use this master key (visible to other users: avoid)"

	// For the commands that say "unlock" (ls, path, keys).
	unlockMasterKeyFileDesc = "unlock with the master key in FILE"
	unlockMasterKeyHexDesc  = "unlock with this master key (visible to other users: avoid)"
)

// unlockUsage is how one usage text documents the unlock flags: a field
// left empty takes the common wording above.
type unlockUsage struct {
	passfile, extpass, keyfile, masterKeyFile, masterKeyStdin, masterKeyHex string
	// formatFlags puts the entries of addFormatFlags (recoveryOptionsUsage)
	// after --masterkey-file, for the commands that define them.
	formatFlags bool
}

// String returns the entries, in the order the usage texts list them.
func (u unlockUsage) String() string {
	or := func(s, common string) string {
		if s == "" {
			return common
		}
		return s
	}
	var b strings.Builder
	b.WriteString(optionEntry("--passfile FILE", or(u.passfile, passfileDesc)))
	b.WriteString(optionEntry("--extpass CMD", or(u.extpass, extpassDesc)))
	b.WriteString(optionEntry("--keyfile FILE", or(u.keyfile, keyfileDesc)))
	b.WriteString(optionEntry("--masterkey-file FILE", or(u.masterKeyFile, masterKeyFileDesc)))
	if u.formatFlags {
		b.WriteString(recoveryOptionsUsage)
	}
	b.WriteString(optionEntry("--masterkey -", or(u.masterKeyStdin, masterKeyStdinDesc)))
	b.WriteString(optionEntry("--masterkey HEX", or(u.masterKeyHex, masterKeyHexDesc)))
	return b.String()
}

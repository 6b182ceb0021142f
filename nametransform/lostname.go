package nametransform

import "strings"

// A long-name object ("gocryptfs.longname.H") keeps its name only in its
// .name sidecar (FORMAT §5.4); H is a hash and gives nothing back. When a
// sync client loses the sidecar (one machine deletes or renames the file
// while another edits it: the edit wins, the object comes back, the
// sidecar does not) and nothing remembers the name, the entry is shown
// under a synthetic name rather than hidden:
//
//	lost name H
//
// with H exactly as in the object's name. It is clearly no name a person
// chose (43 or 44 base64 characters of a hash), it cannot be mistaken for
// a conflict copy's display name (no "(conflict ...)" marker), it always
// fits NameMax (an object's name is at most 255 bytes, and "lost name " is
// shorter than "gocryptfs.longname."), and it maps back to exactly one
// object without a directory scan. The extension of the real name cannot be
// known: it is encrypted with the rest of the name, in the missing sidecar.
// H also names the sidecar to look for in a sync service's version history.

// LostNamePrefix starts every synthetic name of a long-name object whose
// sidecar is lost.
const LostNamePrefix = "lost name "

// LostLongName returns the synthetic name of the long-name object longName
// (Classify(longName) == KindLongName): LostNamePrefix + its hash.
func LostLongName(longName string) string {
	return LostNamePrefix + strings.TrimPrefix(longName, LongNamePrefix)
}

// ParseLostLongName reverses LostLongName: it returns the object's name on
// disk for a synthetic name, and ok false for any other name (and for one
// whose object could not be in a directory: longer than NameMax).
func ParseLostLongName(name string) (longName string, ok bool) {
	h, ok := strings.CutPrefix(name, LostNamePrefix)
	if !ok || !isHashChars(h) || len(LongNamePrefix)+len(h) > NameMax {
		return "", false
	}
	return LongNamePrefix + h, true
}

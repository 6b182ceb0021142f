package nametransform

import (
	"regexp"
	"strings"
	"unicode/utf8"
)

// Sync clients that find two versions of a file keep both: they rename one
// into a "conflict copy" whose name is the original name plus a marker. In
// CIPHERDIR the original name is ciphertext, so the marked name no longer
// decrypts; SplitConflict recognises the marker and gives back the
// ciphertext name it was added to, so that the copy can be shown (with a
// readable marker) instead of silently hidden.
//
// The patterns, as each client writes them (NAME is the ciphertext name; a
// client that keeps file extensions puts the marker before the last dot,
// which for ciphertext names only matters in gocryptfs.longname.HASH and
// its .name sidecar):
//
//	Dropbox      NAME (conflicted copy 2026-11-27)
//	             NAME (laptop's conflicted copy 2026-11-27)
//	Nextcloud    NAME (conflicted copy 2026-11-27 123456)
//	Seafile      NAME (SFConflict ann@example.com 2026-11-27-12-34-56)
//	Syncthing    NAME.sync-conflict-20261127-123456-ABCDEFG
//	Google Drive NAME (1)
//	OneDrive     NAME-laptop
//	unison       NAME (conflict_on_2026-11-27), NAME (conflict #1_on_2026-11-27),
//	             NAME (conflict_on_2026-11-27_was_deleted) (-copyonconflict)
//
// OneDrive's "-HOST" cannot be told from a name alone (base64url contains
// '-'): SplitConflict reports it only as a candidate (Conflict.Weak), and
// callers use it only when the whole name does not decrypt.

// Conflict describes a conflict copy.
type Conflict struct {
	// Client is the sync client whose pattern matched.
	Client string
	// Label is the readable part of the marker: date, time and host or
	// device where the client wrote them, e.g. "2026-11-27 laptop".
	Label string
	// Weak is set for patterns that ordinary names can also match
	// (OneDrive's -HOST): only a name that does not decrypt whole may be
	// taken for such a conflict copy.
	Weak bool
}

var conflictPatterns = []struct {
	client string
	re     *regexp.Regexp
	label  func(m []string) string
	weak   bool
}{
	{"Dropbox", regexp.MustCompile(`^(.+) \((?:(.+)'s )?conflicted copy (\d{4}-\d\d-\d\d)\)$`),
		func(m []string) string { return join(m[3], m[2]) }, false},
	{"Nextcloud", regexp.MustCompile(`^(.+) \(conflicted copy (\d{4}-\d\d-\d\d) (\d{6})\)$`),
		func(m []string) string { return m[2] + " " + m[3][:2] + ":" + m[3][2:4] + ":" + m[3][4:] }, false},
	{"Seafile", regexp.MustCompile(`^(.+) \(SFConflict (\S+) (\d{4}-\d\d-\d\d)-(\d\d)-(\d\d)-(\d\d)\)$`),
		func(m []string) string { return m[3] + " " + m[4] + ":" + m[5] + ":" + m[6] + " " + m[2] }, false},
	{"Syncthing", regexp.MustCompile(`^(.+)\.sync-conflict-(\d{4})(\d\d)(\d\d)-(\d\d)(\d\d)(\d\d)-([A-Z0-9]{7})$`),
		func(m []string) string {
			return m[2] + "-" + m[3] + "-" + m[4] + " " + m[5] + ":" + m[6] + ":" + m[7] + " " + m[8]
		}, false},
	// unison 2.52 with -copyonconflict: "#N" counts further conflicts of
	// the day; "_was_deleted" marks the copy of a version changed on one
	// side and deleted on the other.
	{"unison", regexp.MustCompile(`^(.+) \(conflict(?: #(\d+))?_on_(\d{4}-\d\d-\d\d)(_was_deleted)?\)$`),
		func(m []string) string {
			label := m[3] + " unison"
			if m[2] != "" {
				label += " #" + m[2]
			}
			if m[4] != "" {
				label += ", deleted elsewhere"
			}
			return label
		}, false},
	{"Google Drive", regexp.MustCompile(`^(.+) \((\d{1,3})\)$`),
		func(m []string) string { return "copy " + m[2] }, false},
	{"OneDrive", regexp.MustCompile(`^(.+)-([A-Za-z0-9]{1,63})$`),
		func(m []string) string { return m[2] }, true},
}

func join(a, b string) string {
	if b == "" {
		return a
	}
	return a + " " + b
}

// SplitConflict recognises name as a sync client's conflict copy and returns
// the name it was made from. ok is false for a name that matches no
// pattern. The marker may sit before a long name's last dot (".HASH",
// ".name"), as clients that keep extensions put it.
func SplitConflict(name string) (orig string, c Conflict, ok bool) {
	// Strong patterns first, in every split, so that a weak match never
	// hides a certain one.
	for _, weak := range []bool{false, true} {
		for _, try := range splitExt(name) {
			for _, p := range conflictPatterns {
				if p.weak != weak {
					continue
				}
				m := p.re.FindStringSubmatch(try.stem)
				if m == nil {
					continue
				}
				// A pattern can match in the wrong place (OneDrive's
				// -HOST inside a long name's hash): only an original
				// that can be a real name counts.
				orig = m[1] + try.ext
				if Classify(orig) == KindReserved && orig != DirIVFilename {
					continue
				}
				return orig, Conflict{Client: p.client, Label: p.label(m), Weak: p.weak}, true
			}
		}
	}
	return "", Conflict{}, false
}

type stemExt struct{ stem, ext string }

// splitExt returns the ways a client may have split name into stem and
// extension: the whole name first, then at the last dot when the part
// after it is a long name's hash or the sidecar suffix.
func splitExt(name string) []stemExt {
	out := []stemExt{{name, ""}}
	// "gocryptfs" without its dot: unison splits "gocryptfs.diriv" at
	// the dot, "gocryptfs (conflict_on_2026-12-07).diriv".
	if i := strings.LastIndexByte(name, '.'); i > 0 && strings.HasPrefix(name, strings.TrimSuffix(ReservedPrefix, ".")) {
		out = append(out, stemExt{name[:i], name[i:]})
	}
	return out
}

// ConflictDisplayName is the plaintext name shown for a conflict copy of
// the file plain: the marker goes before the extension, as the clients do
// it, e.g. "report (conflict 2026-11-27 laptop).txt".
//
// A name must fit in NameMax bytes to be looked up at all, so a long stem
// is cut (at a UTF-8 boundary) and ends in "…"; such a display name does
// not give back the original name, which is why lookups compare display
// names instead of parsing them (cipherdir.ConflictDiskName). The marker
// is kept short enough to leave room for the stem: a label is cut to
// maxLabel bytes and an "extension" longer than maxExt stays in the stem.
// Parentheses in the label (a host name can have them) become brackets,
// so that ParseConflictDisplay still finds the marker.
func ConflictDisplayName(plain string, c Conflict) string {
	stem, ext := plain, ""
	if i := strings.LastIndexByte(plain, '.'); i > 0 && len(plain)-i <= maxExt {
		stem, ext = plain[:i], plain[i:]
	}
	label := strings.NewReplacer("(", "[", ")", "]").Replace(cutAtRune(c.Label, maxLabel))
	marker := " (conflict " + label + ")" + ext
	if len(stem)+len(marker) > NameMax {
		stem = cutAtRune(stem, NameMax-len(marker))
	}
	return stem + marker
}

const (
	maxLabel = 100
	maxExt   = 32
	ellipsis = "…"
)

// cutAtRune returns s if it fits in max bytes, else its longest prefix
// that ends at a rune boundary and fits with "…" appended, and the "…".
func cutAtRune(s string, max int) string {
	if len(s) <= max {
		return s
	}
	keep := max - len(ellipsis)
	for keep > 0 && !utf8.RuneStart(s[keep]) {
		keep--
	}
	return s[:keep] + ellipsis
}

var displayRe = regexp.MustCompile(`(?s)^(.*) \(conflict ([^()/]+)\)(\.[^.]*)?$`)

// ParseConflictDisplay reverses ConflictDisplayName: the original plaintext
// name and the label. ok is false when name has no conflict marker.
func ParseConflictDisplay(name string) (plain, label string, ok bool) {
	// Every lookup asks; almost no name has the marker, and this test is
	// two orders of magnitude cheaper than the regexp's.
	if !strings.Contains(name, " (conflict ") {
		return "", "", false
	}
	m := displayRe.FindStringSubmatch(name)
	if m == nil || m[1] == "" {
		return "", "", false
	}
	return m[1] + m[3], m[2], true
}

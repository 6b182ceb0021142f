package cipherdir

import (
	"slices"
	"strings"

	"github.com/veilfs/veilfs/cipher/config"
	"github.com/veilfs/veilfs/nametransform"
)

// The names every tool creates in CIPHERDIR besides encrypted entries
// (FORMAT §8). Each has an entry in the registry below, which says who
// owns it and what a leftover means; code that creates one takes its name
// from here, and fsck's leftover check reads the registry.
const (
	// ConfigTmpName is the file cipher/config's Save writes before
	// renaming it over gocryptfs.conf (FORMAT §2.4; gocryptfs's too).
	ConfigTmpName = config.Filename + ".tmp"
	// ConfigBakName is gocryptfs's backup of the previous config; veilfs
	// never writes it.
	ConfigBakName = config.Filename + ".bak"
	// DirIVTmpName is the temporary file ReplaceDirIV writes before
	// renaming it over the IV. Like every "gocryptfs." name it is never
	// shown in a mount; a crash can leave it behind.
	DirIVTmpName = nametransform.DirIVFilename + ".tmp"
	// DirIVRmdirPrefix starts the name a directory's IV is moved aside to
	// while the directory is removed (FORMAT §5.6); decimal digits follow.
	DirIVRmdirPrefix = nametransform.DirIVFilename + ".rmdir."
	// RotationJournalName is the rotation journal (fs/rotate), in the
	// root; RotationJournalTmpName is written and renamed over it when a
	// rotation starts.
	RotationJournalName    = nametransform.ReservedPrefix + "rotation"
	RotationJournalTmpName = RotationJournalName + ".tmp"
	// The rotation's temporaries, at most one of each per directory:
	// an object's re-encrypted copy, a hard link to a copy before it
	// replaces a name, and a long name's new sidecar (ReplaceSidecar).
	RotateTmpName  = nametransform.ReservedPrefix + "rotate.tmp"
	RotateLinkName = nametransform.ReservedPrefix + "rotate.link"
	RotateSideName = nametransform.ReservedPrefix + "rotate.side"
	// FsckReIVPrefix starts the hidden sibling fsck --repair moves a
	// directory's entries into when it gives the directory a new IV;
	// FsckMovingName is the marker inside it while entries move
	// (fs/fsck/reiv.go).
	FsckReIVPrefix = nametransform.ReservedPrefix + "fsck.reiv."
	FsckMovingName = nametransform.ReservedPrefix + "fsck.moving"
)

// Owner is the part of the code (or the format) a reserved name belongs to.
type Owner string

const (
	OwnerFormat Owner = "gocryptfs format" // gocryptfs and veilfs alike (FORMAT §1-§5)
	OwnerMount  Owner = "mount"            // a forward mount's operations
	OwnerKeys   Owner = "passwd+keys"      // init, passwd, keys and gocryptfs -passwd: the config's writers
	OwnerRotate Owner = "rotate"           // fs/rotate
	OwnerFsck   Owner = "fsck repair"      // fs/fsck --repair
)

// Reserved describes one reserved name or pattern of names.
type Reserved struct {
	// Pattern is the name, or a pattern as FORMAT §8 writes it ("<H>" a
	// long-name hash, "<n>" decimal digits, "<h>" a hash of a name).
	Pattern string
	Owner   Owner
	// RootOnly: only in CIPHERDIR itself.
	RootOnly bool
	// PlainNames: it exists in a plaintext-names volume too, where only
	// these names are the volume's (any other is a user's file).
	PlainNames bool
	// Leftover is set for a temporary that its owner normally removes or
	// renames away, and that fsck reports when a crash left it: what it
	// is and what to do, said of a non-empty one (--repair removes an
	// empty one and leaves any other alone). Temporaries that their owner
	// finishes by itself (fsck's own re-IV directory) have none.
	Leftover string

	match func(name string) bool
}

// Match reports whether name is one of the names r describes.
func (r Reserved) Match(name string) bool { return r.match(name) }

func exactly(s string) func(string) bool { return func(n string) bool { return n == s } }

func withDigits(prefix string) func(string) bool {
	return func(n string) bool {
		digits, ok := strings.CutPrefix(n, prefix)
		return ok && digits != "" && strings.Trim(digits, "0123456789") == ""
	}
}

func isLongNameObject(n string) bool {
	return nametransform.Classify(n) == nametransform.KindLongName
}

func isLongNameSidecar(n string) bool {
	return nametransform.Classify(n) == nametransform.KindLongNameSidecar
}

// reservedNames is the registry. It is never changed; ReservedNames and
// LeftoverName hand out copies.
var reservedNames = [...]Reserved{
	{Pattern: config.Filename, Owner: OwnerFormat, RootOnly: true, PlainNames: true, match: exactly(config.Filename)},
	{Pattern: nametransform.DirIVFilename, Owner: OwnerFormat, match: exactly(nametransform.DirIVFilename)},
	{Pattern: nametransform.LongNamePrefix + "<H>", Owner: OwnerFormat, match: isLongNameObject},
	{Pattern: nametransform.LongNamePrefix + "<H>" + nametransform.LongNameSuffix, Owner: OwnerFormat, match: isLongNameSidecar},
	{Pattern: ConfigTmpName, Owner: OwnerKeys, RootOnly: true, PlainNames: true, match: exactly(ConfigTmpName),
		Leftover: "a new gocryptfs.conf being written when veilfs passwd or keys, or gocryptfs -passwd, was interrupted; " +
			"the volume uses gocryptfs.conf: compare the two, then remove this one (veilfs passwd refuses to run while it exists)"},
	{Pattern: ConfigBakName, Owner: OwnerKeys, RootOnly: true, PlainNames: true, match: exactly(ConfigBakName)},
	{Pattern: RotationJournalName, Owner: OwnerRotate, RootOnly: true, PlainNames: true, match: exactly(RotationJournalName),
		Leftover: "the journal of a veilfs rotate that was interrupted before it marked the volume as rotating: " +
			"run veilfs rotate CIPHERDIR with the password it sets (the new one, if it was given --new-passfile), which finishes the rotation or removes the journal; " +
			"never delete it by hand, it may hold the key of files already re-encrypted"},
	{Pattern: RotationJournalTmpName, Owner: OwnerRotate, RootOnly: true, PlainNames: true, match: exactly(RotationJournalTmpName),
		Leftover: "a rotation journal being written when veilfs rotate was interrupted; nothing uses it: remove it"},
	{Pattern: RotateTmpName + ", " + RotateLinkName + ", " + RotateSideName, Owner: OwnerRotate, PlainNames: true,
		match: func(n string) bool { return n == RotateTmpName || n == RotateLinkName || n == RotateSideName },
		Leftover: "a temporary copy made by an interrupted veilfs rotate: if the rotation is unfinished, run veilfs rotate " +
			"CIPHERDIR to finish it (which removes this); otherwise remove it"},
	{Pattern: DirIVRmdirPrefix + "<n>", Owner: OwnerMount, match: withDigits(DirIVRmdirPrefix),
		Leftover: "the IV of a directory whose removal was interrupted: if a directory here reports missing-diriv, this may " +
			"be its IV (move it into that directory as gocryptfs.diriv); otherwise remove it"},
	{Pattern: DirIVTmpName, Owner: OwnerFsck, match: exactly(DirIVTmpName),
		Leftover: "a new directory IV being written when an fsck --repair was interrupted; nothing uses it: remove it"},
	{Pattern: FsckReIVPrefix + "<h>", Owner: OwnerFsck, match: func(n string) bool { return strings.HasPrefix(n, FsckReIVPrefix) }},
	{Pattern: FsckMovingName, Owner: OwnerFsck, match: exactly(FsckMovingName)},
}

// ReservedNames returns the registry of reserved names, in the order of
// FORMAT §8.
func ReservedNames() []Reserved { return slices.Clone(reservedNames[:]) }

// LeftoverName returns the registry entry of name if it is a temporary
// that a crash left behind (Leftover set) and may exist where it was
// found: in the root or not, in a volume with or without plaintext names.
func LeftoverName(name string, atRoot, plainNames bool) (Reserved, bool) {
	for _, r := range reservedNames {
		if r.Leftover == "" || r.RootOnly && !atRoot || plainNames && !r.PlainNames {
			continue
		}
		if r.match(name) {
			return r, true
		}
	}
	return Reserved{}, false
}

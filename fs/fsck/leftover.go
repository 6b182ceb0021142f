package fsck

import (
	"fmt"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/cipher/config"
	"github.com/veilfs/veilfs/fs/cipherdir"
	"github.com/veilfs/veilfs/nametransform"
)

// leftoverPattern is a temporary file that gocryptfs or veilfs creates and
// normally removes or renames away; a crash leaves it behind.
type leftoverPattern struct {
	match func(name string) bool
	// rootOnly: only in CIPHERDIR itself (the config's and the rotation
	// journal's temporaries).
	rootOnly bool
	// plainNames: also in a plaintext-names volume, where only these names
	// are ours (any other name is a user's file).
	plainNames bool
	// why is said of a non-empty one, which --repair leaves alone.
	why string
}

func exact(s string) func(string) bool { return func(n string) bool { return n == s } }

// Names of fs/rotate's temporaries (fs/rotate/tree.go, journal.go). They are
// not exported there; a rotation that finished leaves none of them.
const (
	rotateJournal = "gocryptfs.rotation"
	rotatePrefix  = "gocryptfs.rotate."
)

var leftoverPatterns = []leftoverPattern{
	{match: exact(config.Filename + ".tmp"), rootOnly: true, plainNames: true,
		why: "a new gocryptfs.conf being written when veilfs passwd or keys, or gocryptfs -passwd, was interrupted; " +
			"the volume uses gocryptfs.conf: compare the two, then remove this one (veilfs passwd refuses to run while it exists)"},
	{match: exact(rotateJournal), rootOnly: true, plainNames: true,
		why: "the journal of a veilfs rotate that was interrupted before it marked the volume as rotating: " +
			"run veilfs rotate CIPHERDIR with the password it sets (the new one, if it was given --new-passfile), which finishes the rotation or removes the journal; " +
			"never delete it by hand, it may hold the key of files already re-encrypted"},
	{match: exact(rotateJournal + ".tmp"), rootOnly: true, plainNames: true,
		why: "a rotation journal being written when veilfs rotate was interrupted; nothing uses it: remove it"},
	{match: func(n string) bool {
		return n == rotatePrefix+"tmp" || n == rotatePrefix+"link" || n == rotatePrefix+"side"
	}, plainNames: true,
		why: "a temporary copy made by an interrupted veilfs rotate: if the rotation is unfinished, run veilfs rotate " +
			"CIPHERDIR to finish it (which removes this); otherwise remove it"},
	{match: func(n string) bool {
		digits, ok := strings.CutPrefix(n, nametransform.DirIVFilename+".rmdir.")
		return ok && digits != "" && strings.Trim(digits, "0123456789") == ""
	},
		why: "the IV of a directory whose removal was interrupted: if a directory here reports missing-diriv, this may " +
			"be its IV (move it into that directory as gocryptfs.diriv); otherwise remove it"},
	{match: exact(cipherdir.DirIVTmpName),
		why: "a new directory IV being written when an fsck --repair was interrupted; nothing uses it: remove it"},
}

func leftoverOf(name string, atRoot, plainNames bool) *leftoverPattern {
	for i := range leftoverPatterns {
		p := &leftoverPatterns[i]
		if (p.rootOnly && !atRoot) || (plainNames && !p.plainNames) {
			continue
		}
		if p.match(name) {
			return p
		}
	}
	return nil
}

func isLeftover(name string, atRoot, plainNames bool) bool {
	return leftoverOf(name, atRoot, plainNames) != nil
}

// leftover reports one of our temporaries. An empty one (the crash came
// before anything was written) holds nothing and --repair removes it;
// anything else is reported with what to do, and left alone.
func (c *checker) leftover(d *dirState, name string, st *unix.Stat_t) {
	p := leftoverOf(name, d.loc.rel == "", c.v.PlaintextNames)
	l := d.loc.child(name, "", false)
	if st.Mode&unix.S_IFMT != unix.S_IFREG || st.Size != 0 {
		c.report(Leftover, l, p.why)
		return
	}
	idx := c.report(EmptyLeftover, l, fmt.Sprintf("an empty %s, left by a crash: it holds nothing", name))
	if c.opts.Repair {
		err := unix.Unlinkat(d.fd, name, 0)
		if err == nil {
			err = c.fault("leftover")
		}
		c.repaired(idx, "removed", err)
	}
}

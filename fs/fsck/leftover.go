package fsck

import (
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/fs/cipherdir"
)

// isLeftover reports whether name is a temporary that gocryptfs or veilfs
// creates and normally removes or renames away, which a crash left
// behind: the registry of reserved names (cipherdir.ReservedNames) says
// which, where, and what one means.
func isLeftover(name string, atRoot, plainNames bool) bool {
	_, ok := cipherdir.LeftoverName(name, atRoot, plainNames)
	return ok
}

// leftover reports one of our temporaries. An empty one (the crash came
// before anything was written) holds nothing and --repair removes it;
// anything else is reported with what to do, and left alone.
func (c *checker) leftover(d *dirState, name string, st *unix.Stat_t) {
	p, _ := cipherdir.LeftoverName(name, d.loc.rel == "", c.v.PlaintextNames)
	l := d.loc.child(name, "", false)
	if st.Mode&unix.S_IFMT != unix.S_IFREG || st.Size != 0 {
		c.report(Leftover, l, p.Leftover)
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

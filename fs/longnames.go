package fs

import (
	"errors"
	"fmt"

	"github.com/veilfs/veilfs/fs/cipherdir"
)

// A long-name object whose .name sidecar is missing (cipherdir/sidecars.go):
// either still on its way (a sync client delivers the object first), or
// lost (a delete or rename on one machine raced an edit on another; the
// edit won and the object came back without its sidecar). A listing gives
// it back its name when this machine remembers it (Volume.LongNames,
// written by every sidecar this mount reads or writes), and otherwise shows
// it under its synthetic name, "lost name H", which lookups map back to
// the object (existingName): readable, renamable to a real name (which
// writes a proper sidecar), deletable. Neither is corruption: the state is
// noted once as half-synced, and resolves when the sidecar arrives.

// sidecarless is what list shows for the entry disk of d, whose long name's
// sidecar EntryName found missing. skip is set when the entry has gone
// meanwhile.
func (n *Node) sidecarless(d *dirHandle, disk string) (name string, skip bool, err error) {
	r := n.r
	obj := r.vol.LongObject(disk)
	var werr error
	if !r.opts.ReadOnly {
		restored, err := r.vol.RestoreSidecar(d.fd, disk)
		if restored {
			r.stats.repairs.Add(1)
			r.log.Printf("restored the name of %s: a sync client had lost its .name sidecar; wrote it back from this machine's memory of long names",
				r.absCipherPath(d.childPath(obj)))
			r.resolveTransient(sidecarKey(d, obj))
		}
		werr = err
	}
	shown, err := r.vol.ShownName(d.fd, disk, d.iv, d.root)
	switch {
	case errors.Is(err, cipherdir.ErrNoSidecar):
		return "", true, nil // the entry went away while being listed
	case err != nil:
		return "", false, err
	case shown.Lost:
		r.noteTransient(sidecarKey(d, obj), dirPath(d),
			fmt.Sprintf("%s without its .name sidecar (listed as %q until it arrives; if it never does, its name is lost: "+
				"rename the entry to give it a real one)", obj, shown.Name))
	case shown.Recalled:
		what := fmt.Sprintf("%s without its .name sidecar (listed under the name this machine remembers", obj)
		if werr != nil {
			what += fmt.Sprintf("; writing it back failed: %v", werr)
		}
		r.noteTransient(sidecarKey(d, obj), dirPath(d), what+")")
	}
	return shown.Name, false, nil
}

// sidecarFound resolves the half-synced state of the long-name entry disk
// of d, if one was noted: its name was just read from its sidecar, or the
// entry is gone from there (deleted, or renamed to a real name). The
// ciphertext path is only worked out while some state is pending.
func (n *Node) sidecarFound(d *dirHandle, disk string) {
	if n.r.transients.pending.Load() == 0 {
		return
	}
	if obj := n.r.vol.LongObject(disk); obj != "" {
		n.r.resolveTransient(sidecarKey(d, obj))
	}
}

// sidecarKey names the half-synced state "obj in d has no sidecar".
func sidecarKey(d *dirHandle, obj string) string {
	return "sidecar:" + d.childPath(obj)
}

// dirPath is the ciphertext path of d, for a log line.
func dirPath(d *dirHandle) string {
	p, err := d.node.cipherPath()
	if err != nil {
		return "(unknown)"
	}
	return p
}

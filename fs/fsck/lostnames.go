package fsck

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/fs/cipherdir"
	"github.com/veilfs/veilfs/nametransform"
)

// A long-name object whose .name sidecar is missing (cipherdir/sidecars.go)
// is a bad-sidecar problem, but not one for the quarantine: the object is
// intact, only its name is gone. When this machine's mounts remember the
// name (Options.LongNameMemory), --repair writes the sidecar back. When
// nothing does, the name is lost, and --repair gives the entry the name a
// mount shows it under, "lost name H", as a real encrypted name: gocryptfs
// and every tool then see an ordinary file that the user can rename, where
// before gocryptfs hid it for good.

// noSidecar checks the entry name of d, a long-name object (or a sync
// client's conflict copy of one) whose sidecar EntryName found missing. It
// returns what name returns.
func (c *checker) noSidecar(d *dirState, name string, st *unix.Stat_t) (plain string, known, isEntry bool, move []int) {
	atRoot := d.loc.rel == ""
	obj := c.v.LongObject(name)
	side := nametransform.SidecarName(obj)
	// err: the remembered name does not decrypt, or the entry is gone.
	shown, err := c.v.ShownName(d.fd, name, d.iv, atRoot)
	if _, remembered := c.v.RecallName(obj); remembered {
		l := d.loc.child(name, shown.Name, err == nil)
		idx := c.report(BadSidecar, l, fmt.Sprintf("the long name's sidecar %s is missing (lost by a sync client); "+
			"this machine's mounts remember the name it held, so --repair writes it back", side))
		if !c.opts.Repair || l.inQ {
			return shown.Name, err == nil, true, nil
		}
		restored, rerr := c.v.RestoreSidecar(d.fd, name)
		if rerr == nil && !restored {
			rerr = fmt.Errorf("%s could not be written back (the entry or its sidecar changed meanwhile); run fsck again", side)
		}
		if rerr == nil {
			rerr = c.fault("sidecar-restored")
		}
		c.repaired(idx, "wrote "+side+" back from this machine's memory of long names", rerr)
		if rerr != nil {
			return shown.Name, err == nil, true, nil
		}
		// The sidecar is there now: check the name as any other (once:
		// it is found this time).
		return c.name(d, name, st)
	}
	if err != nil {
		// Gone since it was listed (the caller saw it a moment ago).
		return "", false, false, nil
	}
	l := d.loc.child(name, shown.Name, true)
	detail := fmt.Sprintf("the long name's sidecar %s is missing and nothing on this machine remembers the name it held: the name is lost "+
		"(a sync client dropped the sidecar, typically when the file was deleted or renamed on one machine while it was changed on another); "+
		"a mount shows the entry as %q", side, shown.Name)
	switch {
	case d.noneDecrypts:
		detail += "; no other name in this directory decrypts, so its gocryptfs.diriv is suspect and --repair leaves this entry as it is"
	default:
		detail += ", and --repair gives it that name for good: rename it to its real name afterwards"
	}
	idx := c.report(BadSidecar, l, detail)
	if !l.inQ && !d.noneDecrypts {
		d.lostNames[name] = idx
	}
	return shown.Name, true, true, nil
}

// nameLost renames the long-name object name of d, whose name is lost,
// to its synthetic name (cipherdir.LostEntryName) encrypted as a real one,
// or that name with "~2", "~3"... when it is taken. Safe at any crash: a
// sidecar the new name needs is written whole before the rename (a crash
// between the two leaves a sidecar that the next run reuses), and the
// rename, RENAME_NOREPLACE, is the one step that changes the entry.
func (c *checker) nameLost(d *dirState, name string, idx int) {
	atRoot := d.loc.rel == ""
	base, _, ok := c.v.LostEntryName(name)
	if !ok {
		return
	}
	var err error
	for i := 1; i <= 100; i++ {
		plain := withSuffix(base, i)
		var disk, cname string
		if disk, cname, err = c.v.DiskName(plain, d.iv, atRoot); err != nil {
			break
		}
		created := false
		if c.v.IsLong(disk) {
			if created, err = c.v.WriteSidecarWhole(d.fd, disk, cname); err != nil {
				if errors.Is(err, unix.EEXIST) {
					continue // another entry's sidecar
				}
				break
			}
			d.refs[disk]++ // not an orphan, whatever happens next
			if err = c.fault("lost-sidecar"); err != nil {
				break
			}
		}
		err = cipherdir.RenameNoReplace(d.fd, name, d.fd, disk)
		if errors.Is(err, unix.EEXIST) {
			if created {
				_ = unix.Unlinkat(d.fd, nametransform.SidecarName(disk), 0)
			}
			continue
		}
		if err == nil {
			err = c.fault("lost-renamed")
		}
		c.repaired(idx, fmt.Sprintf("renamed to %q (now %s in CIPHERDIR); rename it to its real name", plain, disk), err)
		return
	}
	if err == nil {
		err = errors.New("no free name")
	}
	c.repaired(idx, "", fmt.Errorf("give it its synthetic name: %w", err))
}

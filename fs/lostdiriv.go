package fs

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/fs/cipherdir"
)

// errNoDirIV is a directory without gocryptfs.diriv whose names no IV
// known here decrypts, and which has not changed for halfSyncGrace. It is
// not counted as corruption (a sync client may still be delivering the
// IV), but it fails the operation with EIO: the names cannot be shown. It
// is never cached, so the directory works as soon as the IV arrives.
var errNoDirIV = errors.New("the directory has no gocryptfs.diriv and no IV known here decrypts its names")

// halfSyncGrace is how long after its last change a directory whose names
// no known IV decrypts is taken for one whose gocryptfs.diriv a sync client
// has not delivered yet: it lists as empty, as if its files had not
// arrived either, rather than failing every walk of a folder being synced.
// A directory in that state for longer has lost its IV: EIO.
const halfSyncGrace = time.Minute

// ivWalkTTL is how long the IVs found by walking the volume are reused: a
// directory that stays without IV must not cost a walk of the whole
// volume at every access.
const ivWalkTTL = 10 * time.Second

// ivWalk caches cipherdir.VolumeDirIVs for ivWalkTTL.
type ivWalk struct {
	mu    sync.Mutex
	at    time.Time
	cands []cipherdir.DirIVCandidate
}

// recoverDirIV finds the IV of the directory open at fd, whose
// gocryptfs.diriv is missing (cipherdir/findiv.go): from a conflict copy
// in it, this machine's memory of IVs, or another directory of the volume
// (a renamed copy). The match is written back as the directory's
// gocryptfs.diriv, except on a read-only mount, which only uses it. A
// directory that holds no encrypted name gives a nil IV: it lists as
// empty, and the first entry created in it writes a fresh IV
// (dirForNewName). One whose names no candidate decrypts gives a nil IV
// too while it is young (arriving: halfSyncGrace), errNoDirIV after.
func (n *Node) recoverDirIV(fd int) (iv []byte, arriving bool, err error) {
	vol := n.r.vol
	cpath, err := n.cipherPath()
	if err != nil {
		return nil, false, err
	}
	key := "diriv:" + cpath
	var cands []cipherdir.DirIVCandidate
	if lost, err := cipherdir.LostIVs(fd, nil); err == nil {
		for _, iv := range lost {
			cands = append(cands, cipherdir.DirIVCandidate{IV: iv, From: "a conflict copy of gocryptfs.diriv in it"})
		}
	}
	for _, iv := range n.r.ivs.Recall(cpath) {
		cands = append(cands, cipherdir.DirIVCandidate{IV: iv, From: "this machine's memory of the directory's IV"})
	}
	for _, iv := range n.r.ivs.All() {
		cands = append(cands, cipherdir.DirIVCandidate{IV: iv, From: "this machine's memory of directory IVs"})
	}
	match, names, err := vol.MatchDirIV(fd, n.IsRoot(), cands)
	if errors.Is(err, cipherdir.ErrNoDirIVMatch) {
		match, names, err = vol.MatchDirIV(fd, n.IsRoot(), n.r.volumeIVs())
	}
	switch {
	case names == 0 && err == nil:
		n.r.resolveTransient(key)
		return nil, false, nil
	case errors.Is(err, cipherdir.ErrNoDirIVMatch):
		n.r.noteTransient(key, cpath, "a directory without its gocryptfs.diriv")
		var st unix.Stat_t
		if unix.Fstat(fd, &st) == nil && time.Since(time.Unix(st.Ctim.Unix())) < time.Duration(n.r.halfSyncGrace.Load()) {
			return nil, true, nil
		}
		return nil, false, fmt.Errorf("%s: %w", n.r.absCipherPath(cpath), errNoDirIV)
	case err != nil:
		return nil, false, err
	}
	if !n.r.opts.ReadOnly {
		err := cipherdir.RestoreDirIV(fd, match.IV)
		if errors.Is(err, unix.EEXIST) {
			// The sync client delivered the IV meanwhile: it wins.
			n.r.resolveTransient(key)
			iv, err := n.r.vol.DirIVAt(fd)
			return iv, false, err
		}
		if err != nil {
			n.r.log.Printf("restoring gocryptfs.diriv of %s: %v", n.r.absCipherPath(cpath), err)
		} else {
			n.r.stats.repairs.Add(1)
			n.r.log.Printf("restored gocryptfs.diriv of %s from %s: a sync client recreated the directory without it",
				n.r.absCipherPath(cpath), match.From)
		}
	}
	n.r.resolveTransient(key)
	return match.IV, false, nil
}

// volumeIVs returns the IV of every directory of the volume, walking it at
// most once per ivWalkTTL.
func (r *root) volumeIVs() []cipherdir.DirIVCandidate {
	w := &r.ivWalk
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.cands != nil && time.Since(w.at) < ivWalkTTL {
		return w.cands
	}
	cands, err := cipherdir.VolumeDirIVs(r.rootfd)
	if err != nil {
		r.log.Printf("looking for a lost directory IV in %s: %v", r.vol.Dir, err)
	}
	for i := range cands {
		cands[i].From = "the directory " + r.absCipherPath(cands[i].From)
	}
	w.cands, w.at = cands, time.Now()
	return cands
}

// dirForNewName opens directory n for creating an entry in it. A directory
// without gocryptfs.diriv that is empty, so that nothing depends on the IV,
// gets a fresh one first: the entry's name needs it. One whose names wait
// for their IV refuses (EIO): a fresh IV would make the sync client keep
// only one of the two.
func (n *Node) dirForNewName() (*dirHandle, error) {
	d, err := n.openDir()
	if err != nil || !d.needsIV {
		return d, err
	}
	if d.arriving {
		d.close()
		return nil, fmt.Errorf("create an entry: %w", errNoDirIV)
	}
	err = cipherdir.WriteDirIV(d.fd)
	d.close()
	if err != nil && !errors.Is(err, unix.EEXIST) {
		return nil, err
	}
	n.expireDir()
	d, err = n.openDir()
	if err == nil && d.needsIV {
		d.close()
		return nil, fmt.Errorf("write gocryptfs.diriv: %w", errNoDirIV)
	}
	return d, err
}

// lostIVs returns the IVs that names in d may have been encrypted under
// before a sync client replaced its gocryptfs.diriv: those of conflict
// copies of the IV file, and those this machine remembers for the
// directory. They are looked for at most once per dirTTL: a lookup that
// finds nothing is what every create starts with, and a conflict copy
// arriving later must still be found.
func (n *Node) lostIVs(d *dirHandle) [][]byte {
	if n.r.vol.PlaintextNames || !n.r.vol.DirIV || d.iv == nil {
		return nil
	}
	now := int64(time.Since(n.r.start))
	d.lostMu.Lock()
	defer d.lostMu.Unlock()
	if d.lostAt != 0 && now-d.lostAt < int64(dirTTL) {
		return d.lost
	}
	d.lostAt = now
	d.lost, _ = cipherdir.LostIVs(d.fd, d.iv)
	if n.r.ivs == nil {
		return d.lost
	}
	if cpath, err := n.cipherPath(); err == nil {
		for _, iv := range n.r.ivs.Recall(cpath) {
			if !bytes.Equal(iv, d.iv) {
				d.lost = append(d.lost, iv)
			}
		}
	}
	return d.lost
}

// repairLostEntry finds the entry name of d under a lost IV (a lookup,
// before any listing, of a file created under the IV a sync client
// replaced) and re-encrypts its name under d's IV, as a listing would. It
// returns the entry's name on disk now.
func (n *Node) repairLostEntry(d *dirHandle, name string) (string, bool) {
	if n.r.opts.ReadOnly {
		return "", false
	}
	lost := n.lostIVs(d)
	if len(lost) == 0 {
		return "", false
	}
	r, found, err := n.r.vol.RepairLostEntry(d.fd, name, d.iv, lost, d.root)
	if err != nil {
		n.r.log.Printf("repairing a name in %s: %v", n.r.absCipherPath(dirPath(d)), err)
	}
	if !found {
		return "", false
	}
	n.r.stats.repairs.Add(1)
	n.r.log.Printf("repaired %s: its name was encrypted with a directory IV that a sync client replaced; now %s",
		n.r.absCipherPath(d.childPath(r.Old)), n.r.absCipherPath(d.childPath(r.New)))
	return r.New, r.Plain == name
}

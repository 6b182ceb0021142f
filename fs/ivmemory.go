package fs

import (
	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/fs/cipherdir"
)

// The mount remembers the IV of every directory it creates or reads
// (syncmem.IVs, Options.IVMemory): Readdir tries the remembered IVs of a
// directory whose names do not decrypt (repairLostIV), and a directory
// that lost its gocryptfs.diriv is matched against them (recoverDirIV).

// rememberDir records the IV of the directory disk just created in d.
func (n *Node) rememberDir(d *dirHandle, disk string) {
	if n.r.ivs == nil || !n.r.vol.DirIV || n.r.vol.PlaintextNames {
		return
	}
	fd, err := cipherdir.OpenDirAt(d.fd, disk)
	if err != nil {
		return
	}
	defer unix.Close(fd)
	if iv, err := cipherdir.ReadDirIV(fd); err == nil {
		n.r.ivs.Record(d.childPath(disk), iv)
	}
}

package fs

// The mount remembers the IV of every directory it creates or reads
// (syncmem.IVs, Options.IVMemory): Readdir tries the remembered IVs of a
// directory whose names do not decrypt (repairLostIV), and a directory
// that lost its gocryptfs.diriv is matched against them (recoverDirIV).

// rememberDir records iv, the IV of the directory disk just created in d.
func (n *Node) rememberDir(d *dirHandle, disk string, iv []byte) {
	if n.r.ivs == nil || iv == nil {
		return
	}
	n.r.ivs.Record(d.childPath(disk), iv)
}

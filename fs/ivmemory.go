package fs

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/fs/cipherdir"
	"github.com/veilfs/veilfs/nametransform"
)

// ivMemory remembers the IV of every directory this machine creates or
// reads, in a small file outside CIPHERDIR (Options.IVMemory). A sync tool that simply
// overwrites (rsync, rclone sync) replaces a directory's gocryptfs.diriv
// with another machine's when both created the same directory; the names
// this machine encrypted under its own IV then no longer decrypt, and no
// conflict copy of the IV is left to find them with (cipherdir.LostIVs).
// The memory is that copy: Readdir tries the remembered IVs of a
// directory whose names do not decrypt (repairLostIV).
//
// An IV is not secret (it sits next to the names in CIPHERDIR), so the file
// needs no protection beyond the user's own directory; it only grows by one
// line per directory (and per new IV of one), and losing it loses only
// these repairs. A directory that lost its gocryptfs.diriv altogether (a
// sync client recreated it) is matched against every remembered IV
// (recoverDirIV).
type ivMemory struct {
	path string
	mu   sync.Mutex
	ivs  map[string][][]byte // ciphertext directory path -> IVs; nil until loaded
	// known holds every IV in ivs, to tell cheaply whether a directory
	// read by the mount is remembered already.
	known map[string]struct{}
}

func newIVMemory(path string) *ivMemory {
	if path == "" {
		return nil
	}
	return &ivMemory{path: path}
}

// record notes the IV of the directory at ciphertext path cpath. Failures
// are ignored: the memory is a safety net, not part of the volume.
func (m *ivMemory) record(cpath string, iv []byte) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.load()
	m.ivs[cpath] = append(m.ivs[cpath], bytes.Clone(iv))
	m.known[string(iv)] = struct{}{}
	if err := os.MkdirAll(filepath.Dir(m.path), 0o700); err != nil {
		return
	}
	f, err := os.OpenFile(m.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return
	}
	defer f.Close()
	f.WriteString(hex.EncodeToString(iv) + " " + cpath + "\n")
}

// recall returns the IVs remembered for the directory at cpath.
func (m *ivMemory) recall(cpath string) [][]byte {
	if m == nil {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.load()
	return m.ivs[cpath]
}

// all returns every IV remembered, for a directory that lost its
// gocryptfs.diriv and may have lost it under another path (a rename).
func (m *ivMemory) all() [][]byte {
	if m == nil {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.load()
	var out [][]byte
	for _, ivs := range m.ivs {
		out = append(out, ivs...)
	}
	return out
}

// knows reports whether iv is remembered under any path: the cheap test
// before recording the IV of a directory a mount has read.
func (m *ivMemory) knows(iv []byte) bool {
	if m == nil {
		return true // nothing to record into
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.load()
	_, ok := m.known[string(iv)]
	return ok
}

// load reads the file the first time the memory is used; m.mu is held.
func (m *ivMemory) load() {
	if m.ivs == nil {
		m.ivs = map[string][][]byte{}
		m.known = map[string]struct{}{}
		if f, err := os.Open(m.path); err == nil {
			sc := bufio.NewScanner(f)
			for sc.Scan() {
				h, p, ok := strings.Cut(sc.Text(), " ")
				iv, err := hex.DecodeString(h)
				if ok && err == nil && len(iv) == nametransform.DirIVLen {
					m.ivs[p] = append(m.ivs[p], iv)
					m.known[string(iv)] = struct{}{}
				}
			}
			f.Close()
		}
	}
}

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
		n.r.ivs.record(d.childPath(disk), iv)
	}
}

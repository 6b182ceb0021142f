// Package syncmem keeps this machine's memories of a volume, outside
// CIPHERDIR: what the sync client may take away from CIPHERDIR and the
// volume itself cannot give back. They hold ciphertext only (directory
// IVs and encrypted names, which sit in CIPHERDIR in the clear anyway), so
// they need no protection beyond the user's own directory, and losing one
// loses only the repairs it allows. A mount writes them; fsck reads them.
package syncmem

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/veilfs/veilfs/nametransform"
)

// maxMemory bounds what is read of a memory file: far more than any real
// volume needs (a line per directory), and a damaged file cannot make a
// mount or fsck use unbounded memory.
const maxMemory = 64 << 20

// IVs remembers the IV of every directory this machine creates or reads,
// one line per directory path and IV, "HEX-IV CIPHERTEXT-PATH". A sync
// tool that overwrites (rsync, rclone sync) replaces a directory's
// gocryptfs.diriv with another machine's without leaving a conflict copy,
// and a sync client can recreate a directory without its gocryptfs.diriv
// (a rename on one machine racing an edit inside it on another): the
// memory is then the copy the volume no longer has.
//
// A directory this mount removes has no IV left to protect: Forget drops
// it, and appends "forget CIPHERTEXT-PATH", so that a mount that creates
// and removes directories all day (a build tree, a package cache) holds
// the IVs of the directories that exist, not of every one there ever was.
// Older versions skip such a line (its first field is no IV).
type IVs struct {
	path  string
	mu    sync.Mutex
	out   appender
	ivs   map[string][][]byte // ciphertext directory path -> IVs; nil until loaded
	known map[string]struct{} // every IV in ivs
}

// OpenIVs returns the memory kept in the file at path; nil (a memory that
// remembers nothing) for "".
func OpenIVs(path string) *IVs {
	if path == "" {
		return nil
	}
	return &IVs{path: path, out: appender{path: path}}
}

// Close closes the memory file, if a Record opened it.
func (m *IVs) Close() {
	if m == nil {
		return
	}
	m.mu.Lock()
	m.out.close()
	m.mu.Unlock()
}

// Record notes the IV of the directory at ciphertext path cpath. Failures
// are ignored: the memory is a safety net, not part of the volume.
func (m *IVs) Record(cpath string, iv []byte) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.load()
	m.ivs[cpath] = append(m.ivs[cpath], bytes.Clone(iv))
	m.known[string(iv)] = struct{}{}
	m.out.append(hex.EncodeToString(iv) + " " + cpath + "\n")
}

// forgetTag starts the line Forget appends.
const forgetTag = "forget"

// Forget drops what is remembered for the directory at cpath, which was
// just removed. Failures to write are ignored, as in Record.
func (m *IVs) Forget(cpath string) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.load()
	ivs, ok := m.ivs[cpath]
	if !ok {
		return
	}
	m.drop(cpath, ivs)
	m.out.append(forgetTag + " " + cpath + "\n")
}

// drop removes cpath and its IVs from the maps; m.mu is held.
func (m *IVs) drop(cpath string, ivs [][]byte) {
	delete(m.ivs, cpath)
	for _, iv := range ivs {
		delete(m.known, string(iv))
	}
}

// Recall returns the IVs remembered for the directory at cpath.
func (m *IVs) Recall(cpath string) [][]byte {
	if m == nil {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.load()
	return m.ivs[cpath]
}

// All returns every IV remembered, for a directory that lost its
// gocryptfs.diriv under another path than the one it was seen at.
func (m *IVs) All() [][]byte {
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

// Knows reports whether iv is remembered under any path: the cheap test
// before recording the IV of a directory a mount has read. A nil memory
// knows everything, so that nothing is recorded into it.
func (m *IVs) Knows(iv []byte) bool {
	if m == nil {
		return true
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.load()
	_, ok := m.known[string(iv)]
	return ok
}

// load reads the file the first time the memory is used; m.mu is held.
// Lines that do not parse are skipped.
func (m *IVs) load() {
	if m.ivs != nil {
		return
	}
	m.ivs = map[string][][]byte{}
	m.known = map[string]struct{}{}
	f, err := os.Open(m.path)
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(io.LimitReader(f, maxMemory))
	for sc.Scan() {
		h, p, ok := strings.Cut(sc.Text(), " ")
		if ok && h == forgetTag {
			m.drop(p, m.ivs[p])
			continue
		}
		iv, err := hex.DecodeString(h)
		if ok && err == nil && len(iv) == nametransform.DirIVLen {
			m.ivs[p] = append(m.ivs[p], iv)
			m.known[string(iv)] = struct{}{}
		}
	}
}

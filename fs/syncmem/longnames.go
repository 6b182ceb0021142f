package syncmem

import (
	"bufio"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"io"
	"os"
	"strings"
	"sync"
	"syscall"

	"github.com/veilfs/veilfs/nametransform"
)

// LongNames remembers the full encrypted names of the long-name objects
// this machine has seen (FORMAT §5.4). A long name lives only in its .name
// sidecar; when one machine deletes or renames a long-named file while
// another edits it, the sync service keeps the edited object and loses the
// sidecar, and nothing in CIPHERDIR can give the name back. This machine
// may have read or written that name before: then it can.
//
// The file holds one full encrypted name per line. An entry is found by
// the SHA-256 of its own text, which is what the object's name on disk is
// made of, so it can only ever name the object whose hash it is: a
// tampered, truncated or foreign file can make Recall miss, never return a
// wrong name. Reading is bounded (maxLine, and maxMemory: some 190,000
// long names, far more than a machine sees) so that a huge or hostile file
// costs little.
//
// A nil *LongNames remembers nothing. All methods are safe for concurrent
// use.
type LongNames struct {
	path     string
	readOnly bool

	mu     sync.Mutex
	out    appender
	loaded bool
	names  map[[sha256.Size]byte]string
	limit  int64 // maxMemory; smaller in tests
	size   int64 // bytes of the file read or appended; appending stops at limit
	// cut: the file ends without a newline (an append cut short), so the
	// next append starts a new line first.
	cut bool
}

// maxLine skips longer lines: a full encrypted name is at most
// nametransform.MaxSidecarLen (344) bytes.
const maxLine = 400

// OpenLongNames returns the memory kept in the file path, which Record
// appends to (creating it and its directory, 0600 and 0700, on first
// need). An empty path gives nil: no memory.
func OpenLongNames(path string) *LongNames {
	if path == "" {
		return nil
	}
	return &LongNames{path: path, limit: maxMemory, out: appender{path: path}}
}

// Close closes the memory file, if a Record opened it.
func (m *LongNames) Close() {
	if m == nil {
		return
	}
	m.mu.Lock()
	m.out.close()
	m.mu.Unlock()
}

// ReadLongNames returns the memory in the file path for recalling only:
// Record keeps names in RAM and never writes. For tools that promise to
// write nothing (a check without --repair, a listing). An empty path gives
// nil.
func ReadLongNames(path string) *LongNames {
	m := OpenLongNames(path)
	if m != nil {
		m.readOnly = true
	}
	return m
}

// Record remembers cname, a full encrypted long name just read from or
// written to a sidecar. A name already known costs a map lookup. Failures
// to write are ignored: the memory is a safety net.
func (m *LongNames) Record(cname string) {
	if m == nil || !validName(cname) {
		return
	}
	key := sha256.Sum256([]byte(cname))
	m.mu.Lock()
	defer m.mu.Unlock()
	m.load()
	if _, ok := m.names[key]; ok {
		return
	}
	m.names[key] = cname
	if m.readOnly || m.size+int64(len(cname))+2 > m.limit {
		return // a line past the limit would never be read back
	}
	line := cname + "\n"
	if m.cut {
		line = "\n" + line
	}
	if m.out.append(line) == nil {
		m.size += int64(len(line))
		m.cut = false
	}
}

// Recall returns the full encrypted name of the long-name object whose
// name on disk is obj ("gocryptfs.longname.H", H in either base64
// variant), if this machine has seen it. The name returned hashes to H.
func (m *LongNames) Recall(obj string) (cname string, ok bool) {
	if m == nil {
		return "", false
	}
	key, ok := hashOf(obj)
	if !ok {
		return "", false
	}
	m.mu.Lock()
	m.load()
	cname, ok = m.names[key]
	m.mu.Unlock()
	if !ok {
		return "", false
	}
	// Entries are stored under their own hash; checked again here so that
	// no path through this type can hand out a name for another object.
	sum := sha256.Sum256([]byte(cname))
	if subtle.ConstantTimeCompare(sum[:], key[:]) != 1 {
		return "", false
	}
	return cname, true
}

// hashOf decodes the hash in a long-name object's name. Both base64url
// variants occur (FORMAT §0: Raw64 volumes have 43 characters, older ones
// 44 with padding); decoding is strict, so one hash has one spelling.
func hashOf(obj string) (key [sha256.Size]byte, ok bool) {
	h, found := strings.CutPrefix(obj, nametransform.LongNamePrefix)
	if !found {
		return key, false
	}
	enc := base64.RawURLEncoding.Strict()
	if strings.HasSuffix(h, "=") {
		enc = base64.URLEncoding.Strict()
	}
	b, err := enc.DecodeString(h)
	if err != nil || len(b) != sha256.Size {
		return key, false
	}
	copy(key[:], b)
	return key, true
}

// validName reports whether s can be a full encrypted name: 1 to
// MaxSidecarLen base64url characters (and '=' padding). Anything else is
// not written (it would break the one-name-a-line format) nor read.
func validName(s string) bool {
	if s == "" || len(s) > nametransform.MaxSidecarLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_', c == '=':
		default:
			return false
		}
	}
	return true
}

// load reads the file once, the first time the memory is used. m.mu is
// held.
func (m *LongNames) load() {
	if m.loaded {
		return
	}
	m.loaded = true
	m.names = map[[sha256.Size]byte]string{}
	f, err := os.OpenFile(m.path, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return
	}
	defer f.Close()
	r := bufio.NewReaderSize(io.LimitReader(f, m.limit), maxLine+1)
	for {
		line, err := r.ReadSlice('\n')
		m.size += int64(len(line))
		long := false
		for errors.Is(err, bufio.ErrBufferFull) {
			// Longer than any name: skip to the end of the line.
			long = true
			line, err = r.ReadSlice('\n')
			m.size += int64(len(line))
		}
		if err != nil {
			// The end, or a last line without its newline: an append cut
			// short, or a file cut at the limit. Either way not a whole name.
			m.cut = long || len(line) > 0
			return
		}
		if name := string(line[:len(line)-1]); !long && validName(name) {
			m.names[sha256.Sum256([]byte(name))] = name
		}
	}
}

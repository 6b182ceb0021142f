package fs

import (
	"sync/atomic"
	"time"
)

// Stats are a mount's activity counters, for `veilfs status` and the idle
// unmount. They are read without locks, so two of them may be a moment
// apart.
type Stats struct {
	Started time.Time
	// Requests counts the FUSE operations that reached a node: a value
	// that stops changing means nobody is using the mount.
	Requests     uint64
	OpenFiles    int64
	BytesRead    uint64 // plaintext bytes returned to readers
	BytesWritten uint64 // plaintext bytes accepted from writers
	Corruptions  uint64 // corrupt ciphertext objects reported
}

// counters are the live values behind Stats.
type counters struct {
	requests     atomic.Uint64
	openFiles    atomic.Int64
	bytesRead    atomic.Uint64
	bytesWritten atomic.Uint64
}

// touch counts one operation. Every node method that serves a request
// calls it first; the cost is one atomic add.
func (r *root) touch() { r.stats.requests.Add(1) }

// Stats returns the mount's counters now.
func (m *Mount) Stats() Stats {
	r := m.root
	return Stats{
		Started:      r.start,
		Requests:     r.stats.requests.Load(),
		OpenFiles:    r.stats.openFiles.Load(),
		BytesRead:    r.stats.bytesRead.Load(),
		BytesWritten: r.stats.bytesWritten.Load(),
		Corruptions:  r.corruptions.Load(),
	}
}

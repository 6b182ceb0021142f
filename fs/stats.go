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
	Corruptions  uint64 // corrupt ciphertext objects found, each counted once
	Sync         SyncStats
}

// SyncStats count what a sync client did to CIPHERDIR that the mount had
// to deal with, so a user can see the machinery at work.
type SyncStats struct {
	// Repairs counts entries given back: names re-encrypted under a
	// directory's kept IV, lost directory IVs and long-name sidecars
	// restored.
	Repairs uint64
	// ClientFiles counts listed entries skipped because they belong to a
	// sync client (.stfolder, .syncthing.*.tmp, desktop.ini, ...).
	ClientFiles uint64
	// TransientSeen counts the half-synced states met (a directory before
	// its gocryptfs.diriv, a long name before its sidecar), each once;
	// TransientResolved those of them that have since resolved.
	TransientSeen     uint64
	TransientResolved uint64
}

// counters are the live values behind Stats.
type counters struct {
	requests     atomic.Uint64
	openFiles    atomic.Int64
	bytesRead    atomic.Uint64
	bytesWritten atomic.Uint64

	repairs           atomic.Uint64
	clientFiles       atomic.Uint64
	transientSeen     atomic.Uint64
	transientResolved atomic.Uint64
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
		Sync: SyncStats{
			Repairs:           r.stats.repairs.Load(),
			ClientFiles:       r.stats.clientFiles.Load(),
			TransientSeen:     r.stats.transientSeen.Load(),
			TransientResolved: r.stats.transientResolved.Load(),
		},
	}
}

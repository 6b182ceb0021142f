package fs

import (
	"sync/atomic"

	"github.com/veilfs/veilfs/fs/mountstats"
)

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
func (m *Mount) Stats() mountstats.Stats {
	r := m.root
	return mountstats.Stats{
		Started:      r.start,
		Requests:     r.stats.requests.Load(),
		OpenFiles:    r.stats.openFiles.Load(),
		BytesRead:    r.stats.bytesRead.Load(),
		BytesWritten: r.stats.bytesWritten.Load(),
		Corruptions:  r.corruptions.Load(),
		Sync: mountstats.SyncStats{
			Repairs:           r.stats.repairs.Load(),
			ClientFiles:       r.stats.clientFiles.Load(),
			TransientSeen:     r.stats.transientSeen.Load(),
			TransientResolved: r.stats.transientResolved.Load(),
		},
	}
}

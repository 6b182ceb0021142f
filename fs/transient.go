package fs

import (
	"sync"
	"sync/atomic"
)

// A sync client delivers a change as many files in no particular order: a
// directory can arrive before its gocryptfs.diriv, a long-name object
// before its .name sidecar. Such a state is not damage. It is logged once,
// naming the ciphertext directory, counted in Stats.Sync (not as
// corruption), never cached as a failure, and resolves by itself when the
// rest arrives.
type transients struct {
	pending atomic.Int32 // len(seen), so that resolve costs nothing when empty
	mu      sync.Mutex
	seen    map[string]struct{}
}

// noteTransient records the half-synced state key (what it is, and
// where), logging it the first time only.
func (r *root) noteTransient(key, dirPath, what string) {
	t := &r.transients
	t.mu.Lock()
	if _, ok := t.seen[key]; ok {
		t.mu.Unlock()
		return
	}
	if t.seen == nil {
		t.seen = map[string]struct{}{}
	}
	t.seen[key] = struct{}{}
	t.pending.Add(1)
	t.mu.Unlock()
	r.stats.transientSeen.Add(1)
	r.log.Printf("notice: %s in %s: a sync client has not delivered all of it yet; it resolves when the rest arrives "+
		"(if it stays, run 'veilfs fsck' on the unmounted volume)", what, r.absCipherPath(dirPath))
}

// resolveTransient notes that the state key, if it was seen, has resolved.
func (r *root) resolveTransient(key string) {
	t := &r.transients
	if t.pending.Load() == 0 {
		return
	}
	t.mu.Lock()
	_, ok := t.seen[key]
	if ok {
		delete(t.seen, key)
		t.pending.Add(-1)
	}
	t.mu.Unlock()
	if ok {
		r.stats.transientResolved.Add(1)
	}
}

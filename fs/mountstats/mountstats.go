// Package mountstats holds the activity counters a mount reports, forward or
// reverse. It is a leaf so that fs/reverse and cmd can name the type without
// importing the forward mount's FUSE package.
package mountstats

import "time"

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

//go:build linux

// Package reverse checks `veilfs mount --reverse` end to end: the read-only
// ciphertext view of a plaintext directory (FORMAT §10). A copy of the view
// must be a valid forward volume (veilfs and gocryptfs read it back, and
// gocryptfs -fsck is clean); the view must be deterministic and, hard links
// aside, byte-identical to what `gocryptfs -reverse` 2.3 serves from the same
// config; --exclude hides plaintext paths; a file that changes underneath an
// open view file gives EIO, never a mix of old and new ciphertext; the view
// refuses every write with EROFS; and `veilfs init --reverse` and
// `veilfs path` work on reverse volumes.
package reverse

import (
	"testing"

	"github.com/veilfs/veilfs/tests/harness"
)

func TestMain(m *testing.M) { harness.Main(m) }

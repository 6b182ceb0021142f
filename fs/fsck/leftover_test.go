package fsck

import (
	"testing"

	"github.com/veilfs/veilfs/fs/cipherdir"
)

// TestReIVNamesRegistered: the names of a re-IV repair's hidden directory
// and marker are fsck's in the registry of reserved names.
func TestReIVNamesRegistered(t *testing.T) {
	for _, name := range []string{reivName("gocryptfs.longname.abc"), reivName("x"), cipherdir.FsckMovingName} {
		found := false
		for _, r := range cipherdir.ReservedNames() {
			if r.Match(name) {
				found = r.Owner == cipherdir.OwnerFsck
			}
		}
		if !found {
			t.Errorf("%s: not registered as fsck's", name)
		}
	}
}

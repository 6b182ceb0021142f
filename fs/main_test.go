package fs

import (
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// TestMain clears the umask, as the veilfs daemon does before it mounts
// (MountVolume refuses otherwise).
func TestMain(m *testing.M) {
	unix.Umask(0)
	os.Exit(m.Run())
}

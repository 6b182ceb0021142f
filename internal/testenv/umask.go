//go:build unix

package testenv

import (
	"os"
	"syscall"
	"testing"
)

// MainWithoutUmask is the TestMain of packages whose tests mount a volume
// in-process: it clears the umask, as the veilfs daemon does before it
// mounts (fs.MountVolume refuses otherwise), and runs the tests.
func MainWithoutUmask(m *testing.M) {
	syscall.Umask(0)
	os.Exit(m.Run())
}

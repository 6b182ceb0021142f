package rotate

import (
	"testing"

	"github.com/veilfs/veilfs/internal/testenv"
)

// TestMain clears the umask, as the veilfs daemon does before it mounts.
func TestMain(m *testing.M) { testenv.MainWithoutUmask(m) }

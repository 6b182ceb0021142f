package harness

import (
	"os"
	"testing"

	"github.com/veilfs/veilfs/internal/testenv"
)

// RequireTool returns the path of an external program a test needs (dpkg-deb,
// groff, ...) or of a file a package installs (bash-completion's script).
// When it is missing the test is skipped, or fails when the run must be
// complete (internal/testenv: `make test`, whose `make deps` installs them),
// where a silent skip would hide that nothing was tested.
func RequireTool(t testing.TB, nameOrPath, debianPackage string) string {
	t.Helper()
	return testenv.NeedTool(t, nameOrPath, debianPackage)
}

// WorldDir makes a directory that another user can traverse (t.TempDir's
// parents are 0700), for tests that act as uid 65534 through setpriv;
// removed after the test's other cleanups.
func WorldDir(t testing.TB) string {
	t.Helper()
	d, err := os.MkdirTemp("", "veilfs-shared-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	if err := os.Chmod(d, 0o755); err != nil {
		t.Fatal(err)
	}
	return d
}

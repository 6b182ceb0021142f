package harness

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/veilfs/veilfs/internal/testenv"
)

// DefaultPassword is the password NewVolume uses.
const DefaultPassword = "test-password"

// commandTimeout bounds every process the harness starts, so that a hung
// veilfs (for example a mount that never reports readiness) fails the test
// with its output instead of eating the whole `go test` timeout.
const commandTimeout = 2 * time.Minute

// Result is the outcome of one run of an external program.
type Result struct {
	Stdout string
	Stderr string
	// Code is the exit status; -1 when the process could not be started or
	// was killed by a signal.
	Code int
}

// String formats the result for test failure messages.
func (r Result) String() string {
	return fmt.Sprintf("exit code %d\n--- stdout:\n%s--- stderr:\n%s", r.Code, r.Stdout, r.Stderr)
}

// build holds the once-per-process build of cmd/veilfs. The harness is the
// one place in tests/ that needs process-wide state: building the binary per
// test would cost a link step each time.
var build struct {
	once sync.Once
	dir  string // temp dir holding the binary; removed by Main
	path string
	err  error
}

// Binary returns the path of a veilfs binary built from this checkout.
// It runs `go build -o <tmpdir>/veilfs ./cmd/veilfs` in the module root once
// per test process; every caller after the first gets the same path (or the
// same build error). VEILFS_BINARY overrides the build, VEILFS_BUILDFLAGS
// (space-separated, e.g. "-race") is passed to go build.
//
// The binary goes to a per-process temp dir rather than a fixed path in the
// checkout: `go test ./tests/...` runs several test processes at once, and a
// shared output path would be rewritten while another process executes it
// (ETXTBSY). Call Main from TestMain to remove the temp dir afterwards.
func Binary(t testing.TB) string {
	t.Helper()
	build.once.Do(func() {
		if p := os.Getenv("VEILFS_BINARY"); p != "" {
			build.path, build.err = filepath.Abs(p)
			return
		}
		root, err := moduleRoot()
		if err != nil {
			build.err = err
			return
		}
		build.dir, err = os.MkdirTemp("", "veilfs-harness-bin-")
		if err != nil {
			build.err = fmt.Errorf("creating build dir: %w", err)
			return
		}
		out := filepath.Join(build.dir, "veilfs")
		args := []string{"build", "-o", out}
		args = append(args, strings.Fields(os.Getenv("VEILFS_BUILDFLAGS"))...)
		args = append(args, "./cmd/veilfs")
		cmd := exec.Command(goTool(), args...)
		cmd.Dir = root
		if msg, err := cmd.CombinedOutput(); err != nil {
			build.err = fmt.Errorf("go %s (in %s): %w\n%s", strings.Join(args, " "), root, err, msg)
			return
		}
		build.path = out
	})
	if build.err != nil {
		t.Fatalf("building veilfs: %v", build.err)
	}
	return build.path
}

// Main runs the tests and then removes the binary built by Binary and
// detaches any mount the harness created that is somehow still present
// (each test's cleanup should already have failed that test). Use it as
//
//	func TestMain(m *testing.M) { harness.Main(m) }
func Main(m *testing.M) {
	// What veilfs keeps on the machine between mounts (the directory-IV
	// memory) goes to a directory of this run, not /var/lib/veilfs.
	var state string
	if os.Getenv("VEILFS_STATE_DIR") == "" {
		if d, err := os.MkdirTemp("", "veilfs-state-"); err == nil {
			state = d
			os.Setenv("VEILFS_STATE_DIR", d)
		}
	}
	code := m.Run()
	if state != "" {
		os.RemoveAll(state)
	}
	if left := leftoverMounts(); len(left) > 0 {
		fmt.Fprintf(os.Stderr, "harness: mounts left behind after the tests, detaching: %v\n", left)
		for _, mnt := range left {
			forceUnmount(mnt)
		}
		code = 1
	}
	if build.dir != "" {
		os.RemoveAll(build.dir)
	}
	os.Exit(code)
}

// ModuleRoot returns the directory holding go.mod, found with `go env GOMOD`.
func ModuleRoot(t testing.TB) string {
	t.Helper()
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// FixturesDir returns testdata/fixtures of the module.
func FixturesDir(t testing.TB) string {
	return filepath.Join(ModuleRoot(t), "testdata", "fixtures")
}

func moduleRoot() (string, error) {
	out, err := exec.Command(goTool(), "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("go env GOMOD: not inside a module")
	}
	return filepath.Dir(gomod), nil
}

func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	if root := os.Getenv("GOROOT"); root != "" {
		return filepath.Join(root, "bin", "go")
	}
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}

// RequireFUSE skips the test when /dev/fuse is missing, or fails it when
// the run must be complete (internal/testenv: `make test`, CI). The harness
// mounts the Linux way only (/proc/self/mountinfo, fusermount3): on other
// systems it never mounts.
func RequireFUSE(t testing.TB) {
	t.Helper()
	testenv.NeedFUSE(t)
}

// Passfile writes password plus one newline to a 0600 file in a temp dir and
// returns its path.
func Passfile(t testing.TB, password string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "passfile")
	if err := os.WriteFile(p, []byte(password+"\n"), 0o600); err != nil {
		t.Fatalf("writing passfile: %v", err)
	}
	return p
}

// Run runs the veilfs binary with args and stdin and returns its output and
// exit code. It never fails the test because of a non-zero exit code.
func Run(t testing.TB, stdin string, args ...string) Result {
	t.Helper()
	return Exec(t, stdin, Binary(t), args...)
}

// Exec runs any program like Run does.
func Exec(t testing.TB, stdin string, name string, args ...string) Result {
	t.Helper()
	return execProgram(t, stdin, false, name, args...)
}

// execProgram runs name with args. Output goes to temp files rather than
// pipes: a daemonizing `mount` leaves a child behind, and if that child
// inherited a pipe, waiting for EOF on it would block until unmount.
// withUmask022 starts the program from `sh -c 'umask 022; exec ...'`, the way
// a user's shell would, so that the daemon's umask is the usual one whatever
// umask the test process uses.
func execProgram(t testing.TB, stdin string, withUmask022 bool, name string, args ...string) Result {
	t.Helper()
	dir, err := os.MkdirTemp("", "veilfs-harness-run-")
	if err != nil {
		t.Fatalf("creating temp dir: %v", err)
	}
	defer os.RemoveAll(dir)

	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	var cmd *exec.Cmd
	if withUmask022 {
		cmd = exec.CommandContext(ctx, "/bin/sh", append([]string{"-c", `umask 022 && exec "$0" "$@"`, name}, args...)...)
	} else {
		cmd = exec.CommandContext(ctx, name, args...)
	}
	outF, err := os.Create(filepath.Join(dir, "stdout"))
	if err != nil {
		t.Fatalf("creating stdout file: %v", err)
	}
	defer outF.Close()
	errF, err := os.Create(filepath.Join(dir, "stderr"))
	if err != nil {
		t.Fatalf("creating stderr file: %v", err)
	}
	defer errF.Close()
	cmd.Stdout, cmd.Stderr = outF, errF
	if stdin != "" {
		inPath := filepath.Join(dir, "stdin")
		if err := os.WriteFile(inPath, []byte(stdin), 0o600); err != nil {
			t.Fatalf("writing stdin file: %v", err)
		}
		inF, err := os.Open(inPath)
		if err != nil {
			t.Fatalf("opening stdin file: %v", err)
		}
		defer inF.Close()
		cmd.Stdin = inF
	}

	res := Result{Code: -1}
	runErr := cmd.Run()
	var exitErr *exec.ExitError
	switch {
	case runErr == nil:
		res.Code = 0
	case errors.As(runErr, &exitErr):
		res.Code = exitErr.ExitCode() // -1 when killed by a signal
	default:
		res.Stderr = fmt.Sprintf("harness: running %s: %v\n", name, runErr)
	}
	if ctx.Err() != nil {
		res.Stderr += fmt.Sprintf("harness: %s %v killed after %v\n", name, args, commandTimeout)
	}
	out, _ := os.ReadFile(outF.Name())
	errOut, _ := os.ReadFile(errF.Name())
	res.Stdout = string(out)
	res.Stderr = string(errOut) + res.Stderr
	return res
}

// InitVolume runs `veilfs init --scryptn 10 --passfile P [extra] CIPHERDIR`
// and fails the test if it does not exit 0.
func InitVolume(t testing.TB, cipherdir, password string, extra ...string) {
	t.Helper()
	args := append([]string{"init", "--scryptn", "10", "--passfile", Passfile(t, password)}, extra...)
	args = append(args, cipherdir)
	if res := Run(t, "", args...); res.Code != 0 {
		t.Fatalf("veilfs %s: %v", strings.Join(args, " "), res)
	}
}

// NewVolume creates a fresh volume (password DefaultPassword) in a temp dir,
// mounts it on another temp dir and returns both paths. extra goes to
// `veilfs init` (e.g. "--plaintextnames"). The mount is removed by t.Cleanup.
func NewVolume(t testing.TB, extra ...string) (cipherdir, mnt string) {
	t.Helper()
	RequireFUSE(t)
	cipherdir = t.TempDir()
	mnt = t.TempDir()
	InitVolume(t, cipherdir, DefaultPassword, extra...)
	MountVolume(t, cipherdir, mnt, DefaultPassword)
	return cipherdir, mnt
}

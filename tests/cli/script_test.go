//go:build linux

// Package cli pins the user-visible behaviour of the veilfs binary: messages,
// exit codes (cmd/veilfs/exitcodes.go), and what is (not) left mounted after
// a failure. Short cases are testscript files in testdata/*.txtar; cases that
// need to corrupt ciphertext or inspect a daemon are Go tests in cli_test.go.
package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/veilfs/veilfs/tests/harness"
)

func TestMain(m *testing.M) { harness.Main(m) }

// TestScripts runs testdata/*.txtar. Extra commands:
//
//	[!] veilfs ARGS...  run the binary; its stdout/stderr feed the stdout and
//	                    stderr checks, its exit code goes to $STATUS. A
//	                    successful `veilfs mount` is unmounted when the script ends.
//	status N            the last veilfs exit code was N
//	[!] mounted DIR     DIR is (not) a mountpoint in /proc/self/mountinfo
//	writefile F TEXT    write TEXT plus newline to F (passfiles without txtar)
func TestScripts(t *testing.T) {
	harness.RequireFUSE(t)
	bin := harness.Binary(t)
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata",
		RequireExplicitExec: true,
		// $VEILFS: the binary under test, for scripts that run it through
		// another program (exec unshare ... $VEILFS).
		Setup: func(env *testscript.Env) error {
			env.Setenv("VEILFS", bin)
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"veilfs":    func(ts *testscript.TestScript, neg bool, args []string) { runVeilfs(ts, neg, bin, args) },
			"status":    cmdStatus,
			"mounted":   cmdMounted,
			"writefile": cmdWritefile,
		},
	})
}

func runVeilfs(ts *testscript.TestScript, neg bool, bin string, args []string) {
	// Output goes to files, not pipes: a daemonized mount keeps inherited
	// pipes open until it exits.
	dir, err := os.MkdirTemp("", "veilfs-cli-out-")
	ts.Check(err)
	defer os.RemoveAll(dir)
	outF, err := os.Create(filepath.Join(dir, "stdout"))
	ts.Check(err)
	defer outF.Close()
	errF, err := os.Create(filepath.Join(dir, "stderr"))
	ts.Check(err)
	defer errF.Close()

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = ts.Getenv("WORK")
	cmd.Env = os.Environ()
	cmd.Stdout, cmd.Stderr = outF, errF
	runErr := cmd.Run()
	code := 0
	var exitErr *exec.ExitError
	switch {
	case runErr == nil:
	case errors.As(runErr, &exitErr):
		code = exitErr.ExitCode()
	default:
		ts.Fatalf("run veilfs: %v", runErr)
	}
	out, _ := os.ReadFile(outF.Name())
	errOut, _ := os.ReadFile(errF.Name())
	fmt.Fprint(ts.Stdout(), string(out))
	fmt.Fprint(ts.Stderr(), string(errOut))
	ts.Setenv("STATUS", strconv.Itoa(code))

	if code == 0 && len(args) > 0 && args[0] == "mount" {
		mnt := ts.MkAbs(args[len(args)-1])
		ts.Defer(func() { forceUnmount(mnt) })
	}
	if neg && code == 0 {
		ts.Fatalf("veilfs %s: unexpected success", strings.Join(args, " "))
	}
	if !neg && code != 0 {
		ts.Fatalf("veilfs %s: exit code %d", strings.Join(args, " "), code)
	}
}

func cmdStatus(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: status N")
	}
	if got := ts.Getenv("STATUS"); got != args[0] {
		ts.Fatalf("last veilfs exit code was %s, want %s", got, args[0])
	}
}

func cmdMounted(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: [!] mounted DIR")
	}
	dir := ts.MkAbs(args[0])
	m, err := isMounted(dir)
	ts.Check(err)
	if m && neg {
		ts.Fatalf("%s is mounted", dir)
	}
	if !m && !neg {
		ts.Fatalf("%s is not mounted", dir)
	}
}

func cmdWritefile(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: writefile FILE TEXT")
	}
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), []byte(args[1]+"\n"), 0o600))
}

// isMounted reports whether dir is a mountpoint (per /proc/self/mountinfo).
func isMounted(dir string) (bool, error) {
	_, ok := harness.FindMount(dir)
	return ok, nil
}

// forceUnmount is the last-resort cleanup: plain unmount with retries, then
// a lazy detach so that no test leaves a mount behind.
func forceUnmount(mnt string) {
	deadline := time.Now().Add(5 * time.Second)
	for {
		m, _ := isMounted(mnt)
		if !m {
			return
		}
		if exec.Command("fusermount3", "-u", mnt).Run() == nil {
			continue
		}
		if time.Now().After(deadline) {
			_ = exec.Command("fusermount3", "-u", "-z", mnt).Run()
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

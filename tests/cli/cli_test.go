//go:build linux

package cli

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/veilfs/veilfs/tests/harness"
)

const password = "cli-test-password"

// Exit codes from the CLI contract (cmd/veilfs/exitcodes.go).
const (
	exitUnmountFailed = 25
)

// foregroundMount runs `veilfs mount -f` in the background, with its stderr
// (the daemon log) captured to a file, and waits until the mount is listed.
// It returns the log path and a stop function that unmounts and waits for
// the process to exit (also registered with t.Cleanup).
func foregroundMount(t *testing.T, cipherdir, mnt, pw string, extra ...string) (logPath string, stop func()) {
	t.Helper()
	logPath = filepath.Join(t.TempDir(), "daemon.log")
	logF, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	args := append([]string{"mount", "-f", "--passfile", harness.Passfile(t, pw)}, extra...)
	args = append(args, cipherdir, mnt)
	cmd := exec.Command(harness.Binary(t), args...)
	cmd.Stdout, cmd.Stderr = logF, logF
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	logF.Close()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	deadline := time.Now().Add(30 * time.Second)
	for {
		m, err := isMounted(mnt)
		if err != nil {
			t.Fatal(err)
		}
		if m {
			break
		}
		select {
		case err := <-exited:
			log, _ := os.ReadFile(logPath)
			t.Fatalf("veilfs mount -f exited before mounting: %v\n%s", err, log)
		default:
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("veilfs mount -f did not mount %s within 30s", mnt)
		}
		time.Sleep(20 * time.Millisecond)
	}

	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		forceUnmount(mnt)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
			t.Errorf("veilfs mount -f still running 10s after unmount; killed")
		}
	}
	t.Cleanup(stop)
	return logPath, stop
}

// cipherFileBySize finds the single regular file of the given size directly
// in dir (names are encrypted, so size is the simplest handle).
func cipherFileBySize(t *testing.T, dir string, size int64) string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().IsRegular() && fi.Size() == size {
			found = append(found, filepath.Join(dir, e.Name()))
		}
	}
	if len(found) != 1 {
		t.Fatalf("want exactly one ciphertext file of %d bytes in %s, found %v", size, dir, found)
	}
	return found[0]
}

// TestTamperedBlock: one flipped ciphertext byte in block 1 makes exactly that
// block unreadable (EIO), block 0 and other files stay readable, and the
// daemon log names the damaged ciphertext file.
func TestTamperedBlock(t *testing.T) {
	harness.RequireFUSE(t)
	cipherdir := filepath.Join(t.TempDir(), "cipher")
	mnt := t.TempDir()
	harness.InitVolume(t, cipherdir, password)

	harness.MountVolume(t, cipherdir, mnt, password)
	victim := bytes.Repeat([]byte("0123456789abcdef"), 3*4096/16) // 3 full blocks
	other := []byte("an innocent bystander\n")
	if err := os.WriteFile(filepath.Join(mnt, "victim"), victim, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(mnt, "other"), other, 0o644); err != nil {
		t.Fatal(err)
	}
	harness.Unmount(t, mnt)

	// AES-GCM: 18-byte header, then blocks of 16 nonce + 4096 data + 16 tag (FORMAT §4.2).
	const header, cbs = 18, 4096 + 32
	cpath := cipherFileBySize(t, cipherdir, header+3*cbs)
	data, err := os.ReadFile(cpath)
	if err != nil {
		t.Fatal(err)
	}
	data[header+cbs+16+100] ^= 0x01 // a data byte of block 1
	if err := os.WriteFile(cpath, data, 0o644); err != nil {
		t.Fatal(err)
	}

	logPath, stop := foregroundMount(t, cipherdir, mnt, password)
	f, err := os.Open(filepath.Join(mnt, "victim"))
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	if _, err := f.ReadAt(buf, 0); err != nil || !bytes.Equal(buf, victim[:4096]) {
		t.Errorf("reading intact block 0: err=%v, content ok=%v", err, bytes.Equal(buf, victim[:4096]))
	}
	if _, err := f.ReadAt(buf, 4096); !errors.Is(err, syscall.EIO) {
		t.Errorf("reading tampered block 1: err=%v, want EIO", err)
	}
	if _, err := f.ReadAt(buf, 2*4096); err != nil && err != io.EOF {
		t.Errorf("reading intact block 2: %v", err)
	} else if !bytes.Equal(buf, victim[2*4096:]) {
		t.Errorf("block 2 content differs")
	}
	f.Close()
	if got, err := os.ReadFile(filepath.Join(mnt, "other")); err != nil || !bytes.Equal(got, other) {
		t.Errorf("reading the other file: %q, %v", got, err)
	}
	stop()

	log, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("daemon log:\n%s", log)
	rel, _ := filepath.Rel(cipherdir, cpath)
	if !strings.Contains(string(log), rel) {
		t.Errorf("daemon log does not name the damaged ciphertext file %s:\n%s", rel, log)
	}
	if strings.Contains(string(log), "victim") {
		t.Errorf("daemon log leaks the plaintext name \"victim\":\n%s", log)
	}
}

// TestBusyUnmount: while another process holds a file open in the mount,
// `veilfs unmount` fails with the busy exit code and says so; after the
// process is gone it succeeds.
func TestBusyUnmount(t *testing.T) {
	_, mnt := harness.NewVolume(t)
	if err := os.WriteFile(filepath.Join(mnt, "held"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	holder := exec.Command("sh", "-c", `exec 3<"$1"; echo ready; exec sleep 60`, "sh", filepath.Join(mnt, "held"))
	stdout, err := holder.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = holder.Process.Kill(); _ = holder.Wait() }()
	line := make([]byte, 6)
	if _, err := io.ReadFull(stdout, line); err != nil {
		t.Fatalf("holder process did not start: %v", err)
	}

	res := harness.Run(t, "", "unmount", mnt)
	if res.Code != exitUnmountFailed {
		t.Errorf("veilfs unmount of a busy mount: want exit %d, got %v", exitUnmountFailed, res)
	}
	t.Logf("busy unmount said: %s", res.Stderr)
	if !strings.Contains(strings.ToLower(res.Stderr), "busy") {
		t.Errorf("veilfs unmount of a busy mount: message does not say busy:\n%s", res.Stderr)
	}
	if m, _ := isMounted(mnt); !m {
		t.Fatalf("busy unmount attempt unmounted anyway")
	}

	_ = holder.Process.Kill()
	_ = holder.Wait()
	res = harness.Run(t, "", "unmount", mnt)
	if res.Code != 0 {
		t.Errorf("veilfs unmount after the holder exited: %v", res)
	}
	if m, _ := isMounted(mnt); m {
		t.Errorf("%s still mounted after a successful unmount", mnt)
	}
}

// veilfsProcesses returns the PIDs of running processes whose executable is bin.
func veilfsProcesses(t *testing.T, bin string) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe"))
		if err == nil && strings.TrimSuffix(exe, " (deleted)") == bin {
			pids = append(pids, pid)
		}
	}
	return pids
}

// TestPasswordNotInDaemonArgs: the mount daemon's command line and
// environment never carry the password, whichever way it was given.
func TestPasswordNotInDaemonArgs(t *testing.T) {
	harness.RequireFUSE(t)
	bin := harness.Binary(t)
	const secret = "s3cret-that-must-not-leak"
	cases := []struct {
		name  string
		stdin string
		args  func(t *testing.T) []string
	}{
		{"stdin", secret + "\n", func(t *testing.T) []string { return nil }},
		{"passfile", "", func(t *testing.T) []string { return []string{"--passfile", harness.Passfile(t, secret)} }},
		{"extpass", "", func(t *testing.T) []string {
			script := filepath.Join(t.TempDir(), "askpass")
			if err := os.WriteFile(script, []byte("#!/bin/sh\ncat "+harness.Passfile(t, secret)+"\n"), 0o700); err != nil {
				t.Fatal(err)
			}
			return []string{"--extpass", script}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cipherdir := filepath.Join(t.TempDir(), "cipher")
			mnt := t.TempDir()
			harness.InitVolume(t, cipherdir, secret)
			checkDaemonProcFiles(t, bin, func() {
				args := append([]string{"mount"}, c.args(t)...)
				res := harness.Run(t, c.stdin, append(args, cipherdir, mnt)...)
				if res.Code != 0 {
					t.Fatalf("veilfs mount: %v", res)
				}
				t.Cleanup(func() { forceUnmount(mnt) })
			}, "the password", func(data []byte) bool { return bytes.Contains(data, []byte(secret)) })
			harness.Unmount(t, mnt)
		})
	}
}

// TestMasterKeyNotInDaemonArgs: mounting with --masterkey-file keeps the
// master key out of the daemon's command line and environment too.
func TestMasterKeyNotInDaemonArgs(t *testing.T) {
	harness.RequireFUSE(t)
	bin := harness.Binary(t)
	cipherdir := filepath.Join(t.TempDir(), "cipher")
	mnt := t.TempDir()
	res := harness.Run(t, "", "init", "--scryptn", "10", "--passfile", harness.Passfile(t, password), cipherdir)
	if res.Code != 0 {
		t.Fatalf("veilfs init: %v", res)
	}
	// init prints the key as dash-separated groups of hex digits.
	var hexKey strings.Builder
	for _, line := range strings.Split(res.Stdout, "\n") {
		if g := strings.Fields(strings.ReplaceAll(line, "-", " ")); len(g) > 0 && isHex(strings.Join(g, "")) {
			hexKey.WriteString(strings.Join(g, ""))
		}
	}
	key := hexKey.String()
	if len(key) != 64 {
		t.Fatalf("could not find the 64-hex-digit master key in init's output (got %d digits):\n%s", len(key), res.Stdout)
	}
	keyFile := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(keyFile, []byte(key+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	checkDaemonProcFiles(t, bin, func() { harness.MountWith(t, cipherdir, mnt, "--masterkey-file", keyFile) },
		"the master key", func(data []byte) bool { return bytes.Contains(bytes.ToLower(data), []byte(key[:16])) })
	harness.Unmount(t, mnt)
}

// checkDaemonProcFiles runs mount and then checks the command line and
// environment of every veilfs process it started (the mount daemon) with
// leaks, which reports whether the data holds the secret named what.
func checkDaemonProcFiles(t *testing.T, bin string, mount func(), what string, leaks func(data []byte) bool) {
	t.Helper()
	before := map[int]bool{}
	for _, pid := range veilfsProcesses(t, bin) {
		before[pid] = true
	}
	mount()
	found := false
	for _, pid := range veilfsProcesses(t, bin) {
		if before[pid] {
			continue
		}
		found = true
		for _, file := range []string{"cmdline", "environ"} {
			data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), file))
			if err != nil {
				t.Fatal(err)
			}
			if leaks(data) {
				t.Errorf("daemon pid %d: /proc/%d/%s contains %s: %q", pid, pid, file, what,
					bytes.ReplaceAll(data, []byte{0}, []byte{' '}))
			}
		}
	}
	if !found {
		t.Error("no veilfs daemon process found after mount")
	}
}

func isHex(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
			return false
		}
	}
	return true
}

// TestFailedMountLeavesNothing: after each kind of failed mount, nothing is
// mounted and no daemon process lingers.
func TestFailedMountLeavesNothing(t *testing.T) {
	harness.RequireFUSE(t)
	bin := harness.Binary(t)
	cipherdir := filepath.Join(t.TempDir(), "cipher")
	harness.InitVolume(t, cipherdir, password)
	emptyDir := t.TempDir()
	nonEmpty := t.TempDir()
	if err := os.WriteFile(filepath.Join(nonEmpty, "f"), nil, 0o644); err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name     string
		pw       string
		dir, mnt string
	}{
		{"wrong password", "wrong", cipherdir, t.TempDir()},
		{"no config", password, emptyDir, t.TempDir()},
		{"non-empty mountpoint", password, cipherdir, nonEmpty},
		{"missing mountpoint", password, cipherdir, filepath.Join(t.TempDir(), "missing")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := len(veilfsProcesses(t, bin))
			res := harness.Run(t, "", "mount", "--passfile", harness.Passfile(t, c.pw), c.dir, c.mnt)
			if res.Code == 0 {
				forceUnmount(c.mnt)
				t.Fatalf("mount unexpectedly succeeded")
			}
			if strings.TrimSpace(res.Stderr) == "" {
				t.Errorf("failed mount (exit %d) printed no message", res.Code)
			}
			if m, _ := isMounted(c.mnt); m {
				forceUnmount(c.mnt)
				t.Errorf("%s is mounted after a failed mount", c.mnt)
			}
			// A daemon child, if one was forked, must be gone shortly after.
			deadline := time.Now().Add(5 * time.Second)
			for len(veilfsProcesses(t, bin)) > before && time.Now().Before(deadline) {
				time.Sleep(50 * time.Millisecond)
			}
			if n := len(veilfsProcesses(t, bin)); n > before {
				t.Errorf("%d veilfs process(es) left running after a failed mount", n-before)
			}
		})
	}
}

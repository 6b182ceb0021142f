//go:build linux

package cli

// systemd: readiness notification (cmd/veilfs/sdnotify.go) and the unit
// files in contrib/systemd. There is no systemd here to run the units (PID 1
// is not systemd), so the tests play its part: they listen on a
// NOTIFY_SOCKET of their own, with SO_PASSCRED to see which process sent
// each message, and run the unit's ExecStart= and ExecStop= as systemd
// would expand them.

import (
	"bufio"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/internal/testenv"
	"github.com/veilfs/veilfs/tests/harness"
)

type notifyMsg struct {
	text string
	pid  int32
}

// listenNotify listens on a unixgram socket as systemd does and returns its
// path, for NOTIFY_SOCKET, and the messages that arrive on it.
func listenNotify(t *testing.T) (string, <-chan notifyMsg) {
	t.Helper()
	addr := filepath.Join(t.TempDir(), "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := conn.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var serr error
	if err := raw.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_PASSCRED, 1)
	}); err != nil || serr != nil {
		t.Fatalf("SO_PASSCRED: %v %v", err, serr)
	}
	msgs := make(chan notifyMsg, 16)
	go func() {
		defer close(msgs)
		for {
			buf, oob := make([]byte, 4096), make([]byte, 1024)
			n, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
			if err != nil {
				return
			}
			m := notifyMsg{text: string(buf[:n])}
			if cmsgs, err := unix.ParseSocketControlMessage(oob[:oobn]); err == nil {
				for _, c := range cmsgs {
					if cred, err := unix.ParseUnixCredentials(&c); err == nil {
						m.pid = cred.Pid
					}
				}
			}
			msgs <- m
		}
	}()
	t.Cleanup(func() { conn.Close() })
	return addr, msgs
}

// nextNotify returns the next message, failing the test after 30 s.
func nextNotify(t *testing.T, msgs <-chan notifyMsg, what string) notifyMsg {
	t.Helper()
	select {
	case m, ok := <-msgs:
		if !ok {
			t.Fatalf("notify socket closed while waiting for %s", what)
		}
		return m
	case <-time.After(30 * time.Second):
		t.Fatalf("no %s on NOTIFY_SOCKET within 30s", what)
	}
	return notifyMsg{}
}

// waitProcess waits for the started cmd in the background: exited is closed
// when it has exited, and *waitErr is then its result. At the end of the
// test whatever it mounted on mnt is unmounted, and it is killed if it does
// not exit then.
func waitProcess(t *testing.T, cmd *exec.Cmd, mnt string) (exited <-chan struct{}, waitErr *error) {
	done := make(chan struct{})
	var err error
	go func() { err = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		forceUnmount(mnt)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	return done, &err
}

// TestNotifyForeground: veilfs mount --foreground (a Type=notify service)
// says READY=1 once the files are there, and STOPPING=1 when unmounted.
func TestNotifyForeground(t *testing.T) {
	cipherdir, mnt, pw := helperVolume(t)
	addr, msgs := listenNotify(t)
	log, err := os.Create(filepath.Join(t.TempDir(), "log"))
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	cmd := exec.Command(harness.Binary(t), "mount", "--foreground", "--passfile", pw, cipherdir, mnt)
	cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+addr)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited, waitErr := waitProcess(t, cmd, mnt)

	m := nextNotify(t, msgs, "READY=1")
	// The test looks at the mount only now: had READY=1 come early, the
	// mount would be missing.
	e, ok := harness.FindMount(mnt)
	if want := "READY=1\nSTATUS=serving " + cipherdir + " on " + mnt; m.text != want || m.pid != int32(cmd.Process.Pid) {
		t.Errorf("first message %q from pid %d, want %q from %d", m.text, m.pid, want, cmd.Process.Pid)
	}
	checkMounted(t, e, ok, func(p string) string { return p }, cipherdir, mnt, false)

	if res := harness.Run(t, "", "unmount", mnt); res.Code != 0 {
		t.Fatalf("veilfs unmount: %v", res)
	}
	if m := nextNotify(t, msgs, "STOPPING=1"); !strings.HasPrefix(m.text, "STOPPING=1\n") || m.pid != int32(cmd.Process.Pid) {
		t.Errorf("after unmount: %q from pid %d, want STOPPING=1 from %d", m.text, m.pid, cmd.Process.Pid)
	}
	select {
	case <-exited:
		if *waitErr != nil {
			out, _ := os.ReadFile(log.Name())
			t.Errorf("veilfs mount --foreground: %v\n%s", *waitErr, out)
		}
	case <-time.After(10 * time.Second):
		t.Error("veilfs mount --foreground still running 10s after the unmount")
	}
}

// TestNotifyBackground: without --foreground, the process systemd started
// hands the service over to the daemon (MAINPID=) before the daemon says
// READY=1, so a Type=notify unit works in both modes.
func TestNotifyBackground(t *testing.T) {
	cipherdir, mnt, pw := helperVolume(t)
	addr, msgs := listenNotify(t)
	t.Setenv("NOTIFY_SOCKET", addr)
	if res := harness.TryMount(t, cipherdir, mnt, "--passfile", pw); res.Code != 0 {
		t.Fatalf("veilfs mount: %v", res)
	}

	first := nextNotify(t, msgs, "MAINPID=")
	pid, found := strings.CutPrefix(first.text, "MAINPID=")
	if !found || pid == "" || first.pid == 0 || pid == itoa(first.pid) {
		t.Fatalf("first message %q from pid %d, want MAINPID=<the daemon> from the process systemd started", first.text, first.pid)
	}
	if cmdline, err := os.ReadFile("/proc/" + pid + "/cmdline"); err != nil || !strings.Contains(string(cmdline), "--internal-daemon") {
		t.Errorf("MAINPID=%s is not the mount daemon: %q, %v", pid, cmdline, err)
	}
	ready := nextNotify(t, msgs, "READY=1")
	if want := "READY=1\nSTATUS=serving " + cipherdir + " on " + mnt; ready.text != want || itoa(ready.pid) != pid {
		t.Errorf("second message %q from pid %d, want %q from the daemon %s", ready.text, ready.pid, want, pid)
	}

	harness.Unmount(t, mnt)
	if m := nextNotify(t, msgs, "STOPPING=1"); !strings.HasPrefix(m.text, "STOPPING=1\n") || itoa(m.pid) != pid {
		t.Errorf("after unmount: %q from pid %d, want STOPPING=1 from the daemon %s", m.text, m.pid, pid)
	}
}

func itoa(n int32) string { return strconv.Itoa(int(n)) }

// unitFile is the [Service] (and other) settings of a unit file: each key
// with its values in order.
type unitFile map[string][]string

func readUnit(t *testing.T, path string) unitFile {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	u := unitFile{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		for strings.HasSuffix(line, "\\") && sc.Scan() {
			line = strings.TrimSuffix(line, "\\") + " " + strings.TrimSpace(sc.Text())
		}
		if line == "" || line[0] == '#' || line[0] == ';' || line[0] == '[' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("%s: not a setting: %q", path, line)
		}
		u[k] = append(u[k], v)
	}
	return u
}

func (u unitFile) one(t *testing.T, key string) string {
	t.Helper()
	if len(u[key]) != 1 {
		t.Fatalf("unit has %d %s= settings, want 1", len(u[key]), key)
	}
	return u[key][0]
}

// specifiers expands %h, %i, %I and %% as systemd does for a user unit of
// a simple instance name.
func specifiers(s, home, instance string) string {
	return strings.NewReplacer("%h", home, "%i", instance, "%I", instance, "%%", "%").Replace(s)
}

// splitCommand splits an ExecStart= line into words the way systemd does
// (systemd.service(5), "Command lines"): quotes group, ${VAR} is replaced
// within its word, a word that is just $VAR becomes the words of its value.
func splitCommand(t *testing.T, line string, env map[string]string) []string {
	t.Helper()
	var words []string
	var cur strings.Builder
	inWord, quote := false, byte(0)
	flush := func() {
		if inWord {
			words = append(words, cur.String())
		}
		cur.Reset()
		inWord = false
	}
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case quote != 0 && c == quote:
			quote = 0
		case quote != 0:
			cur.WriteByte(c)
		case c == '"' || c == '\'':
			quote, inWord = c, true
		case c == ' ' || c == '\t':
			flush()
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if quote != 0 {
		t.Fatalf("unbalanced quote in %q", line)
	}
	flush()
	var out []string
	for _, w := range words {
		if name, ok := strings.CutPrefix(w, "$"); ok && !strings.HasPrefix(name, "{") {
			out = append(out, strings.Fields(env[name])...)
			continue
		}
		out = append(out, os.Expand(w, func(k string) string {
			v, ok := env[k]
			if !ok {
				t.Errorf("%q uses $%s, which the unit does not set", line, k)
			}
			return v
		}))
	}
	return out
}

// readEnvFile reads KEY=VALUE lines as systemd's EnvironmentFile= does
// (comments, blank lines and surrounding quotes are allowed).
func readEnvFile(t *testing.T, path string, env map[string]string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		k, v, _ := strings.Cut(line, "=")
		env[strings.TrimSpace(k)] = strings.Trim(strings.TrimSpace(v), `"'`)
	}
}

// TestSystemdUserUnit runs contrib/systemd/veilfs@.service the way the
// user's systemd would for veilfs@vault: the config file and the password
// file where the unit's comment says, the credential copied into a
// CREDENTIALS_DIRECTORY, ExecStart= as written until READY=1, then
// ExecStop=, after which ExecStart's process must exit 0.
func TestSystemdUserUnit(t *testing.T) {
	cipherdir, mnt, _ := helperVolume(t)
	unit := readUnit(t, filepath.Join(harness.ModuleRoot(t), "contrib", "systemd", "veilfs@.service"))
	if got := unit.one(t, "Type"); got != "notify" {
		t.Errorf("Type=%s, want notify", got)
	}
	home, instance := t.TempDir(), "vault"
	confDir := filepath.Join(home, ".config", "veilfs")
	if err := os.MkdirAll(confDir, 0o700); err != nil {
		t.Fatal(err)
	}
	conf := "# the vault\nCIPHERDIR=" + cipherdir + "\nMOUNTPOINT=" + mnt + "\n"
	if err := os.WriteFile(filepath.Join(confDir, instance+".conf"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(confDir, instance+".password"), []byte(password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	env := map[string]string{}
	readEnvFile(t, specifiers(unit.one(t, "EnvironmentFile"), home, instance), env)
	credDir := t.TempDir()
	for _, lc := range unit["LoadCredential"] {
		id, src, ok := strings.Cut(specifiers(lc, home, instance), ":")
		if !ok {
			t.Fatalf("LoadCredential=%s: want ID:PATH", lc)
		}
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatalf("LoadCredential=%s: %v", lc, err)
		}
		if err := os.WriteFile(filepath.Join(credDir, id), data, 0o400); err != nil {
			t.Fatal(err)
		}
	}
	env["CREDENTIALS_DIRECTORY"] = credDir
	addr, msgs := listenNotify(t)
	environ := append(os.Environ(), "NOTIFY_SOCKET="+addr, "CREDENTIALS_DIRECTORY="+credDir)
	for k, v := range env {
		environ = append(environ, k+"="+v)
	}
	command := func(key string) *exec.Cmd {
		argv := splitCommand(t, specifiers(unit.one(t, key), home, instance), env)
		if argv[0] != "veilfs" {
			t.Fatalf("%s= runs %q, want veilfs (found by systemd in /usr/local/bin, /usr/bin, ...)", key, argv[0])
		}
		cmd := exec.Command(harness.Binary(t), argv[1:]...)
		cmd.Env = environ
		return cmd
	}

	log, err := os.Create(filepath.Join(t.TempDir(), "journal"))
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	start := command("ExecStart")
	start.Stdout, start.Stderr = log, log
	if err := start.Start(); err != nil {
		t.Fatal(err)
	}
	exited, waitErr := waitProcess(t, start, mnt)
	select {
	case m := <-msgs:
		if !strings.HasPrefix(m.text, "READY=1\n") {
			t.Fatalf("ExecStart's first message: %q, want READY=1", m.text)
		}
	case <-exited:
		out, _ := os.ReadFile(log.Name())
		t.Fatalf("ExecStart exited before READY=1: %v\n%s", *waitErr, out)
	case <-time.After(30 * time.Second):
		t.Fatal("no READY=1 from ExecStart within 30s")
	}
	e, ok := harness.FindMount(mnt)
	checkMounted(t, e, ok, func(p string) string { return p }, cipherdir, mnt, false)

	if out, err := command("ExecStop").CombinedOutput(); err != nil {
		t.Fatalf("ExecStop: %v\n%s", err, out)
	}
	select {
	case <-exited:
		if *waitErr != nil {
			out, _ := os.ReadFile(log.Name())
			t.Errorf("ExecStart after ExecStop: %v\n%s", *waitErr, out)
		}
	case <-time.After(10 * time.Second):
		t.Error("ExecStart still running 10s after ExecStop")
	}
	if m, _ := isMounted(mnt); m {
		t.Errorf("%s still mounted after ExecStop", mnt)
	}
}

// TestSystemdAnalyzeVerify checks the unit files with systemd-analyze
// verify, in the test namespace where "veilfs" is found where systemd
// looks for it (verify checks that the commands exist).
func TestSystemdAnalyzeVerify(t *testing.T) {
	// Without it the unit files in contrib/systemd are not verified.
	tool := testenv.NeedTool(t, "systemd-analyze", "systemd")
	ns := newHelperNS(t)
	dir := filepath.Join(harness.ModuleRoot(t), "contrib", "systemd")
	runtime := t.TempDir()
	for _, tt := range []struct {
		unit  string
		scope []string
	}{
		{"veilfs@.service", []string{"env", "XDG_RUNTIME_DIR=" + runtime, "HOME=" + t.TempDir(), tool, "--user"}},
		// A system unit, kept apart from the user units make install installs.
		{"examples/srv-vault.mount", []string{tool}},
	} {
		t.Run(tt.unit, func(t *testing.T) {
			args := append(append([]string{}, tt.scope...), "verify", "--man=no", filepath.Join(dir, tt.unit))
			res := ns.run("", args...)
			if res.Code != 0 || strings.TrimSpace(res.Stderr+res.Stdout) != "" {
				t.Errorf("systemd-analyze verify %s: %v", tt.unit, res)
			}
		})
	}
}

package sync_test

// A pair of real Syncthing instances for the tests: both on 127.0.0.1
// only (no global or local discovery, relays, NAT traversal, usage or
// crash reporting, upgrades), each with its own home directory under the
// test's temp dir, syncing one folder: a machine's CIPHERDIR. They are
// driven through the REST API: a scan after each change (it returns when
// the scan is done), device pause and resume to make concurrent changes,
// and a "settled" check that does not trust a single idle reading
// (shared/FINDINGS.md, "Syncthing in tests").

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/veilfs/veilfs/tests/harness"
)

const (
	stFolderID = "veilfs-vault"
	// stSettleWithin bounds one settle (scans, index exchange, pulls).
	stSettleWithin = 60 * time.Second
	// stSettledChecks is how many consecutive settled readings count.
	stSettledChecks = 3
)

// stInstance is one running Syncthing.
type stInstance struct {
	name    string
	home    string
	id      string
	apiKey  string
	gui     string // 127.0.0.1:PORT
	listen  string // tcp://127.0.0.1:PORT
	folder  string // the synced folder's path
	logPath string
	cmd     *exec.Cmd
	exited  chan struct{}
	client  *http.Client
}

// stPair is two instances sharing stFolderID.
type stPair struct {
	a, b *stInstance
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// syncthingEnv is the environment of every syncthing process: its home
// as HOME, and the switches for no default folder, no upgrade, no restart.
func syncthingEnv(home string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch strings.ToUpper(k) {
		case "HOME", "STNODEFAULTFOLDER", "STNOUPGRADE", "STNORESTART", "STMONITORED",
			"HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY":
			continue
		}
		env = append(env, kv)
	}
	return append(env, "HOME="+home, "STNODEFAULTFOLDER=1", "STNOUPGRADE=1", "STNORESTART=1")
}

// newSyncthing generates a home directory (keys and config) for one
// instance whose folder is folder.
func newSyncthing(t *testing.T, base, name, folder string) *stInstance {
	t.Helper()
	s := &stInstance{
		name:   name,
		home:   filepath.Join(base, "syncthing-"+name),
		gui:    fmt.Sprintf("127.0.0.1:%d", freePort(t)),
		listen: fmt.Sprintf("tcp://127.0.0.1:%d", freePort(t)),
		folder: folder,
		client: &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{Proxy: nil}},
	}
	s.logPath = filepath.Join(s.home, "syncthing.log")
	key := make([]byte, 16)
	rand.Read(key)
	s.apiKey = hex.EncodeToString(key)
	cmd := exec.Command("syncthing", "generate", "--home="+s.home, "--no-default-folder", "--skip-port-probing")
	cmd.Env = syncthingEnv(s.home)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("syncthing generate --home=%s: %v\n%s", s.home, err, out)
	}
	m := regexp.MustCompile(`Device ID: ([A-Z0-9-]{63})`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("syncthing generate printed no device ID:\n%s", out)
	}
	s.id = string(m[1])
	return s
}

// configure writes the instance's config.xml: the generated one, with
// every option that reaches beyond this machine off, the GUI and listen
// addresses on 127.0.0.1, the peer at its explicit address, and the folder.
func (s *stInstance) configure(t *testing.T, peer *stInstance) {
	t.Helper()
	path := filepath.Join(s.home, "config.xml")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg := string(data)
	set := func(elem, value string) {
		re := regexp.MustCompile(`<` + elem + `>[^<]*</` + elem + `>`)
		if !re.MatchString(cfg) {
			t.Fatalf("syncthing's generated config.xml has no <%s>:\n%s", elem, cfg)
		}
		cfg = re.ReplaceAllLiteralString(cfg, "<"+elem+">"+value+"</"+elem+">")
	}
	for _, o := range [][2]string{
		{"listenAddress", s.listen},
		{"globalAnnounceEnabled", "false"},
		{"localAnnounceEnabled", "false"},
		{"relaysEnabled", "false"},
		{"natEnabled", "false"},
		{"urAccepted", "-1"},
		{"urSeen", "3"},
		{"autoUpgradeIntervalH", "0"},
		{"crashReportingEnabled", "false"},
		{"startBrowser", "false"},
		{"announceLANAddresses", "false"},
		{"reconnectionIntervalS", "1"},
		{"setLowPriority", "false"},
		{"stunKeepaliveStartS", "0"},
		{"stunKeepaliveMinS", "0"},
		{"apikey", s.apiKey},
	} {
		set(o[0], o[1])
	}
	gui := regexp.MustCompile(`(<gui[^>]*>\s*<address>)[^<]*(</address>)`)
	if !gui.MatchString(cfg) {
		t.Fatalf("syncthing's generated config.xml has no GUI address:\n%s", cfg)
	}
	cfg = gui.ReplaceAllString(cfg, "${1}"+s.gui+"${2}")
	// fsWatcher off: every change is followed by an explicit scan, which
	// returns when done; the watcher reports deletes late and would only
	// add scans at times the test does not choose. pullerPauseS 1: the
	// default pauses 60 s after a failed pull. maxConflicts -1: keep every
	// conflict copy. Trash-can versioning, so that .stversions exists.
	extra := fmt.Sprintf(`    <folder id="%s" label="vault" path="%s" type="sendreceive" rescanIntervalS="3600" fsWatcherEnabled="false" fsWatcherDelayS="1" ignorePerms="false" autoNormalize="true">
        <filesystemType>basic</filesystemType>
        <device id="%s" introducedBy=""></device>
        <device id="%s" introducedBy=""></device>
        <minDiskFree unit="%%">0</minDiskFree>
        <versioning type="trashcan">
            <param key="cleanoutDays" val="0"></param>
            <cleanupIntervalS>3600</cleanupIntervalS>
            <fsPath></fsPath>
            <fsType>basic</fsType>
        </versioning>
        <pullerPauseS>1</pullerPauseS>
        <maxConflicts>-1</maxConflicts>
        <markerName>.stfolder</markerName>
    </folder>
    <device id="%s" name="%s" compression="metadata" introducer="false" skipIntroductionRemovals="false" introducedBy="">
        <address>%s</address>
        <paused>false</paused>
        <autoAcceptFolders>false</autoAcceptFolders>
    </device>
`, stFolderID, xmlEscape(s.folder), s.id, peer.id, peer.id, peer.name, peer.listen)
	i := strings.Index(cfg, "    <gui")
	if i < 0 {
		t.Fatalf("syncthing's generated config.xml has no <gui>:\n%s", cfg)
	}
	cfg = cfg[:i] + extra + cfg[i:]
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
}

func xmlEscape(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// start runs `syncthing serve` in its own process group (Debian's 1.19
// keeps a monitor process with a child even with --no-restart) and waits
// until its REST API answers.
func (s *stInstance) start(t *testing.T) {
	t.Helper()
	logF, err := os.Create(s.logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logF.Close()
	s.cmd = exec.Command("syncthing", "serve", "--home="+s.home, "--no-browser", "--no-restart", "--no-upgrade",
		"--gui-address=http://"+s.gui, "--gui-apikey="+s.apiKey, "--logflags=3")
	s.cmd.Env = syncthingEnv(s.home)
	s.cmd.Stdout, s.cmd.Stderr = logF, logF
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("starting syncthing %s: %v", s.name, err)
	}
	s.exited = make(chan struct{})
	go func() { s.cmd.Wait(); close(s.exited) }()
	t.Cleanup(func() { s.stop(t) })
	deadline := time.Now().Add(30 * time.Second)
	for {
		var pong map[string]string
		if err := s.get("/rest/system/ping", &pong); err == nil && pong["ping"] == "pong" {
			break
		}
		select {
		case <-s.exited:
			t.Fatalf("syncthing %s exited before its REST API answered (%v); its log:\n%s", s.name, s.cmd.ProcessState, s.log())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("syncthing %s: REST API on %s does not answer after 30 s; its log:\n%s", s.name, s.gui, s.log())
		}
		time.Sleep(50 * time.Millisecond) // polling for readiness
	}
	s.checkConfig(t)
}

// checkConfig fails the test unless the running configuration is the
// closed one configure wrote (syncthing may add defaults of its own).
func (s *stInstance) checkConfig(t *testing.T) {
	t.Helper()
	var opts struct {
		ListenAddresses       []string `json:"listenAddresses"`
		GlobalAnnounceEnabled bool     `json:"globalAnnounceEnabled"`
		LocalAnnounceEnabled  bool     `json:"localAnnounceEnabled"`
		RelaysEnabled         bool     `json:"relaysEnabled"`
		NATEnabled            bool     `json:"natEnabled"`
		URAccepted            int      `json:"urAccepted"`
		AutoUpgradeIntervalH  int      `json:"autoUpgradeIntervalH"`
		CrashReportingEnabled bool     `json:"crashReportingEnabled"`
	}
	if err := s.get("/rest/config/options", &opts); err != nil {
		t.Fatalf("syncthing %s: GET /rest/config/options: %v", s.name, err)
	}
	if len(opts.ListenAddresses) != 1 || opts.ListenAddresses[0] != s.listen || opts.GlobalAnnounceEnabled ||
		opts.LocalAnnounceEnabled || opts.RelaysEnabled || opts.NATEnabled || opts.URAccepted != -1 ||
		opts.AutoUpgradeIntervalH != 0 || opts.CrashReportingEnabled {
		t.Fatalf("syncthing %s runs with options that reach beyond 127.0.0.1: %+v", s.name, opts)
	}
	var folder struct {
		Path         string `json:"path"`
		PullerPauseS int    `json:"pullerPauseS"`
		MaxConflicts int    `json:"maxConflicts"`
		FSWatcher    bool   `json:"fsWatcherEnabled"`
	}
	if err := s.get("/rest/config/folders/"+stFolderID, &folder); err != nil {
		t.Fatalf("syncthing %s: GET /rest/config/folders/%s: %v", s.name, stFolderID, err)
	}
	if folder.Path != s.folder || folder.PullerPauseS != 1 || folder.MaxConflicts != -1 || folder.FSWatcher {
		t.Fatalf("syncthing %s: folder configured as %+v", s.name, folder)
	}
}

// sockets fails the test if a process of the instance has an inet socket
// with an address other than 127.0.0.1 (or a listening one on any).
func (s *stInstance) checkSockets(t *testing.T) {
	t.Helper()
	inodes := map[string]bool{}
	for _, pid := range s.pids() {
		fds, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
		for _, fd := range fds {
			l, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name()))
			if err == nil && strings.HasPrefix(l, "socket:[") {
				inodes[strings.TrimSuffix(strings.TrimPrefix(l, "socket:["), "]")] = true
			}
		}
	}
	for _, table := range []string{"tcp", "tcp6", "udp", "udp6"} {
		data, err := os.ReadFile("/proc/net/" + table)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(data), "\n")[1:] {
			f := strings.Fields(line)
			if len(f) < 10 || !inodes[f[9]] {
				continue
			}
			for _, addr := range f[1:3] {
				ip, _, _ := strings.Cut(addr, ":")
				if ip != "0100007F" && ip != "00000000" {
					t.Errorf("syncthing %s has a %s socket on %s (local %s, remote %s): not 127.0.0.1", s.name, table, addr, f[1], f[2])
				}
			}
			if ip, _, _ := strings.Cut(f[1], ":"); ip != "0100007F" {
				t.Errorf("syncthing %s has a %s socket bound to %s, not 127.0.0.1", s.name, table, f[1])
			}
		}
	}
}

// pids returns the processes of the instance: its process group, and any
// process whose command line names its home (a monitor's child).
func (s *stInstance) pids() []int {
	if s.cmd == nil || s.cmd.Process == nil {
		return nil
	}
	var out []int
	pgid := s.cmd.Process.Pid
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if g, err := syscall.Getpgid(pid); err == nil && g == pgid {
			out = append(out, pid)
			continue
		}
		if cl, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); err == nil && bytes.Contains(cl, []byte("--home="+s.home+"\x00")) {
			out = append(out, pid)
		}
	}
	return out
}

// stop shuts the instance down through the API, then makes sure no
// process of it is left (SIGTERM, then SIGKILL, to its group and to any
// process naming its home).
func (s *stInstance) stop(t *testing.T) {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	select {
	case <-s.exited:
	default:
		_ = s.post("/rest/system/shutdown")
		select {
		case <-s.exited:
		case <-time.After(10 * time.Second):
		}
	}
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL} {
		left := s.pids()
		if len(left) == 0 {
			return
		}
		_ = syscall.Kill(-s.cmd.Process.Pid, sig)
		for _, pid := range left {
			_ = syscall.Kill(pid, sig)
		}
		harness.Poll(5*time.Second, func() bool { return len(s.livePids()) == 0 })
	}
	if left := s.livePids(); len(left) > 0 {
		t.Errorf("syncthing %s: processes %v still running after SIGKILL", s.name, left)
	}
}

// livePids is pids without zombies.
func (s *stInstance) livePids() []int {
	var out []int
	for _, pid := range s.pids() {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		if i := bytes.LastIndexByte(stat, ')'); i >= 0 && i+2 < len(stat) && (stat[i+2] == 'Z' || stat[i+2] == 'X') {
			continue
		}
		out = append(out, pid)
	}
	return out
}

func (s *stInstance) log() string {
	b, _ := os.ReadFile(s.logPath)
	return string(b)
}

func (s *stInstance) request(method, path string, out any) error {
	req, err := http.NewRequest(method, "http://"+s.gui+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("X-API-Key", s.apiKey)
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, strings.TrimSpace(string(body)))
	}
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			return fmt.Errorf("%s %s: %v in %s", method, path, err, body)
		}
	}
	return nil
}

func (s *stInstance) get(path string, out any) error { return s.request("GET", path, out) }
func (s *stInstance) post(path string) error         { return s.request("POST", path, nil) }

// scan rescans the folder; syncthing answers when the scan is done.
func (s *stInstance) scan(t *testing.T) {
	t.Helper()
	if err := s.post("/rest/db/scan?folder=" + stFolderID); err != nil {
		t.Fatalf("syncthing %s: scan: %v\n%s", s.name, err, s.folderErrors())
	}
}

type stStatus struct {
	State             string `json:"state"`
	Error             string `json:"error"`
	NeedTotalItems    int    `json:"needTotalItems"`
	PullErrors        int    `json:"pullErrors"`
	Errors            int    `json:"errors"`
	Sequence          int64  `json:"sequence"`
	GlobalFiles       int    `json:"globalFiles"`
	GlobalDirectories int    `json:"globalDirectories"`
	GlobalBytes       int64  `json:"globalBytes"`
}

type stCompletion struct {
	Completion  float64 `json:"completion"`
	NeedItems   int     `json:"needItems"`
	NeedDeletes int     `json:"needDeletes"`
	RemoteState string  `json:"remoteState"`
}

func (s *stInstance) status() (stStatus, error) {
	var st stStatus
	err := s.get("/rest/db/status?folder="+stFolderID, &st)
	return st, err
}

func (s *stInstance) completionOf(peer *stInstance) (stCompletion, error) {
	var c stCompletion
	err := s.get("/rest/db/completion?folder="+stFolderID+"&device="+peer.id, &c)
	return c, err
}

func (s *stInstance) connectedTo(peer *stInstance) (bool, error) {
	var conns struct {
		Connections map[string]struct {
			Connected bool `json:"connected"`
		} `json:"connections"`
	}
	if err := s.get("/rest/system/connections", &conns); err != nil {
		return false, err
	}
	return conns.Connections[peer.id].Connected, nil
}

// folderErrors returns syncthing's pull errors of the folder, one a line.
func (s *stInstance) folderErrors() string {
	var fe struct {
		Errors []struct {
			Path  string `json:"path"`
			Error string `json:"error"`
		} `json:"errors"`
	}
	if err := s.get("/rest/folder/errors?folder="+stFolderID, &fe); err != nil {
		return fmt.Sprintf("(folder errors of %s: %v)", s.name, err)
	}
	if len(fe.Errors) == 0 {
		return fmt.Sprintf("syncthing %s: no folder errors", s.name)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "syncthing %s: folder errors:", s.name)
	for _, e := range fe.Errors {
		fmt.Fprintf(&b, "\n    %s: %s", e.Path, e.Error)
	}
	return b.String()
}

// startSyncthingPair starts two instances syncing a's and b's CIPHERDIRs.
func startSyncthingPair(t *testing.T, base string, a, b *machine) *stPair {
	t.Helper()
	for _, m := range []*machine{a, b} {
		// The folder marker; syncthing refuses a folder without it.
		if err := os.MkdirAll(filepath.Join(m.cipher, ".stfolder"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	p := &stPair{a: newSyncthing(t, base, "A", a.cipher), b: newSyncthing(t, base, "B", b.cipher)}
	p.a.configure(t, p.b)
	p.b.configure(t, p.a)
	p.a.start(t)
	p.b.start(t)
	p.waitConnected(t, true)
	p.a.checkSockets(t)
	p.b.checkSockets(t)
	return p
}

func (p *stPair) waitConnected(t *testing.T, want bool) {
	t.Helper()
	took, ok := harness.Poll(stSettleWithin, func() bool {
		ca, errA := p.a.connectedTo(p.b)
		cb, errB := p.b.connectedTo(p.a)
		return errA == nil && errB == nil && ca == want && cb == want
	})
	if !ok {
		t.Fatalf("syncthing A and B: connected != %v after %v\n--- A's log:\n%s\n--- B's log:\n%s",
			want, took, tail(p.a.log(), 30), tail(p.b.log(), 30))
	}
}

// pause disconnects the instances (A pauses device B), so that both sides
// can change the same things independently.
func (p *stPair) pause(t *testing.T) {
	t.Helper()
	if err := p.a.post("/rest/system/pause?device=" + p.b.id); err != nil {
		t.Fatalf("pausing device B on A: %v", err)
	}
	p.waitConnected(t, false)
}

// resume scans both sides (so that each has indexed its own changes,
// which makes them concurrent) and reconnects them.
func (p *stPair) resume(t *testing.T) {
	t.Helper()
	p.a.scan(t)
	p.b.scan(t)
	if err := p.a.post("/rest/system/resume?device=" + p.b.id); err != nil {
		t.Fatalf("resuming device B on A: %v", err)
	}
	p.waitConnected(t, true)
}

// settledNow reports whether the pair is settled at this moment, or why
// not: connected, both folders idle with nothing needed and no errors,
// each side's view of the other complete, the same global state.
func (p *stPair) settledNow() (bool, string) {
	for _, s := range []struct{ me, peer *stInstance }{{p.a, p.b}, {p.b, p.a}} {
		if c, err := s.me.connectedTo(s.peer); err != nil || !c {
			return false, fmt.Sprintf("%s not connected to %s (%v)", s.me.name, s.peer.name, err)
		}
		st, err := s.me.status()
		if err != nil {
			return false, err.Error()
		}
		if st.State != "idle" || st.NeedTotalItems != 0 || st.PullErrors != 0 || st.Errors != 0 || st.Error != "" {
			return false, fmt.Sprintf("%s: %+v", s.me.name, st)
		}
		c, err := s.me.completionOf(s.peer)
		if err != nil {
			return false, err.Error()
		}
		if c.Completion < 100 || c.NeedItems != 0 || c.NeedDeletes != 0 {
			return false, fmt.Sprintf("%s's view of %s: %+v", s.me.name, s.peer.name, c)
		}
	}
	sa, errA := p.a.status()
	sb, errB := p.b.status()
	if errA != nil || errB != nil {
		return false, fmt.Sprint(errA, errB)
	}
	if sa.GlobalFiles != sb.GlobalFiles || sa.GlobalDirectories != sb.GlobalDirectories || sa.GlobalBytes != sb.GlobalBytes {
		return false, fmt.Sprintf("global state differs: A %+v, B %+v", sa, sb)
	}
	return true, ""
}

// waitSettled polls until stSettledChecks readings in a row are settled.
func (p *stPair) waitSettled(t *testing.T, what string, deadline time.Time) {
	t.Helper()
	good := 0
	why := ""
	for {
		ok, w := p.settledNow()
		if ok {
			good++
			if good >= stSettledChecks {
				return
			}
		} else {
			good, why = 0, w
		}
		if time.Now().After(deadline) {
			t.Fatalf("syncthing did not settle (%s) within %v: %s\n%s\n%s\n--- A's log:\n%s\n--- B's log:\n%s",
				what, stSettleWithin, why, p.a.folderErrors(), p.b.folderErrors(), tail(p.a.log(), 30), tail(p.b.log(), 30))
		}
		time.Sleep(150 * time.Millisecond) // polling syncthing's state
	}
}

// settle scans both sides and waits until everything is exchanged. The
// pulls can leave new local changes (conflict copies, and what a veilfs
// mount repairs), so it scans again until a scan of both finds nothing.
func (p *stPair) settle(t *testing.T, what string) {
	t.Helper()
	start := time.Now()
	deadline := start.Add(stSettleWithin)
	for {
		p.a.scan(t)
		p.b.scan(t)
		p.waitSettled(t, what, deadline)
		sa, _ := p.a.status()
		sb, _ := p.b.status()
		p.a.scan(t)
		p.b.scan(t)
		sa2, _ := p.a.status()
		sb2, _ := p.b.status()
		if sa.Sequence == sa2.Sequence && sb.Sequence == sb2.Sequence {
			p.waitSettled(t, what, deadline)
			t.Logf("syncthing settled (%s) in %v", what, time.Since(start).Round(time.Millisecond))
			return
		}
	}
}

// dump returns syncthing's side of a failed scenario's diagnostics.
func (p *stPair) dump() string {
	var b strings.Builder
	for _, s := range []*stInstance{p.a, p.b} {
		st, err := s.status()
		fmt.Fprintf(&b, "===== syncthing %s: status %+v %v\n%s\n--- log (last 25 lines):\n%s\n",
			s.name, st, err, s.folderErrors(), tail(s.log(), 25))
	}
	return b.String()
}

// ownFiles: the folder marker, the trash can of the versioning, and the
// temporary files of transfers.
func (p *stPair) ownFiles() *regexp.Regexp {
	return regexp.MustCompile(`(^|/)(\.stfolder|\.stversions|\.syncthing\.[^/]*\.tmp)(/|$)`)
}

// leftoverTemp is named as Syncthing names a transfer's temporary file:
// ".syncthing." + the file's name + ".tmp".
func (p *stPair) leftoverTemp() string { return ".syncthing.5-X5dCRA68UR5LPU8CKRFg.tmp" }

// TestSyncthing runs two real Syncthing instances on 127.0.0.1, each
// syncing its machine's CIPHERDIR, with both mounted throughout, through
// the scenarios of issue #13 (scenarios_test.go). The rule every check
// applies: nothing a user wrote on any machine ever becomes invisible or
// unreadable in a live mount, and no repair ever breaks the sync client.
func TestSyncthing(t *testing.T) {
	start := time.Now()
	base, A, B := newMachines(t, "syncthing")
	p := startSyncthingPair(t, base, A, B)
	p.settle(t, "the new volume reaches B")
	for _, f := range []string{"gocryptfs.conf", "gocryptfs.diriv"} {
		a, errA := os.ReadFile(filepath.Join(A.cipher, f))
		b, errB := os.ReadFile(filepath.Join(B.cipher, f))
		if errA != nil || errB != nil || !bytes.Equal(a, b) {
			t.Fatalf("%s did not reach B: %v %v", f, errA, errB)
		}
	}
	t.Logf("setup: syncthing started and the volume synced after %v", time.Since(start).Round(time.Millisecond))
	runScenarios(t, p, A, B, allScenarios)
	// Scenario h's check that fsck leaves Syncthing's files alone is only
	// worth something if they were there.
	if _, errA := os.Stat(filepath.Join(A.cipher, ".stversions")); errA != nil {
		if _, errB := os.Stat(filepath.Join(B.cipher, ".stversions")); errB != nil {
			t.Errorf("no .stversions on either side (%v, %v): the trash-can versioning kept nothing", errA, errB)
		}
	}
	p.a.checkSockets(t)
	p.b.checkSockets(t)
	t.Logf("TestSyncthing: %v in all", time.Since(start).Round(time.Millisecond))
}

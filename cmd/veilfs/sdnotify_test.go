package main

import (
	"bytes"
	"fmt"
	"log"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// listenNotify listens on a unixgram socket as systemd does and returns the
// value NOTIFY_SOCKET should have for it, and a function that returns the
// next datagram ("" after a short wait if none came).
func listenNotify(t *testing.T, abstract bool) (addr string, next func() string) {
	t.Helper()
	addr = filepath.Join(t.TempDir(), "notify")
	if abstract {
		addr = fmt.Sprintf("@veilfs-test-notify-%d-%d", os.Getpid(), time.Now().UnixNano())
	}
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return addr, func() string {
		buf := make([]byte, 4096)
		conn.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		n, _, err := conn.ReadFromUnix(buf)
		if err != nil {
			return ""
		}
		return string(buf[:n])
	}
}

func TestNotifyServing(t *testing.T) {
	for _, tt := range []struct {
		name     string
		abstract bool
	}{
		{"socket file", false},
		{"abstract socket", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			addr, next := listenNotify(t, tt.abstract)
			t.Setenv(notifySocketEnv, addr)
			var logs bytes.Buffer
			unmounted := notifyServing("/srv/vault.enc", "/srv/vault", log.New(&logs, "", 0))
			if got, want := next(), "READY=1\nSTATUS=serving /srv/vault.enc on /srv/vault"; got != want {
				t.Errorf("after mounting: %q, want %q", got, want)
			}
			if got := next(); got != "" {
				t.Errorf("a second message before the unmount: %q", got)
			}
			unmounted()
			if got := next(); !strings.HasPrefix(got, "STOPPING=1\n") {
				t.Errorf("after the unmount: %q, want STOPPING=1 first", got)
			}
			if _, err := notifyMainPID(4242); err != nil {
				t.Fatal(err)
			}
			if got := next(); got != "MAINPID=4242" {
				t.Errorf("notifyMainPID: %q", got)
			}
			if logs.Len() > 0 {
				t.Errorf("logged: %s", &logs)
			}
		})
	}
}

func TestNotifyWithoutSystemd(t *testing.T) {
	t.Setenv(notifySocketEnv, "")
	var logs bytes.Buffer
	notifyServing("/a", "/b", log.New(&logs, "", 0))()
	if sent, err := notifyMainPID(1); sent || err != nil {
		t.Errorf("notifyMainPID without NOTIFY_SOCKET: %v, %v", sent, err)
	}
	if logs.Len() > 0 {
		t.Errorf("logged without NOTIFY_SOCKET: %s", &logs)
	}

	// A socket that is gone: the mount goes on, with a warning in the log.
	t.Setenv(notifySocketEnv, filepath.Join(t.TempDir(), "gone"))
	notifyServing("/a", "/b", log.New(&logs, "", 0))()
	if !strings.Contains(logs.String(), "warning: cannot notify the service manager") {
		t.Errorf("no warning for a missing socket: %q", &logs)
	}
}

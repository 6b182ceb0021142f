package main

// What a serving mount does besides serving: the control socket that
// `veilfs status` reads, and the idle unmount (--idle).

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/veilfs/veilfs/fs/mountstats"
)

// mountStatus is what a mount daemon tells `veilfs status` (JSON over its
// control socket). Nothing secret: paths, options and counters.
type mountStatus struct {
	CipherDir    string     `json:"cipherdir"`
	Mountpoint   string     `json:"mountpoint"`
	PID          int        `json:"pid"`
	Version      string     `json:"version"`
	Started      time.Time  `json:"started"`
	Options      []string   `json:"options"`
	Idle         string     `json:"idle_timeout,omitempty"`
	OpenFiles    int64      `json:"open_files"`
	BytesRead    uint64     `json:"bytes_read"`
	BytesWritten uint64     `json:"bytes_written"`
	Corruptions  uint64     `json:"corruptions"`
	Requests     uint64     `json:"requests"`
	Sync         syncStatus `json:"sync"`
}

// syncStatus is mountstats.SyncStats for `veilfs status`: what a sync client did to
// CIPHERDIR since the mount and what the mount did about it.
type syncStatus struct {
	Repairs           uint64 `json:"repairs"`
	ClientFiles       uint64 `json:"client_files_skipped"`
	TransientSeen     uint64 `json:"transient_seen"`
	TransientResolved uint64 `json:"transient_resolved"`
}

// controlSocket is where the daemon serving mnt listens: in the runtime
// directory of the undo journals (runtimeDir), named after a hash of the
// mountpoint so that status can find it from /proc/self/mountinfo alone.
// "" when there is no runtime directory. The daemon creates the directory
// if need be; status (create false) only looks.
func controlSocket(mnt string, create bool) string {
	base, err := runtimeDir(create)
	if err != nil {
		return ""
	}
	h := sha256.Sum256([]byte(mnt))
	return filepath.Join(base, "ctl-"+hex.EncodeToString(h[:8])+".sock")
}

// mounted is what a session needs of a serving mount, forward or reverse.
type mounted interface {
	Stats() mountstats.Stats
	Unmount() error
}

// session runs the control socket and the idle monitor of one mount.
type session struct {
	m      mounted
	status mountStatus
	idle   time.Duration
	logger *log.Logger
	done   chan struct{}
}

// startSession starts what the mount needs besides serving; stop ends it
// and removes the socket.
func startSession(m mounted, dir, mnt string, options []string, idle time.Duration, logger *log.Logger) (stop func()) {
	s := &session{m: m, idle: idle, logger: logger, done: make(chan struct{}),
		status: mountStatus{CipherDir: dir, Mountpoint: mnt, PID: os.Getpid(), Version: version, Options: options}}
	if idle > 0 {
		s.status.Idle = idle.String()
		go s.watchIdle()
	}
	closeSocket := s.listen(controlSocket(mnt, true))
	return func() {
		close(s.done)
		closeSocket()
	}
}

func (s *session) listen(path string) (closeFn func()) {
	if path == "" {
		return func() {}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		s.logger.Printf("warning: no control socket, veilfs status will show less: %v", err)
		return func() {}
	}
	// A socket left by a killed daemon for the same mountpoint is stale:
	// only one mount can be on a mountpoint at a time, and it is ours.
	_ = os.Remove(path)
	ln, err := net.Listen("unix", path)
	if err != nil {
		s.logger.Printf("warning: no control socket, veilfs status will show less: %v", err)
		return func() {}
	}
	_ = os.Chmod(path, 0o600) // the owner's business only
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return // closed
			}
			_ = c.SetDeadline(time.Now().Add(2 * time.Second))
			_ = json.NewEncoder(c).Encode(s.snapshot())
			c.Close()
		}
	}()
	return func() {
		ln.Close()
		_ = os.Remove(path)
	}
}

func (s *session) snapshot() mountStatus {
	st := s.m.Stats()
	out := s.status
	out.Started = st.Started
	out.OpenFiles, out.BytesRead, out.BytesWritten = st.OpenFiles, st.BytesRead, st.BytesWritten
	out.Corruptions, out.Requests = st.Corruptions, st.Requests
	out.Sync = syncStatus(st.Sync)
	return out
}

// watchIdle unmounts once no file has been open and no request has come
// for s.idle. It checks ten times per period, so the unmount comes at most
// a tenth late. A mount kept busy otherwise (a shell's working directory)
// refuses the unmount; the monitor then tries again at the next check.
func (s *session) watchIdle() {
	tick := time.NewTicker(max(s.idle/10, 100*time.Millisecond))
	defer tick.Stop()
	last, since := s.m.Stats().Requests, time.Now()
	for {
		select {
		case <-s.done:
			return
		case now := <-tick.C:
			st := s.m.Stats()
			if st.Requests != last || st.OpenFiles > 0 {
				last, since = st.Requests, now
				continue
			}
			if now.Sub(since) < s.idle {
				continue
			}
			if err := s.m.Unmount(); err != nil {
				s.logger.Printf("idle for %v but cannot unmount yet: %v", s.idle, err)
				since = now // retry after another idle period
				continue
			}
			s.logger.Printf("unmounted after %v without use (--idle)", s.idle)
			return
		}
	}
}

// queryStatus asks the daemon serving mnt for its status.
func queryStatus(mnt string) (*mountStatus, error) {
	path := controlSocket(mnt, false)
	if path == "" {
		return nil, errors.New("no runtime directory")
	}
	c, err := net.DialTimeout("unix", path, 2*time.Second)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	var st mountStatus
	if err := json.NewDecoder(c).Decode(&st); err != nil {
		return nil, fmt.Errorf("read status from %s: %w", path, err)
	}
	return &st, nil
}

package main

// The runtime directory: where mount daemons keep their undo journals
// (fs/journal.go) and their control sockets (session.go). It must outlive
// a killed daemon but need not outlive a reboot, and it must be the user's
// alone: a journal record holds ciphertext and the file's path, and the
// socket answers `veilfs status`.

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// runtimeDir returns veilfs's runtime directory for this user:
//
//   - /run/veilfs for root;
//   - $XDG_RUNTIME_DIR/veilfs, the login session's directory (pam_systemd);
//   - /run/user/UID/veilfs when XDG_RUNTIME_DIR is unset (su, sudo -u, cron)
//     but that directory exists, is the user's and is private;
//   - else TMPDIR/veilfs-UID (os.TempDir), made 0700 by the first mount.
//
// The last two are checked before use: a directory that is a symlink,
// belongs to another user or that others can enter is refused, since
// whoever made it could read the journal or stand in for the socket. With
// create false a missing TMPDIR/veilfs-UID is not made, only named
// (status looks, it does not prepare).
func runtimeDir(create bool) (string, error) {
	if os.Geteuid() == 0 {
		return "/run/veilfs", nil
	}
	return userRuntimeDir(os.Geteuid(), os.Getenv("XDG_RUNTIME_DIR"), "/run/user", os.TempDir(), create)
}

// userRuntimeDir is runtimeDir for a user other than root, with what it
// depends on given: the user, XDG_RUNTIME_DIR, the parent of the
// per-user directories of logind (/run/user) and the temporary directory.
func userRuntimeDir(uid int, xdg, runUser, tmp string, create bool) (string, error) {
	if xdg != "" {
		return filepath.Join(xdg, "veilfs"), nil
	}
	if d := filepath.Join(runUser, strconv.Itoa(uid)); privateDir(d, uid) == nil {
		return filepath.Join(d, "veilfs"), nil
	}
	d := filepath.Join(tmp, "veilfs-"+strconv.Itoa(uid))
	if create {
		// Mkdir, never MkdirAll: an existing one is someone's, and is
		// checked below like any other.
		if err := os.Mkdir(d, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return "", fmt.Errorf("create the runtime directory: %w", err)
		}
	}
	if err := privateDir(d, uid); err != nil {
		if !create && errors.Is(err, fs.ErrNotExist) {
			return d, nil
		}
		return "", err
	}
	return d, nil
}

// privateDir checks that d is a directory, not a symlink to one, owned by
// uid, that no other user can enter, list or write.
func privateDir(d string, uid int) error {
	var st unix.Stat_t
	if err := unix.Lstat(d, &st); err != nil {
		return &fs.PathError{Op: "runtime directory", Path: d, Err: err}
	}
	switch {
	case st.Mode&unix.S_IFMT != unix.S_IFDIR:
		return fmt.Errorf("runtime directory %s is not a directory (a symlink or file someone put there)", d)
	case int(st.Uid) != uid:
		return fmt.Errorf("runtime directory %s belongs to uid %d, not to you (uid %d): another user made it", d, st.Uid, uid)
	case st.Mode&0o077 != 0:
		return fmt.Errorf("runtime directory %s has mode %04o: other users can get in", d, st.Mode&0o7777)
	}
	return nil
}

// runtimeDirHint says what to do when runtimeDir fails.
const runtimeDirHint = "set XDG_RUNTIME_DIR to a directory of yours with mode 0700 (a login session has /run/user/UID), " +
	"or remove the directory named above (as root, if it is not yours) and mount again"

// journalBase is where mount daemons keep their undo journals: the runtime
// directory, or "" (no journal) when there is none.
func journalBase() string {
	d, err := runtimeDir(true)
	if err != nil {
		return ""
	}
	return d
}

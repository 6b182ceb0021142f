package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// tmpSuffix names the file Save writes before renaming it over the config
// (FORMAT §2.4; gocryptfs uses the same name).
const tmpSuffix = ".tmp"

// Save writes the config to path crash-safely (FORMAT §2.4, as gocryptfs's
// WriteFile, plus a read-back check and a directory fsync):
//
//  1. create path.tmp with O_WRONLY|O_CREAT|O_EXCL, mode 0400;
//  2. write, fsync, close, read back and compare;
//  3. rename over path, fsync the directory.
//
// An existing path.tmp makes Save fail rather than clobber it, exactly as
// gocryptfs does (its O_EXCL open fails with EEXIST): a leftover tmp means an
// earlier save was interrupted or another process is saving right now, and
// deleting it could destroy the only copy of a new password's config. The
// error says so; the user removes it after checking. On any failure before
// the rename, the tmp file we created is removed and path is untouched.
func (f *File) Save(path string) error {
	return f.SaveVerified(path, nil)
}

// VerifyError is SaveVerified's error when the written config did not pass
// its check: path still holds the old config and the tmp file is removed.
type VerifyError struct {
	Path string // the config that was not replaced
	Err  error  // what the check found
}

func (e *VerifyError) Error() string {
	return fmt.Sprintf("save config %s: the written config failed its check, the old one is kept: %v", e.Path, e.Err)
}

func (e *VerifyError) Unwrap() error { return e.Err }

// SaveVerified is Save with a check of what was written before it replaces
// path: after step 2 the tmp file is parsed, must marshal to the same bytes
// as f, and is given to verify (when not nil), which says whether the new
// config still does its job (it opens the master key, an unlocker it adds
// is there...). A config that fails is never renamed over the old one, so
// a failed change leaves the volume as it was rather than with a config
// that may not open it; the error is then a *VerifyError.
func (f *File) SaveVerified(path string, verify func(written *File) error) (err error) {
	if err = f.Validate(); err != nil {
		return fmt.Errorf("save config %s: %w", path, err)
	}
	data := f.Marshal()
	tmp := path + tmpSuffix
	// Read back through the same descriptor, never by name: CIPHERDIR is
	// shared with a sync client, and a name can be swapped meanwhile.
	fd, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o400)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("save config %s: %s already exists (left over from an interrupted save, or another save is running); check and remove it, then retry: %w", path, tmp, err)
	}
	if err != nil {
		return fmt.Errorf("save config %s: %w", path, err)
	}
	closed, renamed := false, false
	defer func() {
		if err != nil && !renamed {
			if !closed {
				fd.Close()
			}
			os.Remove(tmp) // ours: O_EXCL guarantees we created it
		}
	}()
	if _, err = fd.Write(data); err != nil {
		return fmt.Errorf("save config %s: write %s: %w", path, tmp, err)
	}
	if err = fd.Sync(); err != nil {
		if !fsyncUnsupported(err) {
			return fmt.Errorf("save config %s: fsync %s: %w", path, tmp, err)
		}
		// Some network filesystems do not implement fsync (gocryptfs
		// issue 390); gocryptfs falls back to a global sync, and so do we.
		syscall.Sync()
	}
	back := make([]byte, len(data)+1) // one more: a longer file differs too
	n, err := fd.ReadAt(back, 0)
	if errors.Is(err, io.EOF) {
		err = nil
	}
	if back = back[:n]; err == nil && !bytes.Equal(back, data) {
		err = errors.New("content differs from what was written")
	}
	if err != nil {
		return fmt.Errorf("save config %s: read back %s: %w", path, tmp, err)
	}
	closed = true
	if err = fd.Close(); err != nil {
		return fmt.Errorf("save config %s: close %s: %w", path, tmp, err)
	}
	if err = verifyWritten(back, data, verify); err != nil {
		return &VerifyError{Path: path, Err: err}
	}
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("save config %s: %w", path, err)
	}
	renamed = true // tmp is gone; never remove a tmp someone else may create now
	if derr := syncDir(filepath.Dir(path)); derr != nil {
		return fmt.Errorf("save config %s: config replaced but directory fsync failed: %w", path, derr)
	}
	return nil
}

// verifyWritten parses what was read back from the tmp file and runs
// verify on it; the config a command opens next is parsed the same way.
func verifyWritten(back, data []byte, verify func(*File) error) error {
	if verify == nil {
		return nil
	}
	g, err := Parse(back)
	if err == nil && !bytes.Equal(g.Marshal(), data) {
		err = errors.New("it reads back differently from what was written")
	}
	if err == nil {
		err = verify(g)
	}
	return err
}

func fsyncUnsupported(err error) bool {
	return errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.ENOTSUP) || errors.Is(err, syscall.EOPNOTSUPP)
}

// syncDir makes the rename durable. Filesystems that cannot fsync a
// directory are tolerated, as for the file itself.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !fsyncUnsupported(err) {
		return err
	}
	return nil
}

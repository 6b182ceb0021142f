package syncmem

import (
	"os"
	"path/filepath"
	"syscall"
)

// appender adds lines to a memory file. The file is opened on the first
// line and kept open until close: a mount that creates many directories
// or long names records a line for each, and opening the file for every
// line cost seven system calls more than the write. Each line is one
// write to an O_APPEND descriptor, so two processes appending at once do
// not mix their lines. Callers serialise the calls.
type appender struct {
	path string
	f    *os.File
}

func (a *appender) append(line string) error {
	if a.f == nil {
		if err := os.MkdirAll(filepath.Dir(a.path), 0o700); err != nil {
			return err
		}
		f, err := os.OpenFile(a.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE|syscall.O_NOFOLLOW, 0o600)
		if err != nil {
			return err
		}
		a.f = f
	}
	_, err := a.f.WriteString(line)
	return err
}

func (a *appender) close() {
	if a.f != nil {
		a.f.Close()
		a.f = nil
	}
}

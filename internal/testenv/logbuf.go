package testenv

import (
	"bytes"
	"sync"
)

// LogBuffer collects what a mount under test logs (its log.Logger's
// writer), for assertions on the lines: the mount's goroutines write while
// the test reads, so every access takes the lock. The unit tests of fs and
// fs/reverse both mount in-process and read their logs this way.
type LogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// String returns everything written so far.
func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

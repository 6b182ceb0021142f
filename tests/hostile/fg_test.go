//go:build linux

package hostile_test

import (
	"time"

	"github.com/veilfs/veilfs/tests/harness"
)

// opTimeout bounds every single file-system call a test makes through a
// mount that may be hostile or dead: a hang is a finding, not a stuck run.
const opTimeout = 5 * time.Second

// timed runs fn through the mount at mnt with opTimeout.
func timed(mnt string, fn func() error) error { return harness.Timed(mnt, opTimeout, fn) }

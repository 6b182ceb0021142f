//go:build !linux

package fs

import "golang.org/x/sys/unix"

// punchHole: there is no fallocate here, so Allocate refuses to punch or
// zero whole blocks (EOPNOTSUPP).
func punchHole(fd int, off, length int64) error { return unix.EOPNOTSUPP }

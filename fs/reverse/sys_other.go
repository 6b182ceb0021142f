//go:build !linux

package reverse

import (
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

const (
	// oPath: there is no O_PATH; the root is opened for reading.
	oPath = unix.O_RDONLY
	// go-fuse passes DirectMountFlags to mount(2) on Linux only; the "ro"
	// option says it here.
	directMountFlags = 0
)

// toSyscallStat converts a stat for go-fuse's Attr.FromStat; both types
// are the system's struct stat, field for field.
func toSyscallStat(st *unix.Stat_t) *syscall.Stat_t {
	var _ [unsafe.Sizeof(unix.Stat_t{}) - unsafe.Sizeof(syscall.Stat_t{})]byte // same size
	var _ [unsafe.Sizeof(syscall.Stat_t{}) - unsafe.Sizeof(unix.Stat_t{})]byte
	s := *(*syscall.Stat_t)(unsafe.Pointer(st))
	return &s
}

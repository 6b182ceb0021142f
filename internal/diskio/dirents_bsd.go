//go:build darwin || freebsd

package diskio

import (
	"encoding/binary"
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// direntBufSize is large enough for hundreds of entries per read.
const direntBufSize = 32 << 10

// The fields of struct dirent that ReadDirents reads; the inode number
// (d_ino on darwin, d_fileno on FreeBSD) comes first on both, see
// direntInoOffset.
const (
	direntReclenOffset = int(unsafe.Offsetof(unix.Dirent{}.Reclen))
	direntNamlenOffset = int(unsafe.Offsetof(unix.Dirent{}.Namlen))
	direntTypeOffset   = int(unsafe.Offsetof(unix.Dirent{}.Type))
	direntNameOffset   = int(unsafe.Offsetof(unix.Dirent{}.Name))
)

// ReadDirents calls fn for every entry of the directory open at fd except
// "." and "..", with its inode number and d_type, until fn returns false.
// It reads struct dirent records from unix.ReadDirent (getdirentries on
// FreeBSD, readdir emulated by x/sys on darwin).
func ReadDirents(fd int, fn func(name string, ino uint64, typ uint8) bool) error {
	if _, err := unix.Seek(fd, 0, 0); err != nil {
		return fmt.Errorf("rewind directory: %w", err)
	}
	buf := make([]byte, direntBufSize)
	for {
		n, err := unix.ReadDirent(fd, buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("getdirentries: %w", err)
		}
		if n <= 0 {
			return nil
		}
		for off := 0; off < n; {
			rec := buf[off:n]
			if len(rec) < direntNameOffset {
				return fmt.Errorf("getdirentries: short record")
			}
			reclen := int(binary.NativeEndian.Uint16(rec[direntReclenOffset:]))
			namlen := int(binary.NativeEndian.Uint16(rec[direntNamlenOffset:]))
			if reclen < direntNameOffset || reclen > len(rec) || direntNameOffset+namlen > reclen {
				return fmt.Errorf("getdirentries: bad record length %d", reclen)
			}
			off += reclen
			ino := binary.NativeEndian.Uint64(rec[direntInoOffset:])
			if ino == 0 {
				continue // a deleted entry (FreeBSD leaves them in the buffer)
			}
			typ := rec[direntTypeOffset]
			s := string(rec[direntNameOffset : direntNameOffset+namlen])
			if s == "." || s == ".." {
				continue
			}
			if !fn(s, ino, typ) {
				return nil
			}
		}
	}
}

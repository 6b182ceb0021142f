package diskio

import (
	"encoding/binary"
	"fmt"

	"golang.org/x/sys/unix"
)

// direntBufSize is large enough for hundreds of entries per getdents call.
const direntBufSize = 32 << 10

// ReadDirents calls fn for every entry of the directory open at fd except
// "." and "..", with its inode number and d_type, until fn returns false.
// It reads linux_dirent64 records directly: os.File.ReadDir would lose the
// inode numbers and stat every entry.
func ReadDirents(fd int, fn func(name string, ino uint64, typ uint8) bool) error {
	if _, err := unix.Seek(fd, 0, 0); err != nil {
		return fmt.Errorf("rewind directory: %w", err)
	}
	buf := make([]byte, direntBufSize)
	for {
		n, err := unix.Getdents(fd, buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("getdents: %w", err)
		}
		if n <= 0 {
			return nil
		}
		for off := 0; off < n; {
			// struct linux_dirent64 { u64 ino; s64 off; u16 reclen; u8 type; char name[]; }
			rec := buf[off:n]
			if len(rec) < 19 {
				return fmt.Errorf("getdents: short record")
			}
			ino := binary.NativeEndian.Uint64(rec[0:8])
			reclen := int(binary.NativeEndian.Uint16(rec[16:18]))
			if reclen < 19 || reclen > len(rec) {
				return fmt.Errorf("getdents: bad record length %d", reclen)
			}
			typ := rec[18]
			name := rec[19:reclen]
			for i, c := range name {
				if c == 0 {
					name = name[:i]
					break
				}
			}
			off += reclen
			s := string(name)
			if s == "." || s == ".." {
				continue
			}
			if !fn(s, ino, typ) {
				return nil
			}
		}
	}
}

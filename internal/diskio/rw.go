package diskio

import "golang.org/x/sys/unix"

// PreadFull reads len(buf) bytes at off, or fewer at end of file,
// retrying on EINTR and after short reads. It returns the bytes read and
// the first error other than EINTR, unwrapped.
func PreadFull(fd int, buf []byte, off int64) (int, error) {
	total := 0
	for total < len(buf) {
		n, err := unix.Pread(fd, buf[total:], off+int64(total))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return total, err
		}
		if n == 0 {
			break
		}
		total += n
	}
	return total, nil
}

// PwriteFull writes all of buf at off, retrying on EINTR and after short
// writes. The error is the system's, unwrapped.
func PwriteFull(fd int, buf []byte, off int64) error {
	for len(buf) > 0 {
		n, err := unix.Pwrite(fd, buf, off)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		buf, off = buf[n:], off+int64(n)
	}
	return nil
}

// WriteFull writes all of buf at fd's offset, retrying on EINTR and after
// short writes. The error is the system's, unwrapped.
func WriteFull(fd int, buf []byte) error {
	for len(buf) > 0 {
		n, err := unix.Write(fd, buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		buf = buf[n:]
	}
	return nil
}

// ReadFull reads from fd's offset until buf is full or end of file,
// retrying on EINTR and after short reads. It returns the bytes read and
// the first error other than EINTR, unwrapped.
func ReadFull(fd int, buf []byte) (int, error) {
	total := 0
	for total < len(buf) {
		n, err := unix.Read(fd, buf[total:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return total, err
		}
		if n == 0 {
			return total, nil
		}
		total += n
	}
	return total, nil
}

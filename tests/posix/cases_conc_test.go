//go:build linux

package posix

import (
	"bytes"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
)

// caseAppendConcurrent: several writers append fixed-size records through
// their own O_APPEND descriptors. Every record must land whole, none lost.
func caseAppendConcurrent(t *testing.T, dir string) string {
	const writers, records, recLen = 8, 150, 37
	p := filepath.Join(dir, "log")
	writeFile(t, p, nil, 0o644)
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fd, err := unix.Open(p, unix.O_WRONLY|unix.O_APPEND|unix.O_CLOEXEC, 0)
			if err != nil {
				errs <- err
				return
			}
			defer unix.Close(fd)
			for r := 0; r < records; r++ {
				rec := fmt.Sprintf("<%c:%04d:", 'A'+w, r)
				rec += string(bytes.Repeat([]byte{byte('a' + w)}, recLen-len(rec)-1)) + "\n"
				n, err := unix.Write(fd, []byte(rec))
				if err != nil || n != recLen {
					errs <- fmt.Errorf("writer %d record %d: n=%d err=%v", w, r, n, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	data := readFile(t, p)
	if len(data) != writers*records*recLen {
		t.Errorf("size %d, want %d", len(data), writers*records*recLen)
	}
	next := make([]int, writers)
	bad := 0
	for off := 0; off+recLen <= len(data); off += recLen {
		rec := data[off : off+recLen]
		w := int(rec[1] - 'A')
		var seq int
		if rec[0] != '<' || w < 0 || w >= writers || rec[recLen-1] != '\n' {
			bad++
			continue
		}
		fmt.Sscanf(string(rec[3:7]), "%d", &seq)
		if seq != next[w] {
			bad++
		}
		next[w] = seq + 1
	}
	if bad > 0 {
		t.Errorf("%d torn, lost or reordered records", bad)
	}
	return fmt.Sprintf("size=%d bad=%d per-writer=%v\n", len(data), bad, next)
}

// caseConcurrentRW: writers on separate fds fill interleaved, unaligned
// 1000-byte stripes of one file (so every 4 KiB block is shared by several
// writers doing read-modify-write), while readers keep reading. Each byte
// is written once, so a reader may only ever see 0 or the final value, and
// the final content is exact.
func caseConcurrentRW(t *testing.T, dir string) string {
	const writers, stripes, stripeLen, base = 8, 240, 1000, 13
	size := base + stripes*stripeLen
	final := make([]byte, size)
	copy(final[base:], pattern(stripes*stripeLen, 40))
	for i := range final[base:] {
		if final[base+i] == 0 {
			final[base+i] = 1 // keep "0 = not yet written" unambiguous
		}
	}
	p := filepath.Join(dir, "f")
	writeFile(t, p, nil, 0o644)

	var wg sync.WaitGroup
	done := make(chan struct{})
	errs := make(chan error, writers+4)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fd, err := unix.Open(p, unix.O_RDWR|unix.O_CLOEXEC, 0)
			if err != nil {
				errs <- err
				return
			}
			defer unix.Close(fd)
			for s := w; s < stripes; s += writers {
				off := base + s*stripeLen
				if n, err := unix.Pwrite(fd, final[off:off+stripeLen], int64(off)); err != nil || n != stripeLen {
					errs <- fmt.Errorf("writer %d stripe %d: n=%d err=%v", w, s, n, err)
					return
				}
			}
		}()
	}
	var rg sync.WaitGroup
	for r := 0; r < 2; r++ {
		rg.Add(1)
		go func() {
			defer rg.Done()
			fd, err := unix.Open(p, unix.O_RDONLY|unix.O_CLOEXEC, 0)
			if err != nil {
				errs <- err
				return
			}
			defer unix.Close(fd)
			buf := make([]byte, 9001)
			for i := 0; ; i++ {
				select {
				case <-done:
					return
				default:
				}
				off := (i*7919 + r*4096) % size
				n, err := unix.Pread(fd, buf, int64(off))
				if err != nil {
					errs <- fmt.Errorf("reader %d at %d: %v", r, off, err)
					return
				}
				for j := 0; j < n; j++ {
					if c := buf[j]; c != 0 && c != final[off+j] {
						errs <- fmt.Errorf("reader %d saw byte %#x at %d, neither 0 nor final %#x", r, c, off+j, final[off+j])
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(done)
	rg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	return fmt.Sprintf("final %s\n", checkContent(t, p, final))
}

//go:build linux

package fsck

import (
	"net/url"
	"os"
	"slices"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/cipher"
	"github.com/veilfs/veilfs/cipher/config"
	"github.com/veilfs/veilfs/internal/diskio"
	"github.com/veilfs/veilfs/nametransform"
)

// FuzzContent feeds arbitrary bytes to the content checker, which decodes
// whatever a ciphertext file holds: it must never panic or hang, find
// nothing wrong in a 0-byte or header-only file, find exactly a bad header
// in a file shorter than one, and only ever report content kinds.
func FuzzContent(f *testing.F) {
	tv := newVolume(f, config.CreateOptions{})
	tv.writeFile("one", payload("one", 1))
	tv.writeFile("two", payload("two", 5000))
	tv.writeFile("sparse", payload("sparse", 3*cipher.PlainBlockSize), 1)
	for _, p := range []string{"one", "two", "sparse"} {
		b, err := os.ReadFile(tv.abs(p))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(b[:len(b)-1])
		f.Add(b[:len(b)/2])
	}
	f.Add([]byte{})
	f.Add(make([]byte, cipher.HeaderSize))
	f.Add([]byte{0, 2, 1})
	c := &checker{v: tv.v, rep: newReport(tv.dir, false)}
	// In memory (shmem has holes and SEEK_DATA too): a file on disk per
	// input makes the fuzzer wait for writeback.
	fd, err := unix.MemfdCreate("fsck-fuzz", unix.MFD_CLOEXEC)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { unix.Close(fd) })
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := unix.Ftruncate(fd, 0); err != nil {
			t.Fatal(err)
		}
		if _, err := unix.Pwrite(fd, data, 0); err != nil {
			t.Fatal(err)
		}
		found := c.content(fd, int64(len(data)))
		var ks []Kind
		for _, fd := range found {
			ks = append(ks, fd.kind)
			if fd.kind == BadBlock && fd.block == nil {
				t.Error("bad-block without a block number")
			}
		}
		switch n := len(data); {
		case n == 0 || (n == cipher.HeaderSize && data[1] == 2 && data[0] == 0 && !diskio.AllZero(data[2:])):
			if len(ks) != 0 {
				t.Errorf("%d bytes: %v", n, ks)
			}
		case n < cipher.HeaderSize:
			if !slices.Equal(ks, []Kind{BadHeader}) {
				t.Errorf("%d bytes: %v", n, ks)
			}
		}
		for _, k := range ks {
			if k != BadHeader && k != BadBlock && k != Truncated {
				t.Errorf("kind %s", k)
			}
		}
	})
}

// FuzzQuarantineName: any path gives a valid plaintext name of at most 255
// bytes, which, when nothing had to be cut, unescapes to the path.
func FuzzQuarantineName(f *testing.F) {
	for _, s := range []string{"a.txt", "dir/sub/x", "100%", "%2F", "/", "é/ü", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, from string) {
		if from == "" {
			return
		}
		name := QuarantineName(from)
		if err := nametransform.ValidName(name); err != nil && !slices.Contains([]byte(from), 0) {
			t.Fatalf("QuarantineName(%q) = %q: %v", from, name, err)
		}
		if len(name) > nametransform.NameMax {
			t.Fatalf("QuarantineName(%q) has %d bytes", from, len(name))
		}
		for i := 2; i < 4; i++ {
			if s := withSuffix(name, i); len(s) > nametransform.NameMax {
				t.Fatalf("withSuffix(%q, %d) has %d bytes", name, i, len(s))
			}
		}
		if len(name) < nametransform.NameMax && name[0] != "…"[0] {
			back, err := url.PathUnescape(name)
			if err == nil && back != from && name != "%2E"+from {
				t.Fatalf("QuarantineName(%q) = %q unescapes to %q", from, name, back)
			}
		}
	})
}

//go:build linux

package stress

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/internal/diskio"
)

// The way sync clients write: every file is replaced by renaming a complete
// new version over its name. A reader that opens a name must get one of the
// versions the name held, whole. On veilfs an OPEN racing a rename over its
// name could get the other file's descriptor for the old file's kernel
// inode, whose cached size then cut the read short or padded it with zeros
// (FINDINGS, "Rename over a file races OPEN"; fs/identity.go).

// A version file is a header (magic, version, body length) and a body
// whose bytes derive from the version and their position and are never
// zero, so that zeros, a cut, a foreign version and a torn file all show.
const (
	roMagic  = "RNOV"
	roHeader = 16 // magic, uint64 version, uint32 body length
	roMaxLen = 40000
)

func roByte(version uint64, i int) byte {
	return byte(1 + (version*131+uint64(i)*7+uint64(i>>8))%255)
}

// roFile builds version v with a body of n bytes.
func roFile(v uint64, n int) []byte {
	b := make([]byte, roHeader+n)
	copy(b, roMagic)
	binary.LittleEndian.PutUint64(b[4:], v)
	binary.LittleEndian.PutUint32(b[12:], uint32(n))
	for i := range n {
		b[roHeader+i] = roByte(v, i)
	}
	return b
}

// checkRenameOverContent checks that b, all that a read returned up to EOF,
// is one whole version file, and says what is wrong with it otherwise:
// "zero-filled" and "short" are the two faces of a read through another
// inode's cached size; anything else is some other damage.
func checkRenameOverContent(b []byte) (kind string, err error) {
	if len(b) < roHeader || string(b[:4]) != roMagic {
		if len(b) > 0 && bytes.Count(b, []byte{0}) == len(b) {
			return "zero-filled", fmt.Errorf("%d bytes, all zero", len(b))
		}
		return "bad header", fmt.Errorf("%d bytes, no header: %.32q", len(b), b)
	}
	v := binary.LittleEndian.Uint64(b[4:])
	n := int(binary.LittleEndian.Uint32(b[12:]))
	body := b[roHeader:]
	for i := 0; i < min(n, len(body)); i++ {
		if body[i] == roByte(v, i) {
			continue
		}
		if body[i] == 0 && bytes.Count(body[i:min(n, len(body))], []byte{0}) == min(n, len(body))-i {
			return "zero-filled", fmt.Errorf("version %d, %d bytes: zeros from body byte %d on", v, n, i)
		}
		return "wrong bytes", fmt.Errorf("version %d, %d bytes: body byte %d is %#x, want %#x", v, n, i, body[i], roByte(v, i))
	}
	switch {
	case len(body) < n:
		return "short", fmt.Errorf("version %d: read %d body bytes before EOF, the header says %d", v, len(body), n)
	case len(body) > n:
		kind = "long"
		if bytes.Count(body[n:], []byte{0}) == len(body)-n {
			kind = "zero-filled"
		}
		return kind, fmt.Errorf("version %d: read %d body bytes, the header says %d", v, len(body), n)
	}
	return "", nil
}

// roLayout is the fixed set of names the workload replaces.
type roLayout struct {
	root  string
	dirs  []string
	names int // per directory
}

func (l roLayout) name(rng *rand.Rand) string {
	return filepath.Join(l.root, l.dirs[rng.IntN(len(l.dirs))], fmt.Sprintf("f%02d", rng.IntN(l.names)))
}

// roCounts is what one run of the workload saw.
type roCounts struct {
	mu              sync.Mutex
	reads, replaces int
	links           int
	estale          int
	bad             map[string]int
	examples        []string
	errs            []string
	nerrs           int
}

func (c *roCounts) badRead(kind, p string, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.bad[kind]++
	if len(c.examples) < 10 {
		c.examples = append(c.examples, fmt.Sprintf("%s: %s: %v", kind, p, err))
	}
}

func (c *roCounts) failed(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.nerrs++
	if len(c.errs) < 10 {
		c.errs = append(c.errs, fmt.Sprintf(format, args...))
	}
}

func (c *roCounts) badTotal() int {
	n := 0
	for _, v := range c.bad {
		n += v
	}
	return n
}

func (c *roCounts) String() string {
	var kinds []string
	for k, v := range c.bad {
		kinds = append(kinds, fmt.Sprintf("%s %d", k, v))
	}
	sort.Strings(kinds)
	return fmt.Sprintf("%d reads, %d replaced versions (%d also under a second name), %d bad reads [%s], %d ESTALE from open, %d other errors",
		c.reads, c.replaces, c.links, c.badTotal(), strings.Join(kinds, ", "), c.estale, c.nerrs)
}

// writeVersion writes a new version to a temp name (created O_EXCL, in a
// random one of the directories) and renames it over name; with second
// set, a hard link of it replaces second as well.
func writeVersion(l roLayout, rng *rand.Rand, id int, v uint64, name, second string) error {
	tmp := filepath.Join(l.root, l.dirs[rng.IntN(len(l.dirs))], fmt.Sprintf(".tmp-%d-%d", id, v))
	fd, err := unix.Open(tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return fmt.Errorf("create %s: %w", tmp, err)
	}
	err = diskio.PwriteFull(fd, roFile(v, rng.IntN(roMaxLen+1)), 0)
	if cerr := unix.Close(fd); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if second != "" {
		if err := unix.Link(tmp, tmp+".l"); err != nil {
			return fmt.Errorf("link %s: %w", tmp, err)
		}
		if err := unix.Rename(tmp+".l", second); err != nil {
			return fmt.Errorf("rename %s over %s: %w", tmp+".l", second, err)
		}
	}
	if err := unix.Rename(tmp, name); err != nil {
		return fmt.Errorf("rename %s over %s: %w", tmp, name, err)
	}
	return nil
}

// readVersion opens p, reads it to EOF and checks what it got.
func readVersion(p string, buf []byte, c *roCounts) {
	fd, err := unix.Open(p, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ESTALE) {
		// The kernel retried the open once after a fresh lookup and the
		// retry raced again: tolerated (fs/identity.go), counted.
		c.mu.Lock()
		c.estale++
		c.mu.Unlock()
		return
	}
	if err != nil {
		c.failed("open %s: %v", p, err)
		return
	}
	defer unix.Close(fd)
	n, err := diskio.PreadFull(fd, buf, 0)
	if err != nil {
		c.failed("read %s: %v", p, err)
		return
	}
	c.mu.Lock()
	c.reads++
	c.mu.Unlock()
	if kind, err := checkRenameOverContent(buf[:n]); err != nil {
		c.badRead(kind, p, err)
	}
}

// runRenameOver lets writers replace the names of l with new versions
// while readers open and check them, until dur has passed.
func runRenameOver(t *testing.T, l roLayout, dur time.Duration, seed uint64) *roCounts {
	const writers, readers = 3, 5
	for _, d := range l.dirs {
		mustf(t, os.Mkdir(filepath.Join(l.root, d), 0o755), "mkdir %s", d)
	}
	setup := rand.New(rand.NewPCG(seed, 0))
	for di, d := range l.dirs {
		for i := range l.names {
			v := uint64(di*l.names + i + 1)
			mustf(t, os.WriteFile(filepath.Join(l.root, d, fmt.Sprintf("f%02d", i)), roFile(v, setup.IntN(roMaxLen+1)), 0o644), "initial version")
		}
	}
	c := &roCounts{bad: map[string]int{}}
	deadline := time.Now().Add(dur)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(seed, uint64(1+w)))
			for i := uint64(1); time.Now().Before(deadline); i++ {
				v := uint64(1+w)<<40 | i
				second := ""
				if rng.IntN(4) == 0 {
					second = l.name(rng)
				}
				name := l.name(rng)
				if name == second {
					second = ""
				}
				if err := writeVersion(l, rng, w, v, name, second); err != nil {
					c.failed("writer %d: %v", w, err)
					return
				}
				c.mu.Lock()
				c.replaces++
				if second != "" {
					c.links++
				}
				c.mu.Unlock()
			}
		})
	}
	for r := range readers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(seed, uint64(100+r)))
			buf := make([]byte, roHeader+roMaxLen+4096) // room to see a long read
			for time.Now().Before(deadline) {
				readVersion(l.name(rng), buf, c)
			}
		})
	}
	wg.Wait()
	return c
}

// TestRenameOver runs readers against writers that rename complete new
// versions over a fixed set of names (some versions also under a second
// name, a hard link), first in a plain directory and then on a veilfs
// mount, with the same code. A zero-filled or short read, or any other
// read of bytes no version held, fails; so does any error but ESTALE from
// open on veilfs, which is counted. VEILFS_RENAMEOVER_DURATION sets how
// long each run lasts (default 3s; `make stress` runs minutes).
func TestRenameOver(t *testing.T) {
	dur := envDuration(t, "VEILFS_RENAMEOVER_DURATION", 3*time.Second)
	seed := uint64(time.Now().UnixNano())
	layout := func(root string) roLayout { return roLayout{root: root, dirs: []string{"d0", "d1"}, names: 12} }
	report := func(where string, c *roCounts, estaleOK bool) {
		t.Helper()
		t.Logf("rename-over on %s, %v, seed %d: %v", where, dur, seed, c)
		if c.reads == 0 || c.replaces == 0 {
			t.Errorf("%s: the workload did not run (%v)", where, c)
		}
		if n := c.badTotal(); n > 0 {
			t.Errorf("%s: %d reads returned bytes no version of the file held, e.g.:\n%s", where, n, strings.Join(c.examples, "\n"))
		}
		if c.estale > 0 && !estaleOK {
			t.Errorf("%s: %d opens failed with ESTALE", where, c.estale)
		}
		if c.nerrs > 0 {
			t.Errorf("%s: %d failed operations, e.g.:\n%s", where, c.nerrs, strings.Join(c.errs, "\n"))
		}
	}

	plain := runRenameOver(t, layout(t.TempDir()), dur, seed)
	report("a plain directory", plain, false)

	cipherdir := newCipherdir(t, allKinds[0])
	mnt := t.TempDir()
	m := mountFG(t, cipherdir, mnt)
	c := runRenameOver(t, layout(mnt), dur, seed)
	report("veilfs", c, true)
	m.checkFDs(t)
	m.unmount(t)
}

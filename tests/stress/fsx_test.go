//go:build linux

package stress

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

const (
	blk           = 4096
	fsxLogTail    = 50   // operations shown on a failure
	fsxFullEvery  = 32   // whole-file + size check every this many operations
	fsxRemountAt  = 5000 // remount (fresh daemon, no caches) every this many operations
	defaultMaxLen = 512 << 10
)

// TestFSX runs the data exerciser for every seed on every volume kind. Each
// (kind, seed) pair is one subtest with its own volume and mount; kinds run
// in parallel.
func TestFSX(t *testing.T) {
	ops := envInt(t, "VEILFS_FSX_OPS", 2000)
	seeds := envSeeds(t, "1,2")
	maxLen := int64(envInt(t, "VEILFS_FSX_MAXLEN", defaultMaxLen))
	if maxLen < 2*blk {
		t.Fatalf("VEILFS_FSX_MAXLEN=%d: want at least %d", maxLen, 2*blk)
	}
	race := requireRaceIfAsked(t)
	t.Logf("fsx: %d ops per seed, seeds %v, max file size %d, daemon race-built: %v", ops, seeds, maxLen, race)
	for _, k := range envKinds(t) {
		t.Run(k.name, func(t *testing.T) {
			t.Parallel()
			for _, seed := range seeds {
				t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
					runFSX(t, k, seed, ops, maxLen)
				})
			}
		})
	}
}

// fsxOp is one logged operation. The sequence of operations depends only on
// the seed and the model, never on what the filesystem returned, so a seed
// replays the same operations up to the first mismatch.
type fsxOp struct {
	idx           int
	name          string
	off, n        int64
	note          string
	before, after int64 // model size
}

func (o fsxOp) String() string {
	s := fmt.Sprintf("#%-6d %-9s", o.idx, o.name)
	switch o.name {
	case "truncate":
		s += fmt.Sprintf(" to 0x%x", o.n)
	case "reopen", "fsync", "remount", "rename":
	case "seek":
		s += fmt.Sprintf(" from 0x%x", o.off)
	default:
		s += fmt.Sprintf(" 0x%x..0x%x (len 0x%x)", o.off, o.off+o.n, o.n)
	}
	if o.note != "" {
		s += " " + o.note
	}
	if o.before != o.after {
		s += fmt.Sprintf("  size 0x%x -> 0x%x", o.before, o.after)
	}
	return s
}

type fsx struct {
	t        *testing.T
	kind     volumeKind
	seed     uint64
	ops      int
	maxLen   int64
	rng      *rand.Rand
	cipher   string
	mntDir   string
	m        *fgMount
	path     string
	fd       int // O_RDWR
	dfd      int // O_RDONLY|O_DIRECT, or -1 when the mount refuses O_DIRECT
	directOK bool
	model    []byte
	log      []fsxOp
	cur      *fsxOp
	counts   map[string]int
	buf      []byte // page-aligned scratch buffer (O_DIRECT needs alignment)
	maxSize  int64
	// lacks maps an operation the filesystem refused in the probe to the
	// reason; it is replaced by a read of the same range.
	lacks map[string]string
}

func runFSX(t *testing.T, k volumeKind, seed uint64, ops int, maxLen int64) {
	// A fault on a mapped page (SIGBUS past EOF) must fail this run with its
	// log, not kill the test process.
	debug.SetPanicOnFault(true)
	x := &fsx{
		t: t, kind: k, seed: seed, ops: ops, maxLen: maxLen,
		rng:    rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		counts: map[string]int{},
		fd:     -1, dfd: -1, directOK: true,
	}
	x.cipher = newCipherdir(t, k)
	x.mntDir = t.TempDir()
	x.m = mountFG(t, x.cipher, x.mntDir)
	x.path = filepath.Join(x.mntDir, "fsx.dat")
	buf, err := unix.Mmap(-1, 0, int(maxLen)+2*blk, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	mustf(t, err, "mmap scratch buffer")
	defer unix.Munmap(buf)
	x.buf = buf
	defer func() {
		if r := recover(); r != nil {
			x.fail("panic (a fault on a mapped page?): %v", r)
		}
	}()

	mustf(t, os.Mkdir(filepath.Join(x.mntDir, "sub"), 0o755), "mkdir sub")
	x.probe()
	fd, err := unix.Open(x.path, unix.O_RDWR|unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC, 0o644)
	mustf(t, err, "create %s", x.path)
	x.fd = fd
	x.openDirect()
	defer x.closeAll()

	start := time.Now()
	for i := 0; i < ops; i++ {
		x.step(i)
		if t.Failed() {
			return
		}
	}
	x.cur = &fsxOp{idx: ops, name: "final"}
	x.fullCheck("final")
	x.closeAll()
	before, after, bb, ba := x.m.checkFDs(t)
	x.m.unmount(t)
	// Read it back through a fresh daemon: nothing cached anywhere.
	x.m = mountFG(t, x.cipher, x.mntDir)
	got, err := os.ReadFile(x.path)
	mustf(t, err, "read after remount")
	x.compare(0, got, int64(len(x.model)), "whole file after the final remount")
	x.m.unmount(t)
	t.Logf("fsx %s seed=%d: %d ops in %v; %s; daemon fds %d -> %d (backing %d -> %d); O_DIRECT: %v",
		k.name, seed, ops, time.Since(start).Round(time.Millisecond), x.countSummary(), before, after, bb, ba, x.directOK)
}

func (x *fsx) openDirect() {
	if !x.directOK {
		return
	}
	dfd, err := unix.Open(x.path, unix.O_RDONLY|unix.O_DIRECT|unix.O_CLOEXEC, 0)
	if err != nil {
		x.t.Logf("O_DIRECT open refused (%v): direct reads skipped", err)
		x.directOK = false
		return
	}
	x.dfd = dfd
}

func (x *fsx) closeAll() {
	if x.fd >= 0 {
		unix.Close(x.fd)
		x.fd = -1
	}
	if x.dfd >= 0 {
		unix.Close(x.dfd)
		x.dfd = -1
	}
}

// The operation mix, by weight.
var fsxWeights = []struct {
	name   string
	weight int
}{
	{"read", 14}, {"write", 20}, {"dread", 5}, {"truncate", 8},
	{"mapread", 7}, {"mapwrite", 8}, {"falloc", 4}, {"fallockeep", 3},
	{"append", 3}, {"reopen", 4}, {"fsync", 3}, {"rename", 2},
	{"punch", 3}, {"zero", 2}, {"zerokeep", 2}, {"seek", 3},
}

var fsxTotalWeight = func() int {
	n := 0
	for _, w := range fsxWeights {
		n += w.weight
	}
	return n
}()

func (x *fsx) pick() string {
	r := x.rng.IntN(fsxTotalWeight)
	for _, w := range fsxWeights {
		if r < w.weight {
			return w.name
		}
		r -= w.weight
	}
	panic("unreachable")
}

func (x *fsx) size() int64 { return int64(len(x.model)) }

// genOff returns an offset biased toward block boundaries, the end of file
// and holes past it.
func (x *fsx) genOff(limit int64) int64 {
	size := x.size()
	var off int64
	switch r := x.rng.IntN(100); {
	case r < 30: // anywhere in the file
		off = x.rng.Int64N(max(size, 1))
	case r < 55: // on or next to a block boundary
		k := x.rng.Int64N(size/blk + 3)
		off = k*blk + []int64{0, 0, 0, -1, 1, -x.rng.Int64N(17), x.rng.Int64N(17)}[x.rng.IntN(7)]
	case r < 70: // at or around EOF
		off = size + x.rng.Int64N(257) - 128
	case r < 85: // a hole past EOF
		off = size + (1+x.rng.Int64N(4))*blk + []int64{0, x.rng.Int64N(blk)}[x.rng.IntN(2)]
	default: // anywhere up to the limit
		off = x.rng.Int64N(limit)
	}
	return min(max(off, 0), limit-1)
}

// genLen returns a length biased toward block multiples, clamped so that
// off+len stays within limit.
func (x *fsx) genLen(off, limit int64) int64 {
	var n int64
	switch r := x.rng.IntN(100); {
	case r < 25:
		n = 1 + x.rng.Int64N(512)
	case r < 50:
		n = (1+x.rng.Int64N(8))*blk + []int64{0, 0, 1, -1}[x.rng.IntN(4)]
	case r < 78:
		n = 1 + x.rng.Int64N(32<<10)
	case r < 95:
		n = 1 + x.rng.Int64N(128<<10)
	default:
		n = 128<<10 + x.rng.Int64N(256<<10)
	}
	return max(1, min(n, limit-off))
}

// pattern fills p, destined for file offset off, with bytes that encode
// the operation index and the position and are never zero, so a zero is
// a hole or lost data and a wrong byte points to the op that wrote it.
func pattern(p []byte, idx int, off int64) {
	for i := range p {
		p[i] = byte(1 + (uint64(idx)*131+uint64(off)+uint64(i))%255)
	}
}

// writerOf decodes a pattern byte at pos into the writing op's index mod 255.
func writerOf(b byte, pos int64) int {
	if b == 0 {
		return -1
	}
	v := (int(b) - 1 - int(uint64(pos)%255) + 2*255) % 255 // = idx*131 mod 255
	for k := 0; k < 255; k++ {
		if k*131%255 == v {
			return k
		}
	}
	return -1
}

func (x *fsx) step(i int) {
	if i%fsxRemountAt == fsxRemountAt-1 {
		x.remount(i)
		return
	}
	op := x.pick()
	o := &fsxOp{idx: i, name: op, before: x.size()}
	x.cur = o
	switch op {
	case "read", "dread":
		if op == "dread" && !x.directOK {
			o.name = "read"
		}
		o.off = x.genOff(x.maxLen)
		o.n = x.genLen(o.off, x.maxLen)
	case "write":
		o.off = x.genOff(x.maxLen)
		o.n = x.genLen(o.off, x.maxLen)
	case "append":
		if x.size() >= x.maxLen {
			o.name = "read"
			o.off, o.n = 0, x.size()
			break
		}
		o.off = x.size()
		o.n = x.genLen(o.off, x.maxLen)
	case "truncate":
		if x.rng.IntN(2) == 0 && x.size() > 0 {
			o.n = x.rng.Int64N(x.size()) // shrink
			if x.rng.IntN(3) == 0 {
				o.n = o.n &^ (blk - 1) // to a block boundary
			}
		} else {
			o.n = x.genOff(x.maxLen) + 1 // grow (or shrink a bit)
		}
	case "mapread", "mapwrite":
		if x.size() == 0 {
			o.name = "write"
			o.off = x.genOff(x.maxLen)
			o.n = x.genLen(o.off, x.maxLen)
			break
		}
		o.off = x.genOff(x.size())
		o.n = x.genLen(o.off, x.size())
	case "falloc", "fallockeep", "punch", "zero", "zerokeep":
		o.off = x.genOff(x.maxLen)
		o.n = x.genLen(o.off, x.maxLen)
		if x.lacks[op] != "" {
			// Refused by the filesystem (see probe): the same range is
			// read instead, so the rest of the sequence stays the same.
			o.name = "read"
		}
	case "seek":
		o.off = x.genOff(x.maxLen)
		if x.rng.IntN(2) == 0 {
			o.note = "SEEK_DATA"
		} else {
			o.note = "SEEK_HOLE"
		}
	case "reopen":
		if x.rng.IntN(10) == 0 {
			o.note = "O_TRUNC"
		}
	case "fsync":
		if x.rng.IntN(2) == 0 {
			o.note = "fdatasync"
		}
	case "rename":
		o.note = "to " + x.otherPath()[len(x.mntDir)+1:]
	}
	x.counts[o.name]++
	x.log = append(x.log, *o)
	x.do(o)
	o.after = x.size()
	x.maxSize = max(x.maxSize, o.after)
	x.log[len(x.log)-1] = *o
	if !x.t.Failed() && (i%fsxFullEvery == fsxFullEvery-1) {
		x.fullCheck("periodic")
	}
}

func (x *fsx) do(o *fsxOp) {
	switch o.name {
	case "read":
		got := x.pread(x.fd, o.off, o.n)
		x.compare(o.off, got, o.n, "pread")
	case "dread":
		got := x.pread(x.dfd, o.off, o.n)
		x.compare(o.off, got, o.n, "O_DIRECT pread")
	case "write":
		data := x.buf[:o.n]
		pattern(data, o.idx, o.off)
		x.pwrite(data, o.off)
		x.modelWrite(o.off, data)
		x.verifyRange(o.off, o.n)
	case "append":
		data := x.buf[:o.n]
		pattern(data, o.idx, o.off)
		afd, err := unix.Open(x.path, unix.O_WRONLY|unix.O_APPEND|unix.O_CLOEXEC, 0)
		if err != nil {
			x.fail("open O_APPEND: %v", err)
			return
		}
		n, err := unix.Write(afd, data)
		unix.Close(afd)
		if err != nil || int64(n) != o.n {
			x.fail("append write: n=%d err=%v", n, err)
			return
		}
		x.modelWrite(o.off, data)
		x.verifyRange(o.off, o.n)
	case "truncate":
		if err := unix.Ftruncate(x.fd, o.n); err != nil {
			x.fail("ftruncate: %v", err)
			return
		}
		x.modelResize(o.n)
		// Around the new end: the old content kept, zeros beyond old EOF.
		from := max(0, min(o.n, o.before)-blk-1)
		x.verifyRange(from, max(o.n, o.before)-from+blk)
	case "mapread", "mapwrite":
		x.mmapOp(o)
	case "falloc":
		if err := unix.Fallocate(x.fd, 0, o.off, o.n); err != nil {
			x.fail("fallocate(mode 0): %v", err)
			return
		}
		if end := o.off + o.n; end > x.size() {
			x.modelResize(end)
		}
		x.verifyRange(max(0, o.off-1), o.n+2)
	case "fallockeep":
		if err := unix.Fallocate(x.fd, unix.FALLOC_FL_KEEP_SIZE, o.off, o.n); err != nil {
			x.fail("fallocate(KEEP_SIZE): %v", err)
			return
		}
		x.verifyRange(max(0, o.off-1), o.n+2)
	case "punch", "zero", "zerokeep":
		mode := fsxFallocMode(o.name)
		if err := unix.Fallocate(x.fd, mode, o.off, o.n); err != nil {
			x.fail("fallocate(%s): %v", fsxModeName(mode), err)
			return
		}
		end := o.off + o.n
		if o.name == "zero" && end > x.size() {
			x.modelResize(end)
		}
		if o.off < x.size() {
			clear(x.model[o.off:min(end, x.size())])
		}
		x.verifyRange(max(0, o.off-blk), o.n+2*blk)
	case "seek":
		x.seekCheck(o)
	case "reopen":
		x.closeAll()
		flags := unix.O_RDWR | unix.O_CLOEXEC
		if o.note == "O_TRUNC" {
			flags |= unix.O_TRUNC
		}
		fd, err := unix.Open(x.path, flags, 0)
		if err != nil {
			x.fail("reopen: %v", err)
			return
		}
		x.fd = fd
		x.openDirect()
		if o.note == "O_TRUNC" {
			x.modelResize(0)
		}
		x.checkSize("after reopen")
	case "fsync":
		var err error
		if o.note == "fdatasync" {
			err = unix.Fdatasync(x.fd)
		} else {
			err = unix.Fsync(x.fd)
		}
		if err != nil {
			x.fail("%s: %v", o.name, err)
		}
	case "rename":
		// The descriptors stay open across the rename, into another
		// directory (another IV) and back.
		to := x.otherPath()
		if err := unix.Rename(x.path, to); err != nil {
			x.fail("rename %s -> %s: %v", x.path, to, err)
			return
		}
		x.path = to
		x.checkSize("after rename")
	default:
		panic("unknown op " + o.name)
	}
}

// mmapOp maps the pages under [off, off+n) (inside the file) shared, and
// reads or writes through the mapping; a write is msync'ed.
func (x *fsx) mmapOp(o *fsxOp) {
	pgoff := o.off &^ (blk - 1)
	mlen := int(o.off + o.n - pgoff)
	prot := unix.PROT_READ
	if o.name == "mapwrite" {
		prot |= unix.PROT_WRITE
	}
	mem, err := unix.Mmap(x.fd, pgoff, mlen, prot, unix.MAP_SHARED)
	if err != nil {
		x.fail("mmap(off 0x%x, len 0x%x): %v", pgoff, mlen, err)
		return
	}
	defer unix.Munmap(mem)
	region := mem[o.off-pgoff:]
	if o.name == "mapread" {
		got := append([]byte(nil), region...)
		x.compare(o.off, got, o.n, "read through mmap")
		return
	}
	data := x.buf[:o.n]
	pattern(data, o.idx, o.off)
	copy(region, data)
	if err := unix.Msync(mem, unix.MS_SYNC); err != nil {
		x.fail("msync: %v", err)
		return
	}
	x.modelWrite(o.off, data)
	x.verifyRange(o.off, o.n)
}

// otherPath is where the rename op moves the file: between the mount's root
// and a subdirectory, under a different name.
func (x *fsx) otherPath() string {
	if filepath.Dir(x.path) == x.mntDir {
		return filepath.Join(x.mntDir, "sub", "moved.dat")
	}
	return filepath.Join(x.mntDir, "fsx.dat")
}

func (x *fsx) modelWrite(off int64, data []byte) {
	if end := off + int64(len(data)); end > x.size() {
		x.modelResize(end)
	}
	copy(x.model[off:], data)
}

func (x *fsx) modelResize(n int64) {
	if n <= x.size() {
		x.model = x.model[:n]
		return
	}
	x.model = append(x.model, make([]byte, n-x.size())...)
}

func (x *fsx) pwrite(data []byte, off int64) {
	for len(data) > 0 {
		n, err := unix.Pwrite(x.fd, data, off)
		if err != nil {
			x.fail("pwrite at 0x%x: %v", off, err)
			return
		}
		data, off = data[n:], off+int64(n)
	}
}

// pread reads up to n bytes at off until EOF and returns a copy.
func (x *fsx) pread(fd int, off, n int64) []byte {
	p := x.buf[:n]
	total := 0
	for int64(total) < n {
		k, err := unix.Pread(fd, p[total:], off+int64(total))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			x.fail("pread(fd %d) 0x%x..0x%x: %v", fd, off+int64(total), off+n, err)
			return nil
		}
		if k == 0 {
			break
		}
		total += k
	}
	return append([]byte(nil), p[:total]...)
}

// verifyRange reads [off, off+n) back through the main descriptor.
func (x *fsx) verifyRange(off, n int64) {
	if x.t.Failed() {
		return
	}
	n = max(0, min(n, x.maxLen+blk-off))
	got := x.pread(x.fd, off, n)
	x.compare(off, got, n, "read-back")
	x.checkSize("after " + x.cur.name)
}

// compare checks what a read of n bytes at off returned against the model.
func (x *fsx) compare(off int64, got []byte, n int64, what string) {
	if x.t.Failed() {
		return
	}
	want := []byte{}
	if off < x.size() {
		want = x.model[off:min(off+n, x.size())]
	}
	if bytes.Equal(got, want) {
		return
	}
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	pos := off + int64(i)
	var b strings.Builder
	fmt.Fprintf(&b, "%s of 0x%x..0x%x returned %d bytes, want %d; first difference at offset 0x%x (block %d + %d)\n",
		what, off, off+n, len(got), len(want), pos, pos/blk, pos%blk)
	lo, hi := max(0, i-16), i+32
	fmt.Fprintf(&b, "  want[0x%x:]: %x\n", off+int64(lo), want[lo:min(hi, len(want))])
	fmt.Fprintf(&b, "  got [0x%x:]: %x\n", off+int64(lo), got[lo:min(hi, len(got))])
	if i < len(got) {
		fmt.Fprintf(&b, "  the wrong byte %s; ", x.describe(got[i], pos))
	}
	if i < len(want) {
		fmt.Fprintf(&b, "the right byte %s", x.describe(want[i], pos))
	}
	x.fail("%s", b.String())
}

// describe names the operation a pattern byte at pos came from.
func (x *fsx) describe(v byte, pos int64) string {
	k := writerOf(v, pos)
	if k < 0 {
		return "is zero (hole, truncated or fallocated range)"
	}
	for j := len(x.log) - 1; j >= 0; j-- {
		o := x.log[j]
		if o.idx%255 == k && (o.name == "write" || o.name == "mapwrite" || o.name == "append") && pos >= o.off && pos < o.off+o.n {
			return fmt.Sprintf("matches the data of op #%d (%s)", o.idx, o.name)
		}
	}
	return fmt.Sprintf("matches no logged write (op index ≡ %d mod 255)", k)
}

func (x *fsx) checkSize(what string) {
	if x.t.Failed() {
		return
	}
	var st unix.Stat_t
	if err := unix.Fstat(x.fd, &st); err != nil {
		x.fail("fstat %s: %v", what, err)
		return
	}
	if st.Size != x.size() {
		x.fail("fstat size %s = 0x%x, want 0x%x", what, st.Size, x.size())
		return
	}
	if err := unix.Stat(x.path, &st); err != nil {
		x.fail("stat %s: %v", what, err)
		return
	}
	if st.Size != x.size() {
		x.fail("stat size %s = 0x%x, want 0x%x", what, st.Size, x.size())
	}
}

// fullCheck compares the whole file and its size, through the page cache
// and, when possible, straight from the daemon with O_DIRECT.
func (x *fsx) fullCheck(what string) {
	if x.t.Failed() {
		return
	}
	x.checkSize(what + " full check")
	got := x.pread(x.fd, 0, x.maxLen+blk)
	x.compare(0, got, x.maxLen+blk, what+" whole-file pread")
	if x.directOK && !x.t.Failed() {
		got = x.pread(x.dfd, 0, x.maxLen+blk)
		x.compare(0, got, x.maxLen+blk, what+" whole-file O_DIRECT pread")
	}
}

// remount closes everything, unmounts (checking for leaked descriptors and
// the daemon's output), mounts again and reopens the file.
func (x *fsx) remount(i int) {
	o := &fsxOp{idx: i, name: "remount", before: x.size(), after: x.size()}
	x.cur = o
	x.log = append(x.log, *o)
	x.counts["remount"]++
	x.closeAll()
	x.m.checkFDs(x.t)
	x.m.unmount(x.t)
	x.m = mountFG(x.t, x.cipher, x.mntDir)
	fd, err := unix.Open(x.path, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		x.fail("open after remount: %v", err)
		return
	}
	x.fd = fd
	x.openDirect()
	x.fullCheck("after remount")
}

func (x *fsx) countSummary() string {
	var parts []string
	for _, w := range fsxWeights {
		if c := x.counts[w.name]; c > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", w.name, c))
		}
	}
	if c := x.counts["remount"]; c > 0 {
		parts = append(parts, fmt.Sprintf("remount %d", c))
	}
	return strings.Join(parts, ", ") + fmt.Sprintf("; largest size 0x%x, final 0x%x", x.maxSize, x.size())
}

// fail reports a mismatch or error with everything needed to replay it and
// stops this run.
func (x *fsx) fail(format string, args ...any) {
	t := x.t
	t.Helper()
	idx := -1
	if x.cur != nil {
		idx = x.cur.idx
	}
	var b strings.Builder
	fmt.Fprintf(&b, "fsx FAILED: kind=%s seed=%d at op #%d (of %d)", x.kind.name, x.seed, idx, x.ops)
	if x.cur != nil {
		fmt.Fprintf(&b, " [%s]", x.cur)
	}
	fmt.Fprintf(&b, "\n%s\nmodel size 0x%x\nlast %d operations:\n", fmt.Sprintf(format, args...), x.size(), fsxLogTail)
	for _, o := range x.log[max(0, len(x.log)-fsxLogTail):] {
		fmt.Fprintf(&b, "  %s\n", o)
	}
	env := fmt.Sprintf("VEILFS_FSX_KINDS=%s VEILFS_FSX_SEEDS=%d VEILFS_FSX_OPS=%d", x.kind.name, x.seed, idx+1)
	if x.maxLen != defaultMaxLen {
		env += fmt.Sprintf(" VEILFS_FSX_MAXLEN=%d", x.maxLen)
	}
	fmt.Fprintf(&b, "replay: %s go test -count=1 -run 'TestFSX' ./tests/stress/\n", env)
	if f, err := os.CreateTemp("", fmt.Sprintf("veilfs-fsx-%s-%d-*.log", x.kind.name, x.seed)); err == nil {
		for _, o := range x.log {
			fmt.Fprintf(f, "%s\n", o)
		}
		f.Close()
		fmt.Fprintf(&b, "full operation log: %s\n", f.Name())
	}
	t.Fatal(b.String())
}

// fsxFallocMode is the fallocate mode of an operation that frees or zeros
// a range.
func fsxFallocMode(op string) uint32 {
	switch op {
	case "punch":
		return unix.FALLOC_FL_PUNCH_HOLE | unix.FALLOC_FL_KEEP_SIZE
	case "zero":
		return unix.FALLOC_FL_ZERO_RANGE
	case "zerokeep":
		return unix.FALLOC_FL_ZERO_RANGE | unix.FALLOC_FL_KEEP_SIZE
	}
	panic("not a zeroing operation: " + op)
}

func fsxModeName(mode uint32) string {
	var parts []string
	for _, m := range []struct {
		bit  uint32
		name string
	}{
		{unix.FALLOC_FL_PUNCH_HOLE, "PUNCH_HOLE"}, {unix.FALLOC_FL_ZERO_RANGE, "ZERO_RANGE"},
		{unix.FALLOC_FL_KEEP_SIZE, "KEEP_SIZE"},
	} {
		if mode&m.bit != 0 {
			parts = append(parts, m.name)
		}
	}
	if len(parts) == 0 {
		return "0"
	}
	return strings.Join(parts, "|")
}

// probe tries, on a scratch file, what the run could otherwise only find
// out by failing: the fallocate modes that punch or zero a range (an
// operation the filesystem refuses is left out), and whether SEEK_HOLE
// finds holes (the seek operation runs either way: answering EOF for
// SEEK_HOLE and the offset itself for SEEK_DATA is valid, if useless).
// Each finding is logged as a "fsx probe:" line.
func (x *fsx) probe() {
	x.lacks = map[string]string{}
	p := filepath.Join(x.mntDir, "probe.dat")
	defer os.Remove(p)
	fd, err := unix.Open(p, unix.O_RDWR|unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC, 0o644)
	mustf(x.t, err, "create %s", p)
	defer unix.Close(fd)
	data := bytes.Repeat([]byte{0xa5}, 4*blk)
	_, err = unix.Pwrite(fd, data, 0)
	mustf(x.t, err, "write %s", p)
	for _, op := range []string{"punch", "zero", "zerokeep"} {
		mode := fsxFallocMode(op)
		if err := unix.Fallocate(fd, mode, blk, blk); err != nil {
			x.lacks[op] = err.Error()
			x.t.Logf("fsx probe: %s: fallocate(%s): %v: %s disabled", x.kind.name, fsxModeName(mode), err, op)
		} else {
			x.t.Logf("fsx probe: %s: fallocate(%s): ok: %s enabled", x.kind.name, fsxModeName(mode), op)
		}
	}
	// Block 0 data, blocks 1-2 a hole, block 3 data.
	mustf(x.t, unix.Ftruncate(fd, 0), "truncate %s", p)
	_, err = unix.Pwrite(fd, data[:blk], 0)
	mustf(x.t, err, "write %s", p)
	_, err = unix.Pwrite(fd, data[:blk], 3*blk)
	mustf(x.t, err, "write %s", p)
	hole, herr := unix.Seek(fd, 0, unix.SEEK_HOLE)
	dataAt, derr := unix.Seek(fd, blk, unix.SEEK_DATA)
	x.t.Logf("fsx probe: %s: file with data in blocks 0 and 3 (size 0x%x): SEEK_HOLE from 0 = 0x%x (%v), SEEK_DATA from 0x%x = 0x%x (%v); holes found: %v",
		x.kind.name, 4*blk, hole, errText(herr), blk, dataAt, errText(derr), herr == nil && hole < 4*blk)
}

func errText(err error) string {
	if err == nil {
		return "ok"
	}
	return err.Error()
}

// seekCheck checks SEEK_DATA or SEEK_HOLE from o.off against the model. A
// filesystem may report a range of zeros as data, so the model (which does
// not know where the holes are) can check only that what is skipped or
// reported as a hole reads as zeros, and ENXIO at and after EOF.
func (x *fsx) seekCheck(o *fsxOp) {
	size := x.size()
	whence := unix.SEEK_DATA
	if o.note == "SEEK_HOLE" {
		whence = unix.SEEK_HOLE
	}
	got, err := unix.Seek(x.fd, o.off, whence)
	if o.off >= size {
		if err != unix.ENXIO {
			x.fail("%s from 0x%x at or past EOF 0x%x = 0x%x, %v; want ENXIO", o.note, o.off, size, got, err)
		}
		return
	}
	if whence == unix.SEEK_DATA {
		if err == unix.ENXIO {
			got, err = size, nil // no data up to EOF
		}
		if err != nil || got < o.off || got > size {
			x.fail("SEEK_DATA from 0x%x = 0x%x, %v; want in [0x%x, 0x%x) or ENXIO", o.off, got, err, o.off, size)
			return
		}
		x.zerosIn(o.off, got, "skipped by SEEK_DATA")
		return
	}
	if err != nil || got < o.off || got > size {
		x.fail("SEEK_HOLE from 0x%x = 0x%x, %v; want in [0x%x, 0x%x]", o.off, got, err, o.off, size)
		return
	}
	if got == size {
		return // the implicit hole at EOF
	}
	// A hole: it must read as zeros up to the next data, which must
	// come after it.
	next, err := unix.Seek(x.fd, got, unix.SEEK_DATA)
	if err == unix.ENXIO {
		next, err = size, nil
	}
	if err != nil || next <= got || next > size {
		x.fail("SEEK_DATA from the hole SEEK_HOLE reported at 0x%x = 0x%x, %v; want in (0x%x, 0x%x) or ENXIO", got, next, err, got, size)
		return
	}
	x.zerosIn(got, next, fmt.Sprintf("the hole SEEK_HOLE from 0x%x reported", o.off))
}

// zerosIn fails unless the model holds zeros in [from, to).
func (x *fsx) zerosIn(from, to int64, what string) {
	for i := from; i < to; i++ {
		if x.model[i] != 0 {
			x.fail("0x%x..0x%x, %s, holds data at 0x%x: byte %s", from, to, what, i, x.describe(x.model[i], i))
			return
		}
	}
}

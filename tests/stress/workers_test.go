//go:build linux

package stress

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/internal/diskio"
)

// The workers of TestConcurrency. Each one runs until its deadline and
// reports problems through a sink; the same code runs in goroutines of the
// test and in re-executed child processes.

// sink collects a worker's failures (at most a few per worker are kept).
type sink interface {
	errorf(format string, args ...any)
}

// progress is what the hang watchdog sees of a worker: the operation in
// flight and since when.
type progress struct {
	name  string
	mu    sync.Mutex
	op    string
	since time.Time
	ops   int64
}

func (p *progress) begin(format string, args ...any) {
	if p == nil {
		return
	}
	op := fmt.Sprintf(format, args...)
	p.mu.Lock()
	p.op, p.since = op, time.Now()
	p.mu.Unlock()
}

func (p *progress) end() {
	if p == nil {
		return
	}
	p.mu.Lock()
	p.op = ""
	p.ops++
	p.mu.Unlock()
}

func (p *progress) state() (op string, since time.Time, ops int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.op, p.since, p.ops
}

// ---------------------------------------------------------------------------
// Stripe writers and readers: disjoint regions of shared files.

// stripeLayout describes the shared data files: nStripes stripes of
// stripeLen bytes each (not block-aligned, so every 4 KiB block is shared by
// two or three writers), stripe s owned by writer s % writers.
type stripeLayout struct {
	Files     []string `json:"files"`
	StripeLen int      `json:"stripe_len"`
	NStripes  int      `json:"n_stripes"`
	Writers   int      `json:"writers"`
}

func (l stripeLayout) size() int64 { return int64(l.StripeLen * l.NStripes) }

func (l stripeLayout) owner(stripe int) int { return stripe % l.Writers }

// stripeByte is the byte writer w writes in generation gen: the writer in
// the high nibble, the generation (never 0) in the low one.
func stripeByte(w, gen int) byte { return byte(w<<4 | (1 + gen%15)) }

// stripeGens is the last generation a writer wrote to each of its stripes,
// per file (index into Files) and stripe; 0 = never written.
type stripeGens map[int]map[int]int

// runStripeWriter rewrites random stripes owned by w until deadline, through
// a mix of pwrite (whole or in pieces), short-lived descriptors, O_DIRECT
// and MAP_SHARED mappings, with an occasional fsync.
func runStripeWriter(l stripeLayout, w int, seed uint64, deadline time.Time, pr *progress, s sink) stripeGens {
	rng := rand.New(rand.NewPCG(seed, uint64(w)))
	gens := stripeGens{}
	var mine []int
	for st := 0; st < l.NStripes; st++ {
		if l.owner(st) == w {
			mine = append(mine, st)
		}
	}
	fds := make([]int, len(l.Files))
	for i, f := range l.Files {
		fd, err := unix.Open(f, unix.O_RDWR|unix.O_CLOEXEC, 0)
		if err != nil {
			s.errorf("writer %d: open %s: %v", w, f, err)
			return gens
		}
		fds[i] = fd
	}
	defer func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	}()
	buf := alignedBuf(l.StripeLen + 2*blk)
	directOK := true
	for time.Now().Before(deadline) {
		fi := rng.IntN(len(l.Files))
		st := mine[rng.IntN(len(mine))]
		if gens[fi] == nil {
			gens[fi] = map[int]int{}
		}
		gen := gens[fi][st] + 1
		off := int64(st * l.StripeLen)
		data := buf[:l.StripeLen]
		for i := range data {
			data[i] = stripeByte(w, gen)
		}
		mode := rng.IntN(100)
		if mode >= 85 && mode < 93 && !directOK {
			mode = 0
		}
		var err error
		switch {
		case mode < 40:
			pr.begin("pwrite stripe %d of %s", st, l.Files[fi])
			err = diskio.PwriteFull(fds[fi], data, off)
		case mode < 60:
			pr.begin("pwrite stripe %d of %s in pieces", st, l.Files[fi])
			cut := 1 + rng.IntN(len(data)-1)
			if err = diskio.PwriteFull(fds[fi], data[cut:], off+int64(cut)); err == nil {
				err = diskio.PwriteFull(fds[fi], data[:cut], off)
			}
		case mode < 75:
			pr.begin("open+pwrite+close stripe %d of %s", st, l.Files[fi])
			var fd int
			if fd, err = unix.Open(l.Files[fi], unix.O_WRONLY|unix.O_CLOEXEC, 0); err == nil {
				err = diskio.PwriteFull(fd, data, off)
				if cerr := unix.Close(fd); err == nil {
					err = cerr
				}
			}
		case mode < 85:
			pr.begin("mmap write stripe %d of %s", st, l.Files[fi])
			err = mmapWrite(fds[fi], data, off)
		case mode < 93:
			pr.begin("O_DIRECT pwrite stripe %d of %s", st, l.Files[fi])
			var fd int
			fd, err = unix.Open(l.Files[fi], unix.O_WRONLY|unix.O_DIRECT|unix.O_CLOEXEC, 0)
			if err == unix.EINVAL {
				directOK = false
				pr.begin("pwrite stripe %d of %s (no O_DIRECT)", st, l.Files[fi])
				err = diskio.PwriteFull(fds[fi], data, off)
				break
			}
			if err == nil {
				err = diskio.PwriteFull(fd, data, off)
				if cerr := unix.Close(fd); err == nil {
					err = cerr
				}
			}
		default:
			pr.begin("pwrite+fsync stripe %d of %s", st, l.Files[fi])
			if err = diskio.PwriteFull(fds[fi], data, off); err == nil {
				err = unix.Fsync(fds[fi])
			}
		}
		pr.end()
		if err != nil {
			s.errorf("writer %d: %s stripe %d of %s (mode %d): %v", w, "write", st, l.Files[fi], mode, err)
			return gens
		}
		gens[fi][st] = gen
	}
	return gens
}

func alignedBuf(n int) []byte {
	b, err := unix.Mmap(-1, 0, (n+blk-1)&^(blk-1), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return make([]byte, n) // unaligned; O_DIRECT may then fail with EINVAL
	}
	return b
}

// mmapWrite writes data at off through a shared mapping and msyncs it.
func mmapWrite(fd int, data []byte, off int64) error {
	pg := off &^ (blk - 1)
	mem, err := unix.Mmap(fd, pg, int(off-pg)+len(data), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return fmt.Errorf("mmap: %w", err)
	}
	copy(mem[off-pg:], data)
	err = unix.Msync(mem, unix.MS_SYNC)
	if uerr := unix.Munmap(mem); err == nil {
		err = uerr
	}
	return err
}

// checkStripes checks data (a whole file or a piece read at off) against
// the layout: each byte of stripe s is 0 (never written) or a byte of its
// owner. With final gens, it must be exactly the owner's last generation.
func checkStripes(l stripeLayout, fileIdx int, data []byte, off int64, final stripeGens) error {
	for i := range data {
		pos := off + int64(i)
		st := int(pos / int64(l.StripeLen))
		if st >= l.NStripes {
			return fmt.Errorf("%s: data past the end at 0x%x", l.Files[fileIdx], pos)
		}
		w := l.owner(st)
		b := data[i]
		if final != nil {
			want := byte(0)
			if g := final[fileIdx][st]; g > 0 {
				want = stripeByte(w, g)
			}
			if b != want {
				return fmt.Errorf("%s stripe %d (writer %d) at 0x%x: byte %#02x (writer %d gen≡%d), want %#02x (its last generation %d): lost write",
					l.Files[fileIdx], st, w, pos, b, b>>4, int(b&15)-1, want, final[fileIdx][st])
			}
			continue
		}
		if b != 0 && (int(b>>4) != w || b&15 == 0) {
			return fmt.Errorf("%s stripe %d (writer %d) at 0x%x: byte %#02x is not writer %d's", l.Files[fileIdx], st, w, pos, b, w)
		}
	}
	return nil
}

// runStripeReader reads the shared files in random pieces until deadline
// and checks that every byte belongs to its stripe's owner.
func runStripeReader(l stripeLayout, id int, seed uint64, deadline time.Time, pr *progress, s sink) {
	rng := rand.New(rand.NewPCG(seed, uint64(1000+id)))
	buf := alignedBuf(int(l.size()))
	for time.Now().Before(deadline) {
		fi := rng.IntN(len(l.Files))
		flags := unix.O_RDONLY | unix.O_CLOEXEC
		direct := rng.IntN(4) == 0
		if direct {
			flags |= unix.O_DIRECT
		}
		pr.begin("reader %d: open %s", id, l.Files[fi])
		fd, err := unix.Open(l.Files[fi], flags, 0)
		pr.end()
		if err != nil {
			s.errorf("reader %d: open %s: %v", id, l.Files[fi], err)
			return
		}
		for k := 0; k < 8; k++ {
			off := rng.Int64N(l.size())
			n := 1 + rng.Int64N(l.size()-off)
			if direct {
				off &^= blk - 1
			}
			pr.begin("reader %d: pread %s 0x%x+0x%x (direct %v)", id, l.Files[fi], off, n, direct)
			got, err := diskio.PreadFull(fd, buf[:n], off)
			pr.end()
			if err != nil {
				s.errorf("reader %d: pread %s 0x%x+0x%x (direct %v): %v", id, l.Files[fi], off, n, direct, err)
				break
			}
			if int64(got) != n {
				s.errorf("reader %d: pread %s 0x%x+0x%x: short read %d (size is fixed)", id, l.Files[fi], off, n, got)
				break
			}
			if err := checkStripes(l, fi, buf[:got], off, nil); err != nil {
				s.errorf("reader %d (direct %v): %v", id, direct, err)
				break
			}
		}
		unix.Close(fd)
	}
}

// ---------------------------------------------------------------------------
// Private files: a small model-checked workload with truncation, on a file
// only this worker writes (readers and the walker may read it).

func runPrivateFile(path string, seed uint64, deadline time.Time, pr *progress, s sink) int {
	rng := rand.New(rand.NewPCG(seed, 77))
	var model []byte
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_CREAT|unix.O_TRUNC|unix.O_CLOEXEC, 0o644)
	if err != nil {
		s.errorf("private %s: create: %v", path, err)
		return 0
	}
	defer func() { unix.Close(fd) }()
	const maxLen = 96 << 10
	ops := 0
	for ; time.Now().Before(deadline); ops++ {
		switch r := rng.IntN(10); {
		case r < 5:
			off := rng.Int64N(maxLen)
			if rng.IntN(2) == 0 {
				off &^= blk - 1
			}
			n := 1 + rng.Int64N(min(3*blk, maxLen-off))
			data := make([]byte, n)
			pattern(data, ops, off)
			pr.begin("private %s: pwrite 0x%x+0x%x", path, off, n)
			err = diskio.PwriteFull(fd, data, off)
			pr.end()
			if err != nil {
				s.errorf("private %s: pwrite: %v", path, err)
				return ops
			}
			if end := off + n; end > int64(len(model)) {
				model = append(model, make([]byte, end-int64(len(model)))...)
			}
			copy(model[off:], data)
		case r < 8:
			n := rng.Int64N(maxLen)
			pr.begin("private %s: ftruncate 0x%x", path, n)
			err = unix.Ftruncate(fd, n)
			pr.end()
			if err != nil {
				s.errorf("private %s: ftruncate: %v", path, err)
				return ops
			}
			if n <= int64(len(model)) {
				model = model[:n]
			} else {
				model = append(model, make([]byte, n-int64(len(model)))...)
			}
		default:
			pr.begin("private %s: reopen", path)
			unix.Close(fd)
			fd, err = unix.Open(path, unix.O_RDWR|unix.O_CLOEXEC, 0)
			pr.end()
			if err != nil {
				s.errorf("private %s: reopen: %v", path, err)
				fd = -1
				return ops
			}
		}
		pr.begin("private %s: read back", path)
		got := make([]byte, maxLen+blk)
		n, err := diskio.PreadFull(fd, got, 0)
		pr.end()
		if err != nil {
			s.errorf("private %s: pread: %v", path, err)
			return ops
		}
		if !bytes.Equal(got[:n], model) {
			i := 0
			for i < n && i < len(model) && got[i] == model[i] {
				i++
			}
			s.errorf("private %s: after op %d content differs at 0x%x (len %d, want %d)", path, ops, i, n, len(model))
			return ops
		}
	}
	return ops
}

// ---------------------------------------------------------------------------
// Namespace workers with a model: every name this worker uses starts with
// its prefix, so no one else touches them, but they live in the same
// directories as everyone else's.

type nsFile struct {
	names   map[string]bool
	content []byte
}

type nsModel struct {
	root    string // the shared directory holding the top dirs
	tops    []string
	prefix  string
	files   map[string]int // path (relative to root) -> file id
	byID    map[int]*nsFile
	dirs    map[string]bool // own directories, relative (one level below a top dir)
	links   map[string]string
	nextID  int
	nextNam int
}

func (m *nsModel) abs(rel string) string { return filepath.Join(m.root, rel) }

func (m *nsModel) newName(rng *rand.Rand, allowOwnDir bool) string {
	m.nextNam++
	dir := m.tops[rng.IntN(len(m.tops))]
	if allowOwnDir && len(m.dirs) > 0 && rng.IntN(3) == 0 {
		dir = pickKey(rng, m.dirs)
	}
	return filepath.Join(dir, fmt.Sprintf("%s%d", m.prefix, m.nextNam))
}

func pickKey[V any](rng *rand.Rand, m map[string]V) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys[rng.IntN(len(keys))]
}

// runNamespace runs model-checked namespace operations until deadline and
// then checks the whole model against the directories.
func runNamespace(root string, tops []string, prefix string, seed uint64, deadline time.Time, pr *progress, s sink) int {
	rng := rand.New(rand.NewPCG(seed, 4242))
	m := &nsModel{root: root, tops: tops, prefix: prefix, files: map[string]int{}, byID: map[int]*nsFile{},
		dirs: map[string]bool{}, links: map[string]string{}}
	ops := 0
	fail := func(format string, args ...any) {
		s.errorf("namespace %s op %d: %s", prefix, ops, fmt.Sprintf(format, args...))
	}
	for ; time.Now().Before(deadline); ops++ {
		var err error
		switch r := rng.IntN(100); {
		case r < 20 || len(m.files) == 0: // create
			m.nextID++
			id := m.nextID
			name := m.newName(rng, true)
			content := bytes.Repeat([]byte(fmt.Sprintf("%s file %d\n", prefix, id)), 1+rng.IntN(600))
			pr.begin("create %s", name)
			err = os.WriteFile(m.abs(name), content, 0o644)
			pr.end()
			if err != nil {
				fail("create %s: %v", name, err)
				return ops
			}
			m.files[name] = id
			m.byID[id] = &nsFile{names: map[string]bool{name: true}, content: content}
		case r < 35: // rename a file, sometimes over another of ours
			from := pickKey(rng, m.files)
			to := m.newName(rng, true)
			if rng.IntN(3) == 0 {
				to = pickKey(rng, m.files)
			}
			pr.begin("rename %s -> %s", from, to)
			err = os.Rename(m.abs(from), m.abs(to))
			pr.end()
			if err != nil {
				fail("rename %s -> %s: %v", from, to, err)
				return ops
			}
			if from != to && m.files[from] != m.files[to] {
				if old, ok := m.files[to]; ok {
					delete(m.byID[old].names, to)
					if len(m.byID[old].names) == 0 {
						delete(m.byID, old)
					}
				}
				id := m.files[from]
				delete(m.files, from)
				delete(m.byID[id].names, from)
				m.files[to] = id
				m.byID[id].names[to] = true
			}
		case r < 45: // hard link
			from := pickKey(rng, m.files)
			to := m.newName(rng, true)
			pr.begin("link %s -> %s", from, to)
			err = os.Link(m.abs(from), m.abs(to))
			pr.end()
			if err != nil {
				fail("link %s %s: %v", from, to, err)
				return ops
			}
			id := m.files[from]
			m.files[to] = id
			m.byID[id].names[to] = true
		case r < 57: // unlink
			name := pickKey(rng, m.files)
			pr.begin("unlink %s", name)
			err = os.Remove(m.abs(name))
			pr.end()
			if err != nil {
				fail("unlink %s: %v", name, err)
				return ops
			}
			id := m.files[name]
			delete(m.files, name)
			delete(m.byID[id].names, name)
			if len(m.byID[id].names) == 0 {
				delete(m.byID, id)
			}
		case r < 62: // mkdir
			name := m.newName(rng, false) + "d"
			pr.begin("mkdir %s", name)
			err = os.Mkdir(m.abs(name), 0o755)
			pr.end()
			if err != nil {
				fail("mkdir %s: %v", name, err)
				return ops
			}
			m.dirs[name] = true
		case r < 67 && len(m.dirs) > 0: // rmdir, ENOTEMPTY when not empty
			name := pickKey(rng, m.dirs)
			empty := true
			for p := range m.files {
				empty = empty && filepath.Dir(p) != name
			}
			for p := range m.links {
				empty = empty && filepath.Dir(p) != name
			}
			pr.begin("rmdir %s", name)
			err = unix.Rmdir(m.abs(name))
			pr.end()
			switch {
			case empty && err != nil:
				fail("rmdir of empty %s: %v", name, err)
				return ops
			case !empty && err != unix.ENOTEMPTY:
				fail("rmdir of non-empty %s: %v, want ENOTEMPTY", name, err)
				return ops
			case empty:
				delete(m.dirs, name)
			}
		case r < 72 && len(m.dirs) > 0: // rename a directory with its content
			from := pickKey(rng, m.dirs)
			to := m.newName(rng, false) + "d"
			pr.begin("rename dir %s -> %s", from, to)
			err = os.Rename(m.abs(from), m.abs(to))
			pr.end()
			if err != nil {
				fail("rename dir %s -> %s: %v", from, to, err)
				return ops
			}
			m.renameDir(from, to)
		case r < 77: // symlink
			name := m.newName(rng, true) + "l"
			target := strings.Repeat(fmt.Sprintf("%s-target-%d/", prefix, ops), 1+rng.IntN(8))
			pr.begin("symlink %s", name)
			err = os.Symlink(target, m.abs(name))
			pr.end()
			if err != nil {
				fail("symlink %s: %v", name, err)
				return ops
			}
			m.links[name] = target
		case r < 80 && len(m.links) > 0: // unlink a symlink
			name := pickKey(rng, m.links)
			pr.begin("unlink symlink %s", name)
			err = os.Remove(m.abs(name))
			pr.end()
			if err != nil {
				fail("unlink symlink %s: %v", name, err)
				return ops
			}
			delete(m.links, name)
		case r < 85: // rewrite a file's content through one of its names
			name := pickKey(rng, m.files)
			content := bytes.Repeat([]byte(fmt.Sprintf("%s rewrite %d of %d\n", prefix, ops, m.files[name])), 1+rng.IntN(600))
			pr.begin("rewrite %s", name)
			err = os.WriteFile(m.abs(name), content, 0o644)
			pr.end()
			if err != nil {
				fail("rewrite %s: %v", name, err)
				return ops
			}
			m.byID[m.files[name]].content = content
		case r < 93: // verify one name
			name := pickKey(rng, m.files)
			pr.begin("verify %s", name)
			err = m.verifyFile(name)
			pr.end()
			if err != nil {
				fail("%v", err)
				return ops
			}
		default: // readdir one directory
			dir := m.tops[rng.IntN(len(m.tops))]
			if len(m.dirs) > 0 && rng.IntN(2) == 0 {
				dir = pickKey(rng, m.dirs)
			}
			pr.begin("readdir %s", dir)
			err = m.verifyDir(dir)
			pr.end()
			if err != nil {
				fail("%v", err)
				return ops
			}
		}
	}
	// Final: every name, every directory.
	pr.begin("final check of %s", prefix)
	defer pr.end()
	for name := range m.files {
		if err := m.verifyFile(name); err != nil {
			s.errorf("namespace %s final: %v", prefix, err)
			return ops
		}
	}
	for name, target := range m.links {
		if got, err := os.Readlink(m.abs(name)); err != nil || got != target {
			s.errorf("namespace %s final: readlink %s = %q, %v; want %q", prefix, name, got, err, target)
			return ops
		}
	}
	dirs := append([]string(nil), m.tops...)
	for d := range m.dirs {
		dirs = append(dirs, d)
	}
	for _, d := range dirs {
		if err := m.verifyDir(d); err != nil {
			s.errorf("namespace %s final: %v", prefix, err)
			return ops
		}
	}
	return ops
}

func (m *nsModel) renameDir(from, to string) {
	delete(m.dirs, from)
	m.dirs[to] = true
	for p, id := range m.files {
		if filepath.Dir(p) == from {
			np := filepath.Join(to, filepath.Base(p))
			delete(m.files, p)
			m.files[np] = id
			delete(m.byID[id].names, p)
			m.byID[id].names[np] = true
		}
	}
	for p, target := range m.links {
		if filepath.Dir(p) == from {
			delete(m.links, p)
			m.links[filepath.Join(to, filepath.Base(p))] = target
		}
	}
}

func (m *nsModel) verifyFile(name string) error {
	f := m.byID[m.files[name]]
	got, err := os.ReadFile(m.abs(name))
	if err != nil {
		return fmt.Errorf("read %s: %v", name, err)
	}
	if !bytes.Equal(got, f.content) {
		return fmt.Errorf("%s has %d bytes %.40q, want %d bytes %.40q", name, len(got), got, len(f.content), f.content)
	}
	var st unix.Stat_t
	if err := unix.Lstat(m.abs(name), &st); err != nil {
		return fmt.Errorf("lstat %s: %v", name, err)
	}
	if int(st.Nlink) != len(f.names) {
		return fmt.Errorf("%s has nlink %d, want %d (%v)", name, st.Nlink, len(f.names), keys(f.names))
	}
	return nil
}

// verifyDir lists dir and compares the entries with our prefix to the model.
func (m *nsModel) verifyDir(dir string) error {
	ents, err := os.ReadDir(m.abs(dir))
	if err != nil {
		return fmt.Errorf("readdir %s: %v", dir, err)
	}
	var got, want []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), m.prefix) {
			got = append(got, e.Name())
		}
	}
	for p := range m.files {
		if filepath.Dir(p) == dir {
			want = append(want, filepath.Base(p))
		}
	}
	for p := range m.dirs {
		if filepath.Dir(p) == dir {
			want = append(want, filepath.Base(p))
		}
	}
	for p := range m.links {
		if filepath.Dir(p) == dir {
			want = append(want, filepath.Base(p))
		}
	}
	sort.Strings(got)
	sort.Strings(want)
	if strings.Join(got, "/") != strings.Join(want, "/") {
		return fmt.Errorf("readdir %s: our entries %v, want %v", dir, got, want)
	}
	return nil
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// ---------------------------------------------------------------------------
// Chaos: several workers fight over the same few names. Only errors the
// race explains are accepted; content must always be a valid chaos file.

var chaosOK = []error{unix.ENOENT, unix.EEXIST, unix.ENOTEMPTY}

func chaosAllowed(err error) bool {
	for _, e := range chaosOK {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// checkChaosContent: a chaos file is empty (created, not yet written) or a
// prefix of its first line repeated.
func checkChaosContent(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	i := bytes.IndexByte(b, '\n')
	if i < 0 || !bytes.HasPrefix(b, []byte("chaos ")) {
		if bytes.HasPrefix([]byte("chaos "), b[:min(len(b), 6)]) {
			return nil // a short prefix of the first line
		}
		return fmt.Errorf("not a chaos file: %.60q", b)
	}
	line := b[:i+1]
	for off := 0; off < len(b); off += len(line) {
		end := min(off+len(line), len(b))
		if !bytes.Equal(b[off:end], line[:end-off]) {
			return fmt.Errorf("chaos file torn at %d: %.60q", off, b[off:end])
		}
	}
	return nil
}

func runChaos(root string, tops []string, id int, seed uint64, deadline time.Time, pr *progress, s sink) int {
	rng := rand.New(rand.NewPCG(seed, uint64(9000+id)))
	name := func() string {
		return filepath.Join(root, tops[rng.IntN(len(tops))], fmt.Sprintf("x-%d", rng.IntN(12)))
	}
	dname := func() string {
		return filepath.Join(root, tops[rng.IntN(len(tops))], fmt.Sprintf("y-%d", rng.IntN(4)))
	}
	ops := 0
	for ; time.Now().Before(deadline); ops++ {
		var err error
		var what string
		switch r := rng.IntN(100); {
		case r < 20:
			p := name()
			what = "create " + p
			pr.begin("chaos %s", what)
			var fd int
			if fd, err = unix.Open(p, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC, 0o644); err == nil {
				line := fmt.Sprintf("chaos %d %d\n", id, ops)
				err = diskio.PwriteFull(fd, bytes.Repeat([]byte(line), 1+rng.IntN(3000)), 0)
				unix.Close(fd)
			}
		case r < 35:
			a, b := name(), name()
			what = "rename " + a + " " + b
			pr.begin("chaos %s", what)
			err = unix.Rename(a, b)
		case r < 45:
			a, b := name(), name()
			what = "link " + a + " " + b
			pr.begin("chaos %s", what)
			err = unix.Link(a, b)
		case r < 57:
			p := name()
			what = "unlink " + p
			pr.begin("chaos %s", what)
			err = unix.Unlink(p)
		case r < 75:
			p := name()
			what = "read " + p
			pr.begin("chaos %s", what)
			var b []byte
			if b, err = os.ReadFile(p); err == nil {
				if cerr := checkChaosContent(b); cerr != nil {
					pr.end()
					s.errorf("chaos %d: %s: %v", id, p, cerr)
					return ops
				}
			}
		case r < 82:
			p := dname()
			what = "mkdir " + p
			pr.begin("chaos %s", what)
			err = unix.Mkdir(p, 0o755)
		case r < 88:
			p := dname()
			what = "rmdir " + p
			pr.begin("chaos %s", what)
			err = unix.Rmdir(p)
		case r < 93:
			a, b := dname(), dname()
			what = "rename dir " + a + " " + b
			pr.begin("chaos %s", what)
			err = unix.Rename(a, b)
		default:
			p := filepath.Join(dname(), "f")
			what = "create in dir " + p
			pr.begin("chaos %s", what)
			err = os.WriteFile(p, []byte("chaos 0 0\n"), 0o644)
		}
		pr.end()
		if err != nil && !chaosAllowed(err) {
			s.errorf("chaos %d: %s: %v", id, what, err)
			return ops
		}
	}
	return ops
}

// runWalker walks the whole tree, stats everything and reads small files,
// tolerating only entries vanishing under it.
func runWalker(root string, deadline time.Time, pr *progress, s sink) int {
	walks := 0
	for ; time.Now().Before(deadline); walks++ {
		pr.begin("walk %s", root)
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return nil
				}
				return err
			}
			var st unix.Stat_t
			if err := unix.Lstat(p, &st); err != nil {
				if err == unix.ENOENT {
					return nil
				}
				return fmt.Errorf("lstat %s: %w", p, err)
			}
			if st.Mode&unix.S_IFMT == unix.S_IFLNK {
				if _, err := os.Readlink(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
					return err
				}
			}
			return nil
		})
		pr.end()
		if err != nil {
			s.errorf("walker: %v", err)
			return walks
		}
	}
	return walks
}

// errnoOf extracts the errno of err, or 0.
func errnoOf(err error) syscall.Errno {
	var e syscall.Errno
	if errors.As(err, &e) {
		return e
	}
	return 0
}

package fsck

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/cipher/config"
	"github.com/veilfs/veilfs/fs/cipherdir"
	"github.com/veilfs/veilfs/fs/syncmem"
	"github.com/veilfs/veilfs/internal/diskio"
	"github.com/veilfs/veilfs/internal/mounttable"
	"github.com/veilfs/veilfs/nametransform"
)

// ErrMounted is returned when CIPHERDIR is mounted: a mount would cache
// names and IVs that a repair changes, and its writes would race the
// checks.
var ErrMounted = errors.New("volume is mounted")

// Options control a check.
type Options struct {
	// Repair fixes what can be fixed without guessing (see the package
	// documentation); without it fsck never writes.
	Repair bool
	// Progress, if set, is called after every file and every MiB read.
	// Setting it costs a first walk of the tree to count the files.
	Progress func(Progress)
	// Now gives the time in the quarantine directory's name; nil means
	// time.Now.
	Now func() time.Time

	// IVMemory is this machine's memory of directory IVs (syncmem.IVs),
	// written by its mounts: a directory that lost its gocryptfs.diriv
	// can get it back from there. Empty: only the volume's own IVs are
	// tried.
	IVMemory string
	// LongNameMemory is this machine's memory of long names
	// (syncmem.LongNames), written by its mounts: a long-name entry whose
	// .name sidecar a sync client lost gets it back from there. It is
	// only read. Empty: such an entry's name is lost, and --repair gives
	// it its synthetic name (lostnames.go).
	LongNameMemory string

	// UnusableConfig, when set, says why the volume's gocryptfs.conf could
	// not be used: conf is then a config assumed from the format options
	// AssumedFormat describes, and checked with the master key (veilfs
	// fsck --masterkey-file). The volume stays broken until a config is
	// written, so it is reported as a problem of its own.
	UnusableConfig string
	AssumedFormat  string

	// fault, in tests, is called at every step of a repair that changes
	// CIPHERDIR; an error it returns stops fsck there, as a crash would.
	fault func(step string) error
}

// Progress is how far a check is. The totals come from a walk at the start.
type Progress struct {
	Files, TotalFiles int64
	Bytes, TotalBytes int64 // ciphertext bytes of regular files
}

// errFault is what a test's fault hook returns to stop a run.
var errFault = errors.New("fault injected")

// Run checks the volume in dir, whose config conf has been loaded and
// validated and whose master key the caller unlocked with any unlocker.
// It refuses a mounted volume (ErrMounted), reports an unfinished rotation
// without looking further, and otherwise checks everything: the extra
// unlockers, every directory IV, name, long-name sidecar, file header and
// block, symlink target and xattr. With opts.Repair it also repairs what
// is safe to repair (the package documentation lists what).
//
// Problems are returned in the report, never as errors; an error means the
// check could not run at all (CIPHERDIR unreadable, mounted), or, in tests,
// that a fault stopped a repair.
func Run(dir string, conf *config.File, master []byte, opts Options) (*Report, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("resolve %s: %w", dir, err)
	}
	if m, err := mounttable.MountedAt(dir); err != nil {
		return nil, err
	} else if m != "" {
		return nil, fmt.Errorf("%s is mounted on %s: %w", dir, m, ErrMounted)
	}
	if conf.Rotating() {
		return StoppedReport(dir, opts.Repair, RotationProblem(dir)), nil
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	vol, err := cipherdir.OpenWithConfig(dir, conf, master)
	if err != nil {
		return nil, err
	}
	defer vol.Wipe()
	if opts.LongNameMemory != "" {
		vol.LongNames = syncmem.ReadLongNames(opts.LongNameMemory)
	}
	rootfd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", dir, err)
	}
	defer unix.Close(rootfd)

	c := &checker{
		v: vol, opts: opts, rootfd: rootfd,
		rep:   newReport(dir, opts.Repair),
		ivs:   map[string][]dirRef{},
		links: map[[2]uint64][]finding{},
	}
	if opts.UnusableConfig != "" {
		c.rep.add(assumedConfigProblem(dir, opts.UnusableConfig, opts.AssumedFormat))
	}
	for _, p := range unlockerProblems(conf, master) {
		c.rep.add(p)
	}
	if opts.Progress != nil {
		c.scan()
	}
	var st unix.Stat_t
	if err := unix.Fstat(rootfd, &st); err != nil {
		return nil, fmt.Errorf("stat %s: %w", dir, err)
	}
	// The root is opened again: dir closes what it is given.
	fd, err := unix.Openat(rootfd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", dir, err)
	}
	c.dir(fd, loc{known: true}, &st)
	unix.Close(fd)
	c.dupDirIVs()
	if c.q != nil {
		unix.Close(c.q.fd)
	}
	if c.stop != nil {
		return nil, c.stop
	}
	if opts.Repair {
		// One syncfs rather than an fsync per change: every repair is
		// correct at any instant, this only makes the result durable.
		if err := cipherdir.Syncfs(rootfd); err != nil {
			return nil, fmt.Errorf("syncfs %s: %w", dir, err)
		}
	}
	c.rep.Summary.Bytes = c.prog.Bytes
	c.rep.finish()
	return c.rep, nil
}

// checker is one run over a volume.
type checker struct {
	v      *cipherdir.Volume
	opts   Options
	rootfd int
	rep    *Report

	// ivs maps each directory IV seen to the directories that have it,
	// ivOrder its keys in the order first seen (reports are deterministic).
	ivs     map[string][]dirRef
	ivOrder []string
	// links holds what was found in a multiply-linked file, by device and
	// inode: its other names get the same findings without a second read.
	links map[[2]uint64][]finding

	rootIV   []byte
	rootIVOK bool
	// volumeIVs are the IVs of every directory of the volume, walked on
	// the first directory that lost its own (findDirIV).
	volumeIVs []cipherdir.DirIVCandidate
	walked    bool
	q         *quarantine
	qErr      error

	prog Progress
	buf  buffers
	// stop is set when a test's fault hook stopped the run.
	stop error
}

// loc is where an object is, in both trees.
type loc struct {
	rel   string // relative ciphertext path, "" for CIPHERDIR
	plain string // relative plaintext path, "" for the root
	known bool   // plain is known: every name on the way decrypted
	inQ   bool   // inside a quarantine directory
}

func (l loc) child(disk, plain string, nameKnown bool) loc {
	c := loc{rel: cipherdir.JoinPath(l.rel, disk), known: l.known && nameKnown, inQ: l.inQ}
	if c.known {
		c.plain = cipherdir.JoinPath(l.plain, plain)
	}
	return c
}

func (l loc) plainPath() string {
	switch {
	case !l.known:
		return ""
	case l.plain == "":
		return "."
	}
	return l.plain
}

// dirRef is a directory that has a given IV.
type dirRef struct {
	loc      loc
	dev, ino uint64
}

// finding is a problem of an object before it has a location.
type finding struct {
	kind   Kind
	detail string
	block  *uint64
}

// report adds a problem at l. Inside a quarantine directory, what a repair
// would move to quarantine is only noted (kind Quarantined): it is there
// already, and a second run must not count it again.
func (c *checker) report(kind Kind, l loc, detail string) int {
	return c.reportFinding(finding{kind: kind, detail: detail}, l)
}

func (c *checker) reportFinding(f finding, l loc) int {
	if l.inQ && quarantines(f.kind) {
		f = finding{kind: Quarantined, detail: fmt.Sprintf("%s: %s", f.kind, f.detail)}
	}
	return c.rep.add(Problem{Kind: f.kind, CipherPath: l.rel, PlainPath: l.plainPath(), Detail: f.detail, Block: f.block})
}

// quarantines reports whether --repair moves an entry with a problem of
// kind k to the quarantine directory.
func quarantines(k Kind) bool {
	return k == BadName || k == BadSidecar || k == BadHeader
}

// repaired records the outcome of a repair of problem idx.
func (c *checker) repaired(idx int, action string, err error) {
	p := &c.rep.Problems[idx]
	if err != nil {
		p.Detail += "; repair failed: " + err.Error()
		if errors.Is(err, errFault) && c.stop == nil {
			c.stop = err
		}
		return
	}
	p.Repaired, p.Action = true, action
}

func (c *checker) fault(step string) error {
	if c.stop != nil {
		return c.stop
	}
	if c.opts.fault == nil {
		return nil
	}
	if err := c.opts.fault(step); err != nil {
		c.stop = fmt.Errorf("%s: %w", step, errFault)
		return c.stop
	}
	return nil
}

func (c *checker) progress() {
	if c.opts.Progress != nil {
		c.opts.Progress(c.prog)
	}
}

func (c *checker) usesDirIV() bool { return c.v.DirIV && !c.v.PlaintextNames }

// dirState is a directory being checked.
type dirState struct {
	fd    int
	loc   loc
	iv    []byte
	ivOK  bool
	names []string
	// refs counts, per long-name object, the entries that need its
	// sidecar: the object and its conflict copies.
	refs map[string]int
	// skip holds names already dealt with (an interrupted repair resumed).
	skip map[string]bool
	// lostNames maps the long-name entries whose name is lost with their
	// sidecar to their problem: --repair names them after their checks
	// (nameLost).
	lostNames map[string]int
	// noneDecrypts: at least two encrypted names, and not one decrypts
	// to a plausible name. Then the IV is almost surely what is wrong
	// (replaced by a sync client or a copy), not every name: those names
	// are not moved to quarantine, where restoring the old IV would no
	// longer find them.
	noneDecrypts bool
	// lost are the IVs of conflict copies of gocryptfs.diriv (a directory
	// created on two machines before they synced), read on first need.
	lost       [][]byte
	lostLoaded bool
}

// lostIVs returns the IVs in the directory's conflict copies of
// gocryptfs.diriv that differ from its own.
func (c *checker) lostIVs(d *dirState) [][]byte {
	if !d.lostLoaded && d.ivOK && c.usesDirIV() {
		d.lost, _ = cipherdir.LostIVs(d.fd, d.iv)
		d.lostLoaded = true
	}
	return d.lost
}

// dir checks the directory open at fd (readable, not O_PATH) and
// everything below it. It does not close fd.
func (c *checker) dir(fd int, l loc, st *unix.Stat_t) {
	if c.stop != nil {
		return
	}
	c.rep.Summary.Dirs++
	d := &dirState{fd: fd, loc: l, skip: map[string]bool{}, lostNames: map[string]int{}}
	if c.opts.Repair && c.usesDirIV() {
		c.resumeReIVs(d)
	}
	names, err := diskio.ListNames(fd)
	if err != nil {
		c.report(Unreadable, l, fmt.Sprintf("cannot list the directory (%v); nothing in it was checked", err))
		return
	}
	c.setNames(d, names)
	d.iv, d.ivOK = c.dirIV(d, st)
	if l.rel == "" {
		c.rootIV, c.rootIVOK = d.iv, d.ivOK
	}
	for _, f := range c.xattrs(fd) {
		c.reportFinding(f, l)
	}
	if c.opts.Repair && len(c.lostIVs(d)) > 0 {
		c.repairLostIV(d)
	}
	d.noneDecrypts = c.noneDecrypts(d)
	for _, name := range d.names { // listed again if names were re-encrypted
		if c.stop != nil {
			return
		}
		if !d.skip[name] {
			c.entry(d, name)
		}
	}
	c.sidecars(d)
}

// setNames records the directory's entries and counts the references to
// each long-name sidecar.
func (c *checker) setNames(d *dirState, names []string) {
	d.names = names
	d.refs = map[string]int{}
	if c.v.PlaintextNames {
		return
	}
	for _, n := range names {
		switch nametransform.Classify(n) {
		case nametransform.KindLongName:
			d.refs[n]++
		case nametransform.KindLongNameSidecar:
		default:
			if orig, ok := nametransform.SyncClientDownload(n); ok && nametransform.Classify(orig) == nametransform.KindLongName {
				// A client still downloading the long name's object: the
				// sidecar that came first is not orphaned, and a removal
				// would be synced to every machine.
				d.refs[orig]++
			} else if orig, _, ok := nametransform.SplitConflict(n); ok && nametransform.Classify(orig) == nametransform.KindLongName {
				d.refs[orig]++
			}
		}
	}
}

// repairLostIV re-encrypts under the directory's IV the names that decrypt
// only under the IV of a conflict copy of gocryptfs.diriv
// (cipherdir.RepairLostIV, which a mount runs too), reports each, and
// lists the directory again. A name it could not rename stays and is
// reported as bad-name by the walk.
func (c *checker) repairLostIV(d *dirState) {
	done, _ := c.v.RepairLostIV(d.fd, d.iv, d.loc.rel == "")
	for _, r := range done {
		idx := c.report(BadName, d.loc.child(r.Old, r.Plain, true), "the name was encrypted under the IV kept in a conflict copy of "+
			"gocryptfs.diriv (the directory was created on two machines before they synced)")
		c.repaired(idx, "re-encrypted under the directory's IV as "+r.New, c.fault("lostiv"))
	}
	if len(done) > 0 {
		if names, err := diskio.ListNames(d.fd); err == nil {
			c.setNames(d, names)
		}
	}
}

// noneDecrypts reports whether the directory holds at least two entries
// with encrypted names, at least one of which does not decrypt, and none
// decrypts to a plausible name. Names carry no MAC: under the wrong IV one
// name in 256 still decrypts, to random bytes (nametransform.Plausible),
// and that must not hide a replaced IV. A directory whose names all
// decrypt, plausible or not (old Latin-1 names), is not suspect.
func (c *checker) noneDecrypts(d *dirState) bool {
	if c.v.PlaintextNames || !d.ivOK {
		return false
	}
	n, failed := 0, false
	for _, name := range d.names {
		switch k := nametransform.Classify(name); {
		case k == nametransform.KindLongNameSidecar:
			continue
		case !needsIV(name): // our own files, a sync client's
			continue
		}
		plain, _, err := c.v.EntryName(d.fd, name, d.iv, d.loc.rel == "")
		if errors.Is(err, cipherdir.ErrNoSidecar) {
			continue // says nothing about the IV
		}
		if err == nil && nametransform.Plausible(plain) {
			return false
		}
		failed = failed || err != nil
		n++
	}
	return n >= 2 && failed
}

// needsIV reports whether name is an encrypted name, which a directory IV
// decrypts (or a long name's sidecar, or a conflict copy of one). A sync
// client's file is none: a directory holding only .DS_Store loses nothing
// with a new IV.
func needsIV(name string) bool {
	if _, ok := nametransform.SyncClientFile(name); ok {
		return false
	}
	switch nametransform.Classify(name) {
	case nametransform.KindRegular, nametransform.KindLongName, nametransform.KindLongNameSidecar:
		return true
	}
	orig, _, ok := nametransform.SplitConflict(name)
	return ok && nametransform.Classify(orig) == nametransform.KindLongName
}

// dirIV checks the directory's gocryptfs.diriv, records it for the
// duplicate check, and repairs a missing or invalid IV of a directory that
// holds no encrypted name. ok is false when the names cannot be decrypted.
func (c *checker) dirIV(d *dirState, st *unix.Stat_t) (iv []byte, ok bool) {
	switch {
	case c.v.PlaintextNames:
		return nil, true
	case !c.v.DirIV:
		return cipherdir.ZeroIV(), true
	}
	iv, state, err := cipherdir.InspectDirIV(d.fd)
	switch state {
	case cipherdir.DirIVOK:
		c.recordIV(iv, d.loc, st)
		return iv, true
	case cipherdir.DirIVUnreadable:
		c.report(Unreadable, d.loc, fmt.Sprintf("%v; the names in this directory were not checked", err))
		return nil, false
	}
	kind := BadDirIV
	if state == cipherdir.DirIVMissing {
		kind = MissingDirIV
	}
	n := 0
	for _, name := range d.names {
		if needsIV(name) {
			n++
		}
	}
	if n > 0 && state == cipherdir.DirIVMissing {
		return c.findDirIV(d, st, err, n)
	}
	if n > 0 {
		c.report(kind, d.loc, fmt.Sprintf("%v: the %s in this directory cannot be decrypted without it (they were not checked); "+
			"restore its gocryptfs.diriv from a backup or your sync service's version history", err, plural(n, "name")))
		return nil, false
	}
	idx := c.report(kind, d.loc, fmt.Sprintf("%v; the directory holds no encrypted name, so a new IV loses nothing", err))
	if !c.opts.Repair {
		return nil, false
	}
	action := "replaced gocryptfs.diriv with a new random IV"
	if state == cipherdir.DirIVMissing {
		action = "wrote a new random gocryptfs.diriv"
		err = writeDirIV(c.v, d.fd)
	} else {
		err = cipherdir.ReplaceDirIV(d.fd)
	}
	if err == nil {
		err = c.fault("diriv")
	}
	c.repaired(idx, action, err)
	if err != nil {
		return nil, false
	}
	iv, state, err = cipherdir.InspectDirIV(d.fd)
	if state != cipherdir.DirIVOK {
		c.rep.Problems[idx].Detail += fmt.Sprintf("; the new IV does not read back: %v", err)
		return nil, false
	}
	c.recordIV(iv, d.loc, st)
	return iv, true
}

// findDirIV handles a directory whose gocryptfs.diriv is missing while n
// names in it need one: a sync client recreated it (a rename on one
// machine racing an edit inside it on another). The IV is restored when
// exactly one known IV (a conflict copy in the directory, this machine's
// IV memory, another directory of the volume) makes every name in it
// decrypt (cipherdir.MatchDirIV, which the mount uses too); otherwise
// nothing is guessed.
func (c *checker) findDirIV(d *dirState, st *unix.Stat_t, missing error, n int) ([]byte, bool) {
	var cands []cipherdir.DirIVCandidate
	if lost, err := cipherdir.LostIVs(d.fd, nil); err == nil {
		for _, iv := range lost {
			cands = append(cands, cipherdir.DirIVCandidate{IV: iv, From: "a conflict copy of gocryptfs.diriv in it"})
		}
	}
	mem := syncmem.OpenIVs(c.opts.IVMemory)
	for _, iv := range append(mem.Recall(d.loc.rel), mem.All()...) {
		cands = append(cands, cipherdir.DirIVCandidate{IV: iv, From: "this machine's memory of directory IVs"})
	}
	match, _, err := c.v.MatchDirIV(d.fd, d.loc.rel == "", cands)
	if errors.Is(err, cipherdir.ErrNoDirIVMatch) {
		if !c.walked {
			c.volumeIVs, _ = cipherdir.VolumeDirIVs(c.rootfd)
			for i := range c.volumeIVs {
				c.volumeIVs[i].From = "the directory " + displayRel(c.volumeIVs[i].From)
			}
			c.walked = true
		}
		match, _, err = c.v.MatchDirIV(d.fd, d.loc.rel == "", c.volumeIVs)
	}
	if err != nil {
		c.report(MissingDirIV, d.loc, fmt.Sprintf("%v: the %s in this directory cannot be decrypted without it (they were not checked), "+
			"and no IV of this volume or this machine's memory decrypts them; if a sync client is still delivering the directory, "+
			"wait for it; otherwise restore its gocryptfs.diriv from a backup or your sync service's version history", missing, plural(n, "name")))
		return nil, false
	}
	idx := c.report(MissingDirIV, d.loc, fmt.Sprintf("%v; the IV of %s decrypts all %s in it (a sync client recreated the directory without it)",
		missing, match.From, plural(n, "name")))
	if !c.opts.Repair {
		// The names are checked under the IV found, as they will be
		// after the repair.
		c.recordIV(match.IV, d.loc, st)
		return match.IV, true
	}
	err = cipherdir.RestoreDirIV(d.fd, match.IV)
	if err == nil {
		err = c.v.SyncDirIV(d.fd)
	}
	if err == nil {
		err = c.fault("diriv")
	}
	c.repaired(idx, "restored gocryptfs.diriv from "+match.From, err)
	if err != nil {
		return nil, false
	}
	c.recordIV(match.IV, d.loc, st)
	return match.IV, true
}

// displayRel names a ciphertext path relative to CIPHERDIR in a message.
func displayRel(rel string) string {
	if rel == "" {
		return "CIPHERDIR"
	}
	return rel
}

// writeDirIV creates a missing gocryptfs.diriv and makes it durable.
func writeDirIV(v *cipherdir.Volume, fd int) error {
	if err := cipherdir.WriteDirIV(fd); err != nil {
		return err
	}
	if err := v.SyncDirIV(fd); err != nil {
		return err
	}
	return unix.Fsync(fd)
}

func (c *checker) recordIV(iv []byte, l loc, st *unix.Stat_t) {
	key := string(iv)
	if _, ok := c.ivs[key]; !ok {
		c.ivOrder = append(c.ivOrder, key)
	}
	c.ivs[key] = append(c.ivs[key], dirRef{loc: l, dev: uint64(st.Dev), ino: st.Ino})
}

// entry checks one entry of a directory: its name, then the object.
func (c *checker) entry(d *dirState, name string) {
	var st unix.Stat_t
	if err := unix.Fstatat(d.fd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		if err != unix.ENOENT { // gone: a repair moved it
			c.report(Unreadable, d.loc.child(name, "", false), fmt.Sprintf("cannot stat: %v", err))
		}
		return
	}
	plain, known, isEntry, move := c.name(d, name, &st)
	if !isEntry {
		return
	}
	l := d.loc.child(name, plain, known)
	if d.loc.rel == "" && known && isQuarantineName(plain) {
		l.inQ = true
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		fd, err := cipherdir.OpenReadDirAt(d.fd, name)
		if err != nil {
			c.report(Unreadable, l, fmt.Sprintf("%v; nothing in it was checked", err))
			break
		}
		c.dir(fd, l, &st)
		unix.Close(fd)
	case unix.S_IFREG:
		move = append(move, c.file(d.fd, name, l, &st)...)
	case unix.S_IFLNK:
		c.symlink(d.fd, name, l)
	default:
		c.rep.Summary.Other++
	}
	if c.opts.Repair && c.stop == nil {
		lostIdx, lost := d.lostNames[name]
		switch {
		case len(move) > 0 && lost:
			c.quarantine(d, name, l, append(move, lostIdx)) // the move names it too
		case len(move) > 0:
			c.quarantine(d, name, l, move)
		case lost:
			c.nameLost(d, name, lostIdx)
		}
	}
}

// name checks an entry's name. isEntry is false for the volume's own files
// (handled here or in sidecars); plain and known give the plaintext name;
// move lists the problems that moving the entry to quarantine repairs.
func (c *checker) name(d *dirState, name string, st *unix.Stat_t) (plain string, known, isEntry bool, move []int) {
	atRoot := d.loc.rel == ""
	if c.v.PlaintextNames {
		switch {
		case atRoot && name == config.Filename:
			return "", false, false, nil
		case isLeftover(name, atRoot, true):
			c.leftover(d, name, st)
			return "", false, false, nil
		}
		return name, true, true, nil
	}
	// Before Classify: rclone's gocryptfs.diriv.partial is rclone's.
	if client, ok := nametransform.SyncClientFile(name); ok {
		c.syncClientFile(d, name, client, st)
		return "", false, false, nil
	}
	switch nametransform.Classify(name) {
	case nametransform.KindLongNameSidecar:
		return "", false, false, nil // sidecars()
	case nametransform.KindReserved:
		if orig, _, ok := nametransform.SplitConflict(name); !ok || nametransform.Classify(orig) != nametransform.KindLongName {
			c.reserved(d, name, st)
			return "", false, false, nil
		}
		// A sync client's conflict copy of a long-name entry: an entry.
	}
	if !d.ivOK {
		return "", false, true, nil // the IV's problem says why
	}
	l := d.loc.child(name, "", false)
	pn, conflict, err := c.v.EntryName(d.fd, name, d.iv, atRoot)
	if errors.Is(err, cipherdir.ErrReservedName) {
		// A conflict copy of one of our files whose marker hides the
		// "gocryptfs." prefix (unison's "gocryptfs (conflict...).diriv").
		if orig, _, ok := nametransform.SplitConflict(name); ok && nametransform.Classify(orig) == nametransform.KindReserved {
			c.reserved(d, name, st)
		}
		return "", false, false, nil
	}
	if errors.Is(err, cipherdir.ErrNoSidecar) {
		return c.noSidecar(d, name, st)
	}
	if err != nil || !nametransform.Plausible(pn) {
		if p, ok := c.v.LostName(d.fd, name, d.iv, c.lostIVs(d), atRoot); ok {
			c.report(BadName, d.loc.child(name, p, true), fmt.Sprintf("the name is encrypted under the IV kept in a conflict copy of "+
				"gocryptfs.diriv (the directory was created on two machines before they synced): it decrypts to %q under that IV; "+
				"fsck --repair, or a mount, re-encrypts it under the directory's IV", p))
			return p, true, true, nil // nothing is lost: no quarantine
		}
		if err == nil && d.noneDecrypts {
			err = fmt.Errorf("it decrypts only to %q, random bytes rather than a name", pn)
		}
	}
	switch {
	case err != nil:
		why := err // the report line names the entry already
		if ne := (*cipherdir.NameError)(nil); errors.As(err, &ne) && ne.Disk == name {
			why = ne.Err
		}
		kind, detail := BadName, fmt.Sprintf("the name does not decrypt to a valid name (%v)", why)
		if nametransform.Classify(name) == nametransform.KindLongName && errors.Is(err, cipherdir.ErrBadSidecar) {
			kind, detail = BadSidecar, fmt.Sprintf("the long name's sidecar %s is missing or does not match the name (%v)",
				nametransform.SidecarName(name), err)
		}
		if d.noneDecrypts {
			detail += "; no name in this directory decrypts: its gocryptfs.diriv is probably not the one they were encrypted " +
				"under (replaced by a sync client or a copy); restore the old one from your sync service's version history " +
				"(--repair leaves these names where they are)"
		}
		idx := c.report(kind, l, detail)
		if !d.loc.inQ && !d.noneDecrypts {
			move = []int{idx}
		}
		return "", false, true, move
	case conflict != nil:
		orig, _, _ := nametransform.ParseConflictDisplay(pn)
		c.report(ConflictCopy, d.loc.child(name, pn, true), fmt.Sprintf(
			"a %s conflict copy (%s) of %q: the mount shows it as %q beside the original; keep one version and delete the other",
			conflict.Client, conflict.Label, orig, pn))
	}
	return pn, true, true, nil
}

// syncClientFile notes a sync client's own file or folder: not the
// volume's, so nothing in it is checked, it is never descended into (a
// .stfolder has no gocryptfs.diriv) and never moved (Syncthing stops
// syncing a folder whose .stfolder is gone).
func (c *checker) syncClientFile(d *dirState, name, client string, st *unix.Stat_t) {
	what := "file"
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		what = "folder"
	}
	c.report(SyncClientFile, d.loc.child(name, "", false), fmt.Sprintf("%s's own %s, not part of the volume: left as it is", client, what))
}

// reserved deals with a "gocryptfs." name in an encrypted-names volume
// that is not a long name or sidecar: the volume's own files, a sync
// client's copy of one, our leftovers, or something that does not belong.
func (c *checker) reserved(d *dirState, name string, st *unix.Stat_t) {
	atRoot := d.loc.rel == ""
	switch {
	case name == nametransform.DirIVFilename:
		return
	case atRoot && (name == config.Filename || name == cipherdir.ConfigBakName):
		return // .bak: gocryptfs -passwd -masterkey keeps the old config there
	case strings.HasPrefix(name, cipherdir.FsckReIVPrefix):
		// Only reached without --repair: a repair resumed it first.
		c.report(InterruptedRepair, d.loc.child(name, "", false),
			"an fsck --repair stopped while re-encrypting the names of a directory of this one; entries it moved are in this hidden directory "+
				"and do not show in a mount: run veilfs fsck --repair to finish it")
		return
	case isLeftover(name, atRoot, false):
		c.leftover(d, name, st)
		return
	}
	l := d.loc.child(name, "", false)
	if orig, cf, ok := nametransform.SplitConflict(name); ok && !cf.Weak {
		what := ""
		switch {
		case orig == nametransform.DirIVFilename:
			what = "of gocryptfs.diriv: the directory was probably created on two machines before they synced; " +
				"names that do not decrypt in it (bad-name) may be encrypted under this copy's IV"
		case atRoot && orig == config.Filename:
			what = "of gocryptfs.conf: a password or unlocker change made on another machine; the volume uses gocryptfs.conf, " +
				"make that change again and remove this copy"
		case nametransform.Classify(orig) == nametransform.KindLongNameSidecar:
			what = "of a long name's sidecar; it is not used and can be removed"
		}
		if what != "" {
			c.report(ConflictCopy, l, fmt.Sprintf("a %s conflict copy (%s) %s", cf.Client, cf.Label, what))
			return
		}
	}
	c.report(Leftover, l, "a name reserved for the volume's own files that neither gocryptfs nor veilfs writes here; "+
		"gocryptfs -fsck reports it as corrupt: check what it is, then move it out of CIPHERDIR")
}

// symlink checks that a symlink's target decrypts (FORMAT §6).
func (c *checker) symlink(dirfd int, name string, l loc) {
	c.rep.Summary.Symlinks++
	if c.v.PlaintextNames {
		return
	}
	buf := make([]byte, unix.PathMax+1)
	n, err := unix.Readlinkat(dirfd, name, buf)
	if err != nil {
		c.report(Unreadable, l, fmt.Sprintf("cannot read the symlink: %v", err))
		return
	}
	if _, err := c.v.DecryptLink(string(buf[:n])); err != nil {
		c.report(BadSymlink, l, fmt.Sprintf("the target does not decrypt (%v)", err))
	}
}

// sidecars reports the long-name sidecars in a directory whose entry is
// gone, and removes them with --repair: a sidecar is only ever read
// through its entry, so one without it holds nothing anyone can use.
func (c *checker) sidecars(d *dirState) {
	if c.v.PlaintextNames || c.stop != nil {
		return
	}
	for _, name := range d.names {
		if nametransform.Classify(name) != nametransform.KindLongNameSidecar {
			continue
		}
		obj := strings.TrimSuffix(name, nametransform.LongNameSuffix)
		if d.refs[obj] > 0 {
			continue
		}
		var st unix.Stat_t
		if unix.Fstatat(d.fd, name, &st, unix.AT_SYMLINK_NOFOLLOW) != nil {
			continue // removed with its entry, by a repair
		}
		idx := c.report(OrphanSidecar, d.loc.child(name, "", false), fmt.Sprintf(
			"a long name's sidecar without its entry %s (left by a crash, or by a sync client that deleted the entry but not the sidecar)", obj))
		if c.opts.Repair {
			err := unix.Unlinkat(d.fd, name, 0)
			if err == nil {
				err = c.fault("sidecar")
			}
			c.repaired(idx, "removed", err)
		}
	}
}

// scan counts the regular files and their bytes for the progress display.
func (c *checker) scan() {
	var walk func(fd int, atRoot bool)
	walk = func(fd int, atRoot bool) {
		names, _ := diskio.ListNames(fd)
		for _, name := range names {
			if !c.v.PlaintextNames && strings.HasPrefix(name, nametransform.ReservedPrefix) &&
				nametransform.Classify(name) != nametransform.KindLongName {
				continue
			}
			if _, ok := nametransform.SyncClientFile(name); ok && !c.v.PlaintextNames {
				continue // not checked, so not counted
			}
			var st unix.Stat_t
			if unix.Fstatat(fd, name, &st, unix.AT_SYMLINK_NOFOLLOW) != nil {
				continue
			}
			switch st.Mode & unix.S_IFMT {
			case unix.S_IFREG:
				c.prog.TotalFiles++
				c.prog.TotalBytes += st.Size
			case unix.S_IFDIR:
				if cfd, err := cipherdir.OpenReadDirAt(fd, name); err == nil {
					walk(cfd, false)
					unix.Close(cfd)
				}
			}
		}
	}
	if fd, err := unix.Openat(c.rootfd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0); err == nil {
		walk(fd, true)
		unix.Close(fd)
	}
	c.progress()
}

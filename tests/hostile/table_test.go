//go:build linux

package hostile_test

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/tests/harness"
)

// attack is one row: what the attacker does to CIPHERDIR (unmounted), how
// the mounted view is probed, and the outcome the probe must report.
type attack struct {
	group, name string
	do          func(v *vol)
	probe       func(v *vol) string
	// touches are the plaintext paths the attack may legitimately affect;
	// every other file must still read back exactly.
	touches []string
	// mountOnly: the attack is on the config; probe a mount attempt.
	mountOnly bool
	want      string
	// alt is a second acceptable outcome (a rare random event), with why.
	alt, altWhy string
	// bug: the outcome is wrong today; the row fails until it is fixed.
	bug string
	// note explains the outcome in SECURITY.md's table.
	note string
}

var victim = []string{"victim.bin"}

func readVictim(v *vol) string { return v.readProbe("victim.bin") }

func listD(v *vol) string { return v.listProbe("d", "inner.txt") + "; " + v.statProbe("d/inner.txt") }

func listRootL(v *vol) string {
	return v.listProbe("", rootEntries...) + "; " + v.statProbe(nameL)
}

func listRoot(v *vol) string { return v.listProbe("", rootEntries...) }

var dTouch = []string{"d/inner.txt"}
var lTouch = []string{nameL}

// nonCanonical returns a Raw64 name that decodes to the same bytes as
// name but has non-zero unused bits in its last character.
func nonCanonical(name string) string {
	const alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	last := strings.IndexByte(alpha, name[len(name)-1])
	return name[:len(name)-1] + string(alpha[last|1])
}

// symlinkStatNote explains why a planted symlink stats: the size of a
// symlink comes from its stored length, not from reading the target (a
// readlink would move its atime, and lutimes would not hold).
const symlinkStatNote = "stat shows the symlink: its size comes from the stored length without reading it (#16, lutimes); " +
	"reading the target, which open and readlink do, finds the damage"

func attacks() []attack {
	vb := func(v *vol) string { return v.c("victim.bin") }
	return []attack{
		// --- file content (FORMAT §4) ---
		{group: "content", name: "truncate a file to 0 bytes", want: "read: size 0 []; no log", touches: victim, probe: readVictim,
			do: func(v *vol) { v.truncate(vb(v), 0) }},
		{group: "content", name: "truncate a file to its 18-byte header", want: "read: size 0 []; no log", touches: victim, probe: readVictim,
			do: func(v *vol) { v.truncate(vb(v), hdr) }},
		{group: "content", name: "truncate a file to 1 byte", want: "read: size 0 []; no log", touches: victim, probe: readVictim,
			do: func(v *vol) { v.truncate(vb(v), 1) }},
		{group: "content", name: "truncate a file to 17 bytes", want: "read: size 0 []; no log", touches: victim, probe: readVictim,
			do: func(v *vol) { v.truncate(vb(v), 17) }},
		{group: "content", name: "truncate a file at a block boundary (drop the last block)", want: "read: size 12288 [ok ok ok]; no log", touches: victim, probe: readVictim,
			do: func(v *vol) { v.truncate(vb(v), int64(blockOff(3))) }},
		{group: "content", name: "truncate a file in the middle of block 1", want: "read: size 6064 [ok EIO]; logged", touches: victim, probe: readVictim,
			do: func(v *vol) { v.truncate(vb(v), int64(blockOff(1)+2000)) }},
		{group: "content", name: "truncate the last block to 10 bytes (shorter than nonce+tag)", want: "read: size 12289 [ok ok ok EIO]; logged", touches: victim, probe: readVictim,
			do: func(v *vol) { v.truncate(vb(v), int64(blockOff(3)+10)) }},
		{group: "content", name: "extend a file by 100 zero bytes", want: "read: size 12488 [ok ok ok EIO]; logged", touches: victim, probe: readVictim,
			do: func(v *vol) { v.appendBytes(vb(v), make([]byte, 100)) }},
		{group: "content", name: "extend a file by a whole all-zero block", want: "read: size 16484 [ok ok ok EIO EIO]; logged", touches: victim, probe: readVictim,
			do: func(v *vol) { v.appendBytes(vb(v), make([]byte, cbs)) }},
		{group: "content", name: "append 5000 random bytes", want: "read: size 17356 [ok ok ok EIO EIO]; logged", touches: victim, probe: readVictim,
			do: func(v *vol) { v.appendBytes(vb(v), bytes.Repeat([]byte{0x5a, 0xa5, 0x3c, 0xc3}, 1250)) }},
		{group: "content", name: "flip a bit in the header's version", want: "read: size 12388 [EIO EIO EIO EIO]; logged", touches: victim, probe: readVictim,
			do: func(v *vol) { v.flip(vb(v), 1) }},
		{group: "content", name: "flip a bit in the file ID", want: "read: size 12388 [EIO EIO EIO EIO]; logged", touches: victim, probe: readVictim,
			do: func(v *vol) { v.flip(vb(v), 9) }},
		{group: "content", name: "zero the header", want: "read: size 12388 [EIO EIO EIO EIO]; logged", touches: victim, probe: readVictim,
			do: func(v *vol) { v.zero(vb(v), 0, hdr) }},
		{group: "content", name: "flip a bit in block 1's nonce", want: "read: size 12388 [ok EIO ok ok]; logged", touches: victim, probe: readVictim,
			do: func(v *vol) { v.flip(vb(v), blockOff(1)+3) }},
		{group: "content", name: "flip a bit in block 1's data", want: "read: size 12388 [ok EIO ok ok]; logged", touches: victim, probe: readVictim,
			do: func(v *vol) { v.flip(vb(v), blockOff(1)+16+100) }},
		{group: "content", name: "flip a bit in block 1's tag", want: "read: size 12388 [ok EIO ok ok]; logged", touches: victim, probe: readVictim,
			do: func(v *vol) { v.flip(vb(v), blockOff(1)+16+blockSize+5) }},
		{group: "content", name: "flip a bit in the last (partial) block", want: "read: size 12388 [ok ok ok EIO]; logged", touches: victim, probe: readVictim,
			do: func(v *vol) { v.flip(vb(v), blockOff(3)+20) }},
		{group: "content", name: "zero block 1's nonce", want: "read: size 12388 [ok EIO ok ok]; logged", touches: victim, probe: readVictim,
			do: func(v *vol) { v.zero(vb(v), blockOff(1), 16) }},
		{group: "content", name: "zero all of block 1 (an all-zero block is a hole, FORMAT §4.4)", want: "read: size 12388 [ok zeros ok ok]; no log", touches: victim, probe: readVictim,
			do: func(v *vol) { v.zero(vb(v), blockOff(1), cbs) }},
		{group: "content", name: "swap blocks 0 and 1 within a file", want: "read: size 12388 [EIO EIO ok ok]; logged", touches: victim, probe: readVictim,
			do: func(v *vol) {
				b := v.read(vb(v))
				b0 := append([]byte(nil), b[blockOff(0):blockOff(1)]...)
				copy(b[blockOff(0):], b[blockOff(1):blockOff(2)])
				copy(b[blockOff(1):], b0)
				v.write(vb(v), b)
			}},
		{group: "content", name: "copy block 1 of another file over block 1", want: "read: size 12388 [ok EIO ok ok]; logged", touches: victim, probe: readVictim,
			do: func(v *vol) {
				b, o := v.read(vb(v)), v.read(v.c("other.bin"))
				copy(b[blockOff(1):blockOff(2)], o[blockOff(1):blockOff(2)])
				v.write(vb(v), b)
			}},
		{group: "content", name: "replace the header with another file's header", want: "read: size 12388 [EIO EIO EIO EIO]; logged", touches: victim, probe: readVictim,
			do: func(v *vol) {
				b, o := v.read(vb(v)), v.read(v.c("other.bin"))
				copy(b[:hdr], o[:hdr])
				v.write(vb(v), b)
			}},
		{group: "content", name: "roll block 1 back to an older version of the same file", want: "read: size 12388 [ok old ok ok]; no log", touches: victim, probe: readVictim,
			do: func(v *vol) {
				b := v.read(vb(v))
				copy(b[blockOff(1):blockOff(2)], v.tp.oldVictim[blockOff(1):blockOff(2)])
				v.write(vb(v), b)
			}},
		{group: "content", name: "roll a whole file back to an older version", want: "read: size 12388 [ok old ok ok]; no log", touches: victim, probe: readVictim,
			do: func(v *vol) { v.write(vb(v), v.tp.oldVictim) }},
		{group: "content", name: "swap two whole files (exchange their ciphertext)", want: "read: size 8202 [other.bin other.bin other.bin]; no log", touches: []string{"victim.bin", "other.bin"}, probe: readVictim,
			do: func(v *vol) {
				a, o := v.read(vb(v)), v.read(v.c("other.bin"))
				v.write(vb(v), o)
				v.write(v.c("other.bin"), a)
			}},

		// --- directory IVs (FORMAT §5.1) ---
		{group: "diriv", name: "delete a directory's gocryptfs.diriv", want: "list: hides inner.txt; stat ENOENT; noted as half-synced", touches: dTouch, probe: listD,
			note: "looks exactly like a directory whose IV a sync client has not delivered yet: it lists as empty for a minute after its last change, " +
				"then fails with EIO (`fs/diriv_sync_test.go`); `veilfs fsck` reports it",
			do: func(v *vol) { v.must(os.Remove(filepath.Join(v.c("d"), "gocryptfs.diriv"))) }},
		{group: "diriv", name: "gocryptfs.diriv of 15 bytes", want: "list EIO; stat EIO; logged", touches: dTouch, probe: listD,
			do: func(v *vol) { v.truncate(filepath.Join(v.c("d"), "gocryptfs.diriv"), 15) }},
		{group: "diriv", name: "gocryptfs.diriv of 17 bytes", want: "list EIO; stat EIO; logged", touches: dTouch, probe: listD,
			do: func(v *vol) { v.appendBytes(filepath.Join(v.c("d"), "gocryptfs.diriv"), []byte{1}) }},
		{group: "diriv", name: "all-zero gocryptfs.diriv", want: "list EIO; stat EIO; logged", touches: dTouch, probe: listD,
			do: func(v *vol) { v.zero(filepath.Join(v.c("d"), "gocryptfs.diriv"), 0, 16) }},
		{group: "diriv", name: "gocryptfs.diriv copied from another directory", want: "list: hides inner.txt; stat ENOENT; logged", touches: dTouch, probe: listD,
			alt: "list: hides inner.txt; shows a random name", altWhy: "about 1 in 290 runs the name happens to unpad under the other IV; names carry no MAC (FORMAT §9)",
			do: func(v *vol) {
				v.write(filepath.Join(v.c("d"), "gocryptfs.diriv"), v.read(filepath.Join(v.c("d2"), "gocryptfs.diriv")))
			}},
		{group: "diriv", name: "gocryptfs.diriv is a directory", want: "list EIO; stat EIO; logged", touches: dTouch, probe: listD,
			do: func(v *vol) {
				p := filepath.Join(v.c("d"), "gocryptfs.diriv")
				v.must(os.Remove(p))
				v.must(os.Mkdir(p, 0o755))
			}},
		{group: "diriv", name: "gocryptfs.diriv is a FIFO", want: "list EIO; stat EIO; logged", touches: dTouch, probe: listD,
			do: func(v *vol) {
				p := filepath.Join(v.c("d"), "gocryptfs.diriv")
				v.must(os.Remove(p))
				v.must(unix.Mkfifo(p, 0o644))
			}},
		{group: "diriv", name: "gocryptfs.diriv is a symlink to a 16-byte file outside", want: "list EIO; stat EIO; logged", touches: dTouch, probe: listD,
			do: func(v *vol) {
				p := filepath.Join(v.c("d"), "gocryptfs.diriv")
				v.must(os.Rename(p, filepath.Join(v.outside, "iv16")))
				v.must(os.Symlink(filepath.Join(v.outside, "iv16"), p))
			}},
		{group: "diriv", name: "delete the root gocryptfs.diriv", want: "mount refused, exit 3", mountOnly: true, probe: (*vol).mountProbe,
			do: func(v *vol) { v.must(os.Remove(filepath.Join(v.dir, "gocryptfs.diriv"))) }},

		// --- long-name sidecars (FORMAT §5.4) ---
		{group: "longname", name: "empty sidecar", want: "list: hides LLL…(200 bytes); stat: file; logged", touches: lTouch, probe: listRootL,
			do: func(v *vol) { v.replace(v.side(nameL), nil) }},
		{group: "longname", name: "sidecar of 345 bytes (longer than any valid one)", want: "list: hides LLL…(200 bytes); stat: file; logged", touches: lTouch, probe: listRootL,
			do: func(v *vol) { v.replace(v.side(nameL), bytes.Repeat([]byte("A"), 345)) }},
		{group: "longname", name: "sidecar of 10 MiB", want: "list: hides LLL…(200 bytes); stat: file; logged", touches: lTouch, probe: listRootL,
			do: func(v *vol) { v.replace(v.side(nameL), bytes.Repeat([]byte("A"), 10<<20)) }},
		{group: "longname", name: "sidecar holding another long name's encrypted name", want: "list: hides LLL…(200 bytes); stat: file; logged", touches: lTouch, probe: listRootL,
			do: func(v *vol) { v.replace(v.side(nameL), v.read(v.side(nameM))) }},
		{group: "longname", name: "sidecar content followed by CR LF", want: "list: hides LLL…(200 bytes); stat: file; logged", touches: lTouch, probe: listRootL,
			do: func(v *vol) { v.replace(v.side(nameL), append(v.read(v.side(nameL)), '\r', '\n')) }},
		{group: "longname", name: "sidecar missing", want: `list: hides LLL…(200 bytes); shows "los…(53 bytes)"; stat: file; noted as half-synced`, touches: lTouch, probe: listRootL,
			do: func(v *vol) { v.must(os.Remove(v.side(nameL))) }},
		{group: "longname", name: "sidecar is a FIFO", want: "list: hides LLL…(200 bytes); stat: file; logged", touches: lTouch, probe: listRootL,
			do: func(v *vol) {
				v.must(os.Remove(v.side(nameL)))
				v.must(unix.Mkfifo(v.side(nameL), 0o644))
			}},
		{group: "longname", name: "sidecar is a directory", want: "list: hides LLL…(200 bytes); stat: file; logged", touches: lTouch, probe: listRootL,
			do: func(v *vol) {
				v.must(os.Remove(v.side(nameL)))
				v.must(os.Mkdir(v.side(nameL), 0o755))
			}},
		{group: "longname", name: "sidecar is a symlink to a correct copy outside", want: "list: hides LLL…(200 bytes); stat: file; logged", touches: lTouch, probe: listRootL,
			do: func(v *vol) {
				v.must(os.Rename(v.side(nameL), filepath.Join(v.outside, "sidecar")))
				v.must(os.Symlink(filepath.Join(v.outside, "sidecar"), v.side(nameL)))
			}},
		{group: "longname", name: "a gocryptfs.longname.* object without any sidecar", want: `list: shows "los…(53 bytes)"; noted as half-synced`, probe: listRoot,
			do: func(v *vol) {
				v.write(filepath.Join(v.dir, "gocryptfs.longname."+strings.Repeat("A", 43)), []byte("x"))
			}},

		// --- names (FORMAT §5.3) ---
		{group: "names", name: "copy of a file under its encrypted name + LF", want: "list: as before; logged", probe: listRoot,
			do: func(v *vol) { v.write(v.c("small.txt")+"\n", v.read(v.c("small.txt"))) }},
		{group: "names", name: "copy of a file under its encrypted name + CR", want: "list: as before; logged", probe: listRoot,
			do: func(v *vol) { v.write(v.c("small.txt")+"\r", v.read(v.c("small.txt"))) }},
		{group: "names", name: "copy of a file under a non-canonical base64 spelling of its name", want: "list: as before; logged", probe: listRoot,
			do: func(v *vol) {
				v.write(filepath.Join(v.dir, nonCanonical(v.tp.cipher["small.txt"])), v.read(v.c("small.txt")))
			}},
		{group: "names", name: "names with dots: `..x`, `a..b`, `...`", want: "list: as before; logged", probe: listRoot,
			do: func(v *vol) {
				for _, n := range []string{"..x", "a..b", "..."} {
					v.write(filepath.Join(v.dir, n), v.read(v.c("small.txt")))
				}
			}},
		{group: "names", name: "files named like a sync client's own: `.stfolder/`, `.syncthing.NAME.tmp` holding a copy of a file, `desktop.ini`", want: "list: as before; no log", probe: listRoot,
			do: func(v *vol) {
				v.must(os.Mkdir(filepath.Join(v.dir, ".stfolder"), 0o755))
				v.write(filepath.Join(v.dir, ".syncthing."+filepath.Base(v.c("small.txt"))+".tmp"), v.read(v.c("small.txt")))
				v.write(filepath.Join(v.dir, "desktop.ini"), []byte("[.ShellClassInfo]"))
			}},
		{group: "names", name: "valid base64 that is not a multiple of 16 bytes", want: "list: as before; logged", probe: listRoot,
			do: func(v *vol) { v.write(filepath.Join(v.dir, "QUJDRA"), []byte("x")) }},
		{group: "names", name: "move a file into another directory (name encrypted under the other IV)", want: "list: as before; logged", touches: []string{"d2/inner2.txt"},
			probe: func(v *vol) string { return v.listProbe("d", "inner.txt") },
			alt:   "list: shows a random name", altWhy: "about 1 in 290 runs the wrong-IV name happens to unpad; names carry no MAC (FORMAT §9)",
			do: func(v *vol) {
				v.must(os.Rename(v.c("d2/inner2.txt"), filepath.Join(v.c("d"), filepath.Base(v.c("d2/inner2.txt")))))
			}},

		// --- other object types, escapes (FORMAT §1, §6) ---
		{group: "objects", name: "symlink to a file outside in place of a file", want: "stat: symlink, open EIO; logged", touches: victim, probe: readVictim,
			note: symlinkStatNote,
			do: func(v *vol) {
				v.must(os.Remove(vb(v)))
				v.must(os.Symlink(filepath.Join(v.outside, "secret"), vb(v)))
			}},
		{group: "objects", name: "symlink to the (moved) directory outside in place of a directory", want: "stat: symlink; stat EIO; create EIO; logged", touches: dTouch,
			note: symlinkStatNote,
			probe: func(v *vol) string {
				return v.statProbe("d") + "; " + v.readProbe("d/inner.txt") + "; " + v.createProbe("d")
			},
			do: func(v *vol) {
				v.must(os.Rename(v.c("d"), filepath.Join(v.outside, "d")))
				v.must(os.Symlink(filepath.Join(v.outside, "d"), v.c("d")))
			}},
		{group: "objects", name: "FIFO in place of a file", want: "stat: fifo, open ok, read EOF; no log", touches: victim, probe: readVictim,
			do: func(v *vol) {
				v.must(os.Remove(vb(v)))
				v.must(unix.Mkfifo(vb(v), 0o644))
			}},
		{group: "objects", name: "device node (/dev/zero's numbers) in place of a file", want: "stat: char device, open EACCES; no log", touches: victim, probe: readVictim,
			do: func(v *vol) {
				v.must(os.Remove(vb(v)))
				v.must(unix.Mknod(vb(v), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 5))))
			}},
		{group: "objects", name: "directory in place of a file", want: "stat: directory, open ok, read EISDIR; no log", touches: victim, probe: readVictim,
			do: func(v *vol) {
				v.must(os.Remove(vb(v)))
				v.must(os.Mkdir(vb(v), 0o755))
			}},
		{group: "objects", name: "file in place of a directory", want: "read: size 13 [small.txt]; no log", touches: dTouch,
			probe: func(v *vol) string { return v.readProbe("d") },
			do: func(v *vol) {
				v.must(os.RemoveAll(v.c("d")))
				v.write(v.c("d"), v.read(v.c("small.txt")))
			}},
		{group: "objects", name: "symlink with a plaintext target `/etc/passwd` in place of a symlink", want: "readlink EIO; logged", touches: []string{"link"},
			probe: func(v *vol) string {
				var target string
				err := timed(v.mnt, func() (err error) { target, err = os.Readlink(filepath.Join(v.mnt, "link")); return })
				if err != nil {
					return "readlink " + errName(err)
				}
				return "readlink: " + target
			},
			do: func(v *vol) {
				v.must(os.Remove(v.c("link")))
				v.must(os.Symlink("/etc/passwd", v.c("link")))
			}},

		// --- the config (FORMAT §2) ---
		{group: "config", name: "gocryptfs.conf truncated to 100 bytes", want: "mount refused, exit 23", mountOnly: true, probe: (*vol).mountProbe,
			do: func(v *vol) { v.truncate(filepath.Join(v.dir, "gocryptfs.conf"), 100) }},
		{group: "config", name: "gocryptfs.conf is a FIFO", want: "mount refused, exit 23", mountOnly: true, probe: (*vol).mountProbe,
			do: func(v *vol) {
				p := filepath.Join(v.dir, "gocryptfs.conf")
				v.must(os.Remove(p))
				v.must(unix.Mkfifo(p, 0o644))
			}},
		{group: "config", name: "set PlaintextNames in gocryptfs.conf (same password)", want: "mount refused, exit 23", mountOnly: true, probe: (*vol).mountProbe,
			note: "gocryptfs would mount it and write new names and symlink targets in the clear; veilfs's format record (a MAC under the master key) names the change",
			do:   func(v *vol) { editConfig(v.t, v.dir, plaintextNamesFlags, false) }},
		{group: "config", name: "set PlaintextNames and delete veilfs's format record", want: "mount refused, exit 23", mountOnly: true, probe: (*vol).mountProbe,
			note: "without the record (as after gocryptfs -passwd) the root's gocryptfs.diriv or encrypted names give it away, before the password is asked for",
			do:   func(v *vol) { editConfig(v.t, v.dir, plaintextNamesFlags, true) }},
		{group: "config", name: "remove DirIV from gocryptfs.conf (deterministic names)", want: "mount refused, exit 23", mountOnly: true, probe: (*vol).mountProbe,
			note: "the format record names the missing flag",
			do: func(v *vol) {
				editConfig(v.t, v.dir, []string{"HKDF", "GCMIV128", "EMENames", "LongNames", "Raw64"}, false)
			}},
	}
}

// TestHostileCiphertext runs every attack on a fresh copy of one volume.
func TestHostileCiphertext(t *testing.T) {
	tp := buildTemplate(t)
	var rows []string
	for _, a := range attacks() {
		t.Run(a.group+"/"+a.name, func(t *testing.T) {
			got := runAttack(t, tp, a)
			ok := got == a.want || (a.alt != "" && strings.HasPrefix(got, a.alt))
			rows = append(rows, fmt.Sprintf("%-40s %s", a.name, got))
			switch {
			case ok:
			case a.bug != "":
				t.Errorf("open bug (%s):\n got: %s\nwant: %s", a.bug, got, a.want)
			default:
				t.Errorf("\n got: %s\nwant: %s", got, a.want)
			}
		})
	}
	if testing.Verbose() {
		t.Logf("observed:\n%s", strings.Join(rows, "\n"))
	}
}

// runAttack prepares a copy, attacks it, mounts it in the foreground,
// probes, and checks the daemon, its log, the other files and the outside
// directory. It returns the observed outcome.
func runAttack(t *testing.T, tp *template, a attack) string {
	v := &vol{t: t, tp: tp, dir: tp.copyVolume(t), outside: t.TempDir(), mnt: t.TempDir()}
	v.write(filepath.Join(v.outside, "secret"), []byte(secret+"\n"))
	v.write(filepath.Join(v.outside, "iv16"), []byte("0123456789abcdef"))
	a.do(v)
	before := treeDigest(v.outside)
	if a.mountOnly {
		got := a.probe(v)
		if after := treeDigest(v.outside); after != before {
			t.Errorf("the directory outside CIPHERDIR changed")
		}
		return got
	}
	m, err := harness.StartForeground(t, v.dir, v.mnt, "", "--passfile", harness.Passfile(t, harness.DefaultPassword))
	if err != nil {
		return "mount failed: " + strings.SplitN(err.Error(), "\n", 2)[0]
	}
	got := a.probe(v)
	hung := harness.WasAborted(v.mnt)
	if !hung {
		checkOthers(t, v, a.touches)
	}
	log := m.Log()
	logged := strings.Contains(log, "corrupt ciphertext") || strings.Contains(log, "skipping undecryptable")
	switch {
	case logged:
		got += "; logged"
	case strings.Contains(log, "notice: "):
		// What a sync client leaves half delivered looks the same as a
		// deletion: logged once as waiting, not as damage.
		got += "; noted as half-synced"
	default:
		got += "; no log"
	}
	if !m.Alive() || strings.Contains(log, "panic") {
		got += "; DAEMON DIED"
		t.Logf("daemon log:\n%s", log)
	}
	m.Stop()
	if after := treeDigest(v.outside); after != before {
		t.Errorf("the directory outside CIPHERDIR changed")
	}
	if testing.Verbose() && log != "" {
		t.Logf("daemon log:\n%s", log)
	}
	return got
}

// checkOthers reads every file the attack did not touch.
func checkOthers(t *testing.T, v *vol, touches []string) {
	t.Helper()
	for path, want := range v.tp.want {
		if contains(touches, path) {
			continue
		}
		var got []byte
		err := timed(v.mnt, func() (err error) {
			p := filepath.Join(v.mnt, path)
			if path == "link" {
				var s string
				s, err = os.Readlink(p)
				got = []byte(s)
				return err
			}
			got, err = os.ReadFile(p)
			return err
		})
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("untouched %s no longer reads back: %v", short(path), err)
		}
	}
}

// treeDigest summarises names, types and contents below dir.
func treeDigest(dir string) string {
	h := sha256.New()
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return nil
		}
		fmt.Fprintf(h, "%s %v %d\n", p, fi.Mode(), fi.Size())
		if fi.Mode().IsRegular() {
			b, _ := os.ReadFile(p)
			h.Write(b)
		}
		return nil
	})
	return fmt.Sprintf("%x", h.Sum(nil))
}

var _ = syscall.EIO

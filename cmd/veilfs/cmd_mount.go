package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/spf13/pflag"

	"github.com/veilfs/veilfs/cipher"
	veilfs "github.com/veilfs/veilfs/fs"
	"github.com/veilfs/veilfs/fs/cipherdir"
	"github.com/veilfs/veilfs/internal/mounttable"
)

var mountCommand = command{
	name:    "mount",
	summary: "mount a volume",
	usage:   mountUsage,
	args:    []string{"CIPHERDIR", "MOUNTPOINT"},
	flags:   declare(defineMountFlags),
	run:     runMount,
}

var mountUsage = `Usage: veilfs mount [options] CIPHERDIR MOUNTPOINT
       veilfs mount --reverse [options] PLAINDIR MOUNTPOINT

Mount the encrypted volume in CIPHERDIR on MOUNTPOINT, an existing empty
directory. The format options (name and content encryption) come from
CIPHERDIR/gocryptfs.conf. Volumes made by gocryptfs 2.x can be mounted.

By default veilfs returns once the filesystem is mounted and serving, with
exit code 0, and keeps serving in the background, logging to syslog. If the
mount fails it exits non-zero with the reason and leaves nothing mounted.
With --foreground it stays attached and logs to stderr. SIGINT or SIGTERM
unmounts cleanly. Unmount with 'veilfs unmount MOUNTPOINT'.

The password comes from --passfile or --extpass, else it is asked on the
terminal, else it is the first line of standard input. It may be the primary
password or the password of any extra password unlocker (veilfs keys). A
keyfile unlocker is used with --keyfile. If every password is lost, the
master key printed by init unlocks the volume instead; it is checked against
the volume's files first, and a wrong one is refused (exit 12).

A CIPHERDIR has one writable mount at a time on this machine. While it is
mounted read-write (by veilfs or gocryptfs), another read-write mount of it
is refused with exit code 3, naming the mountpoint that has it: each mount
trusts caches and an undo journal of its own, which the other's writes
would make wrong. A read-only second mount (--ro) is allowed, and so is
one beside a dead mount (its daemon killed), which writes nothing; --force
mounts read-write anyway.

With --reverse, PLAINDIR is a plaintext directory prepared with 'veilfs
init --reverse', and MOUNTPOINT shows it encrypted, read-only: a volume
that a backup tool or sync client can copy as is, and that mounts normally
(with veilfs or gocryptfs) wherever the copy goes. The same plaintext
always gives the same ciphertext, so incremental backups only copy what
changed. A file that changes while it is being read fails that read with
EIO rather than give a mix of two versions; read it again.

Options:
      --reverse              mount the encrypted view of PLAINDIR (see above)
      --exclude PATTERN      with --reverse: leave out paths matching PATTERN, a
                             gitignore rule (*.tmp, cache/, /top-level-only,
                             !keep.tmp); repeatable
      --exclude-from FILE    with --reverse: read such rules from FILE, one per
                             line (blank lines and # comments ignored); repeatable
` + unlockUsage{keyfile: "unlock with a keyfile (see veilfs keys add --new-keyfile)", formatFlags: true}.String() + `  -f, --foreground           stay in the foreground and log to stderr
      --idle DURATION        unmount after DURATION (e.g. 30m, 2h) with no file
                             open and no access; a busy mount is retried
      --ro                   mount read-only
      --force                mount read-write even though CIPHERDIR is mounted
                             read-write already (see above): at your own risk
      --allow-other          let other users access the mount (for non-root
                             users this needs user_allow_other in /etc/fuse.conf)
      --suid                 let setuid and setgid bits of files in the volume
                             take effect (root only). Without it the mount is
                             always nosuid: whoever can write CIPHERDIR could
                             plant a setuid-root program
      --dev                  let device nodes in the volume work (root only);
                             without it the mount is always nodev
      --acl                  POSIX ACLs (setfacl, getfacl), enforced by the kernel
                             (default_permissions); stored as gocryptfs -acl
                             stores them. Without it setfacl fails (EOPNOTSUPP)
  -o, --options OPTS         comma-separated mount options: see Mount options below
      --debug                log every FUSE request (with --foreground; very verbose;
                             names appear in the log in the clear)
  -h, --help                 show this help

The master key is 64 hex digits; dashes and white space are ignored, so the
form init prints can be pasted as is.

` + mountOptionsHelp + `
Mounting from fstab:
mount(8) and /etc/fstab mount volumes of type fuse.veilfs: mount.fuse3
(package fuse3) runs "veilfs CIPHERDIR MOUNTPOINT -o OPTIONS", with veilfs
found in /usr/local/bin, /usr/bin or another directory of /bin/sh's default
PATH (mount clears PATH). Type veilfs works through /sbin/mount.veilfs, a
link to veilfs, run as "mount.veilfs CIPHERDIR MOUNTPOINT [-o OPTIONS]".
Either way veilfs mounts as "veilfs mount -o OPTIONS -- CIPHERDIR
MOUNTPOINT" would: it returns once the volume serves, or fails non-zero with
nothing mounted. The password must come from passfile= (or keyfile=) when
there is no terminal, as at boot.

  # mount -t fuse.veilfs /srv/vault.enc /srv/vault -o passfile=/root/vault.pw,ro
  # umount /srv/vault
  /etc/fstab: /srv/vault.enc /srv/vault fuse.veilfs passfile=/root/vault.pw,nofail 0 0

The mount is nosuid,nodev whatever the options say; the suid and dev that
mount.fuse3 adds to every mount are ignored. Only --suid and --dev, or
veilfs_suid and veilfs_dev in the options, lift that.

Examples:
  $ veilfs mount ~/vault.enc ~/vault
  $ veilfs mount --passfile ~/.vault-password --ro ~/vault.enc ~/vault
  $ veilfs mount -f -o allow_other,noatime ~/vault.enc ~/vault
  $ veilfs mount -o passfile=/root/vault.pw,ro /srv/vault.enc /srv/vault
  $ veilfs mount --keyfile /media/usb/vault.keyfile ~/vault.enc ~/vault
  $ veilfs mount --masterkey-file /media/usb/vault.key ~/vault.enc ~/vault
  $ veilfs mount --reverse --exclude '*.tmp' --exclude .cache/ ~/Documents /mnt/docs.enc
`

type mountFlags struct {
	unlock     *unlockFlags
	foreground bool
	readOnly   bool
	// force lifts the one-writer rule (checkSingleWriter).
	force      bool
	allowOther bool
	// suid and dev are the explicit opt-ins (--suid, --dev, -o veilfs_suid,
	// -o veilfs_dev); see mountoptions.go for why -o suid is not one.
	suid    bool
	dev     bool
	acl     bool // --acl, -o acl: POSIX ACLs (fs.Options.ACL)
	debug   bool
	options []string
	idle    time.Duration
	// reverse mounts the encrypted view of a plaintext directory
	// (cmd_mount_reverse.go), leaving out exclude and the rules in the
	// excludeFrom files.
	reverse     bool
	exclude     []string
	excludeFrom []string
	// daemon is set only on the re-executed child (daemon.go): "masterkey",
	// saying what arrives on the secret pipe.
	daemon string
	// format holds the format options, and assumed says that the volume
	// is opened with them because its gocryptfs.conf cannot be used
	// (recover.go); the daemon is told so by its daemon value.
	format  *formatFlags
	assumed bool
}

func defineMountFlags(fs *pflag.FlagSet) *mountFlags {
	o := &mountFlags{}
	o.unlock = addUnlockFlags(fs)
	o.format = addFormatFlags(fs)
	fs.BoolVarP(&o.foreground, "foreground", "f", false, "stay in the foreground")
	fs.BoolVar(&o.readOnly, "ro", false, "mount read-only")
	fs.BoolVar(&o.force, "force", false, "mount read-write beside another read-write mount of CIPHERDIR")
	fs.BoolVar(&o.allowOther, "allow-other", false, "allow access by other users")
	fs.BoolVar(&o.suid, "suid", false, "let setuid and setgid bits take effect")
	fs.BoolVar(&o.dev, "dev", false, "let device nodes work")
	fs.BoolVar(&o.acl, "acl", false, "POSIX ACLs, enforced by the kernel")
	fs.StringArrayVarP(&o.options, "options", "o", nil, "comma-separated mount options")
	fs.BoolVar(&o.debug, "debug", false, "log every FUSE request")
	fs.DurationVar(&o.idle, "idle", 0, "unmount after `DURATION` without use")
	fs.BoolVar(&o.reverse, "reverse", false, "mount the encrypted view of PLAINDIR")
	fs.StringArrayVar(&o.exclude, "exclude", nil, "with --reverse: leave out paths matching `PATTERN`")
	fs.StringArrayVar(&o.excludeFrom, "exclude-from", nil, "with --reverse: read exclusion rules from `FILE`")
	fs.StringVar(&o.daemon, daemonFlag, "", "")
	_ = fs.MarkHidden(daemonFlag)
	return o
}

func runMount(c *cli, cmd *command, args []string) error {
	fs, o := newFlags(cmd, defineMountFlags)
	if err := c.parseFlags(cmd, fs, args); err != nil {
		return err
	}
	o.format.parsed(fs)
	// Before validating the unlock options: -o may hold passfile= and the like.
	opts, warnings, err := mountOptions(o)
	if err != nil {
		return err
	}
	if err := o.unlock.validate(); err != nil {
		return err
	}
	for _, w := range warnings {
		warningf(c.stderr, "%s", w)
	}
	dir, err := absPath(fs.Arg(0))
	if err != nil {
		return err
	}
	mnt, err := absPath(fs.Arg(1))
	if err != nil {
		return err
	}
	opts.FsName = dir
	if err := o.checkReverse(); err != nil {
		return err
	}
	if !o.reverse {
		opts.IVMemory = ivMemoryFile(dir)
		opts.LongNameMemory = longNameMemoryFile(dir)
	}

	if o.daemon != "" {
		return runDaemonChild(o, dir, mnt, opts)
	}

	if o.debug && !o.foreground {
		return failf(errUsage, []string{"add --foreground: the request log goes to stderr"}, "--debug needs --foreground")
	}
	// Here, where stderr is the user's: the daemon only has syslog.
	if _, err := runtimeDir(true); err != nil {
		what := "without it a daemon killed during a write may leave one unreadable block per file being written, and "
		if o.reverse {
			what = ""
		}
		warningf(c.stderr, "%v; %sveilfs status will show this mount without its figures", err, what)
		hintf(c.stderr, "%s", runtimeDirHint)
	}
	f, err := loadMountConfig(dir, o, c.stderr)
	var unusable error // gocryptfs.conf's error, when the master key stands in for it
	switch {
	case err == nil && o.format.given():
		return refuseFormatFlags(dir)
	case !o.reverse && configUnusable(err) && o.unlock.usesMasterKey():
		if verr := o.format.validate(); verr != nil {
			return verr
		}
		unusable, err = err, nil
	}
	if err != nil {
		return err
	}
	if err := checkMountpoint(mnt, dir, o.dirLabel()); err != nil {
		return err
	}
	if !o.readOnly && !o.reverse && cipherDirReadOnly(dir) {
		o.readOnly, opts.ReadOnly = true, true
		warningf(c.stderr, "%s is read-only (its filesystem, or its permissions): mounting it read-only", dir)
		hintf(c.stderr, "to write to the volume, make CIPHERDIR writable, then unmount and mount it again")
	}
	if err := checkSingleWriter(dir, o); err != nil {
		return err
	}
	if err := checkFuseDevice(); err != nil {
		return err
	}
	// Unlocked here, not in the daemon: every kind of unlocker then works the
	// same in both modes, and the daemon only ever receives the master key.
	var k *unlocked
	if unusable != nil {
		_, k, err = c.unlockAssumed(o.unlock, o.format, dir, unusable)
		o.assumed = true
	} else {
		k, err = c.unlock(o.unlock, dir, f, o.reverse, "Password: ")
	}
	if err != nil {
		return err
	}
	sec := &secret{bytes: k.master}
	cipher.Wipe(k.password)
	if o.foreground {
		opts.Logger = log.New(c.stderr, "veilfs: ", log.LstdFlags)
		opts.Debug = o.debug
		return serve(sec, dir, mnt, opts, o, func() {})
	}
	return spawnDaemon(c, sec, o, dir, mnt)
}

// secret is the master key of the volume being mounted, on its way to
// serve (and, for a background mount, through the daemon's secret pipe).
type secret struct {
	bytes []byte
}

func (s *secret) wipe() { cipher.Wipe(s.bytes) }

// stateBase is where veilfs keeps what must outlive a reboot on this
// machine: /var/lib/veilfs for root, $XDG_STATE_HOME/veilfs (default
// ~/.local/state/veilfs) for others. VEILFS_STATE_DIR overrides it (tests).
func stateBase() string {
	if d := os.Getenv("VEILFS_STATE_DIR"); d != "" {
		return d
	}
	if os.Geteuid() == 0 {
		return "/var/lib/veilfs"
	}
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "veilfs")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "state", "veilfs")
	}
	return ""
}

// ivMemoryFile is where the mount of dir remembers the IVs of the
// directories it creates and reads (fs/syncmem.IVs), for fsck to use too:
// one file per CIPHERDIR.
func ivMemoryFile(dir string) string {
	base := stateBase()
	if base == "" {
		return ""
	}
	return stateFile(base, "diriv-memory", dir)
}

// longNameMemoryFile is where the mount of dir remembers the long names it
// reads and writes (fs/syncmem.LongNames), for fsck, ls and path to use too:
// one file per CIPHERDIR, beside the IV memory.
func longNameMemoryFile(dir string) string {
	base := stateBase()
	if base == "" {
		return ""
	}
	return stateFile(base, "longname-memory", dir)
}

// stateFile is the file of CIPHERDIR dir in the state directory kind:
// named by a hash of the path, which keeps it short and fixed.
func stateFile(base, kind, dir string) string {
	h := sha256.Sum256([]byte(dir))
	return filepath.Join(base, kind, hex.EncodeToString(h[:8]))
}

// mountOptions applies the -o lists to o (mountoptions.go) and returns the
// options of the mount, with warnings about -o options it dropped. It
// leaves o.options holding only what goes to the kernel: o is what the
// background daemon's command line is built from, and the daemon needs
// neither the bookkeeping of mount(8) nor the path of a passfile.
func mountOptions(o *mountFlags) (veilfs.Options, []string, error) {
	kernel, warnings, err := applyMountOptions(o)
	if err != nil {
		return veilfs.Options{}, nil, err
	}
	o.options = nil
	if len(kernel) > 0 {
		o.options = []string{strings.Join(kernel, ",")}
	}
	if (o.suid || o.dev) && o.reverse {
		return veilfs.Options{}, nil, failf(errUsage, []string{"remove --suid, --dev, veilfs_suid and veilfs_dev: a reverse view's files are ciphertext, nothing in it runs or is a device"},
			"--suid and --dev have no meaning with --reverse")
	}
	if o.acl && o.reverse {
		return veilfs.Options{}, nil, failf(errUsage, []string{"remove --acl (or -o acl)"},
			"--acl has no meaning with --reverse: the view is read-only ciphertext")
	}
	if (o.suid || o.dev) && os.Geteuid() != 0 {
		// fusermount3 would ignore them with a warning and mount nosuid,nodev.
		return veilfs.Options{}, nil, failf(errUsage, []string{"mount as root, or remove --suid and --dev (veilfs_suid, veilfs_dev)"},
			"--suid and --dev need root: FUSE mounts of other users are always nosuid,nodev")
	}
	opts := veilfs.Options{
		ReadOnly:          o.readOnly,
		AllowOther:        o.allowOther,
		Suid:              o.suid,
		Dev:               o.dev,
		ACL:               o.acl,
		JournalDir:        journalBase(),
		ExtraMountOptions: kernel,
	}
	return opts, warnings, nil
}

// checkMountpoint checks that mnt is an existing, empty directory that is not
// a mount point already and is not inside CIPHERDIR.
func checkMountpoint(mnt, cipherDir, label string) error {
	// Before the existence checks: a missing mountpoint inside CIPHERDIR
	// would otherwise get the hint to create it, planting a stray directory
	// in the volume (which fsck then reports) only to be refused next time.
	if insideDir(cipherDir, mnt) {
		return failf(errMountPoint, []string{"choose a mountpoint outside of " + label},
			"mountpoint %s is inside %s %s", mnt, label, cipherDir)
	}
	fi, err := os.Stat(mnt)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return failf(errMountPoint, []string{"create it first: mkdir -p " + mnt}, "mountpoint %s does not exist", mnt)
	case errors.Is(err, syscall.ENOTCONN):
		return failf(errMountPoint, []string{"clean it up with: veilfs unmount " + mnt},
			"mountpoint %s is a dead FUSE mount (its filesystem process is gone)", mnt)
	case err != nil:
		return fail(errMountPoint, fmt.Errorf("mountpoint %w", err))
	case !fi.IsDir():
		return failf(errMountPoint, nil, "mountpoint %s is not a directory", mnt)
	}
	if e, err := findMount(mnt); err == nil && e != nil {
		if e.FSType == "autofs" {
			// A systemd automount point (fstab x-systemd.automount) that
			// systemd is mounting us on, as mount(8) would. It is empty, and
			// opening it to check would only trigger another mount request
			// and wait for it: for ever, as that mount is this one.
			return nil
		}
		return failf(errMountPoint, []string{"unmount it first: veilfs unmount " + mnt},
			"mountpoint %s is already a mount point", mnt)
	}
	d, err := os.Open(mnt)
	if err != nil {
		return fail(errMountPoint, fmt.Errorf("mountpoint %w", err))
	}
	defer d.Close()
	if _, err := d.Readdirnames(1); err == nil {
		return failf(errMountPoint, []string{"mount on an empty directory; veilfs does not hide existing files"},
			"mountpoint %s is not empty", mnt)
	} else if err != io.EOF {
		return fail(errMountPoint, fmt.Errorf("mountpoint %w", err))
	}
	return nil
}

// checkSingleWriter refuses a read-write mount of a CIPHERDIR that is
// mounted read-write already, by veilfs or gocryptfs, as the mount table
// shows (this mount namespace; what it cannot read is not refused). Two
// writers would each trust their own caches of directory IVs, long names
// and attributes, which the other's changes make stale, and each keeps an
// undo journal that knows nothing of the other's writes. A read-only mount
// beside the writer only sees its changes late, so it is allowed.
func checkSingleWriter(dir string, o *mountFlags) error {
	if o.readOnly || o.reverse || o.force {
		return nil
	}
	table, err := mounttable.Read()
	if err != nil {
		return nil
	}
	e := writableMountOf(table, dir, mountServes)
	if e == nil {
		return nil
	}
	return failf(errMountFailed, []string{
		"unmount it first: veilfs unmount " + e.Mountpoint,
		"or mount this one read-only: add --ro",
	}, "CIPHERDIR %s is mounted read-write already, on %s (%s): a second writable mount would corrupt what the first one caches", dir, e.Mountpoint, e.FSType)
}

// writableMountOf returns the entry of a mount table that mounts CIPHERDIR
// dir read-write with veilfs or gocryptfs (both name the mount after
// CIPHERDIR) and that alive says still serves, or nil. A mount made
// through another path to the same directory (a symlink) is found by
// comparing the directories themselves.
func writableMountOf(table []mounttable.Entry, dir string, alive func(target string) bool) *mounttable.Entry {
	want, wantErr := os.Stat(dir)
	for i, e := range table {
		if (e.FSType != mounttable.VeilfsType && e.FSType != "fuse.gocryptfs") || e.ReadOnly {
			continue
		}
		src := e.Source
		if src != dir {
			if wantErr != nil {
				continue
			}
			if fi, err := os.Stat(src); err != nil || !os.SameFile(fi, want) {
				continue
			}
		}
		if alive(e.Mountpoint) {
			return &table[i]
		}
	}
	return nil
}

// mountServes reports whether the FUSE mount at target still has its
// daemon: a stat of a dead one fails with ENOTCONN at once. One that does
// not answer within a second is taken to be alive (busy).
func mountServes(target string) bool {
	done := make(chan error, 1)
	go func() {
		_, err := os.Stat(target)
		done <- err
	}()
	select {
	case err := <-done:
		return !errors.Is(err, syscall.ENOTCONN)
	case <-time.After(time.Second):
		return true
	}
}

// insideDir reports whether p is dir or lies under it: on the paths as
// given (absolute, lexically clean), which works for a p that does not exist
// yet, and on the paths with symlinks resolved, where both exist.
func insideDir(dir, p string) bool {
	under := func(dir, p string) bool {
		rel, err := filepath.Rel(dir, p)
		return err == nil && rel != ".." && !strings.HasPrefix(rel, "../")
	}
	if under(dir, p) {
		return true
	}
	rdir, err1 := filepath.EvalSymlinks(dir)
	rp, err2 := filepath.EvalSymlinks(p)
	return err1 == nil && err2 == nil && under(rdir, rp)
}

// openVolume opens dir with the master key s and wipes s: the volume
// derives its subkeys and keeps no copy of the master key.
func openVolume(dir string, s *secret) (*cipherdir.Volume, error) {
	defer s.wipe()
	vol, err := cipherdir.OpenWithMasterKey(dir, s.bytes)
	if err != nil {
		return nil, fail(errMountFailed, fmt.Errorf("open volume %s: %w", dir, err))
	}
	// The daemon reads gocryptfs.conf again: check what it read, not only
	// what the parent unlocked with.
	if err := checkVolumeFormat(dir, vol.Config, false, s.bytes); err != nil {
		vol.Wipe()
		return nil, err
	}
	return vol, nil
}

// serve unlocks the volume, mounts it, calls ready once it is serving, and
// returns when it has been unmounted, by 'veilfs unmount' or by SIGINT or
// SIGTERM. It is the common tail of --foreground and of the daemon child.
func serve(s *secret, dir, mnt string, opts veilfs.Options, o *mountFlags, ready func()) error {
	logger := opts.Logger
	if logger == nil {
		logger = log.New(io.Discard, "", 0)
	}
	// A core dump of this process would contain the keys.
	if err := unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{Cur: 0, Max: 0}); err != nil {
		logger.Printf("warning: cannot disable core dumps: %v", err)
	}
	// Nor may other processes of the same user read them: not dumpable,
	// the daemon cannot be ptraced and its /proc/PID/mem, environ and fd
	// belong to root. The volume's keys live in this process for as long as
	// it serves; any program the user runs could otherwise copy them.
	if err := protectFromDebuggers(); err != nil {
		logger.Printf("warning: cannot protect the keys from debuggers (PR_SET_DUMPABLE): %v", err)
	}
	// runMount told the user why on stderr; a daemon says it in syslog too.
	if opts.JournalDir == "" && !o.reverse && o.daemon != "" {
		logger.Printf("warning: no runtime directory for the undo journal (veilfs mount said why): " +
			"if this daemon is killed during a write, that write may leave one unreadable block per file")
	}
	vol, err := openMountVolume(dir, s, o)
	if err != nil {
		return err
	}
	defer vol.Wipe()

	// Before mounting: a signal that arrives while the mount comes up must
	// still lead to a clean unmount, not to the default exit.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)

	limitDaemonMemory()
	stopProfile, err := startProfile()
	if err != nil {
		return fail(errMountFailed, err)
	}
	defer stopProfile()

	// The kernel has applied the calling user's umask to every mode a
	// request carries; the daemon's own on top would change the modes users
	// ask for. fs checks that it is clear.
	unix.Umask(0)
	m, err := mountVolume(mnt, vol, opts, o)
	if err != nil {
		return mountError(dir, err, o)
	}
	logger.Printf("serving %s on %s", dir, mnt)
	// The control socket before ready: `veilfs status` run right after
	// `veilfs mount` returns must find it.
	stopSession := startSession(m, dir, mnt, statusOptions(o), o.idle, logger)
	defer stopSession()
	ready()
	defer notifyServing(dir, mnt, logger)()

	done := make(chan struct{})
	go func() {
		m.Wait()
		close(done)
	}()
	for {
		select {
		case <-done:
			logger.Printf("%s unmounted", mnt)
			return nil
		case sig := <-sigs:
			logger.Printf("got %v, unmounting %s", sig, mnt)
			if err := m.Unmount(); err != nil {
				// Typically EBUSY: keep serving rather than leave a dead mount behind.
				logger.Printf("unmount %s failed, still serving: %v", mnt, err)
			}
		}
	}
}

func mountFailedHints(err error) []string {
	switch {
	case errors.Is(err, cipherdir.ErrBadDirIV):
		return []string{"the root gocryptfs.diriv of CIPHERDIR is missing or damaged and cannot be recreated (the names in the root are encrypted with it): restore it from a backup or your sync service's version history"}
	case errors.Is(err, os.ErrPermission):
		return []string{"a normal user needs fusermount3 (package fuse3) and write access to the mountpoint; --allow-other also needs user_allow_other in /etc/fuse.conf"}
	case errors.Is(err, os.ErrNotExist):
		return []string{"is FUSE available? check that /dev/fuse exists and fusermount3 is installed"}
	}
	return nil
}

// statusOptions are the mount options veilfs status shows.
func statusOptions(o *mountFlags) []string {
	opts := []string{"rw"}
	if o.readOnly || o.reverse {
		opts[0] = "ro"
	}
	if o.reverse {
		opts = append(opts, "reverse")
	}
	if o.allowOther {
		opts = append(opts, "allow_other")
	}
	if o.suid {
		opts = append(opts, "suid")
	}
	if o.dev {
		opts = append(opts, "dev")
	}
	if o.acl {
		opts = append(opts, "acl")
	}
	if o.idle > 0 {
		opts = append(opts, "idle="+o.idle.String())
	}
	return append(opts, o.options...)
}

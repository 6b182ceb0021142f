package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/veilfs/veilfs/cipher/config"
	"github.com/veilfs/veilfs/internal/mounttable"
)

func TestMountOptions(t *testing.T) {
	tests := []struct {
		name           string
		flags          mountFlags
		ro, allowOther bool
		suid, dev      bool
		extra          []string
		passfile       string
		keyfile        string
		masterKeyFile  string
		warnings       []string // substrings, one per warning
		errSub         string   // non-empty: a usage error containing this
	}{
		{name: "none"},
		{name: "flags", flags: mountFlags{readOnly: true, allowOther: true}, ro: true, allowOther: true},
		{name: "-o ro", flags: mountFlags{options: []string{"ro"}}, ro: true},
		{name: "-o list", flags: mountFlags{options: []string{"ro,allow_other,noatime"}}, ro: true, allowOther: true, extra: []string{"noatime"}},
		{name: "-o repeated", flags: mountFlags{options: []string{"allow_other", "nodev,,nosuid"}}, allowOther: true, extra: []string{"nodev", "nosuid"}},
		{name: "-o rw undoes ro", flags: mountFlags{options: []string{"ro,rw"}}},
		{name: "-o spaces", flags: mountFlags{options: []string{" ro , noexec "}}, ro: true, extra: []string{"noexec"}},
		{name: "--ro and -o", flags: mountFlags{readOnly: true, options: []string{"noexec"}}, ro: true, extra: []string{"noexec"}},
		{name: "unknown passed on", flags: mountFlags{options: []string{"frobnicate=3,default_permissions"}}, extra: []string{"frobnicate=3", "default_permissions"}},
		// What mount.fuse3 passes for the fstab line of docs/fstab-systemd.md: its
		// dev,suid defaults must not lift nosuid,nodev.
		{name: "mount.fuse3 fstab", flags: mountFlags{options: []string{"rw,passfile=/root/pw,dev,suid"}}, passfile: "/root/pw"},
		{name: "veilfs_suid and veilfs_dev", flags: mountFlags{options: []string{"veilfs_suid,noexec,veilfs_dev"}}, suid: true, dev: true, extra: []string{"noexec"}},
		{name: "--suid and --dev", flags: mountFlags{suid: true, dev: true}, suid: true, dev: true},
		{name: "veilfs_suid with value", flags: mountFlags{options: []string{"veilfs_suid=1"}}, errSub: "takes no value"},
		{name: "--dev with --reverse", flags: mountFlags{reverse: true, options: []string{"veilfs_dev"}}, errSub: "no meaning with --reverse"},
		{
			name:     "mount(8) and systemd bookkeeping dropped",
			flags:    mountFlags{options: []string{"defaults,auto,noauto,user,users,nouser,owner,group,nofail,_netdev,_rnetdev,user=alice,comment=x-y,x-systemd.automount,x-systemd.idle-timeout=60,x-gvfs-show,X-mount.mkdir"}},
			passfile: "",
		},
		{name: "kernel defaults dropped", flags: mountFlags{options: []string{"relatime,diratime,nostrictatime,loud,ro"}}, ro: true},
		{name: "atime options passed on", flags: mountFlags{options: []string{"noatime,nodiratime,strictatime,norelatime"}},
			extra: []string{"noatime", "nodiratime", "strictatime", "norelatime"}},
		{name: "unsupported warned", flags: mountFlags{options: []string{"noatime,iversion,silent"}}, extra: []string{"noatime"},
			warnings: []string{"iversion is ignored", "silent is ignored"}},
		{name: "keyfile", flags: mountFlags{options: []string{"keyfile=/k,ro"}}, keyfile: "/k", ro: true},
		{name: "masterkey-file", flags: mountFlags{options: []string{"masterkey-file=/m"}}, masterKeyFile: "/m"},
		{name: "passfile twice", flags: mountFlags{options: []string{"passfile=/a,passfile=/b"}}, errSub: "passfile is given twice (/a and /b)"},
		{name: "passfile and --passfile", flags: mountFlags{unlock: &unlockFlags{password: &passwordFlags{passfile: "/a"}}, options: []string{"passfile=/b"}},
			errSub: "passfile is given twice"},
		{name: "passfile empty", flags: mountFlags{options: []string{"passfile="}}, errSub: "passfile needs a file name"},
		{name: "passfile no value", flags: mountFlags{options: []string{"passfile"}}, errSub: "passfile needs a file name"},
		{name: "ro with value", flags: mountFlags{options: []string{"ro=1"}}, errSub: "takes no value"},
		{name: "extpass refused", flags: mountFlags{options: []string{"extpass=cat /x"}}, errSub: "extpass= is not accepted"},
		{name: "masterkey refused", flags: mountFlags{options: []string{"masterkey=00"}}, errSub: "masterkey= is not accepted"},
		{name: "nosymfollow refused", flags: mountFlags{options: []string{"nosymfollow"}}, errSub: "nosymfollow is not supported"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.flags.unlock == nil {
				tt.flags.unlock = &unlockFlags{password: &passwordFlags{}}
			}
			opts, warnings, err := mountOptions(&tt.flags)
			if tt.errSub != "" {
				if exitCode(err) != exitUsage || !strings.Contains(err.Error(), tt.errSub) || len(hintsOf(err)) == 0 {
					t.Fatalf("error %v (exit %d, hints %q), want a usage error with a hint containing %q", err, exitCode(err), hintsOf(err), tt.errSub)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if opts.Suid != tt.suid || opts.Dev != tt.dev {
				t.Errorf("got suid=%v dev=%v, want %v %v", opts.Suid, opts.Dev, tt.suid, tt.dev)
			}
			if opts.ReadOnly != tt.ro || opts.AllowOther != tt.allowOther || !reflect.DeepEqual(opts.ExtraMountOptions, tt.extra) {
				t.Errorf("got ro=%v allow_other=%v extra=%q; want %v %v %q",
					opts.ReadOnly, opts.AllowOther, opts.ExtraMountOptions, tt.ro, tt.allowOther, tt.extra)
			}
			u := tt.flags.unlock
			if u.password.passfile != tt.passfile || u.keyfile != tt.keyfile || u.masterKeyFile != tt.masterKeyFile {
				t.Errorf("got passfile=%q keyfile=%q masterkey-file=%q; want %q %q %q",
					u.password.passfile, u.keyfile, u.masterKeyFile, tt.passfile, tt.keyfile, tt.masterKeyFile)
			}
			if len(warnings) != len(tt.warnings) {
				t.Fatalf("warnings %q, want %d containing %q", warnings, len(tt.warnings), tt.warnings)
			}
			for i, w := range tt.warnings {
				if !strings.Contains(warnings[i], w) {
					t.Errorf("warning %q does not contain %q", warnings[i], w)
				}
			}
			// What the daemon child's command line gets: the kernel's options only.
			var want []string
			if len(tt.extra) > 0 {
				want = []string{strings.Join(tt.extra, ",")}
			}
			if !reflect.DeepEqual(tt.flags.options, want) {
				t.Errorf("options left for the daemon %q, want %q", tt.flags.options, want)
			}
		})
	}
}

// The -o list in the help names every option that is not simply passed to
// the kernel, in the class the code gives it.
func TestMountOptionsHelp(t *testing.T) {
	for _, tt := range []struct {
		opts   []string
		action optionAction
		line   string // the help line that lists them
	}{
		{[]string{"ro", "rw"}, optVeilfs, "ro, rw "},
		{[]string{"allow_other"}, optVeilfs, "allow_other "},
		{[]string{"passfile=F"}, optVeilfs, "passfile=FILE "},
		{[]string{"keyfile=F"}, optVeilfs, "keyfile=FILE "},
		{[]string{"masterkey-file=F"}, optVeilfs, "masterkey-file=FILE "},
		{[]string{"defaults", "auto", "noauto", "user", "users", "nouser", "owner", "group", "nofail", "_netdev", "comment=x",
			"x-systemd.automount", "x-gvfs-show", "X-mount.mkdir"}, optIgnored, "for mount(8), fstab and systemd: ignored"},
		{[]string{"relatime", "diratime"}, optDefault, "ignored: a new mount has them anyway"},
		{[]string{"strictatime", "nodiratime", "norelatime"}, optKernel, "mount flags, as noatime"},
		{[]string{"iversion", "silent"}, optUnsupported, "ignored, and veilfs says so"},
		{[]string{"extpass=x", "masterkey=x", "nosymfollow", "mand"}, optRefused, "refused"},
		{[]string{"default_permissions", "noatime", "nodev", "nosuid", "noexec", "sync", "dirsync"}, optKernel, "passed on to the kernel"},
		{[]string{"suid", "dev"}, optIgnored, "ignored: mount.fuse3 adds them to every mount"},
		{[]string{"veilfs_suid", "veilfs_dev"}, optVeilfs, "as --suid, --dev"},
		{[]string{"acl"}, optVeilfs, "as --acl"},
	} {
		if !strings.Contains(mountOptionsHelp, tt.line) {
			t.Errorf("mount options help lacks %q", tt.line)
		}
		for _, o := range tt.opts {
			if got := classifyMountOption(o); got != tt.action {
				t.Errorf("classifyMountOption(%q) = %d, want %d", o, got, tt.action)
			}
			name, _, _ := strings.Cut(o, "=")
			if strings.HasPrefix(name, "x-") || strings.HasPrefix(name, "X-") {
				name = "other x-* and X-*" // x-systemd.* and x-gvfs-* are named too, as examples
			}
			if !strings.Contains(mountOptionsHelp, name) {
				t.Errorf("mount options help does not mention %s", name)
			}
		}
	}
}

func TestCheckMountpoint(t *testing.T) {
	base := t.TempDir()
	cdir := filepath.Join(base, "cipher")
	empty := filepath.Join(base, "empty")
	full := filepath.Join(base, "full")
	file := filepath.Join(base, "file")
	for _, d := range []string{cdir, empty, full, filepath.Join(cdir, "sub")} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(full, "x"), nil, 0o600)
	os.WriteFile(file, nil, 0o600)
	// A way into CIPHERDIR that its path does not show.
	link := filepath.Join(base, "link")
	if err := os.Symlink(cdir, link); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		mnt, errSub string
	}{
		{empty, ""},
		{filepath.Join(base, "missing"), "does not exist"},
		{file, "is not a directory"},
		{full, "is not empty"},
		{filepath.Join(cdir, "sub"), "inside CIPHERDIR"},
		{cdir, "inside CIPHERDIR"},
		{filepath.Join(cdir, "missing"), "inside CIPHERDIR"},
		{filepath.Join(link, "sub"), "inside CIPHERDIR"},
		{"/proc", "already a mount point"},
	}
	for _, tt := range tests {
		err := checkMountpoint(tt.mnt, cdir, "CIPHERDIR")
		if tt.errSub == "" {
			if err != nil {
				t.Errorf("%s: %v", tt.mnt, err)
			}
			continue
		}
		if exitCode(err) != exitMountPoint || !strings.Contains(err.Error(), tt.errSub) {
			t.Errorf("%s: %v (exit %d), want exit %d and %q", tt.mnt, err, exitCode(err), exitMountPoint, tt.errSub)
		}
		if len(hintsOf(err)) == 0 && tt.errSub != "is not a directory" {
			t.Errorf("%s: no hint", tt.mnt)
		}
	}
}

func TestStatusProtocol(t *testing.T) {
	code, _, ok := parseStatus(formatStatus(nil))
	if !ok || code != exitOK {
		t.Errorf("ready: %d %v", code, ok)
	}
	code, text, ok := parseStatus(formatStatus(fail(errMountFailed, config.ErrWrongPassword)))
	if !ok || code != exitWrongPassword || text != "veilfs: error: wrong password\nveilfs: hint: "+wrongPasswordHint+"\n" {
		t.Errorf("error: %d %q %v", code, text, ok)
	}
	code, text, ok = parseStatus(formatStatus(failf(errMountPoint, []string{"h"}, "bad %s", "mnt")))
	if !ok || code != exitMountPoint || text != "veilfs: error: bad mnt\nveilfs: hint: h\n" {
		t.Errorf("error: %d %q %v", code, text, ok)
	}
	for _, garbage := range []string{"", "ready", "exit 0\n", "exit x\n", "hello\n"} {
		if _, _, ok := parseStatus([]byte(garbage)); ok {
			t.Errorf("parseStatus(%q) accepted", garbage)
		}
	}
}

func TestMountRefusesBeforePassword(t *testing.T) {
	// A bad CIPHERDIR or MOUNTPOINT is reported before a password is read:
	// the empty stdin would otherwise give exit 22.
	base := t.TempDir()
	mnt := filepath.Join(base, "mnt")
	os.Mkdir(mnt, 0o700)
	notVolume := filepath.Join(base, "plain")
	os.Mkdir(notVolume, 0o700)
	tests := []struct {
		args []string
		code int
		sub  string
	}{
		{[]string{"mount", filepath.Join(base, "missing"), mnt}, exitCipherDir, "does not exist"},
		{[]string{"mount", notVolume, mnt}, exitOpenConf, "is not a veilfs/gocryptfs volume"},
		{[]string{"passwd", notVolume}, exitOpenConf, "veilfs init"},
		{[]string{"info", notVolume}, exitOpenConf, "has no gocryptfs.conf"},
	}
	for _, tt := range tests {
		c, _, stderr := testCLI("")
		if code := c.run(tt.args); code != tt.code || !strings.Contains(stderr.String(), tt.sub) {
			t.Errorf("%q: exit %d, stderr %q; want %d and %q", tt.args, code, stderr, tt.code, tt.sub)
		}
	}
}

// TestWritableMountOf: the one-writer rule finds a read-write veilfs or
// gocryptfs mount of the same CIPHERDIR, by name or through a symlink, and
// nothing else.
func TestWritableMountOf(t *testing.T) {
	base := t.TempDir()
	cdir, link := filepath.Join(base, "cipher"), filepath.Join(base, "link")
	if err := os.Mkdir(cdir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(cdir, link); err != nil {
		t.Fatal(err)
	}
	alive := func(string) bool { return true }
	tests := []struct {
		name, line, dir, want string
		dead                  bool
	}{
		{"veilfs rw", "/m rw,nosuid,nodev shared:1 - fuse.veilfs " + cdir + " rw,user_id=0", cdir, "/m", false},
		{"gocryptfs rw", "/m rw,nosuid,nodev - fuse.gocryptfs " + cdir + " rw", cdir, "/m", false},
		{"read-only", "/m ro,nosuid,nodev - fuse.veilfs " + cdir + " rw", cdir, "", false},
		{"read-only filesystem", "/m rw,nosuid,nodev - fuse.veilfs " + cdir + " ro", cdir, "", false},
		{"other filesystem", "/m rw - ext4 " + cdir + " rw", cdir, "", false},
		{"other CIPHERDIR", "/m rw - fuse.veilfs " + base + "/other rw", cdir, "", false},
		{"through a symlink", "/m rw - fuse.veilfs " + link + " rw", cdir, "/m", false},
		{"escaped", `/m\040n rw - fuse.veilfs /a\040b rw`, "/a b", "/m n", false},
		{"dead daemon", "/m rw - fuse.veilfs " + cdir + " rw", cdir, "", true},
	}
	for _, tt := range tests {
		// mountinfo lines: id parent maj:min root, then the fields above.
		table := "22 1 0:21 / /proc rw,nosuid - proc proc rw\n36 1 0:50 / " + tt.line + "\n"
		check := alive
		if tt.dead {
			check = func(string) bool { return false }
		}
		got := writableMountOf(mounttable.ParseMountinfo([]byte(table)), tt.dir, check)
		switch {
		case tt.want == "" && got != nil:
			t.Errorf("%s: found %+v, want nothing", tt.name, *got)
		case tt.want != "" && (got == nil || got.Mountpoint != tt.want):
			t.Errorf("%s: found %+v, want the mount on %s", tt.name, got, tt.want)
		}
	}
}

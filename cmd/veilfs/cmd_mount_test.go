package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/veilfs/veilfs/cipher/config"
)

func TestMountOptions(t *testing.T) {
	tests := []struct {
		name           string
		flags          mountFlags
		ro, allowOther bool
		extra          []string
	}{
		{name: "none"},
		{name: "flags", flags: mountFlags{readOnly: true, allowOther: true}, ro: true, allowOther: true},
		{name: "-o ro", flags: mountFlags{options: []string{"ro"}}, ro: true},
		{name: "-o list", flags: mountFlags{options: []string{"ro,allow_other,noatime"}}, ro: true, allowOther: true, extra: []string{"noatime"}},
		{name: "-o repeated", flags: mountFlags{options: []string{"allow_other", "nodev,,nosuid"}}, allowOther: true, extra: []string{"nodev", "nosuid"}},
		{name: "-o rw undoes ro", flags: mountFlags{options: []string{"ro,rw"}}},
		{name: "-o spaces", flags: mountFlags{options: []string{" ro , x-gvfs-hide "}}, ro: true, extra: []string{"x-gvfs-hide"}},
		{name: "--ro and -o", flags: mountFlags{readOnly: true, options: []string{"noexec"}}, ro: true, extra: []string{"noexec"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts, err := mountOptions(&tt.flags)
			if err != nil {
				t.Fatal(err)
			}
			if opts.ReadOnly != tt.ro || opts.AllowOther != tt.allowOther || !reflect.DeepEqual(opts.ExtraMountOptions, tt.extra) {
				t.Errorf("got ro=%v allow_other=%v extra=%q; want %v %v %q",
					opts.ReadOnly, opts.AllowOther, opts.ExtraMountOptions, tt.ro, tt.allowOther, tt.extra)
			}
		})
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

	tests := []struct {
		mnt, errSub string
	}{
		{empty, ""},
		{filepath.Join(base, "missing"), "does not exist"},
		{file, "is not a directory"},
		{full, "is not empty"},
		{filepath.Join(cdir, "sub"), "inside CIPHERDIR"},
		{cdir, "inside CIPHERDIR"},
		{"/proc", "already a mount point"},
	}
	for _, tt := range tests {
		err := checkMountpoint(tt.mnt, cdir)
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

package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseHelperArgs(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		byName  bool
		want    *helperCall
		errSub  string
		errCode int
	}{
		{name: "mount.fuse3", args: []string{"/c", "/m", "-o", "rw,passfile=/p,dev,suid"},
			want: &helperCall{cipherdir: "/c", mountpoint: "/m", options: []string{"rw,passfile=/p,dev,suid"}}},
		{name: "mount(8) flags", byName: true, args: []string{"/c", "/m", "-s", "-n", "-v", "-o", "ro", "-t", "veilfs"},
			want: &helperCall{cipherdir: "/c", mountpoint: "/m", options: []string{"ro"}}},
		{name: "fake", byName: true, args: []string{"/c", "/m", "-f", "-o", "rw"},
			want: &helperCall{cipherdir: "/c", mountpoint: "/m", options: []string{"rw"}, fake: true}},
		{name: "flag cluster", byName: true, args: []string{"/c", "/m", "-nfv"},
			want: &helperCall{cipherdir: "/c", mountpoint: "/m", fake: true}},
		{name: "options first, glued", byName: true, args: []string{"-oro", "-o", "noatime", "/c", "/m"},
			want: &helperCall{cipherdir: "/c", mountpoint: "/m", options: []string{"ro", "noatime"}}},
		{name: "dash dash", byName: true, args: []string{"-o", "ro", "--", "-c", "/m"},
			want: &helperCall{cipherdir: "-c", mountpoint: "/m", options: []string{"ro"}}},
		{name: "help", byName: true, args: []string{"--help"}, want: &helperCall{help: true}},
		{name: "version", byName: true, args: []string{"-V"}, want: &helperCall{version: true}},
		{name: "namespace", byName: true, args: []string{"/c", "/m", "-N", "/proc/1/ns/mnt"}, errSub: "--namespace is not supported"},
		{name: "one path", byName: true, args: []string{"/c"}, errSub: "needs CIPHERDIR and MOUNTPOINT, got 1 arguments"},
		{name: "three paths", args: []string{"/a", "/b", "/c", "-o", "ro"}, errSub: "got 3 arguments"},
		{name: "unknown flag", byName: true, args: []string{"/c", "/m", "-x"}, errSub: "unknown option -x"},
		{name: "-o without value", args: []string{"/c", "/m", "-o"}, errSub: "option -o needs a value"},
		// Under the veilfs name only -o: mount.fuse3 passes nothing else,
		// and -f must not mean "fake" to someone who meant --foreground.
		{name: "-f not by name", args: []string{"/c", "/m", "-f"}, errSub: "unknown option -f"},
		{name: "-t not by name", args: []string{"/c", "/m", "-t", "fuse.veilfs"}, errSub: "unknown option -t"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := parseHelperArgs(tt.args, tt.byName)
			if tt.errSub != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errSub) || exitCode(err) != exitUsage || len(hintsOf(err)) == 0 {
					t.Fatalf("got %+v, %v; want a usage error with a hint containing %q", h, err, tt.errSub)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(h, tt.want) {
				t.Errorf("got %+v, want %+v", h, tt.want)
			}
		})
	}
}

func TestMountHelperCall(t *testing.T) {
	tests := []struct {
		args []string
		want bool
	}{
		{[]string{"/srv/vault.enc", "/srv/vault", "-o", "rw,dev,suid"}, true}, // mount.fuse3 as root
		{[]string{"vault.enc", "vault", "-o", "ro"}, true},                    // relative, with -o
		{[]string{"/srv/vault.enc", "/srv/vault"}, true},                      // mount.fuse3 as a user, no options
		{[]string{"vault.enc", "vault"}, false},                               // a typo'd command and a path, more likely
		{[]string{"unmuont", "/mnt"}, false},
		{[]string{"frobnicate"}, false},
		{[]string{"/a", "/b", "-f"}, false},
		{[]string{"/a", "/b", "/c"}, false},
	}
	for _, tt := range tests {
		if _, got := mountHelperCall(tt.args); got != tt.want {
			t.Errorf("mountHelperCall(%q) = %v, want %v", tt.args, got, tt.want)
		}
	}
}

func TestIsMountHelperName(t *testing.T) {
	for name, want := range map[string]bool{
		"/sbin/mount.veilfs":          true,
		"mount.veilfs":                true,
		"/usr/sbin/mount.fuse.veilfs": true,
		"/usr/local/bin/veilfs":       false,
		"mount.fuse3":                 false,
		"mount.veilfs.old":            false,
	} {
		if got := isMountHelperName(name); got != want {
			t.Errorf("isMountHelperName(%q) = %v, want %v", name, got, want)
		}
	}
}

// The helper conventions reach the mount code: what runs is 'veilfs
// mount', and what fails says so in mount-helper terms. None of these
// cases gets as far as mounting, so no FUSE is needed.
func TestMountHelperDispatch(t *testing.T) {
	base := t.TempDir()
	vol := filepath.Join(base, "vol")
	mnt := filepath.Join(base, "mnt")
	if err := os.Mkdir(mnt, 0o700); err != nil {
		t.Fatal(err)
	}
	pw := filepath.Join(base, "pw")
	if err := os.WriteFile(pw, []byte("helper-test\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if c, _, stderr := testCLI(""); c.run([]string{"init", "--scryptn", "10", "--passfile", pw, vol}) != 0 {
		t.Fatalf("init: %s", stderr)
	}
	missing := filepath.Join(base, "missing")
	tests := []struct {
		name     string
		argv0    string
		args     []string
		code     int
		stdout   string
		stderr   string
		noStderr string
	}{
		{name: "by name, no arguments", argv0: "/sbin/mount.veilfs", code: exitUsage, stderr: "needs CIPHERDIR and MOUNTPOINT"},
		{name: "by name, help", argv0: "mount.veilfs", args: []string{"-h"}, stdout: "Mounting from fstab:"},
		{name: "by name, version", argv0: "mount.veilfs", args: []string{"--version"}, stdout: "veilfs dev ("},
		{name: "by name, mounts", argv0: "/sbin/mount.veilfs", args: []string{missing, mnt, "-o", "rw"}, code: exitCipherDir, stderr: "CIPHERDIR " + missing + " does not exist"},
		{name: "mount.fuse3 convention mounts", args: []string{missing, mnt, "-o", "rw,dev,suid"}, code: exitCipherDir, stderr: "does not exist"},
		{name: "fake checks options", argv0: "mount.veilfs", args: []string{missing, mnt, "-f", "-o", "extpass=x"}, code: exitUsage, stderr: "extpass= is not accepted"},
		{name: "fake mounts nothing", argv0: "mount.veilfs", args: []string{missing, mnt, "-f", "-o", "rw"}},
		{name: "drop_privileges", args: []string{vol, "/dev/fd/3", "-o", "rw"}, code: exitUsage, stderr: "remove drop_privileges"},
		{name: "no password at boot", argv0: "/sbin/mount.veilfs", args: []string{vol, mnt, "-o", "rw,nofail"}, code: exitEmptyPassword,
			stderr: "veilfs: hint: add passfile=FILE to the mount options"},
		{name: "no password, fuse.veilfs", args: []string{vol, mnt, "-o", "rw,x-systemd.automount,dev,suid"}, code: exitEmptyPassword,
			stderr: "the mount options have no passfile="},
		// The ordinary command keeps its own hint.
		{name: "no password, veilfs mount", args: []string{"mount", vol, mnt}, code: exitEmptyPassword,
			stderr: "--passfile FILE, --extpass CMD", noStderr: "passfile="},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, stdout, stderr := testCLI("")
			c.argv0 = tt.argv0
			if code := c.run(tt.args); code != tt.code {
				t.Errorf("exit code %d, want %d; stderr:\n%s", code, tt.code, stderr)
			}
			if !strings.Contains(stdout.String(), tt.stdout) {
				t.Errorf("stdout %q does not contain %q", stdout, tt.stdout)
			}
			if !strings.Contains(stderr.String(), tt.stderr) {
				t.Errorf("stderr %q does not contain %q", stderr, tt.stderr)
			}
			if tt.noStderr != "" && strings.Contains(stderr.String(), tt.noStderr) {
				t.Errorf("stderr %q contains %q", stderr, tt.noStderr)
			}
		})
	}
}

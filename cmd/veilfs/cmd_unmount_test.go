package main

import (
	"strings"
	"testing"
)

func TestFindMountIn(t *testing.T) {
	table := []byte(`proc /proc proc rw,nosuid 0 0
/tmp/c /mnt/a fuse.veilfs rw,nosuid,nodev 0 0
/tmp/with\040space /mnt/with\040space fuse.veilfs rw 0 0
tmpfs /mnt/a tmpfs rw 0 0
`)
	if e := findMountIn(table, "/mnt/a"); e == nil || e.fsType != "tmpfs" {
		t.Errorf("stacked mount: %+v, want the topmost (tmpfs)", e)
	}
	if e := findMountIn(table, "/mnt/with space"); e == nil || e.source != "/tmp/with space" || e.fsType != "fuse.veilfs" {
		t.Errorf("escaped: %+v", e)
	}
	if e := findMountIn(table, "/mnt"); e != nil {
		t.Errorf("/mnt: %+v", e)
	}
}

func TestUnescapeMountField(t *testing.T) {
	for in, want := range map[string]string{
		`plain`:         "plain",
		`a\040b`:        "a b",
		`tab\011nl\012`: "tab\tnl\n",
		`back\134slash`: `back\slash`,
		`trailing\`:     `trailing\`,
		`short\04`:      `short\04`,
		`not\999octal`:  `not\999octal`,
	} {
		if got := unescapeMountField(in); got != want {
			t.Errorf("unescapeMountField(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestUnmountRefusals(t *testing.T) {
	dir := t.TempDir()
	c, _, stderr := testCLI("")
	if code := c.run([]string{"unmount", dir}); code != exitUnmount || !strings.Contains(stderr.String(), "is not mounted") {
		t.Errorf("not mounted: exit %d, %q", code, stderr)
	}
	c, _, stderr = testCLI("")
	if code := c.run([]string{"umount", "/proc"}); code != exitUnmount || !strings.Contains(stderr.String(), "not a FUSE one") {
		t.Errorf("/proc: exit %d, %q", code, stderr)
	}
}

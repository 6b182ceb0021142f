package main

import (
	"strings"
	"testing"
)

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

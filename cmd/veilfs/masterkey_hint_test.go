package main

import (
	"strings"
	"testing"
)

// A master key is printed by init and again by every rotate, which makes
// the one init printed wrong: the hint for a wrong key names both.
func TestWrongMasterKeyHintNamesRotate(t *testing.T) {
	dir, _ := newVolume(t)
	mustRun(t, "pw\n"+strings.Repeat("k", 40)+"\n", "keys", "add", "--label", "k", dir) // something to tell a wrong key by
	wrongKey := writeFile(t, strings.Repeat("ab", 32)+"\n")
	code, _, errOut := run(t, "", "passwd", "--masterkey-file", wrongKey, "--new-passfile", writeFile(t, "new\n"), dir)
	if code != exitWrongPassword || !strings.Contains(errOut, "veilfs: hint: check the key: it is the 64 hex digits that init or the last rotate printed") {
		t.Errorf("wrong master key: exit %d, %s", code, errOut)
	}
}

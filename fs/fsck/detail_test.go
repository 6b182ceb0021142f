package fsck

import (
	"os"
	"path"
	"strings"
	"testing"

	"github.com/veilfs/veilfs/cipher/config"
)

// The report line names the entry (its CipherPath); the detail says only
// why, without naming it again or saying twice that a name did not decrypt.
func TestBadNameDetailSaysItOnce(t *testing.T) {
	tv := newVolume(t, config.CreateOptions{})
	populate(tv)
	p := tv.abs("a.txt")
	if err := os.Rename(p, p[:len(p)-3]); err != nil { // no longer a whole number of blocks
		t.Fatal(err)
	}
	rep := tv.check(Options{})
	var found bool
	for _, pr := range rep.Problems {
		if pr.Kind != BadName {
			continue
		}
		found = true
		name := path.Base(pr.CipherPath)
		if strings.Contains(pr.Detail, name) || strings.Count(pr.Detail, "decrypt") != 1 {
			t.Errorf("detail of %s repeats what the report line says: %q", pr.CipherPath, pr.Detail)
		}
	}
	if !found {
		t.Fatalf("no bad name found:\n%s", dumpReport(rep))
	}
}

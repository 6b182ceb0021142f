//go:build linux

package reverse

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/veilfs/veilfs/cipher/config"
)

// TestNoFlushOnClose: reading a file of the view and closing it costs no
// FLUSH request (noFlush), for encrypted files and virtual ones alike.
// The requests are counted from go-fuse's debug log, whose lines start
// "rx <unique>: <OPCODE> " (fuse.MountOptions.Debug).
func TestNoFlushOnClose(t *testing.T) {
	v := mountViewWith(t, config.CreateOptions{}, func(plain string) {
		if err := os.WriteFile(filepath.Join(plain, "f"), []byte("data"), 0o644); err != nil {
			t.Fatal(err)
		}
	}, Options{Debug: true})
	flush, open := regexp.MustCompile(`(?m)^rx \d+: FLUSH `), regexp.MustCompile(`(?m)^rx \d+: OPEN `)
	for _, name := range []string{v.viewPath(t, "f"), "gocryptfs.diriv", "gocryptfs.conf"} {
		mark := len(v.log.String())
		if _, err := os.ReadFile(filepath.Join(v.mnt, name)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		// close(2) waits for a FLUSH's answer, so any is logged by now.
		got := v.log.String()[mark:]
		if n := len(flush.FindAllString(got, -1)); n != 0 {
			t.Errorf("%s: reading it sent %d FLUSH requests, want none", name, n)
		}
		if !open.MatchString(got) {
			t.Errorf("%s: no OPEN request logged: is the debug log still as expected?\n%s", name, got)
		}
	}
}

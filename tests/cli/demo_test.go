//go:build linux

package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/veilfs/veilfs/tests/harness"
)

// TestDemo runs scripts/demo.sh (make demo): it must pass, show no two
// rows of its plaintext/ciphertext table alike (long names are cut), and
// list the whole top level of CIPHERDIR, as it says it does.
func TestDemo(t *testing.T) {
	harness.RequireFUSE(t)
	cmd := exec.Command("bash", filepath.Join(harness.ModuleRoot(t), "scripts", "demo.sh"))
	cmd.Env = append(os.Environ(), "VEILFS="+harness.Binary(t), "TMPDIR="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("scripts/demo.sh: %v\n%s", err, out)
	}
	text := string(out)

	_, table, _ := strings.Cut(text, "-----------------------\n")
	table, _, _ = strings.Cut(table, "\n\n")
	seen := map[string]bool{}
	for _, row := range strings.Split(table, "\n") {
		plain := strings.TrimSpace(row[:min(len(row), 44)])
		if seen[plain] {
			t.Errorf("two rows show the plaintext name %q:\n%s", plain, table)
		}
		seen[plain] = true
	}
	if len(seen) < 5 {
		t.Errorf("the table has %d rows:\n%s", len(seen), text)
	}

	m := regexp.MustCompile(`\(all (\d+) entries of its top level\):\n((?:.+\n)*)\n`).FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("no listing of CIPHERDIR's top level:\n%s", text)
	}
	if n, _ := strconv.Atoi(m[1]); n != strings.Count(m[2], "\n") {
		t.Errorf("it says %s entries and lists %d:\n%s", m[1], strings.Count(m[2], "\n"), m[2])
	}
}

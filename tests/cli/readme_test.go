package cli

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/veilfs/veilfs/tests/harness"
)

// TestReadmeExitCodes keeps the exit-code table of README.md identical to
// what the binary documents (`veilfs help exit-codes`, generated from
// cmd/veilfs/exitcodes.go).
func TestReadmeExitCodes(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join(harness.ModuleRoot(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	fromReadme := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^\| (\d+) \| (.+) \|$`).FindAllStringSubmatch(string(readme), -1) {
		fromReadme[m[1]] = strings.TrimSpace(m[2])
	}

	res := harness.Run(t, "", "help", "exit-codes")
	if res.Code != 0 {
		t.Fatalf("veilfs help exit-codes: %v", res)
	}
	fromBinary := map[string]string{}
	var last string
	for _, line := range strings.Split(res.Stdout, "\n") {
		if m := regexp.MustCompile(`^\s*(\d+)\s{2,}(.+)$`).FindStringSubmatch(line); m != nil {
			last = m[1]
			fromBinary[last] = strings.TrimSpace(m[2])
		} else if last != "" && strings.HasPrefix(line, "      ") && strings.TrimSpace(line) != "" {
			fromBinary[last] += " " + strings.TrimSpace(line) // continuation line
		}
	}
	if len(fromBinary) == 0 {
		t.Fatalf("no exit codes parsed from `veilfs help exit-codes`:\n%s", res.Stdout)
	}
	for code, meaning := range fromBinary {
		if got, ok := fromReadme[code]; !ok {
			t.Errorf("README.md lacks exit code %s (%s)", code, meaning)
		} else if got != meaning {
			t.Errorf("exit code %s: README.md says %q, veilfs help exit-codes says %q", code, got, meaning)
		}
	}
	for code := range fromReadme {
		if _, ok := fromBinary[code]; !ok {
			t.Errorf("README.md documents exit code %s that veilfs help exit-codes does not", code)
		}
	}
}

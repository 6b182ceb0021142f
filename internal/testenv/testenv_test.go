package testenv

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// helperEnv, when set, makes TestHelperProcess the test under test: the
// outer tests run this binary again with it, so that a failing or skipping
// helper ends a test of its own process and not theirs.
const helperEnv = "VEILFS_TESTENV_HELPER"

// TestHelperProcess does what helperEnv names; without it, nothing.
func TestHelperProcess(t *testing.T) {
	switch os.Getenv(helperEnv) {
	case "":
		return
	case "tool":
		NeedTool(t, "veilfs-no-such-tool", "veilfs-no-such-package")
	case "platform":
		Platform(t, "not this kernel")
	case "missing":
		Missing(t, "the filesystem has no such thing")
	}
	t.Log("REACHED")
}

// runHelper runs TestHelperProcess doing what, with env added to a
// clean environment (none of the strict switches of this run's own).
func runHelper(t *testing.T, what string, env ...string) (string, bool) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.v", "-test.count=1")
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if k == StrictVar || k == "CI" || strings.HasPrefix(k, "VEILFS_REQUIRE_") {
			continue
		}
		cmd.Env = append(cmd.Env, kv)
	}
	cmd.Env = append(cmd.Env, append(env, helperEnv+"="+what)...)
	out, err := cmd.CombinedOutput()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatalf("running the helper: %v", err)
	}
	return string(out), err == nil
}

// A missing tool skips an ordinary run and fails a strict one, under each
// switch that makes a run strict, with a message naming the tool and its
// package.
func TestStrictFails(t *testing.T) {
	for _, tt := range []struct {
		env    []string
		passes bool
		want   string
	}{
		{nil, true, "--- SKIP"},
		{[]string{StrictVar + "=0", "CI=false"}, true, "--- SKIP"},
		{[]string{StrictVar + "=1"}, false, "a skip is a failure under VEILFS_TEST_STRICT=1"},
		{[]string{"CI=true"}, false, "a skip is a failure under CI=true"},
		{[]string{requireTools + "=1"}, false, "a skip is a failure under VEILFS_REQUIRE_TOOLS=1"},
		{[]string{requireFUSE + "=1"}, true, "--- SKIP"}, // another need's switch
	} {
		out, ok := runHelper(t, "tool", tt.env...)
		if ok != tt.passes || !strings.Contains(out, tt.want) || strings.Contains(out, "REACHED") {
			t.Errorf("%v: passes %v, want %v, %q in:\n%s", tt.env, ok, tt.passes, tt.want, out)
		}
		if !strings.Contains(out, "veilfs-no-such-tool not found: install the Debian package veilfs-no-such-package") {
			t.Errorf("%v: the message does not say what is missing and how to get it:\n%s", tt.env, out)
		}
	}
	out, ok := runHelper(t, "missing", StrictVar+"=1")
	if ok || !strings.Contains(out, "the filesystem has no such thing (a skip is a failure") {
		t.Errorf("Missing in a strict run: passes %v:\n%s", ok, out)
	}
}

// A limit of the platform skips even a strict run.
func TestPlatformSkips(t *testing.T) {
	for _, what := range []string{"platform"} {
		out, ok := runHelper(t, what, StrictVar+"=1")
		if !ok || !strings.Contains(out, "--- SKIP") || strings.Contains(out, "REACHED") {
			t.Errorf("%s in a strict run: passes %v:\n%s", what, ok, out)
		}
	}
}

package main

import (
	"bytes"
	"encoding/hex"
	"regexp"
	"strings"
	"testing"
)

const testKeyHex = "b425c87a38020001a6db3f9bbc654e3e4f38b6e06b50c61f70d0ba26f03fcad4"

func TestParseMasterKey(t *testing.T) {
	want, _ := hex.DecodeString(testKeyHex)
	good := []string{
		testKeyHex,
		strings.ToUpper(testKeyHex),
		"b425c87a-38020001-a6db3f9b-bc654e3e-4f38b6e0-6b50c61f-70d0ba26-f03fcad4",
		"b425c87a-38020001-a6db3f9b-bc654e3e-\n    4f38b6e0-6b50c61f-70d0ba26-f03fcad4\n",
		"  " + testKeyHex + "\r\n",
	}
	for _, in := range good {
		got, err := parseMasterKey([]byte(in))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("parseMasterKey(%q) = %x, %v", in, got, err)
		}
	}
	bad := []string{
		"",
		testKeyHex[:62],
		testKeyHex + "00",
		testKeyHex[:63] + "g",
		strings.Repeat("-", 10),
		testKeyHex + testKeyHex,
	}
	for _, in := range bad {
		_, err := parseMasterKey([]byte(in))
		if exitCode(err) != exitMasterKey {
			t.Errorf("parseMasterKey(%q): %v (exit %d), want exit %d", in, err, exitCode(err), exitMasterKey)
			continue
		}
		if len(in) > 8 && strings.Contains(err.Error(), in[:8]) {
			t.Errorf("error quotes the key: %v", err)
		}
	}
}

func TestAppendMasterKey(t *testing.T) {
	key, _ := hex.DecodeString(testKeyHex)
	got := string(appendMasterKey(nil, key, "    "))
	want := "b425c87a-38020001-a6db3f9b-bc654e3e-\n    4f38b6e0-6b50c61f-70d0ba26-f03fcad4"
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	groups := regexp.MustCompile(`[0-9a-f]{8}`).FindAllString(got, -1)
	if len(groups) != 8 {
		t.Errorf("%d groups of 8 hex digits, want 8", len(groups))
	}
	back, err := parseMasterKey([]byte(got))
	if err != nil || !bytes.Equal(back, key) {
		t.Errorf("round trip: %x, %v", back, err)
	}
}

func TestReadMasterKey(t *testing.T) {
	want, _ := hex.DecodeString(testKeyHex)
	printed := "b425c87a-38020001-a6db3f9b-bc654e3e-\n    4f38b6e0-6b50c61f-70d0ba26-f03fcad4\n"

	c, _, stderr := testCLI("")
	got, err := c.readMasterKey(testKeyHex, "")
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("--masterkey HEX: %x, %v", got, err)
	}
	if !strings.Contains(stderr.String(), "veilfs: warning: ") || !strings.Contains(stderr.String(), "process list") {
		t.Errorf("no process-list warning: %q", stderr)
	}

	c, _, stderr = testCLI(printed)
	got, err = c.readMasterKey("-", "")
	if err != nil || !bytes.Equal(got, want) || stderr.Len() != 0 {
		t.Errorf("--masterkey -: %x, %v, stderr %q", got, err, stderr)
	}

	c, _, _ = testCLI("")
	got, err = c.readMasterKey("", writeFile(t, printed))
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("--masterkey-file: %x, %v", got, err)
	}

	c, _, _ = testCLI("")
	if _, err := c.readMasterKey("", "/nonexistent/key"); exitCode(err) != exitMasterKey {
		t.Errorf("missing file: %v (exit %d)", err, exitCode(err))
	}

	c, prompts := terminalCLI(testKeyHex)
	got, err = c.readMasterKey("-", "")
	if err != nil || !bytes.Equal(got, want) || len(*prompts) != 1 {
		t.Errorf("--masterkey - on a terminal: %x, %v, %q", got, err, *prompts)
	}
}

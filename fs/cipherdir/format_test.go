package cipherdir

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/veilfs/veilfs/cipher/config"
)

func fixtureCipherDir(t *testing.T, name string) (string, *config.File) {
	t.Helper()
	dir := filepath.Join("..", "..", "testdata", "fixtures", name, "cipher")
	conf, err := LoadConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	return dir, conf
}

// confWith returns a copy of conf whose feature flags are flags (and no
// LongNameMax), as an attacker would write them.
func confWith(t *testing.T, conf *config.File, flags ...config.Flag) *config.File {
	t.Helper()
	c, err := conf.Clone()
	if err != nil {
		t.Fatal(err)
	}
	c.FeatureFlags, c.LongNameMax = flags, 0
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	return c
}

var plaintextFlags = []config.Flag{config.FlagHKDF, config.FlagGCMIV128, config.FlagPlaintextNames}

func TestCheckNameFormat(t *testing.T) {
	// Every gocryptfs volume passes with its own config.
	for _, name := range []string{"v2-default", "v2-plaintextnames", "v2-deterministic-names", "v2-aessiv", "v2-xchacha", "v2-longnamemax100"} {
		dir, conf := fixtureCipherDir(t, name)
		if err := CheckNameFormat(dir, conf); err != nil {
			t.Errorf("%s with its own config: %v", name, err)
		}
	}
	for _, tc := range []struct {
		fixture string
		flags   []config.Flag
		entry   string // "" = any entry that is not gocryptfs.diriv
	}{
		// PlaintextNames over a root with its IV file.
		{"v2-default", plaintextFlags, "gocryptfs.diriv"},
		// PlaintextNames over deterministic names: no IV file, but
		// encrypted names and long-name files.
		{"v2-deterministic-names", plaintextFlags, ""},
		// Deterministic names (no DirIV) over a root with its IV file.
		{"v2-default", []config.Flag{config.FlagHKDF, config.FlagGCMIV128, config.FlagEMENames, config.FlagLongNames, config.FlagRaw64}, "gocryptfs.diriv"},
	} {
		dir, conf := fixtureCipherDir(t, tc.fixture)
		err := CheckNameFormat(dir, confWith(t, conf, tc.flags...))
		var nf *NameFormatError
		if !errors.As(err, &nf) || !errors.Is(err, ErrNameFormatMismatch) {
			t.Errorf("%s with flags %v: %v, want a NameFormatError", tc.fixture, tc.flags, err)
			continue
		}
		if tc.entry != "" && nf.Entry != tc.entry || tc.entry == "" && nf.Entry == "gocryptfs.diriv" {
			t.Errorf("%s with flags %v: names %q", tc.fixture, tc.flags, nf.Entry)
		}
		t.Logf("%s: %v", tc.fixture, err)
	}
}

func TestEncryptedLooking(t *testing.T) {
	for name, want := range map[string]bool{
		"FmdhIeQDqoOb5ePa5Ro6eQ":                                              true, // 16 bytes, Raw64
		"MzNZTSqTIjh_A9y9RRL2etvT7ajO8LG_uQshWTdpqGM":                         true, // 32 bytes
		"FmdhIeQDqoOb5ePa5Ro6eQ==":                                            true, // padded
		"gocryptfs.longname.djILM2mQEwcbeuTCE3ca5uZoXqXpvDAkLlSh4NHrEf4":      true,
		"gocryptfs.longname.djILM2mQEwcbeuTCE3ca5uZoXqXpvDAkLlSh4NHrEf4.name": true,
		"gocryptfs.longname.x":                                                false,
		"gocryptfs.conf":                                                      false,
		"notes.txt":                                                           false,
		"FmdhIeQDqoOb5ePa5Ro6eR":                                              false, // non-zero unused bits: not canonical
		"FmdhIeQDqoOb5ePa5Ro6":                                                false, // 15 bytes
		"Fmdh\nIeQDqoOb5ePa5Ro6eQ":                                            false,
		"":                                                                    false,
	} {
		if got := encryptedLooking(name) != ""; got != want {
			t.Errorf("encryptedLooking(%q) = %v, want %v", name, got, want)
		}
	}
}

// A plaintext-names volume may hold a file named like an encrypted name:
// the error names it, so its owner can rename it.
func TestCheckNameFormatNamesTheEntry(t *testing.T) {
	dir := t.TempDir()
	_, conf := fixtureCipherDir(t, "v2-plaintextnames")
	for _, n := range []string{"notes.txt", "dir1"} {
		if err := os.WriteFile(filepath.Join(dir, n), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := CheckNameFormat(dir, conf); err != nil {
		t.Fatalf("plain names: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "abcdefghijklmnopqrstuQ"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	var nf *NameFormatError
	if err := CheckNameFormat(dir, conf); !errors.As(err, &nf) || nf.Entry != "abcdefghijklmnopqrstuQ" {
		t.Errorf("an encrypted-looking name: %v", err)
	}
}

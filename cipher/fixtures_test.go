package cipher

// Fixture access shared by the in-package tests and (through these exported
// test-only names) the external cipher_test package.

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// FixtureRoot is where the gocryptfs 2.3 volumes live, relative to this package.
const FixtureRoot = "../testdata/fixtures"

// Fixture is the part of a fixtures.json manifest the tests use.
type Fixture struct {
	Dir          string // absolute path of the fixture folder
	Name         string `json:"fixture"`
	Password     string `json:"password"`
	MasterKeyHex string `json:"masterkey_hex"`
	InitFlags    []string
	FeatureFlags []string `json:"feature_flags"`
	Entries      []struct {
		Path         string            `json:"path"`
		Type         string            `json:"type"`
		Size         int64             `json:"size"`
		SHA256       string            `json:"sha256"`
		CipherPath   string            `json:"cipher_path"`
		CipherSize   int64             `json:"cipher_size"`
		Target       string            `json:"target"`
		CipherTarget string            `json:"cipher_target"`
		Xattrs       map[string]string `json:"xattrs"`
	} `json:"entries"`
	CipherXattrs []struct {
		CipherPath  string `json:"cipher_path"`
		Name        string `json:"name"`
		ValueBase64 string `json:"value_base64"`
	} `json:"cipher_xattrs"`
}

// CipherFile returns the path of a file inside the fixture's cipherdir.
func (f *Fixture) CipherFile(rel string) string {
	return filepath.Join(f.Dir, "cipher", filepath.FromSlash(rel))
}

// ReadFixtures loads every fixtures.json under FixtureRoot; it fails the
// test if there are none, so a missing checkout cannot pass silently.
func ReadFixtures(tb testing.TB) []*Fixture {
	tb.Helper()
	paths, err := filepath.Glob(filepath.Join(FixtureRoot, "*", "fixtures.json"))
	if err != nil || len(paths) == 0 {
		tb.Fatalf("no fixtures under %s (err %v)", FixtureRoot, err)
	}
	var out []*Fixture
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			tb.Fatal(err)
		}
		f := &Fixture{}
		if err := json.Unmarshal(data, f); err != nil {
			tb.Fatalf("%s: %v", p, err)
		}
		var raw struct {
			InitFlags []string `json:"init_flags"`
		}
		json.Unmarshal(data, &raw)
		f.InitFlags = raw.InitFlags
		f.Dir, _ = filepath.Abs(filepath.Dir(p))
		out = append(out, f)
	}
	return out
}

package nametransform

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"testing"

	"golang.org/x/crypto/hkdf"
)

// fixturesDir holds volumes written by real gocryptfs 2.3 (FORMAT §13).
const fixturesDir = "../testdata/fixtures"

// nameKeyInfo is the HKDF info string of K_name (FORMAT §3.1). Test-only:
// the package itself receives K_name as bytes.
const nameKeyInfo = "EME filename encryption"

func deriveNameKey(tb testing.TB, master []byte) []byte {
	tb.Helper()
	k := make([]byte, EMEKeyLen)
	if _, err := io.ReadFull(hkdf.New(sha256.New, master, nil, []byte(nameKeyInfo)), k); err != nil {
		tb.Fatal(err)
	}
	return k
}

type fixtureEntry struct {
	Path       string            `json:"path"`
	Type       string            `json:"type"`
	CipherPath string            `json:"cipher_path"`
	Xattrs     map[string]string `json:"xattrs"`
}

type fixtureXattr struct {
	CipherPath  string `json:"cipher_path"`
	Name        string `json:"name"`
	ValueBase64 string `json:"value_base64"`
}

type fixture struct {
	Name         string         // folder name
	Dir          string         // folder path
	MasterKeyHex string         `json:"masterkey_hex"`
	RootDirIVHex *string        `json:"root_diriv_hex"`
	FeatureFlags []string       `json:"feature_flags"`
	Entries      []fixtureEntry `json:"entries"`
	CipherXattrs []fixtureXattr `json:"cipher_xattrs"`
	LongNameMax  int            // from gocryptfs.conf, 0 if unset
}

func (f *fixture) has(flag string) bool { return slices.Contains(f.FeatureFlags, flag) }

// plaintextNames: only xattr names are encrypted, with padded base64 (§5.7, §7).
func (f *fixture) plaintextNames() bool { return f.has("PlaintextNames") }

func (f *fixture) opts() Options {
	return Options{Raw64: f.has("Raw64"), LongNameMax: f.LongNameMax}
}

func (f *fixture) transform(tb testing.TB) *Transform {
	tb.Helper()
	mk, err := hex.DecodeString(f.MasterKeyHex)
	if err != nil {
		tb.Fatal(err)
	}
	tr, err := New(deriveNameKey(tb, mk), f.opts())
	if err != nil {
		tb.Fatalf("%s: New: %v", f.Name, err)
	}
	return tr
}

// cipherPath joins a "/"-separated cipher path onto the fixture's cipherdir.
func (f *fixture) cipherPath(p string) string {
	return filepath.Join(f.Dir, "cipher", filepath.FromSlash(p))
}

// dirIV returns the IV of the ciphertext directory cdir ("" = root):
// its gocryptfs.diriv, or 16 zero bytes without DirIV (§5.1).
func (f *fixture) dirIV(tb testing.TB, cdir string) []byte {
	tb.Helper()
	if !f.has("DirIV") {
		return make([]byte, DirIVLen)
	}
	iv, err := os.ReadFile(filepath.Join(f.cipherPath(cdir), DirIVFilename))
	if err != nil {
		tb.Fatal(err)
	}
	if len(iv) != DirIVLen {
		tb.Fatalf("%s/%s: diriv has %d bytes", f.Name, cdir, len(iv))
	}
	return iv
}

func loadFixtures(tb testing.TB) []*fixture {
	tb.Helper()
	dirs, err := filepath.Glob(filepath.Join(fixturesDir, "*", "fixtures.json"))
	if err != nil {
		tb.Fatal(err)
	}
	if len(dirs) < 6 {
		tb.Fatalf("expected at least 6 fixture volumes under %s, found %d", fixturesDir, len(dirs))
	}
	var out []*fixture
	for _, j := range dirs {
		data, err := os.ReadFile(j)
		if err != nil {
			tb.Fatal(err)
		}
		f := &fixture{Dir: filepath.Dir(j), Name: filepath.Base(filepath.Dir(j))}
		if err := json.Unmarshal(data, f); err != nil {
			tb.Fatalf("%s: %v", j, err)
		}
		conf, err := os.ReadFile(filepath.Join(f.Dir, "cipher", "gocryptfs.conf"))
		if err != nil {
			tb.Fatal(err)
		}
		var c struct{ LongNameMax int }
		if err := json.Unmarshal(conf, &c); err != nil {
			tb.Fatalf("%s: gocryptfs.conf: %v", f.Name, err)
		}
		f.LongNameMax = c.LongNameMax
		out = append(out, f)
	}
	return out
}

func fixtureByName(tb testing.TB, name string) *fixture {
	tb.Helper()
	for _, f := range loadFixtures(tb) {
		if f.Name == name {
			return f
		}
	}
	tb.Fatalf("fixture %s not found", name)
	return nil
}

func splitPath(p string) (dir, base string) {
	dir, base = path.Split(p)
	return path.Clean("/" + dir)[1:], base
}

func mustHex(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

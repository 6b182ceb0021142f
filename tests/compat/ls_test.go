package compat

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/veilfs/veilfs/tests/harness"
)

// lsEntry is the part of `veilfs ls --json` these tests check.
type lsEntry struct {
	Type       string  `json:"type"`
	Size       *int64  `json:"size"`
	Name       *string `json:"name"`
	Path       *string `json:"path"`
	CipherPath string  `json:"cipher_path"`
	Role       string  `json:"role"`
	Error      string  `json:"error"`
}

// TestFixturesLs: without mounting, `veilfs ls -R` of every gocryptfs
// fixture lists exactly the plaintext tree the manifest records (paths,
// types, sizes of files and symlink targets) with the ciphertext paths
// that gocryptfs itself reported (its control socket's EncryptPath); the
// table output has the same rows. `veilfs path encrypt` and `path
// decrypt` agree with that mapping for every entry, both ways.
func TestFixturesLs(t *testing.T) {
	fixtures := loadFixtures(t)
	root := harness.FixturesDir(t)
	for _, name := range sortedKeys(fixtures) {
		fx := fixtures[name]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cipherdir := prepareCipherdir(t, filepath.Join(root, name), fx)
			pw := harness.Passfile(t, fx.Password)

			res := harness.Run(t, "", "ls", "-R", "--json", "--passfile", pw, cipherdir)
			if res.Code != 0 || res.Stderr != "" {
				t.Fatalf("veilfs ls -R --json: %v", res)
			}
			var got []lsEntry
			if err := json.Unmarshal([]byte(res.Stdout), &got); err != nil {
				t.Fatalf("ls --json output: %v\n%s", err, res.Stdout)
			}
			type row struct{ path, typ, cipher string }
			var gotRows, wantRows []row
			for _, e := range got {
				if e.Path == nil || e.Name == nil || e.Error != "" || e.Role != "" {
					t.Errorf("entry %+v: want a decrypted entry of the tree", e)
					continue
				}
				gotRows = append(gotRows, row{strings.TrimPrefix(*e.Path, "/"), e.Type, e.CipherPath})
				if *e.Name != filepath.Base(*e.Path) {
					t.Errorf("%s: name %q", *e.Path, *e.Name)
				}
			}
			sizes := map[string]int64{}
			for _, e := range got {
				if e.Size != nil && e.Path != nil {
					sizes[strings.TrimPrefix(*e.Path, "/")] = *e.Size
				}
			}
			for _, e := range fx.Entries {
				wantRows = append(wantRows, row{e.Path, e.Type, e.CipherPath})
				var want *int64
				switch e.Type {
				case "file":
					want = e.Size
				case "symlink":
					n := int64(len(*e.Target))
					want = &n
				}
				if size, ok := sizes[e.Path]; (want != nil) != ok || (ok && size != *want) {
					t.Errorf("%s: size %d (listed %v), want %v", e.Path, size, ok, want)
				}
			}
			byPath := func(a, b row) int { return strings.Compare(a.path, b.path) }
			slices.SortFunc(gotRows, byPath)
			slices.SortFunc(wantRows, byPath)
			if !slices.Equal(gotRows, wantRows) {
				t.Errorf("veilfs ls -R lists\n%v\nthe manifest has\n%v", gotRows, wantRows)
			}

			// The table has one row per entry, with both names on it.
			res = harness.Run(t, "", "ls", "-R", "--passfile", pw, cipherdir)
			lines := strings.Split(strings.TrimSuffix(res.Stdout, "\n"), "\n")
			if res.Code != 0 || len(lines) != len(fx.Entries)+1 || !strings.HasPrefix(lines[0], "TYPE") {
				t.Fatalf("veilfs ls -R: %d lines for %d entries: %v", len(lines), len(fx.Entries), res)
			}
			for _, e := range fx.Entries {
				if !slices.ContainsFunc(lines, func(l string) bool {
					// Names may hold spaces (plaintext names): match the columns by position.
					return strings.HasPrefix(l, e.Type+" ") && strings.HasSuffix(l, "  "+e.CipherPath) && strings.Contains(l, "  "+e.Path+"  ")
				}) {
					t.Errorf("no table row for %s (%s, %s)", e.Path, e.Type, e.CipherPath)
				}
			}

			// path encrypt/decrypt, unlocked with the master key.
			for _, e := range fx.Entries {
				res := harness.Run(t, "", "path", "encrypt", "--masterkey", fx.MasterkeyAsPrinted, cipherdir, e.Path)
				if res.Code != 0 || res.Stdout != e.CipherPath+"\n" {
					t.Errorf("path encrypt %s: want %s, got %v", e.Path, e.CipherPath, res)
				}
				res = harness.Run(t, "", "path", "decrypt", "--passfile", pw, cipherdir, e.CipherPath)
				if res.Code != 0 || res.Stdout != "/"+e.Path+"\n" {
					t.Errorf("path decrypt %s: want /%s, got %v", e.CipherPath, e.Path, res)
				}
			}
		})
	}
}

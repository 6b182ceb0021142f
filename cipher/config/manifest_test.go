package config

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// manifest is the part of a fixture's fixtures.json these tests need.
type manifest struct {
	Dir          string
	Name         string   `json:"fixture"`
	Password     string   `json:"password"`
	MasterKeyHex string   `json:"masterkey_hex"`
	InitFlags    []string `json:"init_flags"`
}

func readManifests(tb testing.TB) []*manifest {
	tb.Helper()
	paths, _ := filepath.Glob(filepath.Join(fixtureRoot, "*", "fixtures.json"))
	var out []*manifest
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			tb.Fatal(err)
		}
		m := &manifest{Dir: filepath.Dir(p)}
		if err := json.Unmarshal(data, m); err != nil {
			tb.Fatalf("%s: %v", p, err)
		}
		out = append(out, m)
	}
	return out
}

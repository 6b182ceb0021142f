package view

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/veilfs/veilfs/cipher"
	"github.com/veilfs/veilfs/cipher/config"
	"github.com/veilfs/veilfs/fs/cipherdir"
)

func TestInitReverse(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "existing.txt"), []byte("data"), 0o600); err != nil {
		t.Fatal(err)
	}
	master, err := Init(dir, []byte("pw"), config.CreateOptions{LogN: 10})
	if err != nil {
		t.Fatal(err)
	}
	defer cipher.Wipe(master)
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	// The plaintext stays, no gocryptfs.diriv is written, no tmp is left.
	if want := []string{config.ReverseFilename, "existing.txt"}; !slices.Equal(names, want) {
		t.Errorf("directory holds %q, want %q", names, want)
	}
	fi, err := os.Stat(cipherdir.ReverseConfigPath(dir))
	if err != nil || fi.Mode().Perm() != 0o400 {
		t.Fatalf("config: %v, %v", fi, err)
	}
	conf, err := config.Load(cipherdir.ReverseConfigPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	// The flags gocryptfs 2.3 -init -reverse writes, in its order.
	want := []config.Flag{config.FlagHKDF, config.FlagGCMIV128, config.FlagDirIV, config.FlagEMENames, config.FlagLongNames, config.FlagRaw64, config.FlagAESSIV}
	if !slices.Equal(conf.FeatureFlags, want) {
		t.Errorf("flags %v, want %v", conf.FeatureFlags, want)
	}
	got, err := conf.UnlockMasterKey([]byte("pw"))
	if err != nil || !slices.Equal(got, master) {
		t.Errorf("password does not unlock the returned master key: %v", err)
	}
	if !cipherdir.IsReverseDir(dir) {
		t.Error("IsReverseDir is false after Init")
	}

	if _, err := Init(dir, []byte("pw"), config.CreateOptions{LogN: 10}); !errors.Is(err, ErrExists) {
		t.Errorf("second init: %v", err)
	}
	if b, _ := os.ReadFile(cipherdir.ReverseConfigPath(dir)); !slices.Equal(b, conf.Marshal()) {
		t.Error("second init changed the config")
	}
}

func TestInitReverseRefuses(t *testing.T) {
	base := t.TempDir()
	file := filepath.Join(base, "file")
	os.WriteFile(file, nil, 0o600)
	fwd := filepath.Join(base, "fwd")
	if m, err := cipherdir.Init(fwd, []byte("pw"), config.CreateOptions{LogN: 10}); err != nil {
		t.Fatal(err)
	} else {
		cipher.Wipe(m)
	}
	for _, tt := range []struct {
		name string
		dir  string
		opts config.CreateOptions
		want error
	}{
		{"missing", filepath.Join(base, "missing"), config.CreateOptions{}, os.ErrNotExist},
		{"file", file, config.CreateOptions{}, nil},
		{"forward volume", fwd, config.CreateOptions{}, ErrForwardVolume},
		{"xchacha", base, config.CreateOptions{XChaCha: true}, ErrNeedsSIV},
	} {
		tt.opts.LogN = 10
		_, err := Init(tt.dir, []byte("pw"), tt.opts)
		if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
	}
	if _, err := os.Lstat(cipherdir.ReverseConfigPath(base)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused init wrote a config: %v", err)
	}
	if cipherdir.IsReverseDir(fwd) || cipherdir.IsReverseDir(base) {
		t.Error("IsReverseDir true for a forward volume or a plain directory")
	}
}

func TestInitReverseOptions(t *testing.T) {
	for name, tt := range map[string]struct {
		opts config.CreateOptions
		want []config.Flag
	}{
		"plaintextnames": {config.CreateOptions{PlaintextNames: true}, []config.Flag{config.FlagHKDF, config.FlagGCMIV128, config.FlagPlaintextNames, config.FlagAESSIV}},
		"deterministic, longnamemax 62": {config.CreateOptions{DeterministicNames: true, LongNameMax: 62},
			[]config.Flag{config.FlagHKDF, config.FlagGCMIV128, config.FlagLongNameMax, config.FlagEMENames, config.FlagLongNames, config.FlagRaw64, config.FlagAESSIV}},
	} {
		dir := t.TempDir()
		tt.opts.LogN = 10
		m, err := Init(dir, []byte("pw"), tt.opts)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		cipher.Wipe(m)
		conf, err := config.Load(cipherdir.ReverseConfigPath(dir))
		if err != nil || !slices.Equal(conf.FeatureFlags, tt.want) {
			t.Errorf("%s: flags %v (%v), want %v", name, conf.FeatureFlags, err, tt.want)
		}
	}
}

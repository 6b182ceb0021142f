package cipherdir

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/veilfs/veilfs/cipher"
	"github.com/veilfs/veilfs/cipher/config"
)

var wrongKey = bytes.Repeat([]byte{0x77}, cipher.MasterKeySize)

// TestCheckKeyFixtures: on every gocryptfs-made fixture volume, the right
// master key is confirmed and a wrong one refused.
func TestCheckKeyFixtures(t *testing.T) {
	paths, _ := filepath.Glob("../../testdata/fixtures/*/fixtures.json")
	if len(paths) < 6 {
		t.Fatalf("found %d fixtures", len(paths))
	}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var m struct {
			Name string `json:"fixture"`
			Key  string `json:"masterkey_hex"`
		}
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatal(err)
		}
		t.Run(m.Name, func(t *testing.T) {
			dir := filepath.Join(filepath.Dir(p), "cipher")
			key, _ := hex.DecodeString(m.Key)
			for _, tc := range []struct {
				name string
				key  []byte
				ok   bool
			}{{"right key", key, true}, {"wrong key", wrongKey, false}} {
				v, err := OpenWithMasterKey(dir, tc.key)
				if err != nil {
					t.Fatal(err)
				}
				ok, err := v.CheckKey()
				v.Wipe()
				if tc.ok && (!ok || err != nil) {
					t.Errorf("%s: %v, %v; want a match", tc.name, ok, err)
				}
				if !tc.ok && (ok || !errors.Is(err, ErrKeyMismatch)) {
					t.Errorf("%s: %v, %v; want ErrKeyMismatch", tc.name, ok, err)
				}
			}
		})
	}
}

// newKeyCheckVolume creates a volume and returns its dir and master key.
func newKeyCheckVolume(t *testing.T, opts config.CreateOptions) (string, []byte) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "c")
	opts.LogN = cipher.MinScryptLogN
	master, err := Init(dir, testPassword, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cipher.Wipe(master) })
	return dir, master
}

// writeFile stores plain as a file named name in the root of v.
func writeFile(t *testing.T, v *Volume, name string, plain []byte) {
	t.Helper()
	fd, err := v.OpenRoot()
	if err != nil {
		t.Fatal(err)
	}
	defer closeFD(fd)
	iv, err := v.DirIVAt(fd)
	if err != nil {
		t.Fatal(err)
	}
	disk, _, err := v.DiskName(name, iv, true)
	if err != nil {
		t.Fatal(err)
	}
	var data []byte
	if plain != nil {
		id := cipher.NewFileID()
		data = v.Content.SealBlocks(cipher.MarshalHeader(id), plain, 0, id)
	}
	if err := os.WriteFile(filepath.Join(v.Dir, disk), data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func mkdirs(t *testing.T, v *Volume, names ...string) {
	t.Helper()
	fd, err := v.OpenRoot()
	if err != nil {
		t.Fatal(err)
	}
	defer closeFD(fd)
	iv, err := v.DirIVAt(fd)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		disk, _, err := v.DiskName(n, iv, true)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := v.Mkdir(fd, disk, 0o700); err != nil {
			t.Fatal(err)
		}
	}
}

func TestCheckKey(t *testing.T) {
	type verdict int
	const (
		match verdict = iota
		mismatch
		unknown
		// notMatch is mismatch or unknown: names carry no MAC, so about 1
		// in 256 names decrypts under a wrong key, and a check that rests
		// on names alone may find too little either way.
		notMatch
	)
	tests := []struct {
		name  string
		opts  config.CreateOptions
		fill  func(t *testing.T, v *Volume)
		right verdict // with the right key
		wrong verdict // with a wrong key
	}{
		{"empty volume", config.CreateOptions{}, func(*testing.T, *Volume) {}, unknown, unknown},
		{"empty files only", config.CreateOptions{}, func(t *testing.T, v *Volume) {
			writeFile(t, v, "a", nil)
		}, unknown, notMatch},
		{"one file with content", config.CreateOptions{}, func(t *testing.T, v *Volume) {
			writeFile(t, v, "a", []byte("hello"))
		}, match, mismatch},
		{"xchacha content", config.CreateOptions{XChaCha: true}, func(t *testing.T, v *Volume) {
			writeFile(t, v, "a", []byte("hello"))
		}, match, mismatch},
		{"plaintext names, content", config.CreateOptions{PlaintextNames: true}, func(t *testing.T, v *Volume) {
			writeFile(t, v, "a", []byte("hello"))
		}, match, mismatch},
		{"plaintext names, empty file", config.CreateOptions{PlaintextNames: true}, func(t *testing.T, v *Volume) {
			writeFile(t, v, "a", nil)
		}, unknown, unknown},
		{"a hole proves nothing", config.CreateOptions{}, func(t *testing.T, v *Volume) {
			fd, _ := v.OpenRoot()
			defer closeFD(fd)
			iv, _ := v.DirIVAt(fd)
			disk, _, _ := v.DiskName("sparse", iv, true)
			id := cipher.NewFileID()
			data := append(cipher.MarshalHeader(id), make([]byte, v.Content.CipherBlockSize())...)
			os.WriteFile(filepath.Join(v.Dir, disk), data, 0o600)
		}, unknown, notMatch},
		{"three directories (names only)", config.CreateOptions{}, func(t *testing.T, v *Volume) {
			mkdirs(t, v, "one", "two", "three")
		}, match, notMatch},
		{"a symlink", config.CreateOptions{}, func(t *testing.T, v *Volume) {
			fd, _ := v.OpenRoot()
			defer closeFD(fd)
			iv, _ := v.DirIVAt(fd)
			disk, _, _ := v.DiskName("l", iv, true)
			target, err := v.EncryptLink("somewhere")
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(target, filepath.Join(v.Dir, disk)); err != nil {
				t.Fatal(err)
			}
		}, match, mismatch},
		{"content in a subdirectory", config.CreateOptions{}, func(t *testing.T, v *Volume) {
			mkdirs(t, v, "d")
			sub := &Volume{Dir: v.Dir, Content: v.Content, Names: v.Names, DirIV: true}
			fd, _ := v.OpenRoot()
			iv, _ := v.DirIVAt(fd)
			disk, _, _ := v.DiskName("d", iv, true)
			closeFD(fd)
			sub.Dir = filepath.Join(v.Dir, disk)
			writeFile(t, sub, "f", []byte("deep"))
		}, match, mismatch},
		{"a damaged file among good ones", config.CreateOptions{}, func(t *testing.T, v *Volume) {
			writeFile(t, v, "bad", []byte("will be damaged"))
			entries, _ := os.ReadDir(v.Dir)
			for _, e := range entries {
				if e.Type().IsRegular() && e.Name() != config.Filename && e.Name() != "gocryptfs.diriv" {
					p := filepath.Join(v.Dir, e.Name())
					data, _ := os.ReadFile(p)
					data[len(data)-1] ^= 1
					os.WriteFile(p, data, 0o600)
				}
			}
			writeFile(t, v, "good", []byte("fine"))
			writeFile(t, v, "good2", []byte("fine too"))
		}, match, mismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, master := newKeyCheckVolume(t, tt.opts)
			v, err := OpenWithMasterKey(dir, master)
			if err != nil {
				t.Fatal(err)
			}
			tt.fill(t, v)
			v.Wipe()
			for _, k := range []struct {
				name string
				key  []byte
				want verdict
			}{{"right key", master, tt.right}, {"wrong key", wrongKey, tt.wrong}} {
				v, err := OpenWithMasterKey(dir, k.key)
				if err != nil {
					t.Fatal(err)
				}
				ok, err := v.CheckKey()
				v.Wipe()
				got := unknown
				switch {
				case ok && err == nil:
					got = match
				case errors.Is(err, ErrKeyMismatch):
					got = mismatch
				case err != nil:
					t.Fatalf("%s: %v", k.name, err)
				}
				if got != k.want && !(k.want == notMatch && got != match) {
					t.Errorf("%s: verdict %d (%v, %v), want %d", k.name, got, ok, err, k.want)
				}
			}
		})
	}
}

// TestCheckMasterKeyWithUnlockers: on an empty volume, an extra unlocker
// still tells the right master key from a wrong one.
func TestCheckMasterKeyWithUnlockers(t *testing.T) {
	dir, master := newKeyCheckVolume(t, config.CreateOptions{})
	conf, err := LoadConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := CheckMasterKey(dir, conf, wrongKey); ok || err != nil {
		t.Errorf("no unlockers, empty volume: %v, %v; want no verdict", ok, err)
	}
	if err := conf.AddKeyfileUnlocker(master, "k", bytes.Repeat([]byte{1}, 32)); err != nil {
		t.Fatal(err)
	}
	if ok, err := CheckMasterKey(dir, conf, master); !ok || err != nil {
		t.Errorf("right key: %v, %v", ok, err)
	}
	if ok, err := CheckMasterKey(dir, conf, wrongKey); ok || !errors.Is(err, ErrKeyMismatch) {
		t.Errorf("wrong key: %v, %v", ok, err)
	}
}

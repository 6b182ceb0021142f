package config

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/veilfs/veilfs/cipher"
)

const fixtureRoot = "../../testdata/fixtures"

// testLogN keeps scrypt cheap in tests (N = 1024, gocryptfs's floor).
const testLogN = cipher.MinScryptLogN

type fixture struct {
	name, password, masterHex string
	initFlags                 []string
	conf                      []byte
}

// fixtures reads the gocryptfs.conf and credentials of every fixture volume.
func fixtures(tb testing.TB) []fixture {
	tb.Helper()
	var out []fixture
	for _, fx := range readManifests(tb) {
		conf, err := os.ReadFile(filepath.Join(fx.Dir, "cipher", Filename))
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, fixture{fx.Name, fx.Password, fx.MasterKeyHex, fx.InitFlags, conf})
	}
	if len(out) < 6 {
		tb.Fatalf("found %d fixtures, want 6", len(out))
	}
	return out
}

// optionsFor maps a fixture's gocryptfs -init flags to CreateOptions.
func optionsFor(tb testing.TB, flags []string) CreateOptions {
	opts := CreateOptions{LogN: testLogN, Creator: "gocryptfs 2.3"}
	for i := 0; i < len(flags); i++ {
		switch flags[i] {
		case "-plaintextnames":
			opts.PlaintextNames = true
		case "-deterministic-names":
			opts.DeterministicNames = true
		case "-aessiv":
			opts.AESSIV = true
		case "-xchacha":
			opts.XChaCha = true
		case "-longnamemax":
			i++
			opts.LongNameMax = atoi(tb, flags[i])
		case "-scryptn":
			i++
			opts.LogN = atoi(tb, flags[i])
		default:
			tb.Fatalf("unknown init flag %q", flags[i])
		}
	}
	return opts
}

func atoi(tb testing.TB, s string) int {
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			tb.Fatalf("not a number: %q", s)
		}
		n = n*10 + int(c-'0')
	}
	return n
}

func TestFixtures(t *testing.T) {
	for _, fx := range fixtures(t) {
		t.Run(fx.name, func(t *testing.T) {
			t.Parallel()
			f, err := Load(filepath.Join(fixtureRoot, fx.name, "cipher", Filename))
			if err != nil {
				t.Fatal(err)
			}
			if got := f.Marshal(); !bytes.Equal(got, fx.conf) {
				t.Errorf("Marshal differs from gocryptfs's file:\n%s\nwant\n%s", got, fx.conf)
			}
			mk, err := f.UnlockMasterKey([]byte(fx.password))
			if err != nil {
				t.Fatal(err)
			}
			if hex.EncodeToString(mk) != fx.masterHex {
				t.Errorf("master key %x", mk)
			}
			if _, err := f.UnlockMasterKey([]byte(fx.password + "x")); !errors.Is(err, ErrWrongPassword) {
				t.Errorf("wrong password: %v", err)
			}
			// New with the same -init options writes the same flags in the
			// same order (FORMAT §2.1 table).
			n, err := New(mk, []byte("pw"), optionsFor(t, fx.initFlags))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(n.FeatureFlags, f.FeatureFlags) || n.LongNameMax != f.LongNameMax ||
				n.Scrypt.N != f.Scrypt.N || n.Creator != f.Creator {
				t.Errorf("New: flags %v LongNameMax %d N %d; gocryptfs: %v %d %d",
					n.FeatureFlags, n.LongNameMax, n.Scrypt.N, f.FeatureFlags, f.LongNameMax, f.Scrypt.N)
			}
			// Same layout, differing only in random salt and wrapped key,
			// and in veilfs's format record, which gocryptfs ignores.
			if !n.HasFormatRecord() {
				t.Error("New made no format record")
			}
			n.Scrypt.Salt, n.EncryptedKey, n.format = f.Scrypt.Salt, f.EncryptedKey, nil
			if !bytes.Equal(n.Marshal(), fx.conf) {
				t.Errorf("New+Marshal layout differs:\n%s", n.Marshal())
			}
		})
	}
}

func TestContentAlgorithm(t *testing.T) {
	for _, tc := range []struct {
		opts CreateOptions
		want cipher.Algorithm
	}{
		{CreateOptions{}, cipher.AESGCM},
		{CreateOptions{AESSIV: true}, cipher.AESSIV},
		{CreateOptions{XChaCha: true}, cipher.XChaCha20Poly1305},
		{CreateOptions{XChaCha: true, PlaintextNames: true}, cipher.XChaCha20Poly1305},
	} {
		tc.opts.LogN = testLogN
		f, err := New(make([]byte, 32), []byte("pw"), tc.opts)
		if err != nil {
			t.Fatal(err)
		}
		if got := f.ContentAlgorithm(); got != tc.want {
			t.Errorf("%+v: %v, want %v", tc.opts, got, tc.want)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	master := bytes.Repeat([]byte{0xab}, 32)
	for _, opts := range []CreateOptions{
		{},
		{PlaintextNames: true},
		{DeterministicNames: true},
		{AESSIV: true},
		{XChaCha: true},
		{LongNameMax: 62},
		{LongNameMax: 254, AESSIV: true, DeterministicNames: true},
		{LongNameMax: 255}, // the default: not stored
		{XChaCha: true, PlaintextNames: true, Creator: "veilfs <test> & co"},
	} {
		opts.LogN = testLogN
		f, err := New(master, []byte("secret"), opts)
		if err != nil {
			t.Fatalf("%+v: %v", opts, err)
		}
		data := f.Marshal()
		if !bytes.HasSuffix(data, []byte("}\n")) || !bytes.Contains(data, []byte("\n\t\"ScryptObject\": {\n\t\t\"Salt\"")) {
			t.Errorf("layout:\n%s", data)
		}
		g, err := Parse(data)
		if err != nil {
			t.Fatalf("%+v: %v\n%s", opts, err, data)
		}
		if !reflect.DeepEqual(f, g) {
			t.Errorf("%+v: parse(marshal) differs: %+v vs %+v", opts, f, g)
		}
		mk, err := g.UnlockMasterKey([]byte("secret"))
		if err != nil || !bytes.Equal(mk, master) {
			t.Errorf("%+v: unlock: %v", opts, err)
		}
		if opts.LongNameMax == 255 && (f.LongNameMax != 0 || f.Has(FlagLongNameMax)) {
			t.Error("LongNameMax 255 was stored")
		}
	}
	f, _ := New(master, []byte("x"), CreateOptions{})
	if f.Scrypt.N != 1<<cipher.DefaultScryptLogN || f.Creator != "veilfs" {
		t.Errorf("defaults: N=%d creator %q", f.Scrypt.N, f.Creator)
	}
}

func TestNewRejects(t *testing.T) {
	mk := make([]byte, 32)
	for _, tc := range []struct {
		name   string
		master []byte
		pw     []byte
		opts   CreateOptions
		is     error
	}{
		{"empty password", mk, nil, CreateOptions{}, ErrEmptyPassword},
		{"long password", mk, make([]byte, 2049), CreateOptions{}, ErrPasswordTooLong},
		{"short master", mk[:16], []byte("pw"), CreateOptions{}, nil},
		{"siv+xchacha", mk, []byte("pw"), CreateOptions{AESSIV: true, XChaCha: true}, nil},
		{"longnamemax 61", mk, []byte("pw"), CreateOptions{LongNameMax: 61}, nil},
		{"longnamemax 256", mk, []byte("pw"), CreateOptions{LongNameMax: 256}, nil},
		{"plaintext+deterministic", mk, []byte("pw"), CreateOptions{PlaintextNames: true, DeterministicNames: true}, nil},
		{"plaintext+longnamemax", mk, []byte("pw"), CreateOptions{PlaintextNames: true, LongNameMax: 100}, nil},
		{"logN 9", mk, []byte("pw"), CreateOptions{LogN: 9}, nil},
		{"logN 29", mk, []byte("pw"), CreateOptions{LogN: 29}, nil},
	} {
		tc.opts.LogN = max(tc.opts.LogN, 0)
		if tc.opts.LogN == 0 {
			tc.opts.LogN = testLogN
		}
		_, err := New(tc.master, tc.pw, tc.opts)
		if err == nil || (tc.is != nil && !errors.Is(err, tc.is)) {
			t.Errorf("%s: err %v", tc.name, err)
		}
	}
	if _, err := New(mk, make([]byte, 2048), CreateOptions{LogN: testLogN}); err != nil {
		t.Errorf("2048-byte password: %v", err)
	}
}

// TestValidateCorpus is the negative corpus: one failing case per rule of
// FORMAT §2.1 "Validation" (and a few more), each derived from a valid
// gocryptfs 2.3 config by one change.
func TestValidateCorpus(t *testing.T) {
	base := string(fixtureConf(t, "v2-default"))
	set := func(old, repl string) func() string {
		return func() string {
			if !strings.Contains(base, old) {
				t.Fatalf("base config lacks %q", old)
			}
			return strings.Replace(base, old, repl, 1)
		}
	}
	flags := func(fl ...string) func() string {
		i, j := strings.Index(base, `"FeatureFlags": [`), strings.LastIndex(base, "]")
		return func() string {
			return base[:i] + `"FeatureFlags": ["` + strings.Join(fl, `", "`) + `"` + base[j:]
		}
	}
	var unsupported *UnsupportedFeatureError
	for _, tc := range []struct {
		rule, name string
		data       func() string
	}{
		{"1", "empty", func() string { return "" }},
		{"1", "whitespace", func() string { return " \n\t" }},
		{"1", "truncated JSON", func() string { return base[:len(base)/2] }},
		{"1", "trailing garbage", func() string { return base + "x" }},
		{"1", "array", func() string { return "[]" }},
		{"1", "null", func() string { return "null" }},
		{"1", "N is a string", set(`"N": 1024`, `"N": "1024"`)},
		{"1", "EncryptedKey not base64", set(`"EncryptedKey": "`, `"EncryptedKey": "*`)},
		{"2", "version 1", set(`"Version": 2`, `"Version": 1`)},
		{"2", "version 3", set(`"Version": 2`, `"Version": 3`)},
		{"2", "version missing", set(`"Version": 2,`, ``)},
		{"3", "N 512", set(`"N": 1024`, `"N": 512`)},
		{"3", "N not power of two", set(`"N": 1024`, `"N": 1025`)},
		{"3", "R 7", set(`"R": 8`, `"R": 7`)},
		{"3", "P 0", set(`"P": 1`, `"P": 0`)},
		{"3", "KeyLen 31", set(`"KeyLen": 32`, `"KeyLen": 31`)},
		{"3", "salt 31 bytes", set(`"Salt": "SteEfQBeNOZSsTgkxNFUXtr1dQi1yg+PJTaSc58dlq4="`, `"Salt": "SteEfQBeNOZSsTgkxNFUXtr1dQi1yg+PJTaSc58dlg=="`)},
		{"3", "ScryptObject missing", set(`"ScryptObject"`, `"Other"`)},
		{"4", "unknown flag", flags("HKDF", "GCMIV128", "DirIV", "EMENames", "LongNames", "Raw64", "Zstd")},
		{"4", "flag wrong case", flags("HKDF", "GCMIV128", "DirIV", "EMENames", "LongNames", "raw64")},
		{"5", "AESSIV and XChaCha", flags("HKDF", "GCMIV128", "AESSIV", "XChaCha20Poly1305", "DirIV", "EMENames", "LongNames", "Raw64")},
		{"5", "AESSIV without GCMIV128", flags("HKDF", "AESSIV", "DirIV", "EMENames", "LongNames", "Raw64")},
		{"5", "XChaCha with GCMIV128", flags("HKDF", "GCMIV128", "XChaCha20Poly1305", "DirIV", "EMENames", "LongNames", "Raw64")},
		{"5", "XChaCha without HKDF", flags("XChaCha20Poly1305", "DirIV", "EMENames", "LongNames", "Raw64")},
		{"5", "AES-GCM without GCMIV128", flags("HKDF", "DirIV", "EMENames", "LongNames", "Raw64")},
		{"6", "PlaintextNames with EMENames", flags("HKDF", "GCMIV128", "PlaintextNames", "EMENames")},
		{"6", "PlaintextNames with DirIV", flags("HKDF", "GCMIV128", "PlaintextNames", "DirIV")},
		{"6", "PlaintextNames with LongNames", flags("HKDF", "GCMIV128", "PlaintextNames", "LongNames")},
		{"6", "PlaintextNames with Raw64", flags("HKDF", "GCMIV128", "PlaintextNames", "Raw64")},
		{"6", "PlaintextNames with LongNameMax", func() string {
			return strings.Replace(flags("HKDF", "GCMIV128", "PlaintextNames", "LongNameMax")(), "]\n}", "],\n\t\"LongNameMax\": 100\n}", 1)
		}},
		{"6", "LongNameMax flag without field", flags("HKDF", "GCMIV128", "DirIV", "LongNameMax", "EMENames", "LongNames", "Raw64")},
		{"6", "LongNameMax field without flag", set("]\n}", "],\n\t\"LongNameMax\": 100\n}")},
		{"6", "LongNameMax 61", func() string {
			return strings.Replace(flags("HKDF", "GCMIV128", "DirIV", "LongNameMax", "EMENames", "LongNames", "Raw64")(), "]\n}", "],\n\t\"LongNameMax\": 61\n}", 1)
		}},
		{"6", "LongNameMax 256", func() string {
			return strings.Replace(flags("HKDF", "GCMIV128", "DirIV", "LongNameMax", "EMENames", "LongNames", "Raw64")(), "]\n}", "],\n\t\"LongNameMax\": 256\n}", 1)
		}},
		{"6", "encrypted names without EMENames", flags("HKDF", "GCMIV128", "DirIV", "LongNames", "Raw64")},
		{"7", "no HKDF (legacy)", flags("GCMIV128", "DirIV", "EMENames", "LongNames", "Raw64")},
		{"key", "EncryptedKey 60 bytes", set(`"EncryptedKey": "uFxoZO+x+ULz8hDYi2UzFP9zAmLpeaD99AqbPZGvF0Rke2cKVznrjq1RLfIqZEwJSN3LeNMfqxSN8O999FnTdA=="`,
			`"EncryptedKey": "uFxoZO+x+ULz8hDYi2UzFP9zAmLpeaD99AqbPZGvF0Rke2cKVznrjq1RLfIqZEwJSN3LeNMfqxSN8O99"`)},
		{"key", "EncryptedKey missing", set(`"EncryptedKey"`, `"Unrelated"`)},
	} {
		t.Run(tc.rule+"/"+tc.name, func(t *testing.T) {
			t.Parallel()
			data := tc.data()
			if data == base {
				t.Fatal("mutation did not change the config")
			}
			f, err := Parse([]byte(data))
			if err == nil {
				t.Fatalf("accepted:\n%s", data)
			}
			if f != nil {
				t.Error("non-nil File with error")
			}
			if tc.rule == "4" && (!errors.As(err, &unsupported) || !strings.Contains(err.Error(), "newer")) {
				t.Errorf("rule 4 error is not an UnsupportedFeatureError: %v", err)
			}
		})
	}
	// Positive controls: gocryptfs's JSON leniency (rule 1).
	for name, data := range map[string]string{
		"lower-case keys": strings.NewReplacer(`"Creator"`, `"creator"`, `"N"`, `"n"`, `"FeatureFlags"`, `"featureflags"`).Replace(base),
		"unknown key":     strings.Replace(base, `"Version": 2,`, `"Version": 2, "Future": {"x": [1]},`, 1),
		"flag order":      flags("Raw64", "LongNames", "EMENames", "DirIV", "GCMIV128", "HKDF")(),
		"compact":         strings.NewReplacer("\n", "", "\t", "").Replace(base),
	} {
		if _, err := Parse([]byte(data)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func fixtureConf(tb testing.TB, name string) []byte {
	data, err := os.ReadFile(filepath.Join(fixtureRoot, name, "cipher", Filename))
	if err != nil {
		tb.Fatal(err)
	}
	return data
}

// A FIDO2 config as gocryptfs writes it (FIDO2 object between FeatureFlags
// and LongNameMax).
const fido2Conf = `{
	"Creator": "gocryptfs v2.4.0",
	"EncryptedKey": "uFxoZO+x+ULz8hDYi2UzFP9zAmLpeaD99AqbPZGvF0Rke2cKVznrjq1RLfIqZEwJSN3LeNMfqxSN8O999FnTdA==",
	"ScryptObject": {
		"Salt": "SteEfQBeNOZSsTgkxNFUXtr1dQi1yg+PJTaSc58dlq4=",
		"N": 1024,
		"R": 8,
		"P": 1,
		"KeyLen": 32
	},
	"Version": 2,
	"FeatureFlags": [
		"HKDF",
		"GCMIV128",
		"DirIV",
		"LongNameMax",
		"EMENames",
		"LongNames",
		"Raw64",
		"FIDO2"
	],
	"FIDO2": {
		"CredentialID": "AQID",
		"HMACSalt": "BAUG",
		"AssertOptions": [
			"uv=true"
		]
	},
	"LongNameMax": 100
}
`

func TestFIDO2KeptOpaque(t *testing.T) {
	f, err := Parse([]byte(fido2Conf))
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Marshal(); string(got) != fido2Conf {
		t.Errorf("FIDO2 config not reproduced:\n%s", got)
	}
	var unsupported *UnsupportedFeatureError
	if _, err := f.UnlockMasterKey([]byte("pw")); !errors.As(err, &unsupported) || unsupported.Flag != "FIDO2" {
		t.Errorf("unlock FIDO2 volume: %v", err)
	}
	if err := f.Rewrap(make([]byte, 32), []byte("pw"), 0); !errors.As(err, &unsupported) {
		t.Errorf("rewrap FIDO2 volume: %v", err)
	}
	if _, err := Parse([]byte(strings.Replace(fido2Conf, `"FIDO2": {`, `"FIDO2": 5, "x": {`, 1))); err == nil {
		t.Error("FIDO2 that is not an object accepted")
	}
}

func TestPasswords(t *testing.T) {
	mk := bytes.Repeat([]byte{1}, 32)
	f, err := New(mk, []byte("old"), CreateOptions{LogN: testLogN})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		pw []byte
		is error
	}{
		{[]byte("wrong"), ErrWrongPassword},
		{[]byte("old\n"), ErrWrongPassword},
		{nil, ErrEmptyPassword},
		{make([]byte, 2049), ErrPasswordTooLong},
	} {
		if _, err := f.UnlockMasterKey(tc.pw); !errors.Is(err, tc.is) {
			t.Errorf("%q: %v, want %v", tc.pw, err, tc.is)
		}
	}
}

func TestRewrap(t *testing.T) {
	mk := bytes.Repeat([]byte{2}, 32)
	f, err := New(mk, []byte("old"), CreateOptions{LogN: testLogN})
	if err != nil {
		t.Fatal(err)
	}
	before := *f
	if err := f.Rewrap(mk, []byte("new"), 0); err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(f.Scrypt.Salt, before.Scrypt.Salt) || bytes.Equal(f.EncryptedKey[:16], before.EncryptedKey[:16]) {
		t.Error("salt or nonce reused")
	}
	if f.Scrypt.N != before.Scrypt.N {
		t.Errorf("logN 0 changed N to %d", f.Scrypt.N)
	}
	g, err := Parse(f.Marshal())
	if err != nil {
		t.Fatal(err)
	}
	if got, err := g.UnlockMasterKey([]byte("new")); err != nil || !bytes.Equal(got, mk) {
		t.Errorf("unlock with new password: %v", err)
	}
	if _, err := g.UnlockMasterKey([]byte("old")); !errors.Is(err, ErrWrongPassword) {
		t.Errorf("old password: %v", err)
	}
	if err := f.Rewrap(mk, []byte("newer"), testLogN+1); err != nil || f.Scrypt.N != 2048 {
		t.Errorf("rewrap logN 11: N=%d, %v", f.Scrypt.N, err)
	}
	// Failures leave f untouched.
	snapshot := f.Marshal()
	for _, tc := range []struct {
		mk, pw []byte
		logN   int
	}{
		{mk, nil, 0},
		{mk[:31], []byte("x"), 0},
		{mk, []byte("x"), 5},
	} {
		if err := f.Rewrap(tc.mk, tc.pw, tc.logN); err == nil {
			t.Errorf("Rewrap(%d-byte key, %q, %d) succeeded", len(tc.mk), tc.pw, tc.logN)
		}
		if !bytes.Equal(f.Marshal(), snapshot) {
			t.Fatal("failed Rewrap modified the config")
		}
	}
}

func TestSave(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, Filename)
	f, err := New(bytes.Repeat([]byte{3}, 32), []byte("pw"), CreateOptions{LogN: testLogN})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Save(path); err != nil {
		t.Fatal(err)
	}
	checkSaved := func(want []byte) {
		t.Helper()
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o400 {
			t.Errorf("mode %v, want 0400", st.Mode().Perm())
		}
		if got, _ := os.ReadFile(path); !bytes.Equal(got, want) {
			t.Errorf("content:\n%s", got)
		}
		entries, _ := os.ReadDir(dir)
		if len(entries) != 1 {
			t.Errorf("directory holds %d entries, want only the config", len(entries))
		}
	}
	checkSaved(f.Marshal())
	g, err := Load(path)
	if err != nil || !reflect.DeepEqual(f, g) {
		t.Fatalf("Load after Save: %v", err)
	}
	// Replace an existing (read-only) config, as a password change does.
	if err := f.Rewrap(bytes.Repeat([]byte{3}, 32), []byte("pw2"), 0); err != nil {
		t.Fatal(err)
	}
	if err := f.Save(path); err != nil {
		t.Fatal(err)
	}
	checkSaved(f.Marshal())

	// A stale tmp file makes Save fail and is left alone, as is the config.
	saved := f.Marshal()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte("someone else's"), 0o600); err != nil {
		t.Fatal(err)
	}
	f2, _ := New(bytes.Repeat([]byte{4}, 32), []byte("pw"), CreateOptions{LogN: testLogN})
	err = f2.Save(path)
	if !errors.Is(err, fs.ErrExist) || !strings.Contains(err.Error(), tmp) {
		t.Errorf("Save over stale tmp: %v", err)
	}
	if got, _ := os.ReadFile(tmp); string(got) != "someone else's" {
		t.Error("stale tmp clobbered")
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, saved) {
		t.Error("config changed by a failed Save")
	}
	os.Remove(tmp)

	// An invalid config is not written at all.
	bad := *f
	bad.Version = 3
	if err := bad.Save(path); err == nil {
		t.Error("saved an invalid config")
	}
	checkSaved(saved)

	// Missing directory: error, nothing left behind.
	if err := f.Save(filepath.Join(dir, "nope", Filename)); err == nil {
		t.Error("Save into a missing directory succeeded")
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := Load(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	p := filepath.Join(dir, "bad")
	os.WriteFile(p, []byte(`{"Version": 3}`), 0o600)
	if _, err := Load(p); err == nil || !strings.Contains(err.Error(), p) {
		t.Errorf("error does not name the path: %v", err)
	}
}

func TestUnsupportedFeatureError(t *testing.T) {
	if msg := (&UnsupportedFeatureError{Flag: "Zstd"}).Error(); !strings.Contains(msg, `"Zstd"`) || !strings.Contains(msg, "newer") {
		t.Error(msg)
	}
	if msg := (&UnsupportedFeatureError{Flag: "FIDO2"}).Error(); !strings.Contains(msg, "FIDO2") {
		t.Error(msg)
	}
}

// TestSaveVerified: the check runs on the written file before it replaces
// the config, so a check that fails leaves the old config byte-identical
// (mode 0400) and no tmp file behind; one that passes saw exactly the new
// config.
func TestSaveVerified(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, Filename)
	mk := bytes.Repeat([]byte{5}, 32)
	f, err := New(mk, []byte("pw"), CreateOptions{LogN: testLogN})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Save(path); err != nil {
		t.Fatal(err)
	}
	old, _ := os.ReadFile(path)
	if err := f.Rewrap(mk, []byte("pw2"), 0); err != nil {
		t.Fatal(err)
	}
	errNo := errors.New("no")
	var seen []byte
	err = f.SaveVerified(path, func(g *File) error {
		seen = g.Marshal()
		return errNo
	})
	var verr *VerifyError
	if !errors.As(err, &verr) || !errors.Is(err, errNo) || verr.Path != path {
		t.Fatalf("failing check: %v", err)
	}
	if !bytes.Equal(seen, f.Marshal()) {
		t.Error("the check did not see the new config")
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, old) {
		t.Error("a failed check replaced the config")
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o400 {
		t.Errorf("old config: %v %v", st, err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only the config", len(entries))
	}

	if err := f.SaveVerified(path, func(g *File) error {
		m, err := g.UnlockMasterKey([]byte("pw2"))
		if err == nil && !bytes.Equal(m, mk) {
			err = errors.New("another key")
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, f.Marshal()) {
		t.Error("a passed check did not replace the config")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only the config", len(entries))
	}
}

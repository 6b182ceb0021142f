//go:build linux

package hostile_test

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/veilfs/veilfs/cipher"
	"github.com/veilfs/veilfs/tests/harness"
)

// TestUnlockerSubstitution is audit finding 5. An unlocker's public key is
// stored encrypted under the master key, so anyone who once had the master
// key (here "mallory", whose keyfile unlocker was removed) knows it; the
// seal of the master key to it says nothing about who made it. With write
// access to CIPHERDIR only, mallory seals a key of his own to the user's
// keyfile unlocker, re-encrypts its public key under that key, drops the
// format record (so that nothing else is checked under the key) and plants
// one file encrypted with it. Before the fix the user's next keyfile mount
// used mallory's key, and every file written from then on was his to read.
//
// Two defences, one subtest each: a key rotation gives every unlocker a
// fresh key pair, so the public key mallory learned seals nothing the user's
// entry opens; and each entry commits to its master key inside what only
// its secret can write, so a substitute key is refused even where mallory
// knows the current public key (no rotation since his removal).
func TestUnlockerSubstitution(t *testing.T) {
	harness.RequireFUSE(t)
	for _, rotate := range []bool{true, false} {
		name := "after keys remove and rotate"
		if !rotate {
			name = "after keys remove only"
		}
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "cipher")
			pw := harness.Passfile(t, harness.DefaultPassword)
			res := harness.Run(t, "", "init", "--scryptn", "10", "--passfile", pw, dir)
			if res.Code != 0 {
				t.Fatalf("init: %v", res)
			}
			master := masterKeyOf(t, res.Stdout)
			mnt := t.TempDir()
			harness.MountVolume(t, dir, mnt, harness.DefaultPassword)
			if err := os.WriteFile(filepath.Join(mnt, "notes.txt"), []byte("the user's notes\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			harness.Unmount(t, mnt)

			keys := t.TempDir()
			userKey, malloryKey := filepath.Join(keys, "user.key"), filepath.Join(keys, "mallory.key")
			for label, kf := range map[string]string{"user": userKey, "mallory": malloryKey} {
				if res := harness.Run(t, "", "keys", "add", "--passfile", pw, "--new-keyfile", kf, "--label", label, dir); res.Code != 0 {
					t.Fatalf("keys add %s: %v", label, res)
				}
			}
			// What mallory learns while he still has access: the master key
			// (his keyfile opens it) and, with it, the user's public key.
			pub := unlockerPublicKey(t, dir, "user", master)

			if res := harness.Run(t, "", "keys", "remove", "--passfile", pw, "--label", "mallory", dir); res.Code != 0 {
				t.Fatalf("keys remove: %v", res)
			}
			if rotate {
				if res := harness.Run(t, "", "rotate", "--quiet", "--keyfile", userKey, "--new-passfile", pw, dir); res.Code != 0 {
					t.Fatalf("rotate: %v", res)
				}
			}

			// The attack, with write access only.
			theirs := make([]byte, cipher.MasterKeySize)
			rand.Read(theirs)
			substituteUnlockerKey(t, dir, "user", pub, theirs)
			plantFile(t, dir, theirs)

			res = harness.TryMount(t, dir, mnt, "--keyfile", userKey)
			if _, mounted := harness.FindMount(mnt); mounted {
				t.Fatalf("the user's keyfile mounted the volume under the attacker's key: %v", res)
			}
			if res.Code != 23 || !strings.Contains(res.Stderr, `unlocker "user"`) {
				t.Errorf("mount --keyfile: want exit 23 naming the unlocker, got %v", res)
			}
			// The primary password still opens the real key, and the
			// user's file is intact.
			harness.MountVolume(t, dir, mnt, harness.DefaultPassword)
			if b, err := os.ReadFile(filepath.Join(mnt, "notes.txt")); err != nil || string(b) != "the user's notes\n" {
				t.Errorf("notes.txt after the attack: %q, %v", b, err)
			}
			harness.Unmount(t, mnt)
		})
	}
}

// masterKeyOf finds the master key init printed (8 groups of 8 hex digits).
func masterKeyOf(t *testing.T, out string) []byte {
	t.Helper()
	m := regexp.MustCompile(`(?s)([0-9a-f]{8}-){3}[0-9a-f]{8}-\s*([0-9a-f]{8}-){3}[0-9a-f]{8}`).FindString(out)
	key, err := hex.DecodeString(strings.NewReplacer("-", "", " ", "", "\n", "").Replace(m))
	if err != nil || len(key) != cipher.MasterKeySize {
		t.Fatalf("no master key in init's output (%v):\n%s", err, out)
	}
	return key
}

// unlockerAAD is the associated data of an unlocker's ciphertexts, which
// anyone can rebuild from the entry's clear fields.
func unlockerAAD(u map[string]any) []byte {
	return []byte("veilfs unlocker v1\x00" + u["Kind"].(string) + "\x00" + u["Label"].(string) + "\x00" + u["Created"].(string))
}

// readConfigJSON returns gocryptfs.conf as a generic JSON object and the
// unlocker labelled label in it.
func readConfigJSON(t *testing.T, dir, label string) (map[string]any, map[string]any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "gocryptfs.conf"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	us, _ := m["VeilfsUnlockers"].([]any)
	for _, u := range us {
		if u := u.(map[string]any); u["Label"] == label {
			return m, u
		}
	}
	t.Fatalf("no unlocker %q in gocryptfs.conf:\n%s", label, b)
	return nil, nil
}

func bytesField(t *testing.T, u map[string]any, field string) []byte {
	t.Helper()
	var b []byte
	raw, _ := json.Marshal(u[field])
	if err := json.Unmarshal(raw, &b); err != nil {
		t.Fatalf("%s: %v", field, err)
	}
	return b
}

func unlockerPublicKey(t *testing.T, dir, label string, master []byte) []byte {
	t.Helper()
	_, u := readConfigJSON(t, dir, label)
	pub, err := cipher.OpenPublicKey(master, bytesField(t, u, "EncryptedPublicKey"), unlockerAAD(u))
	if err != nil {
		t.Fatalf("the master key does not open %s's public key: %v", label, err)
	}
	return pub
}

// substituteUnlockerKey seals key to pub as the entry label's master key,
// encrypts pub under key, and removes the format record.
func substituteUnlockerKey(t *testing.T, dir, label string, pub, key []byte) {
	t.Helper()
	m, u := readConfigJSON(t, dir, label)
	aad := unlockerAAD(u)
	sealed, err := cipher.SealKey(pub, key, aad)
	if err != nil {
		t.Fatal(err)
	}
	u["SealedMasterKey"] = sealed
	u["EncryptedPublicKey"] = cipher.SealPublicKey(key, pub, aad)
	delete(m, "VeilfsFormat")
	writeConfigJSON(t, dir, m)
}

// plantFile writes a one-block file encrypted with key into CIPHERDIR's
// root: the "any file decrypts" check accepted a key on that alone.
func plantFile(t *testing.T, dir string, key []byte) {
	t.Helper()
	c, err := cipher.NewContent(key, cipher.AESGCM)
	if err != nil {
		t.Fatal(err)
	}
	id := cipher.NewFileID()
	data := append(cipher.MarshalHeader(id), c.SealBlock(nil, []byte("planted"), 0, id)...)
	if err := os.WriteFile(filepath.Join(dir, "AAAAAAAAAAAAAAAAAAAAAA"), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestLegacyUnlockerWarns: an entry written before the key commitment (no
// KeyCommitment field) still opens the volume, and every command that sees
// it says so and how to re-enrol it, because nothing in it stops a
// substituted key (SECURITY.md, "Extra unlockers").
func TestLegacyUnlockerWarns(t *testing.T) {
	harness.RequireFUSE(t)
	dir := filepath.Join(t.TempDir(), "cipher")
	pw := harness.Passfile(t, harness.DefaultPassword)
	res := harness.Run(t, "", "init", "--scryptn", "10", "--passfile", pw, dir)
	if res.Code != 0 {
		t.Fatalf("init: %v", res)
	}
	master := masterKeyOf(t, res.Stdout)
	keyfile := filepath.Join(t.TempDir(), "old.key")
	if res := harness.Run(t, "", "keys", "add", "--passfile", pw, "--new-keyfile", keyfile, "--label", "old", dir); res.Code != 0 {
		t.Fatalf("keys add: %v", res)
	}
	// Rewrite the entry as an older veilfs wrote it: the private key bound
	// to the plain associated data, no commitment.
	m, u := readConfigJSON(t, dir, "old")
	kf, err := os.ReadFile(keyfile)
	if err != nil {
		t.Fatal(err)
	}
	kek, err := cipher.KeyfileKEK(kf, bytesField(t, u, "KeyfileSalt"))
	if err != nil {
		t.Fatal(err)
	}
	priv, pub, err := cipher.NewX25519Key()
	if err != nil {
		t.Fatal(err)
	}
	aad := unlockerAAD(u)
	u["EncryptedPrivateKey"] = cipher.SealPrivateKey(kek, priv, aad)
	u["EncryptedPublicKey"] = cipher.SealPublicKey(master, pub, aad)
	if u["SealedMasterKey"], err = cipher.SealKey(pub, master, aad); err != nil {
		t.Fatal(err)
	}
	delete(u, "KeyCommitment")
	writeConfigJSON(t, dir, m)

	const warning = `unlocker "old" was made by a veilfs older than key commitments`
	res = harness.Run(t, "", "keys", "list", dir)
	if res.Code != 0 || !strings.Contains(res.Stderr, `"old" made by a veilfs older than key commitments`) || !strings.Contains(res.Stderr, "veilfs rotate") {
		t.Errorf("keys list: want the legacy warning and the rotate hint, got %v", res)
	}
	res = harness.Run(t, "", "ls", "--keyfile", keyfile, dir)
	if res.Code != 0 || !strings.Contains(res.Stderr, warning) {
		t.Errorf("ls --keyfile: want it to open with the warning, got %v", res)
	}
	// A rotation re-enrols it: committed from then on, no warning.
	if res := harness.Run(t, "", "rotate", "--quiet", "--keyfile", keyfile, "--new-passfile", pw, dir); res.Code != 0 {
		t.Fatalf("rotate: %v", res)
	}
	if res := harness.Run(t, "", "ls", "--keyfile", keyfile, dir); res.Code != 0 || strings.Contains(res.Stderr, warning) {
		t.Errorf("ls --keyfile after rotate: want no warning, got %v", res)
	}
}

// writeConfigJSON writes m as CIPHERDIR/gocryptfs.conf, mode 0400.
func writeConfigJSON(t *testing.T, dir string, m map[string]any) {
	t.Helper()
	out, err := json.MarshalIndent(m, "", "\t")
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "gocryptfs.conf")
	if err := os.Chmod(p, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, append(out, '\n'), 0o400); err != nil {
		t.Fatal(err)
	}
}

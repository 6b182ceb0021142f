package cipher

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"
)

// seq returns n bytes first, first+1, ... (the inputs of the known-answer
// vectors below).
func seq(first byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = first + byte(i)
	}
	return b
}

// The expected values were computed independently with Python's
// `cryptography` 48.0 (X25519PrivateKey, HKDF(SHA256), AESGCM), from the
// construction as documented in unlocker.go, not with this code.
const (
	katAAD        = "veilfs-kat aad"
	katPub        = "07a37cbc142093c8b755dc1b10e86cb426374ad16aa853ed0bdfc0b2b86d1c7c"
	katSealed     = "5869aff450549732cbaaed5e5df9b30a6da31cb0e5742bad5ad4a1a768f1a67bfeb86f98462a806905dbf0950d280157b24e24266f81c7d16f7f822fc3f183e6899e5269e8898e34555fc871252d578c"
	katPrivEnv    = "8182838485868788898a8b8cae9b15a380b2018ce00f00832e987003d077256451b3865cf233b0999d80d16e54a670239e6bd9ca35d36b50b037674b"
	katPubEnv     = "8182838485868788898a8b8c3df7dc59895868c9ec5bfd2172c9cbf95f0cdd5a62fd08c74eb69b11425868f7e0194cbce3850ad67c86eaac380c494f"
	katKeyfileKEK = "48f585690b509741eb8d83d455dc8f36803f30acba4a6afc371be0e4d7c68d5c"
)

func TestUnlockerKnownAnswers(t *testing.T) {
	priv := seq(0x01, 32)
	e := seq(0x21, 32)
	key := seq(0x41, 32)
	kek := seq(0x61, 32)
	nonce := seq(0x81, 12)
	aad := []byte(katAAD)

	pub, err := X25519PublicKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := sealKeyWith(pub, key, aad, e)
	if err != nil {
		t.Fatal(err)
	}
	kfKEK, err := KeyfileKEK(seq(0, 64), seq(0xa0, 32))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		got  []byte
		want string
	}{
		{"public key", pub, katPub},
		{"sealed key", sealed, katSealed},
		{"private key envelope", sealEnvelope(kek, InfoUnlockerPrivateKey, priv, aad, nonce), katPrivEnv},
		{"public key envelope", sealEnvelope(key, InfoUnlockerPublicKey, pub, aad, nonce), katPubEnv},
		{"keyfile KEK", kfKEK, katKeyfileKEK},
	} {
		if got := hex.EncodeToString(tc.got); got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, got, tc.want)
		}
	}
	opened, err := OpenSealedKey(priv, unhex(t, katSealed), aad)
	if err != nil || !bytes.Equal(opened, key) {
		t.Errorf("OpenSealedKey of the vector: %x, %v", opened, err)
	}
	if p, err := OpenPrivateKey(kek, unhex(t, katPrivEnv), aad); err != nil || !bytes.Equal(p, priv) {
		t.Errorf("OpenPrivateKey of the vector: %x, %v", p, err)
	}
	if p, err := OpenPublicKey(key, unhex(t, katPubEnv), aad); err != nil || !bytes.Equal(p, pub) {
		t.Errorf("OpenPublicKey of the vector: %x, %v", p, err)
	}
}

// TestX25519RFC7748 pins that X25519PublicKey is RFC 7748's function (§6.1
// test vector for Alice).
func TestX25519RFC7748(t *testing.T) {
	priv := unhex(t, "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")
	pub, err := X25519PublicKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	if want := "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"; hex.EncodeToString(pub) != want {
		t.Errorf("public key %x, want %s", pub, want)
	}
}

func TestSealKeyRoundTrip(t *testing.T) {
	priv, pub, err := NewX25519Key()
	if err != nil {
		t.Fatal(err)
	}
	otherPriv, _, err := NewX25519Key()
	if err != nil {
		t.Fatal(err)
	}
	key := seq(7, 32)
	aad := []byte("label")
	a, err := SealKey(pub, key, aad)
	if err != nil {
		t.Fatal(err)
	}
	b, err := SealKey(pub, key, aad)
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != SealedKeySize {
		t.Fatalf("sealed key is %d bytes, want %d", len(a), SealedKeySize)
	}
	if bytes.Equal(a, b) {
		t.Error("two seals of the same key are equal: the ephemeral key is not fresh")
	}
	for _, s := range [][]byte{a, b} {
		got, err := OpenSealedKey(priv, s, aad)
		if err != nil || !bytes.Equal(got, key) {
			t.Fatalf("round trip: %x, %v", got, err)
		}
	}
	for _, tc := range []struct {
		name         string
		priv, sealed []byte
		aad          []byte
	}{
		{"other private key", otherPriv, a, aad},
		{"other aad", priv, a, []byte("labek")},
		{"no aad", priv, a, nil},
		{"truncated", priv, a[:SealedKeySize-1], aad},
		{"extended", priv, append(bytes.Clone(a), 0), aad},
		{"all-zero ephemeral key (low order)", priv, append(make([]byte, X25519KeySize), a[X25519KeySize:]...), aad},
		{"empty", priv, nil, aad},
	} {
		if got, err := OpenSealedKey(tc.priv, tc.sealed, tc.aad); !errors.Is(err, ErrAuthFailed) {
			t.Errorf("%s: got %x, %v; want ErrAuthFailed", tc.name, got, err)
		}
	}
	// Every single bit flip anywhere in the seal is caught.
	for i := range a {
		for bit := range 8 {
			s := bytes.Clone(a)
			s[i] ^= 1 << bit
			if got, err := OpenSealedKey(priv, s, aad); !errors.Is(err, ErrAuthFailed) {
				t.Fatalf("flip byte %d bit %d: got %x, %v", i, bit, got, err)
			}
		}
	}
}

func TestSealKeyRefusesBadInput(t *testing.T) {
	_, pub, _ := NewX25519Key()
	if _, err := SealKey(pub, make([]byte, 31), nil); err == nil {
		t.Error("31-byte key accepted")
	}
	if _, err := SealKey(pub[:31], make([]byte, 32), nil); err == nil {
		t.Error("31-byte public key accepted")
	}
	// A low-order public key (here the all-zero point) gives an all-zero
	// shared secret; sealing to it would hand the key to anyone.
	if _, err := SealKey(make([]byte, 32), make([]byte, 32), nil); err == nil {
		t.Error("all-zero public key accepted")
	}
	if _, err := OpenSealedKey(make([]byte, 31), make([]byte, SealedKeySize), nil); err == nil {
		t.Error("31-byte private key accepted")
	}
}

func TestEnvelopes(t *testing.T) {
	kek, other := seq(1, 32), seq(2, 32)
	secret := seq(3, 32)
	aad := []byte("password\x00laptop")
	type pair struct {
		name string
		seal func(k, p, aad []byte) []byte
		open func(k, e, aad []byte) ([]byte, error)
	}
	pairs := []pair{
		{"private key", SealPrivateKey, OpenPrivateKey},
		{"public key", SealPublicKey, OpenPublicKey},
	}
	for _, p := range pairs {
		t.Run(p.name, func(t *testing.T) {
			env := p.seal(kek, secret, aad)
			if len(env) != EnvelopeSize {
				t.Fatalf("envelope is %d bytes, want %d", len(env), EnvelopeSize)
			}
			if bytes.Equal(env, p.seal(kek, secret, aad)) {
				t.Error("two envelopes are equal: the nonce is not fresh")
			}
			got, err := p.open(kek, env, aad)
			if err != nil || !bytes.Equal(got, secret) {
				t.Fatalf("round trip: %x, %v", got, err)
			}
			for _, tc := range []struct {
				name     string
				key, env []byte
				aad      []byte
			}{
				{"other key", other, env, aad},
				{"other aad", kek, env, []byte("password\x00laptoP")},
				{"truncated", kek, env[:EnvelopeSize-1], aad},
				{"empty", kek, nil, aad},
			} {
				if got, err := p.open(tc.key, tc.env, tc.aad); !errors.Is(err, ErrAuthFailed) {
					t.Errorf("%s: got %x, %v; want ErrAuthFailed", tc.name, got, err)
				}
			}
			for i := range env {
				e := bytes.Clone(env)
				e[i] ^= 0x80
				if got, err := p.open(kek, e, aad); !errors.Is(err, ErrAuthFailed) {
					t.Fatalf("flip byte %d: got %x, %v", i, got, err)
				}
			}
		})
	}
	// The two envelopes use separate keys: a private-key envelope does not
	// open as a public-key envelope under the same key.
	if _, err := OpenPublicKey(kek, SealPrivateKey(kek, secret, aad), aad); !errors.Is(err, ErrAuthFailed) {
		t.Errorf("private-key envelope opened as a public-key envelope: %v", err)
	}
}

func TestKeyfileKEK(t *testing.T) {
	salt := seq(9, KeyfileSaltSize)
	a, err := KeyfileKEK(seq(0, MinKeyfileSize), salt)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name          string
		keyfile, salt []byte
		ok            bool
	}{
		{"same", seq(0, MinKeyfileSize), salt, true},
		{"other keyfile", seq(1, MinKeyfileSize), salt, false},
		{"longer keyfile", seq(0, MinKeyfileSize+1), salt, false},
		{"other salt", seq(0, MinKeyfileSize), seq(10, KeyfileSaltSize), false},
	} {
		b, err := KeyfileKEK(tc.keyfile, tc.salt)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if bytes.Equal(a, b) != tc.ok {
			t.Errorf("%s: equal=%v, want %v", tc.name, bytes.Equal(a, b), tc.ok)
		}
	}
	if _, err := KeyfileKEK(seq(0, MinKeyfileSize-1), salt); err == nil {
		t.Error("short keyfile accepted")
	}
	if _, err := KeyfileKEK(seq(0, MinKeyfileSize), salt[:16]); err == nil {
		t.Error("short salt accepted")
	}
}

// FuzzOpenUnlocker: opening a seal or an envelope never panics, and nothing
// but the genuine ciphertext opens (a different input that opened would be a
// forgery).
func FuzzOpenUnlocker(f *testing.F) {
	priv := seq(0x01, 32)
	kek := seq(0x61, 32)
	aad := []byte(katAAD)
	sealed := unhex(f, katSealed)
	env := unhex(f, katPrivEnv)
	f.Add(sealed)
	f.Add(env)
	f.Add(sealed[:SealedKeySize-1])
	f.Add(make([]byte, SealedKeySize))
	f.Add(make([]byte, EnvelopeSize))
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := OpenSealedKey(priv, b, aad); (err == nil) != bytes.Equal(b, sealed) {
			t.Fatalf("OpenSealedKey(%x): %v", b, err)
		} else if err != nil && !errors.Is(err, ErrAuthFailed) {
			t.Fatalf("OpenSealedKey(%x): error %v does not wrap ErrAuthFailed", b, err)
		}
		if _, err := OpenPrivateKey(kek, b, aad); (err == nil) != bytes.Equal(b, env) {
			t.Fatalf("OpenPrivateKey(%x): %v", b, err)
		} else if err != nil && !errors.Is(err, ErrAuthFailed) {
			t.Fatalf("OpenPrivateKey(%x): error %v does not wrap ErrAuthFailed", b, err)
		}
	})
}

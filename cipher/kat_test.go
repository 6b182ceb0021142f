package cipher_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"os"
	"slices"
	"testing"

	"github.com/veilfs/veilfs/cipher"
	"github.com/veilfs/veilfs/cipher/config"
)

// TestFixtureVolumes is the known-answer test against volumes written by
// gocryptfs 2.3: unlock, then decrypt every regular file, every symlink
// target (encrypted-name volumes) and every xattr value.
func TestFixtureVolumes(t *testing.T) {
	fixtures := cipher.ReadFixtures(t)
	if len(fixtures) < 6 {
		t.Fatalf("found %d fixture volumes, want 6", len(fixtures))
	}
	for _, fx := range fixtures {
		t.Run(fx.Name, func(t *testing.T) {
			t.Parallel()
			cf, err := config.Load(fx.CipherFile(config.Filename))
			if err != nil {
				t.Fatal(err)
			}
			mk, err := cf.UnlockMasterKey([]byte(fx.Password))
			if err != nil {
				t.Fatal(err)
			}
			if got := hex.EncodeToString(mk); got != fx.MasterKeyHex {
				t.Fatalf("master key %s, want %s", got, fx.MasterKeyHex)
			}
			c, err := cipher.NewContent(mk, cf.ContentAlgorithm())
			if err != nil {
				t.Fatal(err)
			}
			files := 0
			for _, e := range fx.Entries {
				switch e.Type {
				case "file":
					files++
					checkFixtureFile(t, c, fx, e.Path, e.CipherPath, e.Size, e.CipherSize, e.SHA256)
				case "symlink":
					if cf.Has(config.FlagPlaintextNames) {
						continue // stored in the clear, FORMAT §5.7
					}
					raw, err := base64.RawURLEncoding.DecodeString(e.CipherTarget)
					if err != nil {
						t.Fatalf("%s: %v", e.Path, err)
					}
					got, err := c.OpenBlock(nil, raw, 0, nil)
					if err != nil || string(got) != e.Target {
						t.Errorf("symlink %s: got %q, %v; want %q", e.Path, got, err, e.Target)
					}
				}
			}
			if files == 0 {
				t.Fatal("no regular files in fixture")
			}
			// Xattr values: one block, number 0, no file ID (FORMAT §7).
			// Names are nametransform's job, so match against the set of
			// plaintext values of the entry with that cipher path.
			for _, x := range fx.CipherXattrs {
				var want []string
				for _, e := range fx.Entries {
					if e.CipherPath == x.CipherPath {
						for _, v := range e.Xattrs {
							want = append(want, v)
						}
					}
				}
				stored, err := base64.StdEncoding.DecodeString(x.ValueBase64)
				if err != nil {
					t.Fatal(err)
				}
				got, err := c.OpenBlock(nil, stored, 0, nil)
				if err != nil {
					t.Errorf("xattr %s on %s: %v", x.Name, x.CipherPath, err)
					continue
				}
				if !slices.Contains(want, string(got)) {
					t.Errorf("xattr %s on %s = %q, not one of %q", x.Name, x.CipherPath, got, want)
				}
				if len(stored) > 0 {
					if _, err := c.OpenBlock(nil, stored, 1, nil); !errors.Is(err, cipher.ErrAuthFailed) {
						t.Errorf("xattr value opened with block number 1: err %v", err)
					}
				}
			}
		})
	}
}

func checkFixtureFile(t *testing.T, c *cipher.Content, fx *cipher.Fixture, path, cpath string, size, csize int64, sum string) {
	t.Helper()
	data, err := os.ReadFile(fx.CipherFile(cpath))
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(data)) != csize {
		t.Fatalf("%s: ciphertext is %d bytes, manifest says %d", path, len(data), csize)
	}
	if ps, err := c.PlainSize(csize); err != nil || ps != size {
		t.Errorf("%s: PlainSize(%d) = %d, %v; want %d", path, csize, ps, err, size)
	}
	if cs := c.CipherSize(size); cs != csize {
		t.Errorf("%s: CipherSize(%d) = %d, want %d", path, size, cs, csize)
	}
	var plain []byte
	if len(data) > 0 {
		id, err := cipher.ParseHeader(data)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		plain, err = c.OpenBlocks([]byte("prefix"), data[cipher.HeaderSize:], 0, id)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if !bytes.HasPrefix(plain, []byte("prefix")) {
			t.Fatalf("%s: OpenBlocks clobbered dst", path)
		}
		plain = plain[len("prefix"):]
		// Block by block must agree with the bulk path.
		var one []byte
		cbs := c.CipherBlockSize()
		for i, body := uint64(0), data[cipher.HeaderSize:]; len(body) > 0; i++ {
			blk := body[:min(cbs, len(body))]
			body = body[len(blk):]
			if one, err = c.OpenBlock(one, blk, i, id); err != nil {
				t.Fatalf("%s: %v", path, err)
			}
		}
		if !bytes.Equal(one, plain) {
			t.Errorf("%s: OpenBlock and OpenBlocks disagree", path)
		}
		// Wrong file ID must fail (unless every block is a hole).
		other := bytes.Clone(id)
		other[0] ^= 1
		if _, err := c.OpenBlocks(nil, data[cipher.HeaderSize:], 0, other); err == nil && !bytes.Equal(plain, make([]byte, len(plain))) {
			t.Errorf("%s: opened with the wrong file ID", path)
		}
	}
	if int64(len(plain)) != size {
		t.Errorf("%s: decrypted %d bytes, want %d", path, len(plain), size)
	}
	if got := sha256.Sum256(plain); hex.EncodeToString(got[:]) != sum {
		t.Errorf("%s: sha256 mismatch", path)
	}
}

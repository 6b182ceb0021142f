package cipher

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

// Known answers from a view served by `gocryptfs -reverse` 2.3 over a
// volume with this master key (AES-SIV, default options).
const reverseKATMaster = "71d1b31de0a6c636c146520b4e95cc50c8052f537bfafb343afd8699bac9b297"

func reverseKATContent(t *testing.T) *Content {
	t.Helper()
	mk, _ := hex.DecodeString(reverseKATMaster)
	c, err := NewContent(mk, AESSIV)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestDerivedIV(t *testing.T) {
	for _, tc := range []struct{ path, purpose, want string }{
		{"", PurposeDirIV, "a8f7bac432ddc1cb3dc74e684d6ae48b"},
		{"C-xumgDlZqdNvaiXPtDCjg", PurposeDirIV, "a4bd61af21742f6b83cb64d416fa0f80"},
	} {
		if got := hex.EncodeToString(DerivedIV(tc.path, tc.purpose)); got != tc.want {
			t.Errorf("DerivedIV(%q, %q) = %s, want %s", tc.path, tc.purpose, got, tc.want)
		}
	}
	if bytes.Equal(DerivedIV("a", PurposeFileID), DerivedIV("a", PurposeBlock0IV)) {
		t.Error("two purposes give the same IV")
	}
}

// reverseFile encrypts a whole file the way the reverse view serves it.
func reverseFile(t *testing.T, c *Content, cpath string, plain []byte) []byte {
	t.Helper()
	if len(plain) == 0 {
		return nil
	}
	id := DerivedIV(cpath, PurposeFileID)
	out := MarshalHeader(id)
	out, err := c.SealBlocksDerived(out, plain, 0, id, DerivedIV(cpath, PurposeBlock0IV))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestSealBlocksDerivedKAT(t *testing.T) {
	c := reverseKATContent(t)
	for _, tc := range []struct {
		name, cpath string
		plain       []byte
		size        int
		sha         string
	}{
		{"text", "cdvj59VgK84PdnWddXikIg", []byte(strings.Repeat("veilfs test vector\n", 300)), 5782,
			"4390b210910e4f1b097c587bd46335539258b64f034e1dc38265e2d7d251d361"},
		{"zeros", "0iosaz655Jpqf2FKHqFhZA", make([]byte, 10000), 10114,
			"b70a8a6519a798f04e42cc271cc0057836b5c8ef1cef44dd9def381b4186371d"},
		{"empty", "1R9KI_v2d1JYp7sfgRW-lQ", nil, 0,
			"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := reverseFile(t, c, tc.cpath, tc.plain)
			sum := sha256.Sum256(got)
			if len(got) != tc.size || hex.EncodeToString(sum[:]) != tc.sha {
				t.Fatalf("got %d bytes, sha256 %x; want %d bytes, %s", len(got), sum, tc.size, tc.sha)
			}
			if int64(len(got)) != c.CipherSize(int64(len(tc.plain))) {
				t.Errorf("size %d disagrees with CipherSize %d", len(got), c.CipherSize(int64(len(tc.plain))))
			}
			// Any run of blocks sealed on its own gives the same bytes as
			// the whole file: reads at any offset agree.
			if len(tc.plain) > PlainBlockSize {
				id := DerivedIV(tc.cpath, PurposeFileID)
				part, err := c.SealBlocksDerived(nil, tc.plain[PlainBlockSize:], 1, id, DerivedIV(tc.cpath, PurposeBlock0IV))
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(part, got[HeaderSize+c.CipherBlockSize():]) {
					t.Error("block 1 sealed alone differs from block 1 of the whole file")
				}
			}
			// And it decrypts like any forward-mode file.
			plain, err := c.OpenBlocks(nil, got[min(len(got), HeaderSize):], 0, DerivedIV(tc.cpath, PurposeFileID))
			if err != nil || !bytes.Equal(plain, tc.plain) {
				t.Errorf("round trip failed: %v", err)
			}
		})
	}
}

func TestSealBlockDerivedSymlinkKAT(t *testing.T) {
	c := reverseKATContent(t)
	// FORMAT §10 quirk: the symlink at "BgJTgZBMJhD5ZzSnFDlzUg" takes its
	// nonce from the path with the last component doubled.
	nonce := DerivedIV("BgJTgZBMJhD5ZzSnFDlzUg/BgJTgZBMJhD5ZzSnFDlzUg", PurposeSymlinkIV)
	got, err := c.SealBlockDerived(nil, []byte("a.txt"), 0, nil, nonce)
	if err != nil {
		t.Fatal(err)
	}
	const want = "MXq67eTRHW6vIDLbH75eKaj6KSsTdydC-AnpMScqFOuygAB6dQ"
	if s := base64.RawURLEncoding.EncodeToString(got); s != want {
		t.Errorf("symlink target %s, want %s", s, want)
	}
}

func TestBlockNonceWraps(t *testing.T) {
	b0 := bytes.Repeat([]byte{0xff}, 16)
	got := make([]byte, 16)
	blockNonce(got, b0, 2)
	want := append(bytes.Repeat([]byte{0xff}, 8), 0, 0, 0, 0, 0, 0, 0, 1)
	if !bytes.Equal(got, want) {
		t.Errorf("nonce %x, want %x (the counter wraps in the last 8 bytes only)", got, want)
	}
}

func TestDerivedNeedsSIV(t *testing.T) {
	mk := make([]byte, MasterKeySize)
	for _, alg := range []Algorithm{AESGCM, XChaCha20Poly1305} {
		c, err := NewContent(mk, alg)
		if err != nil {
			t.Fatal(err)
		}
		iv := make([]byte, c.NonceSize())
		if _, err := c.SealBlocksDerived(nil, []byte("x"), 0, make([]byte, FileIDSize), iv); !errors.Is(err, ErrNotDeterministic) {
			t.Errorf("%v: SealBlocksDerived error %v, want ErrNotDeterministic", alg, err)
		}
		if _, err := c.SealBlockDerived(nil, []byte("x"), 0, nil, iv); !errors.Is(err, ErrNotDeterministic) {
			t.Errorf("%v: SealBlockDerived error %v, want ErrNotDeterministic", alg, err)
		}
	}
}

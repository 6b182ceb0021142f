package cipher

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

func unhex(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

var allAlgorithms = []Algorithm{AESGCM, AESSIV, XChaCha20Poly1305}

func testContent(tb testing.TB, alg Algorithm) *Content {
	tb.Helper()
	c, err := NewContent(bytes.Repeat([]byte{0x42}, MasterKeySize), alg)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// TestWorkedExample checks every intermediate value of FORMAT §13.
func TestWorkedExample(t *testing.T) {
	p := ScryptParams{
		Salt: unhex(t, "4ad7847d005e34e652b13824c4d1545edaf57508b5ca0f8f253692739f1d96ae"),
		N:    1024, R: 8, P: 1, KeyLen: 32,
	}
	kek, err := p.DeriveKEK([]byte("fixture-default-pw"))
	if err != nil {
		t.Fatal(err)
	}
	mk := unhex(t, "6caa112f104a78fef1dede2f6906dd67569b145416cc618f09f61b580790b61c")
	encKey := unhex(t, `b85c6864efb1f942f3f210d88b653314
		ff730262e979a0fdf40a9b3d91af1744647b670a5739eb8ead512df22a644c09
		48ddcb78d31fab148df0ef7df459d374`)
	c, err := NewContent(mk, AESGCM)
	if err != nil {
		t.Fatal(err)
	}
	fileID := unhex(t, "b02869aefc1bb59e6740e8f633d6cb4e")
	file := unhex(t, `0002 b02869aefc1bb59e6740e8f633d6cb4e 4649c5e0d06507e7a8e0d6ec1a362aff
		0b b93f92c0a946ba92e515b12f53bedc87`)
	unwrapped, err := UnwrapMasterKey(kek, encKey)
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name      string
		got, want []byte
	}{
		{"KEKraw", kek, unhex(t, "2f969e1e30be967605d75515de4f67d38fe8b710a958da7c11215fe33f09b65b")},
		{"WK", HKDF(kek, InfoGCMContent, 32), unhex(t, "4208af68d7d6bd3e9264094c3b7d6b25e6f56c2700d71e05c8624855f1ef3da4")},
		{"EncryptedKey", wrapWithNonce(kek, mk, encKey[:16]), encKey},
		{"MK", unwrapped, mk},
		{"K_name", NameKey(mk), unhex(t, "76b4a1e049a5731cb70daa9da934b09180e959964838caf2750f574a2285cc2a")},
		{"K_gcm", HKDF(mk, InfoGCMContent, 32), unhex(t, "8e66a505443989a60d8ce08e337159986e213d963e9dc030f30785d86a8ef604")},
		{"header", MarshalHeader(fileID), file[:HeaderSize]},
		{"one-byte.txt", c.sealBlockNonce(MarshalHeader(fileID), []byte("x"), 0, fileID, file[18:34]), file},
	} {
		if !bytes.Equal(tc.got, tc.want) {
			t.Errorf("%s = %x, want %x", tc.name, tc.got, tc.want)
		}
	}
}

// TestResealFixtureBlocks re-encrypts every data block of every fixture file
// with the nonce gocryptfs chose and expects identical bytes: this pins the
// block layout of all three ciphers, including SIV's nonce ‖ V ‖ C and S2V
// order (FORMAT §4.2, §4.3).
func TestResealFixtureBlocks(t *testing.T) {
	for _, fx := range ReadFixtures(t) {
		alg := AESGCM
		switch {
		case slices.Contains(fx.FeatureFlags, "XChaCha20Poly1305"):
			alg = XChaCha20Poly1305
		case slices.Contains(fx.FeatureFlags, "AESSIV"):
			alg = AESSIV
		}
		c, err := NewContent(unhex(t, fx.MasterKeyHex), alg)
		if err != nil {
			t.Fatal(err)
		}
		blocks := 0
		for _, e := range fx.Entries {
			if e.Type != "file" || e.CipherSize == 0 {
				continue
			}
			data, err := os.ReadFile(fx.CipherFile(e.CipherPath))
			if err != nil {
				t.Fatal(err)
			}
			id, err := ParseHeader(data)
			if err != nil {
				t.Fatal(err)
			}
			body := data[HeaderSize:]
			for i := uint64(0); len(body) > 0; i++ {
				blk := body[:min(len(body), c.CipherBlockSize())]
				body = body[len(blk):]
				if allZero(blk) {
					continue // hole
				}
				plain, err := c.OpenBlock(nil, blk, i, id)
				if err != nil {
					t.Fatalf("%s %s block %d: %v", fx.Name, e.Path, i, err)
				}
				if again := c.sealBlockNonce(nil, plain, i, id, blk[:c.NonceSize()]); !bytes.Equal(again, blk) {
					t.Errorf("%s %s block %d: re-sealed block differs", fx.Name, e.Path, i)
				}
				blocks++
			}
		}
		if blocks == 0 {
			t.Errorf("%s: no blocks checked", fx.Name)
		}
	}
}

func TestParameters(t *testing.T) {
	for _, tc := range []struct {
		alg            Algorithm
		name           string
		nonce, oh, cbs int
	}{
		{AESGCM, "AES-GCM-256", 16, 32, 4128},
		{AESSIV, "AES-SIV-512", 16, 32, 4128},
		{XChaCha20Poly1305, "XChaCha20-Poly1305", 24, 40, 4136},
	} {
		c := testContent(t, tc.alg)
		if c.Algorithm() != tc.alg || tc.alg.String() != tc.name || c.NonceSize() != tc.nonce ||
			c.Overhead() != tc.oh || c.CipherBlockSize() != tc.cbs {
			t.Errorf("%v: got %q nonce %d OH %d CBS %d", tc.alg, tc.alg.String(), c.NonceSize(), c.Overhead(), c.CipherBlockSize())
		}
		if got := c.BlockCipherOffset(3); got != int64(18+3*tc.cbs) {
			t.Errorf("%v: BlockCipherOffset(3) = %d", tc.alg, got)
		}
	}
	if _, err := NewContent(make([]byte, 31), AESGCM); err == nil {
		t.Error("NewContent accepted a 31-byte master key")
	}
	if _, err := NewContent(make([]byte, 32), Algorithm(9)); err == nil {
		t.Error("NewContent accepted an unknown algorithm")
	}
	if Algorithm(9).String() != "Algorithm(9)" {
		t.Error(Algorithm(9).String())
	}
}

// TestSizeTable is FORMAT §4.5's table for both overheads, plus the inverse.
func TestSizeTable(t *testing.T) {
	gcm, xc := testContent(t, AESGCM), testContent(t, XChaCha20Poly1305)
	for _, row := range []struct{ plain, oh32, oh40 int64 }{
		{0, 0, 0},
		{1, 51, 59},
		{4096, 4146, 4154},
		{4097, 4179, 4195},
		{5000, 5082, 5098},
		{20000, 20178, 20218},
		{20485, 20695, 20743},
		{307277, 309727, 310335},
	} {
		for _, tc := range []struct {
			c    *Content
			want int64
		}{{gcm, row.oh32}, {xc, row.oh40}} {
			if got := tc.c.CipherSize(row.plain); got != tc.want {
				t.Errorf("%v CipherSize(%d) = %d, want %d", tc.c.alg, row.plain, got, tc.want)
			}
			if got, err := tc.c.PlainSize(tc.want); got != row.plain || err != nil {
				t.Errorf("%v PlainSize(%d) = %d, %v; want %d", tc.c.alg, tc.want, got, err, row.plain)
			}
		}
	}
}

func TestPlainSizeQuirks(t *testing.T) {
	for _, alg := range []Algorithm{AESGCM, XChaCha20Poly1305} {
		c := testContent(t, alg)
		oh, cbs := int64(c.Overhead()), int64(c.CipherBlockSize())
		for _, tc := range []struct {
			cipher, plain int64
			bad           bool
		}{
			{0, 0, false},
			{1, 0, true},
			{17, 0, true},
			{18, 0, false},    // header only: empty, no error
			{18 + 1, 1, true}, // last block 1..OH: as if it held 1 byte
			{18 + oh, 1, true},
			{18 + oh + 1, 1, false},
			{18 + cbs + 1, 4097, true},
			{18 + cbs + oh, 4097, true},
			{18 + cbs + oh + 1, 4097, false},
			{18 + 2*cbs, 8192, false},
			{-1, 0, true},
		} {
			got, err := c.PlainSize(tc.cipher)
			if got != tc.plain || (err != nil) != tc.bad {
				t.Errorf("%v PlainSize(%d) = %d, %v; want %d, error %v", alg, tc.cipher, got, err, tc.plain, tc.bad)
			}
		}
		for p := int64(0); p < 3*PlainBlockSize+100; p += 7 {
			if got, err := c.PlainSize(c.CipherSize(p)); got != p || err != nil {
				t.Fatalf("%v: PlainSize(CipherSize(%d)) = %d, %v", alg, p, got, err)
			}
		}
	}
}

func TestSealOpenBlock(t *testing.T) {
	fileID := NewFileID()
	for _, alg := range allAlgorithms {
		c := testContent(t, alg)
		for _, n := range []int{1, 15, 16, 17, 4095, 4096, 4097, 70000} {
			for _, id := range [][]byte{nil, fileID} {
				plain := bytes.Repeat([]byte{byte(n)}, n)
				dst := []byte("prefix")
				sealed := c.SealBlock(dst, plain, 7, id)
				if !bytes.HasPrefix(sealed, []byte("prefix")) || len(sealed) != 6+n+c.Overhead() {
					t.Fatalf("%v n=%d: bad sealed length %d", alg, n, len(sealed))
				}
				blk := sealed[6:]
				got, err := c.OpenBlock([]byte("x"), blk, 7, id)
				if err != nil || !bytes.Equal(got, append([]byte("x"), plain...)) {
					t.Fatalf("%v n=%d: round trip failed: %v", alg, n, err)
				}
				// Nonces are fresh per call.
				if again := c.SealBlock(nil, plain, 7, id); bytes.Equal(again[:c.NonceSize()], blk[:c.NonceSize()]) {
					t.Fatalf("%v: nonce reused", alg)
				}
				wrongID := NewFileID()
				if id == nil {
					wrongID = nil
				}
				for name, open := range map[string]func() ([]byte, error){
					"block number": func() ([]byte, error) { return c.OpenBlock(nil, blk, 8, id) },
					"file ID":      func() ([]byte, error) { return c.OpenBlock(nil, blk, 7, wrongID) },
					"truncated":    func() ([]byte, error) { return c.OpenBlock(nil, blk[:len(blk)-1], 7, id) },
				} {
					if name == "file ID" && id == nil {
						continue
					}
					if _, err := open(); !errors.Is(err, ErrAuthFailed) {
						t.Errorf("%v n=%d %s: err %v", alg, n, name, err)
					}
				}
				if _, err := c.OpenBlock(nil, blk, 8, id); err == nil || !strings.HasPrefix(err.Error(), "block 8: ") {
					t.Errorf("%v: error %q does not name block 8", alg, err)
				}
			}
		}
		// Flip every bit of a short block: all must fail.
		blk := c.SealBlock(nil, []byte("hello"), 0, fileID)
		for i := range len(blk) * 8 {
			mod := bytes.Clone(blk)
			mod[i/8] ^= 1 << (i % 8)
			if _, err := c.OpenBlock(nil, mod, 0, fileID); !errors.Is(err, ErrAuthFailed) {
				t.Fatalf("%v: bit %d flip accepted", alg, i)
			}
		}
	}
}

func TestOpenBlockRejects(t *testing.T) {
	for _, alg := range allAlgorithms {
		c := testContent(t, alg)
		cbs, oh := c.CipherBlockSize(), c.Overhead()
		valid := c.SealBlock(nil, []byte("data"), 3, nil)
		zeroNonce := bytes.Clone(valid)
		clear(zeroNonce[:c.NonceSize()])
		for _, tc := range []struct {
			name  string
			block []byte
		}{
			{"one byte", []byte{1}},
			{"exactly OH", bytes.Repeat([]byte{1}, oh)},
			{"all-zero nonce", zeroNonce},
			{"short all-zero block is not a hole", make([]byte, cbs-1)},
			{"long all-zero block is not a hole", make([]byte, cbs+1)},
			{"random", bytes.Repeat([]byte{0xa5}, 100)},
		} {
			got, err := c.OpenBlock([]byte("keep"), tc.block, 3, nil)
			if !errors.Is(err, ErrAuthFailed) || string(got) != "keep" {
				t.Errorf("%v %s: got %q, %v", alg, tc.name, got, err)
			}
		}
		// Hole rule (§4.4).
		got, err := c.OpenBlock(nil, make([]byte, cbs), 3, NewFileID())
		if err != nil || !bytes.Equal(got, make([]byte, PlainBlockSize)) {
			t.Errorf("%v: hole: %v", alg, err)
		}
		// Empty ↔ empty, as gocryptfs (§6, §7).
		if s := c.SealBlock([]byte("a"), nil, 0, nil); string(s) != "a" {
			t.Errorf("%v: SealBlock(empty) appended %q", alg, s[1:])
		}
		if got, err := c.OpenBlock([]byte("a"), nil, 0, nil); err != nil || string(got) != "a" {
			t.Errorf("%v: OpenBlock(empty) = %q, %v", alg, got, err)
		}
	}
}

func TestBlocks(t *testing.T) {
	fileID := NewFileID()
	for _, alg := range allAlgorithms {
		c := testContent(t, alg)
		cbs := c.CipherBlockSize()
		for _, n := range []int{0, 1, 4095, 4096, 4097, 31*4096 + 1, 32 * 4096, 100*4096 + 77} {
			plain := make([]byte, n)
			for i := range plain {
				plain[i] = byte(i * 7)
			}
			ct := c.SealBlocks([]byte("pre"), plain, 5, fileID)
			if int64(len(ct)-3) != c.CipherSize(int64(n))-min(int64(n), 1)*HeaderSize {
				t.Fatalf("%v n=%d: ciphertext %d bytes", alg, n, len(ct)-3)
			}
			ct = ct[3:]
			got, err := c.OpenBlocks([]byte("pre"), ct, 5, fileID)
			if err != nil || !bytes.Equal(got, append([]byte("pre"), plain...)) {
				t.Fatalf("%v n=%d: round trip: %v", alg, n, err)
			}
			// Same as block-by-block.
			var one []byte
			for i := 0; i*cbs < len(ct); i++ {
				if one, err = c.OpenBlock(one, ct[i*cbs:min((i+1)*cbs, len(ct))], uint64(5+i), fileID); err != nil {
					t.Fatal(err)
				}
			}
			if !bytes.Equal(one, plain) {
				t.Fatalf("%v n=%d: OpenBlock disagrees with SealBlocks", alg, n)
			}
			if n == 0 {
				continue
			}
			nb := (len(ct) + cbs - 1) / cbs
			// Corrupt two blocks: the error names the lower one.
			for _, bad := range [][2]int{{0, nb - 1}, {nb / 2, nb - 1}, {nb - 1, nb - 1}} {
				mod := bytes.Clone(ct)
				mod[bad[0]*cbs+c.NonceSize()] ^= 1
				mod[bad[1]*cbs+c.NonceSize()+1] ^= 1
				got, err := c.OpenBlocks([]byte("pre"), mod, 5, fileID)
				want := fmt.Sprintf("block %d: ", 5+bad[0])
				if !errors.Is(err, ErrAuthFailed) || !strings.HasPrefix(err.Error(), want) || string(got) != "pre" {
					t.Errorf("%v n=%d bad %v: got %d bytes, %v; want %q", alg, n, bad, len(got), err, want)
				}
			}
			// Truncated last block (1..OH bytes).
			trunc := ct[:(nb-1)*cbs+1]
			if nb > 1 {
				mod := bytes.Clone(trunc)
				mod[c.NonceSize()] ^= 1 // and block 0 is bad too: lowest wins
				if _, err := c.OpenBlocks(nil, mod, 5, fileID); err == nil || !strings.HasPrefix(err.Error(), "block 5: ") {
					t.Errorf("%v n=%d: %v", alg, n, err)
				}
			}
			if _, err := c.OpenBlocks(nil, trunc, 5, fileID); !errors.Is(err, ErrAuthFailed) ||
				!strings.HasPrefix(err.Error(), fmt.Sprintf("block %d: ", 5+nb-1)) {
				t.Errorf("%v n=%d truncated: %v", alg, n, err)
			}
			// Wrong first block number.
			if _, err := c.OpenBlocks(nil, ct, 6, fileID); !errors.Is(err, ErrAuthFailed) {
				t.Errorf("%v n=%d: shifted block numbers accepted", alg, n)
			}
		}
	}
}

// TestBlocksNoPerBlockAllocs: sealing/opening into a big enough dst costs
// the same number of allocations for 8 and 24 blocks (AES-GCM; jacobsa/siv
// and x/crypto's XChaCha allocate inside every call).
func TestBlocksNoPerBlockAllocs(t *testing.T) {
	c := testContent(t, AESGCM)
	id := NewFileID()
	allocs := func(blocks int) (seal, open float64) {
		plain := make([]byte, blocks*PlainBlockSize)
		ct := make([]byte, 0, blocks*c.CipherBlockSize())
		ct = c.SealBlocks(ct, plain, 0, id)
		out := make([]byte, 0, len(plain))
		seal = testing.AllocsPerRun(20, func() { c.SealBlocks(ct[:0], plain, 0, id) })
		open = testing.AllocsPerRun(20, func() {
			if _, err := c.OpenBlocks(out[:0], ct, 0, id); err != nil {
				t.Fatal(err)
			}
		})
		return
	}
	s8, o8 := allocs(8)
	s24, o24 := allocs(24)
	if s8 != s24 || o8 != o24 || s8 > 2 || o8 > 2 {
		t.Errorf("allocations: seal %v/%v, open %v/%v (8/24 blocks)", s8, s24, o8, o24)
	}
}

func TestWipe(t *testing.T) {
	c := testContent(t, AESSIV)
	key := c.key
	c.Wipe()
	if !allZero(key) {
		t.Error("SIV key not zeroed")
	}
	defer func() {
		if recover() == nil {
			t.Error("SealBlock after Wipe did not panic")
		}
	}()
	c.SealBlock(nil, []byte("x"), 0, nil)
}

func TestWipeFunc(t *testing.T) {
	b := []byte{1, 2, 3}
	Wipe(b)
	if !allZero(b) {
		t.Error(b)
	}
	Wipe(nil)
}

func TestHeader(t *testing.T) {
	id := NewFileID()
	h := MarshalHeader(id)
	if len(h) != HeaderSize || h[0] != 0 || h[1] != 2 || !bytes.Equal(h[2:], id) {
		t.Fatalf("header %x", h)
	}
	got, err := ParseHeader(append(h, 1, 2, 3)) // trailing block bytes are ignored
	if err != nil || !bytes.Equal(got, id) {
		t.Fatalf("ParseHeader: %x, %v", got, err)
	}
	got[0] ^= 0xff
	if h[2] == got[0] {
		t.Error("ParseHeader result aliases its input")
	}
	if bytes.Equal(NewFileID(), NewFileID()) {
		t.Error("file IDs repeat")
	}
	// Negative corpus, one failure per case (FORMAT §4.3).
	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"17 bytes", h[:17]},
		{"all zero", make([]byte, HeaderSize)},
		{"version 0", append([]byte{0, 0}, id...)},
		{"version 1", append([]byte{0, 1}, id...)},
		{"version 3", append([]byte{0, 3}, id...)},
		{"version 0x0200 (little-endian 2)", append([]byte{2, 0}, id...)},
		{"zero file ID", append([]byte{0, 2}, make([]byte, 16)...)},
	} {
		if _, err := ParseHeader(tc.b); !errors.Is(err, ErrBadHeader) {
			t.Errorf("%s: err %v", tc.name, err)
		}
	}
}

func TestWrapMasterKey(t *testing.T) {
	kek := bytes.Repeat([]byte{7}, 32)
	mk := bytes.Repeat([]byte{9}, 32)
	w := WrapMasterKey(kek, mk)
	if WrappedKeySize != 64 || len(w) != WrappedKeySize {
		t.Fatalf("wrapped %d bytes", len(w))
	}
	if bytes.Equal(w, WrapMasterKey(kek, mk)) {
		t.Error("wrap is deterministic; nonce must be fresh")
	}
	got, err := UnwrapMasterKey(kek, w)
	if err != nil || !bytes.Equal(got, mk) {
		t.Fatalf("unwrap: %v", err)
	}
	kek2 := bytes.Clone(kek)
	kek2[31] ^= 1
	if _, err := UnwrapMasterKey(kek2, w); !errors.Is(err, ErrAuthFailed) {
		t.Errorf("wrong kek: %v", err)
	}
	for i := range w {
		mod := bytes.Clone(w)
		mod[i] ^= 0x80
		if _, err := UnwrapMasterKey(kek, mod); !errors.Is(err, ErrAuthFailed) {
			t.Errorf("byte %d flipped: %v", i, err)
		}
	}
	if _, err := UnwrapMasterKey(kek, w[:60]); err == nil || errors.Is(err, ErrAuthFailed) {
		t.Errorf("60-byte (legacy) key: %v", err)
	}
}

func TestScryptParams(t *testing.T) {
	p := NewScryptParams(MinScryptLogN)
	if p.N != 1024 || p.R != 8 || p.P != 1 || p.KeyLen != 32 || len(p.Salt) != 32 || allZero(p.Salt) {
		t.Fatalf("%+v", p)
	}
	if p.LogN() != 10 || NewScryptParams(DefaultScryptLogN).N != 65536 {
		t.Error("LogN")
	}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	k1, err := p.DeriveKEK([]byte("pw"))
	if err != nil || len(k1) != 32 {
		t.Fatal(err)
	}
	if k2, _ := p.DeriveKEK([]byte("pw2")); bytes.Equal(k1, k2) {
		t.Error("different passwords gave the same KEK")
	}
	for _, tc := range []struct {
		name string
		mod  func(*ScryptParams)
	}{
		{"N 512", func(p *ScryptParams) { p.N = 512 }},
		{"N 0", func(p *ScryptParams) { p.N = 0 }},
		{"N not power of two", func(p *ScryptParams) { p.N = 1536 }},
		{"N 2^29", func(p *ScryptParams) { p.N = 1 << 29 }},
		{"logN 63", func(p *ScryptParams) { *p = NewScryptParams(63) }},
		{"R 7", func(p *ScryptParams) { p.R = 7 }},
		{"P 0", func(p *ScryptParams) { p.P = 0 }},
		{"R·P huge", func(p *ScryptParams) { p.R, p.P = 1<<20, 1<<10 }},
		// Hostile configs that the checks of R·P alone let through: 128
		// GiB of memory, ~100 hours of work.
		{"N 2^31", func(p *ScryptParams) { p.N = 1 << 31 }},
		{"R 2^20", func(p *ScryptParams) { p.R = 1 << 20 }},
		{"P 2^20", func(p *ScryptParams) { p.P = 1 << 20 }},
		{"R 33", func(p *ScryptParams) { p.R = 33 }},
		{"P 17", func(p *ScryptParams) { p.P = 17 }},
		{"N·R·P 2^28·16·1", func(p *ScryptParams) { p.N, p.R = 1<<28, 16 }},
		{"N·R·P 2^28·8·2", func(p *ScryptParams) { p.N, p.P = 1<<28, 2 }},
		{"salt 31", func(p *ScryptParams) { p.Salt = p.Salt[:31] }},
		{"salt 1025", func(p *ScryptParams) { p.Salt = make([]byte, 1025) }},
		{"KeyLen 16", func(p *ScryptParams) { p.KeyLen = 16 }},
		{"KeyLen 64", func(p *ScryptParams) { p.KeyLen = 64 }},
	} {
		q := NewScryptParams(MinScryptLogN)
		tc.mod(&q)
		// DeriveKEK only after Validate refused: on parameters it let
		// through it would run for hours or exhaust memory.
		err := q.Validate()
		if err == nil {
			t.Errorf("%s: accepted", tc.name)
			continue
		}
		if !strings.Contains(err.Error(), "allowed") {
			t.Errorf("%s: %q does not say what is allowed", tc.name, err)
		}
		start := time.Now()
		if _, err := q.DeriveKEK([]byte("pw")); err == nil {
			t.Errorf("%s: DeriveKEK accepted", tc.name)
		}
		if d := time.Since(start); d > 100*time.Millisecond {
			t.Errorf("%s: refused after %v, not at once", tc.name, d)
		}
	}
	// Every config gocryptfs writes, up to its costliest, stays valid (not
	// derived: N = 2^28 needs 256 GiB), and so does a larger R or P paid
	// for by a smaller N.
	for _, tc := range []struct{ logN, r, p int }{{MaxScryptLogN, 8, 1}, {MaxScryptLogN - 2, 32, 1}, {MaxScryptLogN - 4, 8, 16}} {
		q := NewScryptParams(tc.logN)
		q.R, q.P = tc.r, tc.p
		if err := q.Validate(); err != nil {
			t.Errorf("2^%d, R=%d, P=%d: %v", tc.logN, tc.r, tc.p, err)
		}
	}
}

// TestValidScryptLogN: the --scryptn check and Validate are one rule, so
// no cost the command accepts is refused when its config is written, and
// none it refuses would have been valid.
func TestValidScryptLogN(t *testing.T) {
	for logN := -1; logN <= 64; logN++ {
		p := NewScryptParams(logN)
		if got, want := ValidScryptLogN(logN), p.Validate() == nil; got != want {
			t.Errorf("logN %d: ValidScryptLogN %v, Validate accepts %v", logN, got, want)
		}
	}
	if !ValidScryptLogN(DefaultScryptLogN) {
		t.Error("the default cost is out of range")
	}
}

package cipher

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"testing"
)

// fixtureCiphertexts returns the ciphertext of every non-empty fixture file,
// as fuzz seeds.
func fixtureCiphertexts(tb testing.TB) [][]byte {
	var out [][]byte
	for _, fx := range ReadFixtures(tb) {
		for _, e := range fx.Entries {
			if e.Type == "file" && e.CipherSize > 0 && e.CipherSize < 10000 {
				data, err := os.ReadFile(fx.CipherFile(e.CipherPath))
				if err != nil {
					tb.Fatal(err)
				}
				out = append(out, data)
			}
		}
	}
	return out
}

// FuzzParseHeader: ParseHeader accepts exactly the headers FORMAT §4.3
// allows, and what it accepts re-marshals to the same 18 bytes.
func FuzzParseHeader(f *testing.F) {
	for _, ct := range fixtureCiphertexts(f) {
		f.Add(ct[:HeaderSize])
	}
	f.Add(make([]byte, HeaderSize))
	f.Add([]byte{0, 2})
	f.Add(append([]byte{0, 2}, make([]byte, 16)...))
	f.Fuzz(func(t *testing.T, b []byte) {
		id, err := ParseHeader(b)
		valid := len(b) >= HeaderSize && b[0] == 0 && b[1] == HeaderVersion && !allZero(b[2:HeaderSize])
		if valid != (err == nil) {
			t.Fatalf("ParseHeader(%x): err %v, but valid=%v", b, err, valid)
		}
		if err != nil {
			if !errors.Is(err, ErrBadHeader) || id != nil {
				t.Fatalf("ParseHeader(%x): %x, %v", b, id, err)
			}
			return
		}
		if !bytes.Equal(MarshalHeader(id), b[:HeaderSize]) {
			t.Fatalf("round trip of %x gave %x", b, MarshalHeader(id))
		}
	})
}

// FuzzOpenBlock checks two properties for all three ciphers:
//
//  1. A block sealed from fuzz-chosen plaintext, with fuzz-chosen bytes
//     XORed in, opens if and only if the XOR changed nothing, and then to the
//     original plaintext. Any error wraps ErrAuthFailed.
//  2. Fuzz-chosen raw bytes never open under our key unless they are empty
//     or a full all-zero block (the two documented non-authenticated cases,
//     FORMAT §4.4, §7). Fixture blocks are seeds: made under other keys, they
//     must fail too.
//
// Inputs are kept small (the mutator minimizes every interesting input,
// which is quadratic in its size); pad zero-extends plain to a full block
// and raw to CipherBlockSize so full blocks and holes are still reached.
func FuzzOpenBlock(f *testing.F) {
	const maxIn = 512
	for _, ct := range fixtureCiphertexts(f) {
		f.Add(uint8(0), []byte("x"), []byte{}, uint64(0), true, ct[HeaderSize:min(len(ct), HeaderSize+maxIn)], false)
	}
	f.Add(uint8(1), []byte("hello"), []byte{0, 3, 0x80}, uint64(1), false, []byte{}, false)
	f.Add(uint8(2), []byte{}, []byte{0, 0, 1}, uint64(1<<40), true, []byte{}, true)
	f.Add(uint8(0), []byte("abc"), []byte{255, 255, 1, 0, 0, 17}, uint64(3), false, []byte{0}, true)
	keys := map[Algorithm]*Content{}
	for _, alg := range allAlgorithms {
		keys[alg] = testContent(f, alg)
	}
	fileID := bytes.Repeat([]byte{0x11}, FileIDSize)
	f.Fuzz(func(t *testing.T, algSel uint8, plain, flips []byte, blockNo uint64, withID bool, raw []byte, pad bool) {
		if len(plain) > maxIn || len(raw) > maxIn || len(flips) > 3*32 {
			t.Skip()
		}
		c := keys[allAlgorithms[int(algSel)%len(allAlgorithms)]]
		var id []byte
		if withID {
			id = fileID
		}
		if pad {
			plain = append(bytes.Clone(plain), make([]byte, PlainBlockSize-len(plain))...)
			raw = append(bytes.Clone(raw), make([]byte, c.CipherBlockSize()-len(raw))...)
		}
		// Property 1.
		sealed := c.SealBlock(nil, plain, blockNo, id)
		mod := bytes.Clone(sealed)
		// flips is a list of (offset BE16 mod len, xor byte) triples.
		for i := 0; i+3 <= len(flips) && len(mod) > 0; i += 3 {
			off := int(binary.BigEndian.Uint16(flips[i:])) % len(mod)
			mod[off] ^= flips[i+2]
		}
		got, err := c.OpenBlock(nil, mod, blockNo, id)
		unchanged := bytes.Equal(mod, sealed)
		switch {
		case err != nil && !errors.Is(err, ErrAuthFailed):
			t.Fatalf("error %v does not wrap ErrAuthFailed", err)
		case err != nil && unchanged:
			t.Fatalf("unmodified block rejected: %v", err)
		case err == nil && !unchanged:
			if len(mod) == c.CipherBlockSize() && allZero(mod) {
				break // turned into a hole; reads as zeros by design
			}
			t.Fatalf("modified block accepted: %x -> %x", sealed, mod)
		case err == nil && !bytes.Equal(got, plain):
			t.Fatalf("plaintext changed")
		}
		// Property 2.
		got, err = c.OpenBlock(nil, raw, blockNo, id)
		hole := len(raw) == c.CipherBlockSize() && allZero(raw)
		switch {
		case len(raw) == 0 || hole:
			if err != nil || (hole && !bytes.Equal(got, make([]byte, PlainBlockSize))) || (!hole && len(got) != 0) {
				t.Fatalf("empty/hole block: %d bytes, %v", len(got), err)
			}
		case err == nil:
			t.Fatalf("forged block accepted: %x", raw)
		case !errors.Is(err, ErrAuthFailed):
			t.Fatalf("error %v does not wrap ErrAuthFailed", err)
		}
	})
}

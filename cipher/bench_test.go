package cipher_test

// Benchmarks of the content-encryption hot paths, so that a regression in the
// data path's crypto shows up without a FUSE mount:
//
//	go test -run '^$' -bench . -benchtime 200ms ./cipher/
//	make bench-go
//
// Throughput (MB/s) is of plaintext bytes (b.SetBytes); allocs/op come from
// b.ReportAllocs. Destination buffers are reused across iterations, as the
// data path's per-mount buffer pool does, so allocs/op is the cipher's own.
//
// This is an external test package on purpose: it uses only the exported API,
// so refactoring the package's internal test helpers cannot break it.

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/veilfs/veilfs/cipher"
)

var benchAlgorithms = []cipher.Algorithm{cipher.AESGCM, cipher.AESSIV, cipher.XChaCha20Poly1305}

func benchContent(b *testing.B, alg cipher.Algorithm) *cipher.Content {
	b.Helper()
	c, err := cipher.NewContent(bytes.Repeat([]byte{0x42}, cipher.MasterKeySize), alg)
	if err != nil {
		b.Fatal(err)
	}
	return c
}

// benchPlain returns n bytes of non-zero plaintext (all-zero blocks are not
// special on the seal side, but keep the data realistic anyway).
func benchPlain(n int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(i*7 + 1)
	}
	return p
}

// BenchmarkSealBlock seals one full 4 KiB block per iteration.
func BenchmarkSealBlock(b *testing.B) {
	for _, alg := range benchAlgorithms {
		b.Run(alg.String(), func(b *testing.B) {
			c := benchContent(b, alg)
			id := cipher.NewFileID()
			plain := benchPlain(cipher.PlainBlockSize)
			dst := make([]byte, 0, c.CipherBlockSize())
			b.SetBytes(int64(len(plain)))
			b.ReportAllocs()
			for b.Loop() {
				dst = c.SealBlock(dst[:0], plain, 7, id)
			}
		})
	}
}

// BenchmarkOpenBlock authenticates and decrypts one full 4 KiB block per iteration.
func BenchmarkOpenBlock(b *testing.B) {
	for _, alg := range benchAlgorithms {
		b.Run(alg.String(), func(b *testing.B) {
			c := benchContent(b, alg)
			id := cipher.NewFileID()
			plain := benchPlain(cipher.PlainBlockSize)
			ct := c.SealBlock(nil, plain, 7, id)
			dst := make([]byte, 0, cipher.PlainBlockSize)
			b.SetBytes(int64(len(plain)))
			b.ReportAllocs()
			for b.Loop() {
				var err error
				if dst, err = c.OpenBlock(dst[:0], ct, 7, id); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// Request sizes of the data path: 128 KiB is the kernel's default FUSE
// max_write/readahead unit, 1 MiB the largest request veilfs negotiates.
var benchSizes = []struct {
	name string
	n    int
}{{"128KiB", 128 << 10}, {"1MiB", 1 << 20}}

// BenchmarkSealBlocks seals a whole request (32 or 256 blocks) per iteration,
// including SealBlocks's fan-out over goroutines for large inputs.
func BenchmarkSealBlocks(b *testing.B) {
	for _, alg := range benchAlgorithms {
		for _, sz := range benchSizes {
			b.Run(fmt.Sprintf("%s/%s", alg, sz.name), func(b *testing.B) {
				c := benchContent(b, alg)
				id := cipher.NewFileID()
				plain := benchPlain(sz.n)
				dst := make([]byte, 0, c.CipherSize(int64(sz.n)))
				b.SetBytes(int64(sz.n))
				b.ReportAllocs()
				for b.Loop() {
					dst = c.SealBlocks(dst[:0], plain, 0, id)
				}
			})
		}
	}
}

// BenchmarkOpenBlocks opens a whole request per iteration.
func BenchmarkOpenBlocks(b *testing.B) {
	for _, alg := range benchAlgorithms {
		for _, sz := range benchSizes {
			b.Run(fmt.Sprintf("%s/%s", alg, sz.name), func(b *testing.B) {
				c := benchContent(b, alg)
				id := cipher.NewFileID()
				ct := c.SealBlocks(nil, benchPlain(sz.n), 0, id)
				dst := make([]byte, 0, sz.n)
				b.SetBytes(int64(sz.n))
				b.ReportAllocs()
				for b.Loop() {
					var err error
					if dst, err = c.OpenBlocks(dst[:0], ct, 0, id); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkParseHeader parses the 18-byte file header, done on every open.
func BenchmarkParseHeader(b *testing.B) {
	h := cipher.MarshalHeader(cipher.NewFileID())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := cipher.ParseHeader(h); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkScryptLogN10 derives a KEK at the cheapest cost gocryptfs allows
// (N = 2^10), what tests and the benchmark volumes use. The default cost
// (2^16) is 64 times this and deliberately slow, so it is not benchmarked.
func BenchmarkScryptLogN10(b *testing.B) {
	p := cipher.NewScryptParams(cipher.MinScryptLogN)
	pw := []byte("benchmark password")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.DeriveKEK(pw); err != nil {
			b.Fatal(err)
		}
	}
}

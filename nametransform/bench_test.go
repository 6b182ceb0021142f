package nametransform_test

// Benchmarks of name encryption, paid on every lookup, create and readdir
// entry of an encrypted-name volume:
//
//	go test -run '^$' -bench . -benchtime 200ms ./nametransform/
//	make bench-go
//
// b.SetBytes is the plaintext name length, so MB/s compares short and long
// names per byte. This is an external test package: exported API only.

import (
	"bytes"
	"strings"
	"testing"

	"github.com/veilfs/veilfs/nametransform"
)

// Names: a typical short source-file name, and a 200-byte name whose cName
// (B64 of 208 bytes = 278 characters) exceeds the 255-byte default
// LongNameMax, i.e. the gocryptfs.longname.* path.
var benchNames = []struct{ label, name string }{
	{"short", "bench_test.go"},
	{"long", strings.Repeat("long-file-name-", 13) + "01234"},
}

func benchTransform(b *testing.B) (*nametransform.Transform, []byte) {
	b.Helper()
	tr, err := nametransform.New(bytes.Repeat([]byte{0x24}, nametransform.EMEKeyLen), nametransform.Options{Raw64: true})
	if err != nil {
		b.Fatal(err)
	}
	return tr, []byte("0123456789abcdef")
}

// BenchmarkEncryptName: pad16 + EME + base64 of one name.
func BenchmarkEncryptName(b *testing.B) {
	for _, n := range benchNames {
		b.Run(n.label, func(b *testing.B) {
			tr, iv := benchTransform(b)
			b.SetBytes(int64(len(n.name)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := tr.EncryptName(n.name, iv); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDecryptName: strict base64 decode + EME + unpad + validation.
func BenchmarkDecryptName(b *testing.B) {
	for _, n := range benchNames {
		b.Run(n.label, func(b *testing.B) {
			tr, iv := benchTransform(b)
			cname, err := tr.EncryptName(n.name, iv)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(n.name)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := tr.DecryptName(cname, iv); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEncryptDiskName: EncryptName plus, for the long name, hashing it
// into its gocryptfs.longname.* form (what a create of a long name costs).
func BenchmarkEncryptDiskName(b *testing.B) {
	for _, n := range benchNames {
		b.Run(n.label, func(b *testing.B) {
			tr, iv := benchTransform(b)
			b.SetBytes(int64(len(n.name)))
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := tr.EncryptDiskName(n.name, iv); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkHashLongName: SHA-256 + base64 of a long cName.
func BenchmarkHashLongName(b *testing.B) {
	tr, iv := benchTransform(b)
	cname, err := tr.EncryptName(benchNames[1].name, iv)
	if err != nil {
		b.Fatal(err)
	}
	if !tr.IsLong(cname) {
		b.Fatalf("cName of %d bytes is not long", len(cname))
	}
	b.SetBytes(int64(len(cname)))
	b.ReportAllocs()
	for b.Loop() {
		_ = tr.HashLongName(cname)
	}
}

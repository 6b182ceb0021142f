//go:build linux

package stress

import (
	"bytes"
	"testing"
)

// TestCheckers makes sure the verifiers of the stress tests are not
// vacuous: each one must flag the damage it exists to find. No FUSE needed.
func TestCheckers(t *testing.T) {
	// Pattern bytes decode to the writing op (mod 255) and are never zero.
	p := make([]byte, 3*blk)
	for _, idx := range []int{0, 1, 254, 255, 1000, 99999} {
		off := int64(idx * 37)
		pattern(p, idx, off)
		for i, b := range p {
			if b == 0 {
				t.Fatalf("pattern(idx %d) has a zero byte at %d", idx, i)
			}
			if k := writerOf(b, off+int64(i)); k != idx%255 {
				t.Fatalf("writerOf(pattern(idx %d)) at %d = %d", idx, i, k)
			}
		}
	}

	// Stripes: a neighbour's byte, a stale generation and a zero in a
	// written stripe are all caught; the exact final state passes.
	l := stripeLayout{Files: []string{"f"}, StripeLen: 10, NStripes: 4, Writers: 2}
	final := stripeGens{0: {0: 3, 1: 1, 2: 2}} // stripe 3 never written
	good := bytes.Join([][]byte{
		bytes.Repeat([]byte{stripeByte(0, 3)}, 10),
		bytes.Repeat([]byte{stripeByte(1, 1)}, 10),
		bytes.Repeat([]byte{stripeByte(0, 2)}, 10),
		make([]byte, 10),
	}, nil)
	if err := checkStripes(l, 0, good, 0, final); err != nil {
		t.Fatalf("exact final state rejected: %v", err)
	}
	if err := checkStripes(l, 0, good, 0, nil); err != nil {
		t.Fatalf("valid intermediate state rejected: %v", err)
	}
	for name, damage := range map[string]func(b []byte){
		"stale generation":  func(b []byte) { b[25] = stripeByte(0, 1) },
		"neighbour's byte":  func(b []byte) { b[10] = stripeByte(0, 3) },
		"lost (zero)":       func(b []byte) { b[5] = 0 },
		"data in unwritten": func(b []byte) { b[35] = stripeByte(1, 4) },
	} {
		b := bytes.Clone(good)
		damage(b)
		if err := checkStripes(l, 0, b, 0, final); err == nil {
			t.Errorf("final check missed: %s", name)
		}
	}
	b := bytes.Clone(good)
	b[12] = stripeByte(0, 1) // writer 0's byte in writer 1's stripe
	if err := checkStripes(l, 0, b[10:20], 10, nil); err == nil {
		t.Error("intermediate check missed a byte of the wrong writer")
	}

	// Chaos files: empty, whole and prefixes pass; torn or foreign fail.
	whole := bytes.Repeat([]byte("chaos 1 2\n"), 5)
	for _, ok := range [][]byte{nil, []byte("cha"), whole[:23], whole} {
		if err := checkChaosContent(ok); err != nil {
			t.Errorf("checkChaosContent(%q) = %v", ok, err)
		}
	}
	torn := bytes.Clone(whole)
	copy(torn[20:], "chaos 2 7\n")
	for _, bad := range [][]byte{torn, []byte("hello\n"), append(bytes.Clone(whole[:15]), 0, 0)} {
		if err := checkChaosContent(bad); err == nil {
			t.Errorf("checkChaosContent(%q) accepted", bad)
		}
	}

	// Rename-over versions: only a whole version passes; a read through
	// another inode's size (cut, or padded with zeros) is named as such.
	v7, v8 := roFile(7, 5000), roFile(8, 9000)
	for _, ok := range [][]byte{v7, roFile(9, 0)} {
		if kind, err := checkRenameOverContent(ok); err != nil {
			t.Errorf("whole version rejected as %s: %v", kind, err)
		}
	}
	for want, bad := range map[string][]byte{
		"short":       v8[:len(v7)],
		"zero-filled": append(bytes.Clone(v7), make([]byte, 4000)...),
		"wrong bytes": append(bytes.Clone(v8[:roHeader]), v7[roHeader:]...),
		"bad header":  nil,
		"long":        append(bytes.Clone(v7), v8[roHeader:roHeader+10]...),
	} {
		if kind, err := checkRenameOverContent(bad); err == nil || kind != want {
			t.Errorf("checkRenameOverContent(%s) = %q, %v", want, kind, err)
		}
	}
	zeros := bytes.Clone(v8)
	clear(zeros[roHeader+100:])
	if kind, _ := checkRenameOverContent(zeros); kind != "zero-filled" {
		t.Errorf("zeros inside a version: %q, want zero-filled", kind)
	}
	if kind, _ := checkRenameOverContent(make([]byte, 4096)); kind != "zero-filled" {
		t.Errorf("a page of zeros: %q, want zero-filled", kind)
	}
}

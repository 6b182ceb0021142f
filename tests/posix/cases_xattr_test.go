//go:build linux

package posix

import (
	"fmt"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// The xattr cases of issue #16, appended to the battery after the cases
// of battery_test.go.
func init() {
	battery = append(battery,
		posixCase{"xattr_full", caseXattrFull},
	)
}

// caseXattrFull fills the attribute space of one file (xfstests
// generic/020) and stores values of up to the kernel's 64 KiB limit: both
// stop with the backing filesystem's own error, ENOSPC on ext4. veilfs
// stores far fewer attributes than the plain directory (encrypted names
// and sealed values are longer, docs/faq.md), so only the error is
// compared, not the count. A veilfs value near 64 KiB seals to more than
// 64 KiB, which the backing setxattr refused with E2BIG.
func caseXattrFull(t *testing.T, dir string) string {
	var o obs
	p := filepath.Join(dir, "f")
	writeFile(t, p, nil, 0o644)
	var err error
	n := 0
	for ; n < 10000; n++ {
		if err = unix.Setxattr(p, fmt.Sprintf("user.attribute_%d", n), []byte(fmt.Sprintf("value_%d", n)), 0); err != nil {
			break
		}
	}
	if n < 20 {
		t.Errorf("only %d attributes fit", n)
	}
	o.add("fill: stops with %s", en(err))
	l, lerr := userXattrs(p)
	o.add("all listed: %v %s, last readable: %v", len(l) == n, en(lerr), getx(p, fmt.Sprintf("user.attribute_%d", n-1)) == fmt.Sprintf("%q", fmt.Sprintf("value_%d", n-1)))
	o.add("one more after removing one: %s", en(unix.Removexattr(p, "user.attribute_0")))
	o.add("  %s", en(unix.Setxattr(p, "user.attribute_0", []byte("value_0"), 0)))
	q := filepath.Join(dir, "g")
	writeFile(t, q, nil, 0o644)
	for _, size := range []int{65000, 65510, 65536} {
		o.add("%d-byte value: %s", size, en(unix.Setxattr(q, "user.big", make([]byte, size), 0)))
	}
	o.add("65537-byte value: %s", en(unix.Setxattr(q, "user.big", make([]byte, 65537), 0)))
	o.add("get after the failures: %s", getx(q, "user.big"))
	return o.String()
}

package cipherdir

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/cipher/config"
	"github.com/veilfs/veilfs/internal/testenv"
)

// posixACL encodes the xattr value of a POSIX ACL: entries of tag, perm
// and id (the kernel's struct posix_acl_xattr_entry, little-endian).
func posixACL(entries ...[3]uint32) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, uint32(2)) // POSIX_ACL_XATTR_VERSION
	for _, e := range entries {
		binary.Write(&b, binary.LittleEndian, uint16(e[0]))
		binary.Write(&b, binary.LittleEndian, uint16(e[1]))
		binary.Write(&b, binary.LittleEndian, e[2])
	}
	return b.Bytes()
}

// TestMkdirInheritsDefaultACL: like mkdir(2) in a directory with a default
// ACL (what gocryptfs -acl and veilfs mount --acl store as it is), the new
// directory's group and other bits are the mode's as far as the ACL allows:
// the ACL's mask and other entry, not widened back to the mode by the
// chmod after the IV is written.
func TestMkdirInheritsDefaultACL(t *testing.T) {
	v, root := newTestVolume(t, config.CreateOptions{})
	if _, err := v.Mkdir(root, "d", 0o755); err != nil {
		t.Fatal(err)
	}
	const (
		userObj, user, groupObj, mask, other = 0x01, 0x02, 0x04, 0x10, 0x20
		none                                 = ^uint32(0)
	)
	// default: user::rwx user:65534:rwx group::r-x mask::rwx other::r-x
	acl := posixACL([3]uint32{userObj, 7, none}, [3]uint32{user, 7, 65534}, [3]uint32{groupObj, 5, none},
		[3]uint32{mask, 7, none}, [3]uint32{other, 5, none})
	if err := unix.Setxattr(filepath.Join(v.Dir, "d"), "system.posix_acl_default", acl, 0); err != nil {
		testenv.Missing(t, fmt.Sprintf("the filesystem of %s takes no default ACL: %v", v.Dir, err))
	}
	d, err := OpenDirAt(root, "d")
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(d)
	for _, tc := range []struct {
		name string
		mode uint32
		want uint32
	}{
		{"open", 0o777, 0o775}, // other r-x; the mask rwx shows as group
		{"closed", 0o700, 0o700},
		{"ro", 0o555, 0o555},
	} {
		if _, err := v.Mkdir(d, tc.name, tc.mode); err != nil {
			t.Fatal(err)
		}
		var st unix.Stat_t
		if err := unix.Stat(filepath.Join(v.Dir, "d", tc.name), &st); err != nil {
			t.Fatal(err)
		}
		if got := st.Mode & 0o7777; got != tc.want {
			t.Errorf("mkdir %s %o: mode %o, want %o", tc.name, tc.mode, got, tc.want)
		}
		if n, err := unix.Getxattr(filepath.Join(v.Dir, "d", tc.name), "system.posix_acl_default", nil); err != nil || n == 0 {
			t.Errorf("mkdir %s: the default ACL is not inherited: %d %v", tc.name, n, err)
		}
	}
}

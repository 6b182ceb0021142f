package fs

import (
	"context"
	"syscall"

	fusefs "github.com/hanwen/go-fuse/v2/fs"
	"golang.org/x/sys/unix"
)

// capabilityXattr is queried by the kernel before every write to decide
// whether to drop file capabilities. Answering without I/O saves a round
// trip per write; veilfs, like gocryptfs without -suid, does not store
// file capabilities.
const capabilityXattr = "security.capability"

// xattrPath names an object for the path-based l*xattr calls: the magic
// /proc link reaches the directory we opened beneath CIPHERDIR, and the
// l-variants do not follow a symlink in the last component.
func xattrPath(d *dirHandle, disk string) string {
	return procFD(d.fd) + "/" + disk
}

// xattrTarget is where one attribute of a node lives on disk.
type xattrTarget struct {
	d      *dirHandle
	disk   string // the node's name in d
	path   string // for the l*xattr calls
	stored string // the encrypted attribute name
}

func (x *xattrTarget) close() { x.d.close() }

// xattrTarget encrypts the attribute name and opens the node's directory.
func (n *Node) xattrTarget(attr string) (*xattrTarget, syscall.Errno) {
	stored, err := n.r.vol.Names.EncryptXattrName(attr)
	if err != nil {
		return nil, toErrno(err)
	}
	d, disk, err := n.openParent()
	if err != nil {
		return nil, n.r.fail("", err)
	}
	return &xattrTarget{d: d, disk: disk, path: xattrPath(d, disk), stored: stored}, 0
}

var _ = (fusefs.NodeGetxattrer)((*Node)(nil))

// Getxattr decrypts one attribute value (FORMAT §7).
func (n *Node) Getxattr(ctx context.Context, attr string, dest []byte) (uint32, syscall.Errno) {
	n.r.touch()
	if attr == capabilityXattr {
		return 0, syscall.ENODATA
	}
	x, errno := n.xattrTarget(attr)
	if errno != 0 {
		return 0, errno
	}
	defer x.close()
	raw, err := getxattrAll(x.path, x.stored)
	if err != nil {
		return 0, toErrno(err)
	}
	value, err := n.r.vol.DecryptXattrValue(raw)
	if err != nil {
		return 0, n.r.fail(x.d.childPath(x.disk), err)
	}
	if len(dest) < len(value) {
		return uint32(len(value)), syscall.ERANGE
	}
	return uint32(copy(dest, value)), 0
}

// getxattrAll reads a whole backing attribute value.
func getxattrAll(path, name string) ([]byte, error) {
	buf := make([]byte, 256)
	for {
		sz, err := unix.Lgetxattr(path, name, buf)
		if err == unix.ERANGE {
			if sz, err = unix.Lgetxattr(path, name, nil); err != nil {
				return nil, err
			}
			buf = make([]byte, sz)
			continue
		}
		if err != nil {
			return nil, err
		}
		return buf[:sz], nil
	}
}

var _ = (fusefs.NodeSetxattrer)((*Node)(nil))

// Setxattr stores an encrypted name and value.
func (n *Node) Setxattr(ctx context.Context, attr string, data []byte, flags uint32) syscall.Errno {
	n.r.touch()
	if attr == capabilityXattr {
		return syscall.EOPNOTSUPP
	}
	x, errno := n.xattrTarget(attr)
	if errno != 0 {
		return errno
	}
	defer x.close()
	return toErrno(unix.Lsetxattr(x.path, x.stored, n.r.vol.EncryptXattrValue(data), int(flags)))
}

var _ = (fusefs.NodeRemovexattrer)((*Node)(nil))

// Removexattr removes one attribute.
func (n *Node) Removexattr(ctx context.Context, attr string) syscall.Errno {
	n.r.touch()
	x, errno := n.xattrTarget(attr)
	if errno != 0 {
		return errno
	}
	defer x.close()
	return toErrno(unix.Lremovexattr(x.path, x.stored))
}

var _ = (fusefs.NodeListxattrer)((*Node)(nil))

// Listxattr lists the decrypted attribute names; backing attributes that
// are not ours, or do not decrypt, are left out (FORMAT §7).
func (n *Node) Listxattr(ctx context.Context, dest []byte) (uint32, syscall.Errno) {
	n.r.touch()
	d, disk, err := n.openParent()
	if err != nil {
		return 0, n.r.fail("", err)
	}
	defer d.close()
	raw, err := listxattrAll(xattrPath(d, disk))
	if err != nil {
		return 0, toErrno(err)
	}
	var out []byte
	for _, stored := range splitNul(raw) {
		name, err := n.r.vol.Names.DecryptXattrName(stored)
		if err != nil {
			continue
		}
		out = append(append(out, name...), 0)
	}
	if len(dest) < len(out) {
		return uint32(len(out)), syscall.ERANGE
	}
	return uint32(copy(dest, out)), 0
}

func listxattrAll(path string) ([]byte, error) {
	for {
		sz, err := unix.Llistxattr(path, nil)
		if err != nil || sz == 0 {
			return nil, err
		}
		buf := make([]byte, sz)
		sz, err = unix.Llistxattr(path, buf)
		if err == unix.ERANGE {
			continue // grew in between
		}
		if err != nil {
			return nil, err
		}
		return buf[:sz], nil
	}
}

func splitNul(b []byte) []string {
	var names []string
	for len(b) > 0 {
		i := 0
		for i < len(b) && b[i] != 0 {
			i++
		}
		if i > 0 {
			names = append(names, string(b[:i]))
		}
		if i == len(b) {
			break
		}
		b = b[i+1:]
	}
	return names
}

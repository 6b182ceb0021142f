package fs

import (
	"context"
	"runtime"
	"strings"
	"syscall"

	fusefs "github.com/hanwen/go-fuse/v2/fs"
	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/fs/cipherdir"
	"github.com/veilfs/veilfs/nametransform"
)

// capabilityXattr is queried by the kernel before every write to decide
// whether to drop file capabilities. Answering without I/O saves a round
// trip per write; veilfs, like gocryptfs without -suid, does not store
// file capabilities.
const capabilityXattr = "security.capability"

// selinuxXattr, the SELinux label, is an unsupported attribute on veilfs,
// as on a filesystem without SELinux labelling: get, set and remove
// answer EOPNOTSUPP without I/O and a stored one is not listed (FORMAT
// §7). ls -l asks every file for it; ENODATA (no label yet) made it ask
// again for the next file, while EOPNOTSUPP makes coreutils take the
// whole filesystem for unlabelled and stop asking: one request per file
// saved (issue #17). Where SELinux is enforced, the policy labels a FUSE
// mount as a whole (genfscon) and the kernel answers for the label without
// asking us, so no label of ours was ever used.
const selinuxXattr = "security.selinux"

// POSIX ACLs (FORMAT §7): system.posix_acl_access and
// system.posix_acl_default are stored under their own names with their
// values as they are, as gocryptfs stores them, so that either reads the
// ACLs the other wrote, and the backing filesystem keeps the mode in step
// with them. They are served on an --acl mount only (Options.ACL), where
// the kernel enforces them. Without it they answer EOPNOTSUPP, as on a
// filesystem mounted noacl, and are left out of listings: an ACL that is
// stored but not enforced would promise a protection that is not there.

// unsupportedErrno is the answer to a request about the attribute attr
// before any I/O: EOPNOTSUPP for an attribute the mount does not support
// (an ACL when it has no ACLs, the SELinux label always), else 0.
// Listxattr leaves such attributes out.
func (n *Node) unsupportedErrno(attr string) syscall.Errno {
	if attr == selinuxXattr || nametransform.IsACLName(attr) && !n.r.opts.ACL {
		return syscall.EOPNOTSUPP
	}
	return 0
}

// xattrTarget is where one attribute of a node lives on disk.
type xattrTarget struct {
	fd     int    // O_PATH descriptor of the node's own object (openSelf)
	path   string // for the *xattr calls
	stored string // the encrypted attribute name
}

func (x *xattrTarget) close() { unix.Close(x.fd) }

// holdsUserXattrs reports whether a backing object of mode can carry
// user. xattrs: on Linux only regular files and directories can. On a
// symlink, FIFO, socket or device node the attributes that root may set
// there (trusted., security.) are stored under XattrTrustedPrefix
// instead (FORMAT §7), as ext4 keeps them on such objects; user. ones the
// kernel refuses before asking us (EPERM), as on ext4. Elsewhere there is
// no trusted. namespace, and nothing changes.
func holdsUserXattrs(mode uint32) bool {
	return runtime.GOOS != "linux" || mode&unix.S_IFMT == unix.S_IFREG || mode&unix.S_IFMT == unix.S_IFDIR
}

// xattrTarget encrypts the attribute name and opens the node's object.
// The calls go through the magic /proc link of that descriptor, which
// reaches exactly the inode openSelf checked, a symlink itself rather than
// its target, and never follows a symlink stored in CIPHERDIR: that is
// why they are the following getxattr & co, not the l* variants (those
// would act on the /proc link).
func (n *Node) xattrTarget(attr string) (*xattrTarget, syscall.Errno) {
	stored, err := n.r.vol.Names.EncryptXattrName(attr)
	if err != nil {
		return nil, toErrno(err)
	}
	fd, st, err := n.openSelf()
	if err != nil {
		return nil, n.r.fail("", err)
	}
	if !holdsUserXattrs(uint32(st.Mode)) && !nametransform.IsACLName(attr) && !strings.HasPrefix(attr, "user.") {
		stored = nametransform.AsTrustedXattr(stored)
	}
	return &xattrTarget{fd: fd, path: procFD(fd), stored: stored}, 0
}

var _ = (fusefs.NodeGetxattrer)((*Node)(nil))

// Getxattr decrypts one attribute value (FORMAT §7).
func (n *Node) Getxattr(ctx context.Context, attr string, dest []byte) (uint32, syscall.Errno) {
	n.r.touch()
	if attr == capabilityXattr {
		return 0, cipherdir.ENOATTR
	}
	if errno := n.unsupportedErrno(attr); errno != 0 {
		return 0, errno
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
	value := raw
	if !nametransform.IsACLName(attr) {
		if value, err = n.r.vol.DecryptXattrValue(raw); err != nil {
			return 0, n.fail(err)
		}
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
		sz, err := unix.Getxattr(path, name, buf)
		if err == unix.ERANGE {
			if sz, err = unix.Getxattr(path, name, nil); err != nil {
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
	if errno := n.unsupportedErrno(attr); errno != 0 {
		return errno
	}
	x, errno := n.xattrTarget(attr)
	if errno != 0 {
		return errno
	}
	defer x.close()
	if !nametransform.IsACLName(attr) {
		data = n.r.vol.EncryptXattrValue(data)
	}
	return setxattrErrno(unix.Setxattr(x.path, x.stored, data, int(flags)))
}

// setxattrErrno maps the error of a backing setxattr. The stored value is
// longer than the user's (FORMAT §7: 32 bytes more, 40 with XChaCha20), so
// a value the kernel let through, of at most 64 KiB, can come out over
// the kernel's 64 KiB limit, and the backing setxattr then fails with
// E2BIG. To the user that is a full attribute space, as on ext4, where
// such a value does not fit either: ENOSPC, the error of every other
// attribute that does not fit (docs/faq.md, "How many xattrs").
func setxattrErrno(err error) syscall.Errno {
	if err == unix.E2BIG {
		return syscall.ENOSPC
	}
	return toErrno(err)
}

var _ = (fusefs.NodeRemovexattrer)((*Node)(nil))

// Removexattr removes one attribute.
func (n *Node) Removexattr(ctx context.Context, attr string) syscall.Errno {
	n.r.touch()
	if errno := n.unsupportedErrno(attr); errno != 0 {
		return errno
	}
	x, errno := n.xattrTarget(attr)
	if errno != 0 {
		return errno
	}
	defer x.close()
	return toErrno(unix.Removexattr(x.path, x.stored))
}

var _ = (fusefs.NodeListxattrer)((*Node)(nil))

// Listxattr lists the decrypted attribute names, and the ACLs on an --acl
// mount; backing attributes that are not ours, do not decrypt, or name an
// attribute the mount does not support (unsupportedErrno) are left out
// (FORMAT §7).
func (n *Node) Listxattr(ctx context.Context, dest []byte) (uint32, syscall.Errno) {
	n.r.touch()
	fd, st, err := n.openSelf() // see xattrTarget
	if err != nil {
		return 0, n.r.fail("", err)
	}
	defer unix.Close(fd)
	raw, err := listxattrAll(procFD(fd))
	if err != nil {
		return 0, toErrno(err)
	}
	var out []byte
	for _, stored := range splitNul(raw) {
		if strings.HasPrefix(stored, nametransform.XattrTrustedPrefix) && holdsUserXattrs(uint32(st.Mode)) {
			continue // not where veilfs puts them
		}
		name, err := n.r.vol.Names.DecryptXattrName(stored)
		if err != nil || n.unsupportedErrno(name) != 0 {
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
		sz, err := unix.Listxattr(path, nil)
		if err != nil || sz == 0 {
			return nil, err
		}
		buf := make([]byte, sz)
		sz, err = unix.Listxattr(path, buf)
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

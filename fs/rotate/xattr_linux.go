package rotate

import (
	"fmt"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/internal/diskio"
	"github.com/veilfs/veilfs/nametransform"
)

// rekeyTrustedXattrs re-encrypts the attributes veilfs keeps under
// nametransform.XattrTrustedPrefix (FORMAT §7) on an object of dirfd that
// cannot carry user. xattrs: from the symlink src to its copy dst, or in
// place (src == dst) on a FIFO, socket or device node, which rotation
// does not copy. In place each attribute is set under its new name before
// the old one is removed, and one already under the new key (a resumed
// run) is left as it is. The l* calls on a path through the /proc link
// of dirfd act on the object itself, never on what a symlink points to.
func (r *rotator) rekeyTrustedXattrs(dirfd int, src, dst string) error {
	srcPath := fmt.Sprintf("/proc/self/fd/%d/%s", dirfd, src)
	dstPath := fmt.Sprintf("/proc/self/fd/%d/%s", dirfd, dst)
	names, err := diskio.ListXattrsWith(func(b []byte) (int, error) { return unix.Llistxattr(srcPath, b) })
	if err != nil {
		return fmt.Errorf("list xattrs: %w", err)
	}
	for _, stored := range names {
		if !strings.HasPrefix(stored, nametransform.XattrTrustedPrefix) {
			continue
		}
		value, err := diskio.GetXattrWith(func(b []byte) (int, error) { return unix.Lgetxattr(srcPath, stored, b) })
		if err != nil {
			return fmt.Errorf("read xattr: %w", err)
		}
		if src == dst && r.underNewKey(stored, value) {
			continue
		}
		plainName, err := r.old.Names.DecryptXattrName(stored)
		if err != nil {
			r.warn("xattr %s does not decrypt (%v); left out", stored, err)
			continue
		}
		plainValue, err := r.old.DecryptXattrValue(value)
		if err != nil {
			return fmt.Errorf("xattr value: %w: %w", ErrCorrupt, err)
		}
		newName, err := r.new.Names.EncryptXattrName(plainName)
		if err != nil {
			return err
		}
		newName = nametransform.AsTrustedXattr(newName)
		if err := unix.Lsetxattr(dstPath, newName, r.new.EncryptXattrValue(plainValue), 0); err != nil {
			return fmt.Errorf("set xattr: %w", err)
		}
		if src == dst && newName != stored {
			if err := unix.Lremovexattr(srcPath, stored); err != nil && err != unix.ENODATA {
				return fmt.Errorf("remove xattr: %w", err)
			}
		}
	}
	return nil
}

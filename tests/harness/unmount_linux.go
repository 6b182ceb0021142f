package harness

import "golang.org/x/sys/unix"

// lazyUnmount detaches the mount at mnt now and cleans it up once it is
// no longer busy (umount -l).
func lazyUnmount(mnt string) error { return unix.Unmount(mnt, unix.MNT_DETACH) }

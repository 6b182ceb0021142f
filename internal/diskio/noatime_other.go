//go:build !linux

package diskio

// ONoatime is O_NOATIME on Linux; elsewhere there is no such flag and
// opens update atime as the mount says.
const ONoatime = 0

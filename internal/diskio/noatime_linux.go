package diskio

import "golang.org/x/sys/unix"

// ONoatime is O_NOATIME: no atime update on read. The kernel grants it to
// the file's owner or CAP_FOWNER only, and answers EPERM otherwise.
const ONoatime = unix.O_NOATIME

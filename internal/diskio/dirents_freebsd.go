package diskio

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

const direntInoOffset = int(unsafe.Offsetof(unix.Dirent{}.Fileno))

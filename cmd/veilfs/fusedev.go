package main

// fuseDevice is the FUSE character device, major 10 minor 229 (the
// misc device number Linux assigns it).
const (
	fuseDevice           = "/dev/fuse"
	fuseMajor, fuseMinor = 10, 229
)

//go:build !linux

package main

// checkFuseDevice checks Linux's /dev/fuse (10:229); macFUSE and FreeBSD's
// fusefs have devices of their own, which go-fuse's mount reports on.
func checkFuseDevice() error { return nil }

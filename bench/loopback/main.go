// Command loopback is the plain go-fuse "loopback" filesystem that
// bench/run.sh uses as the FUSE reference point: the same library, kernel
// protocol and cache timeouts as veilfs, with no encryption. The gap between
// it and veilfs is what veilfs's own code costs; the gap between it and a
// plain directory is what FUSE costs.
//
//	loopback [-max-write BYTES] [-debug] BACKINGDIR MOUNTPOINT
//
// Every read and write goes through this daemon, as it must for a filesystem
// that transforms content: go-fuse >= 2.7 would otherwise hand the backing fd
// to the kernel (FUSE_PASSTHROUGH, Linux >= 6.9, root only) and data would
// never reach us, which no encrypting filesystem can do.
//
// The process mounts with mount(2) directly (DirectMount; needs root, else it
// falls back to fusermount3), serves in the foreground, and unmounts on
// SIGINT/SIGTERM or exits when the mount is removed with umount(8).
package main

import (
	"context"
	"flag"
	"log"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// node is a LoopbackNode whose open files never offer a passthrough fd.
type node struct{ *fs.LoopbackNode }

var (
	_ fs.NodeWrapChilder = (*node)(nil)
	_ fs.NodeOpener      = (*node)(nil)
	_ fs.NodeCreater     = (*node)(nil)
)

// WrapChild makes every node below the root a *node too.
func (n *node) WrapChild(ctx context.Context, ops fs.InodeEmbedder) fs.InodeEmbedder {
	if ln, ok := ops.(*fs.LoopbackNode); ok {
		return &node{ln}
	}
	return ops
}

func (n *node) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	fh, fuseFlags, errno := n.LoopbackNode.Open(ctx, flags)
	return noPassthrough(fh), fuseFlags, errno
}

func (n *node) Create(ctx context.Context, name string, flags uint32, mode uint32, out *fuse.EntryOut) (*fs.Inode, fs.FileHandle, uint32, syscall.Errno) {
	in, fh, fuseFlags, errno := n.LoopbackNode.Create(ctx, name, flags, mode, out)
	return in, noPassthrough(fh), fuseFlags, errno
}

// file hides LoopbackFile.PassthroughFd; every other method is promoted.
type file struct{ *fs.LoopbackFile }

func (f *file) PassthroughFd() (int, bool) { return -1, false }

func noPassthrough(fh fs.FileHandle) fs.FileHandle {
	if lf, ok := fh.(*fs.LoopbackFile); ok {
		return &file{lf}
	}
	return fh
}

func main() {
	debug := flag.Bool("debug", false, "log every FUSE request")
	maxWrite := flag.Int("max-write", 0, "FUSE max_write/max_read in bytes (0: go-fuse's default, 128 KiB)")
	flag.Parse()
	if flag.NArg() != 2 {
		log.Fatalf("usage: %s [-max-write BYTES] [-debug] BACKINGDIR MOUNTPOINT", os.Args[0])
	}
	backing, mnt := flag.Arg(0), flag.Arg(1)

	rootOps, err := fs.NewLoopbackRoot(backing)
	if err != nil {
		log.Fatalf("NewLoopbackRoot(%s): %v", backing, err)
	}
	ln, ok := rootOps.(*fs.LoopbackNode)
	if !ok {
		log.Fatalf("NewLoopbackRoot returned %T, want *fs.LoopbackNode", rootOps)
	}
	root := &node{ln}
	ln.RootData.RootNode = root // children are created through our wrapper

	timeout := time.Second // as veilfs (fs/mount.go cacheTimeout)
	server, err := fs.Mount(mnt, root, &fs.Options{
		MountOptions: fuse.MountOptions{
			FsName:      backing,
			Name:        "loopback",
			DirectMount: true,
			MaxWrite:    *maxWrite,
			Debug:       *debug,
		},
		EntryTimeout: &timeout,
		AttrTimeout:  &timeout,
	})
	if err != nil {
		log.Fatalf("mount %s: %v", mnt, err)
	}

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-sig
		if err := server.Unmount(); err != nil {
			log.Printf("unmount: %v", err)
		}
	}()
	server.Wait()
}

// Package fs is the FUSE node tree of a forward (plaintext view) mount: it
// turns each FUSE operation on a plaintext name into the same operation on
// the matching ciphertext object of CIPHERDIR, encrypting and decrypting
// content, names, symlink targets and xattrs on the way.
//
// Nodes are thin: one small method per operation, in files grouped by
// operation (node.go attributes, node_dir.go directories, node_open.go
// open/create, node_link.go links and renames, node_xattr.go, file.go and
// content.go for data, dircache.go for the cached directory descriptors,
// journal.go for the undo journal). The on-disk layout rules live in
// fs/cipherdir; the only place errors become errno values is errno.go.
//
// Locking: each regular file's node carries the lock that serialises
// read-modify-write cycles on its blocks, the cached file ID and the page
// cache stamp. go-fuse gives hard links one shared node, so every name of a
// file shares them. Directory nodes hold a reference-counted descriptor of
// their ciphertext directory (dircache.go).
package fs

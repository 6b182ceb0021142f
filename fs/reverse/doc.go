// Package reverse is the FUSE node tree of a reverse mount: a read-only,
// ciphertext view of a plaintext directory (FORMAT §10), for backing it up
// or syncing it encrypted. The view is a valid forward-mode volume: copied
// anywhere, it mounts with veilfs or gocryptfs and shows the plaintext.
//
// Nothing of the view is stored. Names are encrypted under IVs derived
// from their path in the view, file content with AES-SIV under nonces
// derived from the file's path and block number, so the same plaintext
// always gives the same bytes and a changed block changes only its own
// ciphertext block. fs/reverse/view computes the names and IVs;
// this package serves them: node.go (lookup, attributes, listings),
// file.go (content), virtual.go (gocryptfs.diriv, long-name sidecars and
// gocryptfs.conf, which exist only in the view), exclude.go (--exclude).
//
// Nodes hold no paths. A node's view path is its place in go-fuse's tree
// (the names the kernel looked up), and its plaintext path is decrypted
// from that on demand and cached, so a plaintext rename shows as the new
// name at the next lookup and never leaves a node pointing at an old path.
//
// Plaintext changing under the view: every read checks that the file is
// still the one it opened (inode, size, times); if not, the read fails
// with EIO and is logged, so a reader gets one consistent version of a
// file or an error, never two versions spliced together. File content is
// served with direct I/O, so the kernel neither caches old bytes nor cuts
// reads at a stale size.
package reverse

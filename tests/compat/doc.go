// Package compat mounts the gocryptfs fixtures of testdata/fixtures with
// veilfs and checks every recorded entry: type, size, content hash, symlink
// target, exact directory listings and extended attributes. The fixtures
// were made by the real gocryptfs 2.3 and are never regenerated. The tests
// live in the _test.go files.
package compat

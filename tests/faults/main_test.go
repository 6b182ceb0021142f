//go:build linux

// Package faults_test checks what veilfs promises when things go wrong
// underneath it: the daemon killed with SIGKILL in the middle of writes,
// `veilfs passwd` and `veilfs rotate` killed half-way, and CIPHERDIR's file system running out
// of space. See SECURITY.md (durability) for the promises these tests pin.
//
// Environment (defaults keep `make test` short; `make stress` raises them):
//
//	VEILFS_CRASH_ITERS=N         kill -9 rounds of TestCrashDuringWrites (default 3)
//	VEILFS_PASSWD_CRASH_ITERS=N  kill -9 rounds of TestCrashDuringPasswd (default 12)
//	VEILFS_ROTATE_KILLS=N        kill -9 rounds of TestRotateKill9 (default 6)
//	VEILFS_ROTATE_FILES=N        files in TestRotateKill9's volume (default 1000)
package faults_test

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"

	"github.com/veilfs/veilfs/tests/harness"
)

func TestMain(m *testing.M) { harness.Main(m) }

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

const blockSize = 4096

// blockData is the plaintext of block blk of file name in version ver: a
// readable first line naming all three, then bytes derived from them, so
// that any 4 KiB block read back tells which write it came from.
func blockData(name string, blk, ver int) []byte {
	b := make([]byte, blockSize)
	n := copy(b, fmt.Sprintf("veilfs block file=%s block=%d version=%d\n", name, blk, ver))
	seed := sha256.Sum256([]byte(fmt.Sprintf("%s/%d/%d", name, blk, ver)))
	r := rand.New(rand.NewPCG(binary.BigEndian.Uint64(seed[:8]), binary.BigEndian.Uint64(seed[8:16])))
	for off := n &^ 7; off < blockSize; off += 8 {
		binary.BigEndian.PutUint64(b[off:], r.Uint64())
	}
	copy(b, fmt.Sprintf("veilfs block file=%s block=%d version=%d\n", name, blk, ver))
	return b
}

// blockVersion identifies a block read back: its version, or -1 if it is
// not exactly some version of block blk of file name.
func blockVersion(name string, blk int, got []byte) int {
	var f string
	var bl, ver int
	if _, err := fmt.Sscanf(string(got[:min(len(got), 80)]), "veilfs block file=%s block=%d version=%d\n", &f, &bl, &ver); err != nil {
		return -1
	}
	if f != name || bl != blk || len(got) != blockSize || string(blockData(name, blk, ver)) != string(got) {
		return -1
	}
	return ver
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

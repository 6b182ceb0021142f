package fs

import (
	"sync"

	"github.com/veilfs/veilfs/fs/cipherdir"
)

// bufferPool recycles the plaintext and ciphertext buffers of the data
// path, so a read or write allocates nothing in the steady state.
type bufferPool struct {
	size int
	pool sync.Pool
}

// maxRequest is the largest FUSE read or write we ask the kernel for.
const maxRequest = 1 << 20

func newBufferPool(vol *cipherdir.Volume) bufferPool {
	blocks := maxRequest/blockSize + 2 // an unaligned request touches two more
	size := blocks*vol.Content.CipherBlockSize() + 64
	return bufferPool{size: size}
}

// get returns a buffer of length n.
func (p *bufferPool) get(n int) []byte {
	if n > p.size {
		return make([]byte, n)
	}
	if b, ok := p.pool.Get().(*[]byte); ok {
		return (*b)[:n]
	}
	return make([]byte, n, p.size)
}

// put returns a buffer obtained from get.
func (p *bufferPool) put(b []byte) {
	if cap(b) != p.size {
		return
	}
	b = b[:0]
	p.pool.Put(&b)
}

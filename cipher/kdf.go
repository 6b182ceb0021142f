package cipher

import (
	"crypto/rand"
	"fmt"

	"golang.org/x/crypto/scrypt"
)

// scrypt limits, FORMAT §2.1 rule 3 and §2.2.
const (
	// DefaultScryptLogN is gocryptfs's default cost, N = 2^16.
	DefaultScryptLogN = 16
	// MinScryptLogN is gocryptfs's floor (N >= 1024), also the cheap cost
	// tests use.
	MinScryptLogN = 10
	// maxScryptLogN is our ceiling, so a hostile config cannot make us
	// allocate terabytes (128·R·N bytes) or spin for days.
	maxScryptLogN = 28

	scryptSaltLen = 32 // written at init; the minimum accepted
	scryptR       = 8  // gocryptfs always writes 8; the minimum accepted
	scryptP       = 1
	scryptKeyLen  = 32 // the KEK is an AES-256 key input
)

// ScryptParams are the scrypt parameters stored in gocryptfs.conf's
// ScryptObject (FORMAT §2.1, §2.2).
type ScryptParams struct {
	Salt   []byte
	N      int
	R      int
	P      int
	KeyLen int
}

// NewScryptParams returns parameters with N = 2^logN, a fresh 32-byte salt,
// R = 8, P = 1, KeyLen = 32, as gocryptfs -init writes them. It does not
// range-check logN (an out-of-range logN gives N = 0); call Validate.
func NewScryptParams(logN int) ScryptParams {
	p := ScryptParams{Salt: make([]byte, scryptSaltLen), R: scryptR, P: scryptP, KeyLen: scryptKeyLen}
	rand.Read(p.Salt)
	if logN >= 0 && logN < 63 {
		p.N = 1 << logN
	}
	return p
}

// Validate enforces FORMAT §2.1 rule 3 plus what scrypt itself needs:
// N a power of two with 2^10 <= N <= 2^28, R >= 8, P >= 1, R·P < 2^30,
// len(Salt) >= 32, KeyLen == 32.
func (p ScryptParams) Validate() error {
	switch {
	case p.N < 1<<MinScryptLogN:
		return fmt.Errorf("scrypt N=%d is below the minimum %d", p.N, 1<<MinScryptLogN)
	case p.N > 1<<maxScryptLogN:
		return fmt.Errorf("scrypt N=%d is above the maximum %d", p.N, 1<<maxScryptLogN)
	case p.N&(p.N-1) != 0:
		return fmt.Errorf("scrypt N=%d is not a power of two", p.N)
	case p.R < scryptR:
		return fmt.Errorf("scrypt R=%d is below the minimum %d", p.R, scryptR)
	case p.P < 1:
		return fmt.Errorf("scrypt P=%d is below the minimum 1", p.P)
	case uint64(p.R)*uint64(p.P) >= 1<<30:
		return fmt.Errorf("scrypt R=%d, P=%d: R·P too large", p.R, p.P)
	case len(p.Salt) < scryptSaltLen:
		return fmt.Errorf("scrypt salt is %d bytes, want at least %d", len(p.Salt), scryptSaltLen)
	case p.KeyLen != scryptKeyLen:
		return fmt.Errorf("scrypt KeyLen=%d, want %d", p.KeyLen, scryptKeyLen)
	}
	return nil
}

// LogN returns log2(N), or -1 if N is not a positive power of two.
func (p ScryptParams) LogN() int {
	if p.N <= 0 || p.N&(p.N-1) != 0 {
		return -1
	}
	n := 0
	for v := p.N; v > 1; v >>= 1 {
		n++
	}
	return n
}

// DeriveKEK returns KEKraw = scrypt(password, Salt, N, R, P, KeyLen)
// (FORMAT §2.2), after Validate. The caller should Wipe the result.
func (p ScryptParams) DeriveKEK(password []byte) ([]byte, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	k, err := scrypt.Key(password, p.Salt, p.N, p.R, p.P, p.KeyLen)
	if err != nil {
		return nil, fmt.Errorf("scrypt: %w", err)
	}
	return k, nil
}

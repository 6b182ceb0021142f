package cipher

import (
	"crypto/rand"
	"fmt"

	"golang.org/x/crypto/scrypt"
)

// scrypt limits, FORMAT §2.1 rule 3 and §2.2. These are the one source:
// cmd/veilfs checks --scryptn with ValidScryptLogN.
//
// gocryptfs checks only minimums (N >= 2^10, R >= 8, P >= 1, salt >= 32
// bytes, KeyLen >= 32) and writes R = 8, P = 1, a 32-byte salt, KeyLen 32
// and N from 2^10 to 2^28. The maximums below accept every config gocryptfs
// (or veilfs init) writes and nothing that costs more: a config is read
// from a synced CIPHERDIR, so its writer may be hostile, and without them R
// = 2^20 made an unlock allocate 128 GiB and P = 2^20 spin for ~100 hours.
const (
	// DefaultScryptLogN is gocryptfs's default cost, N = 2^16.
	DefaultScryptLogN = 16
	// MinScryptLogN is gocryptfs's floor (N >= 1024), also the cheap cost
	// tests use.
	MinScryptLogN = 10
	// MaxScryptLogN is the highest cost gocryptfs -init and veilfs init
	// write (N = 2^28, 256 GiB of memory with R = 8).
	MaxScryptLogN = 28

	scryptSaltLen    = 32   // written at init; the minimum accepted
	scryptMaxSaltLen = 1024 // no one writes more; bounds what a config can make us hash
	scryptR          = 8    // gocryptfs always writes 8; the minimum accepted
	scryptMaxR       = 32
	scryptP          = 1
	scryptMaxP       = 16
	scryptKeyLen     = 32 // the KEK is an AES-256 key input

	// scryptMaxWork bounds N·R·P, to which scrypt's time is proportional
	// (and, as P >= 1, N·R, to which its memory is): it is what the
	// costliest config gocryptfs writes needs (N = 2^28, R = 8, P = 1), so
	// a larger R or P is accepted only with a smaller N.
	scryptMaxWork = 1 << MaxScryptLogN * scryptR * scryptP
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

// ValidScryptLogN reports whether N = 2^logN is a cost Validate accepts
// (MinScryptLogN to MaxScryptLogN), for the commands that take a cost as a
// number (--scryptn) and refuse one before any config is made.
func ValidScryptLogN(logN int) bool {
	return logN >= MinScryptLogN && logN <= MaxScryptLogN
}

// Validate enforces FORMAT §2.1 rule 3 plus the maximums above: N a power
// of two with 2^10 <= N <= 2^28, 8 <= R <= 32, 1 <= P <= 16,
// N·R·P <= 2^31 (so at most 256 GiB of memory), a salt of 32 to 1024 bytes and
// KeyLen 32. It only compares numbers, so a hostile config is refused
// before any scrypt work; each message names the field, its value and the
// range allowed.
func (p ScryptParams) Validate() error {
	switch {
	case p.N < 1<<MinScryptLogN || p.N > 1<<MaxScryptLogN:
		return fmt.Errorf("scrypt N=%d is out of range: allowed 2^%d (%d) to 2^%d (%d)",
			p.N, MinScryptLogN, 1<<MinScryptLogN, MaxScryptLogN, 1<<MaxScryptLogN)
	case p.N&(p.N-1) != 0:
		return fmt.Errorf("scrypt N=%d is not a power of two: allowed 2^%d to 2^%d", p.N, MinScryptLogN, MaxScryptLogN)
	case p.R < scryptR || p.R > scryptMaxR:
		return fmt.Errorf("scrypt R=%d is out of range: allowed %d to %d", p.R, scryptR, scryptMaxR)
	case p.P < scryptP || p.P > scryptMaxP:
		return fmt.Errorf("scrypt P=%d is out of range: allowed %d to %d", p.P, scryptP, scryptMaxP)
	// N, R and P are bounded above, so these products cannot overflow.
	case uint64(p.N)*uint64(p.R)*uint64(p.P) > scryptMaxWork:
		return fmt.Errorf("scrypt N·R·P=%d·%d·%d is too costly: allowed at most 2^%d·%d·%d", p.N, p.R, p.P, MaxScryptLogN, scryptR, scryptP)
	case len(p.Salt) < scryptSaltLen || len(p.Salt) > scryptMaxSaltLen:
		return fmt.Errorf("scrypt salt is %d bytes: allowed %d to %d", len(p.Salt), scryptSaltLen, scryptMaxSaltLen)
	case p.KeyLen != scryptKeyLen:
		return fmt.Errorf("scrypt KeyLen=%d: allowed only %d", p.KeyLen, scryptKeyLen)
	}
	return nil
}

// MemoryNeeded returns the bytes scrypt allocates for p (128·N·R), so a
// caller can refuse a cost this machine cannot pay instead of being killed
// for want of memory. Meaningful only after Validate.
func (p ScryptParams) MemoryNeeded() uint64 {
	return 128 * uint64(max(p.N, 0)) * uint64(max(p.R, 0))
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

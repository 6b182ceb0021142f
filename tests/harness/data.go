package harness

import (
	"crypto/sha256"
	"math/rand/v2"
)

// RandomBytes returns n bytes that look random and are the same for the
// same label, so that two writes of "the same tree" produce the same
// content and a failure can be reproduced.
func RandomBytes(label string, n int) []byte {
	seed := sha256.Sum256([]byte(label))
	b := make([]byte, n)
	_, _ = rand.NewChaCha8(seed).Read(b)
	return b
}

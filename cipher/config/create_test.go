package config

import (
	"bytes"
	"testing"

	"github.com/veilfs/veilfs/cipher"
)

// TestCreate: the drawn key is the one the config unlocks to, each call
// draws another, and a refused password draws nothing to leak.
func TestCreate(t *testing.T) {
	f, master, err := Create([]byte("pw"), CreateOptions{LogN: cipher.MinScryptLogN})
	if err != nil {
		t.Fatal(err)
	}
	if len(master) != cipher.MasterKeySize {
		t.Fatalf("master key of %d bytes", len(master))
	}
	got, err := f.UnlockMasterKey([]byte("pw"))
	if err != nil || !bytes.Equal(got, master) {
		t.Fatalf("unlock: %x, %v; want the drawn key", got, err)
	}
	_, other, err := Create([]byte("pw"), CreateOptions{LogN: cipher.MinScryptLogN})
	if err != nil || bytes.Equal(other, master) {
		t.Fatalf("second Create: the same key, or %v", err)
	}
	if f, key, err := Create(nil, CreateOptions{LogN: cipher.MinScryptLogN}); err == nil || f != nil || key != nil {
		t.Fatalf("Create with an empty password: %v, %v, %v", f, key, err)
	}
}

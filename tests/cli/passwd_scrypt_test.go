//go:build linux

package cli

import (
	"encoding/json"
	"math/bits"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/veilfs/veilfs/tests/harness"
)

// TestPasswdRaisesLoweredScrypt: a scrypt cost below the default (as a
// CIPHERDIR writer can leave in gocryptfs.conf) is not kept by passwd, by a
// recovery with the master key, nor for an extra password unlocker: it is
// raised to the default with a notice. --scryptn still sets any cost, and
// a cost at or above the default is kept without a word.
func TestPasswdRaisesLoweredScrypt(t *testing.T) {
	cipherdir := filepath.Join(t.TempDir(), "cipher")
	res := harness.Run(t, "", "init", "--scryptn", "10", "--passfile", harness.Passfile(t, "one"), cipherdir)
	if res.Code != 0 {
		t.Fatalf("veilfs init: %v", res)
	}
	keyFile := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(keyFile, []byte(masterKeyOf(t, res.Stdout)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	const notice = "raising the scrypt cost from 2^10 to 2^16 (the default)"
	// costs returns the primary's log2(N) and the unlockers'.
	costs := func() (primary int, unlockers map[string]int) {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(cipherdir, "gocryptfs.conf"))
		if err != nil {
			t.Fatal(err)
		}
		type scrypt struct{ N int }
		var c struct {
			ScryptObject    scrypt
			VeilfsUnlockers []struct {
				Label        string
				ScryptObject *scrypt
			}
		}
		if err := json.Unmarshal(b, &c); err != nil {
			t.Fatal(err)
		}
		logN := func(n int) int {
			if n <= 0 || n&(n-1) != 0 {
				return -1 // not a cost veilfs writes: the comparison fails
			}
			return bits.TrailingZeros(uint(n))
		}
		unlockers = map[string]int{}
		for _, u := range c.VeilfsUnlockers {
			if u.ScryptObject != nil {
				unlockers[u.Label] = logN(u.ScryptObject.N)
			}
		}
		return logN(c.ScryptObject.N), unlockers
	}
	step := func(name, wantNotice string, wantPrimary int, args ...string) {
		t.Helper()
		res := harness.Run(t, "", append(args, cipherdir)...)
		if res.Code != 0 {
			t.Fatalf("%s: %v", name, res)
		}
		if got := strings.Contains(res.Stderr, "raising the scrypt cost"); got != (wantNotice != "") || !strings.Contains(res.Stderr, wantNotice) {
			t.Errorf("%s: stderr %q, want the notice %q", name, res.Stderr, wantNotice)
		}
		if p, _ := costs(); p != wantPrimary {
			t.Errorf("%s: primary scrypt cost 2^%d, want 2^%d", name, p, wantPrimary)
		}
	}
	step("passwd from 2^10", notice, 16, "passwd", "--passfile", harness.Passfile(t, "one"), "--new-passfile", harness.Passfile(t, "two"))
	step("passwd --scryptn 10", "", 10, "passwd", "--scryptn", "10", "--passfile", harness.Passfile(t, "two"), "--new-passfile", harness.Passfile(t, "three"))
	step("recovery from 2^10", notice, 16, "passwd", "--masterkey-file", keyFile, "--new-passfile", harness.Passfile(t, "four"))
	step("passwd at the default", "", 16, "passwd", "--passfile", harness.Passfile(t, "four"), "--new-passfile", harness.Passfile(t, "five"))

	if res := harness.Run(t, "", "keys", "add", "--scryptn", "10", "--label", "laptop", "--passfile", harness.Passfile(t, "five"),
		"--new-passfile", harness.Passfile(t, "six"), cipherdir); res.Code != 0 {
		t.Fatalf("keys add: %v", res)
	}
	step("passwd --label from 2^10", notice, 16, "passwd", "--label", "laptop", "--passfile", harness.Passfile(t, "six"), "--new-passfile", harness.Passfile(t, "seven"))
	if _, u := costs(); u["laptop"] != 16 {
		t.Errorf("unlocker laptop: scrypt cost 2^%d, want 2^16", u["laptop"])
	}
}

// TestRotateRaisesUnrecordedScrypt: rotate wraps the new key at the current
// cost where the format record authenticates it (init --scryptn 10 chose
// it), but raises a cost below the default, with a notice, where the config
// has no record (made by gocryptfs or rewritten by gocryptfs -passwd): there
// a CIPHERDIR writer could have lowered it unnoticed.
func TestRotateRaisesUnrecordedScrypt(t *testing.T) {
	for _, dropRecord := range []bool{false, true} {
		cipherdir := filepath.Join(t.TempDir(), "cipher")
		harness.InitVolume(t, cipherdir, "pw")
		conf := filepath.Join(cipherdir, "gocryptfs.conf")
		if dropRecord {
			b, err := os.ReadFile(conf)
			if err != nil {
				t.Fatal(err)
			}
			var m map[string]any
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatal(err)
			}
			delete(m, "VeilfsFormat")
			out, _ := json.MarshalIndent(m, "", "\t")
			if err := os.Chmod(conf, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(conf, append(out, '\n'), 0o400); err != nil {
				t.Fatal(err)
			}
		}
		res := harness.Run(t, "", "rotate", "--quiet", "--passfile", harness.Passfile(t, "pw"), cipherdir)
		if res.Code != 0 {
			t.Fatalf("rotate (record dropped: %v): %v", dropRecord, res)
		}
		b, err := os.ReadFile(conf)
		if err != nil {
			t.Fatal(err)
		}
		var c struct{ ScryptObject struct{ N int } }
		if err := json.Unmarshal(b, &c); err != nil {
			t.Fatal(err)
		}
		wantN, notice := 1<<10, false
		if dropRecord {
			wantN, notice = 1<<16, true
		}
		if c.ScryptObject.N != wantN || strings.Contains(res.Stderr, "raising the scrypt cost from 2^10 to 2^16") != notice {
			t.Errorf("record dropped %v: N=%d, stderr %q; want N=%d, notice %v", dropRecord, c.ScryptObject.N, res.Stderr, wantN, notice)
		}
	}
}

package cipherdir

import (
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/veilfs/veilfs/cipher/config"
	"github.com/veilfs/veilfs/nametransform"
)

// repeatedPhrase returns a pair of words that occurs twice in msg, or "".
// Each layer of an error chain should add only what it knows, so a phrase
// said twice ("decrypt name X: decrypt name: ...") is a layer repeating
// another.
func repeatedPhrase(msg string) string {
	words := strings.Fields(msg)
	for i := range words {
		words[i] = strings.Trim(words[i], ":;,()")
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(words); i++ {
		pair := words[i] + " " + words[i+1]
		if seen[pair] {
			return pair
		}
		seen[pair] = true
	}
	return ""
}

// A name that does not decrypt is reported with the name once and
// "decrypt name" once, however many layers pass the error up.
func TestNameErrorSaysEachThingOnce(t *testing.T) {
	v, root := newTestVolume(t, config.CreateOptions{})
	dirCipher := makePath(t, v, root, "d/", nil)
	// A 16-byte name decrypts with valid padding under about one IV in 256:
	// take the first one that decrypts in neither directory.
	var block string
	for i := 0; block == ""; i++ {
		c := base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, "ABCDEFGHIJKLM%03d", i))
		_, _, err1 := v.DecryptPath(root, c)
		_, _, err2 := v.DecryptPath(root, dirCipher+"/"+c)
		if errors.Is(err1, nametransform.ErrCorruptName) && errors.Is(err2, nametransform.ErrCorruptName) {
			block = c
		}
	}
	for _, bad := range []string{"abc!def", block} {
		for _, p := range []string{bad, dirCipher + "/" + bad} {
			if err := os.WriteFile(filepath.Join(v.Dir, p), nil, 0o644); err != nil {
				t.Fatal(err)
			}
			_, _, err := v.DecryptPath(root, p)
			if !errors.Is(err, nametransform.ErrCorruptName) {
				t.Fatalf("DecryptPath(%s): %v, want a corrupt name", p, err)
			}
			msg := err.Error()
			if r := repeatedPhrase(msg); r != "" {
				t.Errorf("DecryptPath(%s): %q says %q twice", p, msg, r)
			}
			if n := strings.Count(msg, bad); n != 1 {
				t.Errorf("DecryptPath(%s): %q names %s %d times, want once", p, msg, bad, n)
			}
			if n := strings.Count(msg, "decrypt name"); n != 1 {
				t.Errorf("DecryptPath(%s): %q says what failed %d times, want once", p, msg, n)
			}
			if strings.Contains(p, "/") && !strings.Contains(msg, dirCipher) {
				t.Errorf("DecryptPath(%s): %q does not say in which directory", p, msg)
			}
		}
	}
}

func TestRepeatedPhrase(t *testing.T) {
	if r := repeatedPhrase("decrypt name x: decrypt name: corrupt encrypted name: base64"); r != "decrypt name" {
		t.Errorf("got %q", r)
	}
	if r := repeatedPhrase("decrypt name x: corrupt encrypted name: base64"); r != "" {
		t.Errorf("got %q", r)
	}
}

package main

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/veilfs/veilfs/cipher"
)

// maxMasterKeyInput bounds a master key read from a file or stdin; the
// printed form is 72 characters plus line break and indentation.
const maxMasterKeyInput = 4096

// parseMasterKey decodes a master key written as hex. Dashes and white space
// are ignored, so both the grouped two-line form printed by init (and by
// gocryptfs) and a plain 64-digit string are accepted. The input is not
// modified; the result is 32 bytes that the caller wipes. Errors never quote
// the input.
func parseMasterKey(s []byte) ([]byte, error) {
	digits := make([]byte, 0, 2*cipher.MasterKeySize)
	defer func() { cipher.Wipe(digits) }()
	for _, b := range s {
		switch b {
		case '-', ' ', '\t', '\n', '\r':
			continue
		}
		if len(digits) == cap(digits) {
			return nil, fail(errMasterKey, fmt.Errorf("the master key has more than %d hex digits", 2*cipher.MasterKeySize))
		}
		digits = append(digits, b)
	}
	if len(digits) != 2*cipher.MasterKeySize {
		return nil, failf(errMasterKey, nil, "the master key must have %d hex digits, got %d", 2*cipher.MasterKeySize, len(digits))
	}
	key := make([]byte, cipher.MasterKeySize)
	if _, err := hex.Decode(key, digits); err != nil {
		cipher.Wipe(key)
		return nil, fail(errMasterKey, errors.New("the master key contains a character that is not a hex digit"))
	}
	return key, nil
}

// appendMasterKey appends key in the form gocryptfs prints it: 8 groups of 8
// hex digits joined by dashes, on two lines of four groups; the second line
// is indented by indent.
func appendMasterKey(dst, key []byte, indent string) []byte {
	h := make([]byte, hex.EncodedLen(len(key)))
	defer cipher.Wipe(h)
	hex.Encode(h, key)
	for i := 0; i < len(h); i += 8 {
		dst = append(dst, h[i:min(i+8, len(h))]...)
		if i+8 < len(h) {
			dst = append(dst, '-')
		}
		if i == 24 && i+8 < len(h) {
			dst = append(dst, '\n')
			dst = append(dst, indent...)
		}
	}
	return dst
}

// readMasterKey gets the master key for mount from exactly one of --masterkey
// HEX, --masterkey - (stdin or a no-echo prompt) or --masterkey-file FILE.
func (c *cli) readMasterKey(arg, file string) ([]byte, error) {
	var (
		raw []byte
		err error
	)
	switch {
	case file != "":
		c.warnIfExposed(file, "master key file")
		raw, err = readSmallFile(file)
		if err != nil {
			return nil, fail(errMasterKey, fmt.Errorf("read master key file: %w", err))
		}
	case arg == "-" && c.stdinIsTerminal():
		raw, err = c.promptPassword("Master key: ")
		if err != nil {
			return nil, fail(errMasterKey, fmt.Errorf("read master key from terminal: %w", err))
		}
	case arg == "-":
		raw, err = readAllLimited(c.stdin, maxMasterKeyInput)
		if err != nil {
			return nil, fail(errMasterKey, fmt.Errorf("read master key from standard input: %w", err))
		}
	default:
		warningf(c.stderr, "a master key on the command line is visible to other users in the process list")
		hintf(c.stderr, "use --masterkey-file FILE or --masterkey - (standard input) instead")
		return parseMasterKey([]byte(arg))
	}
	defer cipher.Wipe(raw)
	return parseMasterKey(raw)
}

func readSmallFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readAllLimited(f, maxMasterKeyInput)
}

// readAllLimited reads r to its end into one buffer that the caller can wipe.
func readAllLimited(r io.Reader, limit int) ([]byte, error) {
	buf := make([]byte, limit+1)
	n, err := io.ReadFull(r, buf)
	switch {
	case err == nil:
		cipher.Wipe(buf)
		return nil, fmt.Errorf("more than %d bytes", limit)
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		return buf[:n], nil
	default:
		cipher.Wipe(buf)
		return nil, err
	}
}

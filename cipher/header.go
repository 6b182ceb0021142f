package cipher

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
)

// ErrBadHeader is returned (wrapped) by [ParseHeader] for a header that
// FORMAT §4.3 says a reader must reject.
var ErrBadHeader = errors.New("invalid file header")

// NewFileID returns FileIDSize fresh random bytes for a new file header
// (FORMAT §4.2).
func NewFileID() []byte {
	id := make([]byte, FileIDSize)
	rand.Read(id) // cannot fail since Go 1.24
	return id
}

// MarshalHeader returns the 18-byte header 00 02 ‖ fileID (FORMAT §4.2).
// It panics if fileID is not FileIDSize bytes: that is a caller bug.
func MarshalHeader(fileID []byte) []byte {
	if len(fileID) != FileIDSize {
		panic(fmt.Sprintf("cipher: MarshalHeader: file ID is %d bytes, want %d", len(fileID), FileIDSize))
	}
	h := make([]byte, HeaderSize)
	binary.BigEndian.PutUint16(h, HeaderVersion)
	copy(h[2:], fileID)
	return h
}

// ParseHeader checks the first HeaderSize bytes of b and returns a copy of
// the file ID. Per FORMAT §4.3 it rejects a short input, an all-zero header,
// a version other than 2 and an all-zero file ID; all errors wrap
// [ErrBadHeader]. Bytes after the header are ignored.
func ParseHeader(b []byte) ([]byte, error) {
	if len(b) < HeaderSize {
		return nil, fmt.Errorf("header is %d bytes, want %d: %w", len(b), HeaderSize, ErrBadHeader)
	}
	h := b[:HeaderSize]
	if allZero(h) {
		// Checked first so the message names the usual cause (a hole or a
		// zero-filled file), not just "version 0".
		return nil, fmt.Errorf("all-zero header: %w", ErrBadHeader)
	}
	if v := binary.BigEndian.Uint16(h); v != HeaderVersion {
		return nil, fmt.Errorf("header version %d, want %d: %w", v, HeaderVersion, ErrBadHeader)
	}
	id := h[2:]
	if allZero(id) {
		return nil, fmt.Errorf("all-zero file ID: %w", ErrBadHeader)
	}
	return append([]byte(nil), id...), nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

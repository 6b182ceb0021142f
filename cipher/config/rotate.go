package config

import (
	"errors"
	"fmt"
	"slices"
)

// Clone returns a deep copy of a valid f. It goes through Marshal and
// Parse, so that every field, present or future, is copied.
func (f *File) Clone() (*File, error) {
	c, err := Parse(f.Marshal())
	if err != nil {
		return nil, fmt.Errorf("copy config: %w", err)
	}
	return c, nil
}

// Rotating reports whether a master-key rotation of the volume is unfinished
// (FlagRotation is set).
func (f *File) Rotating() bool { return f.Has(FlagRotation) }

// SetRotating adds or removes FlagRotation. The flag goes first in the
// list so that gocryptfs, which checks flags in order, names it when it
// refuses the volume.
func (f *File) SetRotating(on bool) {
	f.FeatureFlags = slices.DeleteFunc(f.FeatureFlags, func(fl Flag) bool { return fl == FlagRotation })
	if on {
		f.FeatureFlags = slices.Insert(f.FeatureFlags, 0, FlagRotation)
	}
}

// FormatChange is a format option that can change when every file is
// rewritten anyway, as in a master-key rotation.
type FormatChange struct {
	// XChaCha switches content encryption to XChaCha20-Poly1305.
	XChaCha bool
	// LongNameMax, when non-zero, sets the long-name threshold (62..255).
	LongNameMax int
}

// WithFormat returns a copy of f with the format changes applied. The
// key fields are copied unchanged; the caller wraps the new master key.
func (f *File) WithFormat(c FormatChange) (*File, error) {
	if f.Has(FlagFIDO2) {
		return nil, fmt.Errorf("change format: %w", &UnsupportedFeatureError{Flag: string(FlagFIDO2)})
	}
	n, err := f.Clone()
	if err != nil {
		return nil, err
	}
	// The old record describes the old format: whoever wraps the new
	// master key seals the new one (Rewrap does).
	n.format = nil
	if c.XChaCha && !n.Has(FlagXChaCha20Poly1305) {
		n.FeatureFlags = slices.DeleteFunc(n.FeatureFlags, func(fl Flag) bool {
			return fl == FlagGCMIV128 || fl == FlagAESSIV
		})
		i := slices.Index(n.FeatureFlags, FlagHKDF) + 1 // gocryptfs's order: right after HKDF
		n.FeatureFlags = slices.Insert(n.FeatureFlags, i, FlagXChaCha20Poly1305)
	}
	if c.LongNameMax != 0 {
		if n.Has(FlagPlaintextNames) {
			return nil, errors.New("change format: a plaintext-names volume has no long names")
		}
		if c.LongNameMax < MinLongNameMax || c.LongNameMax > defaultLongNameMax {
			return nil, fmt.Errorf("change format: long name threshold %d out of range %d..%d", c.LongNameMax, MinLongNameMax, defaultLongNameMax)
		}
		n.FeatureFlags = slices.DeleteFunc(n.FeatureFlags, func(fl Flag) bool { return fl == FlagLongNameMax })
		n.LongNameMax = 0
		if c.LongNameMax != defaultLongNameMax {
			n.LongNameMax = c.LongNameMax
			i := slices.Index(n.FeatureFlags, FlagEMENames) // gocryptfs's order: just before EMENames
			n.FeatureFlags = slices.Insert(n.FeatureFlags, i, FlagLongNameMax)
		}
	}
	if err := n.Validate(); err != nil {
		return nil, fmt.Errorf("change format: %w", err)
	}
	return n, nil
}

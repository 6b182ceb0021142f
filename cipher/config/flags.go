package config

import "fmt"

// Flag is a gocryptfs feature flag as spelled in the FeatureFlags array
// (FORMAT §11).
type Flag string

// The 11 feature flags gocryptfs 2.x knows (FORMAT §11).
const (
	FlagHKDF              Flag = "HKDF"
	FlagGCMIV128          Flag = "GCMIV128"
	FlagDirIV             Flag = "DirIV"
	FlagEMENames          Flag = "EMENames"
	FlagLongNames         Flag = "LongNames"
	FlagRaw64             Flag = "Raw64"
	FlagPlaintextNames    Flag = "PlaintextNames"
	FlagAESSIV            Flag = "AESSIV"
	FlagXChaCha20Poly1305 Flag = "XChaCha20Poly1305"
	FlagLongNameMax       Flag = "LongNameMax"
	FlagFIDO2             Flag = "FIDO2"
)

// FlagRotation marks a volume whose master-key rotation (veilfs rotate)
// has started and not finished: its files are partly under the old key,
// partly under the new one. It is veilfs's own flag, unknown to gocryptfs,
// which therefore refuses the volume cleanly ("Unknown feature flag")
// instead of showing a half-rotated tree.
const FlagRotation Flag = "VeilfsRotationInProgress"

// known reports whether f is one of the flags of FORMAT §11 (validation
// rule 4). Matching is exact, as in gocryptfs.
func (f Flag) known() bool {
	switch f {
	case FlagHKDF, FlagGCMIV128, FlagDirIV, FlagEMENames, FlagLongNames, FlagRaw64,
		FlagPlaintextNames, FlagAESSIV, FlagXChaCha20Poly1305, FlagLongNameMax, FlagFIDO2,
		FlagRotation:
		return true
	}
	return false
}

// UnsupportedFeatureError reports a feature flag this version cannot handle:
// either unknown (a newer format) or known but not implemented (FIDO2).
type UnsupportedFeatureError struct {
	Flag string
}

func (e *UnsupportedFeatureError) Error() string {
	if Flag(e.Flag).known() {
		return fmt.Sprintf("volume uses feature %q, which veilfs does not support (gocryptfs can open it)", e.Flag)
	}
	return fmt.Sprintf("volume uses unknown feature flag %q; a newer version of veilfs or gocryptfs may be needed", e.Flag)
}

// VersionError reports a config whose on-disk format version is not 2: a
// newer format (a newer gocryptfs or veilfs made it) or gocryptfs 1.x's.
type VersionError struct {
	Version int
}

func (e *VersionError) Error() string {
	return fmt.Sprintf("on-disk format version %d, this veilfs reads version %d", e.Version, formatVersion)
}

// Newer reports whether the volume was made by a newer format version.
func (e *VersionError) Newer() bool { return e.Version > formatVersion }

//go:build !linux

package rotate

// rekeyTrustedXattrs: veilfs keeps attributes under XattrTrustedPrefix on
// Linux only (FORMAT §7).
func (r *rotator) rekeyTrustedXattrs(dirfd int, src, dst string) error { return nil }

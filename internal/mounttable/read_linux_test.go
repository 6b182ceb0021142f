//go:build linux

package mounttable

import "testing"

// TestRead: the real table has the root and parses; a directory that is
// no mount's source is not mounted.
func TestRead(t *testing.T) {
	table, err := Read()
	if err != nil {
		t.Fatal(err)
	}
	if Find(table, "/") == nil {
		t.Errorf("/ is not in the mount table: %+v", table)
	}
	if m, err := MountedAt(t.TempDir()); err != nil || m != "" {
		t.Errorf("MountedAt(a fresh directory) = %q, %v", m, err)
	}
}

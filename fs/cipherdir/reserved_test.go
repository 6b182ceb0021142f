package cipherdir

import (
	"strings"
	"testing"

	"github.com/veilfs/veilfs/cipher/config"
	"github.com/veilfs/veilfs/nametransform"
)

// createdNames are the names our code and gocryptfs create in CIPHERDIR
// besides encrypted entries, one of each pattern, with where they are.
var createdNames = []struct {
	name   string
	atRoot bool
}{
	{config.Filename, true},
	{ConfigTmpName, true},
	{ConfigBakName, true},
	{nametransform.DirIVFilename, false},
	{DirIVTmpName, false},
	{DirIVRmdirPrefix + "18446744073709551615", false},
	{nametransform.LongNamePrefix + strings.Repeat("A", 43), false},
	{nametransform.LongNamePrefix + strings.Repeat("A", 43) + nametransform.LongNameSuffix, false},
	{RotationJournalName, true},
	{RotationJournalTmpName, true},
	{RotateTmpName, false},
	{RotateLinkName, false},
	{RotateSideName, false},
	{FsckReIVPrefix + "x0BkWJ6nH7lEo3CWvUBQ9g", false},
	{FsckMovingName, false},
}

// TestReservedRegistry: every name we create is in the registry, in
// exactly one entry, and is a name a mount never shows.
func TestReservedRegistry(t *testing.T) {
	owners := map[Owner]bool{OwnerFormat: true, OwnerMount: true, OwnerKeys: true, OwnerRotate: true, OwnerFsck: true}
	reg := ReservedNames()
	for _, r := range reg {
		if r.Pattern == "" || !owners[r.Owner] {
			t.Errorf("entry %+v: no pattern or an unknown owner", r)
		}
	}
	for _, c := range createdNames {
		n := 0
		for _, r := range reg {
			if r.Match(c.name) {
				n++
				if r.RootOnly && !c.atRoot {
					t.Errorf("%s: registered as root-only", c.name)
				}
			}
		}
		if n != 1 {
			t.Errorf("%s: in %d registry entries, want 1", c.name, n)
		}
		if k := nametransform.Classify(c.name); k == nametransform.KindRegular {
			t.Errorf("%s: classified as a regular name: a mount would show it", c.name)
		}
	}
}

// TestLeftoverName: the temporaries fsck reports, only where they can be.
func TestLeftoverName(t *testing.T) {
	cases := []struct {
		name               string
		atRoot, plainNames bool
		want               bool
	}{
		{ConfigTmpName, true, false, true},
		{ConfigTmpName, true, true, true},
		{ConfigTmpName, false, false, false},
		{RotationJournalName, true, true, true},
		{RotationJournalTmpName, true, false, true},
		{RotationJournalTmpName, false, false, false},
		{RotateTmpName, false, true, true},
		{RotateLinkName, false, false, true},
		{RotateSideName, true, false, true},
		{DirIVRmdirPrefix + "7", false, false, true},
		{DirIVRmdirPrefix + "7", false, true, false},
		{DirIVRmdirPrefix, false, false, false},
		{DirIVRmdirPrefix + "7x", false, false, false},
		{DirIVTmpName, false, false, true},
		{DirIVTmpName, false, true, false},
		{config.Filename, true, false, false},
		{ConfigBakName, true, false, false},
		{FsckMovingName, false, false, false},
		{FsckReIVPrefix + "abc", false, false, false},
		{"gocryptfs.rotate.other", false, false, false},
	}
	for _, c := range cases {
		r, ok := LeftoverName(c.name, c.atRoot, c.plainNames)
		if ok != c.want || ok && r.Leftover == "" {
			t.Errorf("LeftoverName(%q, root %v, plain %v) = %v, want %v", c.name, c.atRoot, c.plainNames, ok, c.want)
		}
	}
}

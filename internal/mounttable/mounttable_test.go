package mounttable

import "testing"

// table is a /proc/self/mountinfo with what the parsers meet: optional
// fields (shared:N) before the "-", none at all, a FUSE subtype, escaped
// spaces in a mountpoint and a source, and two mounts stacked on /mnt/a.
const table = `22 1 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw
40 1 0:50 / /mnt/a rw,nosuid,nodev,relatime shared:1 master:2 - fuse.veilfs /tmp/c rw,user_id=0,group_id=0,default_permissions,allow_other
41 1 0:51 / /mnt/with\040space rw,nosuid,nodev - fuse.veilfs /tmp/with\040space rw,user_id=0,group_id=0
42 40 0:52 / /mnt/a rw,relatime - tmpfs tmpfs rw,size=1024k
43 1 0:53 / /mnt/go rw,nosuid,nodev shared:5 - fuse.gocryptfs /tmp/g ro,user_id=0
44 1 0:54 / /mnt/ro ro,nosuid,nodev - fuse.veilfs /tmp/r rw
not a mountinfo line
`

func TestFind(t *testing.T) {
	entries := ParseMountinfo([]byte(table))
	if e := Find(entries, "/mnt/a"); e == nil || e.FSType != "tmpfs" {
		t.Errorf("stacked mount: %+v, want the topmost (tmpfs)", e)
	}
	if e := Find(entries, "/mnt/with space"); e == nil || e.Source != "/tmp/with space" || e.FSType != "fuse.veilfs" {
		t.Errorf("escaped: %+v", e)
	}
	if e := Find(entries, "/mnt"); e != nil {
		t.Errorf("/mnt: %+v", e)
	}
	if e := Find(entries, "/mnt/go"); e == nil || !e.ReadOnly || e.Source != "/tmp/g" {
		t.Errorf("read-only filesystem: %+v", e)
	}
	if e := Find(entries, "/mnt/ro"); e == nil || !e.ReadOnly {
		t.Errorf("read-only mount: %+v", e)
	}
	if e := Find(entries, "/mnt/with space"); e == nil || e.ReadOnly {
		t.Errorf("read-write mount: %+v", e)
	}
}

func TestVeilfs(t *testing.T) {
	var got []string
	for _, e := range Veilfs(ParseMountinfo([]byte(table))) {
		got = append(got, e.Source+" on "+e.Mountpoint)
	}
	want := []string{"/tmp/c on /mnt/a", "/tmp/with space on /mnt/with space", "/tmp/r on /mnt/ro"}
	if len(got) != len(want) {
		t.Fatalf("veilfs mounts %q, want %q", got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("veilfs mount %d is %q, want %q", i, got[i], want[i])
		}
	}
}

func TestUnescape(t *testing.T) {
	for in, want := range map[string]string{
		`plain`:         "plain",
		`a\040b`:        "a b",
		`/a\040b`:       "/a b",
		`tab\011nl\012`: "tab\tnl\n",
		`back\134slash`: `back\slash`,
		`/x\134y`:       `/x\y`,
		`trailing\`:     `trailing\`,
		`short\04`:      `short\04`,
		`/end\04`:       `/end\04`,
		`not\999octal`:  `not\999octal`,
		`over\777byte`:  `over\777byte`,
	} {
		if got := Unescape(in); got != want {
			t.Errorf("Unescape(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestIsFUSE(t *testing.T) {
	for typ, want := range map[string]bool{"fuse.veilfs": true, "fuse": true, "fuseblk": true, "tmpfs": false, "ext4": false} {
		if got := IsFUSE(typ); got != want {
			t.Errorf("IsFUSE(%q) = %v, want %v", typ, got, want)
		}
	}
}

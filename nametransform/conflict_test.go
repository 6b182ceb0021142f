package nametransform

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSplitConflict(t *testing.T) {
	const n = "Jpz5Z3jBAnf9XfA2vKLjOg"
	const long = "gocryptfs.longname.3KGvJcmCyIiJtbFl4QHkUEMbAbBOnqVQ5r6gGp_zMxk"
	cases := []struct {
		name, orig, client, label string
		weak                      bool
	}{
		{n + " (conflicted copy 2026-11-27)", n, "Dropbox", "2026-11-27", false},
		{n + " (laptop's conflicted copy 2026-11-27)", n, "Dropbox", "2026-11-27 laptop", false},
		{n + " (Ann's MacBook's conflicted copy 2026-11-27)", n, "Dropbox", "2026-11-27 Ann's MacBook", false},
		{"gocryptfs.longname (laptop's conflicted copy 2026-11-27).3KGvJcmCyIiJtbFl4QHkUEMbAbBOnqVQ5r6gGp_zMxk", long, "Dropbox", "2026-11-27 laptop", false},
		{long + " (conflicted copy 2026-11-27).name", long + ".name", "Dropbox", "2026-11-27", false},
		{n + " (conflicted copy 2026-11-27 093015)", n, "Nextcloud", "2026-11-27 09:30:15", false},
		{n + " (SFConflict ann@example.com 2026-11-27-09-30-15)", n, "Seafile", "2026-11-27 09:30:15 ann@example.com", false},
		{n + ".sync-conflict-20261127-093015-ABCDEF7", n, "Syncthing", "2026-11-27 09:30:15 ABCDEF7", false},
		{"gocryptfs.longname.sync-conflict-20261127-093015-ABCDEF7.3KGvJcmCyIiJtbFl4QHkUEMbAbBOnqVQ5r6gGp_zMxk", long, "Syncthing", "2026-11-27 09:30:15 ABCDEF7", false},
		{n + " (conflict_on_2026-12-07)", n, "unison", "2026-12-07 unison", false},
		{n + " (conflict #2_on_2026-12-07)", n, "unison", "2026-12-07 unison #2", false},
		{n + " (conflict_on_2026-12-07_was_deleted)", n, "unison", "2026-12-07 unison, deleted elsewhere", false},
		{"gocryptfs.longname (conflict_on_2026-12-07_was_deleted).3KGvJcmCyIiJtbFl4QHkUEMbAbBOnqVQ5r6gGp_zMxk", long, "unison", "2026-12-07 unison, deleted elsewhere", false},
		{"gocryptfs (conflict_on_2026-12-07).diriv", "gocryptfs.diriv", "unison", "2026-12-07 unison", false},
		{n + " (1)", n, "Google Drive", "copy 1", false},
		{n + " (12)", n, "Google Drive", "copy 12", false},
		{n + "-LAPTOP42", n, "OneDrive", "LAPTOP42", true},
		{"gocryptfs.longname-LAPTOP42.3KGvJcmCyIiJtbFl4QHkUEMbAbBOnqVQ5r6gGp_zMxk", long, "OneDrive", "LAPTOP42", true},
		{"gocryptfs.longname-LAPTOP42.3KGvJcmCyIiJtbFl4QHkUEMb-AbBOnqVQ5r6gGp_zMxk", "gocryptfs.longname.3KGvJcmCyIiJtbFl4QHkUEMb-AbBOnqVQ5r6gGp_zMxk", "OneDrive", "LAPTOP42", true},
		{"gocryptfs.diriv (conflicted copy 2026-11-27)", "gocryptfs.diriv", "Dropbox", "2026-11-27", false},
	}
	for _, c := range cases {
		orig, conf, ok := SplitConflict(c.name)
		if !ok || orig != c.orig || conf.Client != c.client || conf.Label != c.label || conf.Weak != c.weak {
			t.Errorf("SplitConflict(%q) = %q, %+v, %v; want %q, {%s %q weak=%v}", c.name, orig, conf, ok, c.orig, c.client, c.label, c.weak)
		}
	}
	for _, name := range []string{n, long, long + ".name", "gocryptfs.diriv", "gocryptfs.conf", "gocryptfs.conf (1)", n + " (conflicted copy)", n + " (copy 1)", ""} {
		if orig, conf, ok := SplitConflict(name); ok && !conf.Weak {
			t.Errorf("SplitConflict(%q) = %q, %+v: not a conflict copy", name, orig, conf)
		}
	}
}

func TestConflictDisplayName(t *testing.T) {
	cases := []struct{ plain, label, want string }{
		{"report.txt", "2026-11-27 laptop", "report (conflict 2026-11-27 laptop).txt"},
		{"Makefile", "2026-11-27", "Makefile (conflict 2026-11-27)"},
		{".bashrc", "copy 1", ".bashrc (conflict copy 1)"},
		{"archive.tar.gz", "2026-11-27", "archive.tar (conflict 2026-11-27).gz"},
	}
	for _, c := range cases {
		got := ConflictDisplayName(c.plain, Conflict{Label: c.label})
		if got != c.want {
			t.Errorf("ConflictDisplayName(%q, %q) = %q, want %q", c.plain, c.label, got, c.want)
		}
		plain, label, ok := ParseConflictDisplay(got)
		if !ok || plain != c.plain || label != c.label {
			t.Errorf("ParseConflictDisplay(%q) = %q, %q, %v; want %q, %q", got, plain, label, ok, c.plain, c.label)
		}
	}
	for _, name := range []string{"report.txt", "report (draft).txt", " (conflict x)", "a (conflict a/b)"} {
		if p, l, ok := ParseConflictDisplay(name); ok {
			t.Errorf("ParseConflictDisplay(%q) = %q, %q: no marker there", name, p, l)
		}
	}
}

func FuzzSplitConflict(f *testing.F) {
	f.Add("Jpz5Z3jBAnf9XfA2vKLjOg (laptop's conflicted copy 2026-11-27)")
	f.Add("x.sync-conflict-20261127-093015-ABCDEF7")
	f.Fuzz(func(t *testing.T, name string) {
		if strings.ContainsAny(name, "/\x00") {
			return // not a name a directory can hold
		}
		orig, c, ok := SplitConflict(name)
		if ok && (orig == "" || len(orig) >= len(name) || c.Client == "") {
			t.Fatalf("SplitConflict(%q) = %q, %+v", name, orig, c)
		}
		if !ok {
			return
		}
		// Any label a conflict copy can carry must give a display name
		// that can be looked up and that lookups recognise as marked.
		shown := ConflictDisplayName("file.txt", c)
		if p, _, ok2 := ParseConflictDisplay(shown); !ok2 || p != "file.txt" || len(shown) > NameMax {
			t.Fatalf("label %q gives %q (%d bytes), which parses as %q, %v", c.Label, shown, len(shown), p, ok2)
		}
	})
}

// A display name must fit NAME_MAX and keep a marker that parses, whatever
// the label and the extension.
func TestConflictDisplayNameOddLabels(t *testing.T) {
	for _, tc := range []struct{ plain, label string }{
		{"file.txt", strings.Repeat("0", 230)},              // Dropbox host name of 200+ bytes
		{"file.txt", "2026-11-27 laptop (2)"},               // parentheses in a host name
		{"a." + strings.Repeat("x", 250), "2026-11-27"},     // a long "extension"
		{strings.Repeat("ä", 127), strings.Repeat("ö", 99)}, // cuts inside runes
		{"line\nbreak.txt", "2026-11-27"},                   // a newline is a valid name byte
	} {
		got := ConflictDisplayName(tc.plain, Conflict{Label: tc.label})
		_, _, ok := ParseConflictDisplay(got)
		if len(got) > NameMax || !utf8.ValidString(got) || !ok {
			t.Errorf("ConflictDisplayName(%q, %q) = %q (%d bytes), marker found: %v", tc.plain, tc.label, got, len(got), ok)
		}
	}
}

// A display name must fit NAME_MAX: a long stem is cut at a rune boundary.
func TestConflictDisplayNameFits(t *testing.T) {
	c := Conflict{Label: "2026-11-27 09:30:15 ann@example.com"}
	for _, plain := range []string{strings.Repeat("a", 250) + ".txt", strings.Repeat("ä", 120) + ".md", strings.Repeat("x", 255)} {
		got := ConflictDisplayName(plain, c)
		if len(got) > NameMax || !utf8.ValidString(got) || !strings.Contains(got, "… (conflict "+c.Label+")") {
			t.Errorf("ConflictDisplayName(%d bytes) = %q (%d bytes)", len(plain), got, len(got))
		}
	}
}

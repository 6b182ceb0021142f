package nametransform

import (
	"strings"
	"testing"
)

func TestLostLongName(t *testing.T) {
	h := "3f2a9cQ-_x" + strings.Repeat("A", 33) // 43 characters: Raw64
	obj := LongNamePrefix + h
	if got := LostLongName(obj); got != "lost name "+h {
		t.Fatalf("LostLongName(%q) = %q", obj, got)
	}
	if got, ok := ParseLostLongName("lost name " + h); !ok || got != obj {
		t.Fatalf("ParseLostLongName = %q, %v; want %q", got, ok, obj)
	}
	padded := LongNamePrefix + strings.Repeat("B", 43) + "="
	if got, ok := ParseLostLongName(LostLongName(padded)); !ok || got != padded {
		t.Fatalf("padded hash: %q, %v", got, ok)
	}
	for _, name := range []string{
		"lost name ",                   // no hash
		"lost name abc.txt",            // a dot: no hash
		"lost name abc def",            // a space
		"lost name abc (conflict x)",   // a conflict copy's display name: not itself synthetic
		"Lost name abc",                // case matters
		"lost nameabc",                 // no space
		" lost name abc",               // leading space
		"lost name " + h + "\n",        // newline
		"lost name " + h + "/x",        // slash
		"report.txt",                   // an ordinary name
		"gocryptfs.longname." + h,      // the object's own name
		"lost name gocryptfs.longname", // dots
	} {
		if got, ok := ParseLostLongName(name); ok {
			t.Errorf("ParseLostLongName(%q) = %q, want not a lost name", name, got)
		}
	}
}

// FuzzParseLostLongName: a name that parses maps back to exactly itself,
// names a long-name object, and is a valid name no longer than the object's
// own; every object's synthetic name parses back to it.
func FuzzParseLostLongName(f *testing.F) {
	f.Add("lost name " + strings.Repeat("A", 43))
	f.Add("lost name " + strings.Repeat("-", 43) + "=")
	f.Add("lost name x.y")
	f.Add("gocryptfs.longname.QUFB")
	f.Fuzz(func(t *testing.T, name string) {
		if obj, ok := ParseLostLongName(name); ok {
			if Classify(obj) != KindLongName {
				t.Fatalf("%q parses to %q, which is %v", name, obj, Classify(obj))
			}
			if back := LostLongName(obj); back != name {
				t.Fatalf("%q -> %q -> %q", name, obj, back)
			}
			if len(name) >= len(obj) {
				t.Fatalf("%q is not shorter than its object %q", name, obj)
			}
			if err := ValidName(name); err != nil {
				t.Fatalf("%q: %v", name, err)
			}
		}
		if Classify(name) == KindLongName && len(name) <= NameMax {
			lost := LostLongName(name)
			if obj, ok := ParseLostLongName(lost); !ok || obj != name {
				t.Fatalf("%q -> %q -> %q, %v", name, lost, obj, ok)
			}
			if _, _, marked := ParseConflictDisplay(lost); marked {
				t.Fatalf("%q reads as a conflict copy", lost)
			}
		}
	})
}

package config

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

// FuzzConfigParse: Parse never panics, and whatever it accepts is valid,
// re-marshals, and re-parses to the same File, whose Marshal is a fixed
// point.
func FuzzConfigParse(f *testing.F) {
	for _, fx := range fixtures(f) {
		f.Add(fx.conf)
		f.Add(bytes.ToLower(fx.conf))
		f.Add([]byte(strings.NewReplacer("\n", "", "\t", "").Replace(string(fx.conf))))
	}
	f.Add([]byte(fido2Conf))
	// Configs with extra unlockers (VeilfsUnlockers), as written, lowercased,
	// compacted, and with one unlocker of each kind alone.
	withUnlockers := volumeWithUnlockers(f).Marshal()
	f.Add(withUnlockers)
	f.Add(bytes.ToLower(withUnlockers))
	f.Add([]byte(strings.NewReplacer("\n", "", "\t", "").Replace(string(withUnlockers))))
	for _, label := range []string{"laptop", "usb"} {
		g := volumeWithUnlockers(f)
		if err := g.RemoveUnlocker(label); err != nil {
			f.Fatal(err)
		}
		f.Add(g.Marshal())
	}
	f.Add([]byte(`{"Version": 2, "VeilfsUnlockers": [{"Label": "x", "Kind": "keyfile"}]}`))
	f.Add([]byte(`{"Version": 2}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		cf, err := Parse(data)
		if err != nil {
			if cf != nil {
				t.Fatal("non-nil File with error")
			}
			return
		}
		if err := cf.Validate(); err != nil {
			t.Fatalf("accepted config does not validate: %v", err)
		}
		m := cf.Marshal()
		again, err := Parse(m)
		if err != nil {
			t.Fatalf("re-parse of\n%s\nfailed: %v", m, err)
		}
		if !reflect.DeepEqual(cf, again) {
			t.Fatalf("re-parse differs:\n%#v\n%#v", cf, again)
		}
		if m2 := again.Marshal(); !bytes.Equal(m, m2) {
			t.Fatalf("Marshal is not a fixed point:\n%s\n%s", m, m2)
		}
	})
}

package cipherdir

import (
	"testing"

	"github.com/veilfs/veilfs/cipher/config"
	"github.com/veilfs/veilfs/nametransform"
)

// TestLongNameLimitsAgree: the config layer cannot import the name layer,
// so each states the long-name threshold's bounds; here, where both meet,
// they must be the same numbers.
func TestLongNameLimitsAgree(t *testing.T) {
	if config.MinLongNameMax != nametransform.MinLongNameMax || config.MaxLongNameMax != nametransform.NameMax {
		t.Errorf("config allows %d..%d, nametransform %d..%d", config.MinLongNameMax, config.MaxLongNameMax,
			nametransform.MinLongNameMax, nametransform.NameMax)
	}
}

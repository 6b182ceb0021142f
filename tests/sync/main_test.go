// Package sync_test checks veilfs in a synced CIPHERDIR: sync clients'
// conflict copies shown and resolvable through the mount (issue #5).
package sync_test

import (
	"testing"

	"github.com/veilfs/veilfs/tests/harness"
)

func TestMain(m *testing.M) { harness.Main(m) }

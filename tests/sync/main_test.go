// Package sync_test checks veilfs in a synced CIPHERDIR: sync clients'
// conflict copies shown and resolvable through the mount (issue #5), and
// two machines kept in sync by real clients, Syncthing and unison, with
// both mounted throughout (issue #13: syncthing_test.go, unison_test.go,
// scenarios_test.go). Run those alone with
//
//	go test -count=1 -v -run 'TestSyncthing|TestUnison' ./tests/sync/
//
// or one scenario with -run 'TestSyncthing/c-same-new-dir'.
package sync_test

import (
	"testing"

	"github.com/veilfs/veilfs/tests/harness"
)

func TestMain(m *testing.M) { harness.Main(m) }

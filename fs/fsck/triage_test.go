package fsck

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/veilfs/veilfs/cipher/config"
)

// TestTriage: each state fsck tells before a key is asked for, with the
// config loaded once and the report of a check that stops at it.
func TestTriage(t *testing.T) {
	confPath := func(tv *tvol) string { return filepath.Join(tv.dir, config.Filename) }
	replaceConf := func(tv *tvol, data []byte) {
		p := confPath(tv)
		os.Remove(p)
		if err := os.WriteFile(p, data, 0o400); err != nil {
			t.Fatal(err)
		}
	}

	tv := newVolume(t, config.CreateOptions{})
	got, err := Triage(tv.dir)
	if err != nil || got.State != Checkable || got.Config == nil || got.Err != nil || got.Report(tv.dir, false) != nil {
		t.Fatalf("a sound volume: %+v, %v", got, err)
	}

	tv.conf.SetRotating(true)
	replaceConf(tv, tv.conf.Marshal())
	got, err = Triage(tv.dir)
	if err != nil || got.State != RotationUnfinished || got.Config == nil || !got.Config.Rotating() {
		t.Fatalf("a rotation in progress: %+v, %v", got, err)
	}
	if rep := got.Report(tv.dir, true); !slices.Equal(kinds(rep), []string{string(Rotating)}) || rep.Summary.Complete || !rep.Summary.Repair {
		t.Errorf("rotation report:\n%s", dumpReport(rep))
	}

	replaceConf(tv, []byte("{not json"))
	got, err = Triage(tv.dir)
	if err != nil || got.State != DamagedConfig || got.Err == nil || got.Config != nil {
		t.Fatalf("a damaged config: %+v, %v", got, err)
	}
	if rep := got.Report(tv.dir, false); !slices.Equal(kinds(rep), []string{string(BadConfig)}) || rep.Summary.Complete ||
		rep.Summary.Stopped == "" || !strings.Contains(rep.Problems[0].Detail, "restore") {
		t.Errorf("damaged-config report:\n%s", dumpReport(rep))
	}

	good := newVolume(t, config.CreateOptions{}).conf.Marshal()
	replaceConf(tv, []byte(strings.Replace(string(good), `"Version": 2`, `"Version": 3`, 1)))
	got, err = Triage(tv.dir)
	var verr *config.VersionError
	if err != nil || got.State != UnusableConfig || !errors.As(got.Err, &verr) || got.Report(tv.dir, false) != nil {
		t.Fatalf("a newer config: %+v, %v", got, err)
	}

	os.Remove(confPath(tv))
	got, err = Triage(tv.dir)
	if err != nil || got.State != UnusableConfig || !errors.Is(got.Err, fs.ErrNotExist) {
		t.Fatalf("no config: %+v, %v", got, err)
	}

	// A reverse volume's PLAINDIR is told before its config is read.
	if err := os.WriteFile(filepath.Join(tv.dir, config.ReverseFilename), []byte("{not json"), 0o400); err != nil {
		t.Fatal(err)
	}
	got, err = Triage(tv.dir)
	if err != nil || got.State != ReverseVolume || got.Config != nil || got.Err != nil {
		t.Fatalf("a reverse volume: %+v, %v", got, err)
	}
}

// TestAssumedConfigProblem: a volume checked with the master key because
// its gocryptfs.conf could not be used is reported broken, saying why, the
// format assumed and how to write a config.
func TestAssumedConfigProblem(t *testing.T) {
	tv := newVolume(t, config.CreateOptions{})
	rep, err := Run(tv.dir, tv.conf, tv.master, Options{UnusableConfig: "it is gone", AssumedFormat: "some format"})
	if err != nil {
		t.Fatal(err)
	}
	want := "it is gone; checked with the master key and the format assumed (some format); write a new gocryptfs.conf: veilfs init --masterkey-file FILE [format options] " + tv.dir
	if !slices.Equal(kinds(rep), []string{string(BadConfig)}) || rep.Problems[0].Detail != want || rep.Problems[0].CipherPath != config.Filename {
		t.Errorf("got\n%s", dumpReport(rep))
	}
}

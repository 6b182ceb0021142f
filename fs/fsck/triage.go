package fsck

import (
	"path/filepath"

	"github.com/veilfs/veilfs/cipher/config"
	"github.com/veilfs/veilfs/fs/cipherdir"
	"github.com/veilfs/veilfs/internal/mounttable"
)

// State is what fsck can do with a CIPHERDIR, found out before any key
// is asked for (Triage).
type State int

const (
	// Checkable: gocryptfs.conf loads and no key rotation is unfinished;
	// once unlocked, Run checks the volume.
	Checkable State = iota
	// ReverseVolume: dir is a reverse volume's PLAINDIR (a
	// .gocryptfs.reverse.conf and no gocryptfs.conf). It holds plaintext,
	// and its encrypted view is computed when read: there is nothing
	// encrypted on disk to check.
	ReverseVolume
	// Mounted: the volume is mounted (on Triaged.MountedOn). A mount
	// caches names and IVs a repair changes, so fsck refuses it.
	Mounted
	// DamagedConfig: gocryptfs.conf is damaged (ConfigProblem). Nothing
	// else says how the rest is encrypted, so a check stops at it, with
	// Triaged.Report, unless the master key stands in for the config.
	DamagedConfig
	// UnusableConfig: gocryptfs.conf is missing or unreadable, or needs a
	// newer veilfs or a feature this one does not know. That is not
	// damage but a reason the check cannot run; Triaged.Err says which.
	UnusableConfig
	// RotationUnfinished: the config says a master-key rotation was
	// interrupted. Half of the files are under each key, so a check stops
	// at it, with Triaged.Report.
	RotationUnfinished
)

// Triaged is the State of a volume and what was found on the way.
type Triaged struct {
	State State
	// MountedOn is where the volume is mounted (Mounted).
	MountedOn string
	// Config is the volume's gocryptfs.conf (Checkable,
	// RotationUnfinished).
	Config *config.File
	// Err is config.Load's error (DamagedConfig, UnusableConfig), for the
	// caller's message.
	Err error

	problem Problem // why a check stops (DamagedConfig, RotationUnfinished)
}

// Triage tells what fsck can do with the volume in dir, in the order
// veilfs fsck refuses things: a reverse volume, then a mounted one (both
// before its config is read), then by its gocryptfs.conf, which is loaded
// once here. The error is the mount table's, when it cannot be read.
func Triage(dir string) (*Triaged, error) {
	if cipherdir.IsReverseDir(dir) {
		return &Triaged{State: ReverseVolume}, nil
	}
	if m, err := mounttable.MountedAt(dir); err != nil {
		return nil, err // it says "read the mount table"
	} else if m != "" {
		return &Triaged{State: Mounted, MountedOn: m}, nil
	}
	f, err := config.Load(filepath.Join(dir, config.Filename))
	if err != nil {
		if p, damaged := ConfigProblem(err); damaged {
			return &Triaged{State: DamagedConfig, Err: err, problem: p}, nil
		}
		return &Triaged{State: UnusableConfig, Err: err}, nil
	}
	if f.Rotating() {
		return &Triaged{State: RotationUnfinished, Config: f, problem: RotationProblem(dir)}, nil
	}
	return &Triaged{State: Checkable, Config: f}, nil
}

// Report is the report of a check that stops at the config of the volume
// in dir (DamagedConfig, RotationUnfinished); nil in the other states.
func (t *Triaged) Report(dir string, repair bool) *Report {
	switch t.State {
	case DamagedConfig, RotationUnfinished:
		return StoppedReport(dir, repair, t.problem)
	}
	return nil
}

package rotate

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/cipher"
	"github.com/veilfs/veilfs/cipher/config"
	"github.com/veilfs/veilfs/fs/cipherdir"
	"github.com/veilfs/veilfs/internal/mounttable"
)

// Options control a rotation.
type Options struct {
	// Format is applied to the new config (only when a rotation starts; a
	// resumed rotation keeps the format and key envelopes it started with).
	Format config.FormatChange
	// Wrap puts the new master key into the final config: the primary
	// password's EncryptedKey and every extra unlocker. It must not save.
	// It is called when a rotation starts: the journal keeps the new key
	// only as wrapped by it, so that a resumed run needs the user's
	// password or unlocker, not just the old master key.
	Wrap func(f *config.File, newMaster []byte) error
	// Progress, if set, is called after every file and directory.
	Progress func(Progress)
	// Warn, if set, receives problems that do not stop the rotation (an
	// undecryptable name is left as it is).
	Warn func(msg string)

	// NoJournal keeps the journal in memory only. It exists so that the
	// crash tests can show they catch a rotation without a journal (the
	// new key and the plans die with the process); never set it otherwise.
	NoJournal bool

	// fault, in tests, is called at every step boundary; an error it
	// returns aborts the rotation there, as a crash would.
	fault func(step string) error
}

// Progress is how far a rotation is. Totals come from a scan at the start of
// each run; a resumed run counts what it finds still to do.
type Progress struct {
	Files, TotalFiles int64
	Bytes, TotalBytes int64 // ciphertext bytes of regular files
	Dirs, TotalDirs   int64
}

// Result is what a finished rotation reports.
type Result struct {
	NewMaster []byte // the caller shows it once and wipes it
	Config    *config.File
	Resumed   bool // an interrupted rotation was finished
	Progress  Progress
}

// ErrMounted is returned when CIPHERDIR is mounted: a rotation rewrites
// every file and must own the volume.
var ErrMounted = errors.New("volume is mounted")

// Run rotates the volume in dir, whose config is conf. With no rotation
// pending, master is the volume's current key (unlocked by the caller with
// any unlocker) and Run starts one. With one pending, master is the NEW
// key, which the caller unlocked from Pending's target config, and Run
// finishes it: the journal holds the new key only as the final config
// will (under the user's password and unlockers), so the old master key
// alone can neither read nor resume it. It never deletes plaintext: each
// object is rewritten under the new key and replaced atomically; the
// config switches to the new key in one atomic rename at the very end, and
// until then the old key opens the volume.
func Run(dir string, conf *config.File, master []byte, opts Options) (*Result, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if m, err := mounttable.MountedAt(dir); err != nil {
		return nil, err
	} else if m != "" {
		return nil, fmt.Errorf("%s is mounted on %s: %w; unmount it first", dir, m, ErrMounted)
	}
	if opts.Wrap == nil {
		return nil, errors.New("rotate: no Wrap function")
	}
	confPath := filepath.Join(dir, config.Filename)
	res := &Result{}

	var j *journal
	var oldMaster, newMaster []byte
	switch _, err := os.Lstat(filepath.Join(dir, JournalName)); {
	case errors.Is(err, os.ErrNotExist):
		if conf.Rotating() {
			return nil, fmt.Errorf("%s says a key rotation is in progress, but its journal %s is missing: %w", confPath, JournalName, ErrJournalMissing)
		}
		if j, newMaster, err = start(dir, conf, master, opts); err != nil {
			return nil, err
		}
		oldMaster = bytes.Clone(master)
	case err != nil:
		return nil, err
	default:
		res.Resumed = true
		if j, err = openJournal(dir, conf, master); err != nil {
			return nil, err
		}
		newMaster = bytes.Clone(master)
		if oldMaster, err = j.oldMaster(newMaster); err != nil {
			j.close()
			cipher.Wipe(newMaster)
			return nil, err
		}
	}
	defer j.close()
	defer cipher.Wipe(oldMaster)
	ok := false
	defer func() {
		if !ok {
			cipher.Wipe(newMaster)
		}
	}()

	if j.switched {
		// The last run stopped after every object was rewritten and
		// synced, at the config switch or after it.
		if !conf.Rotating() && bytes.Equal(conf.EncryptedKey, j.target.EncryptedKey) {
			if err := j.remove(dir); err != nil {
				return nil, err
			}
			if err := restoreTimes(dir, j.times); err != nil {
				return nil, err
			}
			return nil, fmt.Errorf("rotation was already complete (only its journal was left); nothing to do: %w", ErrAlreadyDone)
		}
	} else {
		if !conf.Rotating() {
			// Stopped between writing the journal and marking the config.
			if err := markRotating(confPath, conf); err != nil {
				return nil, err
			}
		}
		// The old objects are read with the journal's (authenticated)
		// old config, not with gocryptfs.conf, which anyone who can
		// write the folder could have changed meanwhile.
		oldVol, err := cipherdir.OpenWithConfig(dir, j.oldConf, oldMaster)
		if err != nil {
			return nil, err
		}
		defer oldVol.Wipe()
		newVol, err := cipherdir.OpenWithConfig(dir, withoutRotating(j.target), newMaster)
		if err != nil {
			return nil, err
		}
		defer newVol.Wipe()

		r := &rotator{dir: dir, old: oldVol, new: newVol, j: j, opts: opts}
		if err := r.run(); err != nil {
			return nil, err
		}
		res.Progress = r.prog
		if err := r.fault("final"); err != nil {
			return nil, err
		}
	}
	final, err := finish(dir, confPath, j, opts)
	if err != nil {
		return nil, err
	}
	ok = true
	res.NewMaster, res.Config = newMaster, final
	return res, nil
}

// ErrJournalMissing is returned when the config says a rotation is under
// way but its journal is gone: the new key of the files already rewritten
// is in it, so it must be restored, not recreated.
var ErrJournalMissing = errors.New("rotation journal missing")

// ErrAlreadyDone is returned when the only thing left of a rotation was its
// journal, which Run removed.
var ErrAlreadyDone = errors.New("rotation already complete")

// start begins a rotation: a fresh master key wrapped, by opts.Wrap, for
// the user's password and unlockers as the final config will hold it; the
// journal that holds it; then the config flag that makes mount and
// gocryptfs refuse the half-rotated volume. It returns the new key.
func start(dir string, conf *config.File, oldMaster []byte, opts Options) (*journal, []byte, error) {
	if err := fault(opts, "start"); err != nil {
		return nil, nil, err
	}
	oldConf := withoutRotating(conf)
	target, err := oldConf.WithFormat(opts.Format)
	if err != nil {
		return nil, nil, err
	}
	times, err := dirTimes(dir, conf.Has(config.FlagPlaintextNames))
	if err != nil {
		return nil, nil, err
	}
	newMaster := make([]byte, cipher.MasterKeySize)
	if _, err := randRead(newMaster); err != nil {
		return nil, nil, err
	}
	j, err := func() (*journal, error) {
		if err := opts.Wrap(target, newMaster); err != nil {
			return nil, fmt.Errorf("wrap the new master key: %w", err)
		}
		target.SetRotating(true)
		// Resume refuses a target that fails this; so does start.
		if err := checkTarget(oldConf, target); err != nil {
			return nil, err
		}
		return createJournal(dir, oldMaster, newMaster, target, oldConf, times, !opts.NoJournal)
	}()
	if err != nil {
		cipher.Wipe(newMaster)
		return nil, nil, err
	}
	err = fault(opts, "journal")
	if err == nil {
		err = markRotating(filepath.Join(dir, config.Filename), conf)
	}
	if err != nil {
		j.close()
		cipher.Wipe(newMaster)
		return nil, nil, err
	}
	return j, newMaster, nil
}

func withoutRotating(conf *config.File) *config.File {
	c, err := conf.Clone()
	if err != nil {
		return conf // Validate fails later with the reason
	}
	c.SetRotating(false)
	return c
}

func markRotating(confPath string, conf *config.File) error {
	c, err := conf.Clone()
	if err != nil {
		return err
	}
	c.SetRotating(true)
	if err := c.Save(confPath); err != nil {
		return fmt.Errorf("mark the volume as being rotated: %w", err)
	}
	conf.SetRotating(true)
	return nil
}

// finish makes everything durable, journals the switch, then switches the
// config to the new key (the journal's target, already wrapped for the
// user's unlockers) in one atomic rename, then deletes the journal.
func finish(dir, confPath string, j *journal, opts Options) (*config.File, error) {
	if err := syncFS(dir); err != nil {
		return nil, err
	}
	if !j.switched {
		if err := j.append(record{T: "switch"}); err != nil {
			return nil, err
		}
	}
	final := withoutRotating(j.target)
	if err := final.Save(confPath); err != nil {
		return nil, fmt.Errorf("switch to the new master key: %w", err)
	}
	if err := fault(opts, "saved"); err != nil {
		return nil, err
	}
	if err := j.remove(dir); err != nil {
		return nil, err
	}
	// Saving the config and removing the journal changed the root's
	// mtime; put back the one it had before the rotation.
	if err := restoreTimes(dir, j.times); err != nil {
		return nil, err
	}
	return final, nil
}

func restoreTimes(dir string, times map[uint64][4]int64) error {
	var st unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		return err
	}
	if t, ok := times[st.Ino]; ok {
		ts := []unix.Timespec{{Sec: t[0], Nsec: t[1]}, {Sec: t[2], Nsec: t[3]}}
		if err := unix.UtimesNanoAt(unix.AT_FDCWD, dir, ts, 0); err != nil {
			return fmt.Errorf("restore times of %s: %w", dir, err)
		}
	}
	return nil
}

func syncFS(dir string) error {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", dir, err)
	}
	defer unix.Close(fd)
	if err := cipherdir.Syncfs(fd); err != nil {
		return fmt.Errorf("syncfs %s: %w", dir, err)
	}
	return nil
}

func fault(opts Options, step string) error {
	if opts.fault == nil {
		return nil
	}
	return opts.fault(step)
}

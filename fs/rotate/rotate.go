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
)

// Options control a rotation.
type Options struct {
	// Format is applied to the new config (only when a rotation starts; a
	// resumed rotation keeps the format it started with).
	Format config.FormatChange
	// Wrap puts the new master key into the final config: the primary
	// password's EncryptedKey and every extra unlocker. It must not save.
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

// Run rotates the volume in dir, whose config is conf and current master
// key oldMaster (unlocked by the caller with any unlocker). It starts a new
// rotation, or finishes an interrupted one when a journal exists. It never
// deletes plaintext: each object is rewritten under the new key and
// replaced atomically; the config switches to the new key in one atomic
// rename at the very end, and until then the old key opens the volume.
func Run(dir string, conf *config.File, oldMaster []byte, opts Options) (*Result, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if m, err := cipherdir.MountedAt(dir); err != nil {
		return nil, err
	} else if m != "" {
		return nil, fmt.Errorf("%s is mounted on %s: %w; unmount it first", dir, m, ErrMounted)
	}
	if opts.Wrap == nil {
		return nil, errors.New("rotate: no Wrap function")
	}
	confPath := filepath.Join(dir, config.Filename)
	res := &Result{}

	j, err := openJournal(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if conf.Rotating() {
			return nil, fmt.Errorf("%s says a key rotation is in progress, but its journal %s is missing: %w", confPath, JournalName, ErrJournalMissing)
		}
		if j, err = start(dir, conf, oldMaster, opts); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, err
	default:
		res.Resumed = true
		if bytes.Equal(keyID(oldMaster), j.hdr.NewKeyID) {
			// The config already holds the new key: the last run stopped
			// between saving it and deleting the journal.
			if err := j.remove(dir); err != nil {
				return nil, err
			}
			if err := restoreTimes(dir, j.times); err != nil {
				return nil, err
			}
			return nil, fmt.Errorf("rotation was already complete (only its journal was left); nothing to do: %w", ErrAlreadyDone)
		}
	}
	defer j.close()

	newMaster, err := j.newMaster(oldMaster)
	if err != nil {
		return nil, err
	}
	newConf, err := config.Parse(j.hdr.Config)
	if err != nil {
		cipher.Wipe(newMaster)
		return nil, fmt.Errorf("rotation journal: new config: %w", err)
	}
	if !conf.Rotating() {
		// Stopped between writing the journal and marking the config.
		if err := markRotating(confPath, conf); err != nil {
			cipher.Wipe(newMaster)
			return nil, err
		}
	}
	oldVol, err := cipherdir.OpenWithConfig(dir, withoutRotating(conf), oldMaster)
	if err != nil {
		cipher.Wipe(newMaster)
		return nil, err
	}
	defer oldVol.Wipe()
	newVol, err := cipherdir.OpenWithConfig(dir, newConf, newMaster)
	if err != nil {
		cipher.Wipe(newMaster)
		return nil, err
	}
	defer newVol.Wipe()

	r := &rotator{dir: dir, old: oldVol, new: newVol, j: j, opts: opts}
	if err := r.run(); err != nil {
		cipher.Wipe(newMaster)
		return nil, err
	}
	res.Progress = r.prog

	if err := r.fault("final"); err != nil {
		cipher.Wipe(newMaster)
		return nil, err
	}
	final, err := finish(dir, confPath, newConf, newMaster, j, opts)
	if err != nil {
		cipher.Wipe(newMaster)
		return nil, err
	}
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

// start begins a rotation: a fresh master key, the journal that holds it
// (wrapped under the old key), then the config flag that makes mount and
// gocryptfs refuse the half-rotated volume.
func start(dir string, conf *config.File, oldMaster []byte, opts Options) (*journal, error) {
	if err := fault(opts, "start"); err != nil {
		return nil, err
	}
	newConf, err := conf.WithFormat(opts.Format)
	if err != nil {
		return nil, err
	}
	times, err := dirTimes(dir, conf.Has(config.FlagPlaintextNames))
	if err != nil {
		return nil, err
	}
	newMaster := make([]byte, cipher.MasterKeySize)
	if _, err := randRead(newMaster); err != nil {
		return nil, err
	}
	defer cipher.Wipe(newMaster)
	j, err := createJournal(dir, oldMaster, newMaster, newConf.Marshal(), times, !opts.NoJournal)
	if err != nil {
		return nil, err
	}
	if err := fault(opts, "journal"); err != nil {
		j.close()
		return nil, err
	}
	if err := markRotating(filepath.Join(dir, config.Filename), conf); err != nil {
		j.close()
		return nil, err
	}
	return j, nil
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

// finish makes everything durable, then switches the config to the new key
// in one atomic rename, then deletes the journal.
func finish(dir, confPath string, newConf *config.File, newMaster []byte, j *journal, opts Options) (*config.File, error) {
	if err := syncFS(dir); err != nil {
		return nil, err
	}
	final, err := newConf.Clone()
	if err != nil {
		return nil, err
	}
	final.SetRotating(false)
	if err := opts.Wrap(final, newMaster); err != nil {
		return nil, fmt.Errorf("wrap the new master key: %w", err)
	}
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
	if err := unix.Syncfs(fd); err != nil {
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

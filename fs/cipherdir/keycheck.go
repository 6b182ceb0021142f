package cipherdir

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/cipher"
	"github.com/veilfs/veilfs/cipher/config"
	"github.com/veilfs/veilfs/internal/diskio"
	"github.com/veilfs/veilfs/nametransform"
)

// ErrKeyMismatch is returned by CheckKey when the volume's files show that
// the key is not the one they were written with.
var ErrKeyMismatch = errors.New("the key does not decrypt this volume's files")

// Bounds of CheckKey's walk, so that it costs little on any volume.
const (
	keyCheckMaxEntries  = 4096 // directory entries looked at
	keyCheckMaxFailures = 16   // authenticated checks that failed before giving up
	keyCheckMinNames    = 3    // names that must decrypt when nothing else can be checked
)

// CheckKey tells whether the key v was opened with is the one the volume's
// files were written with. Nothing in gocryptfs.conf can tell that for a
// master key typed in by hand (the config only wraps it under the
// password), and a wrong key "opens" any volume: it shows nothing and
// writes files nobody else can read. So CheckKey looks at the files:
//
//   - the first block of a file's content and a symlink target are AEAD
//     ciphertexts: one that authenticates proves the key, and CheckKey
//     returns true at the first one;
//   - names carry no MAC, but a wrong key makes the padding check of
//     almost every name fail (about 255 in 256): when nothing authenticated
//     was found, at least 3 names that all decrypt count as a match.
//
// It returns ErrKeyMismatch when the checks that were possible all failed,
// and (false, nil) when the volume holds nothing to check (no file content,
// no symlink, too few names). It walks breadth first and stops early; it
// never writes.
func (v *Volume) CheckKey() (bool, error) {
	return v.checkKey(false)
}

// CheckKeyAndContent is CheckKey for a content cipher that is itself in
// doubt (opening a volume without its gocryptfs.conf, where the format is
// assumed): names decrypt under the right key whatever the content cipher,
// so they prove nothing here, and a content block or symlink target that
// fails to authenticate while none does is a mismatch even when the names
// decrypt.
func (v *Volume) CheckKeyAndContent() (bool, error) {
	return v.checkKey(true)
}

func (v *Volume) checkKey(content bool) (bool, error) {
	rootfd, err := v.OpenRoot()
	if err != nil {
		return false, err
	}
	defer closeFD(rootfd)
	k := &keyCheck{v: v, rootfd: rootfd}
	queue := []string{""}
	for len(queue) > 0 && !k.done() {
		rel := queue[0]
		queue = queue[1:]
		queue = append(queue, k.dir(rel)...)
	}
	switch {
	case k.matched:
		return true, nil
	case content && k.failures > 0:
		return false, fmt.Errorf("%d file contents or symlink targets checked, none authenticates: %w", k.failures, ErrKeyMismatch)
	case k.namesOK >= keyCheckMinNames && k.namesBad == 0:
		return true, nil
	case k.failures > 0 || (k.namesBad > 0 && k.namesOK == 0):
		return false, fmt.Errorf("%d file contents or symlink targets and %d of %d names checked: %w",
			k.failures, k.namesBad, k.namesOK+k.namesBad, ErrKeyMismatch)
	}
	return false, nil
}

type keyCheck struct {
	v                 *Volume
	rootfd            int
	entries           int
	matched           bool
	failures          int
	namesOK, namesBad int
}

func (k *keyCheck) done() bool {
	return k.matched || k.failures >= keyCheckMaxFailures || k.entries >= keyCheckMaxEntries
}

// dir checks the entries of the directory at rel and returns its
// subdirectories. Errors (a directory that vanished, a bad IV) only mean
// less to check.
func (k *keyCheck) dir(rel string) (subdirs []string) {
	path := rel
	if path == "" {
		path = "."
	}
	fd, err := OpenReadDirAt(k.rootfd, path)
	if err != nil {
		return nil
	}
	defer closeFD(fd)
	iv, ivErr := k.v.DirIVAt(fd)
	_ = diskio.ReadDirents(fd, func(name string, _ uint64, typ uint8) bool {
		k.entries++
		if k.skip(name, rel == "") {
			return !k.done()
		}
		if typ == unix.DT_UNKNOWN {
			var st unix.Stat_t
			if unix.Fstatat(fd, name, &st, unix.AT_SYMLINK_NOFOLLOW) != nil {
				return !k.done()
			}
			typ = dtype(uint32(st.Mode))
		}
		switch typ {
		case unix.DT_DIR:
			subdirs = append(subdirs, JoinPath(rel, name))
		case unix.DT_REG:
			k.content(fd, name)
		case unix.DT_LNK:
			k.link(fd, name)
		}
		if !k.v.PlaintextNames && ivErr == nil {
			k.name(fd, name, iv, rel == "")
		}
		return !k.done()
	})
	return subdirs
}

// skip reports our own files (config, IVs, sidecars, journals,
// leftovers) and sync clients' (a .dropbox.cache or a Thumbs.db is no
// evidence either way, and a client's folder can be large).
func (k *keyCheck) skip(name string, atRoot bool) bool {
	if k.v.PlaintextNames {
		return atRoot && strings.HasPrefix(name, nametransform.ReservedPrefix)
	}
	if _, ok := nametransform.SyncClientFile(name); ok {
		return true
	}
	switch nametransform.Classify(name) {
	case nametransform.KindReserved, nametransform.KindLongNameSidecar:
		return true
	}
	return false
}

// content opens the first block of a regular file. A file without a block,
// a damaged header or an all-zero (hole) block proves nothing either way.
func (k *keyCheck) content(dirfd int, name string) {
	fd, err := openRegular(dirfd, name)
	if err != nil {
		return
	}
	defer closeFD(fd)
	buf := make([]byte, cipher.HeaderSize+k.v.Content.CipherBlockSize())
	n, err := diskio.ReadFull(fd, buf)
	if err != nil || n <= cipher.HeaderSize {
		return
	}
	fileID, err := cipher.ParseHeader(buf[:n])
	if err != nil {
		return
	}
	block := buf[cipher.HeaderSize:n]
	if diskio.AllZero(block) {
		return
	}
	plain, err := k.v.Content.OpenBlock(nil, block, 0, fileID)
	cipher.Wipe(plain)
	k.record(err)
}

// link opens an encrypted symlink target (FORMAT §6).
func (k *keyCheck) link(dirfd int, name string) {
	if k.v.PlaintextNames {
		return
	}
	buf := make([]byte, MaxLinkLen+1)
	n, err := unix.Readlinkat(dirfd, name, buf)
	if err != nil || n == 0 {
		return
	}
	raw, err := k.v.Names.DecodeBase64(string(buf[:n]))
	if err != nil {
		return // not something we wrote: no evidence about the key
	}
	plain, err := k.v.Content.OpenBlock(nil, raw, 0, nil)
	cipher.Wipe(plain)
	k.record(err)
}

func (k *keyCheck) record(err error) {
	switch {
	case err == nil:
		k.matched = true
	case errors.Is(err, cipher.ErrAuthFailed):
		k.failures++
	}
}

// name decrypts one entry name. A missing or damaged long-name sidecar is
// no evidence about the key.
func (k *keyCheck) name(dirfd int, name string, iv []byte, atRoot bool) {
	_, err := k.v.PlainName(dirfd, name, iv, atRoot)
	switch {
	case err == nil:
		k.namesOK++
	case errors.Is(err, ErrReservedName), errors.Is(err, ErrBadSidecar):
	default:
		k.namesBad++
	}
}

func dtype(mode uint32) uint8 {
	switch mode & unix.S_IFMT {
	case unix.S_IFDIR:
		return unix.DT_DIR
	case unix.S_IFREG:
		return unix.DT_REG
	case unix.S_IFLNK:
		return unix.DT_LNK
	}
	return unix.DT_UNKNOWN
}

// CheckMasterKey tells whether master is the master key of the volume in
// dir, whose config is conf: first through conf's extra unlockers, whose
// public keys are encrypted under a key derived from the master key (an
// authenticated check without touching the files), then through the files
// (Volume.CheckKey). It returns true when either proves the key,
// ErrKeyMismatch when the possible checks all fail, and (false, nil) when
// there is nothing to check: a volume without extra unlockers and without
// content.
func CheckMasterKey(dir string, conf *config.File, master []byte) (bool, error) {
	ok, bad := conf.CheckUnlockers(master)
	if len(ok) > 0 {
		return true, nil
	}
	vol, err := OpenWithConfig(dir, conf, master)
	if err != nil {
		return false, err
	}
	defer vol.Wipe()
	matched, err := vol.CheckKey()
	if matched || err != nil {
		return matched, err
	}
	if len(bad) > 0 {
		return false, fmt.Errorf("none of the %d extra unlockers authenticates with it: %w", len(bad), ErrKeyMismatch)
	}
	return false, nil
}

package fsck

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/fs/cipherdir"
	"github.com/veilfs/veilfs/nametransform"
)

// QuarantinePrefix starts the plaintext name of the directory, in the root
// of the volume, that --repair moves unreadable entries into. The rest is
// the UTC time of the run, "veilfs-quarantine-20261127-101500".
const QuarantinePrefix = "veilfs-quarantine-"

var quarantineRe = regexp.MustCompile(`^` + QuarantinePrefix + `\d{8}-\d{6}(-\d+)?$`)

// isQuarantineName reports whether plain, a name in the root of the
// volume, is a quarantine directory's.
func isQuarantineName(plain string) bool { return quarantineRe.MatchString(plain) }

// quarantine is the directory this run moves entries into. It is an
// ordinary encrypted directory (own IV, encrypted name), so a mount shows
// it and everything moved into it under readable names.
type quarantine struct {
	name string // plaintext name in the root
	fd   int
	iv   []byte
	used map[string]bool
}

// quarantineDir creates the quarantine directory on first use.
func (c *checker) quarantineDir() (*quarantine, error) {
	if c.q != nil || c.qErr != nil {
		return c.q, c.qErr
	}
	if !c.rootIVOK {
		c.qErr = errors.New("the root directory's gocryptfs.diriv is damaged, so no quarantine directory can be made in it")
		return nil, c.qErr
	}
	base := QuarantinePrefix + c.opts.Now().UTC().Format("20060102-150405")
	for i := 1; i <= 100; i++ {
		name := base
		if i > 1 {
			name = fmt.Sprintf("%s-%d", base, i)
		}
		disk, cname, err := c.v.DiskName(name, c.rootIV, true)
		if err != nil {
			c.qErr = err
			return nil, err
		}
		// 0700: what lands here is broken, and maybe private.
		err = c.v.PrepareName(c.rootfd, disk, cname, func() error { _, err := c.v.Mkdir(c.rootfd, disk, 0o700); return err })
		if errors.Is(err, unix.EEXIST) {
			continue
		}
		if err != nil {
			c.qErr = fmt.Errorf("create the quarantine directory /%s: %w", name, err)
			return nil, c.qErr
		}
		fd, err := cipherdir.OpenReadDirAt(c.rootfd, disk)
		if err != nil {
			c.qErr = err
			return nil, err
		}
		iv, err := c.v.DirIVAt(fd)
		if err != nil {
			unix.Close(fd)
			c.qErr = err
			return nil, err
		}
		c.q = &quarantine{name: name, fd: fd, iv: iv, used: map[string]bool{}}
		c.rep.Summary.Quarantine = name
		return c.q, c.fault("quarantine")
	}
	c.qErr = fmt.Errorf("%s-2 to -100 exist already", base)
	return nil, c.qErr
}

// quarantine moves the entry name of directory d (at l) into the
// quarantine directory, by one rename under a fresh encrypted name that
// says where it came from, and marks the problems idxs repaired. Nothing
// is copied or deleted: the ciphertext object itself moves, and what can
// be read of it (the content of a file whose name was unreadable, the
// entries of such a directory) shows in the mount there.
func (c *checker) quarantine(d *dirState, name string, l loc, idxs []int) {
	q, err := c.quarantineDir()
	if err != nil {
		for _, i := range idxs {
			c.repaired(i, "", fmt.Errorf("not moved to quarantine: %w", err))
		}
		return
	}
	// Where it came from: its plaintext path when known (a bad header),
	// else the plaintext path of its directory and its name as on disk.
	from := l.plain
	switch {
	case !l.known && d.loc.known:
		from = cipherdir.JoinPath(d.loc.plain, name)
	case !l.known:
		from = l.rel
	}
	base := QuarantineName(from)
	var moved string
	for i := 1; i <= 1000 && moved == ""; i++ {
		qn := withSuffix(base, i)
		if q.used[qn] {
			continue
		}
		q.used[qn] = true
		disk, cname, err := c.v.DiskName(qn, q.iv, false)
		if err != nil {
			break
		}
		err = c.v.PrepareName(q.fd, disk, cname, func() error {
			return cipherdir.RenameNoReplace(d.fd, name, q.fd, disk)
		})
		switch {
		case errors.Is(err, unix.EEXIST):
			continue
		case err != nil:
			for _, i := range idxs {
				c.repaired(i, "", fmt.Errorf("move to quarantine: %w", err))
			}
			return
		}
		moved = qn
	}
	if moved == "" {
		for _, i := range idxs {
			c.repaired(i, "", errors.New("move to quarantine: no free name"))
		}
		return
	}
	action := fmt.Sprintf("moved to /%s/%s", q.name, moved)
	if c.v.IsLong(name) {
		// The sidecar went with the name; drop it unless a conflict copy
		// of the same long name still reads it.
		var st unix.Stat_t
		side := nametransform.SidecarName(name)
		if d.refs[name]--; d.refs[name] <= 0 && unix.Fstatat(d.fd, side, &st, unix.AT_SYMLINK_NOFOLLOW) == nil {
			if err := cipherdir.RemoveSidecar(d.fd, name); err == nil {
				action += " (its .name sidecar removed)"
			}
		}
	}
	err = c.fault("quarantined")
	for _, i := range idxs {
		c.repaired(i, action, err)
	}
}

// QuarantineName is the plaintext name an entry from the path from gets in
// the quarantine directory: the path with "%" written "%25" and "/"
// written "%2F", so the name alone tells where it came from and can be
// turned back. A name over 255 bytes keeps its end, the most specific part,
// after a leading "…".
func QuarantineName(from string) string {
	s := strings.NewReplacer("%", "%25", "/", "%2F").Replace(from)
	if s == "" || s == "." || s == ".." {
		s = "%2E" + s
	}
	return keepEnd(s, nametransform.NameMax)
}

// withSuffix gives the i-th candidate name for base: base itself, then
// "base~2", "base~3"..., all within the name limit.
func withSuffix(base string, i int) string {
	if i == 1 {
		return base
	}
	suf := fmt.Sprintf("~%d", i)
	return cutEnd(base, nametransform.NameMax-len(suf)) + suf
}

// keepEnd shortens s to at most max bytes by dropping its start (at a
// character boundary) and marking the cut with "…".
func keepEnd(s string, max int) string {
	if len(s) <= max {
		return s
	}
	const mark = "…"
	i := len(s) - (max - len(mark))
	for i < len(s) && !utf8.RuneStart(s[i]) {
		i++
	}
	return mark + s[i:]
}

// cutEnd shortens s to at most max bytes at a character boundary.
func cutEnd(s string, max int) string {
	if len(s) <= max {
		return s
	}
	i := max
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i]
}

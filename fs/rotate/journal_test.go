package rotate

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/veilfs/veilfs/cipher"
	"github.com/veilfs/veilfs/cipher/config"
	"github.com/veilfs/veilfs/fs/cipherdir"
	"github.com/veilfs/veilfs/internal/diskio"
)

// interrupted makes a small volume and stops its rotation at the stop-th
// step boundary at or after the first step named first, so that the
// journal holds a header and some records. It returns the dir, the old
// master key and the plaintext snapshot.
func interrupted(t *testing.T, opts config.CreateOptions, first string, logN int) (string, []byte, map[string]string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "cipher")
	opts.LogN = logN
	oldMaster, err := cipherdir.Init(dir, password, opts)
	must(t, err)
	withMount(t, dir, oldMaster, func(mnt string) { populate(t, mnt, true) })
	before := snapshot(t, dir, oldMaster, false)
	errStop := errors.New("injected stop")
	_, err = Run(dir, loadConf(t, dir), oldMaster, Options{
		Wrap: wrapWith(password),
		fault: func(step string) error {
			if step == first {
				return errStop
			}
			return nil
		},
	})
	if !errors.Is(err, errStop) {
		t.Fatalf("rotation did not stop at %q: %v", first, err)
	}
	return dir, oldMaster, before
}

// oldKeyCandidates is every key derived from the old master key that a
// journal could have been wrapped under: the version 1 journal key, this
// version's labels applied to the wrong key, the content and name keys,
// and the key itself.
func oldKeyCandidates(old []byte) [][]byte {
	ks := [][]byte{bytes.Clone(old)}
	for _, info := range []string{"veilfs rotation journal key", "veilfs rotation key id",
		infoJournalMAC, infoOldKey, cipher.InfoEMENames, cipher.InfoGCMContent, cipher.InfoSIVContent, cipher.InfoXChaChaContent} {
		ks = append(ks, cipher.HKDF(old, info, 32))
	}
	return ks
}

// blobs returns every byte string in a JSON document (base64 strings, as
// encoding/json writes []byte), descending into those that are JSON
// themselves (the configs in the header).
func blobs(data []byte) [][]byte {
	var v any
	if json.Unmarshal(data, &v) != nil {
		return nil
	}
	var out [][]byte
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for _, e := range v {
				walk(e)
			}
		case []any:
			for _, e := range v {
				walk(e)
			}
		case string:
			if b, err := base64.StdEncoding.DecodeString(v); err == nil && len(b) > 0 {
				out = append(out, b)
				out = append(out, blobs(b)...)
			}
		}
	}
	walk(v)
	return out
}

// checkOldKeyOpensNothing asserts that nothing in the journal of dir
// unwraps under a key derived from oldMaster, that the new master key is
// nowhere in it in the clear, and that the old key cannot resume the
// rotation (and that trying changes nothing).
func checkOldKeyOpensNothing(t *testing.T, dir string, oldMaster []byte) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, JournalName))
	must(t, err)
	conf := loadConf(t, dir)
	target, err := Pending(dir, conf)
	must(t, err)
	newMaster, err := target.UnlockMasterKey(password)
	must(t, err)
	var all [][]byte
	for l := range bytes.Lines(data) {
		all = append(all, blobs(l)...)
	}
	tried := 0
	for _, b := range all {
		for i := 0; i+cipher.WrappedKeySize <= len(b); i++ {
			for _, k := range oldKeyCandidates(oldMaster) {
				tried++
				if mk, err := cipher.UnwrapMasterKey(k, b[i:i+cipher.WrappedKeySize]); err == nil {
					t.Errorf("a key derived from the old master key unwraps %x… of the journal (new key: %v)", b[:8], bytes.Equal(mk, newMaster))
				}
			}
		}
		if bytes.Contains(b, newMaster) {
			t.Error("the new master key is in the journal in the clear")
		}
	}
	if tried == 0 {
		t.Fatal("no wrapped key found in the journal to try the old key on")
	}
	for _, enc := range []string{hex.EncodeToString(newMaster), base64.StdEncoding.EncodeToString(newMaster)} {
		if strings.Contains(string(data), enc) {
			t.Error("the new master key is in the journal in the clear")
		}
	}
	// The old key resumes nothing, and trying changes nothing.
	fp := fingerprint(t, dir)
	if _, err := Run(dir, conf, oldMaster, Options{Wrap: wrapWith(password)}); !errors.Is(err, ErrJournalInvalid) {
		t.Errorf("resuming with the old master key: got %v, want ErrJournalInvalid", err)
	}
	compare(t, fp, fingerprint(t, dir))
}

// TestRotateJournalOldKeyOpensNothing is issue 14's first finding: the
// journal of an interrupted rotation, in the synced folder, must not give
// the new key to whoever holds the old one; nor after a resumed run that
// was interrupted again.
func TestRotateJournalOldKeyOpensNothing(t *testing.T) {
	requireFUSE(t)
	dir, oldMaster, before := interrupted(t, config.CreateOptions{}, "dirdone", 10)
	checkOldKeyOpensNothing(t, dir, oldMaster)

	conf, key := unlockForRun(t, dir)
	errStop := errors.New("injected stop")
	n := 0
	_, err := Run(dir, conf, key, Options{Wrap: wrapWith(password), fault: func(string) error {
		if n++; n == 3 {
			return errStop
		}
		return nil
	}})
	if !errors.Is(err, errStop) {
		t.Fatalf("resumed rotation did not stop: %v", err)
	}
	checkOldKeyOpensNothing(t, dir, oldMaster)

	conf, key = unlockForRun(t, dir)
	res, err := Run(dir, conf, key, Options{Wrap: wrapWith(password)})
	must(t, err)
	checkRotated(t, dir, oldMaster, res.NewMaster, before)
}

// fingerprint describes every object under dir, content, xattrs and mtime
// included, to show that a refused resume touched nothing. It changes
// no atime itself.
func fingerprint(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	must(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		desc := fmt.Sprintf("mode %o size %d mtime %d.%d", st.Mode, st.Size, st.Mtim.Sec, st.Mtim.Nsec)
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFREG:
			// O_NOATIME: reading must not change what is compared (the
			// rotation keeps the ciphertext's times).
			f, err := os.OpenFile(p, os.O_RDONLY|diskio.ONoatime|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0)
			if err != nil {
				return err
			}
			h := sha256.New()
			_, err = io.Copy(h, f)
			f.Close()
			if err != nil {
				return err
			}
			desc += fmt.Sprintf(" sha256 %x", h.Sum(nil))
		case unix.S_IFLNK:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			desc += " -> " + target
			// readlink has no O_NOATIME: put back the atime it set (and
			// the mtime it had: darwin's x/sys has no UTIME_OMIT).
			ts := []unix.Timespec{unix.NsecToTimespec(st.Atim.Nano()), unix.NsecToTimespec(st.Mtim.Nano())}
			if err := unix.UtimesNanoAt(unix.AT_FDCWD, p, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
				return err
			}
		}
		if st.Mode&unix.S_IFMT != unix.S_IFLNK && st.Mode&unix.S_IFMT != unix.S_IFIFO {
			names, err := listXattrsPath(p)
			if err != nil {
				return err
			}
			slices.Sort(names)
			for _, n := range names {
				buf := make([]byte, 64<<10)
				sz, err := unix.Lgetxattr(p, n, buf)
				if err != nil {
					return err
				}
				desc += fmt.Sprintf(" xattr %s=%x", n, sha256.Sum256(buf[:sz]))
			}
		}
		out[strings.TrimPrefix(p, dir)] = desc
		return nil
	}))
	return out
}

// journalLines is the journal split into its lines' bodies and MACs.
type journalLines []line

func readLines(t *testing.T, dir string) journalLines {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, JournalName))
	must(t, err)
	var ls journalLines
	for raw := range bytes.Lines(data) {
		var l line
		must(t, json.Unmarshal(raw, &l))
		ls = append(ls, l)
	}
	return ls
}

func (ls journalLines) write(t *testing.T, dir string) {
	t.Helper()
	var buf bytes.Buffer
	for _, l := range ls {
		b, err := json.Marshal(l)
		must(t, err)
		buf.Write(b)
		buf.WriteByte('\n')
	}
	writeJournal(t, dir, buf.Bytes())
}

func writeJournal(t *testing.T, dir string, data []byte) {
	t.Helper()
	p := filepath.Join(dir, JournalName)
	must(t, os.Chmod(p, 0o600))
	must(t, os.WriteFile(p, data, 0o600))
}

// editBody decodes line i's body into a generic map, lets fn change it and
// encodes it back, keeping the MAC: what someone without the key can do.
func (ls journalLines) editBody(t *testing.T, i int, fn func(m map[string]any)) {
	t.Helper()
	var m map[string]any
	must(t, json.Unmarshal(ls[i].Body, &m))
	fn(m)
	b, err := json.Marshal(m)
	must(t, err)
	ls[i].Body = b
}

// editConfig changes the header's config field (Config or OldConfig).
func (ls journalLines) editConfig(t *testing.T, field string, fn func(m map[string]any)) {
	t.Helper()
	ls.editBody(t, 0, func(h map[string]any) {
		raw, err := base64.StdEncoding.DecodeString(h[field].(string))
		must(t, err)
		var c map[string]any
		must(t, json.Unmarshal(raw, &c))
		fn(c)
		raw, err = json.MarshalIndent(c, "", "\t")
		must(t, err)
		h[field] = base64.StdEncoding.EncodeToString(raw)
	})
}

// findRecord returns the index of the first record of type typ.
func (ls journalLines) findRecord(t *testing.T, typ string) int {
	t.Helper()
	for i, l := range ls[1:] {
		var r record
		must(t, json.Unmarshal(l.Body, &r))
		if r.T == typ && (typ != "plan" || len(r.Entries) > 0) {
			return i + 1
		}
	}
	t.Fatalf("no %q record in the journal", typ)
	return 0
}

func plaintextNamesFlags(c map[string]any) {
	var flags []any
	for _, f := range c["FeatureFlags"].([]any) {
		switch f {
		case "EMENames", "DirIV", "LongNames", "Raw64", "LongNameMax":
		default:
			flags = append(flags, f)
		}
	}
	c["FeatureFlags"] = append(flags, "PlaintextNames")
}

// TestRotateJournalTampering is issue 14's second finding: someone who
// can write CIPHERDIR but has no key changes the journal of an interrupted
// rotation. Resuming must refuse, say why, and leave CIPHERDIR as it was;
// in particular no journal may turn the tree to plaintext names or lower
// the scrypt cost.
func TestRotateJournalTampering(t *testing.T) {
	requireFUSE(t)
	cases := []struct {
		name   string
		tamper func(t *testing.T, dir string, ls journalLines)
		want   string // in the error
	}{
		{"header version", func(t *testing.T, dir string, ls journalLines) {
			ls.editBody(t, 0, func(h map[string]any) { h["Version"] = 3 })
			ls.write(t, dir)
		}, "version 3"},
		{"version 1 header", func(t *testing.T, dir string, ls journalLines) {
			writeJournal(t, dir, []byte(`{"Version":1,"NewKey":"AAAA","NewKeyID":"AAAA","Config":"e30="}`+"\n"))
		}, "version 1"},
		{"plaintext names", func(t *testing.T, dir string, ls journalLines) {
			ls.editConfig(t, "Config", plaintextNamesFlags)
			ls.write(t, dir)
		}, "changes more than rotate may"},
		{"plaintext names in both configs", func(t *testing.T, dir string, ls journalLines) {
			ls.editConfig(t, "Config", plaintextNamesFlags)
			ls.editConfig(t, "OldConfig", plaintextNamesFlags)
			ls.write(t, dir)
		}, "disagree"},
		{"scrypt N lowered", func(t *testing.T, dir string, ls journalLines) {
			ls.editConfig(t, "Config", func(c map[string]any) { c["ScryptObject"].(map[string]any)["N"] = 1024 })
			ls.write(t, dir)
		}, "lowers the scrypt cost"},
		{"xchacha added", func(t *testing.T, dir string, ls journalLines) {
			ls.editConfig(t, "Config", func(c map[string]any) {
				var flags []any
				for _, f := range c["FeatureFlags"].([]any) {
					if f != "GCMIV128" {
						flags = append(flags, f)
					}
				}
				c["FeatureFlags"] = append(flags, "XChaCha20Poly1305")
			})
			ls.write(t, dir)
		}, "does not authenticate"},
		{"creator", func(t *testing.T, dir string, ls journalLines) {
			ls.editConfig(t, "Config", func(c map[string]any) { c["Creator"] = "someone else" })
			ls.write(t, dir)
		}, "does not authenticate"},
		{"encrypted key", func(t *testing.T, dir string, ls journalLines) {
			other, err := config.New(make([]byte, cipher.MasterKeySize), password, config.CreateOptions{LogN: 11})
			must(t, err)
			ls.editConfig(t, "Config", func(c map[string]any) {
				c["EncryptedKey"] = other.EncryptedKey
				c["ScryptObject"].(map[string]any)["Salt"] = other.Scrypt.Salt
			})
			ls.write(t, dir)
		}, "does not authenticate"},
		{"old key", func(t *testing.T, dir string, ls journalLines) {
			ls.editBody(t, 0, func(h map[string]any) {
				b, _ := base64.StdEncoding.DecodeString(h["OldKey"].(string))
				b[20] ^= 1
				h["OldKey"] = b
			})
			ls.write(t, dir)
		}, "does not authenticate"},
		{"header MAC", func(t *testing.T, dir string, ls journalLines) {
			ls[0].MAC[0] ^= 1
			ls.write(t, dir)
		}, "does not authenticate"},
		{"times record", func(t *testing.T, dir string, ls journalLines) {
			ls.editBody(t, ls.findRecord(t, "times"), func(r map[string]any) {
				for k := range r["Dirs"].(map[string]any) {
					r["Dirs"].(map[string]any)[k] = []any{0, 0, 0, 0}
				}
			})
			ls.write(t, dir)
		}, "line 2 does not authenticate"},
		{"plan entry name", func(t *testing.T, dir string, ls journalLines) {
			ls.editBody(t, ls.findRecord(t, "plan"), func(r map[string]any) {
				e := r["Entries"].([]any)[0].(map[string]any)
				e["New"] = "AAAAAAAAAAAAAAAAAAAAAA"
			})
			ls.write(t, dir)
		}, "does not authenticate"},
		{"plan entry path escape", func(t *testing.T, dir string, ls journalLines) {
			ls.editBody(t, ls.findRecord(t, "plan"), func(r map[string]any) {
				r["Entries"].([]any)[0].(map[string]any)["New"] = "../../etc"
			})
			ls.write(t, dir)
		}, "does not authenticate"},
		{"plan directory", func(t *testing.T, dir string, ls journalLines) {
			ls.editBody(t, ls.findRecord(t, "plan"), func(r map[string]any) { r["Ino"] = r["Ino"].(float64) + 1 })
			ls.write(t, dir)
		}, "does not authenticate"},
		{"record type", func(t *testing.T, dir string, ls journalLines) {
			ls.editBody(t, ls.findRecord(t, "plan"), func(r map[string]any) { r["T"] = "done" })
			ls.write(t, dir)
		}, "does not authenticate"},
		{"records reordered", func(t *testing.T, dir string, ls journalLines) {
			ls[1], ls[2] = ls[2], ls[1]
			ls.write(t, dir)
		}, "line 2 does not authenticate"},
		{"record removed", func(t *testing.T, dir string, ls journalLines) {
			slices.Delete(ls, 1, 2).write(t, dir)
		}, "line 2 does not authenticate"},
		{"record appended", func(t *testing.T, dir string, ls journalLines) {
			body, err := json.Marshal(record{T: "done", Ino: 1})
			must(t, err)
			append(ls, line{Body: body, MAC: make([]byte, sha256.Size)}).write(t, dir)
		}, "does not authenticate"},
		{"record replayed", func(t *testing.T, dir string, ls journalLines) {
			append(ls, ls[len(ls)-1]).write(t, dir)
		}, "does not authenticate"},
		{"header truncated", func(t *testing.T, dir string, ls journalLines) {
			b, err := json.Marshal(ls[0])
			must(t, err)
			writeJournal(t, dir, b[:len(b)/2])
		}, "no complete header"},
		{"symlink", func(t *testing.T, dir string, ls journalLines) {
			p := filepath.Join(dir, JournalName)
			must(t, os.Rename(p, p+".real"))
			must(t, os.Symlink(JournalName+".real", p))
		}, "symbolic link"},
		{"fifo", func(t *testing.T, dir string, ls journalLines) {
			p := filepath.Join(dir, JournalName)
			must(t, os.Remove(p))
			must(t, unix.Mkfifo(p, 0o600))
		}, "not a regular file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// LogN 11, so that lowering N to 1024 stays a valid config.
			dir, _, _ := interrupted(t, config.CreateOptions{}, "rename", 11)
			c.tamper(t, dir, readLines(t, dir))
			before := fingerprint(t, dir)
			err := resumeAsTheCLI(t, dir)
			if err == nil || !errors.Is(err, ErrJournalInvalid) && !errors.Is(err, ErrJournalVersion) && !errors.Is(err, config.ErrWrongPassword) {
				t.Fatalf("resume after tampering: got %v, want a refusal", err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not say %q", err, c.want)
			}
			compare(t, before, fingerprint(t, dir))
		})
	}
}

// resumeAsTheCLI does what veilfs rotate does: Pending, unlock its target
// with the password, Run.
func resumeAsTheCLI(t *testing.T, dir string) error {
	t.Helper()
	conf := loadConf(t, dir)
	target, err := Pending(dir, conf)
	if err != nil {
		return err
	}
	key, err := target.UnlockMasterKey(password)
	if err != nil {
		return err
	}
	defer cipher.Wipe(key)
	_, err = Run(dir, conf, key, Options{Wrap: wrapWith(password)})
	return err
}

// TestRotateJournalTornRecordResumes: a last line without its newline is
// what a crash during an append leaves; it is cut off and the rotation
// finishes, as before the journal was authenticated.
func TestRotateJournalTornRecordResumes(t *testing.T) {
	requireFUSE(t)
	dir, oldMaster, before := interrupted(t, config.CreateOptions{}, "rename", 10)
	f, err := os.OpenFile(filepath.Join(dir, JournalName), os.O_WRONLY|os.O_APPEND, 0)
	must(t, err)
	_, err = f.WriteString(`{"Body":{"T":"done","Ino":`)
	must(t, err)
	must(t, f.Close())
	conf, key := unlockForRun(t, dir)
	res, err := Run(dir, conf, key, Options{Wrap: wrapWith(password)})
	must(t, err)
	checkRotated(t, dir, oldMaster, res.NewMaster, before)
}

// TestRotateResumeWithNewPassword: a rotation given a new password resumes
// with that password only; the old password opens the old key, which
// resumes nothing.
func TestRotateResumeWithNewPassword(t *testing.T) {
	requireFUSE(t)
	dir, oldMaster, before := newVolume(t, config.CreateOptions{}, true)
	newPw := []byte("a new password")
	errStop := errors.New("injected stop")
	_, err := Run(dir, loadConf(t, dir), oldMaster, Options{
		Wrap: wrapWith(newPw),
		fault: func(step string) error {
			if step == "dirdone" {
				return errStop
			}
			return nil
		},
	})
	if !errors.Is(err, errStop) {
		t.Fatalf("rotation did not stop: %v", err)
	}
	conf := loadConf(t, dir)
	target, err := Pending(dir, conf)
	must(t, err)
	if _, err := target.UnlockMasterKey(password); !errors.Is(err, config.ErrWrongPassword) {
		t.Fatalf("the old password opens the journal: %v", err)
	}
	old, err := conf.UnlockMasterKey(password)
	must(t, err)
	if _, err := Run(dir, conf, old, Options{Wrap: wrapWith(password)}); !errors.Is(err, ErrJournalInvalid) {
		t.Fatalf("resume with the old key: got %v, want ErrJournalInvalid", err)
	}
	key, err := target.UnlockMasterKey(newPw)
	must(t, err)
	res, err := Run(dir, conf, key, Options{Wrap: wrapWith(password)})
	must(t, err)
	final := loadConf(t, dir)
	mk, err := final.UnlockMasterKey(newPw)
	must(t, err)
	if !bytes.Equal(mk, res.NewMaster) {
		t.Fatal("the new password does not open the new key")
	}
	compare(t, before, snapshot(t, dir, mk, true))
}

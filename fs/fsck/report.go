package fsck

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Kind identifies a problem. The strings are part of the --json contract:
// a kind is never renamed or given another meaning; new kinds may appear.
type Kind string

const (
	// The config.
	BadConfig   Kind = "bad-config"           // gocryptfs.conf does not parse or breaks a rule of FORMAT §2.1
	BadUnlocker Kind = "bad-unlocker"         // an extra unlocker's entry does not authenticate with the master key
	Rotating    Kind = "rotation-in-progress" // a veilfs rotate was interrupted; fsck stops

	// Directory IVs (FORMAT §5.1).
	MissingDirIV Kind = "missing-diriv"
	BadDirIV     Kind = "bad-diriv" // wrong size, all zero, not a regular file
	DupDirIV     Kind = "dup-diriv" // the same IV as another directory

	// Names (FORMAT §5, §8).
	BadName       Kind = "bad-name"       // does not decrypt to a valid name, and is no conflict copy
	BadSidecar    Kind = "bad-sidecar"    // a long name whose .name sidecar is missing or does not match
	OrphanSidecar Kind = "orphan-sidecar" // a .name sidecar without its long-name entry
	ConflictCopy  Kind = "conflict-copy"  // a sync client's conflict copy (info)

	// A sync client's own file or folder (.stfolder, .syncthing.*.tmp,
	// desktop.ini, ...; info): left alone, never descended into.
	SyncClientFile Kind = "sync-client-file"

	// Content (FORMAT §4), symlinks (§6), xattrs (§7).
	BadHeader  Kind = "bad-header" // shorter than 18 bytes, or a header a reader must reject
	BadBlock   Kind = "bad-block"  // content blocks that do not authenticate
	Truncated  Kind = "truncated"  // the last block is too short to hold any data
	BadSymlink Kind = "bad-symlink"
	BadXattr   Kind = "bad-xattr"

	// Our own files.
	EmptyLeftover     Kind = "empty-leftover"     // a zero-length temporary left by a crash
	Leftover          Kind = "leftover"           // any other file with a reserved gocryptfs.* name that does not belong there
	InterruptedRepair Kind = "interrupted-repair" // an fsck --repair stopped while re-encrypting a directory's names

	// Anything fsck could not look at (permissions, I/O errors).
	Unreadable Kind = "unreadable"

	// An entry in a quarantine directory that a repair made (info).
	Quarantined Kind = "quarantined"
)

// Severity says whether a problem counts: errors make fsck exit 26 unless
// repaired, infos are reported and change nothing.
type Severity string

const (
	Error Severity = "error"
	Info  Severity = "info"
)

// Severity returns the severity of problems of kind k.
func (k Kind) Severity() Severity {
	switch k {
	case ConflictCopy, Quarantined, SyncClientFile:
		return Info
	}
	return Error
}

// Problem is one finding. CipherPath is relative to CIPHERDIR ("." for
// CIPHERDIR itself); PlainPath is the path in the mounted volume, relative
// to its root, or "" when it is not known (a name that does not decrypt, or
// one below it).
type Problem struct {
	Kind       Kind     `json:"kind"`
	Severity   Severity `json:"severity"`
	CipherPath string   `json:"cipher_path"`
	PlainPath  string   `json:"plain_path"`
	Detail     string   `json:"detail"`
	// Block is the first bad block of a bad-block problem (numbered from
	// 0, FORMAT §4.2); Detail lists all of them.
	Block *uint64 `json:"block,omitempty"`
	// Repaired is set when --repair fixed the problem; Action then says
	// how ("moved to /veilfs-quarantine-…/…", "removed").
	Repaired bool   `json:"repaired"`
	Action   string `json:"action,omitempty"`
}

// Summary is the report's last part.
type Summary struct {
	// Clean: no error is left (none found, or --repair fixed them all).
	Clean bool `json:"clean"`
	// Complete: the whole volume was checked. A damaged config or an
	// unfinished rotation stops fsck before the files; Stopped says why.
	Complete bool   `json:"complete"`
	Stopped  string `json:"stopped,omitempty"`
	// Repair: --repair was given.
	Repair bool `json:"repair"`

	Errors     int `json:"errors"`
	Infos      int `json:"infos"`
	Repaired   int `json:"repaired"`
	Unrepaired int `json:"unrepaired"`

	Dirs     int64 `json:"dirs"`
	Files    int64 `json:"files"`
	Symlinks int64 `json:"symlinks"`
	Other    int64 `json:"other"` // FIFOs, sockets, device nodes: nothing to check
	Bytes    int64 `json:"bytes"` // ciphertext bytes of the files read

	// Quarantine is the plaintext path of the directory this run moved
	// broken entries into, "" if it made none.
	Quarantine string `json:"quarantine,omitempty"`
}

// ReportVersion is the version of the JSON document; it changes only if a
// field changes meaning or disappears.
const ReportVersion = 1

// Report is everything fsck found. Its JSON form (WriteJSON) is the stable
// machine-readable document of `veilfs fsck --json`.
type Report struct {
	Version   int       `json:"version"`
	Cipherdir string    `json:"cipherdir"`
	Problems  []Problem `json:"problems"`
	Summary   Summary   `json:"summary"`
}

func newReport(dir string, repair bool) *Report {
	return &Report{Version: ReportVersion, Cipherdir: dir, Problems: []Problem{},
		Summary: Summary{Complete: true, Repair: repair}}
}

// StoppedReport is the report of an fsck that could not go past the
// config: p says why (a BadConfig or Rotating problem).
func StoppedReport(dir string, repair bool, p Problem) *Report {
	r := newReport(dir, repair)
	r.add(p)
	r.Summary.Complete = false
	r.Summary.Stopped = "nothing else was checked"
	r.finish()
	return r
}

func (r *Report) add(p Problem) int {
	p.Severity = p.Kind.Severity()
	if p.CipherPath == "" {
		p.CipherPath = "."
	}
	r.Problems = append(r.Problems, p)
	return len(r.Problems) - 1
}

// finish computes the counts of the summary.
func (r *Report) finish() {
	s := &r.Summary
	s.Errors, s.Infos, s.Repaired, s.Unrepaired = 0, 0, 0, 0
	for _, p := range r.Problems {
		switch {
		case p.Severity == Info:
			s.Infos++
		case p.Repaired:
			s.Errors++
			s.Repaired++
		default:
			s.Errors++
			s.Unrepaired++
		}
	}
	s.Clean = s.Unrepaired == 0 && s.Complete
}

// WriteJSON writes the report as one indented JSON document.
func (r *Report) WriteJSON(w io.Writer) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// WriteText writes one line per problem, then a summary line starting with
// "fsck summary:", as gocryptfs -fsck ends. Paths that hold control
// characters, spaces at either end or invalid UTF-8 are quoted, so that
// every problem stays on one line whatever the names are.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	for _, p := range r.Problems {
		b.WriteString(FormatProblem(p, r.Summary.Repair))
		b.WriteByte('\n')
	}
	b.WriteString(FormatSummary(r.Summary))
	b.WriteByte('\n')
	_, err := io.WriteString(w, b.String())
	return err
}

// FormatProblem is the one-line form of p:
//
//	error bad-block: CIPHER_PATH (PLAIN_PATH): DETAIL; not repaired
//	info conflict-copy: CIPHER_PATH (PLAIN_PATH): DETAIL
//
// The plaintext path is left out when it is not known; "; repaired: ACTION"
// or "; not repaired" follow for errors when --repair was given.
func FormatProblem(p Problem, repair bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: %s", p.Severity, p.Kind, quotePath(p.CipherPath))
	if p.PlainPath != "" {
		fmt.Fprintf(&b, " (%s)", quotePath(p.PlainPath))
	}
	b.WriteString(": ")
	b.WriteString(oneLine(p.Detail))
	switch {
	case p.Repaired:
		b.WriteString("; repaired: " + oneLine(p.Action))
	case repair && p.Severity == Error:
		b.WriteString("; not repaired")
	}
	return b.String()
}

// FormatSummary is the summary line.
func FormatSummary(s Summary) string {
	var b strings.Builder
	b.WriteString("fsck summary: ")
	switch {
	case s.Errors == 0:
		b.WriteString("no problems found")
	case s.Repair:
		fmt.Fprintf(&b, "%s, %d repaired, %d not repaired", plural(s.Errors, "problem"), s.Repaired, s.Unrepaired)
	default:
		b.WriteString(plural(s.Errors, "problem"))
	}
	if s.Infos > 0 {
		fmt.Fprintf(&b, " (and %s)", plural(s.Infos, "note"))
	}
	if !s.Complete {
		b.WriteString("; " + oneLine(s.Stopped))
	} else {
		fmt.Fprintf(&b, "; checked %s, %s, %s (%s)", plural64(s.Dirs, "directory"), plural64(s.Files, "file"),
			plural64(s.Symlinks, "symlink"), sizeString(s.Bytes))
	}
	if s.Quarantine != "" {
		fmt.Fprintf(&b, "; broken entries moved to /%s", quotePath(s.Quarantine))
	}
	return b.String()
}

func plural(n int, word string) string { return plural64(int64(n), word) }

func plural64(n int64, word string) string {
	if n == 1 {
		return "1 " + word
	}
	if w, ok := strings.CutSuffix(word, "y"); ok {
		return fmt.Sprintf("%d %sies", n, w)
	}
	return fmt.Sprintf("%d %ss", n, word)
}

func sizeString(n int64) string {
	switch {
	case n < 1000:
		return fmt.Sprintf("%d bytes", n)
	case n < 1000*1000:
		return fmt.Sprintf("%.1f kB", float64(n)/1e3)
	case n < 1000*1000*1000:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	}
	return fmt.Sprintf("%.1f GB", float64(n)/1e9)
}

// quotePath returns s as it is when it prints safely on one line, else
// Go-quoted (which escapes newlines, control characters and invalid UTF-8).
func quotePath(s string) string {
	if s == "" {
		return `""`
	}
	if !utf8.ValidString(s) || strings.TrimSpace(s) != s || strings.HasPrefix(s, `"`) {
		return strconv.Quote(s)
	}
	for _, r := range s {
		if !unicode.IsPrint(r) && r != ' ' {
			return strconv.Quote(s)
		}
	}
	return s
}

// oneLine keeps free text (details: error messages, which can hold names)
// on one line.
func oneLine(s string) string {
	if !strings.ContainsAny(s, "\n\r") {
		return s
	}
	return strings.NewReplacer("\n", `\n`, "\r", `\r`).Replace(s)
}

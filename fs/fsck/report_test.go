package fsck

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestFormatProblem(t *testing.T) {
	tests := []struct {
		name   string
		p      Problem
		repair bool
		want   string
	}{
		{"error with both paths",
			Problem{Kind: BadHeader, Severity: Error, CipherPath: "abc/def", PlainPath: "docs/a.txt", Detail: "header version 3, want 2"},
			false, "error bad-header: abc/def (docs/a.txt): header version 3, want 2"},
		{"plain path unknown",
			Problem{Kind: BadName, Severity: Error, CipherPath: "abc/x!", Detail: "the name does not decrypt"},
			false, "error bad-name: abc/x!: the name does not decrypt"},
		{"repaired",
			Problem{Kind: BadName, Severity: Error, CipherPath: "x", Detail: "d", Repaired: true, Action: "moved to /q/x"},
			true, "error bad-name: x: d; repaired: moved to /q/x"},
		{"not repaired",
			Problem{Kind: BadBlock, Severity: Error, CipherPath: "x", PlainPath: "f", Detail: "1 of 2 blocks do not authenticate (block 1)"},
			true, "error bad-block: x (f): 1 of 2 blocks do not authenticate (block 1); not repaired"},
		{"info is never 'not repaired'",
			Problem{Kind: ConflictCopy, Severity: Info, CipherPath: "x (conflicted copy 2026-11-27)", PlainPath: "a (conflict 2026-11-27).txt", Detail: "d"},
			true, "info conflict-copy: x (conflicted copy 2026-11-27) (a (conflict 2026-11-27).txt): d"},
		{"a newline in a name stays on one line",
			Problem{Kind: BadHeader, Severity: Error, CipherPath: "x", PlainPath: "two\nlines", Detail: "a\nb"},
			false, `error bad-header: x ("two\nlines"): a\nb`},
		{"invalid UTF-8 and spaces at the ends are quoted",
			Problem{Kind: BadHeader, Severity: Error, CipherPath: "x", PlainPath: " a\xff", Detail: "d"},
			false, `error bad-header: x (" a\xff"): d`},
		{"the root",
			Problem{Kind: MissingDirIV, Severity: Error, CipherPath: ".", PlainPath: ".", Detail: "d"},
			false, "error missing-diriv: . (.): d"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := FormatProblem(tt.p, tt.repair); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestFormatSummary(t *testing.T) {
	tests := []struct {
		name string
		s    Summary
		want string
	}{
		{"clean", Summary{Complete: true, Clean: true, Dirs: 1, Files: 2, Symlinks: 1, Bytes: 999},
			"fsck summary: no problems found; checked 1 directory, 2 files, 1 symlink (999 bytes)"},
		{"clean with notes", Summary{Complete: true, Clean: true, Infos: 1, Dirs: 3, Files: 1, Bytes: 1500},
			"fsck summary: no problems found (and 1 note); checked 3 directories, 1 file, 0 symlinks (1.5 kB)"},
		{"problems", Summary{Complete: true, Errors: 2, Unrepaired: 2, Dirs: 2, Files: 5, Bytes: 2_500_000},
			"fsck summary: 2 problems; checked 2 directories, 5 files, 0 symlinks (2.5 MB)"},
		{"repair", Summary{Complete: true, Repair: true, Errors: 3, Repaired: 2, Unrepaired: 1, Dirs: 1, Quarantine: "veilfs-quarantine-20261127-101500"},
			"fsck summary: 3 problems, 2 repaired, 1 not repaired; checked 1 directory, 0 files, 0 symlinks (0 bytes); " +
				"broken entries moved to /veilfs-quarantine-20261127-101500"},
		{"stopped", Summary{Errors: 1, Unrepaired: 1, Stopped: "nothing else was checked: x"},
			"fsck summary: 1 problem; nothing else was checked: x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := FormatSummary(tt.s); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

// The JSON document has the documented fields, problems is an array even
// when empty, and block appears only for bad blocks.
func TestReportJSON(t *testing.T) {
	r := newReport("/v", false)
	r.finish()
	var buf bytes.Buffer
	r.WriteJSON(&buf)
	if !strings.Contains(buf.String(), `"problems": []`) {
		t.Errorf("empty report: %s", buf.String())
	}

	r = newReport("/v", true)
	b := uint64(7)
	r.add(Problem{Kind: BadBlock, CipherPath: "x", PlainPath: "f", Detail: "d", Block: &b})
	i := r.add(Problem{Kind: BadName, CipherPath: "y", Detail: "d"})
	r.Problems[i].Repaired, r.Problems[i].Action = true, "moved to /q/y"
	r.add(Problem{Kind: ConflictCopy, CipherPath: "", Detail: "d"})
	r.finish()
	buf.Reset()
	if err := r.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Version   int
		Cipherdir string
		Problems  []map[string]any
		Summary   map[string]any
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Version != ReportVersion || doc.Cipherdir != "/v" || len(doc.Problems) != 3 {
		t.Fatalf("document %s", buf.String())
	}
	for _, f := range []string{"kind", "severity", "cipher_path", "plain_path", "detail", "repaired"} {
		for _, p := range doc.Problems {
			if _, ok := p[f]; !ok {
				t.Errorf("problem lacks %q: %v", f, p)
			}
		}
	}
	if doc.Problems[0]["block"] != float64(7) || doc.Problems[1]["block"] != nil {
		t.Errorf("block: %v, %v", doc.Problems[0]["block"], doc.Problems[1]["block"])
	}
	if doc.Problems[2]["cipher_path"] != "." || doc.Problems[2]["severity"] != "info" {
		t.Errorf("root or severity: %v", doc.Problems[2])
	}
	s := doc.Summary
	if s["errors"] != float64(2) || s["repaired"] != float64(1) || s["unrepaired"] != float64(1) || s["infos"] != float64(1) ||
		s["clean"] != false || s["complete"] != true || s["repair"] != true {
		t.Errorf("summary %v", s)
	}
}

func TestBlockRanges(t *testing.T) {
	tests := []struct {
		in   []uint64
		want string
	}{
		{[]uint64{3}, "block 3"},
		{[]uint64{0, 1, 2}, "blocks 0-2"},
		{[]uint64{3, 7, 8, 9, 12}, "blocks 3, 7-9, 12"},
	}
	for _, tt := range tests {
		if got := blockRanges(tt.in); got != tt.want {
			t.Errorf("blockRanges(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
	var many []uint64
	for i := uint64(0); i < 100; i += 2 {
		many = append(many, i)
	}
	if got := blockRanges(many); strings.Count(got, ",") != maxListedRanges || !strings.HasSuffix(got, "…") {
		t.Errorf("blockRanges of 50 ranges = %q", got)
	}
}

func TestQuarantineName(t *testing.T) {
	long := strings.Repeat("é", 200) // 400 bytes
	tests := []struct {
		from, want string
	}{
		{"a.txt", "a.txt"},
		{"docs/a.txt", "docs%2Fa.txt"},
		{"100%/b", "100%25%2Fb"},
		{"dir/Xq1!broken", "dir%2FXq1!broken"},
		{long, "…" + strings.Repeat("é", 126)},
	}
	for _, tt := range tests {
		if got := QuarantineName(tt.from); got != tt.want {
			t.Errorf("QuarantineName(%q) = %q, want %q", tt.from, got, tt.want)
		}
	}
	if got := withSuffix("a.txt", 3); got != "a.txt~3" {
		t.Errorf("withSuffix = %q", got)
	}
	if got := withSuffix(QuarantineName(long), 2); len(got) > 255 || !strings.HasSuffix(got, "é~2") {
		t.Errorf("withSuffix of a long name = %q (%d bytes)", got, len(got))
	}
	for _, n := range []string{"veilfs-quarantine-20261127-101500", "veilfs-quarantine-20261127-101500-2"} {
		if !isQuarantineName(n) {
			t.Errorf("%s is not taken for a quarantine directory", n)
		}
	}
	for _, n := range []string{"veilfs-quarantine-", "veilfs-quarantine-2026", "my veilfs-quarantine-20261127-101500"} {
		if isQuarantineName(n) {
			t.Errorf("%s is taken for a quarantine directory", n)
		}
	}
}

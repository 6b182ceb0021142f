package main

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
)

func TestReadSecretLine(t *testing.T) {
	tests := []struct {
		in, want string
		err      error
	}{
		{"secret\n", "secret", nil},
		{"secret", "secret", nil},
		{"secret\nrest\n", "secret", nil},
		{"secret\r\n", "secret\r", nil}, // kept, as gocryptfs does
		{"\n", "", nil},
		{"", "", io.EOF},
		{"  spaces  \n", "  spaces  ", nil},
	}
	for _, tt := range tests {
		got, err := readSecretLine(strings.NewReader(tt.in))
		if !errors.Is(err, tt.err) || string(got) != tt.want {
			t.Errorf("readSecretLine(%q) = %q, %v; want %q, %v", tt.in, got, err, tt.want, tt.err)
		}
	}
	// One byte at a time: the rest stays in the reader for the next line.
	r := strings.NewReader("old\nnew\n")
	a, _ := readSecretLine(r)
	b, _ := readSecretLine(r)
	if string(a) != "old" || string(b) != "new" {
		t.Errorf("two lines: %q, %q", a, b)
	}
	if _, err := readSecretLine(strings.NewReader(strings.Repeat("x", maxSecretLine+1))); err == nil {
		t.Error("over-long line accepted")
	}
	if got, err := readSecretLine(strings.NewReader(strings.Repeat("x", maxSecretLine))); err != nil || len(got) != maxSecretLine {
		t.Errorf("line of exactly the limit: %d bytes, %v", len(got), err)
	}
	if _, err := readSecretLine(iotest.ErrReader(errors.New("boom"))); err == nil || errors.Is(err, io.EOF) {
		t.Errorf("read error: %v", err)
	}
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestReadPasswordSources(t *testing.T) {
	tests := []struct {
		name   string
		flags  passwordFlags
		stdin  string
		want   string
		code   int // when non-zero: the expected exit code of the error
		errSub string
	}{
		{name: "passfile", flags: passwordFlags{passfile: writeFile(t, "pw1\nignored\n")}, want: "pw1"},
		{name: "passfile no newline", flags: passwordFlags{passfile: writeFile(t, "pw1")}, want: "pw1"},
		{name: "passfile wins over stdin", flags: passwordFlags{passfile: writeFile(t, "pw1\n")}, stdin: "stdin\n", want: "pw1"},
		{name: "passfile empty", flags: passwordFlags{passfile: writeFile(t, "")}, code: exitEmptyPassword},
		{name: "passfile empty line", flags: passwordFlags{passfile: writeFile(t, "\nsecond\n")}, code: exitEmptyPassword},
		{name: "passfile missing", flags: passwordFlags{passfile: "/nonexistent/pw"}, code: exitReadPassword, errSub: "open passfile"},
		{name: "extpass", flags: passwordFlags{extpass: "echo pw2"}, want: "pw2"},
		{name: "extpass shell syntax", flags: passwordFlags{extpass: `printf '%s\n%s\n' "a b" c | head -n 2`}, want: "a b"},
		{name: "extpass no newline", flags: passwordFlags{extpass: "printf pw3"}, want: "pw3"},
		{name: "extpass fails", flags: passwordFlags{extpass: "echo pw; exit 3"}, code: exitReadPassword, errSub: "extpass command"},
		{name: "extpass empty", flags: passwordFlags{extpass: "true"}, code: exitEmptyPassword},
		{name: "extpass has no stdin", flags: passwordFlags{extpass: "cat"}, stdin: "stdin\n", code: exitEmptyPassword},
		{name: "stdin", stdin: "pw4\nnext\n", want: "pw4"},
		{name: "stdin no newline", stdin: "pw4", want: "pw4"},
		{name: "stdin empty", stdin: "", code: exitEmptyPassword, errSub: "standard input is empty"},
		{name: "stdin empty line", stdin: "\n", code: exitEmptyPassword},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _, _ := testCLI(tt.stdin)
			pw, err := c.readPassword(&tt.flags, "Password: ", false)
			if tt.code != 0 {
				if code := exitCode(err); code != tt.code {
					t.Fatalf("err = %v (exit %d), want exit %d", err, code, tt.code)
				}
				if !strings.Contains(err.Error(), tt.errSub) {
					t.Errorf("err = %q, want it to contain %q", err, tt.errSub)
				}
				return
			}
			if err != nil || string(pw) != tt.want {
				t.Errorf("got %q, %v; want %q", pw, err, tt.want)
			}
		})
	}
}

func TestReadPasswordTerminal(t *testing.T) {
	c, prompts := terminalCLI("pw", "pw")
	pw, err := c.readPassword(&passwordFlags{}, "Password: ", true)
	if err != nil || string(pw) != "pw" || len(*prompts) != 2 {
		t.Errorf("twice: %q, %v, prompts %q", pw, err, *prompts)
	}

	c, _ = terminalCLI("pw", "other")
	_, err = c.readPassword(&passwordFlags{}, "Password: ", true)
	if exitCode(err) != exitReadPassword || !strings.Contains(err.Error(), "do not match") {
		t.Errorf("mismatch: %v (exit %d)", err, exitCode(err))
	}

	c, prompts = terminalCLI("pw")
	pw, err = c.readPassword(&passwordFlags{}, "Password: ", false)
	if err != nil || string(pw) != "pw" || len(*prompts) != 1 {
		t.Errorf("once: %q, %v, prompts %q", pw, err, *prompts)
	}

	// An empty first answer is not asked again.
	c, prompts = terminalCLI("")
	_, err = c.readPassword(&passwordFlags{}, "Password: ", true)
	if exitCode(err) != exitEmptyPassword || len(*prompts) != 1 {
		t.Errorf("empty: %v (exit %d), prompts %q", err, exitCode(err), *prompts)
	}

	// --passfile wins over the terminal.
	c, prompts = terminalCLI("terminal")
	pw, err = c.readPassword(&passwordFlags{passfile: writeFile(t, "file\n")}, "Password: ", true)
	if err != nil || string(pw) != "file" || len(*prompts) != 0 {
		t.Errorf("passfile on a terminal: %q, %v, prompts %q", pw, err, *prompts)
	}
}

func TestReadNewPassword(t *testing.T) {
	// Old password on line 1 of stdin, new one on line 2.
	c, _, _ := testCLI("old\nnew\n")
	old, err := c.readPassword(&passwordFlags{}, "Old password: ", false)
	if err != nil || string(old) != "old" {
		t.Fatalf("old: %q, %v", old, err)
	}
	nw, err := c.readNewPassword("")
	if err != nil || string(nw) != "new" {
		t.Fatalf("new: %q, %v", nw, err)
	}

	c, _, _ = testCLI("old\n")
	_, _ = c.readPassword(&passwordFlags{}, "", false)
	if _, err := c.readNewPassword(""); exitCode(err) != exitEmptyPassword {
		t.Errorf("missing second line: %v (exit %d)", err, exitCode(err))
	}

	c, _, _ = testCLI("ignored\n")
	if nw, err := c.readNewPassword(writeFile(t, "fromfile\n")); err != nil || string(nw) != "fromfile" {
		t.Errorf("--new-passfile: %q, %v", nw, err)
	}

	c, prompts := terminalCLI("a", "a")
	if nw, err := c.readNewPassword(""); err != nil || string(nw) != "a" || len(*prompts) != 2 {
		t.Errorf("terminal: %q, %v, %q", nw, err, *prompts)
	}
}

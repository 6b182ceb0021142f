package main

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/veilfs/veilfs/cipher/config"
	"github.com/veilfs/veilfs/fs/cipherdir"
)

func TestExitCode(t *testing.T) {
	wrap := func(err error) error { return fmt.Errorf("open volume /x: %w", err) }
	tests := []struct {
		name string
		err  error
		code int
	}{
		{"nil", nil, 0},
		{"help", errHelpShown, 0},
		{"plain error", errors.New("boom"), exitOther},
		{"usage", fail(errUsage, errors.New("x")), exitUsage},
		{"wrong password", config.ErrWrongPassword, exitWrongPassword},
		{"wrong password wrapped", wrap(config.ErrWrongPassword), exitWrongPassword},
		// A wrong password found while mounting is 12, not 3.
		{"wrong password in mount", fail(errMountFailed, wrap(config.ErrWrongPassword)), exitWrongPassword},
		{"empty password (config)", wrap(config.ErrEmptyPassword), exitEmptyPassword},
		{"empty password (cli)", fail(errEmptyPassword, errors.New("x")), exitEmptyPassword},
		{"password too long", wrap(config.ErrPasswordTooLong), exitReadPassword},
		{"read password", fail(errReadPassword, errors.New("x")), exitReadPassword},
		{"unsupported feature", wrap(&config.UnsupportedFeatureError{Flag: "FIDO2"}), exitOpenConf},
		{"unsupported feature in mount", fail(errMountFailed, wrap(&config.UnsupportedFeatureError{Flag: "FIDO2"})), exitOpenConf},
		{"not empty (cipherdir)", wrap(cipherdir.ErrNotEmpty), exitCipherDir},
		{"not empty in init", fail(errInitFailed, wrap(cipherdir.ErrNotEmpty)), exitCipherDir},
		{"mount", fail(errMountFailed, errors.New("x")), exitMount},
		{"cipherdir", fail(errCipherDir, errors.New("x")), exitCipherDir},
		{"init", fail(errInitFailed, errors.New("x")), exitInit},
		{"mountpoint", fail(errMountPoint, errors.New("x")), exitMountPoint},
		{"master key", fail(errMasterKey, errors.New("x")), exitMasterKey},
		{"open conf", fail(errOpenConf, errors.New("x")), exitOpenConf},
		{"write conf", fail(errWriteConf, errors.New("x")), exitWriteConf},
		{"unmount", fail(errUnmount, errors.New("x")), exitUnmount},
		{"fsck", fail(errFsck, errors.New("x")), exitFsck},
		{"reported by daemon", &reportedError{code: 12}, 12},
		{"hint only keeps library class", fail(nil, wrap(config.ErrWrongPassword), "h"), exitWrongPassword},
		{"wrapped class", fmt.Errorf("ctx: %w", fail(errWriteConf, errors.New("x"))), exitWriteConf},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := exitCode(tt.err); got != tt.code {
				t.Errorf("exitCode(%v) = %d, want %d", tt.err, got, tt.code)
			}
		})
	}
}

// The help text and the constants must agree.
func TestExitCodeHelpListsEveryCode(t *testing.T) {
	codes := []int{exitOK, exitUsage, exitMount, exitCipherDir, exitInit, exitReadPassword, exitMountPoint,
		exitOther, exitWrongPassword, exitMasterKey, exitEmptyPassword, exitOpenConf, exitWriteConf, exitUnmount, exitFsck, exitRotating}
	sameCodes(t, "exitCodeHelp", codes, helpExitCodes())
	for _, e := range exitCodes {
		if e.code == 2 {
			t.Error("exit code 2 is Go's panic code")
		}
	}
}

// helpExitCodes returns the codes 'veilfs help exit-codes' explains.
func helpExitCodes() map[int]bool {
	listed := map[int]bool{}
	for _, m := range regexp.MustCompile(`(?m)^ +(\d+)  `).FindAllStringSubmatch(exitCodeHelp, -1) {
		n, _ := strconv.Atoi(m[1])
		listed[n] = true
	}
	return listed
}

// sameCodes checks that a help text (what) lists the codes want, and no
// other.
func sameCodes(t *testing.T, what string, want []int, listed map[int]bool) {
	t.Helper()
	for _, c := range want {
		if !listed[c] {
			t.Errorf("%s does not list exit code %d", what, c)
		}
		delete(listed, c)
	}
	for c := range listed {
		t.Errorf("%s lists exit code %d, which it should not", what, c)
	}
}

func TestReportMessages(t *testing.T) {
	var b strings.Builder
	report(&b, fail(errMountFailed, fmt.Errorf("open volume /x: unlock master key: %w", config.ErrWrongPassword)))
	want := "veilfs: error: wrong password\nveilfs: hint: " + wrongPasswordHint + "\n"
	if b.String() != want {
		t.Errorf("report = %q, want %q", b.String(), want)
	}

	b.Reset()
	report(&b, failf(errUnmount, []string{"first", "second"}, "cannot unmount %s", "/m"))
	want = "veilfs: error: cannot unmount /m\nveilfs: hint: first\nveilfs: hint: second\n"
	if b.String() != want {
		t.Errorf("report = %q, want %q", b.String(), want)
	}

	b.Reset()
	report(&b, fmt.Errorf("load: %w", &config.UnsupportedFeatureError{Flag: "FIDO2"}))
	if !strings.Contains(b.String(), "FIDO2") || !strings.Contains(b.String(), "veilfs: hint: ") {
		t.Errorf("unsupported feature report does not name the flag or hint: %q", b.String())
	}
}

// usageExitCodes returns the numbers in the "Exit codes:" paragraph of a
// command's help (every number there is meant as an exit code), or an
// empty map when it has none.
func usageExitCodes(t *testing.T, usage string) map[int]bool {
	t.Helper()
	codes := map[int]bool{}
	_, para, ok := strings.Cut(usage, "\nExit codes:")
	if !ok {
		return codes
	}
	para, _, _ = strings.Cut(para, "\n\n")
	for _, m := range regexp.MustCompile(`\b\d+\b`).FindAllString(para, -1) {
		n, _ := strconv.Atoi(m)
		codes[n] = true
	}
	return codes
}

// Every number a command's help gives as an exit code is one that
// 'veilfs help exit-codes' explains.
func TestUsageExitCodesAreDefined(t *testing.T) {
	defined := helpExitCodes()
	var all []*command
	for _, cmd := range commands() {
		all = append(all, cmd)
		all = append(all, cmd.subcommands...)
	}
	for _, cmd := range all {
		for code := range usageExitCodes(t, cmd.usage) {
			if !defined[code] {
				t.Errorf("the help of %s gives %d as an exit code, which is none", cmd.name, code)
			}
		}
	}
}

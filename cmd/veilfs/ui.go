package main

// This file implements what veilfs says to the user. The rules, after age's
// cmd/age/tui.go:
//
//   - Every message on stderr starts with "veilfs: " and then "error: ",
//     "warning: " or "hint: ". Messages are lowercase, one line, no trailing
//     period.
//   - An error says what failed and names the file or directory involved; it
//     is followed by zero or more hints that say what to do next, with the
//     command to run when there is one.
//   - Only errors change the exit code, and only through exitcodes.go.
//     Warnings never do.
//   - stdout carries what the user asked for (help, version, info, the master
//     key printed by init, a success line); errors, warnings and prompts go to
//     stderr or the terminal, so stdout can be piped or captured.
//   - Passwords never appear in any output. The master key appears once, on
//     purpose, when init creates a volume.
//   - No colours, no progress bars: the output is read by scripts too.

import (
	"fmt"
	"io"
)

// errorf prints an error line without hints.
func errorf(w io.Writer, format string, args ...any) {
	fmt.Fprintf(w, "veilfs: error: "+format+"\n", args...)
}

// warningf prints a warning line; it never changes the exit code.
func warningf(w io.Writer, format string, args ...any) {
	fmt.Fprintf(w, "veilfs: warning: "+format+"\n", args...)
}

// hintf prints a hint line on its own, e.g. after a warning.
func hintf(w io.Writer, format string, args ...any) {
	fmt.Fprintf(w, "veilfs: hint: "+format+"\n", args...)
}

// errorWithHint prints an error line followed by one line per hint.
func errorWithHint(w io.Writer, msg string, hints ...string) {
	errorf(w, "%s", msg)
	for _, h := range hints {
		hintf(w, "%s", h)
	}
}

// report prints err with its hints (see exitcodes.go for where both come from).
func report(w io.Writer, err error) {
	errorWithHint(w, messageOf(err), hintsOf(err)...)
}

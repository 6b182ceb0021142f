package main

import (
	"strings"
	"testing"
)

// An entry lines up with the hand-written ones of the usage texts, its
// continuation lines too.
func TestOptionEntry(t *testing.T) {
	got := optionEntry("--masterkey -", "first\nsecond")
	want := "      --masterkey -          first\n" + strings.Repeat(" ", optionColumn) + "second\n"
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

package main

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/veilfs/veilfs/cipher"
	"github.com/veilfs/veilfs/cipher/config"
)

// TestUsageRanges: the ranges the usage texts give for --scryptn and
// --longnamemax are the ones the code checks (cipher's and config's
// constants), so changing a bound cannot leave a help text saying the old
// one. Each description must name both bounds and no other number than
// them and the default.
func TestUsageRanges(t *testing.T) {
	ranges := map[string][]int{
		"--scryptn":     {cipher.MinScryptLogN, cipher.MaxScryptLogN, cipher.DefaultScryptLogN},
		"--longnamemax": {config.MinLongNameMax, config.MaxLongNameMax},
	}
	number := regexp.MustCompile(`\b\d+\b`)
	seen := map[string]int{}
	var walk func(cmds []*command)
	walk = func(cmds []*command) {
		for _, cmd := range cmds {
			for opt, allowed := range ranges {
				for _, desc := range optionDescriptions(cmd.usage, opt) {
					seen[opt]++
					var got []int
					for _, m := range number.FindAllString(desc, -1) {
						n, _ := strconv.Atoi(m)
						got = append(got, n)
					}
					if !slices.Contains(got, allowed[0]) || !slices.Contains(got, allowed[1]) {
						t.Errorf("%s: %s does not give the range %d to %d: %q", cmd.name, opt, allowed[0], allowed[1], desc)
					}
					for _, n := range got {
						if !slices.Contains(allowed, n) {
							t.Errorf("%s: %s names %d, which is none of %v: %q", cmd.name, opt, n, allowed, desc)
						}
					}
				}
			}
			walk(cmd.subcommands)
		}
	}
	walk(commands())
	for opt := range ranges {
		if seen[opt] == 0 {
			t.Errorf("no usage text documents %s", opt)
		}
	}
}

// optionDescriptions returns the description of each line of usage's
// Options that documents opt, with its continuation lines.
func optionDescriptions(usage, opt string) []string {
	var out []string
	lines := strings.Split(usage, "\n")
	for i, l := range lines {
		f := strings.Fields(l)
		if len(f) == 0 || f[0] != opt {
			continue
		}
		desc := strings.Join(f[1:], " ")
		for _, c := range lines[i+1:] {
			if c == "" || !strings.HasPrefix(c, "      ") || strings.HasPrefix(strings.TrimSpace(c), "-") {
				break
			}
			desc += " " + strings.TrimSpace(c)
		}
		out = append(out, desc)
	}
	return out
}

// TestUsageKeysNumbers: what keys add's usage says of labels and keyfiles
// is config's and cipher's bounds.
func TestUsageKeysNumbers(t *testing.T) {
	var usage string
	for _, cmd := range lookupCommand("keys").subcommands {
		if cmd.name == "add" || strings.HasSuffix(cmd.name, " add") {
			usage = strings.Join(strings.Fields(cmd.usage), " ")
		}
	}
	for _, want := range []string{
		fmt.Sprintf("The label is 1 to %d bytes", config.MaxLabelLen),
		fmt.Sprintf("must hold at least %d bytes", cipher.MinKeyfileSize),
	} {
		if !strings.Contains(usage, want) {
			t.Errorf("keys add's usage does not say %q", want)
		}
	}
}

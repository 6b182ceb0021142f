package main

import (
	"errors"
	"strings"
	"syscall"
	"testing"
)

// TestExplainFusermount: go-fuse's "fusermount exited with code 256" (a
// raw wait status) becomes the reason, named after the setting that
// causes it, with the status decoded and what to do.
func TestExplainFusermount(t *testing.T) {
	goFuse := errors.New("mount /home/u/vault: fusermount exited with code 256\n")
	denied := fuseFacts{deviceErr: syscall.EACCES, deviceMode: "mode 0600, owner uid 0, group gid 0", userAllowOther: true}
	tests := []struct {
		name  string
		err   error
		facts fuseFacts
		want  []string // in the message and hints
		not   []string
	}{
		{"allow_other not enabled", goFuse, fuseFacts{allowOther: true},
			[]string{"exit status 1", "--allow-other", "/etc/fuse.conf", "user_allow_other", "without --allow-other"}, []string{"256", "chmod"}},
		{"device closed to users", goFuse, denied,
			[]string{"exit status 1", "/dev/fuse", "mode 0600", "chmod 0666 /dev/fuse"}, []string{"256", "user_allow_other"}},
		{"both", goFuse, fuseFacts{allowOther: true, deviceErr: syscall.EACCES},
			[]string{"/dev/fuse", "chmod 0666", "user_allow_other"}, []string{"256"}},
		{"allow_other enabled", goFuse, fuseFacts{allowOther: true, userAllowOther: true},
			[]string{"exit status 1", "line above"}, []string{"256", "chmod"}},
		{"killed", errors.New("fusermount exited with code 9"), fuseFacts{},
			[]string{"killed by signal killed"}, nil},
	}
	for _, tt := range tests {
		err := explainFusermount("/home/u/vault.enc", tt.err, tt.facts)
		if err == nil {
			t.Errorf("%s: not recognised", tt.name)
			continue
		}
		if code := exitCode(err); code != exitMount {
			t.Errorf("%s: exit %d, want %d", tt.name, code, exitMount)
		}
		all := err.Error() + "\n" + strings.Join(hintsOf(err), "\n")
		for _, w := range tt.want {
			if !strings.Contains(all, w) {
				t.Errorf("%s: %q lacks %q", tt.name, all, w)
			}
		}
		for _, n := range tt.not {
			if strings.Contains(all, n) {
				t.Errorf("%s: %q has %q", tt.name, all, n)
			}
		}
	}
	if err := explainFusermount("/d", errors.New("mount /m: permission denied"), fuseFacts{}); err != nil {
		t.Errorf("another error taken for fusermount's: %v", err)
	}
}

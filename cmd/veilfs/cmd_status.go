package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/pflag"

	"github.com/veilfs/veilfs/internal/mounttable"
)

var statusCommand = command{
	name:    "status",
	summary: "list veilfs mounts with their activity",
	usage:   statusUsage,
	args:    []string{"[MOUNTPOINT]"},
	flags:   declare(defineStatusFlags),
	run:     runStatus,
}

const statusUsage = `Usage: veilfs status [options] [MOUNTPOINT]

List the veilfs mounts of this machine (or only MOUNTPOINT): CIPHERDIR,
mountpoint, options, uptime, files open now, plaintext bytes read and
written, the corrupt ciphertext objects found since the mount, and what a
sync client did to CIPHERDIR that the mount dealt with (SYNC): entries
repaired (names, directory IVs, long-name sidecars given back), entries
skipped as the sync client's own files (.stfolder, .syncthing.*.tmp, ...),
and half-synced states (a directory before its gocryptfs.diriv, a long
name before its sidecar) still waiting for the rest to arrive.

The figures come from each mount's daemon, through a socket in its runtime
directory (/run/veilfs for root; for others $XDG_RUNTIME_DIR/veilfs, else
/run/user/UID/veilfs, else /tmp/veilfs-UID or $TMPDIR/veilfs-UID), so
only the user who mounted sees them; other mounts show "-".

Options:
      --json   print JSON, one object per mount in an array
  -h, --help   show this help

Exit codes: 0, also with no mounts; 1 when MOUNTPOINT is not a veilfs mount.

Examples:
  $ veilfs status
  $ veilfs status ~/vault
  $ veilfs status --json | jq '.[].bytes_written'
`

// defineStatusFlags defines --json.
func defineStatusFlags(fs *pflag.FlagSet) *bool {
	return fs.Bool("json", false, "print JSON")
}

func runStatus(c *cli, cmd *command, args []string) error {
	fs, jsonFlag := newFlags(cmd, defineStatusFlags)
	if err := c.parseFlags(cmd, fs, args); err != nil {
		return err
	}
	asJSON := *jsonFlag
	table, err := mounttable.Read()
	if err != nil {
		return fail(nil, fmt.Errorf("list mounts: %w", err))
	}
	mounts := mounttable.Veilfs(table)
	if fs.NArg() == 1 {
		mnt, err := canonicalMountpoint(fs.Arg(0))
		if err != nil {
			return err
		}
		var only []mounttable.Entry
		for _, m := range mounts {
			if m.Mountpoint == mnt {
				only = append(only, m)
			}
		}
		if len(only) == 0 {
			return failf(errUsage, []string{"run 'veilfs status' to list the veilfs mounts"}, "%s is not a veilfs mount", mnt)
		}
		mounts = only
	}

	var list []mountStatus
	for _, m := range mounts {
		st, err := queryStatus(m.Mountpoint)
		if err != nil {
			// Another user's mount, or a daemon older than this command:
			// what the kernel's table says is all there is.
			st = &mountStatus{CipherDir: m.Source, Mountpoint: m.Mountpoint, PID: -1}
		}
		list = append(list, *st)
	}
	if asJSON {
		if list == nil {
			list = []mountStatus{}
		}
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(list)
	}
	printStatus(c.stdout, list, time.Now())
	return nil
}

func printStatus(w io.Writer, list []mountStatus, now time.Time) {
	if len(list) == 0 {
		fmt.Fprintln(w, "No veilfs mounts.")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "MOUNTPOINT\tCIPHERDIR\tUPTIME\tOPEN\tREAD\tWRITTEN\tCORRUPT\tSYNC\tOPTIONS")
	for _, s := range list {
		if s.PID < 0 {
			fmt.Fprintf(tw, "%s\t%s\t-\t-\t-\t-\t-\t-\t-\n", s.Mountpoint, s.CipherDir)
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%d\t%s\t%s\n", s.Mountpoint, s.CipherDir,
			now.Sub(s.Started).Round(time.Second), s.OpenFiles, humanBytes(s.BytesRead), humanBytes(s.BytesWritten),
			s.Corruptions, s.Sync.summary(), strings.Join(s.Options, ","))
	}
	tw.Flush()
}

// summary is the SYNC column: entries repaired, sync-client entries
// skipped, and half-synced states still waiting for the rest to arrive.
func (s syncStatus) summary() string {
	return fmt.Sprintf("%d repaired, %d skipped, %d waiting", s.Repairs, s.ClientFiles, s.TransientSeen-min(s.TransientResolved, s.TransientSeen))
}

// humanBytes formats n in binary units, as ls -h does.
func humanBytes(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

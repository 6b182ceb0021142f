package main

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/veilfs/veilfs/cipher/config"
)

var keysListCommand = command{
	name:    "keys list",
	aliases: []string{"ls"},
	summary: "show a volume's unlockers",
	usage:   keysListUsage,
	args:    []string{"CIPHERDIR"},
	flags:   declare(addReverseFlag),
	run:     runKeysList,
}

const keysListUsage = `Usage: veilfs keys list CIPHERDIR

List the unlockers of the volume in CIPHERDIR (alias: ls): the primary
password first, then every extra unlocker with its label, kind (password or
keyfile) and creation time (UTC).

No password is needed, as for veilfs info: labels, kinds and creation times
are stored in the clear in gocryptfs.conf, so anyone who can read that file
sees them anyway, and asking for a password here would protect nothing.
Choose labels that give nothing away. The list is what the file says;
veilfs keys remove checks every entry with the master key and warns about
any that does not authenticate.

Options:
      --reverse   CIPHERDIR is a reverse volume's PLAINDIR: use its
                  .gocryptfs.reverse.conf even if it has a gocryptfs.conf
  -h, --help      show this help

Example:
  $ veilfs keys list ~/vault.enc
`

func runKeysList(c *cli, cmd *command, args []string) error {
	fs, reverse := newFlags(cmd, addReverseFlag)
	if err := c.parseFlags(cmd, fs, args); err != nil {
		return err
	}
	dir, err := absPath(fs.Arg(0))
	if err != nil {
		return err
	}
	f, _, err := loadConfig(dir, *reverse, c.stderr)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "LABEL\tKIND\tCREATED")
	fmt.Fprintf(tw, "%s\t%s\t%s\n", config.PrimaryLabel, config.KindPassword, "-")
	var legacy []string
	for _, u := range f.Unlockers() {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", u.Label, u.Kind, u.Created.UTC().Format(time.RFC3339))
		if !u.Committed {
			legacy = append(legacy, u.Label)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(legacy) > 0 {
		// Said on stderr, so that the table stays what scripts parse.
		warningf(c.stderr, "%s made by a veilfs older than key commitments: someone who once had the master key could seal another key to them", quoteList(legacy))
		hintf(c.stderr, "re-enrol them: veilfs rotate %s (it asks for each unlocker's secret)", dir)
	}
	return nil
}

// Command veilfs creates, mounts, unmounts and inspects encrypted volumes in the
// gocryptfs 2.x format.
//
// This package owns everything that belongs to the process rather than to the
// filesystem: parsing the command line (one pflag set per sub-command), reading
// passwords, keyfiles and master keys (password.go, masterkey.go), turning any
// of them into the master key (unlock.go, shared by every command), talking to the user
// (ui.go), mapping errors to exit codes (exitcodes.go, the only place that does
// so), daemonising a mount (daemon.go), signal handling and os.Exit. The
// libraries below it (fs, fs/cipherdir, cipher/config) never do any of these.
//
// Files: main.go dispatches; cmd_*.go hold one sub-command each, with its usage
// text and examples (cmd_keys.go dispatches the keys sub-commands, which have
// one file each: cmd_keys_add.go, cmd_keys_remove.go, cmd_keys_list.go).
// The man page (cmd_manpage.go, hidden "veilfs manpage") and the shell
// completion (cmd_completion.go, and its back end cmd_complete.go, hidden
// "veilfs __complete") are generated from the command list, the flag sets
// the commands parse and their usage texts, through spec.go.
package main

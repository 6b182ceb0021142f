// Command veilfs creates, mounts, unmounts and inspects encrypted volumes in the
// gocryptfs 2.x format.
//
// This package owns everything that belongs to the process rather than to the
// filesystem: parsing the command line (one pflag set per sub-command), reading
// passwords and master keys (password.go, masterkey.go), talking to the user
// (ui.go), mapping errors to exit codes (exitcodes.go, the only place that does
// so), daemonising a mount (daemon.go), signal handling and os.Exit. The
// libraries below it (fs, fs/cipherdir, cipher/config) never do any of these.
//
// Files: main.go dispatches; cmd_*.go hold one sub-command each, with its usage
// text and examples.
package main

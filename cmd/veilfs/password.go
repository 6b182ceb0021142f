package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"syscall"

	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/veilfs/veilfs/cipher"
)

// maxSecretLine bounds one line of password input. It is above the 2048 bytes
// cipher/config accepts, so that config, not this reader, reports a password
// that is merely too long; beyond it the input is not a password at all.
const maxSecretLine = 4096

// maxExtpassOutput bounds what an --extpass command may print.
const maxExtpassOutput = 64 << 10

// passwordFlags are the explicit password sources of a sub-command.
type passwordFlags struct {
	passfile string
	extpass  string
}

func addPasswordFlags(fs *pflag.FlagSet) *passwordFlags {
	p := &passwordFlags{}
	fs.StringVar(&p.passfile, "passfile", "", "read the password from the first line of `FILE`")
	fs.StringVar(&p.extpass, "extpass", "", "run `CMD` with /bin/sh -c and use the first line it prints")
	return p
}

func (p *passwordFlags) given() bool { return p.passfile != "" || p.extpass != "" }

func (p *passwordFlags) validate() error {
	if p.passfile != "" && p.extpass != "" {
		return fail(errUsage, errors.New("--passfile and --extpass cannot be used together"))
	}
	return nil
}

// readPassword returns the password from the first source that applies:
// --passfile, --extpass, a no-echo terminal prompt (asked twice when twice is
// set, for a new password), or the first line of stdin. The caller wipes it.
func (c *cli) readPassword(p *passwordFlags, prompt string, twice bool) ([]byte, error) {
	var (
		pw  []byte
		err error
	)
	switch {
	case p.passfile != "":
		c.warnIfExposed(p.passfile, "passfile")
		pw, err = readPassfile(p.passfile)
	case p.extpass != "":
		pw, err = runExtpass(p.extpass, c.stderr)
	case c.stdinIsTerminal():
		pw, err = c.prompt(prompt, twice)
	default:
		pw, err = readSecretLine(c.stdin)
		if errors.Is(err, io.EOF) {
			return nil, fail(errEmptyPassword, fmt.Errorf("no password given: %w", errStdinEmpty), passwordSourcesHint)
		}
		if err != nil {
			err = fmt.Errorf("read password from standard input: %w", err)
		}
	}
	if err != nil {
		return nil, fail(errReadPassword, err)
	}
	if len(pw) == 0 {
		return nil, fail(errEmptyPassword, errors.New("the password is empty"), passwordSourcesHint)
	}
	return pw, nil
}

// errStdinEmpty is why no password could be read when nothing else was
// asked: the mount helper then says where the password should come from.
var errStdinEmpty = errors.New("standard input is empty")

const passwordSourcesHint = "give the password with --passfile FILE, --extpass CMD, on the terminal, or as the first line of standard input"

// prompt asks for a password on the terminal, twice if twice is set.
func (c *cli) prompt(prompt string, twice bool) ([]byte, error) {
	pw, err := c.promptPassword(prompt)
	if err != nil {
		return nil, fmt.Errorf("read password from terminal: %w", err)
	}
	if !twice || len(pw) == 0 {
		return pw, nil
	}
	again, err := c.promptPassword("Repeat: ")
	defer cipher.Wipe(again)
	if err != nil {
		cipher.Wipe(pw)
		return nil, fmt.Errorf("read password from terminal: %w", err)
	}
	if !bytes.Equal(pw, again) {
		cipher.Wipe(pw)
		return nil, errors.New("the passwords do not match")
	}
	return pw, nil
}

// readSecretLine reads one line from r, one byte at a time, and returns it
// without its "\n" (a "\r" is kept, as gocryptfs does, so that both tools
// derive the same key from the same file). io.EOF means r had no byte at all.
func readSecretLine(r io.Reader) ([]byte, error) {
	line := make([]byte, 0, 64)
	var b [1]byte
	for {
		n, err := r.Read(b[:])
		if n == 1 {
			if b[0] == '\n' {
				return line, nil
			}
			if len(line) == maxSecretLine {
				cipher.Wipe(line)
				return nil, fmt.Errorf("line is longer than %d bytes", maxSecretLine)
			}
			if len(line) == cap(line) {
				// Grow by hand so that the old backing array is wiped, not left to the GC.
				grown := make([]byte, len(line), 2*cap(line))
				copy(grown, line)
				cipher.Wipe(line)
				line = grown
			}
			line = append(line, b[0])
		}
		if err == io.EOF {
			if len(line) == 0 {
				return nil, io.EOF
			}
			return line, nil
		}
		if err != nil {
			cipher.Wipe(line)
			return nil, err
		}
	}
}

// warnIfExposed warns when the file holding a secret (a passfile, keyfile
// or master key file) is readable by users other than its owner, as ssh
// does for a private key; it is a warning, not an error, because the
// owner may have reasons (a group of admins) and refusing would break
// mounts at boot. Only regular files are judged: a pipe such as
// <(pass show vault) has no meaningful mode.
func (c *cli) warnIfExposed(path, kind string) {
	fi, err := os.Stat(path)
	if err != nil || !fi.Mode().IsRegular() {
		return // reading it reports what is wrong
	}
	if perm := fi.Mode().Perm(); perm&0o044 != 0 {
		warningf(c.stderr, "%s %s is readable by other users (mode %04o): they can unlock the volume with it", kind, path, perm)
		hintf(c.stderr, "chmod 600 %s", path)
	}
}

// readPassfile returns the first line of the file at path. Later lines are
// ignored.
func readPassfile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open passfile: %w", err)
	}
	defer f.Close()
	pw, err := readSecretLine(f)
	if errors.Is(err, io.EOF) {
		return []byte{}, nil // empty file: the caller reports an empty password
	}
	if err != nil {
		return nil, fmt.Errorf("read passfile %s: %w", path, err)
	}
	return pw, nil
}

// runExtpass runs cmdline with "/bin/sh -c" and returns the first line of its
// standard output. Unlike gocryptfs, which splits -extpass on spaces, the
// whole shell syntax is available (quotes, pipes, $VARS). The command gets no
// standard input, so it cannot swallow a password that passwd reads from
// stdin; its stderr is ours, so it can explain its failures.
func runExtpass(cmdline string, stderr io.Writer) ([]byte, error) {
	cmd := exec.Command("/bin/sh", "-c", cmdline)
	cmd.Stderr = stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("extpass: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("extpass: %w", err)
	}
	buf := make([]byte, maxExtpassOutput+1)
	defer cipher.Wipe(buf)
	n, readErr := io.ReadFull(out, buf)
	if readErr == nil {
		// More than the limit: stop reading; the command gets SIGPIPE.
		out.Close()
		_ = cmd.Wait()
		return nil, fmt.Errorf("extpass command printed more than %d bytes", maxExtpassOutput)
	}
	if waitErr := cmd.Wait(); waitErr != nil {
		return nil, fmt.Errorf("extpass command failed: %w", waitErr)
	}
	if readErr != io.EOF && readErr != io.ErrUnexpectedEOF {
		return nil, fmt.Errorf("read extpass output: %w", readErr)
	}
	first := buf[:n]
	if i := bytes.IndexByte(first, '\n'); i >= 0 {
		first = first[:i]
	}
	return bytes.Clone(first), nil
}

// promptTerminal reads a secret without echo from the controlling terminal
// (/dev/tty, so that the prompt is seen even when stderr is redirected), or
// from stdin and stderr when there is no /dev/tty.
func promptTerminal(prompt string) ([]byte, error) {
	in, out := os.Stdin, os.Stderr
	if tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0); err == nil {
		defer tty.Close()
		in, out = tty, tty
	}
	fd := int(in.Fd())
	// x/term turns echo back on when ReadPassword returns, but not when a
	// signal kills us half-way: do it here, or the user's shell stays blind.
	state, err := term.GetState(fd)
	if err != nil {
		return nil, err
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	done := make(chan struct{})
	defer func() {
		signal.Stop(sigs)
		close(done)
	}()
	go func() {
		select {
		case <-sigs:
			_ = term.Restore(fd, state)
			fmt.Fprintln(out)
			errorf(os.Stderr, "interrupted while reading the password")
			os.Exit(exitReadPassword)
		case <-done:
		}
	}()
	fmt.Fprint(out, prompt)
	pw, err := term.ReadPassword(fd)
	fmt.Fprintln(out)
	return pw, err
}

// readNewPassword reads a new password (passwd, keys add, rotate):
// --new-passfile, else twice on the terminal, else the next line of stdin.
func (c *cli) readNewPassword(newPassfile string) ([]byte, error) {
	var (
		pw  []byte
		err error
	)
	switch {
	case newPassfile != "":
		c.warnIfExposed(newPassfile, "passfile")
		pw, err = readPassfile(newPassfile)
	case c.stdinIsTerminal():
		pw, err = c.prompt("New password: ", true)
	default:
		pw, err = readSecretLine(c.stdin)
		if errors.Is(err, io.EOF) {
			return nil, fail(errEmptyPassword, errors.New("no new password given: standard input has no further line"),
				"give it with --new-passfile FILE, on the terminal, or as the next line of standard input")
		}
		if err != nil {
			err = fmt.Errorf("read new password from standard input: %w", err)
		}
	}
	if err != nil {
		return nil, fail(errReadPassword, err)
	}
	if len(pw) == 0 {
		return nil, fail(errEmptyPassword, errors.New("the new password is empty"))
	}
	return pw, nil
}

// Command oidcrp manages an OAuth 2.0 dynamic client registration from a
// terminal and diagnoses OpenID providers.
//
//	oidcrp register -issuer URL -redirect-uri URL [flags]
//	oidcrp get      [-credentials FILE]
//	oidcrp update   [-redirect-uri URL …] [flags]
//	oidcrp delete   [-credentials FILE]
//	oidcrp discover [-insecure-allow-http] ISSUER
//
// register, get, update and delete read and write the same credentials
// file as registration.Ensure (./oidcrp-client.json by default, mode 0600,
// locked while in use) and print the credentials as JSON. The client
// secret and the registration access token are printed only with
// -show-secrets. An initial access token for register is read from the
// environment variable OIDCRP_INITIAL_ACCESS_TOKEN, never from a flag, so
// that it does not show in process listings.
//
// discover prints the provider's metadata and what a relying party would
// miss: PKCE S256, an end_session_endpoint, https endpoints, a
// registration_endpoint and so on.
//
// Ory Hydra does not advertise its registration endpoint unless
// configured to; pass -registration-endpoint <public URL>/oauth2/register.
// Hydra refuses a client secret in an update, so rotating the secret there
// means delete and register again.
//
// Exit status: 0 on success, 1 on an error, 2 on a usage error.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// Exit statuses.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

// envInitialAccessToken names the environment variable holding an initial
// access token for register.
const envInitialAccessToken = "OIDCRP_INITIAL_ACCESS_TOKEN"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// command is one subcommand.
type command struct {
	name  string
	short string
	run   func(ctx context.Context, args []string, stdout, stderr io.Writer) int
}

func commands() []command {
	return []command{
		{"register", "register a client and save its credentials", runRegister},
		{"get", "read the registration from the provider and print it", runGet},
		{"update", "change the registration (flags given replace stored values)", runUpdate},
		{"delete", "delete the registration and the credentials file", runDelete},
		{"discover", "print a provider's metadata and what a relying party misses", runDiscover},
	}
}

// run is the whole program: it parses args (without the program name),
// writes results to stdout and diagnostics to stderr, and returns the exit
// status.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		usage(stdout)
		return exitOK
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(context.Background(), args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "oidcrp: unknown command %q\n\n", args[0])
	usage(stderr)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: oidcrp <command> [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "commands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.short)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, `Run "oidcrp <command> -h" for the flags of a command.`)
}

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string { return strings.Join(*s, ",") }

func (s *stringList) Set(v string) error {
	*s = append(*s, v)
	return nil
}

// newFlagSet returns a flag set that reports errors instead of exiting.
func newFlagSet(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: oidcrp %s %s\n\nflags:\n", name, synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses args and maps the outcome to an exit status: ok is false
// when the caller must return code.
func parse(fs *flag.FlagSet, args []string) (code int, ok bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK, false
		}
		return exitUsage, false
	}
	return 0, true
}

// usageError prints a usage problem and returns exitUsage.
func usageError(fs *flag.FlagSet, stderr io.Writer, format string, a ...any) int {
	fmt.Fprintf(stderr, "oidcrp %s: %s\n", fs.Name(), fmt.Sprintf(format, a...))
	fs.Usage()
	return exitUsage
}

// fail prints an error and returns exitError.
func fail(stderr io.Writer, cmd string, err error) int {
	fmt.Fprintf(stderr, "oidcrp %s: %v\n", cmd, err)
	return exitError
}

// printJSON writes v as indented JSON.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// withTimeout bounds a command.
func withTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if d <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, d)
}

// Command imdsopts changes and inspects the instance metadata (IMDS) options
// of EC2 instances. Its modify-instance-metadata-options subcommand takes the
// options of "aws ec2 modify-instance-metadata-options" with the same
// spelling and prints the same output, but validates every value before
// anything is sent, can wait until EC2 reports the change applied, and
// reports dry runs that an endpoint did not honour. Run "imdsopts help" for
// the usage.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	// A closed stdout (imdsopts apply ... | head) must not kill the
	// command unheard: writes fail instead, and the output goes to stderr.
	signal.Ignore(syscall.SIGPIPE)
	// Ctrl-C and SIGTERM (a container stopping, a CI timeout) both end the
	// run the same way: what was done is printed, the exit is 130.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

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
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	// A closed stdout (imdsopts apply ... | head) must not kill the
	// command unheard: writes fail instead, and the output goes to stderr.
	signal.Ignore(syscall.SIGPIPE)
	// Ctrl-C and SIGTERM (a container stopping, a CI timeout) both end the
	// run the same way: what was done is printed, the exit is 130. A second
	// one, while the run stops, exits at once.
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	ctx, cancel := context.WithCancel(context.Background())
	go onSignals(sigs, cancel, os.Stderr, os.Exit)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	signal.Stop(sigs)
	cancel()
	os.Exit(code)
}

// onSignals cancels the run at the first signal on sigs, so that it stops
// the way it is meant to (what was done is reported, the exit is 130); at
// a second one, the run has not stopped (it is waiting for something that
// does not heed cancellation, or is taking long to finish its report), and
// exit(exitInterrupted) ends the process at once, as the person asked
// twice. What was sent is in the run's journal, with --journal, as after
// a kill.
func onSignals(sigs <-chan os.Signal, cancel context.CancelFunc, stderr io.Writer, exit func(int)) {
	<-sigs
	cancel()
	s := <-sigs
	fmt.Fprintf(stderr, "\nimdsopts: a second signal (%v) while stopping: exiting at once, without the rest of the report (exit %d)\n", s, exitInterrupted)
	exit(exitInterrupted)
}

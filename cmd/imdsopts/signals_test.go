package main

import (
	"context"
	"os"
	"strings"
	"syscall"
	"testing"
	"testing/synctest"
)

// The first Ctrl-C or SIGTERM cancels the run, which then stops the way it
// is meant to; a second one while it stops exits 130 at once, saying so.
func TestSecondSignalExits(t *testing.T) {
	for _, sigs := range [][2]os.Signal{{os.Interrupt, os.Interrupt}, {syscall.SIGTERM, syscall.SIGTERM}, {syscall.SIGTERM, os.Interrupt}} {
		synctest.Test(t, func(t *testing.T) {
			ch := make(chan os.Signal, 2)
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			stderr := newSyncBuffer()
			exited := make(chan int, 1)
			go onSignals(ch, cancel, stderr, func(code int) { exited <- code })

			synctest.Wait()
			if ctx.Err() != nil || len(exited) > 0 {
				t.Fatal("stopped before any signal")
			}
			ch <- sigs[0]
			synctest.Wait()
			if ctx.Err() == nil {
				t.Fatalf("%v did not cancel the run", sigs[0])
			}
			if len(exited) > 0 {
				t.Fatalf("%v exited at once: the run must get to stop and report", sigs[0])
			}
			ch <- sigs[1]
			synctest.Wait()
			select {
			case code := <-exited:
				if code != exitInterrupted {
					t.Errorf("exit %d after a second signal, want %d", code, exitInterrupted)
				}
			default:
				t.Fatalf("a second signal (%v) did not exit", sigs[1])
			}
			if !strings.Contains(stderr.String(), "a second signal ("+sigs[1].String()+") while stopping: exiting at once") {
				t.Errorf("stderr %q", stderr.String())
			}
		})
	}
}

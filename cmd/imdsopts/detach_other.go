//go:build !unix

package main

import (
	"context"
	"os"
)

func startDetached(context.Context, []string) (int, string, error) {
	return 0, "", usageErrorf("--detach: not supported on this system; run the emulator in its own window")
}

func readyReporter(func(string) string) *os.File { return nil }

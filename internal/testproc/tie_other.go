//go:build !linux

package testproc

import "os/exec"

// Tie does nothing where the kernel cannot tie a process to its parent's
// life; the tests' cleanups stop what they start.
func Tie(cmd *exec.Cmd) {}

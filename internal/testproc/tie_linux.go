package testproc

import (
	"os/exec"
	"syscall"
)

// Tie makes the kernel kill cmd's process with SIGKILL when the test binary
// that starts it ends, whatever ends it. It must be called before
// cmd.Start, and keeps whatever else cmd.SysProcAttr asks for.
func Tie(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
}

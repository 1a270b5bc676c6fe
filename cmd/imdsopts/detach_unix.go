//go:build unix

package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// readyFDEnv names the environment variable through which a detached
// emulator learns the file descriptor it reports its URL on, once it
// serves: "emulator --detach" starts the same command line again with it
// set.
const readyFDEnv = "IMDSOPTS_EMULATOR_READY_FD"

// detachWait bounds how long "emulator --detach" waits for the emulator it
// started to serve: seeding 100,000 instances takes seconds, not minutes.
const detachWait = 2 * time.Minute

// startDetached starts this program again with args, in the background,
// its standard streams on /dev/null, and returns its process ID and URL
// once it serves. An emulator that fails to start reports why.
func startDetached(ctx context.Context, args []string) (pid int, url string, err error) {
	self, err := os.Executable()
	if err != nil {
		return 0, "", fmt.Errorf("--detach: finding this program: %w", err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		return 0, "", fmt.Errorf("--detach: %w", err)
	}
	defer r.Close()
	cmd := exec.Command(self, args...)
	cmd.Env = append(os.Environ(), readyFDEnv+"=3")
	cmd.ExtraFiles = []*os.File{w} // fd 3
	// A process group of its own: Ctrl-C at the shell's prompt, which
	// signals the shell's group, leaves it serving.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		w.Close()
		return 0, "", fmt.Errorf("--detach: starting the emulator: %w", err)
	}
	w.Close()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(io.LimitReader(r, 64<<10)).ReadString('\n')
		line <- s
	}()
	stop := func() { cmd.Process.Kill(); <-exited }
	timer := time.NewTimer(detachWait)
	defer timer.Stop()
	select {
	case s := <-line:
		if u, ok := strings.CutPrefix(strings.TrimSpace(s), "ready "); ok {
			return cmd.Process.Pid, u, nil
		}
		msg, _ := strings.CutPrefix(strings.TrimSpace(s), "error ")
		err := <-exited
		if msg == "" {
			msg = fmt.Sprintf("it ended before serving (%v)", err)
		}
		return 0, "", errors.New(msg)
	case <-timer.C:
		stop()
		return 0, "", fmt.Errorf("--detach: the emulator did not serve within %v", detachWait)
	case <-ctx.Done():
		stop()
		return 0, "", ctx.Err()
	}
}

// readyReporter returns the file a detached emulator reports on, or nil
// when this run was not started by "emulator --detach".
func readyReporter(getenv func(string) string) *os.File {
	fd, err := strconv.Atoi(getenv(readyFDEnv))
	if err != nil || fd < 3 {
		return nil
	}
	return os.NewFile(uintptr(fd), "ready")
}

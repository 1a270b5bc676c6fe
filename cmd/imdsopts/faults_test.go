package main

import (
	"net"
	"os/exec"
	"strings"
	"syscall"
	"testing"
)

// closedEndpoint returns the URL of a loopback port nothing listens on.
func closedEndpoint(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + l.Addr().String()
	l.Close()
	return url
}

// TestDeadEndpointBinary: against an endpoint nothing answers, plan and
// apply end at their first call, as describe does, with exit 255 and the
// connection error; nothing is retried for minutes first.
func TestDeadEndpointBinary(t *testing.T) {
	bin, env := binary(t), binaryEnv(t)
	url := closedEndpoint(t)
	for _, args := range [][]string{
		{"describe", "--endpoint-url", url, "--instance-id", "i-0123456789abcdef0"},
		{"plan", "--endpoint-url", url, "--tags", "env=prod", "--http-tokens", "required"},
		{"apply", "--endpoint-url", url, "--tags", "env=prod", "--http-tokens", "required"},
		{"apply", "--endpoint-url", url, "--instance-ids", "i-0123456789abcdef0", "--http-endpoint", "disabled"},
		{"modify-instance-metadata-options", "--endpoint-url", url, "--instance-id", "i-0123456789abcdef0", "--http-tokens", "required", "--wait"},
	} {
		r := execute(t, env, bin, args...)
		if r.code != exitOther || !strings.Contains(r.stderr, "connection refused") {
			t.Errorf("%s: exit %d, want %d with the connection error\nstdout %s\nstderr %s", args[0], r.code, exitOther, r.stdout, r.stderr)
		}
	}
}

// TestSIGTERMIs130: SIGTERM ends a run as Ctrl-C does.
func TestSIGTERMIs130(t *testing.T) {
	bin, env := binary(t), binaryEnv(t)
	hang := hangingEndpoint(t)
	cmd := exec.Command(bin, "plan", "--endpoint-url", hang.url, "--tags", "env=prod", "--http-tokens", "required")
	cmd.Env = env
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	<-hang.accepted
	cmd.Process.Signal(syscall.SIGTERM)
	err := cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != exitInterrupted {
		t.Errorf("after SIGTERM: %v, want exit %d", err, exitInterrupted)
	}
}

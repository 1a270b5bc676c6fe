package main

import (
	"bytes"
	"strings"
	"testing"
)

// posture --emulator, on its own: the realistic account, over the SDK's
// clients, not ready.
func TestPostureEmbeddedEmulator(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), []string{"posture", "--emulator", "--query", "[Ready, Blockers[].Kind, AutoScalingGroups[].IMDSv1.Clean]", "--output", "text"},
		strings.NewReader(""), &stdout, &stderr, noEnv)
	if code != exitNotReady || stdout.String() != "False\ngroup-launch-template\tlaunch-template-default-version\nTrue\n" {
		t.Errorf("exit %d\nstdout %q\nstderr %s", code, stdout.String(), stderr.String())
	}
}

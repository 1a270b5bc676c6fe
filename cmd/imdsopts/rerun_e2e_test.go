//go:build e2e

package main

import (
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The commands the notes print are pasted into a shell as a person would,
// later and elsewhere: without the run's AWS_ENDPOINT_URL and Region in the
// environment, from a journal path a shell must be told is one word. Each
// must act on the emulator the run acted on. A proxy that answers nothing
// stands in for every other address: a command that left out the endpoint
// would fail there instead of reaching AWS.
func TestE2EPrintedCommandsActWhereTheRunDid(t *testing.T) {
	t.Parallel()
	bin := binary(t)
	url := startEmulatorBinary(t)
	path := filepath.Join(t.TempDir(), "it's a run.jsonl")
	withoutPlace := func(env []string) []string {
		return slices.DeleteFunc(env, func(kv string) bool {
			return strings.HasPrefix(kv, "AWS_DEFAULT_REGION=") || strings.HasPrefix(kv, "AWS_REGION=")
		})
	}
	runEnv := append(binaryEnv(t), "AWS_ENDPOINT_URL="+url)
	r := execute(t, runEnv, bin, "apply", "--filters", "Name=instance-state-name,Values=running",
		"--http-tokens", "required", "--journal", path, "--output", "text")
	if r.code == exitUsage || r.code == exitConfig {
		t.Fatalf("apply: exit %d\n%s", r.code, r.stderr)
	}
	applied := statusCounts(r.stdout)["applied"]
	if applied == 0 {
		t.Fatalf("apply changed nothing:\n%s", r.stdout)
	}
	undo := printed(t, r.stderr, `records the run: (imdsopts undo .*) restores every instance it changed`)

	// The same journal given to a new apply is refused, with the command
	// that goes on with its run.
	r = execute(t, runEnv, bin, "apply", "--filters", "Name=instance-state-name,Values=running",
		"--http-tokens", "required", "--journal", path)
	resume := printed(t, r.stderr, `\(to go on with the run it records: (imdsopts apply --resume .*)\)`)

	shell := append(withoutPlace(binaryEnv(t)), "PATH="+filepath.Dir(bin)+":/usr/bin:/bin",
		"HTTP_PROXY=http://127.0.0.1:1", "HTTPS_PROXY=http://127.0.0.1:1")
	r = execute(t, shell, "sh", "-c", resume+" --output text")
	if r.code != exitOK || statusCounts(r.stdout)["satisfied"]+statusCounts(r.stdout)["applied"] < applied {
		t.Errorf("pasted %s: exit %d\n%s\n%s", resume, r.code, r.stdout, r.stderr)
	}
	r = execute(t, shell, "sh", "-c", undo+" --output text")
	if r.code != exitOK || statusCounts(r.stdout)["rolled-back"] != applied {
		t.Errorf("pasted %s: exit %d, want %d instances rolled back\n%s\n%s", undo, r.code, applied, r.stdout, r.stderr)
	}
}

// printed returns the command a note printed: the first group of pattern
// in stderr. It names the endpoint and Region of the run.
func printed(t *testing.T, stderr, pattern string) string {
	t.Helper()
	m := regexp.MustCompile(pattern).FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("no %s in stderr:\n%s", pattern, stderr)
	}
	if !strings.Contains(m[1], "--endpoint-url ") || !strings.Contains(m[1], "--region us-east-1") {
		t.Errorf("printed command %s: want the run's endpoint and Region", m[1])
	}
	return m[1]
}

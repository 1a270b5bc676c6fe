//go:build e2e

package main

import (
	"bufio"
	"bytes"
	"io"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"github.com/imdsopts/imdsopts/internal/testproc"
)

// The walk, step by step, through the built binary against the emulator
// it serves: the exit statuses a script would see, and the lines a person
// reads.
func TestE2EWalkToEnforcement(t *testing.T) {
	t.Parallel()
	bin := binary(t)
	url := startEmulatorBinary(t)
	// A person's environment: the SDK's own retries, as configured.
	var env []string
	for _, kv := range binaryEnv(t) {
		if !strings.HasPrefix(kv, "AWS_MAX_ATTEMPTS=") {
			env = append(env, kv)
		}
	}
	for i, step := range walkSteps {
		args := strings.Fields(strings.ReplaceAll(step.cmd, "$URL", url))
		r := execute(t, env, bin, args[1:]...)
		if r.code != step.code {
			t.Fatalf("step %d, %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", i+1, step.cmd, r.code, step.code, r.stdout, r.stderr)
		}
		for _, want := range step.want {
			if want = strings.ReplaceAll(want, "$URL", url); !strings.Contains(r.stdout+r.stderr, want) {
				t.Errorf("step %d, %s: output lacks %q\nstdout:\n%s\nstderr:\n%s", i+1, step.cmd, want, r.stdout, r.stderr)
			}
		}
	}
	// The AWS CLI sees the account enforce IMDSv2.
	{
		r := runAWS(t, awsCLI(t), binaryEnv(t), "ec2", "get-instance-metadata-defaults", "--endpoint-url", url, "--query", "AccountLevel.HttpTokensEnforced", "--output", "text")
		if r.code != 0 || r.stdout != "enabled\n" {
			t.Errorf("aws: exit %d, %q %s", r.code, r.stdout, r.stderr)
		}
	}
}

// startEmulatorBinary starts "imdsopts emulator" with args, through the
// built binary, and returns its URL; it stops it with Ctrl-C when the test
// ends, and fails the test unless it then exits 0.
func startEmulatorBinary(t *testing.T, args ...string) string {
	t.Helper()
	emu := exec.Command(binary(t), append([]string{"emulator", "--no-log"}, args...)...)
	testproc.Tie(emu)
	emu.Env = binaryEnv(t)
	out, err := emu.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var emuErr bytes.Buffer
	emu.Stderr = &emuErr
	if err := emu.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		emu.Process.Signal(syscall.SIGINT)
		if err := emu.Wait(); err != nil {
			t.Errorf("emulator: %v\n%s", err, emuErr.String())
		}
	})
	rd := bufio.NewReader(out)
	first, err := rd.ReadString('\n')
	if err != nil {
		t.Fatalf("%v: %s", err, emuErr.String())
	}
	go io.Copy(io.Discard, rd)
	return emulatorURL(t, first)
}

// walkSteps is the path from posture to enforcement on the emulator's
// realistic account, as a person types it: imdsopts emulator in one
// terminal, then, in another, with the test credentials the emulator
// prints and URL set to its address, these commands, each with its exit
// status and lines of its output (stdout, then stderr).
var walkSteps = []struct {
	cmd  string
	code int
	want []string
}{
	{"imdsopts posture --endpoint-url $URL --output text", exitNotReady, []string{
		"Verdict: NOT READY to enforce IMDSv2: 2 blockers, in the order to fix them\n",
		"  1. group-launch-template: launch template payments-web (lt-00000000000000001) version 1, group payments-web\n",
		"  2. launch-template-default-version: launch template batch-worker (lt-00000000000000002) version 1\n",
		"     run: imdsopts templates plan --http-tokens required --make-default --endpoint-url $URL --region us-east-1, then templates apply with the same options\n",
		"Account defaults:  HttpTokens required, HttpPutResponseHopLimit no-preference, HttpEndpoint no-preference, InstanceMetadataTags no-preference, HttpTokensEnforced no-preference\n",
		"IMDSv1 use:        over the last 14 days, of 198 instances allowing IMDSv1: 198 measured, 50 used IMDSv1 (104160 calls), 0 unknown\n",
		"of them launched by neither a group nor a template: 50 used IMDSv1, 0 unknown (not blockers: enforcement leaves running instances alone)\n",
		"  payments-web  template payments-web $Default  v1 optional (template)  clean: no IMDSv1 call from its 4 instances allowing it\n",
		"imdsopts: error: not ready to enforce IMDSv2: 2 blockers, in the order to fix them (see the list under the verdict)\n",
	}},
	{"imdsopts templates plan --endpoint-url $URL --http-tokens required --make-default --output text", exitOK, []string{
		"batch-worker  lt-00000000000000002  1       optional (template)  change  -            HttpTokens=required                            -\n",
		"payments-web  lt-00000000000000001  1       optional (template)  change  -            HttpTokens=required HttpPutResponseHopLimit=1  -\n",
	}},
	{"imdsopts templates apply --endpoint-url $URL --http-tokens required --make-default --output text", exitOK, []string{
		"batch-worker  lt-00000000000000002  1       optional (template)  applied  2 (default)  HttpTokens=required                            -\n",
		"payments-web  lt-00000000000000001  1       optional (template)  applied  2 (default)  HttpTokens=required HttpPutResponseHopLimit=1  -\n",
	}},
	{"imdsopts posture --endpoint-url $URL --output text", exitOK, []string{
		"Verdict: READY to enforce IMDSv2: no launch would fail, and nothing that launches unattended uses IMDSv1\n",
	}},
	{"imdsopts modify-instance-metadata-defaults --endpoint-url $URL --http-tokens-enforced enabled", exitOK, []string{
		"{\n    \"Return\": true,\n    \"Blockers\": []\n}\n",
		"imdsopts: note: 198 instances still allow IMDSv1: enforcement leaves running instances alone (apply --http-tokens required changes them)\n",
	}},
	{"imdsopts posture --endpoint-url $URL --output text", exitOK, []string{
		"Verdict: IMDSv2 is enforced, and no launch fails\n",
		"Enforcement:       yes: EC2 refuses launches that do not require IMDSv2\n",
	}},
}

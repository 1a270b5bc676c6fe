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

// orgWalk are the commands of an organisation-wide plan and apply against
// the emulator of an organisation, as a person types them after
// "imdsopts emulator --organization 3" (URL is its endpoint).
var orgWalk = []struct {
	args []string
	code int
	want []string // in stdout, in order
}{
	{[]string{"plan", "--endpoint-url", "URL", "--organization-role", "OrganizationAccountAccessRole", "--regions", "us-east-1,eu-west-1",
		"--filters", "Name=instance-state-name,Values=running,stopped", "--http-tokens", "required",
		"--query", "{Targets: length(Targets), Counts: Counts, TargetsFailed: TargetsFailed}"},
		0, []string{`"Targets": 6`, `"change": 720`, `"satisfied": 6`, `"held": 300`, `"pending-until-start": 168`, `"TargetsFailed": 0`}},
	{[]string{"apply", "--endpoint-url", "URL", "--organization-role", "OrganizationAccountAccessRole", "--regions", "us-east-1,eu-west-1",
		"--filters", "Name=instance-state-name,Values=running,stopped", "--http-tokens", "required",
		"--query", "{Targets: length(Targets), Counts: Counts, TargetsFailed: TargetsFailed}"},
		0, []string{`"Targets": 6`, `"applied": 720`, `"satisfied": 6`, `"held": 300`, `"pending-until-start": 168`, `"TargetsFailed": 0`}},
	{[]string{"plan", "--endpoint-url", "URL", "--organization-role", "OrganizationAccountAccessRole", "--regions", "all",
		"--filters", "Name=instance-state-name,Values=running,stopped", "--http-tokens", "required",
		"--query", "[length(Targets), Counts.satisfied, Counts.held, TargetsFailed]", "--output", "text"},
		0, []string{"51\t894\t300\t0"}},
}

// The organisation-wide plan and apply of the README, with the built
// binary against the built binary's emulator of an organisation: the
// commands as written, their key lines and exit codes; then a role that
// no account has (254), and a malformed role ARN (252, before any call).
func TestE2EOrganizationWalkthroughBinary(t *testing.T) {
	t.Parallel()
	bin := binary(t)
	emu := exec.Command(bin, "emulator", "--organization", "3", "--no-log")
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
	rd := bufio.NewReader(out)
	first, err := rd.ReadString('\n')
	if err != nil {
		emu.Process.Kill()
		t.Fatalf("%v: %s", err, emuErr.String())
	}
	go io.Copy(io.Discard, rd)
	defer func() {
		emu.Process.Signal(syscall.SIGINT)
		if err := emu.Wait(); err != nil {
			t.Errorf("the emulator after Ctrl-C: %v", err)
		}
	}()
	const prefix = "imdsopts emulator: an organisation of 3 accounts at "
	if !strings.HasPrefix(first, prefix) {
		t.Fatalf("first line %q", first)
	}
	url := strings.TrimSpace(strings.TrimPrefix(first, prefix))

	env := binaryEnv(t)
	for _, step := range orgWalk {
		args := make([]string, len(step.args))
		for i, a := range step.args {
			args[i] = strings.ReplaceAll(a, "URL", url)
		}
		r := execute(t, env, bin, args...)
		if r.code != step.code {
			t.Fatalf("imdsopts %s: exit %d, want %d\n%s\n%s", strings.Join(args, " "), r.code, step.code, r.stdout, r.stderr)
		}
		rest := r.stdout
		for _, w := range step.want {
			i := strings.Index(rest, w)
			if i < 0 {
				t.Errorf("imdsopts %s: no %q (in order) in\n%s", step.args[0], w, r.stdout)
				break
			}
			rest = rest[i+len(w):]
		}
	}

	r := execute(t, env, bin, "plan", "--endpoint-url", url, "--role-arn", "arn:aws:iam::100000000001:role/Missing",
		"--regions", "eu-west-1", "--filters", "Name=instance-state-name,Values=running", "--http-tokens", "required", "--output", "text")
	if r.code != exitService || !strings.Contains(r.stdout, "100000000001  eu-west-1  -         -      target-failed") ||
		!strings.Contains(r.stderr, "1 of 1 target(s) failed") || !strings.Contains(r.stderr, "AccessDenied") {
		t.Errorf("a role no account has: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	r = execute(t, env, bin, "plan", "--endpoint-url", url, "--role-arn", "arn:aws:iam::100000000001:Missing",
		"--filters", "Name=instance-state-name,Values=running", "--http-tokens", "required")
	if r.code != exitUsage || !strings.Contains(r.stderr, `--role-arn "arn:aws:iam::100000000001:Missing": must be an IAM role's ARN`) {
		t.Errorf("a malformed role ARN: exit %d\n%s", r.code, r.stderr)
	}
}

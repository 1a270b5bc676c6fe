package main

import (
	"bufio"
	"bytes"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// rolloutWalkthrough is "a canary rollout with a journal and an undo" as a
// person types it, against an emulator started in another terminal (the
// state of --emulator lasts one run only, so apply and undo need one that
// keeps serving). The seed has one instance whose software still calls
// IMDSv1, too rarely for the gate to see; it is in the canary. The canary
// fails its bake: that instance is rolled back, the rollout halts before
// any other wave, and undo restores the rest of the canary. Lines after
// "$ " are commands; the heredoc is the seed file.
const rolloutWalkthrough = `$ cat > fleet.json <<'EOF'
{"Instances": [
  {"Count": 1, "Tags": {"app": "web"}, "MetadataNoToken": {"PerDay": 0}},
  {"Count": 1, "Tags": {"app": "web"}, "MetadataNoToken": {"PerDay": 0}, "LateIMDSv1Calls": {"PerMinute": 4}},
  {"Count": 6, "Tags": {"app": "web"}, "MetadataNoToken": {"PerDay": 0}}
]}
EOF
$ imdsopts emulator --seed fleet.json --addr 127.0.0.1:8931
$ export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-east-1
$ imdsopts apply --endpoint-url http://127.0.0.1:8931 --tags app=web --http-tokens required --canary 2 --bake 1m --journal rollout.jsonl --output text
$ imdsopts undo rollout.jsonl --endpoint-url http://127.0.0.1:8931 --output text
`

// TestRolloutWalkthrough runs rolloutWalkthrough with the built binary, on
// a free port instead of 8931. It lasts a bake of a minute on the wall
// clock: the emulator is another process.
func TestRolloutWalkthrough(t *testing.T) {
	if testing.Short() {
		t.Skip("a bake of a minute on the wall clock")
	}
	t.Parallel()
	bin, dir := binary(t), t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).AddrPort().Port()
	l.Close()
	script := strings.ReplaceAll(rolloutWalkthrough, "127.0.0.1:8931", "127.0.0.1:"+strconv.Itoa(int(port)))

	// The seed file, from the heredoc.
	seed, _, _ := strings.Cut(strings.SplitN(script, "<<'EOF'\n", 2)[1], "EOF\n")
	if err := os.WriteFile(filepath.Join(dir, "fleet.json"), []byte(seed), 0o644); err != nil {
		t.Fatal(err)
	}
	var commands [][]string
	env := []string{"HOME=" + dir, "PATH=" + os.Getenv("PATH"), "AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONFIG_FILE=" + filepath.Join(dir, "config"), "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(dir, "credentials")}
	for line := range strings.Lines(script) {
		args, ok := strings.CutPrefix(strings.TrimSpace(line), "$ ")
		switch {
		case !ok || strings.HasPrefix(args, "cat "):
		case strings.HasPrefix(args, "export "):
			env = append(env, strings.Fields(strings.TrimPrefix(args, "export "))...)
		default:
			commands = append(commands, strings.Fields(args))
		}
	}
	run := func(args []string) *exec.Cmd {
		if args[0] != "imdsopts" {
			t.Fatalf("not a command of imdsopts: %q", args)
		}
		cmd := exec.Command(bin, args[1:]...)
		cmd.Dir, cmd.Env = dir, env
		return cmd
	}
	// wait runs cmd to its end, in dir as a person's shell would.
	wait := func(cmd *exec.Cmd) result {
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatal(err)
		}
		return result{cmd.ProcessState.ExitCode(), stdout.String(), stderr.String()}
	}

	emu := run(commands[0])
	out, err := emu.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := emu.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		emu.Process.Signal(syscall.SIGINT)
		emu.Wait()
	}()
	first, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.HasSuffix(first, "127.0.0.1:"+strconv.Itoa(int(port))+"\n") {
		t.Fatalf("emulator: %q, %v", first, err)
	}

	apply := wait(run(commands[1]))
	wantCode(t, apply, exitService)
	for _, re := range []string{
		`(?m)^INSTANCE +STATE +WAVE +STATUS +REJECTED +CHANGES +NOTE$`,
		`(?m)^i-00000000000000001 +running +1 +applied +0 +HttpTokens=required *$`,
		`(?m)^i-00000000000000002 +running +1 +rolled-back +[0-9.]+ +HttpTokens=required +[0-9.]+ IMDSv1 calls rejected since its wave began: instance rejected IMDSv1 calls$`,
		`(?m)^i-00000000000000003 +running +2 +not-attempted +- +HttpTokens=required +not attempted: rollout halted at wave 1 of 4: 1 instance\(s\) rejected IMDSv1 calls \(i-00000000000000002\)$`,
		`(?m)^i-00000000000000008 +running +4 +not-attempted +- +HttpTokens=required +not attempted: `,
		`(?m)^WAVE +INSTANCES +STARTED +ENDED +WATCHED +REJECTED +RESULT$`,
		`(?m)^1 +2 +\S+ +\S+ +2 +1 +failed: rollout halted at wave 1 of 4: 1 instance\(s\) rejected IMDSv1 calls \(i-00000000000000002\)$`,
	} {
		if !regexp.MustCompile(re).MatchString(apply.stdout) {
			t.Errorf("apply's output lacks %s:\n%s", re, apply.stdout)
		}
	}
	for _, w := range []string{
		"imdsopts: the rollout halted at wave 1: 1 instance(s) rolled back, 0 left to a person (see their Error), 6 not attempted\n",
		"imdsopts: the journal rollout.jsonl records the rollout: imdsopts undo rollout.jsonl restores every instance it changed\n",
		"imdsopts: error: rollout halted at wave 1 of 4: 1 instance(s) rejected IMDSv1 calls (i-00000000000000002)\n",
	} {
		if !strings.Contains(apply.stderr, w) {
			t.Errorf("apply's stderr lacks %q:\n%s", w, apply.stderr)
		}
	}

	undo := wait(run(commands[2]))
	wantCode(t, undo, exitOK)
	for _, re := range []string{
		`(?m)^INSTANCE +STATE +STATUS +CHANGES +NOTE$`,
		`(?m)^i-00000000000000001 +running +rolled-back +HttpTokens=optional *$`,
		`(?m)^i-00000000000000002 +running +satisfied *$`,
	} {
		if !regexp.MustCompile(re).MatchString(undo.stdout) {
			t.Errorf("undo's output lacks %s:\n%s", re, undo.stdout)
		}
	}
	if strings.Count(undo.stdout, "\n") != 3 {
		t.Errorf("undo's output:\n%s", undo.stdout)
	}
	for _, w := range []string{
		"imdsopts: note: the endpoint does not serve STS GetCallerIdentity (InvalidAction): the account is 123456789012, the owner of the instances it lists\n",
		"imdsopts: undo: 1 instance(s) restored, 1 had their options before already, 0 left to a person, 0 failed, 0 not attempted\n",
	} {
		if !strings.Contains(undo.stderr, w) {
			t.Errorf("undo's stderr lacks %q:\n%s", w, undo.stderr)
		}
	}
}

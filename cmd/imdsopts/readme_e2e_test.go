//go:build e2e

package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/imdsopts/imdsopts/internal/testproc"
)

// readmeBlock is a shell block of README.md: its name (the "readme:"
// marker before it), its commands, and the text block that follows it, if
// any (the output the README shows).
type readmeBlock struct {
	name     string
	commands []readmeCommand
	text     string
}

// readmeCommand is one command of a block as written (continuation lines
// and heredocs included), and the exit status its "# exit N" comment says
// (0 without one).
type readmeCommand struct {
	line string
	code int
}

var exitComment = regexp.MustCompile(`\s+# exit (\d+)$`)

// readmeBlocks parses README.md. Every shell block must be named by a
// "<!-- readme: NAME -->" marker or be one of the test commands (which
// .ci/run runs), so no command goes untested.
func readmeBlocks(t *testing.T) (blocks []readmeBlock, program string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	name := ""
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		switch {
		case strings.HasPrefix(l, "<!-- readme: "):
			name = strings.TrimSuffix(strings.TrimPrefix(l, "<!-- readme: "), " -->")
		case l == "<!-- test-command -->" || l == "<!-- e2e-test-command -->":
			name = "test-command"
		case l == "```go" || l == "```sh" || l == "```text":
			var body []string
			for i++; i < len(lines) && lines[i] != "```"; i++ {
				body = append(body, lines[i])
			}
			switch {
			case l == "```go":
				program = strings.Join(body, "\n")
			case l == "```text" && len(blocks) > 0:
				blocks[len(blocks)-1].text = strings.Join(body, "\n") + "\n"
			case l == "```sh" && name == "":
				t.Errorf("README.md line %d: a shell block without a <!-- readme: NAME --> marker", i+1-len(body))
			case l == "```sh" && name != "test-command":
				blocks = append(blocks, readmeBlock{name: name, commands: splitCommands(body)})
			}
			name = ""
		}
	}
	return blocks, program
}

// splitCommands joins continued lines and heredocs into commands.
func splitCommands(body []string) []readmeCommand {
	var cmds []readmeCommand
	for i := 0; i < len(body); i++ {
		line := body[i]
		for strings.HasSuffix(line, `\`) && i+1 < len(body) {
			i++
			line += "\n" + body[i]
		}
		if strings.Contains(line, "<<'EOF'") {
			for i++; i < len(body); i++ {
				line += "\n" + body[i]
				if body[i] == "EOF" {
					break
				}
			}
		}
		c := readmeCommand{line: line}
		if m := exitComment.FindStringSubmatch(line); m != nil {
			c.code, _ = strconv.Atoi(m[1])
		}
		cmds = append(cmds, c)
	}
	return cmds
}

// readmeRun is what one command of a block did.
type readmeRun struct {
	code           int
	stdout, stderr string
}

// runBlock runs the commands of b, exactly as written, one after another
// in one bash, in dir, with env, as a person's shell runs a pasted block:
// nothing waits between commands but the commands themselves. Each
// command's output and exit status are kept apart. An emulator the block
// started with --detach and did not stop is stopped at the end, as is
// anything else still running.
func runBlock(t *testing.T, b readmeBlock, dir string, env []string) []readmeRun {
	t.Helper()
	keep := t.TempDir()
	var script strings.Builder
	fmt.Fprintf(&script, "K=%q\n", keep)
	for i, c := range b.commands {
		if strings.HasSuffix(c.line, "&") {
			// A person pastes the next command at once: a server started
			// in the background may not answer it yet.
			t.Fatalf("%s: %q runs in the background; start the emulator with --detach, which returns once it serves", b.name, c.line)
		}
		fmt.Fprintf(&script, "{\n%s\n} >\"$K/out.%d\" 2>\"$K/err.%d\"\necho $? >\"$K/code.%d\"\n", c.line, i, i, i)
	}
	// An emulator stopped by the block exits within moments of its
	// signal (a zombie has exited); one still there 10 s later was not
	// stopped.
	script.WriteString(`alive() { kill -0 "$1" 2>/dev/null && ! grep -qs '^State:[[:space:]]*Z' "/proc/$1/status"; }
if [ -n "${IMDSOPTS_EMULATOR_PID-}" ]; then
	for n in $(seq 100); do alive "$IMDSOPTS_EMULATOR_PID" || break; sleep 0.1; done
	if alive "$IMDSOPTS_EMULATOR_PID"; then echo "$IMDSOPTS_EMULATOR_PID" >"$K/left"; kill -9 "$IMDSOPTS_EMULATOR_PID"; fi
fi
`)
	script.WriteString("kill $(jobs -p) 2>/dev/null; wait\n")
	cmd := exec.Command("bash", "-c", script.String())
	cmd.Dir, cmd.Env = dir, env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	testproc.Tie(cmd)
	t.Cleanup(func() {
		if cmd.Process != nil {
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
	})
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: bash: %v\n%s", b.name, err, out)
	}
	if left, err := os.ReadFile(filepath.Join(keep, "left")); err == nil {
		t.Errorf("%s: the emulator the block started (process %s) was still serving at its end", b.name, strings.TrimSpace(string(left)))
	}
	runs := make([]readmeRun, len(b.commands))
	for i, c := range b.commands {
		read := func(f string) string {
			s, _ := os.ReadFile(filepath.Join(keep, fmt.Sprintf("%s.%d", f, i)))
			return string(s)
		}
		code, err := strconv.Atoi(strings.TrimSpace(read("code")))
		if err != nil {
			t.Fatalf("%s: command %d did not run: %q", b.name, i+1, c.line)
		}
		runs[i] = readmeRun{code, read("out"), read("err")}
		if code != c.code {
			t.Errorf("%s: %s\nexit %d, the README says %d\nstdout:\n%s\nstderr:\n%s", b.name, c.line, code, c.code, runs[i].stdout, runs[i].stderr)
		}
	}
	return runs
}

// statusCounts counts the STATUS column of a fleet's text output, up to
// the first blank line (a rollout's table of waves follows it).
func statusCounts(out string) map[string]int {
	counts := map[string]int{}
	col := -1
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) == 0:
			return counts
		case col < 0:
			col = slices.Index(f, "STATUS")
		case col < len(f):
			counts[f[col]]++
		}
	}
	return counts
}

// wants fails the test unless s holds every one of want.
func wants(t *testing.T, what, s string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(s, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, s)
		}
	}
}

// readmeChecks say what the README says of each block's output.
var readmeChecks = map[string]func(t *testing.T, b readmeBlock, r []readmeRun, dir string){
	"first": func(t *testing.T, b readmeBlock, r []readmeRun, dir string) {
		got := statusCounts(r[0].stdout)
		want := map[string]int{"applied": 120, "held": 50, "pending-until-start": 28, "satisfied": 1}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("statuses %v, the README says %v", got, want)
		}
		wants(t, "stderr", r[0].stderr, "28 instances are stopped: EC2 accepted the change and applies it when each starts")
	},
	"refused": func(t *testing.T, b readmeBlock, r []readmeRun, dir string) {
		if b.text == "" || r[0].stderr != b.text {
			t.Errorf("stderr:\n%s\nthe README shows:\n%s", r[0].stderr, b.text)
		}
	},
	"enforce": func(t *testing.T, b readmeBlock, r []readmeRun, dir string) {
		wants(t, "the first posture", r[2].stdout, "NOT READY to enforce IMDSv2: 2 blockers, in the order to fix them",
			"launch template payments-web", "launch template batch-worker", "run: imdsopts templates",
			"clean: no IMDSv1 call from its 4 instances", "50 used IMDSv1")
		if n := strings.Count(r[4].stdout, "applied  2 (default)"); n != 2 {
			t.Errorf("templates apply: %d templates with a version 2 made the default, want 2:\n%s", n, r[4].stdout)
		}
		wants(t, "the second posture", r[5].stdout, "READY to enforce IMDSv2")
		wants(t, "the last posture", r[7].stdout, "IMDSv2 is enforced, and no launch fails")
	},
	"rollout": func(t *testing.T, b readmeBlock, r []readmeRun, dir string) {
		apply, undo := r[3], r[4]
		if got, want := statusCounts(apply.stdout), map[string]int{"applied": 1, "rolled-back": 1, "not-attempted": 6}; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("apply: statuses %v, the README says %v\n%s", got, want, apply.stdout)
		}
		wants(t, "apply's stderr", apply.stderr, "the rollout halted at wave 1")
		if got, want := statusCounts(undo.stdout), map[string]int{"rolled-back": 1, "satisfied": 1}; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("undo: statuses %v, the README says %v\n%s", got, want, undo.stdout)
		}
		journal, err := os.ReadFile(filepath.Join(dir, "rollout.jsonl"))
		if err != nil {
			t.Fatal(err)
		}
		for n, line := range strings.Split(strings.TrimSpace(string(journal)), "\n") {
			if !json.Valid([]byte(line)) {
				t.Errorf("rollout.jsonl line %d is not one JSON object: %q", n+1, line)
			}
		}
	},
	"organization": func(t *testing.T, b readmeBlock, r []readmeRun, dir string) {
		posture, plan, apply, undo := r[2], r[3], r[4], r[5]
		wants(t, "posture", posture.stdout, "IMDSv2 posture of 6 targets: 0 ready, 6 NOT READY, 0 failed",
			"Blockers of 100000000001/eu-west-1, in the order to fix them", "launch template payments-web", "launch template batch-worker")
		if n := strings.Count(posture.stdout, "NOT READY: 2 blockers"); n != 6 {
			t.Errorf("posture: %d targets not ready with 2 blockers, the README says 6:\n%s", n, posture.stdout)
		}
		wants(t, "plan", plan.stdout, `"Targets": 6`, `"change": 720`, `"held": 300`, `"pending-until-start": 168`, `"satisfied": 6`, `"TargetsFailed": 0`)
		wants(t, "apply", apply.stdout, `"Targets": 6`, `"applied": 720`, `"TargetsFailed": 0`)
		journals, err := filepath.Glob(filepath.Join(dir, "runs", "*.jsonl"))
		if err != nil || len(journals) != 6 {
			t.Errorf("runs holds %d journals (%v), the README says one per target, 6", len(journals), err)
		}
		wants(t, "undo", undo.stdout, `"Targets": 6`, `"rolled-back": 888`, `"TargetsFailed": 0`)
	},
	"examples": func(t *testing.T, b readmeBlock, r []readmeRun, dir string) {
		wants(t, "go test", r[0].stdout, "--- PASS: Example", "\nok ")
	},
}

// TestE2EREADME runs every shell block of README.md exactly as written, with
// the imdsopts its install block builds, in a shell with nothing set up but
// PATH and an empty HOME (no AWS credentials or configuration), and checks
// each command's exit status and what the README says of its output.
func TestE2EREADME(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("the README's commands take minutes: a bake of a minute, go install")
	}
	blocks, _ := readmeBlocks(t)
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	env := append(os.Environ(), "GOBIN="+bin)
	withTool := func(e []string) []string {
		out := []string{"PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH")}
		for _, kv := range e {
			if !strings.HasPrefix(kv, "PATH=") {
				out = append(out, kv)
			}
		}
		return out
	}
	seen := map[string]bool{}
	for _, b := range blocks {
		seen[b.name] = true
		if b.name == "install" {
			runBlock(t, b, root, startEnvWith("GOBIN="+bin))
		}
	}
	if !seen["install"] {
		t.Fatal("README.md has no install block")
	}
	for name := range readmeChecks {
		if !seen[name] {
			t.Errorf("README.md has no block %q", name)
		}
	}
	for _, b := range blocks {
		if b.name == "install" {
			continue
		}
		check, ok := readmeChecks[b.name]
		if !ok {
			t.Errorf("README.md block %q: no check of what the README says of it", b.name)
			continue
		}
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			// A person's shell with nothing set up but Go: the blocks
			// export what they need (the emulator's test credentials).
			dir, home := t.TempDir(), t.TempDir()
			e := withTool([]string{"HOME=" + home})
			if b.name == "examples" {
				dir, e = root, withTool(env)
			}
			start := time.Now()
			r := runBlock(t, b, dir, e)
			check(t, b, r, dir)
			t.Logf("%s: %d commands in %v", b.name, len(b.commands), time.Since(start).Round(time.Second))
		})
	}
}

// startEnvWith is the environment the tests started with, plus kvs.
func startEnvWith(kvs ...string) []string {
	return append(append([]string{}, startEnv...), kvs...)
}

// TestE2EREADMEProgram builds the README's Go program, with the imports it
// needs, against this module: it compiles as written; then it runs it as
// the README says, pointed at imdsopts emulator by AWS_ENDPOINT_URL.
func TestE2EREADMEProgram(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds a program")
	}
	_, program := readmeBlocks(t)
	if program == "" {
		t.Fatal("README.md shows no Go program")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	src := "package main\n\nimport (\n\t\"context\"\n\t\"errors\"\n\t\"fmt\"\n\t\"log\"\n\n" +
		"\t\"github.com/aws/aws-sdk-go-v2/config\"\n\t\"github.com/aws/aws-sdk-go-v2/service/ec2\"\n\n" +
		"\t\"github.com/imdsopts/imdsopts\"\n)\n\nfunc main() {\n" + program + "\n}\n"
	gomod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	// The program's module: this module's requirements, and this module
	// itself from the checkout.
	mod := strings.Replace(string(gomod), "module github.com/imdsopts/imdsopts", "module readme.example/program", 1) +
		"\nrequire github.com/imdsopts/imdsopts v0.0.0\n\nreplace github.com/imdsopts/imdsopts => " + root + "\n"
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"main.go": []byte(src), "go.mod": []byte(mod), "go.sum": sum} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	prog := filepath.Join(dir, "program")
	cmd := exec.Command("go", "build", "-mod=mod", "-o", prog, ".")
	cmd.Dir, cmd.Env = dir, startEnv
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the README's program does not build: %v\n%s\n%s", err, out, src)
	}
	url := startEmulatorBinary(t)
	r := execute(t, append(binaryEnv(t), "AWS_ENDPOINT_URL="+url), prog)
	if r.code != 0 || r.stdout != "applied required\n" {
		t.Errorf("the README's program against the emulator: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

// Package awsclitest runs the AWS CLI v1 in end-to-end tests, many times
// faster than starting the aws program for every call, and with the same
// results.
//
// Most of the second an aws process takes goes to starting Python and
// importing the AWS CLI. [CLI.Run] instead forks a child from a Python
// process that has imported it already and parsed the service models the
// tests use (a zygote), and makes the child what a new aws process would be:
// the same arguments, environment, working directory, standard input
// (empty), exit status and output, written to files that Run reads.
//
// What the imports take from the environment is recorded, not assumed: a
// zygote serves only runs whose environment agrees with its own on every
// variable the imports read, and on those the interpreter reads before
// (PATH, LANG, LANGUAGE, TZ, VIRTUAL_ENV, LC_*, PYTHON*, PYENV*, OPENSSL_*).
// Another environment gets another zygote. HOME is the exception: a zygote
// imports the AWS CLI with HOME set to a path that does not exist, finds
// every value built from it (such as the paths of ~/.aws/cli/cache and
// ~/.aws/cli/alias) and rebuilds them in each child from the child's HOME;
// when it cannot, HOME becomes one of the variables that must agree.
//
// When the AWS CLI cannot be run that way (aws is not a Python program, or
// is the AWS CLI v2, or Python cannot import awscli, or the run's HOME has
// user site-packages), Run runs aws as a process, with the same results,
// only slower.
//
// # Differences
//
// A child differs from a new aws process in what the AWS CLI does not look
// at: its standard output and error are regular files rather than pipes;
// its parent is the zygote; sys.orig_argv is the zygote's; it has imported
// more modules (all of the AWS CLI's customizations); it has the hash seed
// of the zygote, so that sets iterate in the same order in every child (as
// the features in the User-Agent header do, which vary from one new process
// to the next). At exit it does what the interpreter does (SystemExit,
// tracebacks, threads, atexit, flushing) but does not tear the modules
// down, so that the finalizers of objects still alive then do not run. It
// has the service models of EC2, CloudWatch, Auto Scaling, STS and
// Organizations, and the lists of services of botocore and awscli, as they
// were when the zygote started. Behind a pyenv shim, the zygote's Python is the one of the directory
// where its first run was, not of each run's (.python-version files).
package awsclitest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/imdsopts/imdsopts/internal/motoserver"
)

// Result is what one run of the AWS CLI produced.
type Result struct {
	Code   int    // exit status
	Stdout string // standard output
	Stderr string // standard error
}

// CLI runs the AWS CLI found on PATH. Its methods may be called from many
// goroutines at once; runs go on in parallel.
type CLI struct {
	path string // aws, as exec.LookPath found it
	// script is true when path is a Python script, interp the interpreter
	// its first line names (a path, or a name to look up in PATH) and
	// interpArg the argument after it. Otherwise interp is python3.
	script     bool
	interp     string
	interpArg  string
	timeout    time.Duration
	maxZygotes int

	mu       sync.Mutex
	zygotes  []*zygote
	starting chan struct{} // closed when the zygote being started is ready
	homeDep  bool          // HOME cannot be replaced in children
	nextID   uint64
}

// runTimeout bounds one run.
const runTimeout = 5 * time.Minute

var (
	findOnce sync.Once
	found    *CLI
	errFind  error
)

// Find returns the AWS CLI runner of this test process, creating it on the
// first call; it starts a zygote on the first run of an environment. Find
// skips t when aws is not on PATH, or fails it when the environment
// variable motoserver.RequireEnv is 1.
func Find(t testing.TB) *CLI {
	t.Helper()
	findOnce.Do(func() { found, errFind = newCLI() })
	if errFind != nil {
		if os.Getenv(motoserver.RequireEnv) == "1" {
			t.Fatalf("%v, and %s=1", errFind, motoserver.RequireEnv)
		}
		t.Skip(errFind)
	}
	return found
}

// newCLI returns a CLI for the aws on PATH.
func newCLI() (*CLI, error) {
	path, err := exec.LookPath("aws")
	if err != nil {
		return nil, fmt.Errorf("the AWS CLI is not on PATH: %w", err)
	}
	c := &CLI{path: path, interp: "python3", timeout: runTimeout, maxZygotes: maxZygotes}
	if interp, arg, ok := pythonShebang(path); ok {
		c.script, c.interp, c.interpArg = true, interp, arg
	}
	return c, nil
}

// pythonShebang returns the interpreter that the first line of the file at
// path names ("#!/usr/bin/python3" or "#!/usr/bin/env python3") and the
// argument after it, when it is Python. A name without a slash is to be
// looked up in PATH.
func pythonShebang(path string) (interp, arg string, ok bool) {
	f, err := os.Open(path)
	if err != nil {
		return "", "", false
	}
	defer f.Close()
	buf := make([]byte, 256)
	n, _ := f.Read(buf)
	line, _, _ := bytes.Cut(buf[:n], []byte("\n"))
	rest, found := strings.CutPrefix(strings.TrimSpace(string(line)), "#!")
	if !found {
		return "", "", false
	}
	// Linux passes what follows the interpreter as one argument.
	interp = strings.TrimSpace(rest)
	if i := strings.IndexAny(interp, " \t"); i >= 0 {
		interp, arg = interp[:i], strings.TrimSpace(interp[i:])
	}
	if filepath.Base(interp) == "env" {
		if arg == "" || strings.ContainsAny(arg, " \t") || strings.HasPrefix(arg, "-") {
			return "", "", false
		}
		interp, arg = arg, ""
	}
	if !strings.HasPrefix(filepath.Base(interp), "python") {
		return "", "", false
	}
	return interp, arg, true
}

// Run runs aws with args, in directory dir ("" is the current one), with
// an empty standard input and exactly the environment env: KEY=VALUE
// entries of which the last for a key wins, as in exec.Cmd.Env, except that
// nil is an empty environment. It returns the exit status and the output;
// the error is for a run that could not be made or did not end: aws
// missing, a zygote that died, a run killed by a signal or longer than five
// minutes.
func (c *CLI) Run(env []string, dir string, args ...string) (Result, error) {
	given := env
	env, err := dedupEnv(env)
	if err != nil {
		return Result{}, fmt.Errorf("aws %s: %w", strings.Join(args, " "), err)
	}
	if !allUTF8(env, dir, args) {
		// JSON cannot carry other bytes exactly.
		return c.runProcess(given, dir, args)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return Result{}, err
	}
	if fi, err := os.Stat(abs); err != nil || !fi.IsDir() {
		return c.runProcess(given, dir, args) // which fails as exec.Cmd does
	}
	z := c.zygoteFor(env, abs)
	if z == nil {
		return c.runProcess(given, dir, args)
	}
	r, err := z.run(c, env, abs, args)
	if errors.Is(err, errFallback) {
		return c.runProcess(given, dir, args)
	}
	return r, err
}

// runProcess runs aws as a process.
func (c *CLI) runProcess(env []string, dir string, args []string) (Result, error) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.path, args...)
	cmd.Env = append([]string{}, env...) // not nil: nil would inherit ours
	cmd.Dir = dir
	cmd.WaitDelay = 10 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := Result{Stdout: stdout.String(), Stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		return r, fmt.Errorf("aws %s: no exit within %v", strings.Join(args, " "), c.timeout)
	case errors.As(err, &ee) && ee.ExitCode() >= 0:
		r.Code = ee.ExitCode()
	case err != nil:
		return r, fmt.Errorf("aws %s: %w", strings.Join(args, " "), err)
	}
	return r, nil
}

// dedupEnv returns the environment a Python process started with env has:
// without the earlier entries of a key, as exec.Cmd drops them, nor those
// without "=", which Python ignores. An entry with NUL is an error, as for
// exec.Cmd.
func dedupEnv(env []string) ([]string, error) {
	seen := make(map[string]bool, len(env))
	out := make([]string, 0, len(env))
	for i := len(env) - 1; i >= 0; i-- {
		kv := env[i]
		if strings.IndexByte(kv, 0) >= 0 {
			return nil, errors.New("environment variable contains NUL")
		}
		k, _, ok := strings.Cut(kv, "=")
		if !ok || seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, kv)
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, nil
}

func allUTF8(env []string, dir string, args []string) bool {
	for _, ss := range [][]string{env, args, {dir}} {
		for _, s := range ss {
			if !utf8.ValidString(s) {
				return false
			}
		}
	}
	return true
}

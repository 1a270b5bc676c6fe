//go:build e2e

package awsclitest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// testCLI returns a CLI of its own, whose zygotes no other test uses.
func testCLI(t *testing.T) *CLI {
	t.Helper()
	Find(t) // skips without aws
	c, err := newCLI()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func testEnv(t *testing.T) []string {
	t.Helper()
	env := []string{
		"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH"),
		"AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_DEFAULT_REGION=us-east-1",
		"AWS_EC2_METADATA_DISABLED=true", "AWS_MAX_ATTEMPTS=1",
	}
	for _, k := range []string{"PYENV_ROOT", "PYENV_VERSION", "PYTHONPATH", "VIRTUAL_ENV", "LANG", "LC_ALL"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// stuckServer never answers: it reports on arrived each request it gets and
// on gone each one whose client went away.
func stuckServer(t *testing.T) (url string, arrived, gone <-chan struct{}) {
	t.Helper()
	a, g := make(chan struct{}, 100), make(chan struct{}, 100)
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) // so that the server sees the client go
		a <- struct{}{}
		select {
		case <-r.Context().Done():
			g <- struct{}{}
		case <-release:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) }) // runs first
	return srv.URL, a, g
}

// A run that does not end is killed and reported.
func TestE2ERunTimeout(t *testing.T) {
	t.Parallel()
	c := testCLI(t)
	env := testEnv(t)
	if r, err := c.Run(env, "", "--version"); err != nil || r.Code != 0 {
		t.Fatalf("aws --version: %v, %+v", err, r)
	}
	url, arrived, gone := stuckServer(t)
	c.timeout = 3 * time.Second
	_, err := c.Run(env, "", "ec2", "describe-instances", "--endpoint-url", url)
	if err == nil || !strings.Contains(err.Error(), "no exit within") {
		t.Fatalf("a run that does not end: %v", err)
	}
	select {
	case <-arrived:
		<-gone // the child was killed
	default:
		t.Log("the child was killed before it reached the server")
	}
}

// When the zygote exits, the runs waiting for it and those after fail.
func TestE2EZygoteExits(t *testing.T) {
	t.Parallel()
	c := testCLI(t)
	env := testEnv(t)
	if r, err := c.Run(env, "", "--version"); err != nil || r.Code != 0 {
		t.Fatalf("aws --version: %v, %+v", err, r)
	}
	c.mu.Lock()
	z := c.zygotes[0]
	c.mu.Unlock()
	url, arrived, _ := stuckServer(t)
	errc := make(chan error)
	go func() {
		_, err := c.Run(env, "", "ec2", "describe-instances", "--endpoint-url", url)
		errc <- err
	}()
	<-arrived
	if err := z.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err == nil || !strings.Contains(err.Error(), "zygote") {
		t.Errorf("the run waiting for a zygote that exited: %v", err)
	}
	if _, err := c.Run(env, "", "--version"); err == nil || !strings.Contains(err.Error(), "zygote") {
		t.Errorf("a run after the zygote exited: %v", err)
	}
}

// Without an interpreter that imports the AWS CLI, runs are processes.
func TestE2ENoInterpreter(t *testing.T) {
	t.Parallel()
	c := testCLI(t)
	c.script, c.interp, c.interpArg = false, "python-awsclitest-missing", ""
	env := testEnv(t)
	got, err := c.Run(env, "", "ec2", "describe-instancez")
	if err != nil {
		t.Fatal(err)
	}
	want, err := c.runProcess(env, "", []string{"ec2", "describe-instancez"})
	if err != nil {
		t.Fatal(err)
	}
	if got != want || got.Code != 2 {
		t.Errorf("Run gives %+v, a process %+v", got, want)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.zygotes) != 1 || !c.zygotes[0].failed {
		t.Errorf("zygotes %+v, want one failed", c.zygotes)
	}
}

// probe is a Python script that reports what a process sees: run as a
// process and in a zygote's child, it must report the same.
const probe = `import sys
import os

if os.environ.get('LC_CTYPE', '') == 'UTF-8':
    os.environ['LC_CTYPE'] = 'en_US.UTF-8'
import awscli.clidriver
import json, locale, signal, threading, time, site, multiprocessing.process
import botocore.loaders, botocore.utils, awscli.alias, awscli.customizations.assumerole


def main():
    state = {
        "argv": sys.argv, "path": sys.path, "flags": list(sys.flags), "executable": sys.executable,
        "environ": dict(os.environ), "cwd": os.getcwd(), "name": __name__, "file": __file__,
        "main": sys.modules["__main__"].__dict__.get("__file__"),
        "stdio": [(f.encoding, f.errors, f.line_buffering, f.write_through) for f in (sys.stdin, sys.stdout, sys.stderr)],
        "stdin": sys.stdin.read(), "fs": [sys.getfilesystemencoding(), sys.getfilesystemencodeerrors()],
        "locale": [locale.setlocale(locale.LC_CTYPE), locale.getpreferredencoding(False)],
        "signals": [str(signal.getsignal(s)) for s in (signal.SIGINT, signal.SIGCHLD, signal.SIGPIPE, signal.SIGTERM, signal.SIGHUP)],
        "threads": threading.active_count(), "tz": [time.tzname, time.timezone],
        "fds": sorted(os.listdir("/proc/self/fd"))[:3] + [str(len(os.listdir("/proc/self/fd")))],
        "umask": os.umask(0o22),
        "home": [botocore.loaders.Loader.CUSTOMER_DATA_PATH, botocore.utils.JSONFileCache.CACHE_DIR,
                 botocore.utils.JSONFileCache.__init__.__defaults__[0], awscli.customizations.assumerole.CACHE_DIR,
                 awscli.alias.AliasLoader.__init__.__defaults__[0], site.USER_SITE, site.USER_BASE,
                 awscli._awscli_data_path],
        "mp": getattr(sys.modules.get("multiprocessing.process"), "ORIGINAL_DIR", None),
    }
    print(json.dumps(state, indent=1, sort_keys=True))
    print("é ☁ on stderr", file=sys.stderr)
    arg = sys.argv[1] if len(sys.argv) > 1 else ""
    if arg == "raise":
        raise ValueError("boom é")
    if arg == "message":
        sys.exit("bye é")
    if arg == "interrupt":
        raise KeyboardInterrupt
    if arg == "atexit":
        import atexit
        atexit.register(lambda: print("at exit"))

        def worker():
            threading.main_thread().join()  # until the interpreter exits
            print("thread done")

        threading.Thread(target=worker).start()
        sys.stdout.write("unflushed")
        return 0
    return 3


if __name__ == '__main__':
    sys.exit(main())
`

// A child of a zygote is what a new process of the aws script would be.
func TestE2EChildIsNewProcess(t *testing.T) {
	t.Parallel()
	aws := testCLI(t)
	env := testEnv(t)
	// The interpreter of the AWS CLI.
	interp := aws.interp
	if !aws.script {
		out, err := exec.Command(lookPathIn(aws.interp, os.Getenv("PATH")), "-c", "import sys; print(sys.executable)").Output()
		if err != nil {
			t.Fatal(err)
		}
		interp = strings.TrimSpace(string(out))
	}
	script := filepath.Join(t.TempDir(), "probe")
	if err := os.WriteFile(script, []byte("#!"+interp+"\n"+probe), 0o755); err != nil {
		t.Fatal(err)
	}
	c := &CLI{path: script, script: true, interp: interp, timeout: runTimeout, maxZygotes: 10}

	home := t.TempDir()
	cases := []struct {
		name string
		env  []string
		dir  string
		args []string
	}{
		{name: "plain"},
		{name: "arguments", args: []string{"a b", "é", "", "--x=☁"}},
		{name: "another HOME", env: []string{"HOME=" + home}},
		{name: "HOME with a slash", env: []string{"HOME=/"}},
		{name: "HOME empty", env: []string{"HOME="}},
		{name: "dir", dir: home},
		{name: "C locale", env: []string{"LC_ALL=C"}},
		{name: "LC_CTYPE UTF-8", env: []string{"LC_CTYPE=UTF-8"}},
		{name: "TZ", env: []string{"TZ=Asia/Tokyo"}},
		{name: "AWS_DATA_PATH", env: []string{"AWS_DATA_PATH=~/models:/x"}},
		{name: "raise", args: []string{"raise"}},
		{name: "message", args: []string{"message"}},
		{name: "atexit", args: []string{"atexit"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := append(append([]string{}, env...), tc.env...)
			got, err := c.Run(env, tc.dir, tc.args...)
			if err != nil {
				t.Fatal(err)
			}
			want, err := c.runProcess(env, tc.dir, tc.args)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("a child differs from a process (-process +child):\n%s", diff)
			}
			dir := tc.dir
			if dir == "" {
				dir, _ = os.Getwd()
			}
			env, _ = dedupEnv(env)
			if z := c.zygoteFor(env, dir); z == nil || z.homeDep {
				t.Errorf("the run was not in a zygote that replaces HOME: %+v", z)
			}
		})
	}
	t.Run("interrupt", func(t *testing.T) {
		got, err := c.Run(env, "", "interrupt")
		want, errProcess := c.runProcess(env, "", []string{"interrupt"})
		if err == nil || errProcess == nil {
			t.Errorf("killed by SIGINT: child %v, process %v", err, errProcess)
		}
		if got.Stderr != want.Stderr {
			t.Errorf("stderr of the child:\n%s\nof the process:\n%s", got.Stderr, want.Stderr)
		}
	})
}

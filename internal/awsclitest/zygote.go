package awsclitest

import (
	"bufio"
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// zygoteSource is the Python program of a zygote; it describes its
// protocol.
//
//go:embed zygote.py
var zygoteSource string

// errFallback is for a run that a zygote leaves to a process.
var errFallback = errors.New("run aws as a process")

// startTimeout bounds the start of a zygote.
const startTimeout = 5 * time.Minute

// maxZygotes bounds the zygotes running at once (about 100 MB each); runs
// of further environments are processes.
const maxZygotes = 4

// The variables that are read before a zygote traces its imports: by the
// interpreter as it starts (PYTHON*, the locale, TZ), by what picks the
// interpreter (PATH, a pyenv shim, a virtual environment) and by OpenSSL as
// it loads. A zygote serves only runs that give them its values.
var (
	startNames    = []string{"PATH", "LANG", "LANGUAGE", "TZ", "VIRTUAL_ENV"}
	startPrefixes = []string{"PYTHON", "LC_", "PYENV", "OPENSSL_"}
)

// A zygote is a Python process that has imported the AWS CLI and forks a
// child for every run.
type zygote struct {
	env     map[string]string // the environment it was started for
	dir     string            // and the directory
	homeDep bool              // HOME is not replaced in children
	// Set when it is ready:
	deps   []string // the variables its imports read; "*" for all
	cwd    bool     // its imports read the working directory
	failed bool     // it cannot run aws: runs it would serve are processes
	// homeBroken is set when HOME cannot be replaced.
	homeBroken bool

	cmd    *exec.Cmd
	stdin  io.WriteCloser
	wmu    sync.Mutex // serialises writes to stdin
	stderr tail

	mu      sync.Mutex
	pending map[uint64]chan reply
	dead    error         // why it exited
	done    chan struct{} // closed when it has exited
}

// request is a run, as the zygote reads it.
type request struct {
	ID     uint64      `json:"id"`
	Argv   []string    `json:"argv"`
	Env    [][2]string `json:"env"`
	Cwd    string      `json:"cwd"`
	Stdout string      `json:"stdout"`
	Stderr string      `json:"stderr"`
}

// reply is a line the zygote writes: first whether it is ready, then how
// each run ended.
type reply struct {
	ID       uint64 `json:"id"`
	Code     int    `json:"code"`
	Fallback string `json:"fallback"`
	Error    string `json:"error"`

	Ready bool     `json:"ready"`
	Deps  []string `json:"deps"`
	Cwd   bool     `json:"cwd"`
	Home  bool     `json:"home"`
}

// zygoteFor returns the zygote for a run with env in dir, starting one if
// none serves it, or nil when the run is to be a process.
func (c *CLI) zygoteFor(env []string, dir string) *zygote {
	m := make(map[string]string, len(env))
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	c.mu.Lock()
	for {
		live := 0
		for _, z := range c.zygotes {
			if z.serves(m, dir) {
				c.mu.Unlock()
				if z.failed {
					return nil
				}
				return z
			}
			if !z.failed {
				live++
			}
		}
		if c.starting != nil {
			// One start at a time: it may serve this run too.
			ch := c.starting
			c.mu.Unlock()
			<-ch
			c.mu.Lock()
			continue
		}
		if live >= c.maxZygotes {
			c.mu.Unlock()
			return nil
		}
		ch := make(chan struct{})
		c.starting = ch
		homeDep := c.homeDep
		c.mu.Unlock()
		z := c.startZygote(m, env, dir, homeDep)
		c.mu.Lock()
		if z.homeBroken {
			c.homeDep = true // and start another
		} else {
			c.zygotes = append(c.zygotes, z)
		}
		c.starting = nil
		close(ch)
	}
}

// serves reports whether z serves a run with env in dir.
func (z *zygote) serves(env map[string]string, dir string) bool {
	same := func(k string) bool {
		a, okA := env[k]
		b, okB := z.env[k]
		return okA == okB && a == b
	}
	keys := append([]string{}, startNames...)
	if z.homeDep {
		keys = append(keys, "HOME")
	}
	if !z.failed {
		keys = append(keys, z.deps...)
	}
	for _, k := range keys {
		if k == "*" {
			for k := range env {
				if k != "HOME" && !same(k) {
					return false
				}
			}
			for k := range z.env {
				if k != "HOME" && !same(k) {
					return false
				}
			}
		} else if !same(k) {
			return false
		}
	}
	for _, m := range []map[string]string{env, z.env} {
		for k := range m {
			for _, p := range startPrefixes {
				if strings.HasPrefix(k, p) && !same(k) {
					return false
				}
			}
		}
	}
	return z.failed || !z.cwd || dir == z.dir
}

// startZygote starts a zygote for a run with env (m as a map) in dir. It
// marks it failed when it cannot run aws, and homeBroken when it cannot
// replace HOME.
func (c *CLI) startZygote(m map[string]string, env []string, dir string, homeDep bool) *zygote {
	z := &zygote{env: m, dir: dir, homeDep: homeDep, pending: make(map[uint64]chan reply), done: make(chan struct{})}
	interp := c.interp
	if !strings.Contains(interp, "/") {
		interp = lookPathIn(interp, m["PATH"])
	}
	if interp == "" {
		z.failed = true
		return z
	}
	// Unless aws names the interpreter, check that this one gives what
	// aws gives.
	var check chan checked
	if !c.script {
		check = make(chan checked, 1)
		go func() {
			r, err := c.runProcess(env, dir, []string{"--version"})
			check <- checked{r, err}
		}()
	}
	launch := make(map[string]string, len(m)+1)
	for k, v := range m {
		launch[k] = v
	}
	sentinel := ""
	if !homeDep {
		b := make([]byte, 12)
		_, _ = rand.Read(b)
		sentinel = "/nonexistent/awsclitest-home-" + hex.EncodeToString(b)
		launch["HOME"] = sentinel
	}
	var args []string
	if c.interpArg != "" {
		args = append(args, c.interpArg)
	}
	z.cmd = exec.Command(interp, append(args, "-c", zygoteSource)...)
	z.cmd.Dir = dir
	z.cmd.Env = make([]string, 0, len(launch))
	for k, v := range launch {
		z.cmd.Env = append(z.cmd.Env, k+"="+v)
	}
	z.cmd.Stderr = &z.stderr
	stdin, err := z.cmd.StdinPipe()
	if err != nil {
		z.failed = true
		return z
	}
	stdout, err := z.cmd.StdoutPipe()
	if err != nil {
		z.failed = true
		return z
	}
	if err := z.cmd.Start(); err != nil {
		z.failed = true
		return z
	}
	z.stdin = stdin
	hello := make(chan reply, 1)
	go z.read(stdout, hello)
	script := ""
	if c.script {
		script = c.path
	}
	ready := reply{}
	timer := time.NewTimer(startTimeout)
	defer timer.Stop()
	if err := z.send(map[string]any{"env": launch, "script": script, "home": sentinel}); err == nil {
		select {
		case ready = <-hello:
		case <-z.done:
		case <-timer.C:
		}
	}
	switch {
	case !ready.Ready:
		z.failed = true
	case !ready.Home:
		z.homeBroken = true
	default:
		z.deps, z.cwd = ready.Deps, ready.Cwd
	}
	if check != nil && !z.failed && !z.homeBroken {
		want := <-check
		got, err := z.run(c, env, dir, []string{"--version"})
		if want.err != nil || err != nil || got != want.r {
			z.failed = true
		}
	}
	if z.failed || z.homeBroken {
		z.stop()
	}
	return z
}

// checked is the result of a run.
type checked struct {
	r   Result
	err error
}

// lookPathIn returns the executable file name in the absolute directories
// of path, or "".
func lookPathIn(name, path string) string {
	for _, dir := range filepath.SplitList(path) {
		if !filepath.IsAbs(dir) {
			continue
		}
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}

// stop ends a zygote that serves no run.
func (z *zygote) stop() {
	if z.cmd.Process != nil {
		z.cmd.Process.Kill()
	}
}

// send writes v to the zygote as a line of JSON.
func (z *zygote) send(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	z.wmu.Lock()
	defer z.wmu.Unlock()
	_, err = z.stdin.Write(append(b, '\n'))
	return err
}

// read passes the zygote's first reply to hello and the others to the runs
// waiting for them, until it exits.
func (z *zygote) read(r io.Reader, hello chan<- reply) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	first := true
	for sc.Scan() {
		var rep reply
		if err := json.Unmarshal(sc.Bytes(), &rep); err != nil {
			z.stderr.Write([]byte(fmt.Sprintf("\nawsclitest: bad reply %q: %v\n", sc.Bytes(), err)))
			z.cmd.Process.Kill()
			break
		}
		if first {
			first = false
			hello <- rep
			continue
		}
		z.mu.Lock()
		ch := z.pending[rep.ID]
		delete(z.pending, rep.ID)
		z.mu.Unlock()
		if ch != nil {
			ch <- rep
		}
	}
	io.Copy(io.Discard, r)
	err := z.cmd.Wait()
	z.mu.Lock()
	defer z.mu.Unlock()
	z.dead = fmt.Errorf("the AWS CLI zygote (pid %d) exited: %v; its stderr: %q", z.cmd.Process.Pid, err, z.stderr.String())
	close(z.done)
}

// run runs aws in a child of z.
func (z *zygote) run(c *CLI, env []string, dir string, args []string) (Result, error) {
	name := strings.Join(append([]string{"aws"}, args...), " ")
	stdout, err := tempFile()
	if err != nil {
		return Result{}, err
	}
	defer os.Remove(stdout)
	stderr, err := tempFile()
	if err != nil {
		return Result{}, err
	}
	defer os.Remove(stderr)

	req := request{Argv: append([]string{}, args...), Env: [][2]string{}, Cwd: dir, Stdout: stdout, Stderr: stderr}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		req.Env = append(req.Env, [2]string{k, v})
	}
	ch := make(chan reply, 1)
	c.mu.Lock()
	c.nextID++
	req.ID = c.nextID
	c.mu.Unlock()
	z.mu.Lock()
	if z.dead != nil {
		z.mu.Unlock()
		return Result{}, fmt.Errorf("%s: %w", name, z.dead)
	}
	z.pending[req.ID] = ch
	z.mu.Unlock()

	timer := time.NewTimer(c.timeout)
	defer timer.Stop()
	if err := z.send(req); err != nil {
		z.mu.Lock()
		delete(z.pending, req.ID)
		z.mu.Unlock()
		return Result{}, fmt.Errorf("%s: the AWS CLI zygote: %w", name, err)
	}
	var rep reply
	select {
	case rep = <-ch:
	case <-z.done:
		select {
		case rep = <-ch:
		default:
			z.mu.Lock()
			defer z.mu.Unlock()
			return Result{}, fmt.Errorf("%s: %w", name, z.dead)
		}
	case <-timer.C:
		z.mu.Lock()
		delete(z.pending, req.ID)
		z.mu.Unlock()
		z.send(map[string]uint64{"cancel": req.ID})
		return Result{}, fmt.Errorf("%s: no exit within %v", name, c.timeout)
	}
	switch {
	case rep.Error != "":
		return Result{}, fmt.Errorf("%s: %s", name, rep.Error)
	case rep.Fallback != "":
		return Result{}, fmt.Errorf("%s: %s: %w", name, rep.Fallback, errFallback)
	}
	out, err := os.ReadFile(stdout)
	if err != nil {
		return Result{}, err
	}
	errOut, err := os.ReadFile(stderr)
	if err != nil {
		return Result{}, err
	}
	r := Result{Code: rep.Code, Stdout: string(out), Stderr: string(errOut)}
	if rep.Code < 0 {
		return r, fmt.Errorf("%s: killed by signal %d; stderr: %q", name, -rep.Code, r.Stderr)
	}
	return r, nil
}

// tempFile creates an empty file for the output of a run and returns its
// name.
func tempFile() (string, error) {
	f, err := os.CreateTemp("", "awsclitest-*")
	if err != nil {
		return "", err
	}
	return f.Name(), f.Close()
}

// tail keeps the last 4 KiB written to it.
type tail struct {
	mu  sync.Mutex
	buf []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > 4096 {
		t.buf = append([]byte{}, t.buf[len(t.buf)-4096:]...)
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

//go:build e2e

package main

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/imdsopts/imdsopts/internal/testproc"
)

// binaryEnv is the environment of the built binary and the AWS CLI.
func binaryEnv(t *testing.T) []string {
	t.Helper()
	home := t.TempDir()
	env := []string{
		"HOME=" + home,
		"PATH=" + os.Getenv("PATH"),
		"AWS_ACCESS_KEY_ID=test",
		"AWS_SECRET_ACCESS_KEY=test",
		"AWS_DEFAULT_REGION=us-east-1",
		"AWS_CONFIG_FILE=" + filepath.Join(home, "config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(home, "credentials"),
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_MAX_ATTEMPTS=3", // the SDK's default: it retries a response cut short
		"AWS_PAGER=",
	}
	// The AWS CLI needs its Python environment.
	for _, k := range []string{"PYENV_ROOT", "PYENV_VERSION", "PYTHONPATH", "VIRTUAL_ENV", "LANG", "LC_ALL"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// binary builds the command once per test binary and returns its path.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "imdsopts-bin-")
		if buildErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "imdsopts")
		cmd := exec.Command("go", "build", "-o", binPath, ".")
		cmd.Env = startEnv
		buildOut, buildErr = cmd.CombinedOutput()
	})
	if buildErr != nil {
		t.Fatalf("go build: %v\n%s", buildErr, buildOut)
	}
	return binPath
}

// execute runs a program with env and returns what it produced.
func execute(t *testing.T, env []string, name string, args ...string) result {
	t.Helper()
	cmd := exec.Command(name, args...)
	testproc.Tie(cmd)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("%s %s: %v", name, strings.Join(args, " "), err)
		}
		code = ee.ExitCode()
	}
	return result{code, stdout.String(), stderr.String()}
}

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
	buildOut  []byte
	binDir    string
	// startEnv is the environment the tests started with, before any
	// t.Setenv: go build needs its HOME and caches.
	startEnv = os.Environ()
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

type hangingServer struct {
	url      string
	accepted chan struct{}
}

// hangingEndpoint accepts connections and reads requests without ever
// answering.
func hangingEndpoint(t *testing.T) *hangingServer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := &hangingServer{url: "http://" + l.Addr().String(), accepted: make(chan struct{})}
	var once sync.Once
	done := make(chan struct{})
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				buf := make([]byte, 4096)
				c.Read(buf)
				once.Do(func() { close(h.accepted) })
				<-done
				c.Close()
			}()
		}
	}()
	t.Cleanup(func() { close(done); l.Close() })
	return h
}

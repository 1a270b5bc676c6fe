//go:build unix

package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/imdsopts/imdsopts/internal/check"
)

// mkfifo makes a named pipe in a new directory. At the end of the test its
// other end is opened and closed once, so that a test that failed because
// the command blocked opening it does not leave a goroutine waiting.
func mkfifo(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	t.Cleanup(func() {
		for _, flag := range []int{os.O_WRONLY, os.O_RDONLY} {
			if f, err := os.OpenFile(p, flag|syscall.O_NONBLOCK, 0); err == nil {
				f.Close()
			}
		}
	})
	return p
}

// promptly runs fn, and fails the test if it has not returned after a
// long while: a command that opens a FIFO without a writer never returns.
// (The time is a watchdog, not part of what is tested.)
func promptly(t *testing.T, fn func() result) result {
	t.Helper()
	done := make(chan result, 1)
	go func() { done <- fn() }()
	select {
	case r := <-done:
		return r
	case <-time.After(30 * time.Second):
		t.Fatal("the command is blocked: it opened a FIFO that has no writer")
		return result{}
	}
}

// Every file the command line or the environment names is refused, before
// it can block, when it is not a regular file (here a FIFO that nobody
// writes to), naming the flag or variable, the path and the rule: a usage
// or configuration error, before any request.
func TestFIFOsAreRefused(t *testing.T) {
	fifo := mkfifo(t)
	rule := "must be a regular file, not a named pipe (FIFO)"
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"--role-arns-file", []string{"plan", "--role-arns-file", fifo, "--tags", "a=b", "--http-tokens", "required"}, "--role-arns-file " + check.Quote(fifo) + ": " + rule},
		{"--cli-input-json", []string{"modify-instance-metadata-options", "--cli-input-json", "file://" + fifo},
			`--cli-input-json: unable to load "file://` + fifo + `": ` + rule},
		{"emulator --seed", []string{"emulator", "--seed", fifo}, "--seed " + check.Quote(fifo) + ": " + rule},
		{"--emulator-seed", []string{"plan", "--emulator", "--emulator-seed", fifo, "--tags", "a=b", "--http-tokens", "required"}, "--emulator-seed " + check.Quote(fifo) + ": " + rule},
		{"--journal", []string{"apply", "--journal", fifo, "--tags", "a=b", "--http-tokens", "required"}, "journal " + fifo + ": " + rule},
		{"undo", []string{"undo", fifo}, "journal " + fifo + ": " + rule},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := promptly(t, func() result { return runEmbedded(t, tt.args...) })
			if r.code != exitUsage || !strings.Contains(r.stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", r.code, r.stderr, exitUsage, tt.want)
			}
		})
	}
}

// The files the SDK's configuration loader opens, and --ca-bundle, are
// refused the same way before the SDK opens them.
func TestFIFOsRefusedForTheSDK(t *testing.T) {
	rule := "must be a regular file, not a named pipe (FIFO)"
	for _, tt := range []struct {
		name, env string
		flags     []string
		want      string
	}{
		{"AWS_CONFIG_FILE", "AWS_CONFIG_FILE", nil, "AWS_CONFIG_FILE %s: " + rule},
		{"AWS_SHARED_CREDENTIALS_FILE", "AWS_SHARED_CREDENTIALS_FILE", nil, "AWS_SHARED_CREDENTIALS_FILE %s: " + rule},
		{"AWS_CA_BUNDLE", "AWS_CA_BUNDLE", nil, "AWS_CA_BUNDLE %s: " + rule},
		{"AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_WEB_IDENTITY_TOKEN_FILE", nil, "AWS_WEB_IDENTITY_TOKEN_FILE %s: " + rule},
		{"--ca-bundle", "", []string{"--ca-bundle"}, "--ca-bundle %s: " + rule},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sdkEnv(t)
			fifo := mkfifo(t)
			args := []string{"plan", "--tags", "a=b", "--http-tokens", "required"}
			if tt.env != "" {
				t.Setenv(tt.env, fifo)
				if tt.env == "AWS_WEB_IDENTITY_TOKEN_FILE" {
					t.Setenv("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/r")
				}
			} else {
				args = append(args, tt.flags[0], fifo)
			}
			r := promptly(t, func() result { return runSDK(t, args...) })
			want := strings.Replace(tt.want, "%s", check.Quote(fifo), 1)
			if r.code != exitConfig || !strings.Contains(r.stderr, want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", r.code, r.stderr, exitConfig, want)
			}
		})
	}
}

// A directory and a device are refused too, by the same rule.
func TestDevicesAndDirectoriesAreRefused(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		path, want string
	}{
		{dir, "--role-arns-file " + check.Quote(dir) + ": must be a regular file, not a directory"},
		{"/dev/zero", `--role-arns-file "/dev/zero": must be a regular file, not a device`},
	} {
		r := runFake(t, nil, "plan", "--role-arns-file", tt.path, "--tags", "a=b", "--http-tokens", "required")
		if r.code != exitUsage || !strings.Contains(r.stderr, tt.want) {
			t.Errorf("exit %d, stderr %q; want %q", r.code, r.stderr, tt.want)
		}
	}
}

//go:build e2e

package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imdsopts/imdsopts/internal/testenv"
	"github.com/imdsopts/imdsopts/internal/testproc"
)

// Ctrl-C stops the built binary's emulator: exit 0.
func TestE2EEmulatorBinaryStopsOnInterrupt(t *testing.T) {
	t.Parallel()
	bin := binary(t)
	cmd := exec.Command(bin, "emulator", "--instances", "2", "--no-log")
	testproc.Tie(cmd)
	cmd.Env = []string{"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH")}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	rd := bufio.NewReader(out)
	first, err := rd.ReadString('\n')
	if err != nil {
		cmd.Process.Kill()
		t.Fatalf("%v: %s", err, stderr.String())
	}
	url := emulatorURL(t, first)
	if _, err := clientOf(url).DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{}); err != nil {
		t.Error(err)
	}
	go io.Copy(io.Discard, rd)
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("after Ctrl-C: %v (want exit 0)\n%s", err, stderr.String())
	}
}

// TestE2EDeadEndpointBinary: against an endpoint nothing answers, plan and
// apply end at their first call, as describe does, with exit 255 and the
// connection error; nothing is retried for minutes first.
func TestE2EDeadEndpointBinary(t *testing.T) {
	t.Parallel()
	bin, env := binary(t), binaryEnv(t)
	url := closedEndpoint(t)
	for _, args := range [][]string{
		{"describe", "--endpoint-url", url, "--instance-id", "i-0123456789abcdef0"},
		{"plan", "--endpoint-url", url, "--tags", "env=prod", "--http-tokens", "required"},
		{"apply", "--endpoint-url", url, "--tags", "env=prod", "--http-tokens", "required"},
		{"apply", "--endpoint-url", url, "--instance-ids", "i-0123456789abcdef0", "--http-endpoint", "disabled"},
		{"modify-instance-metadata-options", "--endpoint-url", url, "--instance-id", "i-0123456789abcdef0", "--http-tokens", "required", "--wait"},
	} {
		r := execute(t, env, bin, args...)
		if r.code != exitOther || !strings.Contains(r.stderr, "connection refused") {
			t.Errorf("%s: exit %d, want %d with the connection error\nstdout %s\nstderr %s", args[0], r.code, exitOther, r.stdout, r.stderr)
		}
	}
}

// TestE2ESIGTERMIs130: SIGTERM ends a run as Ctrl-C does.
func TestE2ESIGTERMIs130(t *testing.T) {
	t.Parallel()
	bin, env := binary(t), binaryEnv(t)
	hang := hangingEndpoint(t)
	cmd := exec.Command(bin, "plan", "--endpoint-url", hang.url, "--tags", "env=prod", "--http-tokens", "required")
	cmd.Env = env
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	<-hang.accepted
	cmd.Process.Signal(syscall.SIGTERM)
	err := cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != exitInterrupted {
		t.Errorf("after SIGTERM: %v, want exit %d", err, exitInterrupted)
	}
}

// The built binary whose stdout is closed (a pipe whose reader has gone)
// is not killed by SIGPIPE: it writes the output to stderr and exits 255.
func TestE2EBinaryClosedStdout(t *testing.T) {
	t.Parallel()
	srv, client, _, id := motoInstance(t)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	defer w.Close()
	cmd := exec.Command(binary(t), "modify-instance-metadata-options", "--endpoint-url", srv.URL, "--instance-id", id, "--http-tokens", "required")
	cmd.Env = binaryEnv(t)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = w, &stderr
	err = cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitOther {
		t.Fatalf("exit: %v, want %d\nstderr:\n%s", err, exitOther, stderr.String())
	}
	if !strings.Contains(stderr.String(), "broken pipe") || !strings.Contains(stderr.String(), `"HttpTokens": "required"`) {
		t.Errorf("stderr:\n%s", stderr.String())
	}
	if got := currentOptions(t, client, id); got.HttpTokens != "required" {
		t.Errorf("moto has %+v", got)
	}
}

// --cli-input-json matches member names exactly, as the AWS CLI does; a
// wrongly cased member could otherwise send a downgrade.
func TestE2ECLIInputJSONExact(t *testing.T) {
	t.Parallel()
	f, _, id := newFake(t, "")
	if _, err := f.ModifyInstanceMetadataOptions(context.Background(), &ec2.ModifyInstanceMetadataOptionsInput{InstanceId: aws.String(id), HttpTokens: types.HttpTokensStateRequired}); err != nil {
		t.Fatal(err)
	}
	before := f.Calls("ModifyInstanceMetadataOptions")
	for _, tt := range []struct{ json, want string }{
		{`{"InstanceId": "` + id + `", "HttpTokens": "required", "httptokens": "optional"}`,
			`--cli-input-json: unknown parameter in input: "httptokens", must be one of: InstanceId, HttpTokens, HttpPutResponseHopLimit, HttpEndpoint, DryRun, HttpProtocolIpv6, InstanceMetadataTags`},
		{`{"instanceid": "` + id + `", "HttpTokens": "optional"}`, `unknown parameter in input: "instanceid"`},
		{`{"InstanceId": "` + id + `", "HttpTokens": "required", "HttpTokens": "optional"}`, "parameter HttpTokens given twice"},
		{`{"InstanceId": "` + id + `", "HttpTokens": null}`, "invalid type for parameter HttpTokens, value: null"},
		{`[]`, "--cli-input-json: must be a JSON object, not an array"},
		{`[{"InstanceId": "` + id + `"}]`, "must be a JSON object"},
		{`"{}"`, "must be a JSON object, not a string"},
	} {
		r := runFake(t, f, "modify-instance-metadata-options", "--cli-input-json", tt.json)
		wantCode(t, r, exitUsage)
		if !strings.Contains(r.stderr, tt.want) {
			t.Errorf("%s: stderr %q, want %q", tt.json, r.stderr, tt.want)
		}
	}
	if n := f.Calls("ModifyInstanceMetadataOptions") - before; n != 0 {
		t.Errorf("%d calls", n)
	}
	if got := currentOptions(t, f, id); got.HttpTokens != "required" {
		t.Errorf("downgraded: %+v", got)
	}
	// The same through the binary: exit 252, before any call (there is no
	// endpoint to call).
	r := execute(t, binaryEnv(t), binary(t), "modify-instance-metadata-options", "--endpoint-url", "http://127.0.0.1:1",
		"--cli-input-json", `{"InstanceId": "`+validID+`", "HttpTokens": "required", "httptokens": "optional"}`)
	wantCode(t, r, exitUsage)
	if !strings.Contains(r.stderr, `"httptokens"`) {
		t.Errorf("stderr %q", r.stderr)
	}
}

// A credential_process whose output is not valid JSON: the configuration
// error never prints that output, which holds the secret key.
func TestE2ECredentialProcessSecretNotPrinted(t *testing.T) {
	const secret = "TopSecretKey-0123456789abcdefghijklmn"
	dir := t.TempDir()
	script := filepath.Join(dir, "creds.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho '{\"Version\": 1, \"AccessKeyId\": \"AKIAEXAMPLE\", \"SecretAccessKey\": \""+secret+"\", \"SessionToken\": \"tok'\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	config := filepath.Join(dir, "config")
	if err := os.WriteFile(config, []byte("[default]\ncredential_process = "+script+"\nregion = us-east-1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	check := func(name string, r result) {
		t.Helper()
		wantCode(t, r, exitConfig)
		if strings.Contains(r.stderr, secret) || strings.Contains(r.stderr, secret[:12]) || !strings.Contains(r.stderr, "credential_process") {
			t.Errorf("%s: stderr %q", name, r.stderr)
		}
	}
	args := []string{"describe", "--endpoint-url", "http://127.0.0.1:1", "--instance-id", validID}
	sdkEnv(t)
	t.Setenv("AWS_CONFIG_FILE", config)
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	check("in-process", runSDK(t, args...))
	check("in-process --debug", runSDK(t, append(args, "--debug")...))

	var env []string
	for _, kv := range binaryEnv(t) {
		if !strings.HasPrefix(kv, "AWS_ACCESS_KEY_ID=") && !strings.HasPrefix(kv, "AWS_SECRET_ACCESS_KEY=") && !strings.HasPrefix(kv, "AWS_CONFIG_FILE=") {
			env = append(env, kv)
		}
	}
	check("binary", execute(t, append(env, "AWS_CONFIG_FILE="+config), binary(t), args...))
}

// modify-instance-metadata-options without any option would send an empty
// change (moto took it to wipe HttpTokens); it is refused before any call.
func TestE2EModifyRequiresAnOption(t *testing.T) {
	t.Parallel()
	f, _, id := newFake(t, "")
	for _, args := range [][]string{
		{"--instance-id", id},
		{"--instance-id", id, "--dry-run"},
		{"--instance-id", id, "--wait"},
		{"--cli-input-json", `{"InstanceId": "` + id + `"}`},
		{"--cli-input-json", `{"InstanceId": "` + id + `", "DryRun": false}`},
	} {
		r := runFake(t, f, append([]string{"modify-instance-metadata-options"}, args...)...)
		wantCode(t, r, exitUsage)
		if !strings.Contains(r.stderr, "at least one of --http-tokens, --http-put-response-hop-limit, --http-endpoint, --http-protocol-ipv6, --instance-metadata-tags is required") {
			t.Errorf("%q: stderr %q", args, r.stderr)
		}
	}
	if n := countCalls(f); n != 0 {
		t.Errorf("%d calls", n)
	}
	r := execute(t, binaryEnv(t), binary(t), "modify-instance-metadata-options", "--endpoint-url", "http://127.0.0.1:1", "--instance-id", validID)
	wantCode(t, r, exitUsage)
}

// closedEndpoint returns the URL of a loopback port that refuses every
// connection, and that no server can take while the test runs.
func closedEndpoint(t *testing.T) string {
	t.Helper()
	return testenv.RefusedURL(t)
}

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestConfigurationErrors(t *testing.T) {
	sdkEnv(t)
	args := []string{"describe", "--endpoint-url", "http://127.0.0.1:1", "--instance-id", validID}
	r := runSDK(t, append(args, "--profile", "nosuchprofile")...)
	wantCode(t, r, exitConfig)
	if !strings.Contains(r.stderr, "nosuchprofile") {
		t.Errorf("stderr %q", r.stderr)
	}
	r = runSDK(t, append(args, "--ca-bundle", filepath.Join(t.TempDir(), "missing.pem"))...)
	wantCode(t, r, exitConfig)
	bad := filepath.Join(t.TempDir(), "bad.pem")
	if err := os.WriteFile(bad, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	r = runSDK(t, append(args, "--ca-bundle", bad)...)
	wantCode(t, r, exitConfig)
	t.Setenv("AWS_DEFAULT_REGION", "")
	r = runSDK(t, args...)
	wantCode(t, r, exitConfig)
	if !strings.Contains(r.stderr, "region") {
		t.Errorf("stderr %q", r.stderr)
	}
	// Nothing listens on port 1: not a service error.
	r = runSDK(t, append(args, "--region", "us-east-1")...)
	wantCode(t, r, exitOther)
	// Anonymous requests need no credentials.
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	r = runSDK(t, append(args, "--region", "us-east-1", "--no-sign-request")...)
	wantCode(t, r, exitOther)
}

func TestRedact(t *testing.T) {
	in := "POST / HTTP/1.1\r\nAuthorization: AWS4-HMAC-SHA256 Credential=AKID/x, Signature=abc\r\nX-Amz-Security-Token: tok\r\n\r\n" +
		"<SecretAccessKey>s3cr3t</SecretAccessKey><SessionToken>tok2</SessionToken>" +
		`{"roleCredentials":{"secretAccessKey":"s4","sessionToken":"t4"}} https://x/?X-Amz-Signature=sig&a=b the key KNOWNSECRET`
	out := redact(in, []string{"KNOWNSECRET"})
	for _, s := range []string{"AWS4-HMAC", "Signature=abc", "tok\r", "s3cr3t", "tok2", `"s4"`, `"t4"`, "sig&", "KNOWNSECRET"} {
		if strings.Contains(out, s) {
			t.Errorf("%q survives:\n%s", s, out)
		}
	}
}

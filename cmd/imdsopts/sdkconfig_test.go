package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/smithy-go/logging"
)

// Configuration errors say what to do: a profile that does not exist
// names the flag and how to list and make profiles; missing credentials
// name the ways to give them.
func TestConfigurationAdvice(t *testing.T) {
	sdkEnv(t)
	r := runSDK(t, "describe", "--instance-id", "i-0123456789abcdef0", "--profile", "nope")
	wantCode(t, r, exitConfig)
	if !strings.Contains(r.stderr, `--profile "nope": no such profile in `) || !strings.Contains(r.stderr, "aws configure list-profiles") {
		t.Errorf("missing profile: %q", r.stderr)
	}
	t.Setenv("AWS_PROFILE", "gone")
	r = runSDK(t, "describe", "--instance-id", "i-0123456789abcdef0")
	wantCode(t, r, exitConfig)
	if !strings.Contains(r.stderr, `AWS_PROFILE "gone": no such profile in `) {
		t.Errorf("missing AWS_PROFILE: %q", r.stderr)
	}
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	r = runSDK(t, "describe", "--instance-id", "i-0123456789abcdef0")
	wantCode(t, r, exitConfig)
	if !strings.Contains(r.stderr, "unable to locate credentials (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, give --profile NAME") {
		t.Errorf("no credentials: %q", r.stderr)
	}
}

// The CLI's own credentials from an instance role are read with an IMDSv2
// session token only: where the token is refused, it does not fall back to
// IMDSv1 (the SDK's default, with a WARN line on stderr), and no request
// without a token reaches the metadata service.
func TestNoIMDSv1ForItsOwnCredentials(t *testing.T) {
	sdkEnv(t)
	var mu sync.Mutex
	var seen []string
	imds := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Method+" "+r.URL.Path)
		mu.Unlock()
		if r.Method == http.MethodPut {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		// What IMDSv1 would answer, were it asked.
		switch r.URL.Path {
		case "/latest/meta-data/iam/security-credentials/":
			w.Write([]byte("role"))
		default:
			w.Write([]byte(`{"Code": "Success", "AccessKeyId": "AKIAV1", "SecretAccessKey": "v1", "Token": "v1", "Expiration": "2100-01-01T00:00:00Z"}`))
		}
	}))
	defer imds.Close()
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "false")
	t.Setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.URL)
	r := runSDK(t, "describe", "--instance-id", "i-0123456789abcdef0", "--endpoint-url", "http://127.0.0.1:1")
	wantCode(t, r, exitConfig)
	mu.Lock()
	defer mu.Unlock()
	for _, s := range seen {
		if !strings.HasPrefix(s, "PUT ") {
			t.Errorf("a request without a token reached IMDS: %s (all: %v)", s, seen)
		}
	}
	if len(seen) == 0 || strings.Contains(r.stderr, "IMDSv1") && strings.Contains(r.stderr, "falling back") {
		t.Errorf("requests %v, stderr %q", seen, r.stderr)
	}
}

// The SDK's warnings reach stderr as notes, credentials removed; its
// other log lines, and the warning about a response body not read to its
// end (a lost connection reuse), do not.
func TestSDKWarnings(t *testing.T) {
	var b strings.Builder
	s := &secrets{}
	s.add("s3cr3t-value")
	l := &warningLogger{w: &b, secrets: s}
	l.Logf(logging.Warn, "failed to discard remaining HTTP response body, this may affect connection reuse: %v", "EOF")
	l.Logf(logging.Debug, "request %s", "GET /")
	l.Logf(logging.Warn, "profile uses %s\x1b[31m", "s3cr3t-value")
	if want := "imdsopts: note: the AWS SDK warns: profile uses [REDACTED]\\x1b[31m\n"; b.String() != want {
		t.Errorf("stderr %q, want %q", b.String(), want)
	}
}

// A Region from the environment is checked before any call, as --region
// is: with an endpoint URL, nothing else would notice a typo.
func TestRegionTypoFromTheEnvironment(t *testing.T) {
	sdkEnv(t)
	t.Setenv("AWS_DEFAULT_REGION", "euwest-1")
	r := runSDK(t, "describe", "--instance-id", "i-0123456789abcdef0", "--endpoint-url", "http://127.0.0.1:1")
	wantCode(t, r, exitConfig)
	if want := `the Region (from AWS_REGION, AWS_DEFAULT_REGION or the profile) "euwest-1": not a Region's name; did you mean eu-west-1?`; !strings.Contains(r.stderr, want) {
		t.Errorf("stderr %q, want %q", r.stderr, want)
	}
}

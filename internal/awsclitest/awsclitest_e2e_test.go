//go:build e2e

package awsclitest_test

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/imdsopts/imdsopts/internal/awsclitest"
	"github.com/imdsopts/imdsopts/internal/testenv"
)

// describeInstances is EC2's answer to DescribeInstances: one instance.
const describeInstances = `<?xml version="1.0" encoding="UTF-8"?>
<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
  <requestId>8f7724cf-496f-496e-8fe3-0123456789ab</requestId>
  <reservationSet>
    <item>
      <reservationId>r-0123456789abcdef0</reservationId>
      <ownerId>123456789012</ownerId>
      <groupSet/>
      <instancesSet>
        <item>
          <instanceId>i-0123456789abcdef0</instanceId>
          <imageId>ami-0123456789abcdef0</imageId>
          <instanceState><code>16</code><name>running</name></instanceState>
          <instanceType>t3.micro</instanceType>
          <launchTime>2024-01-02T03:04:05.000Z</launchTime>
          <tagSet><item><key>Name</key><value>wéb ☁</value></item></tagSet>
          <metadataOptions>
            <state>applied</state>
            <httpTokens>required</httpTokens>
            <httpPutResponseHopLimit>2</httpPutResponseHopLimit>
            <httpEndpoint>enabled</httpEndpoint>
            <httpProtocolIpv6>disabled</httpProtocolIpv6>
            <instanceMetadataTags>disabled</instanceMetadataTags>
          </metadataOptions>
        </item>
      </instancesSet>
    </item>
  </reservationSet>
</DescribeInstancesResponse>
`

// ec2Server answers the EC2 query protocol: DescribeInstances with
// describeInstances, any other action with an error.
func ec2Server(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.ParseForm() != nil || r.PostForm.Get("Action") != "DescribeInstances" {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `<Response><Errors><Error><Code>InvalidAction</Code><Message>%s %s</Message></Error></Errors><RequestID>x</RequestID></Response>`,
				r.Method, r.PostForm.Get("Action"))
			return
		}
		w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
		fmt.Fprint(w, describeInstances)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// closedURL returns the URL of a loopback port that refuses every
// connection, and that no other server can take while the test runs.
func closedURL(t *testing.T) string {
	t.Helper()
	return testenv.RefusedURL(t)
}

// baseEnv is an environment isolated from the machine's configuration,
// with an empty HOME.
func baseEnv(t *testing.T) []string {
	t.Helper()
	home := t.TempDir()
	env := []string{
		"HOME=" + home, "PATH=" + os.Getenv("PATH"),
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

// process runs aws as a process, as tests did before this package.
func process(t *testing.T, env []string, dir string, args ...string) awsclitest.Result {
	t.Helper()
	path, err := exec.LookPath("aws")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(path, args...)
	cmd.Env = append([]string{}, env...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	r := awsclitest.Result{Stdout: stdout.String(), Stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.Code = ee.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	return r
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// without returns env without the variable key.
func without(env []string, key string) []string {
	var out []string
	for _, kv := range env {
		if key == "" || !strings.HasPrefix(kv, key+"=") {
			out = append(out, kv)
		}
	}
	return out
}

// cat returns a new slice of a followed by b.
func cat(a []string, b ...string) []string {
	return append(append([]string{}, a...), b...)
}

// Every run gives what aws run as a process gives, byte for byte.
func TestE2ERunIsProcess(t *testing.T) {
	t.Parallel()
	cli := awsclitest.Find(t)
	url := ec2Server(t).URL
	describe := []string{"ec2", "describe-instances", "--endpoint-url", url}

	configured := t.TempDir() // a HOME with a configuration and an alias
	writeFile(t, filepath.Join(configured, ".aws", "config"), "[default]\noutput = text\n")
	writeFile(t, filepath.Join(configured, ".aws", "cli", "alias"), "[toplevel]\ndi = ec2 describe-instances\n")
	profiles := filepath.Join(t.TempDir(), "profiles")
	writeFile(t, profiles, "[profile p]\noutput = table\nregion = eu-west-1\naws_access_key_id = p\naws_secret_access_key = p\n")
	input := t.TempDir() // a directory with an input file
	writeFile(t, filepath.Join(input, "input.json"), `{"InstanceIds": ["i-0123456789abcdef0"]}`)

	cases := []struct {
		name  string
		env   []string // added to baseEnv
		unset string   // removed from baseEnv
		dir   string
		args  []string
		code  int
	}{
		{name: "version", args: []string{"--version"}},
		{name: "usage error", args: []string{"ec2", "modify-instance-metadata-options"}, code: 2},
		{name: "invalid choice", args: []string{"ec2", "describe-instancez"}, code: 2},
		{name: "invalid choice not ASCII", args: []string{"ec2", "décrire-☁"}, code: 2},
		{name: "unknown option", args: cat(describe, "--bogus"), code: 255},
		{name: "nothing listens", args: []string{"ec2", "describe-instances", "--endpoint-url", closedURL(t), "--cli-connect-timeout", "1"}, code: 255},
		{name: "json", args: describe},
		{name: "text", args: cat(describe, "--output", "text")},
		{name: "table", args: cat(describe, "--output", "table")},
		{name: "query", args: cat(describe, "--output", "text", "--query", "Reservations[].Instances[].[InstanceId, MetadataOptions.HttpTokens, Tags[0].Value]")},
		{name: "bad query", args: cat(describe, "--query", "Reservations[]."), code: 255},
		{name: "AWS_DEFAULT_OUTPUT text", env: []string{"AWS_DEFAULT_OUTPUT=text"}, args: describe},
		{name: "AWS_DEFAULT_OUTPUT table", env: []string{"AWS_DEFAULT_OUTPUT=table"}, args: describe},
		{name: "AWS_DEFAULT_OUTPUT json", env: []string{"AWS_DEFAULT_OUTPUT=json"}, args: describe},
		{name: "profile in AWS_CONFIG_FILE", env: []string{"AWS_CONFIG_FILE=" + profiles}, args: cat([]string{"--profile", "p"}, describe...)},
		{name: "profile not in the default file", args: cat([]string{"--profile", "p"}, describe...), code: 255},
		{name: "configuration in HOME", env: []string{"HOME=" + configured}, args: describe},
		{name: "alias in HOME", env: []string{"HOME=" + configured}, args: []string{"di", "--endpoint-url", url}},
		{name: "alias not in HOME", args: []string{"di", "--endpoint-url", url}, code: 2},
		{name: "no HOME", unset: "HOME", args: cat(describe, "--output", "text")},
		{name: "relative file in dir", dir: input, args: cat(describe, "--cli-input-json", "file://input.json")},
		{name: "relative file not in dir", dir: t.TempDir(), args: cat(describe, "--cli-input-json", "file://input.json"), code: 255},
		{name: "other locale", env: []string{"LC_ALL=C", "LANG=C"}, args: cat(describe, "--output", "table")},
		{name: "AWS_DATA_PATH", env: []string{"AWS_DATA_PATH=" + t.TempDir()}, args: cat(describe, "--output", "text")},
		{name: "invalid UTF-8", args: []string{"ec2", "describe-\xff"}, code: 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := append(without(baseEnv(t), tc.unset), tc.env...)
			var want awsclitest.Result
			done := make(chan struct{})
			go func() {
				defer close(done)
				want = process(t, env, tc.dir, tc.args...)
			}()
			got, err := cli.Run(env, tc.dir, tc.args...)
			<-done
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("aws %q: Run differs from a process (-process +Run):\n%s", tc.args, diff)
			}
			if got.Code != tc.code {
				t.Errorf("aws %q: exit %d, want %d; stderr:\n%s", tc.args, got.Code, tc.code, got.Stderr)
			}
		})
	}
}

// Runs at once give what they give one after the other.
func TestE2EConcurrentRuns(t *testing.T) {
	t.Parallel()
	cli := awsclitest.Find(t)
	url := ec2Server(t).URL
	env := baseEnv(t)
	outputs := []string{"json", "text", "table", "yaml"}
	type run struct {
		env  []string
		args []string
	}
	var runs []run
	for i := range 20 {
		r := run{env: env, args: []string{"ec2", "describe-instances", "--endpoint-url", url, "--output", outputs[i%len(outputs)]}}
		switch i % 5 {
		case 1:
			r.env = append(append([]string{}, env...), "AWS_DEFAULT_OUTPUT=text")
			r.args = r.args[:4]
		case 2:
			r.args = append(r.args, "--query", fmt.Sprintf("Reservations[%d]", i%2))
		case 3:
			r.args = []string{"ec2", "describe-instances", "--instance-ids", fmt.Sprintf("i-%d", i), "--endpoint-url", closedURL(t), "--cli-connect-timeout", "1"}
		}
		runs = append(runs, r)
	}
	sequential := make([]awsclitest.Result, len(runs))
	for i, r := range runs {
		var err error
		if sequential[i], err = cli.Run(r.env, "", r.args...); err != nil {
			t.Fatal(err)
		}
	}
	concurrent := make([]awsclitest.Result, len(runs))
	errs := make([]error, len(runs))
	var wg sync.WaitGroup
	for i, r := range runs {
		wg.Go(func() { concurrent[i], errs[i] = cli.Run(r.env, "", r.args...) })
	}
	wg.Wait()
	for i := range runs {
		if errs[i] != nil {
			t.Errorf("run %d: %v", i, errs[i])
		} else if diff := cmp.Diff(sequential[i], concurrent[i]); diff != "" {
			t.Errorf("run %d (aws %q): concurrent differs from sequential (-sequential +concurrent):\n%s", i, runs[i].args, diff)
		}
	}
}

// The mean time of a call, through Run and as a process.
func TestE2ETimePerCallFigures(t *testing.T) {
	t.Parallel()
	if os.Getenv("IMDSOPTS_FIGURES") != "1" {
		t.Skip("prints figures only with IMDSOPTS_FIGURES=1")
	}
	cli := awsclitest.Find(t)
	url := ec2Server(t).URL
	env := baseEnv(t)
	args := []string{"ec2", "describe-instances", "--endpoint-url", url, "--output", "text"}
	if _, err := cli.Run(env, "", args...); err != nil { // starts the zygote of env
		t.Fatal(err)
	}
	const calls = 10
	start := time.Now()
	for range calls {
		if r, err := cli.Run(env, "", args...); err != nil || r.Code != 0 {
			t.Fatalf("Run: %v, %+v", err, r)
		}
	}
	perRun := time.Since(start) / calls
	start = time.Now()
	for range calls {
		if r := process(t, env, "", args...); r.Code != 0 {
			t.Fatalf("process: %+v", r)
		}
	}
	perProcess := time.Since(start) / calls
	t.Logf("aws ec2 describe-instances, mean of %d calls: Run %v, process %v (%.1fx)",
		calls, perRun.Round(time.Millisecond), perProcess.Round(time.Millisecond), float64(perProcess)/float64(perRun))
}

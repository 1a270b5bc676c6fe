package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/imdsopts/imdsopts"
	"github.com/imdsopts/imdsopts/fake"
	"github.com/imdsopts/imdsopts/fleet"
)

// These tests are written against the command's behaviour only (exit codes
// and output), so that they also run against earlier versions of it.

// runIO runs the command in-process with the given stdout and terminal.
func runIO(ctx context.Context, f *fake.EC2, stdout io.Writer, tty bool, stdin string, args ...string) (code int, stderr string) {
	var errb bytes.Buffer
	code = runWith(ctx, args, strings.NewReader(stdin), stdout, &errb, noEnv, fakeAPI(f), withTerminal(tty))
	return code, errb.String()
}

// countCalls returns the calls f answered, of every operation the command
// line makes.
func countCalls(f *fake.EC2) int {
	n := 0
	for _, op := range []string{"ModifyInstanceMetadataOptions", "DescribeInstances", "DescribeImages", "GetInstanceMetadataDefaults"} {
		n += f.Calls(op)
	}
	return n
}

// A --query that compiles but cannot work on the command's output is refused
// before anything is sent, with a message that quotes the expression.
func TestQueryRefusedBeforeSending(t *testing.T) {
	f, image, id := newFake(t, "")
	for _, tt := range []struct {
		query string
		args  []string
	}{
		{"abs(InstanceId)", []string{"modify-instance-metadata-options", "--instance-id", id, "--http-tokens", "required"}},
		{"nosuch(@)", []string{"modify-instance-metadata-options", "--instance-id", id, "--http-tokens", "required", "--wait"}},
		{"InstanceMetadataOptions.abs(HttpTokens)", []string{"describe", "--instance-id", id}},
		{"abs(HttpTokens)", []string{"resolve", "--image-id", image}},
		{"abs(Items)", []string{"plan", "--instance-ids", id, "--http-endpoint", "enabled"}},
		{"length(Counts, Calls)", []string{"apply", "--instance-ids", id, "--http-endpoint", "enabled"}},
		{"Items[?starts_with(Status)]", []string{"apply", "--instance-ids", id, "--http-endpoint", "enabled"}},
	} {
		before := countCalls(f)
		r := runFake(t, f, append(tt.args, "--query", tt.query)...)
		wantCode(t, r, exitUsage)
		if n := countCalls(f) - before; n != 0 || r.stdout != "" {
			t.Errorf("%s --query %s: %d calls made, stdout %q", tt.args[0], tt.query, n, r.stdout)
		}
		if !strings.Contains(r.stderr, `--query "`+tt.query+`": `) || strings.Contains(r.stderr, "0x") || strings.Contains(r.stderr, "{{") {
			t.Errorf("%s --query %s: stderr %q", tt.args[0], tt.query, r.stderr)
		}
	}
	if got := currentOptions(t, f, id); got.HttpTokens != "optional" {
		t.Errorf("the instance changed: %+v", got)
	}
}

// A query that passes on the output's shape but fails on the real output
// is noticed after the change is made: the output is printed without it,
// and the exit status does not claim that nothing was sent.
func TestQueryFailingAfterSending(t *testing.T) {
	f := fake.New(func(o *fake.Options) { o.ApplyDelay = time.Hour }) // answers State pending
	img, err := f.RegisterImage(context.Background(), &ec2.RegisterImageInput{Name: aws.String("base")})
	if err != nil {
		t.Fatal(err)
	}
	out, err := f.RunInstances(context.Background(), &ec2.RunInstancesInput{ImageId: img.ImageId, MinCount: aws.Int32(1), MaxCount: aws.Int32(1)})
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(out.Instances[0].InstanceId)
	r := runFake(t, f, "modify-instance-metadata-options", "--instance-id", id, "--http-tokens", "required",
		"--query", "(InstanceMetadataOptions.State == 'pending') && abs(InstanceId)")
	wantCode(t, r, exitOther)
	doc := parseJSON(t, r.stdout).(map[string]any)
	if doc["InstanceId"] != id || doc["InstanceMetadataOptions"].(map[string]any)["State"] != "pending" {
		t.Errorf("stdout %s", r.stdout)
	}
	if !strings.Contains(r.stderr, `--query "(InstanceMetadataOptions.State == 'pending') && abs(InstanceId)": `) || !strings.Contains(r.stderr, "without it") {
		t.Errorf("stderr %q", r.stderr)
	}
	if f.Calls("ModifyInstanceMetadataOptions") != 1 {
		t.Errorf("%d calls", f.Calls("ModifyInstanceMetadataOptions"))
	}

	synctest.Test(t, func(t *testing.T) {
		e := newFleetEnv(t, func(o *fake.Options) { o.ApplyDelay = 0 })
		a := e.launch(t, optional, "env=prod")
		b := e.launch(t, optional, "env=prod")
		// No Error in the report: length fails on null.
		r := e.run(t, t.Context(), false, "apply", "--tags", "env=prod", "--http-endpoint", "disabled", "--query", "Items[].length(Error)")
		wantCode(t, r, exitOther)
		if st := statuses(t, r.stdout); st[a] != "applied" || st[b] != "applied" {
			t.Errorf("report %s", r.stdout)
		}
		if !strings.Contains(r.stderr, `--query "Items[].length(Error)": `) {
			t.Errorf("stderr %q", r.stderr)
		}
		// When the run fails too, its failure decides the exit status, and
		// both are said. (Not on a or b: their endpoint is now disabled, so
		// tokens cannot be required of them, which their Error would say.)
		c := e.launch(t, optional, "env=dev")
		r = e.run(t, t.Context(), false, "plan", "--instance-ids", c, "i-0000000000000dead", "--http-tokens", "required", "--query", "Items[].length(Error)")
		wantCode(t, r, exitService)
		if st := statuses(t, r.stdout); st[c] != "change" || st["i-0000000000000dead"] != "failed" {
			t.Errorf("plan %s", r.stdout)
		}
		if !strings.Contains(r.stderr, "1 of 2 instance(s) failed") || !strings.Contains(r.stderr, `--query "Items[].length(Error)"`) {
			t.Errorf("stderr %q", r.stderr)
		}
	})
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

// When stdout cannot be written, what was done goes to stderr, and the exit
// is 255: in every subcommand that acts or reads.
func TestStdoutFailureKeepsTheOutput(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newFleetEnv(t, func(o *fake.Options) { o.ApplyDelay = 0 })
		id := e.launch(t, optional, "env=prod")
		stopped := e.launch(t, optional, "env=stopped")
		if _, err := e.ec2.StopInstances(context.Background(), &ec2.StopInstancesInput{InstanceIds: []string{stopped}}); err != nil {
			t.Fatal(err)
		}
		for _, tt := range []struct {
			args []string
			want string // in stderr, after the error
		}{
			{[]string{"modify-instance-metadata-options", "--instance-id", id, "--http-tokens", "required"}, `"InstanceId": "` + id + `"`},
			{[]string{"modify-instance-metadata-options", "--allow-downgrade", "--instance-id", id, "--http-put-response-hop-limit", "2", "--wait"}, `"HttpPutResponseHopLimit": 2`},
			{[]string{"modify-instance-metadata-options", "--allow-downgrade", "--instance-id", stopped, "--http-put-response-hop-limit", "2", "--wait"}, `"State": "pending"`},
			{[]string{"describe", "--instance-id", id}, `"InstanceId": "` + id + `"`},
			{[]string{"resolve", "--image-id", e.image}, `"Source": "default"`},
			// A raised hop limit weakens the instance: --allow-downgrade.
			{[]string{"plan", "--tags", "env=prod", "--http-put-response-hop-limit", "3", "--allow-downgrade"}, `"Status": "change"`},
			{[]string{"apply", "--tags", "env=prod", "--http-put-response-hop-limit", "3", "--allow-downgrade"}, `"Status": "applied"`},
			{[]string{"apply", "--tags", "env=prod", "--http-put-response-hop-limit", "4", "--allow-downgrade", "--output", "text"}, "applied"},
			{[]string{"apply", "--tags", "env=prod", "--http-put-response-hop-limit", "5", "--allow-downgrade", "--output", "table"}, "fleet.Apply"},
		} {
			var errb bytes.Buffer
			code := runWith(t.Context(), tt.args, strings.NewReader(""), failingWriter{}, &errb, noEnv,
				func(context.Context, *globals, io.Writer) (API, error) { return e.ec2, nil })
			stderr := errb.String()
			if code != exitOther || !strings.Contains(stderr, "disk full") || !strings.Contains(stderr[strings.Index(stderr, "disk full"):], tt.want) {
				t.Errorf("%q: exit %d, stderr:\n%s", tt.args, code, stderr)
			}
		}
		if got := currentOptions(t, e.ec2, id); aws.ToInt32(got.HttpPutResponseHopLimit) != 5 {
			t.Errorf("not applied: %+v", got)
		}
	})
}

// Once EC2 has accepted the change, a wait that fails prints the options
// last seen before the error, whose exit status says what failed.
func TestWaitFailurePrintsWhatWasSeen(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newFleetEnv(t, func(o *fake.Options) { o.ApplyDelay = time.Hour })
		id := e.launch(t, optional)
		r := e.run(t, t.Context(), false, "modify-instance-metadata-options", "--instance-id", id, "--http-tokens", "required", "--wait", "--wait-timeout", "1m")
		wantCode(t, r, exitOther)
		if !strings.Contains(r.stdout, `"State": "pending"`) || !strings.Contains(r.stdout, `"HttpTokens": "required"`) ||
			!strings.Contains(r.stderr, "EC2 accepted the change, but it was not seen applied") || !strings.Contains(r.stderr, "timed out") {
			t.Errorf("timeout: stdout %s\nstderr %s", r.stdout, r.stderr)
		}
		// DescribeInstances refused: the answer of the change is printed.
		e.ec2.FailNext("DescribeInstances", 1, fake.NewAPIError(403, "UnauthorizedOperation", "You are not authorized to perform this operation."))
		r = e.run(t, t.Context(), false, "modify-instance-metadata-options", "--allow-downgrade", "--instance-id", id, "--http-put-response-hop-limit", "3", "--wait")
		wantCode(t, r, exitService)
		if !strings.Contains(r.stdout, `"HttpPutResponseHopLimit": 3`) || !strings.Contains(r.stderr, "(UnauthorizedOperation)") ||
			!strings.Contains(r.stderr, "EC2 accepted the change, but it was not seen applied") {
			t.Errorf("API error: stdout %s\nstderr %s", r.stdout, r.stderr)
		}
	})
}

// blockingMetrics is a CloudWatch whose GetMetricData answers only when the
// context ends.
type blockingMetrics struct{}

func (blockingMetrics) GetMetricData(ctx context.Context, _ *cloudwatch.GetMetricDataInput, _ ...func(*cloudwatch.Options)) (*cloudwatch.GetMetricDataOutput, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

// Ctrl-C exits 130 whatever shape the error has, after printing what was
// done: during plan's IMDSv1 gate (which holds the instances it could not
// read), and during modify --wait (which prints the options seen).
func TestInterruptedIs130(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newFleetEnv(t)
		id := e.launch(t, optional, "env=prod")
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan result)
		go func() {
			var stdout, stderr bytes.Buffer
			code := runWith(ctx, []string{"plan", "--tags", "env=prod", "--http-tokens", "required"}, strings.NewReader(""), &stdout, &stderr, noEnv,
				func(context.Context, *globals, io.Writer) (API, error) { return e.ec2, nil },
				withMetrics(func(context.Context, *globals, io.Writer) (fleet.MetricsAPI, error) { return blockingMetrics{}, nil }))
			done <- result{code, stdout.String(), stderr.String()}
		}()
		synctest.Wait() // the gate waits for CloudWatch
		cancel()
		r := <-done
		wantCode(t, r, exitInterrupted)
		if !strings.Contains(r.stderr, "interrupted") {
			t.Errorf("stderr %s", r.stderr)
		}
		// The plan made so far, when the library returns one: the
		// instance the gate could not read is held.
		if r.stdout != "" {
			if st := statuses(t, r.stdout); st[id] != "held" {
				t.Errorf("stdout %s", r.stdout)
			}
		}

		e = newFleetEnv(t, func(o *fake.Options) { o.ApplyDelay = time.Hour })
		id = e.launch(t, optional)
		ctx, cancel = context.WithCancel(t.Context())
		go func() {
			done <- e.run(t, ctx, false, "modify-instance-metadata-options", "--instance-id", id, "--http-tokens", "required", "--wait")
		}()
		time.Sleep(time.Minute)
		cancel()
		r = <-done
		wantCode(t, r, exitInterrupted)
		doc := parseJSON(t, r.stdout).(map[string]any)
		if doc["InstanceMetadataOptions"].(map[string]any)["State"] != "pending" || !strings.Contains(r.stderr, "interrupted: EC2 accepted the change, but it was not seen applied") {
			t.Errorf("stdout %s\nstderr %s", r.stdout, r.stderr)
		}
	})
}

// Waiting for --cli-input-json on standard input that nobody writes to (a
// terminal) ends on Ctrl-C too.
func TestInterruptedReadingStdin(t *testing.T) {
	r, w := io.Pipe()
	defer w.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	var stderr bytes.Buffer
	go func() {
		done <- runWith(ctx, []string{"modify-instance-metadata-options", "--cli-input-json", "-"}, r, io.Discard, &stderr, noEnv, fakeAPI(nil))
	}()
	cancel()
	if code := <-done; code != exitInterrupted {
		t.Errorf("exit %d, want %d; stderr %q", code, exitInterrupted, stderr.String())
	}
}

// On a terminal, modify --wait shows where the wait stands; the line is
// cleared before the output. Not on a file or pipe.
func TestModifyWaitProgress(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newFleetEnv(t, func(o *fake.Options) { o.ApplyDelay = 20 * time.Second })
		id := e.launch(t, optional)
		r := e.run(t, t.Context(), true, "modify-instance-metadata-options", "--instance-id", id, "--http-tokens", "required", "--wait")
		wantCode(t, r, exitOK)
		line := regexp.MustCompile(`\r  ` + id + `: options pending, instance running; attempt [0-9]+, [0-9]+s waited, next poll in [0-9]+s`)
		if n := len(line.FindAllString(r.stderr, -1)); n < 5 {
			t.Errorf("%d progress lines in stderr %q", n, r.stderr)
		}
		if !strings.HasSuffix(r.stderr, "\r") || strings.TrimSpace(r.stderr[strings.LastIndex(r.stderr[:len(r.stderr)-1], "\r"):]) != "" {
			t.Errorf("the line is not cleared at the end: %q", r.stderr)
		}
		if doc := parseJSON(t, r.stdout).(map[string]any); doc["InstanceMetadataOptions"].(map[string]any)["State"] != "applied" {
			t.Errorf("stdout %s", r.stdout)
		}
		r = e.run(t, t.Context(), false, "modify-instance-metadata-options", "--allow-downgrade", "--instance-id", id, "--http-tokens", "optional", "--wait")
		wantCode(t, r, exitOK)
		if r.stderr != "" {
			t.Errorf("not a terminal: stderr %q", r.stderr)
		}
	})
}

// slowEC2 answers DescribeInstances after a delay.
type slowEC2 struct {
	*fake.EC2
	delay time.Duration
}

func (s slowEC2) DescribeInstances(ctx context.Context, in *ec2.DescribeInstancesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error) {
	time.Sleep(s.delay)
	return s.EC2.DescribeInstances(ctx, in, optFns...)
}

// On a terminal, a plan that takes time shows the calls as they happen.
func TestPlanProgress(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newFleetEnv(t)
		e.launch(t, optional, "env=prod")
		var stdout, stderr bytes.Buffer
		code := runWith(t.Context(), []string{"plan", "--tags", "env=prod", "--http-endpoint", "enabled"}, strings.NewReader(""), &stdout, &stderr, noEnv,
			func(context.Context, *globals, io.Writer) (API, error) { return slowEC2{e.ec2, 5 * time.Second}, nil }, withTerminal(true))
		if code != exitOK {
			t.Fatalf("exit %d: %s", code, stderr.String())
		}
		for _, want := range []string{"\r  0 calls (DescribeInstances 0 + 1 under way), 2s", "\r  0 calls (DescribeInstances 0 + 1 under way), 4s"} {
			if !strings.Contains(stderr.String(), want) {
				t.Errorf("stderr %q lacks %q", stderr.String(), want)
			}
		}
		if !strings.HasSuffix(stderr.String(), "\r") {
			t.Errorf("the line is not cleared: %q", stderr.String())
		}
	})
}

// apply and modify --wait on a stopped instance say the same: accepted,
// applies when it starts; exit 0.
func TestStoppedInstanceNote(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newFleetEnv(t)
		id := e.launch(t, optional, "env=prod")
		if _, err := e.ec2.StopInstances(context.Background(), &ec2.StopInstancesInput{InstanceIds: []string{id}}); err != nil {
			t.Fatal(err)
		}
		note := "imdsopts: note: " + id + " is stopped: EC2 accepted the change and applies it when the instance starts\n"
		r := e.run(t, t.Context(), false, "apply", "--tags", "env=prod", "--http-put-response-hop-limit", "2", "--allow-downgrade")
		wantCode(t, r, exitOK)
		if st := statuses(t, r.stdout)[id]; st != "pending-until-start" || r.stderr != note {
			t.Errorf("apply: %s, stderr %q", st, r.stderr)
		}
		r = e.run(t, t.Context(), false, "modify-instance-metadata-options", "--allow-downgrade", "--instance-id", id, "--http-put-response-hop-limit", "3", "--wait")
		wantCode(t, r, exitOK)
		if r.stderr != note || !strings.Contains(r.stdout, `"HttpPutResponseHopLimit": 3`) {
			t.Errorf("modify --wait: stdout %s, stderr %q", r.stdout, r.stderr)
		}
	})
}

// Values echoed in errors are cut to a short prefix and their length: a
// 1 MiB value is not echoed whole. (Whatever the length beyond the cut, the
// rule is the same; 1 MiB keeps the test quick under the race detector.)
func TestLongValuesShortened(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("x", 1<<20)
	digits := strings.Repeat("9", 1<<20)
	mod := func(args ...string) []string { return append([]string{"modify-instance-metadata-options"}, args...) }
	for _, args := range [][]string{
		mod("--instance-id", validID, "--http-tokens", big),
		mod("--instance-id", big, "--http-tokens", "required"),
		mod("--instance-id", validID, "--http-put-response-hop-limit", digits),
		mod("--instance-id", validID, "--wait-timeout", big, "--wait"),
		mod("--instance-id", validID, "--"+strings.Repeat("y", 1<<20)),
		mod("--instance-id", validID, "--http-tokens", "required", "--endpoint-url", "http"+big),
		mod("--instance-id", validID, "--http-tokens", "required", "--query", "["+big),
		mod("--instance-id", validID, "--http-tokens", "required", "--ca-bundle", big, "--no-verify-ssl"),
		mod("--cli-input-json", `{"InstanceId": "`+validID+`", "`+big[:512<<10]+`": 1}`),
		mod("--cli-input-json", `{"InstanceId": "`+validID+`", "HttpPutResponseHopLimit": "`+big[:512<<10]+`"}`),
		mod("--cli-input-json", `{"InstanceId": "`+validID+`", "HttpTokens": "`+big[:512<<10]+`"}`),
		mod("--instance-id", validID, "--generate-cli-skeleton", big),
		mod("--instance-id", validID, big),
		{big},
		{"help", big},
		{"plan", "--filters", "Name=" + big, "--http-tokens", "required"},
		{"plan", "--tags", "k=" + big, "k=y", "--http-tokens", "required"},
		{"plan", "--instance-ids", big, "--http-tokens", "required"},
		{"resolve", "--image-id", "ami-12345678", "--http-endpoint", big},
		{"describe", "--instance-id", validID, "--region", big},
	} {
		r := runFake(t, nil, args...)
		if r.code != exitUsage || len(r.stderr) > 1000 || !strings.Contains(r.stderr, " bytes)") {
			t.Errorf("%.60q: exit %d, %d bytes of stderr: %.300q", args, r.code, len(r.stderr), r.stderr)
		}
	}
}

// Values the SDK repeats in its errors (a profile's name) are shortened
// there too.
func TestSDKEchoesShortened(t *testing.T) {
	sdkEnv(t)
	big := strings.Repeat("p", 1<<20) + "\x1b[2J"
	r := runSDK(t, "describe", "--endpoint-url", "http://127.0.0.1:1", "--instance-id", validID, "--profile", big)
	wantCode(t, r, exitConfig)
	if len(r.stderr) > 1000 || !strings.Contains(r.stderr, "(1048580 bytes)") || strings.Contains(r.stderr, "\x1b") {
		t.Errorf("%d bytes of stderr: %.300q", len(r.stderr), r.stderr)
	}
}

// file:// and standard input are read with a limit: a large file is
// refused, not read until the memory runs out, and a device such as
// /dev/zero is refused before it is read.
func TestInputSizeLimit(t *testing.T) {
	large := filepath.Join(t.TempDir(), "large.json")
	if err := os.WriteFile(large, []byte(`{"InstanceId": "`+validID+`"`+strings.Repeat(" ", 2<<20)+"}"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ value, stdin, want string }{
		{"file://" + large, "", "more than 1 MiB"},
		{"fileb://" + large, "", "more than 1 MiB"},
		{"-", `{"InstanceId": "` + validID + `", "HttpTokens": "required"` + strings.Repeat(" ", 2<<20) + "}", "more than 1 MiB"},
		{"file:///dev/zero", "", `--cli-input-json: unable to load "file:///dev/zero": must be a regular file, not a device`},
	} {
		code, stderr := runIO(context.Background(), nil, io.Discard, false, tt.stdin, "modify-instance-metadata-options", "--cli-input-json", tt.value)
		if code != exitUsage || !strings.Contains(stderr, tt.want) {
			t.Errorf("%s: exit %d, stderr %q, want %q", tt.value, code, stderr, tt.want)
		}
	}
}

// Control characters in anything echoed (the user's values, the service's
// messages) are escaped: nothing printed can drive a terminal.
func TestControlCharactersEscaped(t *testing.T) {
	const evil = "bad\x1b[2J\x1b]0;pwned\a\rforged line\u202e"
	check := func(name string, r result) {
		t.Helper()
		for _, out := range []string{r.stdout, r.stderr} {
			if strings.ContainsAny(out, "\x1b\r\a\u202e") {
				t.Errorf("%s: raw control characters in %q", name, out)
			}
		}
		if !strings.Contains(r.stderr, `\x1b[2J`) && !strings.Contains(r.stdout, `\x1b[2J`) && !strings.Contains(r.stdout, `\u001b[2J`) {
			t.Errorf("%s: the value is not shown escaped: stdout %q stderr %q", name, r.stdout, r.stderr)
		}
	}
	mod := func(args ...string) []string { return append([]string{"modify-instance-metadata-options"}, args...) }
	for _, args := range [][]string{
		mod("--instance-id", validID, "--http-tokens", evil),
		mod("--instance-id", evil, "--http-tokens", "required"),
		mod("--instance-id", validID, "--http-put-response-hop-limit", evil),
		mod("--instance-id", validID, "--"+evil),
		mod("--instance-id", validID, "--http-tokens", "required", "--query", "abs(`\""+evil+"\"`)"),
		mod("--cli-input-json", `{"`+strings.NewReplacer("\x1b", `\u001b`, "\a", `\u0007`, "\r", `\r`).Replace(evil)+`": 1}`),
		{evil},
		{"plan", "--filters", "Name=" + evil, "--http-tokens", "required"},
	} {
		check(strings.Join(args, " "), runFake(t, nil, args...))
	}

	// The service's messages, on stderr and in a fleet report of every
	// format.
	f, _, id := newFake(t, "")
	f.FailNext("ModifyInstanceMetadataOptions", 1, fake.NewAPIError(400, "InvalidParameterValue", evil))
	r := runFake(t, f, mod("--instance-id", id, "--http-tokens", "required")...)
	wantCode(t, r, exitService)
	check("API error", r)
	for _, format := range []string{"json", "text", "table"} {
		f.FailNext("ModifyInstanceMetadataOptions", 1, fake.NewAPIError(400, "InvalidParameterValue", evil))
		r = runFake(t, f, "apply", "--instance-ids", id, "--http-endpoint", "disabled", "--output", format)
		wantCode(t, r, exitService)
		check("apply --output "+format, r)
	}
}

// The password of an --endpoint-url is never printed: not in a usage error,
// not in the debug log, not in the error of a failed call.
func TestEndpointPasswordRedacted(t *testing.T) {
	const password = "Pa55w0rd-do-not-print"
	r := runFake(t, nil, "describe", "--instance-id", validID, "--endpoint-url", "http://user:"+password+"@[::1")
	wantCode(t, r, exitUsage)
	if strings.Contains(r.stderr, password) || !strings.Contains(r.stderr, "user:xxxxx@") {
		t.Errorf("stderr %q", r.stderr)
	}
	sdkEnv(t)
	r = runSDK(t, "describe", "--debug", "--instance-id", validID, "--endpoint-url", "http://user:"+password+"@127.0.0.1:1")
	wantCode(t, r, exitOther)
	if strings.Contains(r.stdout+r.stderr, password) || !strings.Contains(r.stderr, "endpoint http://user:xxxxx@127.0.0.1:1") {
		t.Errorf("stderr %q", r.stderr)
	}
}

// invalidAfterCall answers DescribeInstances with an error that matches
// imdsopts.ErrInvalid, as a future library or a wrapper might.
type invalidAfterCall struct{ *fake.EC2 }

func (invalidAfterCall) DescribeInstances(context.Context, *ec2.DescribeInstancesInput, ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error) {
	return nil, fmt.Errorf("refused after the call: %w", imdsopts.ErrInvalid)
}

// Once a call is made, the exit status never says that nothing was sent
// (252, 253), whatever the error matches.
func TestNoUsageExitAfterACall(t *testing.T) {
	f, _, id := newFake(t, "")
	var stdout, stderr bytes.Buffer
	code := runWith(context.Background(), []string{"describe", "--instance-id", id}, strings.NewReader(""), &stdout, &stderr, noEnv,
		func(context.Context, *globals, io.Writer) (API, error) { return invalidAfterCall{f}, nil })
	if code != exitOther || !strings.Contains(stderr.String(), "refused after the call") {
		t.Errorf("exit %d, stderr %q", code, stderr.String())
	}
}

// Mistyped flags and subcommands get the nearest name.
func TestSuggestions(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"aply"}, `unknown subcommand "aply"; did you mean apply?`},
		{[]string{"help", "descibe"}, `unknown subcommand "descibe"; did you mean describe?`},
		{[]string{"modify"}, `unknown subcommand "modify"; did you mean modify-instance-metadata-defaults or modify-instance-metadata-options?`},
		{[]string{"modify-instance-metadata-option"}, `unknown subcommand "modify-instance-metadata-option"; did you mean modify-instance-metadata-options?`},
		{[]string{"postur"}, `unknown subcommand "postur"; did you mean posture?`},
		{[]string{"nothing-like-it"}, `unknown subcommand "nothing-like-it"; run "imdsopts help"`},
		{[]string{"modify-instance-metadata-options", "--instance-id", validID, "--http-token", "required"}, "unknown option --http-token; did you mean --http-tokens?"},
		{[]string{"plan", "--tag", "a=b", "--http-tokens", "required"}, "unknown option --tag; did you mean --tags?"},
		{[]string{"--outptu", "text", "describe"}, "unknown option --outptu; did you mean --output?"},
		{[]string{"describe", "--instance-id", validID, "--zzz"}, "unknown option --zzz\n"},
	} {
		r := runFake(t, nil, tt.args...)
		wantCode(t, r, exitUsage)
		if !strings.Contains(r.stderr, tt.want) {
			t.Errorf("%q: stderr %q, want %q", tt.args, r.stderr, tt.want)
		}
	}
}

// The fleet's report says what a person needs: an instance held because
// its IMDSv1 history could not be read is "held: IMDSv1 use unknown", not
// "failed"; IMDSv1Calls appears only when the gate read it; the window is
// in days, as given.
func TestFleetReportWording(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newFleetEnv(t, func(o *fake.Options) { o.ApplyDelay = 0 })
		a := e.launch(t, optional, "env=prod")
		b := e.launch(t, required, "env=prod")
		// No gate: no IMDSv1Calls.
		r := e.run(t, t.Context(), false, "plan", "--tags", "env=prod", "--http-endpoint", "enabled")
		wantCode(t, r, exitOK)
		for id, it := range items(t, r.stdout) {
			if _, ok := it["IMDSv1Calls"]; ok {
				t.Errorf("%s: IMDSv1Calls without a gate: %v", id, it)
			}
		}
		// The gate read a's history (zero calls); b needs no change.
		r = e.run(t, t.Context(), false, "plan", "--tags", "env=prod", "--http-tokens", "required")
		wantCode(t, r, exitOK)
		it := items(t, r.stdout)
		if calls, ok := it[a]["IMDSv1Calls"]; !ok || calls != 0.0 {
			t.Errorf("%s: %v", a, it[a])
		}
		if _, ok := it[b]["IMDSv1Calls"]; ok {
			t.Errorf("%s: %v", b, it[b])
		}
		// CloudWatch refuses: a is held, its use unknown.
		for _, days := range []struct{ flag, text string }{{"14", "14 days"}, {"1", "1 day"}, {"30", "30 days"}} {
			e.cw.FailNext(1, fake.NewAPIError(403, "AccessDenied", "denied"))
			r = e.run(t, t.Context(), false, "apply", "--tags", "env=prod", "--http-tokens", "required", "--min-imdsv1-free-days", days.flag)
			wantCode(t, r, exitService)
			it = items(t, r.stdout)
			errText, _ := it[a]["Error"].(string)
			if it[a]["Status"] != "held" || !strings.Contains(errText, "unknown over the last "+days.text) || strings.Contains(errText, "h0m0s") {
				t.Errorf("%s days: %v", days.flag, it[a])
			}
			if _, ok := it[a]["IMDSv1Calls"]; ok {
				t.Errorf("%s days: IMDSv1Calls of an unread history: %v", days.flag, it[a])
			}
			if !strings.HasPrefix(r.stderr, "imdsopts: error: 1 of 2 instance(s) held: IMDSv1 use unknown; first: ") || strings.Contains(r.stderr, "instance(s) failed") ||
				!strings.Contains(r.stderr, days.text) {
				t.Errorf("%s days: stderr %q", days.flag, r.stderr)
			}
		}
		e.cw.FailNext(1, fake.NewAPIError(403, "AccessDenied", "denied"))
		r = e.run(t, t.Context(), false, "plan", "--tags", "env=prod", "--http-tokens", "required", "--output", "text")
		wantCode(t, r, exitService)
		if !strings.Contains(r.stdout, "unknown over the last 14 days") || strings.Contains(r.stdout, "336h") {
			t.Errorf("text:\n%s", r.stdout)
		}
	})
}

// Notes on stderr (which may hold what the service answered) are escaped
// and redacted as error messages are.
func TestNotesAreSafe(t *testing.T) {
	var b bytes.Buffer
	a := &app{stderr: &b, secrets: &secrets{}}
	a.secrets.add("SeCrEtVaLuE-123456")
	a.note("imdsopts: note: %s is stopped; key SeCrEtVaLuE-123456", "i-1\x1b[2J\r")
	if got, want := b.String(), "imdsopts: note: i-1\\x1b[2J\\r is stopped; key [REDACTED]\n"; got != want {
		t.Errorf("note %q, want %q", got, want)
	}
}

// Whatever the arguments, the command does not panic, and what it writes to
// stderr has no control character but line feeds and tabs. Its client fails
// every call.
func FuzzCommandLine(f *testing.F) {
	for _, s := range []string{"modify-instance-metadata-options --instance-id i-12345678 --http-tokens required", "plan --tags a=b --http-tokens required",
		"describe --instance-id \x1b[2J", "--output yaml describe", "apply --filters Name=a --http-endpoint on", "resolve --image-id ami-1 --query abs(@)",
		"modify-instance-metadata-options --cli-input-json {\"instanceid\":1}", "aply", "help plan", "--http-token x",
		"posture --min-imdsv1-free-days 0", "templates apply --http-tokens required --make-default", "images set-imdsv2 --image-ids ami-12345678",
		"modify-instance-metadata-defaults --http-tokens-enforced enabled --force", "get-instance-metadata-defaults --dry-run"} {
		f.Add(s)
	}
	failing := func(context.Context, *globals, io.Writer) (API, error) {
		return nil, errors.New("no client in this test")
	}
	f.Fuzz(func(t *testing.T, line string) {
		args := strings.Split(line, " ")
		var stdout, stderr bytes.Buffer
		code := runWith(context.Background(), args, strings.NewReader(""), &stdout, &stderr, noEnv, failing)
		if code != exitOK && code != exitUsage && code != exitConfig && code != exitOther {
			t.Fatalf("%q: exit %d\n%s", args, code, stderr.String())
		}
		if strings.ContainsFunc(stderr.String(), func(r rune) bool { return r < 0x20 && r != '\n' && r != '\t' || r == 0x7f || r == 0x1b }) {
			t.Fatalf("%q: control characters in stderr %q", args, stderr.String())
		}
	})
}

// Where stderr is not a terminal, a long apply writes a plain progress line
// of its own every plainEvery, and its last state at the end; a quick
// command writes none.
func TestPlainProgress(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newFleetEnv(t, func(o *fake.Options) { o.ApplyDelay = 25 * time.Second })
		for range 3 {
			e.launch(t, optional, "env=prod")
		}
		plain := func(a *app) { a.plainProgress = true }
		var stdout, stderr bytes.Buffer
		code := runWith(t.Context(), []string{"apply", "--tags", "env=prod", "--http-tokens", "required", "--output", "text"},
			strings.NewReader(""), &stdout, &stderr, noEnv, fakeAPI(e.ec2), withMetrics(func(context.Context, *globals, io.Writer) (fleet.MetricsAPI, error) {
				return e.cw, nil
			}), withTerminal(false), plain)
		if code != exitOK {
			t.Fatalf("exit %d\n%s", code, stderr.String())
		}
		lines := strings.Split(strings.TrimSuffix(stderr.String(), "\n"), "\n")
		if len(lines) < 3 || strings.Contains(stderr.String(), "\r") {
			t.Fatalf("stderr %q: want a line every %v and the last state", stderr.String(), plainEvery)
		}
		for _, l := range lines {
			if !strings.HasPrefix(l, "imdsopts: progress: ") || strings.HasPrefix(l, "imdsopts: progress:  ") {
				t.Errorf("line %q", l)
			}
		}
		if last := lines[len(lines)-1]; !strings.Contains(last, "3/3 applied 3") {
			t.Errorf("last line %q", last)
		}
		stderr.Reset()
		code = runWith(t.Context(), []string{"describe", "--instance-id", e.launch(t, optional)}, strings.NewReader(""), &stdout, &stderr, noEnv,
			fakeAPI(e.ec2), withTerminal(false), plain)
		if code != exitOK || stderr.Len() != 0 {
			t.Errorf("describe: exit %d, stderr %q", code, stderr.String())
		}
	})
}

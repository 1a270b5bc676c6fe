package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/imdsopts/imdsopts/account"
	"github.com/imdsopts/imdsopts/fake"
)

// syncBuffer is a buffer written by the command's goroutine and read by
// the test's; written is closed at the first write.
type syncBuffer struct {
	mu      sync.Mutex
	b       bytes.Buffer
	once    sync.Once
	written chan struct{}
}

func newSyncBuffer() *syncBuffer { return &syncBuffer{written: make(chan struct{})} }

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.once.Do(func() { close(s.written) })
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// emulatorURL is the URL at the end of the first line of the emulator's
// output.
func emulatorURL(t *testing.T, out string) string {
	t.Helper()
	first, _, _ := strings.Cut(out, "\n")
	const prefix = "imdsopts emulator: EC2 and CloudWatch at "
	if !strings.HasPrefix(first, prefix) {
		t.Fatalf("first line %q does not give the URL", first)
	}
	return strings.TrimPrefix(first, prefix)
}

func clientOf(url string) *ec2.Client {
	return ec2.NewFromConfig(aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(url)}, func(o *ec2.Options) { o.RetryMaxAttempts = 1 })
}

// The emulator serves until its context ends, logs every request, and
// ends with exit 0.
func TestEmulatorServesUntilInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stdout, stderr := newSyncBuffer(), newSyncBuffer()
	done := make(chan int)
	go func() {
		done <- runWith(ctx, []string{"emulator", "--instances", "3", "--log", "--apply-delay", "0"}, strings.NewReader(""), stdout, stderr, noEnv, nil)
	}()
	select {
	case <-stdout.written:
	case code := <-done:
		t.Fatalf("exit %d before serving: %s", code, stderr.String())
	}
	url := emulatorURL(t, stdout.String())
	for _, want := range []string{
		"seeded with 1 image(s) and 3 instance(s): 3 running, 0 stopped, 0 terminated; 3 with IMDSv1 history in CloudWatch",
		"export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-east-1",
		"aws ec2 describe-instances --endpoint-url " + url,
		"imdsopts plan --endpoint-url " + url,
		"Stop it with Ctrl-C.",
	} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, stdout.String())
		}
	}
	client := clientOf(url)
	out, err := client.DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(out.Reservations[0].Instances); n != 3 {
		t.Errorf("%d instances, want 3", n)
	}
	_, err = client.ModifyInstanceMetadataOptions(ctx, &ec2.ModifyInstanceMetadataOptionsInput{InstanceId: aws.String("i-xyz"), HttpTokens: types.HttpTokensStateRequired})
	if errCode(err) != "InvalidInstanceID.Malformed" {
		t.Errorf("malformed ID: %v", err)
	}
	cancel()
	if code := <-done; code != exitOK {
		t.Errorf("exit %d after Ctrl-C, want 0: %s", code, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], " EC2        DescribeInstances                200 -  ") ||
		!strings.Contains(lines[1], " EC2        ModifyInstanceMetadataOptions    400 InvalidInstanceID.Malformed") {
		t.Errorf("log:\n%s", stderr.String())
	}
	if _, err := client.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{}); err == nil {
		t.Error("the emulator still answers after it stopped")
	}
}

// --propagation-delay, over HTTP: an instance RunInstances launches is not
// found for the delay, by ID or in listings, and cannot be modified; the
// seeded instances are found at once.
func TestEmulatorPropagationDelay(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stdout, stderr := newSyncBuffer(), newSyncBuffer()
	done := make(chan int)
	go func() {
		done <- runWith(ctx, []string{"emulator", "--instances", "2", "--no-log", "--propagation-delay", "1h"}, strings.NewReader(""), stdout, stderr, noEnv, nil)
	}()
	select {
	case <-stdout.written:
	case code := <-done:
		t.Fatalf("exit %d before serving: %s", code, stderr.String())
	}
	client := clientOf(emulatorURL(t, stdout.String()))
	count := func() int {
		t.Helper()
		out, err := client.DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, r := range out.Reservations {
			n += len(r.Instances)
		}
		return n
	}
	if n := count(); n != 2 {
		t.Fatalf("%d seeded instances found, want 2", n)
	}
	images, err := client.DescribeImages(ctx, &ec2.DescribeImagesInput{})
	if err != nil {
		t.Fatal(err)
	}
	run, err := client.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: images.Images[0].ImageId, MinCount: aws.Int32(1), MaxCount: aws.Int32(1)})
	if err != nil {
		t.Fatal(err)
	}
	id := run.Instances[0].InstanceId
	_, err = client.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{aws.ToString(id)}})
	if errCode(err) != "InvalidInstanceID.NotFound" {
		t.Errorf("DescribeInstances of the new instance: %v, want InvalidInstanceID.NotFound", err)
	}
	_, err = client.ModifyInstanceMetadataOptions(ctx, &ec2.ModifyInstanceMetadataOptionsInput{InstanceId: id, HttpTokens: types.HttpTokensStateRequired})
	if errCode(err) != "InvalidInstanceID.NotFound" {
		t.Errorf("ModifyInstanceMetadataOptions of the new instance: %v, want InvalidInstanceID.NotFound", err)
	}
	if n := count(); n != 2 {
		t.Errorf("%d instances listed, want the 2 seeded", n)
	}
	cancel()
	if code := <-done; code != exitOK {
		t.Errorf("exit %d, want 0: %s", code, stderr.String())
	}
}

func writeSeed(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "seed.json")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// Bad command lines and seed files: exit 252 before anything is served,
// with a message that names the field, the value and the rule.
func TestEmulatorRefusesBadInput(t *testing.T) {
	tests := []struct {
		name string
		args []string
		seed string
		want string
	}{
		{"both seeds", []string{"--instances", "2"}, `{}`, "give one or the other"},
		{"instances 0", []string{"--instances", "0"}, "", "invalid value \"0\" for flag --instances: must be a whole number, 1..100000"},
		{"negative delay", []string{"--apply-delay", "-1s"}, "", "must be 0 or more, at most a day"},
		{"propagation delay", []string{"--propagation-delay", "soon"}, "", `invalid value "soon" for flag --propagation-delay: must be a duration`},
		{"bad addr", []string{"--addr", "localhost"}, "", `--addr "localhost": must be HOST:PORT`},
		// The seed's own rules are fake.ReadSeed's and fake.Seed.Apply's,
		// tested there; the command names the file and exits 252.
		{"not JSON", nil, `{"Images": [`, ": seed file: the document.Images: unexpected EOF"},
		{"key case", nil, `{"images": []}`, `: the document: unknown key "images" (the keys are "Images", "Instances",`},
		{"count", nil, `{"Instances": [{"Count": 0}]}`, "Instances[0].Count 0: must be 1..100000"},
		{"hop limit", nil, `{"Instances": [{"Count": 1, "MetadataOptions": {"HttpPutResponseHopLimit": 65}}]}`,
			"seed Instances[0]: InvalidParameterValue: Value (65) for parameter HttpPutResponseHopLimit is invalid."},
		{"group name rule", nil, `{"LaunchTemplates": [{"Name": "tpl", "Versions": [{}]}], "AutoScalingGroups": [{"Name": "a:b", "LaunchTemplate": "tpl"}]}`,
			"seed AutoScalingGroups[0]: ValidationError"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"emulator"}, tt.args...)
			if tt.seed != "" {
				args = append(args, "--seed", writeSeed(t, tt.seed))
			}
			r := runFake(t, nil, args...)
			wantCode(t, r, exitUsage)
			if !strings.Contains(r.stderr, tt.want) || r.stdout != "" {
				t.Errorf("stderr %q, want it to contain %q; stdout %q", r.stderr, tt.want, r.stdout)
			}
		})
	}
}

// apply --emulator with a seed: the report of the run against the
// in-process emulator, over HTTP with the SDK's clients.
func TestApplyAgainstEmbeddedEmulator(t *testing.T) {
	t.Parallel()
	seed := writeSeed(t, `{"Instances": [
		{"Count": 3, "MetadataNoToken": {"PerDay": 0}},
		{"Count": 2, "MetadataNoToken": {"PerDay": 7}},
		{"Count": 1, "State": "stopped", "MetadataNoToken": {"PerDay": 0}}]}`)
	var stdout, stderr bytes.Buffer
	// A context that can end, as main's does: fleet.Apply stops waiting at
	// once under context.Background (see the report).
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	code := run(ctx, []string{"apply", "--emulator", "--emulator-seed", seed, "--filters", "Name=instance-state-name,Values=running,stopped",
		"--http-tokens", "required", "--query", "Counts"}, strings.NewReader(""), &stdout, &stderr, noEnv)
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, stderr.String())
	}
	var counts map[string]float64
	if err := json.Unmarshal(stdout.Bytes(), &counts); err != nil {
		t.Fatalf("%v\n%s", err, stdout.String())
	}
	if counts["applied"] != 3 || counts["pending-until-start"] != 1 || counts["held"] != 2 {
		t.Errorf("counts %v, want 3 applied, 1 pending-until-start, 2 held (IMDSv1 users)\n%s", counts, stderr.String())
	}
	if !strings.Contains(stderr.String(), "imdsopts: --emulator: an in-process EC2 and CloudWatch at http://127.0.0.1:") ||
		!strings.Contains(stderr.String(), "nothing is sent to AWS") {
		t.Errorf("stderr does not say the run is against the emulator:\n%s", stderr.String())
	}

	for _, args := range [][]string{
		{"plan", "--emulator", "--endpoint-url", "http://127.0.0.1:1", "--tags", "a=b", "--http-tokens", "required"},
		{"plan", "--emulator", "--profile", "prod", "--tags", "a=b", "--http-tokens", "required"},
		{"plan", "--emulator-seed", seed, "--tags", "a=b", "--http-tokens", "required"},
	} {
		r := runFake(t, nil, args...)
		wantCode(t, r, exitUsage)
	}
}

// errCode returns the API error code of err, or "".
func errCode(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return ""
}

// The realistic account: 200 instances, as the README counts them, 4 of
// them launched by a group, and the templates that keep it from being
// ready to enforce.
func TestRealisticAccount(t *testing.T) {
	f := fake.New()
	cw := fake.NewCloudWatch(func(o *fake.CloudWatchOptions) { o.EC2 = f })
	as := fake.NewAutoScaling(f)
	seed, err := fake.BuiltinSeed("realistic")
	if err != nil {
		t.Fatal(err)
	}
	sum, err := seedAccount(context.Background(), f, as, cw, seed)
	if err != nil {
		t.Fatal(err)
	}
	if got := sum.String(); got != "seeded with 2 image(s) and 200 instance(s): 171 running, 28 stopped, 1 terminated; 199 with IMDSv1 history in CloudWatch; 2 launch template(s), 1 Auto Scaling group(s); 2 with software that calls IMDSv1 once it requires tokens" {
		t.Errorf("summary %q", got)
	}
	p, err := account.GetPosture(context.Background(), account.Clients{EC2: f, AutoScaling: as, CloudWatch: cw})
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, b := range p.Blockers {
		kinds = append(kinds, string(b.Kind)+" "+b.Subject())
	}
	want := []string{
		"group-launch-template launch template payments-web (lt-00000000000000001) version 1, group payments-web",
		"launch-template-default-version launch template batch-worker (lt-00000000000000002) version 1",
	}
	if diff := cmp.Diff(want, kinds); diff != "" {
		t.Errorf("blockers (-want +got):\n%s", diff)
	}
	if len(p.AutoScalingGroups) != 1 || !p.AutoScalingGroups[0].IMDSv1.Clean || p.IMDSv1.UsedIMDSv1 != 50 {
		t.Errorf("groups %+v, IMDSv1 %+v", p.AutoScalingGroups, p.IMDSv1)
	}
}

// --idle-timeout: the emulator stops once no request has come for the
// timeout, counted from its start or its last request; 0 serves on.
func TestEmulatorIdleTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := &requestLog{}
		served := make(chan error)
		start := time.Now()
		done := make(chan error)
		go func() { done <- l.serveUntil(t.Context(), served, time.Hour) }()
		time.Sleep(50 * time.Minute)
		l.record(fake.RequestRecord{})
		time.Sleep(59 * time.Minute)
		synctest.Wait()
		select {
		case err := <-done:
			t.Fatalf("stopped %v after the start, 59 minutes after a request: %v", time.Since(start), err)
		default:
		}
		if err := <-done; err != nil || time.Since(start) != 110*time.Minute {
			t.Errorf("stopped %v after the start (%v), want 50m + 1h", time.Since(start), err)
		}

		ctx, cancel := context.WithCancel(t.Context())
		go func() { done <- l.serveUntil(ctx, served, 0) }()
		time.Sleep(1000 * time.Hour)
		synctest.Wait()
		select {
		case <-done:
			t.Fatal("--idle-timeout 0 stopped the emulator")
		default:
		}
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
}

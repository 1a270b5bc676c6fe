package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/imdsopts/imdsopts"
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
		{"not JSON", nil, `{"Images": [`, "seed file"},
		{"key case", nil, `{"images": []}`, `the file: unknown key "images" (the keys are "Images", "Instances", "LaunchTemplates", "AutoScalingGroups", "AccountDefaults", "DeclarativePolicy", spelled exactly so)`},
		{"key twice", nil, `{"Images": [], "Images": []}`, `the file: key "Images" given twice`},
		{"nested key", nil, `{"Instances": [{"Count": 1, "MetadataOptions": {"HttpTokens": "required", "httptokens": "optional"}}]}`,
			`the file.Instances[0].MetadataOptions: unknown key "httptokens"`},
		{"count", nil, `{"Instances": [{"Count": 0}]}`, "Instances[0].Count 0: must be 1..100000"},
		{"too many", nil, `{"Instances": [{"Count": 60000}, {"Count": 60000}]}`, "the Instances and the groups' DesiredCapacity add up to 120000; at most 100000"},
		{"state", nil, `{"Instances": [{"Count": 1, "State": "pending"}]}`, `Instances[0].State "pending": must be "running", "stopped" or "terminated"`},
		{"image", nil, `{"Images": [{"Name": "a"}], "Instances": [{"Count": 1, "Image": "b"}]}`, `Instances[0].Image "b": not an image of the file`},
		{"imds support", nil, `{"Images": [{"Name": "a", "ImdsSupport": "v1"}]}`, `Images[0].ImdsSupport "v1": must be "v2.0" or absent`},
		{"hop limit", nil, `{"Instances": [{"Count": 1, "MetadataOptions": {"HttpPutResponseHopLimit": 65}}]}`,
			"seed Instances[0]: InvalidParameterValue: Value (65) for parameter HttpPutResponseHopLimit is invalid."},
		{"enforced optional", nil, `{"Instances": [{"Count": 1}], "AccountDefaults": {"HttpTokensEnforced": "on"}}`,
			"seed AccountDefaults: InvalidParameterValue: Value (on) for parameter HttpTokensEnforced is invalid."},
		{"days", nil, `{"Instances": [{"Count": 1, "MetadataNoToken": {"PerDay": 1, "Days": 0}}]}`, "Instances[0].MetadataNoToken.Days 0: must be 1..455"},
		{"template name", nil, `{"LaunchTemplates": [{"Versions": [{}]}]}`, "LaunchTemplates[0].Name: required"},
		{"policy", nil, `{"DeclarativePolicy": {"HttpTokensEnforced": "on"}}`, "seed DeclarativePolicy: "},
		{"template twice", nil, `{"LaunchTemplates": [{"Name": "a", "Versions": [{}]}, {"Name": "a", "Versions": [{}]}]}`, `LaunchTemplates[1].Name "a": given twice`},
		{"template image", nil, `{"Images": [{"Name": "a"}], "LaunchTemplates": [{"Name": "t", "Image": "b", "Versions": [{}]}]}`, `LaunchTemplates[0].Image "b": not an image of the file`},
		{"template versions", nil, `{"LaunchTemplates": [{"Name": "t"}]}`, "LaunchTemplates[0].Versions: 0 given, must be 1..100"},
		{"template default", nil, `{"LaunchTemplates": [{"Name": "t", "Versions": [{}], "DefaultVersion": 2}]}`, "LaunchTemplates[0].DefaultVersion 2: must be a version of the template, 1..1"},
		{"template options", nil, `{"LaunchTemplates": [{"Name": "tpl", "Versions": [{"MetadataOptions": {"HttpTokens": "Required"}}]}]}`, "seed LaunchTemplates[0]: InvalidParameterValue"},
		{"template version options", nil, `{"LaunchTemplates": [{"Name": "tpl", "Versions": [{}, {"MetadataOptions": {"HttpPutResponseHopLimit": 65}}]}]}`, "seed LaunchTemplates[0].Versions[1]: InvalidParameterValue"},
		{"template name rule", nil, `{"LaunchTemplates": [{"Name": "a b", "Versions": [{}]}]}`, "seed LaunchTemplates[0]: InvalidLaunchTemplateName.MalformedException"},
		{"group name rule", nil, `{"LaunchTemplates": [{"Name": "tpl", "Versions": [{}]}], "AutoScalingGroups": [{"Name": "a:b", "LaunchTemplate": "tpl"}]}`,
			"seed AutoScalingGroups[0]: ValidationError"},
		{"group template", nil, `{"AutoScalingGroups": [{"Name": "g", "LaunchTemplate": "t"}]}`, `AutoScalingGroups[0].LaunchTemplate "t": not a launch template of the file`},
		{"group version", nil, `{"LaunchTemplates": [{"Name": "t", "Versions": [{}]}], "AutoScalingGroups": [{"Name": "g", "LaunchTemplate": "t", "Version": "2"}]}`,
			`AutoScalingGroups[0].Version "2": must be "$Default", "$Latest" or a version of the template, 1..1`},
		{"group version spelling", nil, `{"LaunchTemplates": [{"Name": "t", "Versions": [{}]}], "AutoScalingGroups": [{"Name": "g", "LaunchTemplate": "t", "Version": "$default"}]}`,
			`AutoScalingGroups[0].Version "$default"`},
		{"group capacity", nil, `{"LaunchTemplates": [{"Name": "t", "Versions": [{}]}], "AutoScalingGroups": [{"Name": "g", "LaunchTemplate": "t", "DesiredCapacity": 1001}]}`,
			"AutoScalingGroups[0].DesiredCapacity 1001: must be 0..1000"},
		{"group twice", nil, `{"LaunchTemplates": [{"Name": "t", "Versions": [{}]}], "AutoScalingGroups": [{"Name": "g", "LaunchTemplate": "t"}, {"Name": "g", "LaunchTemplate": "t"}]}`,
			`AutoScalingGroups[1].Name "g": given twice`},
		{"group metric", nil, `{"LaunchTemplates": [{"Name": "t", "Versions": [{}]}], "AutoScalingGroups": [{"Name": "g", "LaunchTemplate": "t", "MetadataNoToken": {"PerDay": -1}}]}`,
			"AutoScalingGroups[0].MetadataNoToken.PerDay -1: must be a number, 0 or more"},
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

// A seed file makes the account it describes.
func TestSeedAccount(t *testing.T) {
	s, err := readSeedFile(writeSeed(t, `{
		"Images": [{"Name": "old"}, {"Name": "new", "ImdsSupport": "v2.0"}],
		"Instances": [
			{"Count": 2, "Image": "old", "InstanceType": "t3.micro", "Tags": {"team": "a"},
			 "MetadataOptions": {"HttpTokens": "optional", "HttpPutResponseHopLimit": 3}, "MetadataNoToken": {"PerDay": 5, "Days": 2}},
			{"Count": 1, "Image": "new", "State": "stopped"},
			{"Count": 1, "Image": "old", "State": "terminated"}
		],
		"AccountDefaults": {"HttpTokens": "required", "HttpTokensEnforced": "enabled"}
	}`))
	if err != nil {
		t.Fatal(err)
	}
	f, cw := fake.New(), fake.NewCloudWatch()
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	sum, err := seedAccount(context.Background(), f, fake.NewAutoScaling(f), cw, s, now)
	if err != nil {
		t.Fatal(err)
	}
	if got := sum.String(); got != "seeded with 2 image(s) and 4 instance(s): 2 running, 1 stopped, 1 terminated; 2 with IMDSv1 history in CloudWatch" {
		t.Errorf("summary %q", got)
	}
	out, err := f.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range out.Reservations {
		for _, i := range r.Instances {
			tags := ""
			for _, tg := range i.Tags {
				tags += *tg.Key + "=" + *tg.Value
			}
			got = append(got, fmt.Sprintf("%s %s %s %s %s %d %s", *i.InstanceId, *i.ImageId, i.InstanceType, i.State.Name,
				i.MetadataOptions.HttpTokens, *i.MetadataOptions.HttpPutResponseHopLimit, tags))
		}
	}
	want := []string{
		"i-00000000000000001 ami-00000000000000001 t3.micro running optional 3 team=a",
		"i-00000000000000002 ami-00000000000000001 t3.micro running optional 3 team=a",
		"i-00000000000000003 ami-00000000000000002  stopped required 2 ",
		"i-00000000000000004 ami-00000000000000001  terminated optional 1 ",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("instances (-want +got):\n%s", diff)
	}
	d, err := f.GetInstanceMetadataDefaults(context.Background(), nil)
	if err != nil || d.AccountLevel.HttpTokens != "required" || d.AccountLevel.HttpTokensEnforced != "enabled" {
		t.Errorf("account defaults %+v, %v", d.AccountLevel, err)
	}
	m, err := cw.GetMetricData(context.Background(), metricQuery(now.Add(-14*24*time.Hour), now, "i-00000000000000001", "i-00000000000000003"))
	if err != nil {
		t.Fatal(err)
	}
	if v := m.MetricDataResults[0].Values; len(v) != 1 || v[0] != 10 {
		t.Errorf("MetadataNoToken of the first instance: %v, want one sum of 10 (2 days of 5)", v)
	}
	if v := m.MetricDataResults[1].Values; len(v) != 0 {
		t.Errorf("MetadataNoToken of an instance without history: %v, want no datapoints", v)
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
	// A context that can end, as main's does: ApplyFleet stops waiting at
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

// metricQuery asks for the daily MetadataNoToken sums of instances.
func metricQuery(start, end time.Time, instances ...string) *cloudwatch.GetMetricDataInput {
	in := &cloudwatch.GetMetricDataInput{StartTime: aws.Time(start), EndTime: aws.Time(end)}
	for n, id := range instances {
		in.MetricDataQueries = append(in.MetricDataQueries, cwtypes.MetricDataQuery{
			Id: aws.String(fmt.Sprintf("q%d", n)),
			MetricStat: &cwtypes.MetricStat{
				Metric: &cwtypes.Metric{Namespace: aws.String("AWS/EC2"), MetricName: aws.String("MetadataNoToken"),
					Dimensions: []cwtypes.Dimension{{Name: aws.String("InstanceId"), Value: aws.String(id)}}},
				Period: aws.Int32(int32(end.Sub(start).Seconds())), Stat: aws.String("Sum"),
			},
		})
	}
	return in
}

// errCode returns the API error code of err, or "".
func errCode(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return ""
}

// FuzzParseSeed parses arbitrary seed documents: no panic, and a document
// that parses seeds an account or is refused with a usage error.
func FuzzParseSeed(f *testing.F) {
	f.Add(`{"Images": [{"Name": "a", "ImdsSupport": "v2.0"}], "Instances": [{"Count": 2, "Image": "a", "State": "stopped",
		"MetadataOptions": {"HttpTokens": "optional", "HttpPutResponseHopLimit": 3}, "Tags": {"k": "v"},
		"MetadataNoToken": {"PerDay": 1.5, "Days": 3}}], "AccountDefaults": {"HttpTokensEnforced": "enabled"}}`)
	f.Add(`{"Instances": [{"Count": 1, "MetadataOptions": {"HttpPutResponseHopLimit": 65}}]}`)
	f.Add(`{"Images": [{"Name": ""}], "images": 1}`)
	f.Add(`[{"Count": 1}]`)
	f.Add(`{"LaunchTemplates": [{"Name": "web", "Versions": [{"MetadataOptions": {"HttpTokens": "optional"}}, {}], "DefaultVersion": 2}],
		"AutoScalingGroups": [{"Name": "web", "LaunchTemplate": "web", "Version": "1", "DesiredCapacity": 2, "Tags": {"k": "v"},
		"MetadataNoToken": {"PerDay": 0}}]}`)
	f.Add(`{"Instances": [{"Count": 1, "Tags": {"": "x", "k": "y", "k": "z"}}]} {}`)
	f.Fuzz(func(t *testing.T, doc string) {
		s, err := parseSeed([]byte(doc))
		if err != nil {
			return
		}
		total := 0
		for _, g := range s.Instances {
			total += g.Count
		}
		for _, g := range s.AutoScalingGroups {
			total += g.DesiredCapacity
		}
		if total > 50 {
			return // seeding cost, not parsing
		}
		f := fake.New()
		_, err = seedAccount(context.Background(), f, fake.NewAutoScaling(f), fake.NewCloudWatch(), s, time.Now())
		var ee *exitError
		if err != nil && (!errors.As(err, &ee) || ee.code != exitUsage) {
			t.Fatalf("seeding a parsed document failed with %v, want a usage error", err)
		}
	})
}

// Seeding an emulator that throttles takes no token: more groups than
// RunInstances' bucket of 5 launch, and its buckets are full afterwards.
func TestSeedThrottled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		doc := `{"LaunchTemplates": [{"Name": "web", "Versions": [{}]}], "AutoScalingGroups": [`
		for i := range 8 {
			if i > 0 {
				doc += ", "
			}
			doc += fmt.Sprintf(`{"Name": "g%d", "LaunchTemplate": "web", "DesiredCapacity": 1}`, i)
		}
		s, err := parseSeed([]byte(doc + `]}`))
		if err != nil {
			t.Fatal(err)
		}
		f := fake.New(func(o *fake.Options) { o.Throttle = true })
		sum, err := seedAccount(context.Background(), f, fake.NewAutoScaling(f), fake.NewCloudWatch(), s, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if sum.groups != 8 || sum.running != 8 {
			t.Errorf("seeded %d groups, %d running instances; want 8 and 8", sum.groups, sum.running)
		}
		image, err := f.DescribeImages(context.Background(), &ec2.DescribeImagesInput{})
		if err != nil {
			t.Fatal(err)
		}
		for i := range 5 {
			if _, err := f.RunInstances(context.Background(), &ec2.RunInstancesInput{ImageId: image.Images[0].ImageId,
				MinCount: aws.Int32(1), MaxCount: aws.Int32(1)}); err != nil {
				t.Fatalf("RunInstances %d after seeding: %v", i+1, err)
			}
		}
		if _, err := f.RunInstances(context.Background(), &ec2.RunInstancesInput{ImageId: image.Images[0].ImageId,
			MinCount: aws.Int32(1), MaxCount: aws.Int32(1)}); err == nil {
			t.Error("a 6th RunInstances at once was not throttled")
		}
	})
}

// A seed's launch templates and Auto Scaling groups: versions as given, the
// default as asked, and groups whose instances carry their tags and
// IMDSv1 history.
func TestSeedTemplatesAndGroups(t *testing.T) {
	s, err := parseSeed([]byte(`{
		"Images": [{"Name": "old"}, {"Name": "new", "ImdsSupport": "v2.0"}],
		"LaunchTemplates": [
			{"Name": "web", "Image": "old", "InstanceType": "m5.large",
			 "Versions": [{"MetadataOptions": {"HttpTokens": "optional"}}, {"MetadataOptions": {"HttpTokens": "required", "HttpPutResponseHopLimit": 2}}],
			 "DefaultVersion": 2},
			{"Name": "api", "Image": "new", "Versions": [{}]}
		],
		"AutoScalingGroups": [
			{"Name": "web-asg", "LaunchTemplate": "web", "Version": "1", "DesiredCapacity": 2, "Tags": {"team": "a"}, "MetadataNoToken": {"PerDay": 3, "Days": 2}},
			{"Name": "api-asg", "LaunchTemplate": "api", "DesiredCapacity": 0}
		]
	}`))
	if err != nil {
		t.Fatal(err)
	}
	f, cw := fake.New(), fake.NewCloudWatch()
	as := fake.NewAutoScaling(f)
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	sum, err := seedAccount(context.Background(), f, as, cw, s, now)
	if err != nil {
		t.Fatal(err)
	}
	if got := sum.String(); got != "seeded with 2 image(s) and 2 instance(s): 2 running, 0 stopped, 0 terminated; 2 with IMDSv1 history in CloudWatch; 2 launch template(s), 2 Auto Scaling group(s)" {
		t.Errorf("summary %q", got)
	}
	lts, err := f.DescribeLaunchTemplates(context.Background(), &ec2.DescribeLaunchTemplatesInput{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, lt := range lts.LaunchTemplates {
		got = append(got, fmt.Sprintf("%s default %d latest %d", *lt.LaunchTemplateName, *lt.DefaultVersionNumber, *lt.LatestVersionNumber))
	}
	if diff := cmp.Diff([]string{"web default 2 latest 2", "api default 1 latest 1"}, got); diff != "" {
		t.Errorf("templates (-want +got):\n%s", diff)
	}
	out, err := f.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range out.Reservations {
		for _, i := range r.Instances {
			tags := map[string]string{}
			for _, tg := range i.Tags {
				tags[*tg.Key] = *tg.Value
			}
			if tags["aws:autoscaling:groupName"] != "web-asg" || tags["team"] != "a" || i.MetadataOptions.HttpTokens != "optional" || *i.ImageId != "ami-00000000000000001" {
				t.Errorf("instance %s: %v %+v", *i.InstanceId, tags, i.MetadataOptions)
			}
			ids = append(ids, *i.InstanceId)
		}
	}
	m, err := cw.GetMetricData(context.Background(), metricQuery(now.Add(-14*24*time.Hour), now, ids...))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range m.MetricDataResults {
		if len(r.Values) != 1 || r.Values[0] != 6 {
			t.Errorf("MetadataNoToken of a group instance: %v, want one sum of 6", r.Values)
		}
	}
}

// The realistic account: 200 instances, as the README counts them, 4 of
// them launched by a group, and the templates that keep it from being
// ready to enforce.
func TestRealisticAccount(t *testing.T) {
	f, cw := fake.New(), fake.NewCloudWatch()
	as := fake.NewAutoScaling(f)
	sum, err := seedAccount(context.Background(), f, as, cw, realisticAccount(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if got := sum.String(); got != "seeded with 2 image(s) and 200 instance(s): 171 running, 28 stopped, 1 terminated; 199 with IMDSv1 history in CloudWatch; 2 launch template(s), 1 Auto Scaling group(s); 2 with software that calls IMDSv1 once it requires tokens" {
		t.Errorf("summary %q", got)
	}
	p, err := imdsopts.GetPosture(context.Background(), imdsopts.Clients{EC2: f, AutoScaling: as, CloudWatch: cw})
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

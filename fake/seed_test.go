package fake_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/imdsopts/imdsopts/fake"
)

// seedWorld is the fakes of one account and Region a seed fills: an EC2,
// an AutoScaling that launches into it and a CloudWatch tied to it.
type seedWorld struct {
	ec2 *fake.EC2
	as  *fake.AutoScaling
	cw  *fake.CloudWatch
}

func newSeedWorld(optFns ...func(*fake.Options)) seedWorld {
	f := fake.New(optFns...)
	return seedWorld{f, fake.NewAutoScaling(f), fake.NewCloudWatch(func(o *fake.CloudWatchOptions) { o.EC2 = f })}
}

func (w seedWorld) apply(s *fake.Seed) (*fake.SeedResult, error) {
	return s.Apply(context.Background(), w.ec2, w.as, w.cw)
}

func readSeed(t *testing.T, doc string) *fake.Seed {
	t.Helper()
	s, err := fake.ReadSeed(strings.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// metricSum returns the sum of metric of instance id over [start, end),
// and whether CloudWatch had any datapoint.
func metricSum(t *testing.T, cw *fake.CloudWatch, metric, id string, start, end time.Time) (float64, bool) {
	t.Helper()
	out, err := cw.GetMetricData(context.Background(), &cloudwatch.GetMetricDataInput{
		StartTime: aws.Time(start), EndTime: aws.Time(end),
		MetricDataQueries: []cwtypes.MetricDataQuery{{Id: aws.String("q"), MetricStat: &cwtypes.MetricStat{
			Metric: &cwtypes.Metric{Namespace: aws.String(fake.NamespaceEC2), MetricName: aws.String(metric),
				Dimensions: []cwtypes.Dimension{{Name: aws.String(fake.DimensionInstanceID), Value: aws.String(id)}}},
			Period: aws.Int32(int32(end.Sub(start).Truncate(time.Minute).Seconds())), Stat: aws.String("Sum")}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, v := range out.MetricDataResults[0].Values {
		sum += v
	}
	return sum, len(out.MetricDataResults[0].Values) > 0
}

// A document that is not a seed is refused by ReadSeed, naming the place,
// the value and the rule.
func TestReadSeedRefuses(t *testing.T) {
	tests := []struct {
		name, doc, want string
	}{
		{"cut short", `{"Images": [`, "the document.Images: unexpected EOF"},
		{"empty", ``, "the document: unexpected EOF"},
		{"not JSON", `{"Images": [}`, "the document.Images: invalid character '}'"},
		{"two values", `{} {}`, "more than one JSON value"},
		{"wrong type", `{"Instances": [{"Count": "1"}]}`, "cannot unmarshal string"},
		{"key case", `{"images": []}`, `the document: unknown key "images" (the keys are "Images", "Instances", "LaunchTemplates", "AutoScalingGroups", "AccountDefaults", "DeclarativePolicy", spelled exactly so)`},
		{"key twice", `{"Images": [], "Images": []}`, `the document: key "Images" given twice`},
		{"nested key", `{"Instances": [{"Count": 1, "MetadataOptions": {"HttpTokens": "required", "httptokens": "optional"}}]}`,
			`the document.Instances[0].MetadataOptions: unknown key "httptokens"`},
		{"policy key", `{"DeclarativePolicy": {"HttpTokens": "required", "noSuchKey": 1}}`, `the document.DeclarativePolicy: unknown key "noSuchKey"`},
		{"tag twice", `{"Instances": [{"Count": 1, "Tags": {"k": "a", "k": "b"}}]}`, `the document.Instances[0].Tags: key "k" given twice`},
		{"count", `{"Instances": [{"Count": 0}]}`, "Instances[0].Count 0: must be 1..100000"},
		{"too many", `{"Instances": [{"Count": 60000}, {"Count": 60000}]}`, "the Instances and the groups' DesiredCapacity add up to 120000; at most 100000"},
		{"state", `{"Instances": [{"Count": 1, "State": "pending"}]}`, `Instances[0].State "pending": must be "running", "stopped" or "terminated"`},
		{"monitoring", `{"Instances": [{"Count": 1, "Monitoring": "on"}]}`, `Instances[0].Monitoring "on": must be "basic" or "detailed"`},
		{"image", `{"Images": [{"Name": "a"}], "Instances": [{"Count": 1, "Image": "b"}]}`, `Instances[0].Image "b": not an image of the seed`},
		{"image required", `{"Images": [{"Name": "a"}, {"Name": "b"}], "Instances": [{"Count": 1}]}`, "Instances[0].Image: required when there are several images"},
		{"image name", `{"Images": [{"Name": ""}]}`, "Images[0].Name: required"},
		{"image twice", `{"Images": [{"Name": "a"}, {"Name": "a"}]}`, `Images[1].Name "a": given twice`},
		{"imds support", `{"Images": [{"Name": "a", "ImdsSupport": "v1"}]}`, `Images[0].ImdsSupport "v1": must be "v2.0" or absent`},
		{"days", `{"Instances": [{"Count": 1, "MetadataNoToken": {"PerDay": 1, "Days": 0}}]}`, "Instances[0].MetadataNoToken.Days 0: must be 1..455"},
		{"per day", `{"Instances": [{"Count": 1, "MetadataNoToken": {"PerDay": -1}}]}`, "Instances[0].MetadataNoToken.PerDay -1: must be a number, 0 or more"},
		{"empty tag key", `{"Instances": [{"Count": 1, "Tags": {"": "x"}}]}`, "Instances[0].Tags: a key is empty"},
		{"late 0", `{"Instances": [{"Count": 1, "LateIMDSv1Calls": {"PerMinute": 0}}]}`, "Instances[0].LateIMDSv1Calls.PerMinute 0: must be a number above 0, at most 1000000"},
		{"late negative", `{"Instances": [{"Count": 1, "LateIMDSv1Calls": {"PerMinute": -1}}]}`, "LateIMDSv1Calls.PerMinute -1"},
		{"late too many", `{"Instances": [{"Count": 1, "LateIMDSv1Calls": {"PerMinute": 2000000}}]}`, "LateIMDSv1Calls.PerMinute 2e+06"},
		{"late key", `{"Instances": [{"Count": 1, "LateIMDSv1Calls": {"perMinute": 1}}]}`, `unknown key "perMinute"`},
		{"template name", `{"LaunchTemplates": [{"Versions": [{}]}]}`, "LaunchTemplates[0].Name: required"},
		{"template twice", `{"LaunchTemplates": [{"Name": "a", "Versions": [{}]}, {"Name": "a", "Versions": [{}]}]}`, `LaunchTemplates[1].Name "a": given twice`},
		{"template image", `{"Images": [{"Name": "a"}], "LaunchTemplates": [{"Name": "t", "Image": "b", "Versions": [{}]}]}`, `LaunchTemplates[0].Image "b": not an image of the seed`},
		{"template versions", `{"LaunchTemplates": [{"Name": "t"}]}`, "LaunchTemplates[0].Versions: 0 given, must be 1..100"},
		{"template default", `{"LaunchTemplates": [{"Name": "t", "Versions": [{}], "DefaultVersion": 2}]}`, "LaunchTemplates[0].DefaultVersion 2: must be a version of the template, 1..1"},
		{"user data", `{"LaunchTemplates": [{"Name": "t", "Versions": [{"UserData": "` + strings.Repeat("x", 16<<10+1) + `"}]}]}`,
			"LaunchTemplates[0].Versions[0].UserData: 16385 bytes; EC2 takes at most 16384"},
		{"group template", `{"AutoScalingGroups": [{"Name": "g", "LaunchTemplate": "t"}]}`, `AutoScalingGroups[0].LaunchTemplate "t": not a launch template of the seed`},
		{"group version", `{"LaunchTemplates": [{"Name": "t", "Versions": [{}]}], "AutoScalingGroups": [{"Name": "g", "LaunchTemplate": "t", "Version": "2"}]}`,
			`AutoScalingGroups[0].Version "2": must be "$Default", "$Latest" or a version of the template, 1..1`},
		{"group version spelling", `{"LaunchTemplates": [{"Name": "t", "Versions": [{}]}], "AutoScalingGroups": [{"Name": "g", "LaunchTemplate": "t", "Version": "$default"}]}`,
			`AutoScalingGroups[0].Version "$default"`},
		{"group capacity", `{"LaunchTemplates": [{"Name": "t", "Versions": [{}]}], "AutoScalingGroups": [{"Name": "g", "LaunchTemplate": "t", "DesiredCapacity": 1001}]}`,
			"AutoScalingGroups[0].DesiredCapacity 1001: must be 0..1000"},
		{"group twice", `{"LaunchTemplates": [{"Name": "t", "Versions": [{}]}], "AutoScalingGroups": [{"Name": "g", "LaunchTemplate": "t"}, {"Name": "g", "LaunchTemplate": "t"}]}`,
			`AutoScalingGroups[1].Name "g": given twice`},
		{"group metric", `{"LaunchTemplates": [{"Name": "t", "Versions": [{}]}], "AutoScalingGroups": [{"Name": "g", "LaunchTemplate": "t", "MetadataNoToken": {"PerDay": -1}}]}`,
			"AutoScalingGroups[0].MetadataNoToken.PerDay -1: must be a number, 0 or more"},
		{"service tags", `{"LaunchTemplates": [{"Name": "t", "Versions": [{}]}], "AutoScalingGroups": [{"Name": "g", "LaunchTemplate": "t", "ServiceTags": {"team": "a"}}]}`,
			`AutoScalingGroups[0].ServiceTags: key "team": must begin with "aws:" (the others go in Tags)`},
		{"too large", `{"Images": [{"Name": "` + strings.Repeat("x", fake.MaxSeedBytes) + `"}]}`, "larger than 4194304 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := fake.ReadSeed(strings.NewReader(tt.doc))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ReadSeed: %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

// What EC2's rules refuse, the fakes refuse when the seed is applied: an
// error naming the place in the seed and wrapping the API error.
func TestSeedApplyRefuses(t *testing.T) {
	tests := []struct {
		name, doc, want, code string
	}{
		{"hop limit", `{"Instances": [{"Count": 1, "MetadataOptions": {"HttpPutResponseHopLimit": 65}}]}`,
			"seed Instances[0]: InvalidParameterValue: Value (65) for parameter HttpPutResponseHopLimit is invalid.", "InvalidParameterValue"},
		{"enforced", `{"Instances": [{"Count": 1}], "AccountDefaults": {"HttpTokensEnforced": "on"}}`,
			"seed AccountDefaults: InvalidParameterValue: Value (on) for parameter HttpTokensEnforced is invalid.", "InvalidParameterValue"},
		{"policy", `{"DeclarativePolicy": {"HttpTokensEnforced": "on"}}`, "seed DeclarativePolicy: ", ""},
		{"template options", `{"LaunchTemplates": [{"Name": "tpl", "Versions": [{"MetadataOptions": {"HttpTokens": "Required"}}]}]}`,
			"seed LaunchTemplates[0]: InvalidParameterValue", "InvalidParameterValue"},
		{"template version options", `{"LaunchTemplates": [{"Name": "tpl", "Versions": [{}, {"MetadataOptions": {"HttpPutResponseHopLimit": 65}}]}]}`,
			"seed LaunchTemplates[0].Versions[1]: InvalidParameterValue", "InvalidParameterValue"},
		{"template name rule", `{"LaunchTemplates": [{"Name": "a b", "Versions": [{}]}]}`,
			"seed LaunchTemplates[0]: InvalidLaunchTemplateName.MalformedException", "InvalidLaunchTemplateName.MalformedException"},
		{"group name rule", `{"LaunchTemplates": [{"Name": "tpl", "Versions": [{}]}], "AutoScalingGroups": [{"Name": "a:b", "LaunchTemplate": "tpl"}]}`,
			"seed AutoScalingGroups[0]: ValidationError", "ValidationError"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := newSeedWorld().apply(readSeed(t, tt.doc))
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("Apply: %v, want an error beginning %q", err, tt.want)
			}
			var apiErr smithy.APIError
			if tt.code != "" && (!errors.As(err, &apiErr) || apiErr.ErrorCode() != tt.code) {
				t.Errorf("Apply: %v does not wrap the API error %s", err, tt.code)
			}
		})
	}
}

// Apply refuses what it cannot seed, before seeding anything: fakes
// missing for what the seed has, and a seed built in Go that ReadSeed
// would refuse.
func TestSeedApplyMisuse(t *testing.T) {
	ctx := context.Background()
	groups := readSeed(t, `{"LaunchTemplates": [{"Name": "t", "Versions": [{}]}], "AutoScalingGroups": [{"Name": "g", "LaunchTemplate": "t"}]}`)
	history := readSeed(t, `{"Instances": [{"Count": 1, "MetadataNoToken": {"PerDay": 0}}]}`)
	f := fake.New()
	for _, tt := range []struct {
		name string
		run  func() error
		want string
	}{
		{"no EC2", func() error { _, err := history.Apply(ctx, nil, nil, fake.NewCloudWatch()); return err }, "no EC2"},
		{"no AutoScaling", func() error { _, err := groups.Apply(ctx, f, nil, nil); return err }, "seed AutoScalingGroups: no AutoScaling"},
		{"another EC2's AutoScaling", func() error { _, err := groups.Apply(ctx, f, fake.NewAutoScaling(fake.New()), nil); return err }, "launches into another EC2"},
		{"no CloudWatch", func() error { _, err := history.Apply(ctx, f, nil, nil); return err }, "seed MetadataNoToken: no CloudWatch"},
		{"unchecked", func() error {
			_, err := (&fake.Seed{Instances: []fake.SeedInstances{{Count: -1}}}).Apply(ctx, f, nil, nil)
			return err
		},
			"seed: Instances[0].Count -1: must be 1..100000"},
	} {
		if err := tt.run(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want %q", tt.name, err, tt.want)
		}
	}
	if n := f.Calls("RegisterImage"); n != 0 {
		t.Errorf("%d images registered by refused seeds", n)
	}
}

// A seed makes the account it describes: images, instances in their
// states, their IMDSv1 history, the account defaults.
func TestSeedApply(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := readSeed(t, `{
			"Images": [{"Name": "old"}, {"Name": "new", "ImdsSupport": "v2.0"}],
			"Instances": [
				{"Count": 2, "Image": "old", "InstanceType": "t3.micro", "Tags": {"team": "a"},
				 "MetadataOptions": {"HttpTokens": "optional", "HttpPutResponseHopLimit": 3}, "MetadataNoToken": {"PerDay": 5, "Days": 2}},
				{"Count": 1, "Image": "new", "State": "stopped"},
				{"Count": 1, "Image": "old", "State": "terminated"}
			],
			"AccountDefaults": {"HttpTokens": "required", "HttpTokensEnforced": "enabled"}
		}`)
		w := newSeedWorld()
		now := time.Now()
		res, err := w.apply(s)
		if err != nil {
			t.Fatal(err)
		}
		want := &fake.SeedResult{
			Images:            map[string]string{"old": "ami-00000000000000001", "new": "ami-00000000000000002"},
			Instances:         [][]string{{"i-00000000000000001", "i-00000000000000002"}, {"i-00000000000000003"}, {"i-00000000000000004"}},
			LaunchTemplates:   map[string]string{},
			AutoScalingGroups: map[string][]string{},
			Running:           2, Stopped: 1, Terminated: 1, WithHistory: 2,
		}
		if diff := cmp.Diff(want, res); diff != "" {
			t.Errorf("result (-want +got):\n%s", diff)
		}
		out, err := w.ec2.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{})
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
		wantInstances := []string{
			"i-00000000000000001 ami-00000000000000001 t3.micro running optional 3 team=a",
			"i-00000000000000002 ami-00000000000000001 t3.micro running optional 3 team=a",
			"i-00000000000000003 ami-00000000000000002  stopped required 2 ",
			"i-00000000000000004 ami-00000000000000001  terminated optional 1 ",
		}
		if diff := cmp.Diff(wantInstances, got); diff != "" {
			t.Errorf("instances (-want +got):\n%s", diff)
		}
		d, err := w.ec2.GetInstanceMetadataDefaults(context.Background(), nil)
		if err != nil || d.AccountLevel.HttpTokens != "required" || d.AccountLevel.HttpTokensEnforced != "enabled" {
			t.Errorf("account defaults %+v, %v", d.AccountLevel, err)
		}
		if n, _ := metricSum(t, w.cw, fake.MetricMetadataNoToken, "i-00000000000000001", now.Add(-14*24*time.Hour), now); n != 10 {
			t.Errorf("MetadataNoToken of the first instance: %v, want 10 (2 days of 5)", n)
		}
		if _, ok := metricSum(t, w.cw, fake.MetricMetadataNoToken, "i-00000000000000003", now.Add(-14*24*time.Hour), now); ok {
			t.Error("an instance without MetadataNoToken has datapoints before the seed")
		}
	})
}

// Seeding a fake that throttles takes no token: more groups than
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
		w := newSeedWorld(func(o *fake.Options) { o.Throttle = true })
		res, err := w.apply(readSeed(t, doc+`]}`))
		if err != nil {
			t.Fatal(err)
		}
		if len(res.AutoScalingGroups) != 8 || res.Running != 8 {
			t.Errorf("seeded %d groups, %d running instances; want 8 and 8", len(res.AutoScalingGroups), res.Running)
		}
		run := &ec2.RunInstancesInput{ImageId: aws.String(res.Images["base"]), MinCount: aws.Int32(1), MaxCount: aws.Int32(1)}
		for i := range 5 {
			if _, err := w.ec2.RunInstances(context.Background(), run); err != nil {
				t.Fatalf("RunInstances %d after seeding: %v", i+1, err)
			}
		}
		if _, err := w.ec2.RunInstances(context.Background(), run); err == nil {
			t.Error("a 6th RunInstances at once was not throttled")
		}
	})
}

// The instances a seed launches are found at once, whatever the
// propagation delay; those launched afterwards are not.
func TestSeedPropagated(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newSeedWorld(func(o *fake.Options) { o.PropagationDelay = time.Hour })
		res, err := w.apply(readSeed(t, `{"Instances": [{"Count": 2}]}`))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.ec2.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{InstanceIds: res.Instances[0]}); err != nil {
			t.Errorf("seeded instances not found at once: %v", err)
		}
	})
}

// A seed's launch templates and Auto Scaling groups: versions as given, the
// default as asked, user data and tags, and groups whose instances carry
// their tags, service tags and IMDSv1 history.
func TestSeedTemplatesAndGroups(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := readSeed(t, `{
			"Images": [{"Name": "old"}, {"Name": "new", "ImdsSupport": "v2.0"}],
			"LaunchTemplates": [
				{"Name": "web", "Image": "old", "InstanceType": "m5.large",
				 "Versions": [{"MetadataOptions": {"HttpTokens": "optional"}, "UserData": "#!/bin/sh\n", "Tags": {"role": "web"}},
				              {"MetadataOptions": {"HttpTokens": "required", "HttpPutResponseHopLimit": 2}}],
				 "DefaultVersion": 2},
				{"Name": "api", "Image": "new", "Versions": [{}]}
			],
			"AutoScalingGroups": [
				{"Name": "web-asg", "LaunchTemplate": "web", "Version": "1", "DesiredCapacity": 2, "Tags": {"team": "a"},
				 "ServiceTags": {"aws:cloudformation:stack-name": "web"}, "MetadataNoToken": {"PerDay": 3, "Days": 2}},
				{"Name": "api-asg", "LaunchTemplate": "api", "DesiredCapacity": 0}
			]
		}`)
		w := newSeedWorld()
		now := time.Now()
		res, err := w.apply(s)
		if err != nil {
			t.Fatal(err)
		}
		if res.Running != 2 || res.WithHistory != 2 || len(res.LaunchTemplates) != 2 || len(res.AutoScalingGroups["web-asg"]) != 2 ||
			len(res.AutoScalingGroups["api-asg"]) != 0 {
			t.Errorf("result %+v", res)
		}
		lts, err := w.ec2.DescribeLaunchTemplates(context.Background(), &ec2.DescribeLaunchTemplatesInput{})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, lt := range lts.LaunchTemplates {
			got = append(got, fmt.Sprintf("%s %s default %d latest %d", *lt.LaunchTemplateName, *lt.LaunchTemplateId, *lt.DefaultVersionNumber, *lt.LatestVersionNumber))
		}
		if diff := cmp.Diff([]string{"web " + res.LaunchTemplates["web"] + " default 2 latest 2", "api " + res.LaunchTemplates["api"] + " default 1 latest 1"}, got); diff != "" {
			t.Errorf("templates (-want +got):\n%s", diff)
		}
		v, err := w.ec2.DescribeLaunchTemplateVersions(context.Background(), &ec2.DescribeLaunchTemplateVersionsInput{
			LaunchTemplateName: aws.String("web"), Versions: []string{"1"}})
		if err != nil {
			t.Fatal(err)
		}
		if data := v.LaunchTemplateVersions[0].LaunchTemplateData; aws.ToString(data.UserData) != "IyEvYmluL3NoCg==" || len(data.TagSpecifications) != 1 {
			t.Errorf("version 1: user data %q, tags %+v", aws.ToString(data.UserData), data.TagSpecifications)
		}
		out, err := w.ec2.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{InstanceIds: res.AutoScalingGroups["web-asg"]})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range out.Reservations {
			for _, i := range r.Instances {
				tags := map[string]string{}
				for _, tg := range i.Tags {
					tags[*tg.Key] = *tg.Value
				}
				if tags["aws:autoscaling:groupName"] != "web-asg" || tags["team"] != "a" || tags["role"] != "web" || tags["aws:cloudformation:stack-name"] != "web" ||
					i.MetadataOptions.HttpTokens != "optional" || *i.ImageId != res.Images["old"] {
					t.Errorf("instance %s: %v %+v", *i.InstanceId, tags, i.MetadataOptions)
				}
				if n, _ := metricSum(t, w.cw, fake.MetricMetadataNoToken, *i.InstanceId, now.Add(-14*24*time.Hour), now); n != 6 {
					t.Errorf("MetadataNoToken of %s: %v, want 6", *i.InstanceId, n)
				}
			}
		}
	})
}

// The software of a seed's LateIMDSv1Calls makes no IMDSv1 call a look
// back could see; a DryRun or a change that keeps tokens optional does not
// start it; once the instance requires tokens, its calls are refused and
// counted in MetadataNoTokenRejected, and once it allows IMDSv1 again, they
// are answered.
func TestSeedLateIMDSv1Calls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := readSeed(t, `{"Instances": [{"Count": 1, "Monitoring": "detailed", "MetadataNoToken": {"PerDay": 0}},
			{"Count": 1, "Monitoring": "detailed", "MetadataNoToken": {"PerDay": 0}, "LateIMDSv1Calls": {"PerMinute": 6}},
			{"Count": 1, "State": "terminated", "LateIMDSv1Calls": {"PerMinute": 6}}]}`)
		f := fake.New(func(o *fake.Options) { o.ApplyDelay = 0 })
		// Every minute, at once, zeros included: the counts of each minute
		// are what is tested here.
		cw := fake.NewCloudWatch(func(o *fake.CloudWatchOptions) {
			o.EC2, o.PublishDelay, o.IMDSMetrics = f, -1, fake.IMDSMetricsZeros
		})
		start := time.Now()
		res, err := s.Apply(context.Background(), f, nil, cw)
		if err != nil {
			t.Fatal(err)
		}
		if res.LateIMDSv1Calls != 1 {
			t.Errorf("%d instances with late calls, want 1 (not the terminated one)", res.LateIMDSv1Calls)
		}
		plain, late := res.Instances[0][0], res.Instances[1][0]
		modify := func(id string, tokens types.HttpTokensState, dryRun bool) {
			t.Helper()
			_, err := f.ModifyInstanceMetadataOptions(context.Background(), &ec2.ModifyInstanceMetadataOptionsInput{
				InstanceId: aws.String(id), HttpTokens: tokens, DryRun: aws.Bool(dryRun)})
			if dryRun != (err != nil) {
				t.Fatalf("%s %s (DryRun %v): %v", id, tokens, dryRun, err)
			}
		}
		time.Sleep(10 * time.Minute)
		if n, _ := metricSum(t, cw, fake.MetricMetadataNoToken, late, start.Add(-time.Hour), time.Now()); n != 0 {
			t.Fatalf("the late caller made %v IMDSv1 calls before its change: a look back would see it", n)
		}
		// Neither a change that keeps tokens optional nor a DryRun starts
		// the calls.
		modify(late, types.HttpTokensStateOptional, false)
		modify(late, types.HttpTokensStateRequired, true)
		time.Sleep(3 * time.Minute)
		if n, _ := metricSum(t, cw, fake.MetricMetadataNoToken, late, start.Add(-time.Hour), time.Now()); n != 0 {
			t.Fatalf("the late caller made %v IMDSv1 calls after a change that keeps IMDSv1", n)
		}
		modify(plain, types.HttpTokensStateRequired, false)
		modify(late, types.HttpTokensStateRequired, false)
		changed := time.Now()
		time.Sleep(5 * time.Minute)
		if n, ok := metricSum(t, cw, fake.MetricMetadataNoTokenRejected, late, changed, time.Now()); !ok || n < 29 || n > 30 {
			t.Errorf("the late caller rejected %v calls in 5 minutes (datapoints: %v), want 30 at 6 a minute", n, ok)
		}
		if n, ok := metricSum(t, cw, fake.MetricMetadataNoTokenRejected, plain, changed, time.Now()); !ok || n != 0 {
			t.Errorf("the other instance rejected %v calls (datapoints: %v), want a measured 0", n, ok)
		}
		// IMDSv1 allowed again (a rollback): the calls are answered.
		modify(late, types.HttpTokensStateOptional, false)
		back := time.Now()
		time.Sleep(3 * time.Minute)
		if n, _ := metricSum(t, cw, fake.MetricMetadataNoTokenRejected, late, back.Add(time.Minute), time.Now()); n != 0 {
			t.Errorf("rejected %v calls after the rollback", n)
		}
		if n, _ := metricSum(t, cw, fake.MetricMetadataNoToken, late, back.Add(time.Minute), time.Now()); n < 11 {
			t.Errorf("answered %v IMDSv1 calls after the rollback, want 12", n)
		}
	})
}

func TestCallIMDSv1OnceRequiredErrors(t *testing.T) {
	f := fake.New()
	ids, err := f.Launch(1)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		id   string
		rate float64
	}{{"i-00000000000000099", 1}, {ids[0], -1}, {ids[0], math.NaN()}, {ids[0], math.Inf(1)}} {
		if err := f.CallIMDSv1OnceRequired(tt.id, tt.rate); err == nil {
			t.Errorf("CallIMDSv1OnceRequired(%q, %v) accepted", tt.id, tt.rate)
		}
	}
}

// The built-in accounts read, and make what their documentation says.
func TestBuiltinSeeds(t *testing.T) {
	for _, tt := range []struct {
		name                                                   string
		running, stopped, terminated, history, late, templates int
		groups                                                 int
	}{
		{"realistic", 171, 28, 1, 199, 2, 2, 1},
		{"containers", 18, 0, 0, 18, 0, 4, 4},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, err := fake.BuiltinSeed(tt.name)
			if err != nil {
				t.Fatal(err)
			}
			res, err := newSeedWorld().apply(s)
			if err != nil {
				t.Fatal(err)
			}
			got := []int{res.Running, res.Stopped, res.Terminated, res.WithHistory, res.LateIMDSv1Calls, len(res.LaunchTemplates), len(res.AutoScalingGroups)}
			want := []int{tt.running, tt.stopped, tt.terminated, tt.history, tt.late, tt.templates, tt.groups}
			if !cmp.Equal(got, want) {
				t.Errorf("running, stopped, terminated, with history, late, templates, groups: %v, want %v", got, want)
			}
			// Each call is a new copy: changing one changes no other.
			s.Instances = nil
			if again, _ := fake.BuiltinSeed(tt.name); len(again.Instances) == 0 {
				t.Error("BuiltinSeed returned a shared seed")
			}
		})
	}
	if _, err := fake.BuiltinSeed("nope"); err == nil || !strings.Contains(err.Error(), "realistic, containers") {
		t.Errorf("unknown name: %v", err)
	}
}

// A Seed written with encoding/json reads back the same: a Go test can
// write the seed the emulator takes.
func TestSeedJSONRoundTrip(t *testing.T) {
	for _, name := range fake.BuiltinSeeds() {
		s, err := fake.BuiltinSeed(name)
		if err != nil {
			t.Fatal(err)
		}
		s.DeclarativePolicy = &fake.DeclarativePolicy{HttpTokens: types.HttpTokensStateRequired, ManagedExceptionMessage: "Ask."}
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		back, err := fake.ReadSeed(strings.NewReader(string(b)))
		if err != nil {
			t.Fatalf("%s: %v\n%s", name, err, b)
		}
		if diff := cmp.Diff(s, back); diff != "" {
			t.Errorf("%s (-written +read):\n%s", name, diff)
		}
	}
}

// FuzzReadSeed reads arbitrary seed documents: no panic, and a document
// that reads applies or is refused with an error that names the seed.
func FuzzReadSeed(f *testing.F) {
	f.Add(`{"Images": [{"Name": "a", "ImdsSupport": "v2.0"}], "Instances": [{"Count": 2, "Image": "a", "State": "stopped",
		"MetadataOptions": {"HttpTokens": "optional", "HttpPutResponseHopLimit": 3}, "Tags": {"k": "v"},
		"MetadataNoToken": {"PerDay": 1.5, "Days": 3}, "LateIMDSv1Calls": {"PerMinute": 1}}], "AccountDefaults": {"HttpTokensEnforced": "enabled"}}`)
	f.Add(`{"Instances": [{"Count": 1, "MetadataOptions": {"HttpPutResponseHopLimit": 65}}]}`)
	f.Add(`{"Images": [{"Name": ""}], "images": 1}`)
	f.Add(`[{"Count": 1}]`)
	f.Add(`{"LaunchTemplates": [{"Name": "web", "Versions": [{"MetadataOptions": {"HttpTokens": "optional"}, "UserData": "x", "Tags": {"a": "b"}}, {}], "DefaultVersion": 2}],
		"AutoScalingGroups": [{"Name": "web", "LaunchTemplate": "web", "Version": "1", "DesiredCapacity": 2, "Tags": {"k": "v"},
		"ServiceTags": {"aws:cloudformation:stack-name": "s"}, "MetadataNoToken": {"PerDay": 0}}]}`)
	f.Add(`{"DeclarativePolicy": {"HttpTokens": "required", "HttpTokensEnforced": "enabled", "ManagedExceptionMessage": "m"}}`)
	f.Add(`{"Instances": [{"Count": 1, "Tags": {"": "x", "k": "y", "k": "z"}}]} {}`)
	f.Fuzz(func(t *testing.T, doc string) {
		s, err := fake.ReadSeed(strings.NewReader(doc))
		if err != nil {
			if s != nil {
				t.Fatal("a seed with an error")
			}
			return
		}
		total := 0
		for _, g := range s.Instances {
			total += g.Count
		}
		for _, g := range s.AutoScalingGroups {
			total += g.DesiredCapacity
		}
		if total > 10 {
			return // seeding cost, not reading
		}
		if _, err := newSeedWorld().apply(s); err != nil && !strings.HasPrefix(err.Error(), "seed ") {
			t.Fatalf("applying a seed that reads failed with %v, want an error naming the place in the seed", err)
		}
	})
}

package account_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imdsopts/imdsopts"
	"github.com/imdsopts/imdsopts/account"
	"github.com/imdsopts/imdsopts/fake"
	"github.com/imdsopts/imdsopts/fleet"
	"github.com/imdsopts/imdsopts/internal/testenv"
)

// postureAccount is mixedAccount, with an instance launched by hand and
// IMDSv1 calls from software on one instance of group api-pinned and on
// the hand-launched one, measured over ten minutes (two 5-minute periods,
// the second published a minute after it ends). It returns their IDs.
func postureAccount(t *testing.T, w *world) (pinned, byHand string) {
	mixedAccount(t, w)
	byHand = testenv.Launch(t, w.EC2, "", nil)
	out, err := w.AS.DescribeAutoScalingGroups(t.Context(), &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{"api-pinned"}})
	if err != nil {
		t.Fatal(err)
	}
	pinned = aws.ToString(out.AutoScalingGroups[0].Instances[0].InstanceId)
	for _, id := range []string{pinned, byHand} {
		if err := w.EC2.CallIMDSv1(id, 3); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(11 * time.Minute)
	return pinned, byHand
}

func TestPosture(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t)
		pinned, byHand := postureAccount(t, w)
		before := w.Calls()
		p, err := account.GetPosture(t.Context(), w.clients())
		if err != nil {
			t.Fatal(err)
		}
		for _, op := range []string{"ModifyInstanceMetadataDefaults", "CreateLaunchTemplateVersion", "ModifyLaunchTemplate", "ModifyImageAttribute", "RunInstances"} {
			if w.Calls()[op] != before[op] {
				t.Errorf("the posture called %s", op)
			}
		}
		if p.Ready || p.Enforced || p.Target.Account != fake.AccountID || p.Defaults.ManagedBy != "account" {
			t.Errorf("posture %+v", p)
		}
		// Instances: api-pinned, api-latest, batch, web-a, legacy, good, and
		// the hand-launched one; four allow IMDSv1.
		if ic := p.Instances; ic.Total != 7 || ic.Required != 3 || ic.Optional != 4 || len(ic.AllowIMDSv1) != 4 {
			t.Errorf("instances %+v", ic)
		}
		use := p.IMDSv1
		if !use.Known || use.Measured != 4 || use.UsedIMDSv1 != 2 || use.IMDSv1Calls != 60 || len(use.Instances) != 2 {
			t.Errorf("IMDSv1 use %+v", use)
		}
		if use.WindowEnd.Sub(use.WindowStart) != fleet.DefaultIMDSv1Window || use.WindowEnd.Location() != time.UTC {
			t.Errorf("window %v..%v", use.WindowStart, use.WindowEnd)
		}
		for _, u := range use.Instances {
			switch u.InstanceID {
			case pinned:
				if u.AutoScalingGroupName != "api-pinned" || u.LaunchTemplateVersion != "1" || u.IMDSv1Calls == nil || *u.IMDSv1Calls != 30 {
					t.Errorf("pinned instance use %+v", u)
				}
			case byHand:
				if u.AutoScalingGroupName != "" || u.LaunchTemplateID != "" || u.IMDSv1Calls == nil {
					t.Errorf("hand-launched instance use %+v", u)
				}
			}
		}
		var groups []string
		for _, g := range p.AutoScalingGroups {
			groups = append(groups, g.AutoScalingGroupName)
			switch g.AutoScalingGroupName {
			case "api-pinned":
				if g.Launch.HTTPTokens != "optional" || g.Launch.HTTPTokensSource != imdsopts.SourceTemplate || g.Version != "1" ||
					g.IMDSv1.UsedIMDSv1 != 1 || g.IMDSv1.Clean {
					t.Errorf("api-pinned %+v", g)
				}
			case "web-a":
				if !g.IMDSv1.Clean || g.IMDSv1.AllowIMDSv1 != 1 || g.IMDSv1.Instances != 1 {
					t.Errorf("web-a %+v: its one instance measured zero, so it is clean", g)
				}
			}
		}
		if want := []string{"api-pinned", "legacy", "web-a", "web-b"}; !slices.Equal(groups, want) {
			t.Errorf("groups %v, want %v", groups, want)
		}
		var templates []string
		for _, tp := range p.LaunchTemplates {
			templates = append(templates, tp.LaunchTemplateName)
		}
		// Not worker: its default and latest version (2) require tokens.
		if want := []string{"api", "batch", "web"}; !slices.Equal(templates, want) {
			t.Errorf("templates %v, want %v", templates, want)
		}
		// The plain AMI behind templates and configurations, and the one
		// the hand-launched instance came from.
		if len(p.Images) != 2 || !p.Images[0].Owned || !p.Images[0].Found || p.Images[0].Instances != 5 ||
			len(p.Images[0].LaunchTemplateIDs) != 3 || !slices.Equal(p.Images[0].LaunchConfigurationNames, []string{"good", "legacy", "old"}) {
			t.Errorf("images %+v", p.Images)
		}
		want := []string{
			"imdsv1-in-use group api-pinned, instance " + pinned,
			"group-launch-template launch template api (lt-00000000000000001) version 1, group api-pinned",
			"group-launch-template launch template web (lt-00000000000000003) version 1, with AMI ami-00000000000000001, groups web-a, web-b",
			"group-launch-configuration launch configuration legacy, group legacy",
			"launch-template-latest-version launch template batch (lt-00000000000000002) version 2",
			"launch-configuration launch configuration old",
			"account-default the account",
		}
		if got := kinds(p.Blockers); !slices.Equal(got, want) {
			t.Errorf("blockers:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		if !strings.Contains(p.Blockers[0].Reason, "1 instance made 30 IMDSv1 calls over the last 14 days") {
			t.Errorf("in-use reason %q", p.Blockers[0].Reason)
		}
	})
}

// TestPostureJSONIsStable: the same account marshals to the same bytes,
// also when every API it calls is throttled on the way, and the JSON uses
// EC2's field names and UTC times.
func TestPostureJSONIsStable(t *testing.T) {
	run := func(storm bool) []byte {
		var out []byte
		synctest.Test(t, func(t *testing.T) {
			w := newWorld(t)
			postureAccount(t, w)
			if storm {
				throttle := fake.NewAPIError(503, "RequestLimitExceeded", "Request limit exceeded.")
				for _, op := range []string{"GetInstanceMetadataDefaults", "DescribeInstances", "DescribeImages", "DescribeLaunchTemplates", "DescribeLaunchTemplateVersions"} {
					w.EC2.FailNext(op, 4, throttle)
				}
				for _, op := range []string{"DescribeAutoScalingGroups", "DescribeLaunchConfigurations"} {
					w.AS.FailNext(op, 4, fake.NewAPIError(400, "Throttling", "Rate exceeded"))
				}
				w.CW.FailNext(4, fake.NewAPIError(400, "Throttling", "Rate exceeded"))
			}
			start := time.Now()
			p, err := account.GetPosture(t.Context(), w.clients())
			if err != nil {
				t.Fatal(err)
			}
			if storm && time.Since(start) == 0 {
				t.Error("a throttling storm cost no time: were the calls retried?")
			}
			if out, err = json.MarshalIndent(p, "", "  "); err != nil {
				t.Fatal(err)
			}
		})
		return out
	}
	calm, stormy := run(false), run(true)
	if !bytes.Equal(calm, stormy) {
		t.Errorf("the posture differs after a throttling storm:\n%s\n---\n%s", calm, stormy)
	}
	if again := run(false); !bytes.Equal(calm, again) {
		t.Error("the posture of the same account marshals differently")
	}
	for _, want := range []string{`"Time": "2000-01-01T00:11:00Z"`, `"WindowStart": "1999-12-18T00:11:00Z"`, `"HttpTokens": "optional"`,
		`"HttpTokensSource": "template"`, `"LaunchTemplateId": "lt-00000000000000001"`, `"ImageId": "ami-00000000000000001"`,
		`"Kind": "imdsv1-in-use"`, `"ManagedBy": "account"`} {
		if !bytes.Contains(calm, []byte(want)) {
			t.Errorf("JSON lacks %s", want)
		}
	}
}

// TestPostureIMDSv1Unknown: without CloudWatch, with CloudWatch failing,
// or answering something other than a complete measurement, IMDSv1 use is
// unknown and the posture is never ready, even for an account that would
// otherwise be.
func TestPostureIMDSv1Unknown(t *testing.T) {
	ready := func(t *testing.T) *world {
		w := newWorld(t)
		w.SetAccountDefaults(t, &ec2.ModifyInstanceMetadataDefaultsInput{HttpTokens: "required"})
		lt := w.Template(t, "web", w.Image(t, "plain", ""), tokens("required"))
		w.Group(t, "web", lt, "$Default", 2)
		// A group instance that allows IMDSv1 (launched before the
		// template required tokens, say).
		if _, err := w.EC2.Launch(1, func(o *fake.LaunchOptions) {
			o.MetadataOptions = &types.InstanceMetadataOptionsRequest{HttpTokens: "optional"}
			o.Tags = map[string]string{"aws:autoscaling:groupName": "web"}
		}); err != nil {
			t.Fatal(err)
		}
		// A 5-minute period of data, published a minute after it ends.
		time.Sleep(6 * time.Minute)
		return w
	}
	synctest.Test(t, func(t *testing.T) {
		w := ready(t)
		p, err := account.GetPosture(t.Context(), w.clients())
		if err != nil || !p.Ready || !p.IMDSv1.Known {
			t.Fatalf("the ready account: %v, %v", kinds(p.Blockers), err)
		}
		tests := []struct {
			name   string
			setup  func(w *world, c *account.Clients)
			reason string
		}{
			{"no CloudWatch client", func(_ *world, c *account.Clients) { c.CloudWatch = nil }, "no CloudWatch client"},
			{"CloudWatch failing", func(w *world, _ *account.Clients) {
				w.CW.FailNext(1000, fake.NewAPIError(500, "InternalServiceError", "down"))
			}, "too many consecutive failures"},
			{"CloudWatch unauthorized", func(w *world, _ *account.Clients) {
				w.CW.FailNext(1, fake.NewAPIError(403, "AccessDenied", "not authorized to perform cloudwatch:GetMetricData"))
			}, "AccessDenied"},
			{"partial data", func(w *world, _ *account.Clients) {
				w.CW.CorruptNext(1, func(o *cloudwatch.GetMetricDataOutput) {
					for i := range o.MetricDataResults {
						o.MetricDataResults[i].StatusCode = cwtypes.StatusCodePartialData
					}
				})
			}, "instance"},
		}
		for _, tt := range tests {
			w := ready(t)
			c := w.clients()
			tt.setup(w, &c)
			p, err := account.GetPosture(t.Context(), c)
			if err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			if p.Ready || p.IMDSv1.Known || len(p.Blockers) == 0 || p.Blockers[0].Kind != account.BlockerIMDSv1Unknown {
				t.Errorf("%s: ready %v, known %v, blockers %v", tt.name, p.Ready, p.IMDSv1.Known, kinds(p.Blockers))
				continue
			}
			if !strings.Contains(p.Blockers[0].Reason, tt.reason) {
				t.Errorf("%s: reason %q, want %q", tt.name, p.Blockers[0].Reason, tt.reason)
			}
		}
	})
}

// TestPostureAutoScaling: without an Auto Scaling client the posture is
// never ready; with one that fails, there is no posture.
func TestPostureAutoScaling(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t)
		w.SetAccountDefaults(t, &ec2.ModifyInstanceMetadataDefaultsInput{HttpTokens: "required"})
		c := w.clients()
		c.AutoScaling = nil
		p, err := account.GetPosture(t.Context(), c)
		if err != nil || p.Ready || !slices.Equal(kinds(p.Blockers), []string{"auto-scaling-not-checked the account"}) {
			t.Errorf("without Auto Scaling: %v, %v", kinds(p.Blockers), err)
		}
		w.AS.FailNext("DescribeAutoScalingGroups", 1, fake.NewAPIError(403, "AccessDenied", "User is not authorized to perform autoscaling:DescribeAutoScalingGroups"))
		p, err = account.GetPosture(t.Context(), w.clients())
		if err == nil || p != nil || !strings.Contains(err.Error(), "AccessDenied") {
			t.Errorf("with Auto Scaling failing: %v, %v", p, err)
		}
		p, err = account.GetPosture(t.Context(), w.clients())
		if err != nil || !p.Ready {
			t.Errorf("the empty account with its default required: %v, %v", kinds(p.Blockers), err)
		}
	})
}

func TestPostureBadInput(t *testing.T) {
	w := newWorld(t)
	_, err := account.GetPosture(t.Context(), w.clients(), func(o *account.PostureOptions) { o.IMDSv1Window = time.Second })
	if !errors.Is(err, imdsopts.ErrInvalid) || !strings.Contains(err.Error(), "PostureOptions.IMDSv1Window") {
		t.Errorf("short window: %v", err)
	}
	if calls := w.Calls(); len(calls) != 0 {
		t.Errorf("calls %v", calls)
	}
}

// TestPostureAttributesToTemplates: an instance launched from a template
// outside any group is attributed to the template; one launched by hand
// is listed but does not block.
func TestPostureAttributesToTemplates(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t)
		w.SetAccountDefaults(t, &ec2.ModifyInstanceMetadataDefaultsInput{HttpTokens: "required"})
		lt := w.Template(t, "tool", w.Image(t, "al2023", types.ImdsSupportValuesV20), tokens("required"))
		out, err := w.EC2.RunInstances(t.Context(), &ec2.RunInstancesInput{MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
			LaunchTemplate:  &types.LaunchTemplateSpecification{LaunchTemplateId: aws.String(lt)},
			MetadataOptions: &types.InstanceMetadataOptionsRequest{HttpTokens: "optional"}})
		if err != nil {
			t.Fatal(err)
		}
		fromTemplate := aws.ToString(out.Instances[0].InstanceId)
		byHand := testenv.Launch(t, w.EC2, "", &types.InstanceMetadataOptionsRequest{HttpTokens: "optional"})
		for _, id := range []string{fromTemplate, byHand} {
			if err := w.EC2.CallIMDSv1(id, 2); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(6 * time.Minute) // a 5-minute period, published a minute after it ends
		p, err := account.GetPosture(t.Context(), w.clients())
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"imdsv1-in-use launch template " + lt + ", instance " + fromTemplate}
		if got := kinds(p.Blockers); !slices.Equal(got, want) {
			t.Errorf("blockers %q, want %q", got, want)
		}
		if len(p.LaunchTemplates) != 1 || p.LaunchTemplates[0].IMDSv1.UsedIMDSv1 != 1 || p.LaunchTemplates[0].IMDSv1.Clean {
			t.Errorf("templates %+v", p.LaunchTemplates)
		}
		if p.IMDSv1.UsedIMDSv1 != 2 || len(p.IMDSv1.Instances) != 2 {
			t.Errorf("IMDSv1 use %+v", p.IMDSv1)
		}
	})
}

package account_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/imdsopts/imdsopts"
	"github.com/imdsopts/imdsopts/account"
	"github.com/imdsopts/imdsopts/fake"
	"github.com/imdsopts/imdsopts/fleet"
	"github.com/imdsopts/imdsopts/internal/testenv"
)

// templateAccount has a template of each kind a plan distinguishes, and
// returns their IDs by name.
func templateAccount(t *testing.T, w *world) map[string]string {
	plain, v2 := w.Image(t, "plain", ""), w.Image(t, "al2023", types.ImdsSupportValuesV20)
	ids := map[string]string{
		// No HttpTokens on a plain AMI: launches optional.
		"web": w.Template(t, "web", plain, nil),
		// Explicitly required: satisfied.
		"secure": w.Template(t, "secure", plain, tokens("required")),
		// No HttpTokens on a v2.0 AMI: required from the AMI, satisfied.
		"modern": w.Template(t, "modern", v2, nil),
		// Optional, with other options to keep.
		"tagged": w.Template(t, "tagged", plain, &types.LaunchTemplateInstanceMetadataOptionsRequest{HttpTokens: "optional",
			HttpPutResponseHopLimit: aws.Int32(3), InstanceMetadataTags: "enabled"}),
		// Optional with the endpoint disabled: requiring IMDSv2 also turns
		// the endpoint on, a downgrade.
		"closed": w.Template(t, "closed", plain, &types.LaunchTemplateInstanceMetadataOptionsRequest{HttpTokens: "optional", HttpEndpoint: "disabled"}),
	}
	w.Group(t, "web-default", ids["web"], "$Default", 1)
	w.Group(t, "web-latest", ids["web"], "$Latest", 1)
	w.Group(t, "web-pinned", ids["web"], "1", 1)
	w.Group(t, "secure", ids["secure"], "$Default", 1)
	w.ConfigGroup(t, "legacy", plain, &astypes.InstanceMetadataOptions{HttpTokens: "optional"}, 1)
	return ids
}

func statusByName(ts []account.TemplateChange) map[string]fleet.Status {
	m := map[string]fleet.Status{}
	for _, tc := range ts {
		m[tc.LaunchTemplateName] = tc.Status
	}
	return m
}

func TestPlanAndApplyTemplates(t *testing.T) {
	w := newWorld(t)
	ids := templateAccount(t, w)
	s := testenv.MustNew(t, imdsopts.RequireIMDSv2())
	before := w.Calls()

	plan, err := account.PlanTemplates(t.Context(), w.clients(), s)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]fleet.Status{"web": fleet.StatusChange, "secure": fleet.StatusSatisfied, "modern": fleet.StatusSatisfied,
		"tagged": fleet.StatusChange, "closed": fleet.StatusRefused}
	if got := statusByName(plan.Templates); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("plan statuses %v, want %v", got, want)
	}
	if after := w.Calls(); after["CreateLaunchTemplateVersion"] != before["CreateLaunchTemplateVersion"] || after["ModifyLaunchTemplate"] != before["ModifyLaunchTemplate"] {
		t.Error("planning changed a template")
	}
	for _, tc := range plan.Templates {
		switch tc.LaunchTemplateName {
		case "tagged":
			wantMD := &types.LaunchTemplateInstanceMetadataOptionsRequest{HttpTokens: "required", HttpPutResponseHopLimit: aws.Int32(3),
				HttpEndpoint: "enabled", InstanceMetadataTags: "enabled"}
			if diff := cmp.Diff(wantMD, tc.MetadataOptions, cmpopts.IgnoreUnexported(types.LaunchTemplateInstanceMetadataOptionsRequest{})); diff != "" {
				t.Errorf("tagged's new options (-want +got):\n%s", diff)
			}
			if tc.Changes != testenv.MustNew(t, imdsopts.HTTPTokens("required")) || tc.SourceVersion != 1 || tc.Effective == nil || tc.Effective.HTTPTokens.Source != imdsopts.SourceTemplate {
				t.Errorf("tagged = %+v", tc)
			}
		case "closed":
			if !errors.Is(tc.Err, imdsopts.ErrDowngrade) || tc.Downgrade != testenv.MustNew(t, imdsopts.HTTPEndpoint("enabled")) {
				t.Errorf("closed = %v, %v", tc.Downgrade, tc.Err)
			}
		case "web":
			if tc.Effective.HTTPTokens.Source != imdsopts.SourceDefault {
				t.Errorf("web's HttpTokens %v", tc.Effective.HTTPTokens)
			}
		}
	}
	wantGroups := []string{
		`web-default: on $Default (version 1), and the new version is not made the default (MakeDefault): it launches without HttpTokens=required`,
		`web-pinned: pinned to version 1: it launches without HttpTokens=required; point the group at the new version, $Default or $Latest`,
	}
	var gotGroups []string
	for _, g := range plan.Groups {
		gotGroups = append(gotGroups, g.AutoScalingGroupName+": "+g.Reason)
	}
	if !slices.Equal(gotGroups, wantGroups) {
		t.Errorf("group notes:\n%s\nwant:\n%s", strings.Join(gotGroups, "\n"), strings.Join(wantGroups, "\n"))
	}
	if len(plan.LaunchConfigurations) != 1 || plan.LaunchConfigurations[0].LaunchConfigurationName != "legacy" ||
		!slices.Equal(plan.LaunchConfigurations[0].AutoScalingGroupNames, []string{"legacy"}) {
		t.Errorf("launch configurations %+v", plan.LaunchConfigurations)
	}

	report, err := account.ApplyTemplates(t.Context(), w.clients(), plan)
	if err != nil {
		t.Fatal(err)
	}
	if c := report.Counts(); c[fleet.StatusApplied] != 2 || c[fleet.StatusRefused] != 1 || c[fleet.StatusSatisfied] != 2 {
		t.Errorf("report counts %v", c)
	}
	if report.Calls["CreateLaunchTemplateVersion"] != 2 || report.Calls["ModifyLaunchTemplate"] != 0 {
		t.Errorf("report calls %v", report.Calls)
	}
	// Only MetadataOptions changed: the new version is the source's data
	// with the planned options.
	for _, name := range []string{"web", "tagged"} {
		out, err := w.EC2.DescribeLaunchTemplateVersions(t.Context(), &ec2.DescribeLaunchTemplateVersionsInput{
			LaunchTemplateId: aws.String(ids[name]), Versions: []string{"1", "2"}})
		if err != nil {
			t.Fatal(err)
		}
		newV, src := out.LaunchTemplateVersions[0], out.LaunchTemplateVersions[1]
		if aws.ToInt64(newV.VersionNumber) != 2 || aws.ToBool(newV.DefaultVersion) {
			t.Errorf("%s: new version %d default %v", name, aws.ToInt64(newV.VersionNumber), aws.ToBool(newV.DefaultVersion))
		}
		if diff := cmp.Diff(src.LaunchTemplateData, newV.LaunchTemplateData, testenv.IgnoreSerde,
			cmpopts.IgnoreUnexported(types.ResponseLaunchTemplateData{}, types.LaunchTemplateInstanceMetadataOptions{}),
			cmpopts.IgnoreFields(types.ResponseLaunchTemplateData{}, "MetadataOptions")); diff != "" {
			t.Errorf("%s: the new version changed more than MetadataOptions (-source +new):\n%s", name, diff)
		}
		if md := newV.LaunchTemplateData.MetadataOptions; md == nil || md.HttpTokens != "required" || md.HttpEndpoint != "enabled" {
			t.Errorf("%s: new MetadataOptions %+v", name, md)
		}
		if !strings.HasPrefix(aws.ToString(newV.VersionDescription), "imdsopts: HttpTokens=required") {
			t.Errorf("%s: description %q", name, aws.ToString(newV.VersionDescription))
		}
	}
	// A group on $Latest launches the new version: scale it out.
	if got := scaleOut(t, w, "web-latest"); got != "required" {
		t.Errorf("web-latest launched HttpTokens %q, want required", got)
	}
	if got := scaleOut(t, w, "web-default"); got != "optional" {
		t.Errorf("web-default launched HttpTokens %q, want optional (the new version is not the default)", got)
	}

	// Planned again with MakeDefault: web and tagged are satisfied now?
	// No: their default is still version 1. With MakeDefault the group on
	// $Default is no longer noted, and is fixed by the apply.
	plan, err = account.PlanTemplates(t.Context(), w.clients(), s, func(o *account.TemplateOptions) { o.MakeDefault = true })
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Groups) != 1 || plan.Groups[0].AutoScalingGroupName != "web-pinned" {
		t.Errorf("with MakeDefault, group notes %+v", plan.Groups)
	}
	report, err = account.ApplyTemplates(t.Context(), w.clients(), plan)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range report.Templates {
		if tc.Status == fleet.StatusApplied && (!tc.MadeDefault || tc.NewVersion != 3) {
			t.Errorf("%s: %+v, want version 3 made default", tc.LaunchTemplateName, tc)
		}
	}
	if got := scaleOut(t, w, "web-default"); got != "required" {
		t.Errorf("web-default launched HttpTokens %q after MakeDefault, want required", got)
	}
	// Everything but the downgrade is satisfied now; with AllowDowngrade
	// the plan's refusal is lifted at apply.
	plan, err = account.PlanTemplates(t.Context(), w.clients(), s)
	if err != nil {
		t.Fatal(err)
	}
	if c := plan.Counts(); c[fleet.StatusSatisfied] != 4 || c[fleet.StatusRefused] != 1 {
		t.Errorf("third plan %v", c)
	}
	report, err = account.ApplyTemplates(t.Context(), w.clients(), plan, func(o *account.TemplateOptions) { o.AllowDowngrade = true })
	if err != nil || report.Counts()[fleet.StatusApplied] != 1 {
		t.Errorf("apply with AllowDowngrade: %v, %v", report.Counts(), err)
	}
}

// scaleOut adds one instance to group and returns its HttpTokens, or the
// failed activity's message.
func scaleOut(t *testing.T, w *world, group string) string {
	t.Helper()
	ctx := t.Context()
	out, err := w.AS.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{group}})
	if err != nil {
		t.Fatal(err)
	}
	g := out.AutoScalingGroups[0]
	if _, err := w.AS.SetDesiredCapacity(ctx, &autoscaling.SetDesiredCapacityInput{AutoScalingGroupName: g.AutoScalingGroupName,
		DesiredCapacity: aws.Int32(aws.ToInt32(g.DesiredCapacity) + 1)}); err != nil {
		t.Fatal(err)
	}
	acts, err := w.AS.DescribeScalingActivities(ctx, &autoscaling.DescribeScalingActivitiesInput{AutoScalingGroupName: g.AutoScalingGroupName})
	if err != nil {
		t.Fatal(err)
	}
	if a := acts.Activities[0]; a.StatusCode != astypes.ScalingActivityStatusCodeSuccessful {
		return aws.ToString(a.StatusMessage)
	}
	id := strings.TrimPrefix(aws.ToString(acts.Activities[0].Description), "Launching a new EC2 instance: ")
	return string(testenv.CurrentOptions(t, w.EC2, id).HttpTokens)
}

// TestApplyTemplatesFaults: each fault ends one template in a defined
// status, and the others go on.
func TestApplyTemplatesFaults(t *testing.T) {
	s := testenv.MustNew(t, imdsopts.RequireIMDSv2())
	setup := func(t *testing.T, n int) (*world, []string) {
		w := newWorld(t)
		plain := w.Image(t, "plain", "")
		var ids []string
		for i := range n {
			ids = append(ids, w.Template(t, fmt.Sprintf("t%02d", i), plain, tokens("optional"), tokens("optional")))
		}
		return w, ids
	}
	make := func(o *account.TemplateOptions) { o.MakeDefault = true }
	t.Run("deleted between plan and apply", func(t *testing.T) {
		w, ids := setup(t, 3)
		plan, err := account.PlanTemplates(t.Context(), w.clients(), s, make)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.EC2.DeleteLaunchTemplate(t.Context(), &ec2.DeleteLaunchTemplateInput{LaunchTemplateId: aws.String(ids[1])}); err != nil {
			t.Fatal(err)
		}
		r, err := account.ApplyTemplates(t.Context(), w.clients(), plan)
		if err != nil {
			t.Fatal(err)
		}
		if got := statusByName(r.Templates); got["t00"] != fleet.StatusApplied || got["t01"] != fleet.StatusFailed || got["t02"] != fleet.StatusApplied {
			t.Errorf("statuses %v", got)
		}
		if !errors.Is(r.Templates[1].Err, account.ErrTemplateNotFound) || r.Calls["CreateLaunchTemplateVersion"] != 2 {
			t.Errorf("t01: %v; calls %v", r.Templates[1].Err, r.Calls)
		}
	})
	t.Run("default moved and source version deleted", func(t *testing.T) {
		w, ids := setup(t, 2)
		plan, err := account.PlanTemplates(t.Context(), w.clients(), s, make)
		if err != nil {
			t.Fatal(err)
		}
		w.SetDefault(t, ids[0], 2)
		if _, err := w.EC2.DeleteLaunchTemplateVersions(t.Context(), &ec2.DeleteLaunchTemplateVersionsInput{LaunchTemplateId: aws.String(ids[0]),
			Versions: []string{"1"}}); err != nil {
			t.Fatal(err)
		}
		r, err := account.ApplyTemplates(t.Context(), w.clients(), plan)
		if err != nil {
			t.Fatal(err)
		}
		if tc := r.Templates[0]; tc.Status != fleet.StatusFailed || !errors.Is(tc.Err, account.ErrStalePlan) || !strings.Contains(tc.Err.Error(), "default version is 2") {
			t.Errorf("t00: %v %v", tc.Status, tc.Err)
		}
		if r.Templates[1].Status != fleet.StatusApplied || w.EC2.Calls("CreateLaunchTemplateVersion") != 2+1 {
			t.Errorf("t01: %v; %d creations", r.Templates[1].Status, w.EC2.Calls("CreateLaunchTemplateVersion"))
		}
	})
	t.Run("version or template gone at the call", func(t *testing.T) {
		w, _ := setup(t, 3)
		plan, err := account.PlanTemplates(t.Context(), w.clients(), s, make)
		if err != nil {
			t.Fatal(err)
		}
		w.EC2.FailNext("CreateLaunchTemplateVersion", 1, fake.NewAPIError(400, "InvalidLaunchTemplateId.VersionNotFound", "The specified launch template version 1 does not exist."))
		w.EC2.FailNext("CreateLaunchTemplateVersion", 1, fake.NewAPIError(400, "InvalidLaunchTemplateId.NotFound", "The specified launch template does not exist."))
		r, err := account.ApplyTemplates(t.Context(), w.clients(), plan, func(o *account.TemplateOptions) { o.Options.Concurrency = 1 })
		if err != nil {
			t.Fatal(err)
		}
		for i, want := range []string{"the planned version no longer exists", "deleted"} {
			if tc := r.Templates[i]; tc.Status != fleet.StatusFailed || !errors.Is(tc.Err, account.ErrTemplateNotFound) || !strings.Contains(tc.Err.Error(), want) {
				t.Errorf("%s: %v %v", tc.LaunchTemplateName, tc.Status, tc.Err)
			}
		}
		if tc := r.Templates[2]; tc.Status != fleet.StatusApplied {
			t.Errorf("t02: %v %v", tc.Status, tc.Err)
		}
	})
	t.Run("throttling storm", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			w, ids := setup(t, 4)
			plan, err := account.PlanTemplates(t.Context(), w.clients(), s, make)
			if err != nil {
				t.Fatal(err)
			}
			throttle := fake.NewAPIError(503, "RequestLimitExceeded", "Request limit exceeded.")
			for _, op := range []string{"DescribeLaunchTemplates", "CreateLaunchTemplateVersion", "ModifyLaunchTemplate"} {
				w.EC2.FailNext(op, 6, throttle)
			}
			r, err := account.ApplyTemplates(t.Context(), w.clients(), plan)
			if err != nil || r.Counts()[fleet.StatusApplied] != 4 || r.Throttled != 18 {
				t.Fatalf("apply through a storm: %v, %v, %d throttled", r.Counts(), err, r.Throttled)
			}
			for _, id := range ids {
				out, err := w.EC2.DescribeLaunchTemplates(t.Context(), &ec2.DescribeLaunchTemplatesInput{LaunchTemplateIds: []string{id}})
				if err != nil {
					t.Fatal(err)
				}
				if lt := out.LaunchTemplates[0]; aws.ToInt64(lt.LatestVersionNumber) != 3 || aws.ToInt64(lt.DefaultVersionNumber) != 3 {
					t.Errorf("%s: latest %d default %d, want one new version, made default", id, aws.ToInt64(lt.LatestVersionNumber), aws.ToInt64(lt.DefaultVersionNumber))
				}
			}
		})
	})
	t.Run("new version not made default", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			w, _ := setup(t, 1)
			plan, err := account.PlanTemplates(t.Context(), w.clients(), s, make)
			if err != nil {
				t.Fatal(err)
			}
			w.EC2.Deny("ModifyLaunchTemplate")
			r, err := account.ApplyTemplates(t.Context(), w.clients(), plan)
			if err != nil {
				t.Fatal(err)
			}
			tc := r.Templates[0]
			if tc.Status != fleet.StatusFailed || tc.NewVersion != 3 || tc.MadeDefault || !errors.Is(tc.Err, imdsopts.ErrUnauthorized) ||
				!strings.Contains(tc.Err.Error(), "version 3 was created, but not made the default") {
				t.Errorf("%+v", tc)
			}
		})
	})
	t.Run("endpoint failing: the breaker stops the rest", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			w, _ := setup(t, 20)
			plan, err := account.PlanTemplates(t.Context(), w.clients(), s)
			if err != nil {
				t.Fatal(err)
			}
			w.EC2.FailNext("CreateLaunchTemplateVersion", 10000, nil)
			r, err := account.ApplyTemplates(t.Context(), w.clients(), plan, func(o *account.TemplateOptions) {
				o.Options.MaxConsecutiveFailures, o.Options.Concurrency = 3, 1
			})
			if !errors.Is(err, imdsopts.ErrTooManyFailures) {
				t.Fatalf("error %v, want ErrTooManyFailures", err)
			}
			c := r.Counts()
			if c[fleet.StatusFailed] != 1 || c[fleet.StatusNotAttempted] != 19 {
				t.Errorf("counts %v, want 1 failed and the rest not attempted", c)
			}
			for _, tc := range r.Templates {
				if tc.Err == nil {
					t.Errorf("%s: %v without an error", tc.LaunchTemplateName, tc.Status)
				}
			}
		})
	})
	t.Run("cancelled", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			w, _ := setup(t, 5)
			plan, err := account.PlanTemplates(t.Context(), w.clients(), s)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(t.Context())
			c := w.clients()
			c.EC2 = &cancelAfter{EC2: w.EC2, op: "CreateLaunchTemplateVersion", n: 2, cancel: cancel}
			r, err := account.ApplyTemplates(ctx, c, plan, func(o *account.TemplateOptions) { o.Options.Concurrency = 1 })
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("error %v", err)
			}
			got := r.Counts()
			if got[fleet.StatusApplied]+got[fleet.StatusFailed] != 2 || got[fleet.StatusNotAttempted] != 3 {
				t.Errorf("counts %v", got)
			}
		})
	})
}

// cancelAfter cancels after the n-th call of op has returned.
type cancelAfter struct {
	*fake.EC2
	op     string
	n      int
	mu     sync.Mutex
	cancel context.CancelFunc
}

func (c *cancelAfter) CreateLaunchTemplateVersion(ctx context.Context, in *ec2.CreateLaunchTemplateVersionInput, optFns ...func(*ec2.Options)) (*ec2.CreateLaunchTemplateVersionOutput, error) {
	out, err := c.EC2.CreateLaunchTemplateVersion(ctx, in, optFns...)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n--; c.n == 0 {
		c.cancel()
	}
	return out, err
}

// TestPlanTemplatesInvalidMerge: a source whose options cannot take the
// Set (IPv6 on, endpoint turned off) fails in the plan, before any call.
func TestPlanTemplatesInvalidMerge(t *testing.T) {
	w := newWorld(t)
	w.Template(t, "ipv6", w.Image(t, "plain", ""), &types.LaunchTemplateInstanceMetadataOptionsRequest{HttpProtocolIpv6: "enabled"})
	plan, err := account.PlanTemplates(t.Context(), w.clients(), testenv.MustNew(t, imdsopts.HTTPEndpoint("disabled")))
	if err != nil {
		t.Fatal(err)
	}
	if tc := plan.Templates[0]; tc.Status != fleet.StatusFailed || !errors.Is(tc.Err, imdsopts.ErrInvalid) || !strings.Contains(tc.Err.Error(), "HttpProtocolIpv6") {
		t.Errorf("%+v", tc)
	}
	r, err := account.ApplyTemplates(t.Context(), w.clients(), plan)
	if err != nil || w.EC2.Calls("CreateLaunchTemplateVersion") != 0 || r.Templates[0].Status != fleet.StatusFailed {
		t.Errorf("apply: %v, %v", r, err)
	}
}

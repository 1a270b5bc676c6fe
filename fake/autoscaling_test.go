package fake_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/imdsopts/imdsopts/fake"
)

// autoScalingClient is the part of *autoscaling.Client the fake implements;
// both must satisfy it.
type autoScalingClient interface {
	CreateAutoScalingGroup(context.Context, *autoscaling.CreateAutoScalingGroupInput, ...func(*autoscaling.Options)) (*autoscaling.CreateAutoScalingGroupOutput, error)
	UpdateAutoScalingGroup(context.Context, *autoscaling.UpdateAutoScalingGroupInput, ...func(*autoscaling.Options)) (*autoscaling.UpdateAutoScalingGroupOutput, error)
	DescribeAutoScalingGroups(context.Context, *autoscaling.DescribeAutoScalingGroupsInput, ...func(*autoscaling.Options)) (*autoscaling.DescribeAutoScalingGroupsOutput, error)
	SetDesiredCapacity(context.Context, *autoscaling.SetDesiredCapacityInput, ...func(*autoscaling.Options)) (*autoscaling.SetDesiredCapacityOutput, error)
	CreateLaunchConfiguration(context.Context, *autoscaling.CreateLaunchConfigurationInput, ...func(*autoscaling.Options)) (*autoscaling.CreateLaunchConfigurationOutput, error)
	DescribeLaunchConfigurations(context.Context, *autoscaling.DescribeLaunchConfigurationsInput, ...func(*autoscaling.Options)) (*autoscaling.DescribeLaunchConfigurationsOutput, error)
	DescribeScalingActivities(context.Context, *autoscaling.DescribeScalingActivitiesInput, ...func(*autoscaling.Options)) (*autoscaling.DescribeScalingActivitiesOutput, error)
}

var (
	_ autoScalingClient = (*autoscaling.Client)(nil)
	_ autoScalingClient = (*fake.AutoScaling)(nil)
)

// asWantCode fails the test unless err carries the Auto Scaling error code
// want with HTTP status 400, wrapped as the SDK wraps errors of operation op.
func asWantCode(t *testing.T, err error, op, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: got no error, want %s", op, want)
	}
	if got := code(err); got != want {
		t.Fatalf("%s: got code %q (%v), want %q", op, got, err, want)
	}
	if got := status(err); got != 400 {
		t.Errorf("%s: got HTTP status %d, want 400", op, got)
	}
	var oe *smithy.OperationError
	if !errors.As(err, &oe) || oe.ServiceID != "Auto Scaling" || oe.OperationName != op {
		t.Errorf("%s: error %v is not an Auto Scaling %s OperationError", op, err, op)
	}
}

// templateGroup returns a request for a group named name of desired
// instances that launches from template id at version.
func templateGroup(name, id, version string, desired int32) *autoscaling.CreateAutoScalingGroupInput {
	in := &autoscaling.CreateAutoScalingGroupInput{
		AutoScalingGroupName: aws.String(name),
		MinSize:              aws.Int32(0),
		MaxSize:              aws.Int32(10),
		DesiredCapacity:      aws.Int32(desired),
		AvailabilityZones:    []string{"us-east-1a", "us-east-1b"},
		LaunchTemplate:       &astypes.LaunchTemplateSpecification{LaunchTemplateId: aws.String(id)},
	}
	if version != "" {
		in.LaunchTemplate.Version = aws.String(version)
	}
	return in
}

// group describes the group name.
func group(t *testing.T, a *fake.AutoScaling, name string) astypes.AutoScalingGroup {
	t.Helper()
	out, err := a.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{name}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.AutoScalingGroups) != 1 {
		t.Fatalf("group %s: %d groups described", name, len(out.AutoScalingGroups))
	}
	return out.AutoScalingGroups[0]
}

// groupTokens returns the HttpTokens of the group's instances, as EC2
// describes them, in launch order.
func groupTokens(t *testing.T, a *fake.AutoScaling, name string) []string {
	t.Helper()
	var s []string
	for _, i := range group(t, a, name).Instances {
		s = append(s, string(describe(t, a.EC2(), aws.ToString(i.InstanceId)).MetadataOptions.HttpTokens))
	}
	return s
}

// activities returns the scaling activities of group name, newest first.
func activities(t *testing.T, a *fake.AutoScaling, name string) []astypes.Activity {
	t.Helper()
	out, err := a.DescribeScalingActivities(ctx, &autoscaling.DescribeScalingActivitiesInput{AutoScalingGroupName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	return out.Activities
}

func setCapacity(t *testing.T, a *fake.AutoScaling, name string, n int32) {
	t.Helper()
	if _, err := a.SetDesiredCapacity(ctx, &autoscaling.SetDesiredCapacityInput{AutoScalingGroupName: aws.String(name), DesiredCapacity: aws.Int32(n)}); err != nil {
		t.Fatal(err)
	}
}

// TestIssue9Story walks the outage that account-level IMDSv2 enforcement
// causes in the Auto Scaling path, and its fix.
func TestIssue9Story(t *testing.T) {
	e := fake.New()
	a := fake.NewAutoScaling(e)
	img := register(t, e, "img", "")

	// Template version 1 allows IMDSv1; a group on $Default launches
	// IMDSv1 instances.
	lt := createTemplate(t, e, "web", &types.RequestLaunchTemplateData{ImageId: aws.String(img), MetadataOptions: ltMetadata("optional", 0)})
	if _, err := a.CreateAutoScalingGroup(ctx, templateGroup("web", lt, "", 2)); err != nil {
		t.Fatal(err)
	}
	if _, err := a.CreateAutoScalingGroup(ctx, templateGroup("pinned", lt, "1", 1)); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"optional", "optional"}, groupTokens(t, a, "web")); diff != "" {
		t.Fatalf("before enforcement (-want +got):\n%s", diff)
	}

	// The account enforces IMDSv2: scaling out fails, as a failed
	// scaling activity, not as an error of the call.
	if _, err := e.ModifyInstanceMetadataDefaults(ctx, &ec2.ModifyInstanceMetadataDefaultsInput{HttpTokensEnforced: "enabled"}); err != nil {
		t.Fatal(err)
	}
	setCapacity(t, a, "web", 3)
	g := group(t, a, "web")
	if len(g.Instances) != 2 || aws.ToInt32(g.DesiredCapacity) != 3 {
		t.Errorf("after a refused launch: %d instances, desired %d; want 2 and 3", len(g.Instances), aws.ToInt32(g.DesiredCapacity))
	}
	last := activities(t, a, "web")[0]
	if last.StatusCode != astypes.ScalingActivityStatusCodeFailed {
		t.Fatalf("last activity %s: %s", last.StatusCode, aws.ToString(last.Description))
	}
	// The message is EC2's own: the same launch made directly is refused
	// with it.
	_, direct := e.RunInstances(ctx, &ec2.RunInstancesInput{MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		LaunchTemplate: &types.LaunchTemplateSpecification{LaunchTemplateId: aws.String(lt)}})
	var apiErr smithy.APIError
	if !errors.As(direct, &apiErr) || apiErr.ErrorCode() != "UnsupportedOperation" {
		t.Fatalf("direct launch: %v", direct)
	}
	if msg := aws.ToString(last.StatusMessage); !strings.Contains(msg, apiErr.ErrorMessage()) || !strings.Contains(aws.ToString(last.Description), msg) {
		t.Errorf("StatusMessage %q, Description %q; want EC2's message %q", msg, aws.ToString(last.Description), apiErr.ErrorMessage())
	}

	// Version 2 requires IMDSv2 and becomes the default: scaling out
	// succeeds with required instances; the old instances stay as they
	// were.
	v2 := addVersion(t, e, lt, "1", &types.RequestLaunchTemplateData{MetadataOptions: ltMetadata("required", 0)})
	setDefault(t, e, lt, fmt.Sprint(v2))
	setCapacity(t, a, "web", 4)
	if diff := cmp.Diff([]string{"optional", "optional", "required", "required"}, groupTokens(t, a, "web")); diff != "" {
		t.Errorf("after version 2 (-want +got):\n%s", diff)
	}
	var versions []string
	for _, i := range group(t, a, "web").Instances {
		versions = append(versions, aws.ToString(i.LaunchTemplate.Version))
	}
	if diff := cmp.Diff([]string{"1", "1", "2", "2"}, versions); diff != "" {
		t.Errorf("versions launched from (-want +got):\n%s", diff)
	}
	if acts := activities(t, a, "web"); acts[0].StatusCode != "Successful" || acts[1].StatusCode != "Successful" {
		t.Errorf("activities after the fix: %s, %s", acts[0].StatusCode, acts[1].StatusCode)
	}

	// A group pinned to version 1 keeps failing.
	setCapacity(t, a, "pinned", 2)
	if acts := activities(t, a, "pinned"); acts[0].StatusCode != "Failed" {
		t.Errorf("pinned group: last activity %s", acts[0].StatusCode)
	}
	if n := len(group(t, a, "pinned").Instances); n != 1 {
		t.Errorf("pinned group has %d instances, want 1", n)
	}

	// Until it is moved to $Default.
	if _, err := a.UpdateAutoScalingGroup(ctx, &autoscaling.UpdateAutoScalingGroupInput{
		AutoScalingGroupName: aws.String("pinned"),
		LaunchTemplate:       &astypes.LaunchTemplateSpecification{LaunchTemplateName: aws.String("web"), Version: aws.String("$Default")},
	}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"optional", "required"}, groupTokens(t, a, "pinned")); diff != "" {
		t.Errorf("pinned group moved to $Default (-want +got):\n%s", diff)
	}
}

func TestCreateAutoScalingGroup(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := fake.New()
		a := fake.NewAutoScaling(e)
		img := register(t, e, "img", "")
		lt := createTemplate(t, e, "web", &types.RequestLaunchTemplateData{
			ImageId: aws.String(img), InstanceType: types.InstanceTypeT3Micro, MetadataOptions: ltMetadata("required", 0),
			TagSpecifications: []types.LaunchTemplateTagSpecificationRequest{{ResourceType: "instance", Tags: []types.Tag{{Key: aws.String("app"), Value: aws.String("web")}}}},
		})
		in := templateGroup("web", lt, "", 3)
		in.Tags = []astypes.Tag{
			{Key: aws.String("team"), Value: aws.String("a"), PropagateAtLaunch: aws.Bool(true)},
			{Key: aws.String("cost"), Value: aws.String("b")},
		}
		start := time.Now()
		if _, err := a.CreateAutoScalingGroup(ctx, in); err != nil {
			t.Fatal(err)
		}
		g := group(t, a, "web")
		if got := aws.ToString(g.AutoScalingGroupARN); !strings.HasPrefix(got, "arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:") || !strings.HasSuffix(got, ":autoScalingGroupName/web") {
			t.Errorf("ARN %q", got)
		}
		want := astypes.AutoScalingGroup{
			AutoScalingGroupName: aws.String("web"),
			AvailabilityZones:    []string{"us-east-1a", "us-east-1b"},
			CreatedTime:          aws.Time(start),
			DefaultCooldown:      aws.Int32(300),
			DesiredCapacity:      aws.Int32(3),
			MinSize:              aws.Int32(0),
			MaxSize:              aws.Int32(10),
			HealthCheckType:      aws.String("EC2"),
			LaunchTemplate: &astypes.LaunchTemplateSpecification{
				LaunchTemplateId: aws.String(lt), LaunchTemplateName: aws.String("web"), Version: aws.String("$Default"),
			},
			Tags: []astypes.TagDescription{
				{Key: aws.String("team"), Value: aws.String("a"), PropagateAtLaunch: aws.Bool(true), ResourceId: aws.String("web"), ResourceType: aws.String("auto-scaling-group")},
				{Key: aws.String("cost"), Value: aws.String("b"), PropagateAtLaunch: aws.Bool(false), ResourceId: aws.String("web"), ResourceType: aws.String("auto-scaling-group")},
			},
			TerminationPolicies: []string{"Default"},
		}
		got := g
		got.AutoScalingGroupARN, got.Instances, got.HealthCheckGracePeriod, got.NewInstancesProtectedFromScaleIn, got.ServiceLinkedRoleARN = nil, nil, nil, nil, nil
		got.LoadBalancerNames, got.TargetGroupARNs, got.SuspendedProcesses, got.EnabledMetrics, got.TrafficSources = nil, nil, nil, nil, nil
		if diff := cmp.Diff(want, got, ignoreUnexported); diff != "" {
			t.Errorf("group (-want +got):\n%s", diff)
		}
		if len(g.Instances) != 3 {
			t.Fatalf("%d instances, want 3", len(g.Instances))
		}
		for n, i := range g.Instances {
			zone := []string{"us-east-1a", "us-east-1b"}[n%2]
			wantInst := astypes.Instance{
				InstanceId: i.InstanceId, AvailabilityZone: aws.String(zone), HealthStatus: aws.String("Healthy"),
				LifecycleState: "InService", ProtectedFromScaleIn: aws.Bool(false), InstanceType: aws.String("t3.micro"), ImageId: aws.String(img),
				LaunchTemplate: &astypes.LaunchTemplateSpecification{LaunchTemplateId: aws.String(lt), LaunchTemplateName: aws.String("web"), Version: aws.String("1")},
			}
			if diff := cmp.Diff(wantInst, i, ignoreUnexported); diff != "" {
				t.Errorf("instance %d (-want +got):\n%s", n, diff)
			}
			// EC2 sees the instance with the tags of the group, the
			// template and EC2.
			inst := describe(t, e, aws.ToString(i.InstanceId))
			tags := map[string]string{}
			for _, tag := range inst.Tags {
				tags[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
			}
			wantTags := map[string]string{"aws:autoscaling:groupName": "web", "team": "a", "app": "web",
				"aws:ec2launchtemplate:id": lt, "aws:ec2launchtemplate:version": "1"}
			if diff := cmp.Diff(wantTags, tags); diff != "" {
				t.Errorf("instance %d tags (-want +got):\n%s", n, diff)
			}
			if inst.MetadataOptions.HttpTokens != "required" {
				t.Errorf("instance %d: %s", n, show(inst.MetadataOptions))
			}
		}
		acts := activities(t, a, "web")
		if len(acts) != 3 {
			t.Fatalf("%d activities, want 3", len(acts))
		}
		for n, act := range acts {
			id := aws.ToString(g.Instances[2-n].InstanceId) // newest first
			if act.StatusCode != "Successful" || aws.ToString(act.Description) != "Launching a new EC2 instance: "+id ||
				!strings.Contains(aws.ToString(act.Cause), "a user request created an AutoScalingGroup changing the desired capacity from 0 to 3") ||
				!act.StartTime.Equal(start) || aws.ToString(act.AutoScalingGroupName) != "web" || aws.ToInt32(act.Progress) != 100 {
				t.Errorf("activity %d: %s %q %q %v", n, act.StatusCode, aws.ToString(act.Description), aws.ToString(act.Cause), act.StartTime)
			}
		}
		if n := e.Calls("RunInstances"); n != 1 {
			t.Errorf("the group launched with %d RunInstances calls, want 1", n)
		}

		// IncludeInstances false leaves them out.
		out, err := a.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{IncludeInstances: aws.Bool(false)})
		if err != nil || len(out.AutoScalingGroups[0].Instances) != 0 {
			t.Errorf("IncludeInstances false: %v", err)
		}
	})
}

func TestCreateAutoScalingGroupErrors(t *testing.T) {
	e := fake.New()
	a := fake.NewAutoScaling(e)
	img := register(t, e, "img", "")
	lt := createTemplate(t, e, "web", &types.RequestLaunchTemplateData{ImageId: aws.String(img)})
	if _, err := a.CreateAutoScalingGroup(ctx, templateGroup("taken", lt, "", 0)); err != nil {
		t.Fatal(err)
	}
	const op = "CreateAutoScalingGroup"
	edit := func(f func(*autoscaling.CreateAutoScalingGroupInput)) *autoscaling.CreateAutoScalingGroupInput {
		in := templateGroup("new", lt, "", 1)
		f(in)
		return in
	}
	spec := func(id, name, version *string) func(*autoscaling.CreateAutoScalingGroupInput) {
		return func(in *autoscaling.CreateAutoScalingGroupInput) {
			in.LaunchTemplate = &astypes.LaunchTemplateSpecification{LaunchTemplateId: id, LaunchTemplateName: name, Version: version}
		}
	}
	for _, tt := range []struct {
		name string
		in   *autoscaling.CreateAutoScalingGroupInput
		code string
	}{
		{"no name", edit(func(in *autoscaling.CreateAutoScalingGroupInput) { in.AutoScalingGroupName = nil }), "ValidationError"},
		{"a colon in the name", edit(func(in *autoscaling.CreateAutoScalingGroupInput) { in.AutoScalingGroupName = aws.String("a:b") }), "ValidationError"},
		{"a name of 256 characters", edit(func(in *autoscaling.CreateAutoScalingGroupInput) {
			in.AutoScalingGroupName = aws.String(strings.Repeat("g", 256))
		}), "ValidationError"},
		{"name in use", edit(func(in *autoscaling.CreateAutoScalingGroupInput) { in.AutoScalingGroupName = aws.String("taken") }), "AlreadyExists"},
		{"no MinSize", edit(func(in *autoscaling.CreateAutoScalingGroupInput) { in.MinSize = nil }), "ValidationError"},
		{"no MaxSize", edit(func(in *autoscaling.CreateAutoScalingGroupInput) { in.MaxSize = nil }), "ValidationError"},
		{"min above max", edit(func(in *autoscaling.CreateAutoScalingGroupInput) { in.MinSize, in.DesiredCapacity = aws.Int32(11), nil }), "ValidationError"},
		{"desired above max", edit(func(in *autoscaling.CreateAutoScalingGroupInput) { in.DesiredCapacity = aws.Int32(11) }), "ValidationError"},
		{"desired below min", edit(func(in *autoscaling.CreateAutoScalingGroupInput) { in.MinSize = aws.Int32(2) }), "ValidationError"},
		{"no launch specification", edit(func(in *autoscaling.CreateAutoScalingGroupInput) { in.LaunchTemplate = nil }), "ValidationError"},
		{"template and configuration", edit(func(in *autoscaling.CreateAutoScalingGroupInput) { in.LaunchConfigurationName = aws.String("lc") }), "ValidationError"},
		{"an instance ID", edit(func(in *autoscaling.CreateAutoScalingGroupInput) {
			in.LaunchTemplate, in.InstanceId = nil, aws.String("i-00000000000000001")
		}), "ValidationError"},
		{"unknown configuration", edit(func(in *autoscaling.CreateAutoScalingGroupInput) {
			in.LaunchTemplate, in.LaunchConfigurationName = nil, aws.String("lc")
		}), "ValidationError"},
		{"unknown template", edit(spec(aws.String("lt-0123456789abcdef0"), nil, nil)), "ValidationError"},
		{"malformed template ID", edit(spec(aws.String("lt-1"), nil, nil)), "ValidationError"},
		{"unknown template name", edit(spec(nil, aws.String("nope"), nil)), "ValidationError"},
		{"template ID and name", edit(spec(aws.String(lt), aws.String("web"), nil)), "ValidationError"},
		{"template neither", edit(spec(nil, nil, aws.String("1"))), "ValidationError"},
		{"unknown version", edit(spec(aws.String(lt), nil, aws.String("2"))), "ValidationError"},
		{"malformed version", edit(spec(aws.String(lt), nil, aws.String("latest"))), "ValidationError"},
		{"mixed policy without template", edit(func(in *autoscaling.CreateAutoScalingGroupInput) {
			in.LaunchTemplate, in.MixedInstancesPolicy = nil, &astypes.MixedInstancesPolicy{}
		}), "ValidationError"},
		{"an override's template without its instance type", edit(func(in *autoscaling.CreateAutoScalingGroupInput) {
			in.LaunchTemplate, in.MixedInstancesPolicy = nil, &astypes.MixedInstancesPolicy{LaunchTemplate: &astypes.LaunchTemplate{
				LaunchTemplateSpecification: &astypes.LaunchTemplateSpecification{LaunchTemplateId: aws.String(lt)},
				Overrides: []astypes.LaunchTemplateOverrides{{WeightedCapacity: aws.String("1"),
					LaunchTemplateSpecification: &astypes.LaunchTemplateSpecification{LaunchTemplateId: aws.String(lt)}}},
			}}
		}), "ValidationError"},
		{"an override's unknown template", edit(func(in *autoscaling.CreateAutoScalingGroupInput) {
			in.LaunchTemplate, in.MixedInstancesPolicy = nil, &astypes.MixedInstancesPolicy{LaunchTemplate: &astypes.LaunchTemplate{
				LaunchTemplateSpecification: &astypes.LaunchTemplateSpecification{LaunchTemplateId: aws.String(lt)},
				Overrides: []astypes.LaunchTemplateOverrides{{InstanceType: aws.String("m6g.large"),
					LaunchTemplateSpecification: &astypes.LaunchTemplateSpecification{LaunchTemplateName: aws.String("arm")}}},
			}}
		}), "ValidationError"},
		{"an override's unknown version", edit(func(in *autoscaling.CreateAutoScalingGroupInput) {
			in.LaunchTemplate, in.MixedInstancesPolicy = nil, &astypes.MixedInstancesPolicy{LaunchTemplate: &astypes.LaunchTemplate{
				LaunchTemplateSpecification: &astypes.LaunchTemplateSpecification{LaunchTemplateId: aws.String(lt)},
				Overrides: []astypes.LaunchTemplateOverrides{{InstanceType: aws.String("m6g.large"),
					LaunchTemplateSpecification: &astypes.LaunchTemplateSpecification{LaunchTemplateId: aws.String(lt), Version: aws.String("7")}}},
			}}
		}), "ValidationError"},
		{"an override's ImageId", edit(func(in *autoscaling.CreateAutoScalingGroupInput) {
			in.LaunchTemplate, in.MixedInstancesPolicy = nil, &astypes.MixedInstancesPolicy{LaunchTemplate: &astypes.LaunchTemplate{
				LaunchTemplateSpecification: &astypes.LaunchTemplateSpecification{LaunchTemplateId: aws.String(lt)},
				Overrides:                   []astypes.LaunchTemplateOverrides{{InstanceType: aws.String("m6g.large"), ImageId: aws.String(img)}},
			}}
		}), "ValidationError"},
		{"no zone or subnet", edit(func(in *autoscaling.CreateAutoScalingGroupInput) { in.AvailabilityZones = nil }), "ValidationError"},
		{"a tag key aws:", edit(func(in *autoscaling.CreateAutoScalingGroupInput) { in.Tags = []astypes.Tag{{Key: aws.String("aws:x")}} }), "ValidationError"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := a.CreateAutoScalingGroup(ctx, tt.in)
			asWantCode(t, err, op, tt.code)
			if tt.code == "AlreadyExists" {
				var fault *astypes.AlreadyExistsFault
				if !errors.As(err, &fault) {
					t.Errorf("AlreadyExists is %T, not the SDK's *types.AlreadyExistsFault", err)
				}
			}
		})
	}
	out, err := a.DescribeAutoScalingGroups(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(out.AutoScalingGroups) != 1 || e.Calls("RunInstances") != 0 {
		t.Errorf("refused requests created %d groups and made %d launches", len(out.AutoScalingGroups)-1, e.Calls("RunInstances"))
	}
}

func TestGroupVersionResolvedAtEachLaunch(t *testing.T) {
	e := fake.New()
	a := fake.NewAutoScaling(e)
	img := register(t, e, "img", "")
	lt := createTemplate(t, e, "web", &types.RequestLaunchTemplateData{ImageId: aws.String(img), MetadataOptions: ltMetadata("optional", 0)})
	for _, in := range []*autoscaling.CreateAutoScalingGroupInput{
		templateGroup("default", lt, "$Default", 1),
		templateGroup("latest", lt, "$Latest", 1),
		templateGroup("pinned", lt, "1", 1),
	} {
		if _, err := a.CreateAutoScalingGroup(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	addVersion(t, e, lt, "1", &types.RequestLaunchTemplateData{MetadataOptions: ltMetadata("required", 0)}) // 2, latest, not default
	for _, name := range []string{"default", "latest", "pinned"} {
		setCapacity(t, a, name, 2)
	}
	for name, want := range map[string][]string{
		"default": {"optional", "optional"},
		"latest":  {"optional", "required"},
		"pinned":  {"optional", "optional"},
	} {
		if diff := cmp.Diff(want, groupTokens(t, a, name)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
		if v := aws.ToString(group(t, a, name).LaunchTemplate.Version); v != map[string]string{"default": "$Default", "latest": "$Latest", "pinned": "1"}[name] {
			t.Errorf("%s: group version %q", name, v)
		}
	}

	// A template deleted under a group makes its launches fail.
	if _, err := e.DeleteLaunchTemplate(ctx, &ec2.DeleteLaunchTemplateInput{LaunchTemplateId: aws.String(lt)}); err != nil {
		t.Fatal(err)
	}
	setCapacity(t, a, "latest", 3)
	act := activities(t, a, "latest")[0]
	if act.StatusCode != "Failed" || !strings.Contains(aws.ToString(act.StatusMessage), lt) {
		t.Errorf("launch from a deleted template: %s %q", act.StatusCode, aws.ToString(act.StatusMessage))
	}
	if n := len(group(t, a, "latest").Instances); n != 2 {
		t.Errorf("%d instances after a failed launch, want 2", n)
	}
}

func TestUpdateAutoScalingGroup(t *testing.T) {
	e := fake.New()
	a := fake.NewAutoScaling(e)
	img := register(t, e, "img", "")
	lt := createTemplate(t, e, "web", &types.RequestLaunchTemplateData{ImageId: aws.String(img), MetadataOptions: ltMetadata("optional", 0)})
	in := templateGroup("web", lt, "", 2)
	in.MinSize, in.MaxSize = aws.Int32(1), aws.Int32(4)
	if _, err := a.CreateAutoScalingGroup(ctx, in); err != nil {
		t.Fatal(err)
	}
	old := group(t, a, "web").Instances
	const op = "UpdateAutoScalingGroup"
	update := func(in autoscaling.UpdateAutoScalingGroupInput) error {
		in.AutoScalingGroupName = aws.String("web")
		_, err := a.UpdateAutoScalingGroup(ctx, &in)
		return err
	}
	sizes := func() [3]int32 {
		g := group(t, a, "web")
		return [3]int32{aws.ToInt32(g.MinSize), aws.ToInt32(g.DesiredCapacity), aws.ToInt32(g.MaxSize)}
	}
	for _, tt := range []struct {
		name string
		in   autoscaling.UpdateAutoScalingGroupInput
		want [3]int32 // min, desired, max
	}{
		{"MinSize above desired raises it", autoscaling.UpdateAutoScalingGroupInput{MinSize: aws.Int32(3)}, [3]int32{3, 3, 4}},
		{"MaxSize below desired lowers it", autoscaling.UpdateAutoScalingGroupInput{MinSize: aws.Int32(1), MaxSize: aws.Int32(2)}, [3]int32{1, 2, 2}},
		{"DesiredCapacity wins", autoscaling.UpdateAutoScalingGroupInput{MaxSize: aws.Int32(5), DesiredCapacity: aws.Int32(4)}, [3]int32{1, 4, 5}},
		{"nothing given changes nothing", autoscaling.UpdateAutoScalingGroupInput{}, [3]int32{1, 4, 5}},
	} {
		if err := update(tt.in); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got := sizes(); got != tt.want {
			t.Errorf("%s: min, desired, max = %v, want %v", tt.name, got, tt.want)
		}
		if n := len(group(t, a, "web").Instances); n != int(tt.want[1]) {
			t.Errorf("%s: %d instances, want %d", tt.name, n, tt.want[1])
		}
	}
	for _, tt := range []struct {
		name string
		in   autoscaling.UpdateAutoScalingGroupInput
	}{
		{"desired above max", autoscaling.UpdateAutoScalingGroupInput{DesiredCapacity: aws.Int32(6)}},
		{"min above max", autoscaling.UpdateAutoScalingGroupInput{MinSize: aws.Int32(6)}},
		{"template and configuration", autoscaling.UpdateAutoScalingGroupInput{
			LaunchTemplate: &astypes.LaunchTemplateSpecification{LaunchTemplateId: aws.String(lt)}, LaunchConfigurationName: aws.String("lc")}},
		{"unknown version", autoscaling.UpdateAutoScalingGroupInput{LaunchTemplate: &astypes.LaunchTemplateSpecification{LaunchTemplateId: aws.String(lt), Version: aws.String("7")}}},
		{"no zones", autoscaling.UpdateAutoScalingGroupInput{AvailabilityZones: []string{}, VPCZoneIdentifier: aws.String("")}},
	} {
		asWantCode(t, update(tt.in), op, "ValidationError")
	}
	_, err := a.UpdateAutoScalingGroup(ctx, &autoscaling.UpdateAutoScalingGroupInput{AutoScalingGroupName: aws.String("nope")})
	asWantCode(t, err, op, "ValidationError")
	if got := sizes(); got != [3]int32{1, 4, 5} {
		t.Errorf("refused updates changed the sizes: %v", got)
	}

	// A new template version applies to later launches only, and scaling
	// in terminates instances of older versions first.
	v2 := addVersion(t, e, lt, "1", &types.RequestLaunchTemplateData{MetadataOptions: ltMetadata("required", 0)})
	if err := update(autoscaling.UpdateAutoScalingGroupInput{
		LaunchTemplate: &astypes.LaunchTemplateSpecification{LaunchTemplateId: aws.String(lt), Version: aws.String(fmt.Sprint(v2))},
		MaxSize:        aws.Int32(6), DesiredCapacity: aws.Int32(6),
	}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"optional", "optional", "optional", "optional", "required", "required"}, groupTokens(t, a, "web")); diff != "" {
		t.Errorf("after the update (-want +got):\n%s", diff)
	}
	for _, i := range old {
		if md := describe(t, e, aws.ToString(i.InstanceId)).MetadataOptions; md.HttpTokens != "optional" {
			t.Errorf("an existing instance changed: %s", show(md))
		}
	}
	setCapacity(t, a, "web", 3)
	if diff := cmp.Diff([]string{"optional", "required", "required"}, groupTokens(t, a, "web")); diff != "" {
		t.Errorf("after scaling in (-want +got):\n%s", diff)
	}
	for _, act := range activities(t, a, "web")[:3] {
		if !strings.HasPrefix(aws.ToString(act.Description), "Terminating EC2 instance: ") || act.StatusCode != "Successful" {
			t.Errorf("scale-in activity %q %s", aws.ToString(act.Description), act.StatusCode)
		}
	}
	// Instances terminated outside the group are replaced at the next
	// change.
	victim := group(t, a, "web").Instances[0].InstanceId
	if _, err := e.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{*victim}}); err != nil {
		t.Fatal(err)
	}
	if n := len(group(t, a, "web").Instances); n != 2 {
		t.Errorf("a terminated instance is still listed: %d instances", n)
	}
	setCapacity(t, a, "web", 3)
	if diff := cmp.Diff([]string{"required", "required", "required"}, groupTokens(t, a, "web")); diff != "" {
		t.Errorf("after replacing a terminated instance (-want +got):\n%s", diff)
	}
}

func TestSetDesiredCapacity(t *testing.T) {
	e := fake.New()
	a := fake.NewAutoScaling(e)
	img := register(t, e, "img", "")
	lt := createTemplate(t, e, "web", &types.RequestLaunchTemplateData{ImageId: aws.String(img)})
	in := templateGroup("web", lt, "", 1)
	in.MinSize, in.MaxSize = aws.Int32(1), aws.Int32(3)
	if _, err := a.CreateAutoScalingGroup(ctx, in); err != nil {
		t.Fatal(err)
	}
	const op = "SetDesiredCapacity"
	for _, tt := range []struct {
		name    string
		group   *string
		desired *int32
	}{
		{"above max", aws.String("web"), aws.Int32(4)},
		{"below min", aws.String("web"), aws.Int32(0)},
		{"no capacity", aws.String("web"), nil},
		{"no group", nil, aws.Int32(2)},
		{"unknown group", aws.String("nope"), aws.Int32(2)},
	} {
		_, err := a.SetDesiredCapacity(ctx, &autoscaling.SetDesiredCapacityInput{AutoScalingGroupName: tt.group, DesiredCapacity: tt.desired})
		asWantCode(t, err, op, "ValidationError")
	}

	// A launch that fails is tried again at the next SetDesiredCapacity,
	// even with the same capacity.
	e.FailNext("RunInstances", 1, fake.NewAPIError(503, "RequestLimitExceeded", "Request limit exceeded."))
	setCapacity(t, a, "web", 3)
	if act := activities(t, a, "web")[0]; act.StatusCode != "Failed" || !strings.Contains(aws.ToString(act.StatusMessage), "Request limit exceeded.") {
		t.Errorf("throttled launch: %s %q", act.StatusCode, aws.ToString(act.StatusMessage))
	}
	setCapacity(t, a, "web", 3)
	if n := len(group(t, a, "web").Instances); n != 3 {
		t.Errorf("%d instances after the retry, want 3", n)
	}

	// A refused scale-in is a failed activity too.
	e.FailNext("TerminateInstances", 1, nil)
	setCapacity(t, a, "web", 1)
	if act := activities(t, a, "web")[0]; act.StatusCode != "Failed" || !strings.HasPrefix(aws.ToString(act.Description), "Terminating") {
		t.Errorf("failed scale-in: %s %q", act.StatusCode, aws.ToString(act.Description))
	}
	if n := len(group(t, a, "web").Instances); n != 3 {
		t.Errorf("%d instances after a failed scale-in, want 3", n)
	}
}

func TestLaunchConfigurations(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := fake.New()
		a := fake.NewAutoScaling(e)
		img := register(t, e, "img", "v2.0")
		start := time.Now()
		for _, in := range []*autoscaling.CreateLaunchConfigurationInput{
			{LaunchConfigurationName: aws.String("v1"), ImageId: aws.String(img), InstanceType: aws.String("t3.micro"),
				MetadataOptions: &astypes.InstanceMetadataOptions{HttpTokens: "optional", HttpPutResponseHopLimit: aws.Int32(3), HttpEndpoint: "enabled"}},
			{LaunchConfigurationName: aws.String("plain"), ImageId: aws.String(img), InstanceType: aws.String("t3.micro"), KeyName: aws.String("kp")},
		} {
			if _, err := a.CreateLaunchConfiguration(ctx, in); err != nil {
				t.Fatal(err)
			}
		}
		out, err := a.DescribeLaunchConfigurations(ctx, &autoscaling.DescribeLaunchConfigurationsInput{LaunchConfigurationNames: []string{"v1", "nope"}})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.LaunchConfigurations) != 1 {
			t.Fatalf("%d configurations, want 1", len(out.LaunchConfigurations))
		}
		lc := out.LaunchConfigurations[0]
		want := astypes.LaunchConfiguration{
			LaunchConfigurationName: aws.String("v1"), ImageId: aws.String(img), InstanceType: aws.String("t3.micro"), CreatedTime: aws.Time(start),
			MetadataOptions:     &astypes.InstanceMetadataOptions{HttpTokens: "optional", HttpPutResponseHopLimit: aws.Int32(3), HttpEndpoint: "enabled"},
			InstanceMonitoring:  &astypes.InstanceMonitoring{Enabled: aws.Bool(true)},
			BlockDeviceMappings: []astypes.BlockDeviceMapping{}, SecurityGroups: []string{},
		}
		if !strings.HasPrefix(aws.ToString(lc.LaunchConfigurationARN), "arn:aws:autoscaling:us-east-1:123456789012:launchConfiguration:") {
			t.Errorf("ARN %q", aws.ToString(lc.LaunchConfigurationARN))
		}
		lc.LaunchConfigurationARN = nil
		if diff := cmp.Diff(want, lc, ignoreUnexported); diff != "" {
			t.Errorf("launch configuration (-want +got):\n%s", diff)
		}

		// Groups launch with the configuration's options as launch
		// parameters: optional beats the AMI's v2.0, which gives the
		// plain configuration's instances required.
		for _, name := range []string{"v1", "plain"} {
			if _, err := a.CreateAutoScalingGroup(ctx, &autoscaling.CreateAutoScalingGroupInput{
				AutoScalingGroupName: aws.String(name), MinSize: aws.Int32(1), MaxSize: aws.Int32(1),
				VPCZoneIdentifier: aws.String("subnet-1,subnet-2"), LaunchConfigurationName: aws.String(name),
			}); err != nil {
				t.Fatal(err)
			}
		}
		g := group(t, a, "v1")
		i := g.Instances[0]
		if aws.ToString(g.LaunchConfigurationName) != "v1" || aws.ToString(i.LaunchConfigurationName) != "v1" || i.LaunchTemplate != nil ||
			aws.ToString(g.VPCZoneIdentifier) != "subnet-1,subnet-2" || !cmp.Equal(g.AvailabilityZones, []string{"us-east-1a", "us-east-1b"}) {
			t.Errorf("group %+v, instance %+v", g, i)
		}
		if md := describe(t, e, aws.ToString(i.InstanceId)).MetadataOptions; md.HttpTokens != "optional" || aws.ToInt32(md.HttpPutResponseHopLimit) != 3 {
			t.Errorf("instance of v1: %s", show(md))
		}
		if md := describe(t, e, aws.ToString(group(t, a, "plain").Instances[0].InstanceId)).MetadataOptions; md.HttpTokens != "required" || aws.ToInt32(md.HttpPutResponseHopLimit) != 2 {
			t.Errorf("instance of plain: %s", show(md))
		}

		// Enforcement refuses the optional configuration's launches.
		if _, err := e.ModifyInstanceMetadataDefaults(ctx, &ec2.ModifyInstanceMetadataDefaultsInput{HttpTokensEnforced: "enabled"}); err != nil {
			t.Fatal(err)
		}
		if _, err := a.UpdateAutoScalingGroup(ctx, &autoscaling.UpdateAutoScalingGroupInput{AutoScalingGroupName: aws.String("v1"), MaxSize: aws.Int32(2), DesiredCapacity: aws.Int32(2)}); err != nil {
			t.Fatal(err)
		}
		if act := activities(t, a, "v1")[0]; act.StatusCode != "Failed" {
			t.Errorf("launch configuration under enforcement: %s", act.StatusCode)
		}

		const op = "CreateLaunchConfiguration"
		for _, tt := range []struct {
			name string
			in   autoscaling.CreateLaunchConfigurationInput
			code string
		}{
			{"no name", autoscaling.CreateLaunchConfigurationInput{ImageId: aws.String(img), InstanceType: aws.String("t3.micro")}, "ValidationError"},
			{"name in use", autoscaling.CreateLaunchConfigurationInput{LaunchConfigurationName: aws.String("v1"), ImageId: aws.String(img), InstanceType: aws.String("t3.micro")}, "AlreadyExists"},
			{"no image", autoscaling.CreateLaunchConfigurationInput{LaunchConfigurationName: aws.String("x"), InstanceType: aws.String("t3.micro")}, "ValidationError"},
			{"no instance type", autoscaling.CreateLaunchConfigurationInput{LaunchConfigurationName: aws.String("x"), ImageId: aws.String(img)}, "ValidationError"},
			{"unknown image", autoscaling.CreateLaunchConfigurationInput{LaunchConfigurationName: aws.String("x"), ImageId: aws.String("ami-0123456789abcdef0"), InstanceType: aws.String("t3.micro")}, "ValidationError"},
			{"from an instance", autoscaling.CreateLaunchConfigurationInput{LaunchConfigurationName: aws.String("x"), InstanceId: aws.String("i-00000000000000001")}, "ValidationError"},
			{"hop 65", autoscaling.CreateLaunchConfigurationInput{LaunchConfigurationName: aws.String("x"), ImageId: aws.String(img), InstanceType: aws.String("t3.micro"),
				MetadataOptions: &astypes.InstanceMetadataOptions{HttpPutResponseHopLimit: aws.Int32(65)}}, "ValidationError"},
			{"HttpTokens Required", autoscaling.CreateLaunchConfigurationInput{LaunchConfigurationName: aws.String("x"), ImageId: aws.String(img), InstanceType: aws.String("t3.micro"),
				MetadataOptions: &astypes.InstanceMetadataOptions{HttpTokens: "Required"}}, "ValidationError"},
			{"HttpEndpoint on", autoscaling.CreateLaunchConfigurationInput{LaunchConfigurationName: aws.String("x"), ImageId: aws.String(img), InstanceType: aws.String("t3.micro"),
				MetadataOptions: &astypes.InstanceMetadataOptions{HttpEndpoint: "on"}}, "ValidationError"},
		} {
			_, err := a.CreateLaunchConfiguration(ctx, &tt.in)
			asWantCode(t, err, op, tt.code)
		}
		all, err := a.DescribeLaunchConfigurations(ctx, nil)
		if err != nil || len(all.LaunchConfigurations) != 2 {
			t.Errorf("refused requests created configurations: %v", err)
		}
	})
}

func TestMixedInstancesPolicy(t *testing.T) {
	e := fake.New()
	a := fake.NewAutoScaling(e)
	img := register(t, e, "img", "")
	lt := createTemplate(t, e, "web", &types.RequestLaunchTemplateData{ImageId: aws.String(img), InstanceType: types.InstanceTypeT3Micro, MetadataOptions: ltMetadata("required", 0)})
	in := templateGroup("mixed", lt, "", 1)
	in.LaunchTemplate = nil
	in.MixedInstancesPolicy = &astypes.MixedInstancesPolicy{LaunchTemplate: &astypes.LaunchTemplate{
		LaunchTemplateSpecification: &astypes.LaunchTemplateSpecification{LaunchTemplateName: aws.String("web"), Version: aws.String("$Latest")},
		Overrides:                   []astypes.LaunchTemplateOverrides{{WeightedCapacity: aws.String("1")}, {InstanceType: aws.String("m5.large")}},
	}}
	if _, err := a.CreateAutoScalingGroup(ctx, in); err != nil {
		t.Fatal(err)
	}
	g := group(t, a, "mixed")
	spec := g.MixedInstancesPolicy.LaunchTemplate.LaunchTemplateSpecification
	if g.LaunchTemplate != nil || aws.ToString(spec.LaunchTemplateId) != lt || aws.ToString(spec.LaunchTemplateName) != "web" || aws.ToString(spec.Version) != "$Latest" {
		t.Errorf("mixed group: %+v, spec %+v", g.LaunchTemplate, spec)
	}
	i := describe(t, e, aws.ToString(g.Instances[0].InstanceId))
	if i.InstanceType != "m5.large" || i.MetadataOptions.HttpTokens != "required" {
		t.Errorf("mixed instance: %s %s", i.InstanceType, show(i.MetadataOptions))
	}
	// The answer is a copy.
	g.MixedInstancesPolicy.LaunchTemplate.Overrides[1].InstanceType = aws.String("x")
	if got := group(t, a, "mixed").MixedInstancesPolicy.LaunchTemplate.Overrides[1].InstanceType; aws.ToString(got) != "m5.large" {
		t.Errorf("an answer shares memory with the fake: %q", aws.ToString(got))
	}
}

// TestMixedInstancesPolicyOverrideTemplates: an override with a launch
// template of its own launches its instance type from that template (with
// its AMI and metadata options, its version as selected when launching),
// and the group reports the instances as launched from it.
func TestMixedInstancesPolicyOverrideTemplates(t *testing.T) {
	overrides := func(arm string, armFirst bool) []astypes.LaunchTemplateOverrides {
		os := []astypes.LaunchTemplateOverrides{
			{InstanceType: aws.String("m6g.large"), LaunchTemplateSpecification: &astypes.LaunchTemplateSpecification{LaunchTemplateName: aws.String(arm)}},
			{InstanceType: aws.String("m5.large")},
		}
		if !armFirst {
			os[0], os[1] = os[1], os[0]
		}
		return os
	}
	for _, tt := range []struct {
		name     string
		armFirst bool
		// What the group launches: the instance type, image, HttpTokens
		// and template.
		typ, image, tokens, template string
	}{
		{"the override's template", true, "m6g.large", "arm64", "optional", "arm"},
		{"the policy's template", false, "m5.large", "x86", "required", "web"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := fake.New()
			a := fake.NewAutoScaling(e)
			images := map[string]string{"x86": register(t, e, "x86", ""), "arm64": register(t, e, "arm64", "")}
			ids := map[string]string{
				"web": createTemplate(t, e, "web", &types.RequestLaunchTemplateData{ImageId: aws.String(images["x86"]), MetadataOptions: ltMetadata("required", 0)}),
				"arm": createTemplate(t, e, "arm", &types.RequestLaunchTemplateData{ImageId: aws.String(images["arm64"]), MetadataOptions: ltMetadata("optional", 0)}),
			}
			in := templateGroup("mixed", ids["web"], "", 2)
			in.LaunchTemplate = nil
			in.MixedInstancesPolicy = &astypes.MixedInstancesPolicy{LaunchTemplate: &astypes.LaunchTemplate{
				LaunchTemplateSpecification: &astypes.LaunchTemplateSpecification{LaunchTemplateId: aws.String(ids["web"])},
				Overrides:                   overrides("arm", tt.armFirst),
			}}
			if _, err := a.CreateAutoScalingGroup(ctx, in); err != nil {
				t.Fatal(err)
			}
			g := group(t, a, "mixed")
			if len(g.Instances) != 2 {
				t.Fatalf("%d instances, want 2", len(g.Instances))
			}
			for _, gi := range g.Instances {
				i := describe(t, e, aws.ToString(gi.InstanceId))
				tags := map[string]string{}
				for _, tag := range i.Tags {
					tags[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
				}
				got := fmt.Sprintf("%s %s %s %s, group says %s %s", i.InstanceType, aws.ToString(i.ImageId), i.MetadataOptions.HttpTokens,
					tags["aws:ec2launchtemplate:id"], aws.ToString(gi.LaunchTemplate.LaunchTemplateId), aws.ToString(gi.LaunchTemplate.Version))
				want := fmt.Sprintf("%s %s %s %s, group says %s 1", tt.typ, images[tt.image], tt.tokens, ids[tt.template], ids[tt.template])
				if got != want {
					t.Errorf("instance: %s, want %s", got, want)
				}
			}
			// The overrides are answered as given, the override's template
			// by its name alone.
			if diff := cmp.Diff(overrides("arm", tt.armFirst), g.MixedInstancesPolicy.LaunchTemplate.Overrides, ignoreUnexported); diff != "" {
				t.Errorf("overrides (-want +got):\n%s", diff)
			}

			// Scaling in keeps the instances of either template: neither is
			// outdated.
			setCapacity(t, a, "mixed", 1)
			if n := len(group(t, a, "mixed").Instances); n != 1 {
				t.Errorf("after scaling in: %d instances, want 1", n)
			}
		})
	}
}

// TestMixedInstancesPolicyOverrideTemplateEnforced: the account enforces
// IMDSv2, the group's template requires it and an override's template
// does not: the group's launches of that override's type fail.
func TestMixedInstancesPolicyOverrideTemplateEnforced(t *testing.T) {
	e := fake.New()
	a := fake.NewAutoScaling(e)
	img := register(t, e, "img", "")
	web := createTemplate(t, e, "web", &types.RequestLaunchTemplateData{ImageId: aws.String(img), MetadataOptions: ltMetadata("required", 0)})
	arm := createTemplate(t, e, "arm", &types.RequestLaunchTemplateData{ImageId: aws.String(img), MetadataOptions: ltMetadata("optional", 0)})
	if _, err := e.ModifyInstanceMetadataDefaults(ctx, &ec2.ModifyInstanceMetadataDefaultsInput{HttpTokensEnforced: "enabled"}); err != nil {
		t.Fatal(err)
	}
	in := templateGroup("mixed", web, "", 1)
	in.LaunchTemplate = nil
	in.MixedInstancesPolicy = &astypes.MixedInstancesPolicy{LaunchTemplate: &astypes.LaunchTemplate{
		LaunchTemplateSpecification: &astypes.LaunchTemplateSpecification{LaunchTemplateId: aws.String(web)},
		Overrides: []astypes.LaunchTemplateOverrides{{InstanceType: aws.String("m6g.large"),
			LaunchTemplateSpecification: &astypes.LaunchTemplateSpecification{LaunchTemplateId: aws.String(arm), Version: aws.String("$Latest")}}},
	}}
	if _, err := a.CreateAutoScalingGroup(ctx, in); err != nil {
		t.Fatal(err)
	}
	if act := activities(t, a, "mixed")[0]; act.StatusCode != "Failed" || !strings.Contains(aws.ToString(act.StatusMessage), "httpTokensEnforced") {
		t.Errorf("launch from the override's template: %s %q", act.StatusCode, aws.ToString(act.StatusMessage))
	}
}

func TestDescribeAutoScalingGroupsPagingAndFilters(t *testing.T) {
	e := fake.New()
	a := fake.NewAutoScaling(e)
	img := register(t, e, "img", "")
	lt := createTemplate(t, e, "web", &types.RequestLaunchTemplateData{ImageId: aws.String(img)})
	var names []string
	for n := range 7 {
		name := fmt.Sprintf("g%d", n)
		in := templateGroup(name, lt, "", 0)
		in.Tags = []astypes.Tag{{Key: aws.String("team"), Value: aws.String([]string{"a", "b"}[n%2])}}
		if n == 0 {
			in.Tags = append(in.Tags, astypes.Tag{Key: aws.String("env"), Value: aws.String("prod")})
		}
		if _, err := a.CreateAutoScalingGroup(ctx, in); err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
	}
	list := func(in *autoscaling.DescribeAutoScalingGroupsInput) ([]string, *string) {
		t.Helper()
		out, err := a.DescribeAutoScalingGroups(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		var s []string
		for _, g := range out.AutoScalingGroups {
			s = append(s, aws.ToString(g.AutoScalingGroupName))
		}
		return s, out.NextToken
	}
	for _, size := range []int32{1, 3, 7, 100} {
		in := &autoscaling.DescribeAutoScalingGroupsInput{MaxRecords: aws.Int32(size)}
		var got []string
		for {
			page, next := list(in)
			if len(page) > int(size) {
				t.Errorf("page size %d: a page of %d", size, len(page))
			}
			got = append(got, page...)
			if next == nil {
				break
			}
			in.NextToken = next
		}
		if diff := cmp.Diff(names, got); diff != "" {
			t.Errorf("page size %d (-want +got):\n%s", size, diff)
		}
	}
	filter := func(name string, values ...string) []astypes.Filter {
		return []astypes.Filter{{Name: aws.String(name), Values: values}}
	}
	for _, tt := range []struct {
		name string
		in   autoscaling.DescribeAutoScalingGroupsInput
		want []string
	}{
		{"names, unknown left out", autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{"g3", "nope", "g1"}}, []string{"g1", "g3"}},
		{"tag:team", autoscaling.DescribeAutoScalingGroupsInput{Filters: filter("tag:team", "b")}, []string{"g1", "g3", "g5"}},
		{"tag-key", autoscaling.DescribeAutoScalingGroupsInput{Filters: filter("tag-key", "env")}, []string{"g0"}},
		{"tag-value", autoscaling.DescribeAutoScalingGroupsInput{Filters: filter("tag-value", "prod", "nothing")}, []string{"g0"}},
		{"two filters", autoscaling.DescribeAutoScalingGroupsInput{Filters: append(filter("tag:team", "a"), filter("tag-key", "env")...)}, []string{"g0"}},
	} {
		got, _ := list(&tt.in)
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
	const op = "DescribeAutoScalingGroups"
	for _, in := range []autoscaling.DescribeAutoScalingGroupsInput{
		{MaxRecords: aws.Int32(0)},
		{MaxRecords: aws.Int32(101)},
		{Filters: filter("instance-type", "x")},
		{Filters: filter("tag-key")},
	} {
		_, err := a.DescribeAutoScalingGroups(ctx, &in)
		asWantCode(t, err, op, "ValidationError")
	}
	_, err := a.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{NextToken: aws.String("bogus")})
	asWantCode(t, err, op, "InvalidNextToken")
	var bad *astypes.InvalidNextToken
	if !errors.As(err, &bad) {
		t.Errorf("InvalidNextToken is %T, not the SDK's *types.InvalidNextToken", err)
	}
}

func TestDescribeScalingActivities(t *testing.T) {
	e := fake.New()
	a := fake.NewAutoScaling(e)
	img := register(t, e, "img", "")
	lt := createTemplate(t, e, "web", &types.RequestLaunchTemplateData{ImageId: aws.String(img)})
	if _, err := a.CreateAutoScalingGroup(ctx, templateGroup("one", lt, "", 2)); err != nil {
		t.Fatal(err)
	}
	if _, err := a.CreateAutoScalingGroup(ctx, templateGroup("two", lt, "", 1)); err != nil {
		t.Fatal(err)
	}
	e.FailNext("RunInstances", 1, nil)
	setCapacity(t, a, "one", 3)

	all, err := a.DescribeScalingActivities(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var groups, statuses []string
	for _, act := range all.Activities {
		groups = append(groups, aws.ToString(act.AutoScalingGroupName))
		statuses = append(statuses, string(act.StatusCode))
	}
	if diff := cmp.Diff([]string{"one", "two", "one", "one"}, groups); diff != "" {
		t.Errorf("groups, newest first (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"Failed", "Successful", "Successful", "Successful"}, statuses); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	in := &autoscaling.DescribeScalingActivitiesInput{MaxRecords: aws.Int32(3)}
	first, err := a.DescribeScalingActivities(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	in.NextToken = first.NextToken
	second, err := a.DescribeScalingActivities(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if len(first.Activities) != 3 || len(second.Activities) != 1 || second.NextToken != nil ||
		aws.ToString(second.Activities[0].ActivityId) != aws.ToString(all.Activities[3].ActivityId) {
		t.Errorf("pages of %d and %d", len(first.Activities), len(second.Activities))
	}
	failed, err := a.DescribeScalingActivities(ctx, &autoscaling.DescribeScalingActivitiesInput{
		AutoScalingGroupName: aws.String("one"), Filters: []astypes.Filter{{Name: aws.String("Status"), Values: []string{"Failed"}}},
	})
	if err != nil || len(failed.Activities) != 1 || failed.Activities[0].StatusCode != "Failed" {
		t.Errorf("Status filter: %v", err)
	}
	byID, err := a.DescribeScalingActivities(ctx, &autoscaling.DescribeScalingActivitiesInput{ActivityIds: []string{aws.ToString(all.Activities[1].ActivityId), "unknown"}})
	if err != nil || len(byID.Activities) != 1 || aws.ToString(byID.Activities[0].AutoScalingGroupName) != "two" {
		t.Errorf("by ID: %v", err)
	}
	if acts := activities(t, a, "nope"); len(acts) != 0 {
		t.Errorf("%d activities of a group that does not exist", len(acts))
	}
	const op = "DescribeScalingActivities"
	for _, in := range []autoscaling.DescribeScalingActivitiesInput{
		{MaxRecords: aws.Int32(0)},
		{ActivityIds: make([]string, 51)},
		{Filters: []astypes.Filter{{Name: aws.String("StartTimeLowerBound"), Values: []string{"2000-01-01T00:00:00Z"}}}},
	} {
		_, err := a.DescribeScalingActivities(ctx, &in)
		asWantCode(t, err, op, "ValidationError")
	}
	_, err = a.DescribeScalingActivities(ctx, &autoscaling.DescribeScalingActivitiesInput{NextToken: aws.String((*first.NextToken)[:len(*first.NextToken)-1])})
	asWantCode(t, err, op, "InvalidNextToken")
}

func TestAutoScalingFaults(t *testing.T) {
	a := fake.NewAutoScaling(nil)
	if a.EC2() == nil {
		t.Fatal("NewAutoScaling(nil) has no EC2 fake")
	}
	img := register(t, a.EC2(), "img", "")
	lt := createTemplate(t, a.EC2(), "web", &types.RequestLaunchTemplateData{ImageId: aws.String(img)})

	a.FailNext("CreateAutoScalingGroup", 1, nil)
	_, err := a.CreateAutoScalingGroup(ctx, templateGroup("web", lt, "", 1))
	var oe *smithy.OperationError
	if code(err) != "InternalFailure" || status(err) != 500 || !errors.As(err, &oe) || oe.ServiceID != "Auto Scaling" {
		t.Errorf("injected failure: %v", err)
	}
	if out, err := a.DescribeAutoScalingGroups(ctx, nil); err != nil || len(out.AutoScalingGroups) != 0 {
		t.Errorf("a failed call created a group: %v", err)
	}
	c, cancel := context.WithCancel(ctx)
	cancel()
	_, err = a.SetDesiredCapacity(c, &autoscaling.SetDesiredCapacityInput{AutoScalingGroupName: aws.String("web"), DesiredCapacity: aws.Int32(1)})
	var ce *smithy.CanceledError
	if !errors.As(err, &ce) || !errors.Is(err, context.Canceled) {
		t.Errorf("canceled context: %v", err)
	}
	if _, err := a.CreateAutoScalingGroup(ctx, templateGroup("web", lt, "", 1)); err != nil {
		t.Fatal(err)
	}
	if n := a.Calls("CreateAutoScalingGroup"); n != 2 {
		t.Errorf("Calls = %d, want 2", n)
	}
	a.FailNext("DescribeScalingActivities", 0, nil)
	a.FailNext("DescribeScalingActivities", 2, fake.NewAPIError(400, "Throttling", "Rate exceeded"))
	for range 2 {
		_, err := a.DescribeScalingActivities(ctx, nil)
		asWantCode(t, err, "DescribeScalingActivities", "Throttling")
	}
	if _, err := a.DescribeScalingActivities(ctx, nil); err != nil {
		t.Errorf("after the injected failures: %v", err)
	}
}

func TestAutoScalingConcurrentUse(t *testing.T) {
	e := fake.New()
	a := fake.NewAutoScaling(e)
	img := register(t, e, "img", "")
	lt := createTemplate(t, e, "web", &types.RequestLaunchTemplateData{ImageId: aws.String(img)})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			name := fmt.Sprintf("g%d", w)
			if _, err := a.CreateAutoScalingGroup(ctx, templateGroup(name, lt, "$Latest", 1)); err != nil {
				t.Error(err)
				return
			}
			for n := range 10 {
				if _, err := a.SetDesiredCapacity(ctx, &autoscaling.SetDesiredCapacityInput{AutoScalingGroupName: aws.String(name), DesiredCapacity: aws.Int32(int32(n % 4))}); err != nil {
					t.Error(err)
				}
				if _, err := e.CreateLaunchTemplateVersion(ctx, &ec2.CreateLaunchTemplateVersionInput{LaunchTemplateId: aws.String(lt), SourceVersion: aws.String("1"),
					LaunchTemplateData: &types.RequestLaunchTemplateData{}}); err != nil {
					t.Error(err)
				}
				if _, err := a.DescribeAutoScalingGroups(ctx, nil); err != nil {
					t.Error(err)
				}
				if _, err := e.DescribeInstances(ctx, nil); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	out, err := a.DescribeAutoScalingGroups(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range out.AutoScalingGroups {
		if len(g.Instances) != 1 { // the last capacity set: 9 % 4
			t.Errorf("%s: %d instances, want 1", aws.ToString(g.AutoScalingGroupName), len(g.Instances))
		}
	}
}

func TestTagAsService(t *testing.T) {
	f := fake.New(func(o *fake.Options) { o.ApplyDelay = 0 })
	as := fake.NewAutoScaling(f)
	ctx := context.Background()
	img, err := f.RegisterImage(ctx, &ec2.RegisterImageInput{Name: aws.String("base")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := as.CreateLaunchConfiguration(ctx, &autoscaling.CreateLaunchConfigurationInput{LaunchConfigurationName: aws.String("web"),
		ImageId: img.ImageId, InstanceType: aws.String("t3.micro")}); err != nil {
		t.Fatal(err)
	}
	stack := map[string]string{"aws:cloudformation:stack-name": "web", "aws:cloudformation:logical-id": "Group"}
	in := &autoscaling.CreateAutoScalingGroupInput{AutoScalingGroupName: aws.String("web"), MinSize: aws.Int32(0), MaxSize: aws.Int32(2),
		DesiredCapacity: aws.Int32(0), AvailabilityZones: []string{"us-east-1a"}, LaunchConfigurationName: aws.String("web"),
		Tags: []astypes.Tag{{Key: aws.String("aws:cloudformation:stack-name"), Value: aws.String("web"), PropagateAtLaunch: aws.Bool(true)}}}
	if _, err := as.CreateAutoScalingGroup(ctx, in); err == nil {
		t.Fatal("CreateAutoScalingGroup took a tag key with the reserved prefix aws:")
	}
	in.Tags = nil
	if _, err := as.CreateAutoScalingGroup(ctx, in); err != nil {
		t.Fatal(err)
	}
	if err := as.TagAsService("web", stack); err != nil {
		t.Fatal(err)
	}
	if err := as.TagAsService("nope", stack); err == nil {
		t.Error("TagAsService of a group that does not exist")
	}
	if _, err := as.SetDesiredCapacity(ctx, &autoscaling.SetDesiredCapacityInput{AutoScalingGroupName: aws.String("web"), DesiredCapacity: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	out, err := f.DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, tag := range out.Reservations[0].Instances[0].Tags {
		got[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
	}
	if got["aws:cloudformation:stack-name"] != "web" || got["aws:cloudformation:logical-id"] != "Group" || got["aws:autoscaling:groupName"] != "web" {
		t.Errorf("instance tags %v", got)
	}
}

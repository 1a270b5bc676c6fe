package fake_test

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imdsopts/imdsopts/fake"
)

// imdsTagKeyMessage is EC2's refusal of a tag key that cannot be a name in
// the instance metadata.
func imdsTagKeyMessage(key string) string {
	return "'" + key + "' is not a valid tag key. Tag keys must match pattern ([0-9a-zA-Z\\-_+=,.@:]{1,255}), " +
		"and must not be a reserved name ('.', '..', '_index')"
}

// TestIMDSTagKeys: with tags in the instance metadata (InstanceMetadataTags
// enabled), every tag key of the instance must match EC2's pattern and not
// be reserved. Tags are enabled by the launch request, by a launch
// template, by the account default (the launch fails, not the defaults
// call) and by a modification; each is refused for an invalid key, and
// the same key is fine while tags are disabled.
func TestIMDSTagKeys(t *testing.T) {
	for _, tt := range []struct {
		key   string
		valid bool
	}{
		{"kubernetes.io/cluster/prod", false},
		{"k8s.io/cluster-autoscaler/enabled", false},
		{"karpenter.sh/nodepool", false},
		{".", false},
		{"..", false},
		{"_index", false},
		{"cost center", false},
		{"équipe", false},
		{strings.Repeat("k", 256), false},
		{"Name", true},
		{"team@example.com", true},
		{"a-b_c+d=e,f.g@h:i", true},
		{"...", true},
		{"_index2", true},
		{strings.Repeat("k", 255), true},
	} {
		name := tt.key
		if len(name) > 20 {
			name = name[:20] + "..."
		}
		t.Run(name, func(t *testing.T) {
			f := fake.New(func(o *fake.Options) { o.ApplyDelay = 0 })
			img := register(t, f, "img", "")
			tags := []types.TagSpecification{{ResourceType: types.ResourceTypeInstance, Tags: []types.Tag{{Key: aws.String(tt.key), Value: aws.String("v")}}}}
			check := func(what, op string, err error) {
				t.Helper()
				if tt.valid {
					if err != nil {
						t.Errorf("%s: %v", what, err)
					}
					return
				}
				wantCode(t, err, op, "InvalidParameterValue", 400)
				if got, want := message(err), imdsTagKeyMessage(tt.key); got != want {
					t.Errorf("%s: message %q, want %q", what, got, want)
				}
			}
			run := func(edit func(*ec2.RunInstancesInput)) error {
				in := &ec2.RunInstancesInput{ImageId: aws.String(img), MinCount: aws.Int32(1), MaxCount: aws.Int32(1), TagSpecifications: tags}
				edit(in)
				_, err := f.RunInstances(ctx, in)
				return err
			}

			// Tags not in the metadata: any key launches.
			if err := run(func(*ec2.RunInstancesInput) {}); err != nil {
				t.Fatalf("tags disabled: %v", err)
			}
			check("RunInstances", "RunInstances", run(func(in *ec2.RunInstancesInput) {
				in.MetadataOptions = &types.InstanceMetadataOptionsRequest{InstanceMetadataTags: "enabled"}
			}))
			lt := createTemplate(t, f, "tags", &types.RequestLaunchTemplateData{ImageId: aws.String(img),
				MetadataOptions: &types.LaunchTemplateInstanceMetadataOptionsRequest{InstanceMetadataTags: "enabled"}})
			check("RunInstances from a template", "RunInstances", run(func(in *ec2.RunInstancesInput) {
				in.ImageId, in.LaunchTemplate = nil, &types.LaunchTemplateSpecification{LaunchTemplateId: aws.String(lt)}
			}))
			_, err := f.Launch(1, func(o *fake.LaunchOptions) {
				o.Tags = map[string]string{tt.key: "v"}
				o.MetadataOptions = &types.InstanceMetadataOptionsRequest{InstanceMetadataTags: "enabled"}
			})
			check("Launch", "RunInstances", err)

			// A modification that enables tags.
			id := seedOne(t, f, func(o *fake.LaunchOptions) { o.Tags = map[string]string{tt.key: "v"} })
			_, err = f.ModifyInstanceMetadataOptions(ctx, &ec2.ModifyInstanceMetadataOptionsInput{InstanceId: aws.String(id), InstanceMetadataTags: "enabled"})
			check("ModifyInstanceMetadataOptions", "ModifyInstanceMetadataOptions", err)
			if got := describe(t, f, id).MetadataOptions.InstanceMetadataTags; !tt.valid && got != "disabled" {
				t.Errorf("a refused modification left InstanceMetadataTags %s", got)
			}

			// The account default: the defaults call succeeds, the launch
			// that gives no InstanceMetadataTags of its own fails.
			if _, err := f.ModifyInstanceMetadataDefaults(ctx, &ec2.ModifyInstanceMetadataDefaultsInput{InstanceMetadataTags: "enabled"}); err != nil {
				t.Fatalf("ModifyInstanceMetadataDefaults: %v", err)
			}
			check("RunInstances with the account default", "RunInstances", run(func(*ec2.RunInstancesInput) {}))
			if err := run(func(in *ec2.RunInstancesInput) {
				in.MetadataOptions = &types.InstanceMetadataOptionsRequest{InstanceMetadataTags: "disabled"}
			}); err != nil {
				t.Errorf("the launch disables tags over the account default: %v", err)
			}
		})
	}
}

// TestIMDSTagKeysAutoScaling: a group whose instances would have tags in
// their metadata and a tag key EC2 refuses there (one it propagates, as
// EKS node groups do) fails to launch, as a failed scaling activity with
// EC2's message.
func TestIMDSTagKeysAutoScaling(t *testing.T) {
	e := fake.New()
	a := fake.NewAutoScaling(e)
	img := register(t, e, "img", "")
	lt := createTemplate(t, e, "nodes", &types.RequestLaunchTemplateData{ImageId: aws.String(img),
		MetadataOptions: &types.LaunchTemplateInstanceMetadataOptionsRequest{HttpTokens: "required", InstanceMetadataTags: "enabled"}})
	in := templateGroup("nodes", lt, "", 1)
	in.Tags = []astypes.Tag{{Key: aws.String("kubernetes.io/cluster/prod"), Value: aws.String("owned"), PropagateAtLaunch: aws.Bool(true)}}
	if _, err := a.CreateAutoScalingGroup(ctx, in); err != nil {
		t.Fatal(err)
	}
	if n := len(group(t, a, "nodes").Instances); n != 0 {
		t.Errorf("%d instances launched, want none", n)
	}
	act := activities(t, a, "nodes")[0]
	if act.StatusCode != astypes.ScalingActivityStatusCodeFailed || !strings.Contains(aws.ToString(act.StatusMessage), imdsTagKeyMessage("kubernetes.io/cluster/prod")) {
		t.Errorf("activity %s %q, want Failed with EC2's message", act.StatusCode, aws.ToString(act.StatusMessage))
	}

	// Not propagated, the tag stays on the group and the launch succeeds.
	in = templateGroup("quiet", lt, "", 1)
	in.Tags = []astypes.Tag{{Key: aws.String("kubernetes.io/cluster/prod"), Value: aws.String("owned"), PropagateAtLaunch: aws.Bool(false)}}
	if _, err := a.CreateAutoScalingGroup(ctx, in); err != nil {
		t.Fatal(err)
	}
	if _, err := a.SetDesiredCapacity(ctx, &autoscaling.SetDesiredCapacityInput{AutoScalingGroupName: aws.String("quiet"), DesiredCapacity: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	if n := len(group(t, a, "quiet").Instances); n != 1 {
		t.Errorf("%d instances launched, want 1", n)
	}
}

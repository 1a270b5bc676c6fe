package imdsopts_test

import (
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imdsopts/imdsopts"
	"github.com/imdsopts/imdsopts/fake"
)

// world is an account on the fakes: EC2, Auto Scaling launching through
// it, and CloudWatch derived from its instances.
type world struct {
	ec2 *fake.EC2
	as  *fake.AutoScaling
	cw  *fake.CloudWatch
}

func newWorld(t testing.TB, optFns ...func(*fake.Options)) *world {
	t.Helper()
	f := fake.New(optFns...)
	return &world{ec2: f, as: fake.NewAutoScaling(f), cw: fake.NewCloudWatch(func(o *fake.CloudWatchOptions) { o.EC2 = f })}
}

// clients are the world's clients, labelled with its account and Region.
func (w *world) clients() imdsopts.Clients {
	return imdsopts.Clients{EC2: w.ec2, AutoScaling: w.as, CloudWatch: w.cw, Account: fake.AccountID, Region: "us-east-1"}
}

// image registers an AMI of the account.
func (w *world) image(t testing.TB, name string, imds types.ImdsSupportValues) string {
	t.Helper()
	out, err := w.ec2.RegisterImage(t.Context(), &ec2.RegisterImageInput{Name: aws.String(name), ImdsSupport: imds})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.ImageId)
}

// tokens is template MetadataOptions giving only HttpTokens ("" gives
// none).
func tokens(v types.LaunchTemplateHttpTokensState) *types.LaunchTemplateInstanceMetadataOptionsRequest {
	if v == "" {
		return nil
	}
	return &types.LaunchTemplateInstanceMetadataOptionsRequest{HttpTokens: v}
}

// template creates a launch template from image with one version per
// entry of versions (version 1 is the default) and returns its ID.
func (w *world) template(t testing.TB, name, image string, versions ...*types.LaunchTemplateInstanceMetadataOptionsRequest) string {
	t.Helper()
	data := func(md *types.LaunchTemplateInstanceMetadataOptionsRequest) *types.RequestLaunchTemplateData {
		return &types.RequestLaunchTemplateData{ImageId: aws.String(image), InstanceType: types.InstanceTypeT3Micro, MetadataOptions: md}
	}
	out, err := w.ec2.CreateLaunchTemplate(t.Context(), &ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String(name),
		LaunchTemplateData: data(versions[0])})
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(out.LaunchTemplate.LaunchTemplateId)
	for _, md := range versions[1:] {
		if _, err := w.ec2.CreateLaunchTemplateVersion(t.Context(), &ec2.CreateLaunchTemplateVersionInput{
			LaunchTemplateId: aws.String(id), LaunchTemplateData: data(md)}); err != nil {
			t.Fatal(err)
		}
	}
	return id
}

// setDefault makes version n the default of template id.
func (w *world) setDefault(t testing.TB, id string, n int) {
	t.Helper()
	if _, err := w.ec2.ModifyLaunchTemplate(t.Context(), &ec2.ModifyLaunchTemplateInput{LaunchTemplateId: aws.String(id),
		DefaultVersion: aws.String(fmt.Sprint(n))}); err != nil {
		t.Fatal(err)
	}
}

// group creates an Auto Scaling group launching version (a selector) of
// template id, with desired instances.
func (w *world) group(t testing.TB, name, id, version string, desired int32) {
	t.Helper()
	if _, err := w.as.CreateAutoScalingGroup(t.Context(), &autoscaling.CreateAutoScalingGroupInput{
		AutoScalingGroupName: aws.String(name), MinSize: aws.Int32(0), MaxSize: aws.Int32(desired + 10), DesiredCapacity: aws.Int32(desired),
		AvailabilityZones: []string{"us-east-1a"},
		LaunchTemplate:    &astypes.LaunchTemplateSpecification{LaunchTemplateId: aws.String(id), Version: aws.String(version)},
	}); err != nil {
		t.Fatal(err)
	}
}

// configGroup creates a launch configuration from image with md and a
// group of desired instances using it.
func (w *world) configGroup(t testing.TB, name, image string, md *astypes.InstanceMetadataOptions, desired int32) {
	t.Helper()
	if _, err := w.as.CreateLaunchConfiguration(t.Context(), &autoscaling.CreateLaunchConfigurationInput{
		LaunchConfigurationName: aws.String(name), ImageId: aws.String(image), InstanceType: aws.String("t3.micro"), MetadataOptions: md}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.as.CreateAutoScalingGroup(t.Context(), &autoscaling.CreateAutoScalingGroupInput{
		AutoScalingGroupName: aws.String(name), MinSize: aws.Int32(0), MaxSize: aws.Int32(desired + 10), DesiredCapacity: aws.Int32(desired),
		AvailabilityZones: []string{"us-east-1a"}, LaunchConfigurationName: aws.String(name),
	}); err != nil {
		t.Fatal(err)
	}
}

// setAccountDefaults sets the account defaults directly on the fake.
func (w *world) setAccountDefaults(t testing.TB, in *ec2.ModifyInstanceMetadataDefaultsInput) {
	t.Helper()
	if _, err := w.ec2.ModifyInstanceMetadataDefaults(t.Context(), in); err != nil {
		t.Fatal(err)
	}
}

func mustDefaults(t testing.TB, opts ...imdsopts.DefaultsOption) imdsopts.Defaults {
	t.Helper()
	d, err := imdsopts.NewDefaults(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// kinds lists the kinds and subjects of blockers, one a line, in order.
func kinds(bs []imdsopts.Blocker) []string {
	out := []string{}
	for _, b := range bs {
		out = append(out, string(b.Kind)+" "+b.Subject())
	}
	return out
}

// calls sums the calls of the fakes of w.
func (w *world) calls() map[string]int {
	m := w.ec2.CallCounts()
	for _, op := range []string{"DescribeAutoScalingGroups", "DescribeLaunchConfigurations"} {
		if n := w.as.Calls(op); n > 0 {
			m[op] = n
		}
	}
	if n := w.cw.Calls(); n > 0 {
		m["GetMetricData"] = n
	}
	return m
}

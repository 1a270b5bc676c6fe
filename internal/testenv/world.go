package testenv

import (
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imdsopts/imdsopts/fake"
)

// World is an account on the fakes: EC2, Auto Scaling launching through
// it, and CloudWatch derived from its instances.
type World struct {
	EC2 *fake.EC2
	AS  *fake.AutoScaling
	CW  *fake.CloudWatch
}

func NewWorld(t testing.TB, optFns ...func(*fake.Options)) *World {
	t.Helper()
	f := fake.New(optFns...)
	return &World{EC2: f, AS: fake.NewAutoScaling(f), CW: fake.NewCloudWatch(func(o *fake.CloudWatchOptions) { o.EC2 = f })}
}

// Image registers an AMI of the account.
func (w *World) Image(t testing.TB, name string, imds types.ImdsSupportValues) string {
	t.Helper()
	out, err := w.EC2.RegisterImage(t.Context(), &ec2.RegisterImageInput{Name: aws.String(name), ImdsSupport: imds})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.ImageId)
}

// Template creates a launch template from image with one version per
// entry of versions (version 1 is the default) and returns its ID.
func (w *World) Template(t testing.TB, name, image string, versions ...*types.LaunchTemplateInstanceMetadataOptionsRequest) string {
	t.Helper()
	data := func(md *types.LaunchTemplateInstanceMetadataOptionsRequest) *types.RequestLaunchTemplateData {
		return &types.RequestLaunchTemplateData{ImageId: aws.String(image), InstanceType: types.InstanceTypeT3Micro, MetadataOptions: md}
	}
	out, err := w.EC2.CreateLaunchTemplate(t.Context(), &ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String(name),
		LaunchTemplateData: data(versions[0])})
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(out.LaunchTemplate.LaunchTemplateId)
	for _, md := range versions[1:] {
		if _, err := w.EC2.CreateLaunchTemplateVersion(t.Context(), &ec2.CreateLaunchTemplateVersionInput{
			LaunchTemplateId: aws.String(id), LaunchTemplateData: data(md)}); err != nil {
			t.Fatal(err)
		}
	}
	return id
}

// SetDefault makes version n the default of template id.
func (w *World) SetDefault(t testing.TB, id string, n int) {
	t.Helper()
	if _, err := w.EC2.ModifyLaunchTemplate(t.Context(), &ec2.ModifyLaunchTemplateInput{LaunchTemplateId: aws.String(id),
		DefaultVersion: aws.String(fmt.Sprint(n))}); err != nil {
		t.Fatal(err)
	}
}

// Group creates an Auto Scaling group launching version (a selector) of
// template id, with desired instances.
func (w *World) Group(t testing.TB, name, id, version string, desired int32) {
	t.Helper()
	if _, err := w.AS.CreateAutoScalingGroup(t.Context(), &autoscaling.CreateAutoScalingGroupInput{
		AutoScalingGroupName: aws.String(name), MinSize: aws.Int32(0), MaxSize: aws.Int32(desired + 10), DesiredCapacity: aws.Int32(desired),
		AvailabilityZones: []string{"us-east-1a"},
		LaunchTemplate:    &astypes.LaunchTemplateSpecification{LaunchTemplateId: aws.String(id), Version: aws.String(version)},
	}); err != nil {
		t.Fatal(err)
	}
}

// ConfigGroup creates a launch configuration from image with md and a
// group of desired instances using it.
func (w *World) ConfigGroup(t testing.TB, name, image string, md *astypes.InstanceMetadataOptions, desired int32) {
	t.Helper()
	if _, err := w.AS.CreateLaunchConfiguration(t.Context(), &autoscaling.CreateLaunchConfigurationInput{
		LaunchConfigurationName: aws.String(name), ImageId: aws.String(image), InstanceType: aws.String("t3.micro"), MetadataOptions: md}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.AS.CreateAutoScalingGroup(t.Context(), &autoscaling.CreateAutoScalingGroupInput{
		AutoScalingGroupName: aws.String(name), MinSize: aws.Int32(0), MaxSize: aws.Int32(desired + 10), DesiredCapacity: aws.Int32(desired),
		AvailabilityZones: []string{"us-east-1a"}, LaunchConfigurationName: aws.String(name),
	}); err != nil {
		t.Fatal(err)
	}
}

// SetAccountDefaults sets the account defaults directly on the fake.
func (w *World) SetAccountDefaults(t testing.TB, in *ec2.ModifyInstanceMetadataDefaultsInput) {
	t.Helper()
	if _, err := w.EC2.ModifyInstanceMetadataDefaults(t.Context(), in); err != nil {
		t.Fatal(err)
	}
}

// Calls sums the calls of the fakes of w.
func (w *World) Calls() map[string]int {
	m := w.EC2.CallCounts()
	for _, op := range []string{"DescribeAutoScalingGroups", "DescribeLaunchConfigurations"} {
		if n := w.AS.Calls(op); n > 0 {
			m[op] = n
		}
	}
	if n := w.CW.Calls(); n > 0 {
		m["GetMetricData"] = n
	}
	return m
}

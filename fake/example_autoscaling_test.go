package fake_test

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imdsopts/imdsopts/fake"
)

// An Auto Scaling group launches from its launch template's default
// version. Once the account enforces IMDSv2, a template that still allows
// IMDSv1 makes scaling out fail, as a failed scaling activity; a new
// default version that requires IMDSv2 fixes it.
func ExampleAutoScaling() {
	ctx := context.Background()
	client := fake.New()
	asg := fake.NewAutoScaling(client)

	img, err := client.RegisterImage(ctx, &ec2.RegisterImageInput{Name: aws.String("base")})
	if err != nil {
		panic(err)
	}
	lt, err := client.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{
		LaunchTemplateName: aws.String("web"),
		LaunchTemplateData: &types.RequestLaunchTemplateData{
			ImageId:         img.ImageId,
			MetadataOptions: &types.LaunchTemplateInstanceMetadataOptionsRequest{HttpTokens: types.LaunchTemplateHttpTokensStateOptional},
		},
	})
	if err != nil {
		panic(err)
	}
	id := lt.LaunchTemplate.LaunchTemplateId
	_, err = asg.CreateAutoScalingGroup(ctx, &autoscaling.CreateAutoScalingGroupInput{
		AutoScalingGroupName: aws.String("web"),
		MinSize:              aws.Int32(1),
		MaxSize:              aws.Int32(4),
		AvailabilityZones:    []string{"us-east-1a"},
		LaunchTemplate:       &astypes.LaunchTemplateSpecification{LaunchTemplateId: id, Version: aws.String("$Default")},
	})
	if err != nil {
		panic(err)
	}

	scaleTo := func(n int32) {
		if _, err := asg.SetDesiredCapacity(ctx, &autoscaling.SetDesiredCapacityInput{AutoScalingGroupName: aws.String("web"), DesiredCapacity: aws.Int32(n)}); err != nil {
			panic(err)
		}
		acts, err := asg.DescribeScalingActivities(ctx, &autoscaling.DescribeScalingActivitiesInput{AutoScalingGroupName: aws.String("web"), MaxRecords: aws.Int32(1)})
		if err != nil {
			panic(err)
		}
		groups, err := asg.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{"web"}})
		if err != nil {
			panic(err)
		}
		fmt.Printf("desired %d: last activity %s, instances:", n, acts.Activities[0].StatusCode)
		for _, i := range groups.AutoScalingGroups[0].Instances {
			out, err := client.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{*i.InstanceId}})
			if err != nil {
				panic(err)
			}
			fmt.Printf(" v%s/%s", *i.LaunchTemplate.Version, out.Reservations[0].Instances[0].MetadataOptions.HttpTokens)
		}
		fmt.Println()
	}

	scaleTo(2)
	if _, err := client.ModifyInstanceMetadataDefaults(ctx, &ec2.ModifyInstanceMetadataDefaultsInput{HttpTokensEnforced: types.DefaultHttpTokensEnforcedStateEnabled}); err != nil {
		panic(err)
	}
	scaleTo(3)

	v2, err := client.CreateLaunchTemplateVersion(ctx, &ec2.CreateLaunchTemplateVersionInput{
		LaunchTemplateId: id,
		SourceVersion:    aws.String("1"),
		LaunchTemplateData: &types.RequestLaunchTemplateData{
			MetadataOptions: &types.LaunchTemplateInstanceMetadataOptionsRequest{HttpTokens: types.LaunchTemplateHttpTokensStateRequired},
		},
	})
	if err != nil {
		panic(err)
	}
	if _, err := client.ModifyLaunchTemplate(ctx, &ec2.ModifyLaunchTemplateInput{
		LaunchTemplateId: id,
		DefaultVersion:   aws.String(fmt.Sprint(*v2.LaunchTemplateVersion.VersionNumber)),
	}); err != nil {
		panic(err)
	}
	scaleTo(3)
	// Output:
	// desired 2: last activity Successful, instances: v1/optional v1/optional
	// desired 3: last activity Failed, instances: v1/optional v1/optional
	// desired 3: last activity Successful, instances: v1/optional v1/optional v2/required
}

package account_test

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imdsopts/imdsopts"
	"github.com/imdsopts/imdsopts/account"
	"github.com/imdsopts/imdsopts/fake"
)

// Making IMDSv2 stick, as a person walks it: the posture says what stands
// in the way of enforcing IMDSv2, in the order to fix it; the template fix
// gives the group's template a version that requires IMDSv2; then the
// account's defaults require it and enforce it, which SetDefaults does
// only once its readiness check finds no launch that would fail.
func Example_makingIMDSv2Stick() {
	ctx := context.Background()
	// In a program: ec2.NewFromConfig(cfg), autoscaling.NewFromConfig(cfg)
	// and cloudwatch.NewFromConfig(cfg), for one account and Region.
	api := fake.New(func(o *fake.Options) { o.ApplyDelay = 0 })
	groups, metrics := fake.NewAutoScaling(api), fake.NewCloudWatch()
	c := account.Clients{EC2: api, AutoScaling: groups, CloudWatch: metrics, Target: account.Target{Account: fake.AccountID, Region: "us-east-1"}}
	if err := exampleAccount(ctx, api, groups, metrics); err != nil {
		fmt.Println(err)
		return
	}

	p, err := account.GetPosture(ctx, c)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("ready to enforce:", p.Ready)
	for _, b := range p.Blockers {
		fmt.Printf("  %s: %s\n", b.Kind, b.Subject())
	}
	for _, g := range p.AutoScalingGroups {
		fmt.Printf("group %s launches HttpTokens %s (%v); its instances are clean: %v\n",
			g.AutoScalingGroupName, g.Launch.HTTPTokens, g.Launch.HTTPTokensSource, g.IMDSv1.Clean)
	}

	// The group is clean: its template can require IMDSv2.
	s, _ := imdsopts.New(imdsopts.RequireIMDSv2())
	plan, err := account.PlanTemplates(ctx, c, s, func(o *account.TemplateOptions) { o.MakeDefault = true })
	if err != nil {
		fmt.Println(err)
		return
	}
	report, err := account.ApplyTemplates(ctx, c, plan)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, t := range report.Templates {
		fmt.Printf("template %s: %v, version %d is the default\n", t.LaunchTemplateName, t.Status, t.NewVersion)
	}

	// Then the account's defaults: the values of a Set, and enforcement.
	tokens, _ := imdsopts.New(imdsopts.HTTPTokens("required"))
	d, _ := account.NewDefaults(tokens, account.EnforceIMDSv2())
	r, err := account.SetDefaults(ctx, c, d)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("set:", r.Changes, "after a readiness check that found", len(r.Readiness.Blockers), "blockers")
	// Output:
	// ready to enforce: false
	//   group-launch-template: launch template web (lt-00000000000000001) version 1, with AMI ami-00000000000000001, group web
	//   account-default: the account
	// group web launches HttpTokens optional (default); its instances are clean: true
	// template web: applied, version 2 is the default
	// set: HttpTokens=required HttpTokensEnforced=enabled after a readiness check that found 0 blockers
}

// exampleAccount sets up a launch template "web" that gives no HttpTokens,
// on an AMI without ImdsSupport v2.0, and a group of two instances that
// launches its default version; CloudWatch measured no IMDSv1 call from
// either over the last day.
func exampleAccount(ctx context.Context, api *fake.EC2, groups *fake.AutoScaling, metrics *fake.CloudWatch) error {
	img, err := api.RegisterImage(ctx, &ec2.RegisterImageInput{Name: aws.String("app")})
	if err != nil {
		return err
	}
	lt, err := api.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String("web"),
		LaunchTemplateData: &types.RequestLaunchTemplateData{ImageId: img.ImageId, InstanceType: types.InstanceTypeT3Micro}})
	if err != nil {
		return err
	}
	_, err = groups.CreateAutoScalingGroup(ctx, &autoscaling.CreateAutoScalingGroupInput{AutoScalingGroupName: aws.String("web"),
		MinSize: aws.Int32(2), MaxSize: aws.Int32(4), AvailabilityZones: []string{"us-east-1a"},
		LaunchTemplate: &astypes.LaunchTemplateSpecification{LaunchTemplateId: lt.LaunchTemplate.LaunchTemplateId, Version: aws.String("$Default")}})
	if err != nil {
		return err
	}
	out, err := groups.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{})
	if err != nil {
		return err
	}
	for _, in := range out.AutoScalingGroups[0].Instances {
		metrics.PutMetadataNoToken(aws.ToString(in.InstanceId), time.Now().Add(-24*time.Hour), 0)
	}
	return nil
}

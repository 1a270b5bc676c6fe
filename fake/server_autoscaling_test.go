package fake_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imdsopts/imdsopts/fake"
)

// asTwin drives two identical Auto Scaling fakes, each with its own EC2
// fake, one called directly and one through the handler by the real SDK
// client, and requires the same answers.
type asTwin struct {
	*twin
	asDirect, asServed *fake.AutoScaling
	as                 *autoscaling.Client
}

func newASTwin(t *testing.T) *asTwin {
	tw := &asTwin{twin: &twin{t: t, direct: fake.New(), served: fake.New()}}
	tw.asDirect, tw.asServed = fake.NewAutoScaling(tw.direct), fake.NewAutoScaling(tw.served)
	cfg := sdkConfig(fake.NewHandler(tw.served, func(o *fake.HandlerOptions) { o.AutoScaling = tw.asServed }))
	tw.client = ec2.NewFromConfig(cfg, func(o *ec2.Options) { o.RetryMaxAttempts = 1 })
	tw.as = autoscaling.NewFromConfig(cfg, func(o *autoscaling.Options) { o.RetryMaxAttempts = 1 })
	return tw
}

// asSame runs call on the direct fake and on the SDK client and compares
// the answers; it returns the direct answer.
func asSame[In, Out any](tw *asTwin, name string, call func(autoScalingClient, context.Context, *In, ...func(*autoscaling.Options)) (*Out, error), in *In) *Out {
	tw.t.Helper()
	want, wantErr := call(tw.asDirect, context.Background(), in)
	got, gotErr := call(tw.as, context.Background(), in)
	tw.compare(name, want, wantErr, got, gotErr)
	return want
}

var (
	createGroup         = autoScalingClient.CreateAutoScalingGroup
	updateGroup         = autoScalingClient.UpdateAutoScalingGroup
	describeGroups      = autoScalingClient.DescribeAutoScalingGroups
	setDesired          = autoScalingClient.SetDesiredCapacity
	createConfiguration = autoScalingClient.CreateLaunchConfiguration
	describeConfigs     = autoScalingClient.DescribeLaunchConfigurations
	describeActivities  = autoScalingClient.DescribeScalingActivities
)

func TestWireAutoScalingAnswersAsTheFake(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tw := newASTwin(t)
		img := same(tw.twin, "RegisterImage", registerImage, &ec2.RegisterImageInput{Name: aws.String("base")})
		lt := same(tw.twin, "CreateLaunchTemplate", createTemplateOp, &ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String("web"),
			LaunchTemplateData: &types.RequestLaunchTemplateData{ImageId: img.ImageId,
				MetadataOptions: ltMetadata(types.LaunchTemplateHttpTokensStateOptional, 0)}})
		ltID := aws.ToString(lt.LaunchTemplate.LaunchTemplateId)

		// Launch configurations.
		asSame(tw, "CreateLaunchConfiguration", createConfiguration, &autoscaling.CreateLaunchConfigurationInput{
			LaunchConfigurationName: aws.String("v1"), ImageId: img.ImageId, InstanceType: aws.String("t3.micro"),
			MetadataOptions: &astypes.InstanceMetadataOptions{HttpTokens: astypes.InstanceMetadataHttpTokensStateOptional, HttpPutResponseHopLimit: aws.Int32(3)}})
		asSame(tw, "CreateLaunchConfiguration duplicate", createConfiguration, &autoscaling.CreateLaunchConfigurationInput{
			LaunchConfigurationName: aws.String("v1"), ImageId: img.ImageId, InstanceType: aws.String("t3.micro")})
		asSame(tw, "CreateLaunchConfiguration hop 65", createConfiguration, &autoscaling.CreateLaunchConfigurationInput{
			LaunchConfigurationName: aws.String("bad"), ImageId: img.ImageId, InstanceType: aws.String("t3.micro"),
			MetadataOptions: &astypes.InstanceMetadataOptions{HttpPutResponseHopLimit: aws.Int32(65)}})
		asSame(tw, "DescribeLaunchConfigurations", describeConfigs, &autoscaling.DescribeLaunchConfigurationsInput{})
		asSame(tw, "DescribeLaunchConfigurations by name", describeConfigs, &autoscaling.DescribeLaunchConfigurationsInput{
			LaunchConfigurationNames: []string{"nope", "v1"}})

		// Groups, with tags, from a template and from a configuration.
		web := templateGroup("web", ltID, "$Latest", 2)
		web.Tags = []astypes.Tag{{Key: aws.String("team"), Value: aws.String("a"), PropagateAtLaunch: aws.Bool(true)}}
		asSame(tw, "CreateAutoScalingGroup from template", createGroup, web)
		asSame(tw, "CreateAutoScalingGroup duplicate", createGroup, web)
		asSame(tw, "CreateAutoScalingGroup from configuration", createGroup, &autoscaling.CreateAutoScalingGroupInput{
			AutoScalingGroupName: aws.String("legacy"), LaunchConfigurationName: aws.String("v1"),
			MinSize: aws.Int32(1), MaxSize: aws.Int32(3), AvailabilityZones: []string{"us-east-1a"}})
		asSame(tw, "CreateAutoScalingGroup sizes", createGroup, templateGroup("bad", ltID, "", 20))
		asSame(tw, "CreateAutoScalingGroup unknown template", createGroup, templateGroup("bad", "lt-0123456789abcdef0", "", 1))
		asSame(tw, "CreateAutoScalingGroup no launch spec", createGroup, &autoscaling.CreateAutoScalingGroupInput{
			AutoScalingGroupName: aws.String("bad"), MinSize: aws.Int32(0), MaxSize: aws.Int32(1)})
		asSame(tw, "DescribeAutoScalingGroups", describeGroups, &autoscaling.DescribeAutoScalingGroupsInput{})
		page := asSame(tw, "DescribeAutoScalingGroups page 1", describeGroups, &autoscaling.DescribeAutoScalingGroupsInput{MaxRecords: aws.Int32(1)})
		if page.NextToken == nil {
			t.Fatal("two groups in pages of one gave one page")
		}
		asSame(tw, "DescribeAutoScalingGroups page 2", describeGroups, &autoscaling.DescribeAutoScalingGroupsInput{MaxRecords: aws.Int32(1), NextToken: page.NextToken})
		asSame(tw, "DescribeAutoScalingGroups bad token", describeGroups, &autoscaling.DescribeAutoScalingGroupsInput{NextToken: aws.String("bogus")})
		asSame(tw, "DescribeAutoScalingGroups MaxRecords 101", describeGroups, &autoscaling.DescribeAutoScalingGroupsInput{MaxRecords: aws.Int32(101)})
		asSame(tw, "DescribeAutoScalingGroups filtered", describeGroups, &autoscaling.DescribeAutoScalingGroupsInput{
			Filters: []astypes.Filter{{Name: aws.String("tag:team"), Values: []string{"a"}}}})

		// The groups' instances are the EC2 fake's.
		same(tw.twin, "DescribeInstances of the groups", describeInstances, &ec2.DescribeInstancesInput{
			Filters: []types.Filter{{Name: aws.String("tag:aws:autoscaling:groupName"), Values: []string{"web", "legacy"}}}})

		// Scaling, and a launch that EC2 refuses: a failed activity.
		time.Sleep(time.Minute)
		asSame(tw, "SetDesiredCapacity", setDesired, &autoscaling.SetDesiredCapacityInput{AutoScalingGroupName: aws.String("web"), DesiredCapacity: aws.Int32(3)})
		asSame(tw, "SetDesiredCapacity too many", setDesired, &autoscaling.SetDesiredCapacityInput{AutoScalingGroupName: aws.String("web"), DesiredCapacity: aws.Int32(11)})
		asSame(tw, "SetDesiredCapacity unknown group", setDesired, &autoscaling.SetDesiredCapacityInput{AutoScalingGroupName: aws.String("nope"), DesiredCapacity: aws.Int32(1)})
		same(tw.twin, "ModifyInstanceMetadataDefaults enforce", modifyDefaults, &ec2.ModifyInstanceMetadataDefaultsInput{
			HttpTokensEnforced: types.DefaultHttpTokensEnforcedStateEnabled})
		asSame(tw, "UpdateAutoScalingGroup", updateGroup, &autoscaling.UpdateAutoScalingGroupInput{AutoScalingGroupName: aws.String("web"),
			DesiredCapacity: aws.Int32(4), LaunchTemplate: &astypes.LaunchTemplateSpecification{LaunchTemplateName: aws.String("web"), Version: aws.String("1")}})
		asSame(tw, "UpdateAutoScalingGroup min over max", updateGroup, &autoscaling.UpdateAutoScalingGroupInput{AutoScalingGroupName: aws.String("web"),
			MinSize: aws.Int32(5), MaxSize: aws.Int32(4)})
		acts := asSame(tw, "DescribeScalingActivities", describeActivities, &autoscaling.DescribeScalingActivitiesInput{AutoScalingGroupName: aws.String("web")})
		if len(acts.Activities) == 0 || acts.Activities[0].StatusCode != astypes.ScalingActivityStatusCodeFailed {
			t.Errorf("the launch under enforcement is not a failed activity: %+v", acts.Activities)
		}
		asSame(tw, "DescribeScalingActivities paged", describeActivities, &autoscaling.DescribeScalingActivitiesInput{MaxRecords: aws.Int32(2)})
		asSame(tw, "DescribeScalingActivities unknown IDs", describeActivities, &autoscaling.DescribeScalingActivitiesInput{
			ActivityIds: []string{"00000000-0000-4000-8000-00000000ffff"}})
		asSame(tw, "DescribeAutoScalingGroups after", describeGroups, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{"web"}})
	})
}

func TestWireAutoScalingErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := fake.NewAutoScaling(nil)
		cfg := sdkConfig(fake.NewHandler(a.EC2(), func(o *fake.HandlerOptions) { o.AutoScaling = a }))
		client := autoscaling.NewFromConfig(cfg, func(o *autoscaling.Options) { o.RetryMaxAttempts = 1 })

		// A fault the SDK models is decoded into its type.
		_, err := client.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{NextToken: aws.String("bogus")})
		var bad *astypes.InvalidNextToken
		if !errors.As(err, &bad) || status(err) != 400 {
			t.Errorf("NextToken: %v, want a *types.InvalidNextToken with HTTP 400", err)
		}
		// Injected failures keep their status, and the SDK retries a 500.
		a.FailNext("DescribeAutoScalingGroups", 2, nil)
		retrying := autoscaling.NewFromConfig(cfg, func(o *autoscaling.Options) { o.RetryMaxAttempts = 3 })
		if _, err := retrying.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{}); err != nil {
			t.Errorf("two InternalFailures, then success, with three attempts: %v", err)
		}
		if n := a.Calls("DescribeAutoScalingGroups"); n != 4 {
			t.Errorf("DescribeAutoScalingGroups called %d times, want 4", n)
		}
		a.FailNext("SetDesiredCapacity", 1, fake.NewAPIError(400, "Throttling", "Rate exceeded"))
		_, err = client.SetDesiredCapacity(ctx, &autoscaling.SetDesiredCapacityInput{AutoScalingGroupName: aws.String("g"), DesiredCapacity: aws.Int32(1)})
		if got := describeErr(err); got != "Auto Scaling SetDesiredCapacity HTTP 400 Throttling: Rate exceeded" {
			t.Errorf("injected throttling: %s", got)
		}

		// Without an Auto Scaling fake, its requests are not served.
		unserved := autoscaling.NewFromConfig(sdkConfig(fake.NewHandler(fake.New())), func(o *autoscaling.Options) { o.RetryMaxAttempts = 1 })
		_, err = unserved.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{})
		if got := describeErr(err); !strings.HasPrefix(got, "Auto Scaling DescribeAutoScalingGroups HTTP 400 InvalidAction: The action DescribeAutoScalingGroups is not served") {
			t.Errorf("Auto Scaling of a handler without one: %s", got)
		}
	})
}

// The Auto Scaling answers on the wire: the AWS Query shape, an operation
// without output answered without a Result element, errors with their
// Type.
func TestAutoScalingQueryShapes(t *testing.T) {
	a := fake.NewAutoScaling(nil)
	h := fake.NewHandler(a.EC2(), func(o *fake.HandlerOptions) { o.AutoScaling = a })
	const ns = `xmlns="http://autoscaling.amazonaws.com/doc/2011-01-01/"`
	for _, tt := range []struct {
		name, body string
		status     int
		want       string
	}{
		{"no output", "Action=CreateLaunchConfiguration&Version=2011-01-01&LaunchConfigurationName=c&ImageId=ami-0123456789abcdef0&InstanceType=t3.micro",
			400, `<ErrorResponse ` + ns + `><Error><Type>Sender</Type><Code>ValidationError</Code>`},
		{"empty list", "Action=DescribeLaunchConfigurations&Version=2011-01-01&LaunchConfigurationNames=",
			200, `<DescribeLaunchConfigurationsResponse ` + ns + `><DescribeLaunchConfigurationsResult><LaunchConfigurations></LaunchConfigurations></DescribeLaunchConfigurationsResult><ResponseMetadata><RequestId>`},
		{"unknown action", "Action=DeleteAutoScalingGroup&Version=2011-01-01&AutoScalingGroupName=g",
			400, `<ErrorResponse ` + ns + `><Error><Type>Sender</Type><Code>InvalidAction</Code><Message>The action DeleteAutoScalingGroup is not valid for this web service.</Message></Error><RequestId>`},
		{"list without member", "Action=DescribeAutoScalingGroups&Version=2011-01-01&AutoScalingGroupNames.1=g",
			400, `<Code>UnknownParameter</Code><Message>The parameter AutoScalingGroupNames.1 is not recognized.</Message>`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp := post(t, h, "POST", "/", nil, tt.body)
			body := readAll(t, resp)
			if resp.StatusCode != tt.status || !strings.Contains(body, tt.want) {
				t.Errorf("HTTP %d\n%s\nwant HTTP %d and\n%s", resp.StatusCode, body, tt.status, tt.want)
			}
		})
	}
	img, err := a.EC2().RegisterImage(ctx, &ec2.RegisterImageInput{Name: aws.String("img")})
	if err != nil {
		t.Fatal(err)
	}
	resp := post(t, h, "POST", "/", nil, "Action=CreateLaunchConfiguration&Version=2011-01-01&LaunchConfigurationName=c&InstanceType=t3.micro&ImageId="+aws.ToString(img.ImageId))
	body := readAll(t, resp)
	want := `<CreateLaunchConfigurationResponse ` + ns + `><ResponseMetadata><RequestId>` + resp.Header.Get("X-Amzn-Requestid") + `</RequestId></ResponseMetadata></CreateLaunchConfigurationResponse>`
	if resp.StatusCode != 200 || !strings.HasSuffix(body, want) {
		t.Errorf("HTTP %d\n%s\nwant\n%s", resp.StatusCode, body, want)
	}
}

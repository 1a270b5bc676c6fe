package fake_test

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imdsopts/imdsopts/fake"
)

// instancesAPI and metricsAPI are the parts of *ec2.Client and
// *cloudwatch.Client the code under test needs; the fakes have them too.
type instancesAPI interface {
	DescribeInstances(context.Context, *ec2.DescribeInstancesInput, ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error)
	ModifyInstanceMetadataOptions(context.Context, *ec2.ModifyInstanceMetadataOptionsInput, ...func(*ec2.Options)) (*ec2.ModifyInstanceMetadataOptionsOutput, error)
}

type metricsAPI interface {
	GetMetricData(context.Context, *cloudwatch.GetMetricDataInput, ...func(*cloudwatch.Options)) (*cloudwatch.GetMetricDataOutput, error)
}

// requireTokensWhereUnused is the code under test: it makes every running
// instance that allows IMDSv1 and made no IMDSv1 call in 14 days require
// tokens, and returns the IDs it changed.
func requireTokensWhereUnused(ctx context.Context, api instancesAPI, metrics metricsAPI) ([]string, error) {
	out, err := api.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: []types.Filter{
		{Name: aws.String("instance-state-name"), Values: []string{"running"}},
		{Name: aws.String("metadata-options.http-tokens"), Values: []string{"optional"}},
	}})
	if err != nil {
		return nil, err
	}
	end := time.Now()
	var changed []string
	for _, r := range out.Reservations {
		for _, i := range r.Instances {
			m, err := metrics.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{
				StartTime: aws.Time(end.Add(-14 * 24 * time.Hour)), EndTime: aws.Time(end),
				MetricDataQueries: []cwtypes.MetricDataQuery{{Id: aws.String("calls"), MetricStat: &cwtypes.MetricStat{
					Metric: &cwtypes.Metric{Namespace: aws.String("AWS/EC2"), MetricName: aws.String("MetadataNoToken"),
						Dimensions: []cwtypes.Dimension{{Name: aws.String("InstanceId"), Value: i.InstanceId}}},
					Period: aws.Int32(14 * 24 * 3600), Stat: aws.String("Sum")}}},
			})
			if err != nil {
				return nil, err
			}
			// No datapoint is no measurement: leave the instance alone.
			if v := m.MetricDataResults[0].Values; len(v) == 0 || v[0] != 0 {
				continue
			}
			if _, err := api.ModifyInstanceMetadataOptions(ctx, &ec2.ModifyInstanceMetadataOptionsInput{
				InstanceId: i.InstanceId, HttpTokens: types.HttpTokensStateRequired}); err != nil {
				return nil, err
			}
			changed = append(changed, aws.ToString(i.InstanceId))
		}
	}
	return changed, nil
}

// A test seeds the fakes with the document "imdsopts emulator --seed"
// takes (a file of the test's testdata, or a string), runs the code under
// test against them, and looks at what it did. The same document starts an
// emulator with the same account, for the AWS CLI or a person.
func ExampleSeed_Apply() {
	ctx := context.Background()
	seed, err := fake.ReadSeed(strings.NewReader(`{
		"Instances": [
			{"Count": 2, "MetadataOptions": {"HttpTokens": "optional"}, "Tags": {"team": "web"},
			 "MetadataNoToken": {"PerDay": 0}},
			{"Count": 1, "MetadataOptions": {"HttpTokens": "optional"}, "Tags": {"team": "batch"},
			 "MetadataNoToken": {"PerDay": 40}},
			{"Count": 1, "MetadataOptions": {"HttpTokens": "optional"}, "Tags": {"team": "new"}}
		]
	}`))
	if err != nil {
		panic(err) // in a test: t.Fatal(err)
	}
	f := fake.New(func(o *fake.Options) { o.ApplyDelay = 0 })
	cw := fake.NewCloudWatch(func(o *fake.CloudWatchOptions) { o.EC2 = f })
	seeded, err := seed.Apply(ctx, f, nil, cw) // no Auto Scaling groups: no AutoScaling needed
	if err != nil {
		panic(err)
	}
	fmt.Println("web:", seeded.Instances[0], "batch:", seeded.Instances[1], "new:", seeded.Instances[2])

	changed, err := requireTokensWhereUnused(ctx, f, cw)
	if err != nil {
		panic(err)
	}
	fmt.Println("changed:", changed)
	fmt.Println("ModifyInstanceMetadataOptions calls:", f.Calls("ModifyInstanceMetadataOptions"))
	// Output:
	// web: [i-00000000000000001 i-00000000000000002] batch: [i-00000000000000003] new: [i-00000000000000004]
	// changed: [i-00000000000000001 i-00000000000000002]
	// ModifyInstanceMetadataOptions calls: 2
}

// The built-in accounts are seeds too: here the one the emulator starts
// with by default.
func ExampleBuiltinSeed() {
	seed, err := fake.BuiltinSeed("realistic")
	if err != nil {
		panic(err)
	}
	f := fake.New()
	seeded, err := seed.Apply(context.Background(), f, fake.NewAutoScaling(f), fake.NewCloudWatch(func(o *fake.CloudWatchOptions) { o.EC2 = f }))
	if err != nil {
		panic(err)
	}
	fmt.Println(fake.BuiltinSeeds())
	fmt.Println(seeded.Running, "running,", seeded.Stopped, "stopped,", seeded.Terminated, "terminated;",
		len(seeded.LaunchTemplates), "launch templates;", len(seeded.AutoScalingGroups["payments-web"]), "instances in the group payments-web")
	// Output:
	// [realistic containers]
	// 171 running, 28 stopped, 1 terminated; 2 launch templates; 4 instances in the group payments-web
}

package fake_test

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imdsopts/imdsopts/fake"
)

func Example() {
	ctx := context.Background()
	client := fake.New(func(o *fake.Options) { o.ApplyDelay = 0 })

	img, err := client.RegisterImage(ctx, &ec2.RegisterImageInput{Name: aws.String("base"), ImdsSupport: types.ImdsSupportValuesV20})
	if err != nil {
		panic(err)
	}
	run, err := client.RunInstances(ctx, &ec2.RunInstancesInput{
		ImageId:  img.ImageId,
		MinCount: aws.Int32(1),
		MaxCount: aws.Int32(1),
		MetadataOptions: &types.InstanceMetadataOptionsRequest{
			HttpTokens: types.HttpTokensStateOptional,
		},
	})
	if err != nil {
		panic(err)
	}
	id := run.Instances[0].InstanceId
	md := run.Instances[0].MetadataOptions
	fmt.Println("launched:", *id, md.HttpTokens, *md.HttpPutResponseHopLimit, md.State)

	mod, err := client.ModifyInstanceMetadataOptions(ctx, &ec2.ModifyInstanceMetadataOptionsInput{
		InstanceId: id,
		HttpTokens: types.HttpTokensStateRequired,
	})
	if err != nil {
		panic(err)
	}
	fmt.Println("modified:", mod.InstanceMetadataOptions.HttpTokens, mod.InstanceMetadataOptions.State)

	out, err := client.DescribeInstances(ctx, &ec2.DescribeInstancesInput{
		Filters: []types.Filter{{Name: aws.String("metadata-options.http-tokens"), Values: []string{"required"}}},
	})
	if err != nil {
		panic(err)
	}
	for _, r := range out.Reservations {
		for _, i := range r.Instances {
			md := i.MetadataOptions
			fmt.Println("described:", *i.InstanceId, i.State.Name, md.HttpTokens, *md.HttpPutResponseHopLimit,
				md.HttpEndpoint, md.HttpProtocolIpv6, md.InstanceMetadataTags, md.State)
		}
	}
	fmt.Println("calls:", client.Calls("DescribeInstances"))
	// Output:
	// launched: i-00000000000000001 optional 2 applied
	// modified: required pending
	// described: i-00000000000000001 running required 2 enabled disabled disabled applied
	// calls: 1
}

// Launch seeds a fake with instances in one call, for the setup of a test:
// here three instances of a registered image that requires IMDSv2, tagged,
// and one stopped instance that allows IMDSv1.
func ExampleEC2_Launch() {
	client := fake.New()
	web, err := client.Launch(3, func(o *fake.LaunchOptions) {
		o.ImdsSupport = types.ImdsSupportValuesV20
		o.Tags = map[string]string{"team": "web"}
	})
	if err != nil {
		panic(err)
	}
	legacy, err := client.Launch(1, func(o *fake.LaunchOptions) { o.Stopped = true })
	if err != nil {
		panic(err)
	}
	fmt.Println("launched:", web, legacy)

	out, err := client.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{
		InstanceIds: []string{web[0], legacy[0]},
	})
	if err != nil {
		panic(err)
	}
	for _, r := range out.Reservations {
		for _, i := range r.Instances {
			md := i.MetadataOptions
			fmt.Println("described:", *i.InstanceId, i.State.Name, md.HttpTokens, *md.HttpPutResponseHopLimit)
		}
	}
	fmt.Println("RunInstances calls:", client.Calls("RunInstances"))
	// Output:
	// launched: [i-00000000000000001 i-00000000000000002 i-00000000000000003] [i-00000000000000004]
	// described: i-00000000000000001 running required 2
	// described: i-00000000000000004 stopped optional 1
	// RunInstances calls: 0
}

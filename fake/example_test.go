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
	// modified: required applied
	// described: i-00000000000000001 running required 2 enabled disabled disabled applied
	// calls: 1
}

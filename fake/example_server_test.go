package fake_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"

	"github.com/imdsopts/imdsopts/fake"
)

// The real SDK client against the fake over HTTP: the same answers as EC2
// gives, errors included.
func ExampleNewServer() {
	ctx := context.Background()
	f := fake.New(func(o *fake.Options) { o.ApplyDelay = 0 })
	srv, err := fake.NewServer(f)
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	client := ec2.NewFromConfig(srv.Config())

	img, err := client.RegisterImage(ctx, &ec2.RegisterImageInput{Name: aws.String("base"), ImdsSupport: types.ImdsSupportValuesV20})
	if err != nil {
		panic(err)
	}
	run, err := client.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: img.ImageId, MinCount: aws.Int32(1), MaxCount: aws.Int32(1)})
	if err != nil {
		panic(err)
	}
	md := run.Instances[0].MetadataOptions
	fmt.Println("launched:", *run.Instances[0].InstanceId, md.HttpTokens, *md.HttpPutResponseHopLimit)

	_, err = client.ModifyInstanceMetadataOptions(ctx, &ec2.ModifyInstanceMetadataOptionsInput{
		InstanceId:              run.Instances[0].InstanceId,
		HttpPutResponseHopLimit: aws.Int32(65),
	})
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		fmt.Println("refused:", apiErr.ErrorCode())
	}
	// Output:
	// launched: i-00000000000000001 required 2
	// refused: InvalidParameterValue
}

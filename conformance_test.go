package imdsopts_test

import (
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/imdsopts/imdsopts"
	"github.com/imdsopts/imdsopts/fake"
	"github.com/imdsopts/imdsopts/fleet"
)

// The SDK's clients and the fakes satisfy every interface the package cuts
// from them; a change of signature fails the build here.
var (
	_ imdsopts.API                   = (*ec2.Client)(nil)
	_ imdsopts.API                   = (*fake.EC2)(nil)
	_ imdsopts.LaunchAPI             = (*ec2.Client)(nil)
	_ imdsopts.LaunchAPI             = (*fake.EC2)(nil)
	_ ec2.DescribeInstancesAPIClient = (*fake.EC2)(nil)
	_ fleet.MetricsAPI               = (*cloudwatch.Client)(nil)
	_ fleet.MetricsAPI               = (*fake.CloudWatch)(nil)
	_ fleet.EnforcementAPI           = (*ec2.Client)(nil)
	_ fleet.EnforcementAPI           = (*fake.EC2)(nil)
	_ stscreds.AssumeRoleAPIClient   = (*fake.STS)(nil)
)

package account_test

import (
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/imdsopts/imdsopts/account"
	"github.com/imdsopts/imdsopts/fake"
)

// The SDK's clients and the fakes satisfy every interface the package cuts
// from them; a change of signature fails the build here.
var (
	_ account.API            = (*ec2.Client)(nil)
	_ account.API            = (*fake.EC2)(nil)
	_ account.AutoScalingAPI = (*autoscaling.Client)(nil)
	_ account.AutoScalingAPI = (*fake.AutoScaling)(nil)
	_ account.MetricsAPI     = (*cloudwatch.Client)(nil)
	_ account.MetricsAPI     = (*fake.CloudWatch)(nil)
)

package ec2limits_test

import (
	"fmt"

	"github.com/imdsopts/imdsopts/internal/ec2limits"
)

// DescribeInstances has two request buckets: a call that may be unfiltered
// is paced to the stricter one.
func ExampleRequest() {
	fmt.Printf("%+v\n", ec2limits.Request("ModifyInstanceMetadataOptions", false))
	fmt.Printf("%+v\n", ec2limits.Request("DescribeInstances", false))
	fmt.Printf("%+v\n", ec2limits.Request("DescribeInstances", true))
	// Output:
	// {Size:100 Refill:5}
	// {Size:100 Refill:20}
	// {Size:50 Refill:10}
}

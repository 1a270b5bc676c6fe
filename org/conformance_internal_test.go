package org

import (
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/organizations"

	"github.com/imdsopts/imdsopts/fake"
)

// The interfaces target discovery cuts from the SDK's clients, unexported
// because callers hand it an aws.Config, are satisfied by those clients and
// by the fakes the tests use in their place.
var (
	_ listAccountsAPI = (*organizations.Client)(nil)
	_ listAccountsAPI = (*fake.Organizations)(nil)
	_ regionsAPI      = (*ec2.Client)(nil)
	_ regionsAPI      = (*fake.EC2)(nil)
)

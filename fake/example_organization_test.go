package fake_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/imdsopts/imdsopts/fake"
)

// An organisation for testing code that works across accounts and
// Regions: one in-memory handler serves every account/Region, and the
// real SDK, stscreds included, reaches each one with the credentials of
// its role.
func ExampleNewOrganization() {
	ctx := context.Background()
	org, err := fake.NewOrganization()
	if err != nil {
		panic(err)
	}
	prod, err := org.AddAccount("111111111111", func(o *fake.AccountOptions) { o.Name = "prod" })
	if err != nil {
		panic(err)
	}
	if err := prod.CreateRole("OrganizationAccountAccessRole"); err != nil {
		panic(err)
	}
	eu, err := prod.Region("eu-west-1")
	if err != nil {
		panic(err)
	}
	if _, err := eu.EC2().Launch(3); err != nil {
		panic(err)
	}

	home, err := org.Management().Region("us-east-1")
	if err != nil {
		panic(err)
	}
	cfg := fake.InMemoryConfig(fake.NewHandler(home.EC2(), func(o *fake.HandlerOptions) { o.Organization = org }))

	accounts, err := organizations.NewFromConfig(cfg).ListAccounts(ctx, &organizations.ListAccountsInput{})
	if err != nil {
		panic(err)
	}
	for _, a := range accounts.Accounts {
		fmt.Println("account:", *a.Id, *a.Name, a.State)
	}

	role := "arn:aws:iam::111111111111:role/OrganizationAccountAccessRole"
	assumed := cfg.Copy()
	assumed.Region = "eu-west-1"
	assumed.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(sts.NewFromConfig(cfg), role))
	out, err := ec2.NewFromConfig(assumed).DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
	if err != nil {
		panic(err)
	}
	fmt.Println("eu-west-1:", len(out.Reservations[0].Instances), "instances of", *out.Reservations[0].OwnerId)

	optIn := assumed.Copy()
	optIn.Region = "af-south-1" // an opt-in Region prod has not enabled
	_, err = ec2.NewFromConfig(optIn).DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		fmt.Println("af-south-1:", apiErr.ErrorCode())
	}
	// Output:
	// account: 123456789012 management ACTIVE
	// account: 111111111111 prod ACTIVE
	// eu-west-1: 3 instances of 111111111111
	// af-south-1: AuthFailure
}

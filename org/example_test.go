package org_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/aws/smithy-go"

	"github.com/imdsopts/imdsopts"
	"github.com/imdsopts/imdsopts/account"
	"github.com/imdsopts/imdsopts/fake"
	"github.com/imdsopts/imdsopts/fleet"
	"github.com/imdsopts/imdsopts/org"
)

// Require IMDSv2 in every account of an organisation, in two Regions:
// Discover lists the accounts and assumes a role in each (the SDK's
// stscreds), then every account/Region is planned and changed with its own
// clients and its own pacing, side by side, each journaled in a directory.
// The results come by account, then Region. A role missing from one
// account fails its targets, and only those.
func ExampleApply() {
	ctx := context.Background()
	// An organisation on the fakes, served to the real SDK. In a program:
	// cfg, err := config.LoadDefaultConfig(ctx) with the management
	// account's credentials.
	organization, _ := fake.NewOrganization(func(o *fake.OrganizationOptions) {
		o.EC2 = func(o *fake.Options) { o.ApplyDelay = 0 }
	})
	_ = organization.Management().CreateRole("OrganizationAccountAccessRole")
	for _, id := range []string{"111111111111", "222222222222", "333333333333"} {
		a, _ := organization.AddAccount(id)
		if id != "333333333333" {
			_ = a.CreateRole("OrganizationAccountAccessRole")
		}
		for _, name := range []string{"eu-west-1", "us-east-1"} {
			r, _ := a.Region(name)
			_, _ = r.EC2().Launch(2)
		}
	}
	home, _ := organization.Management().Region("us-east-1")
	cfg := fake.InMemoryConfig(fake.NewHandler(home.EC2(), func(o *fake.HandlerOptions) { o.Organization = organization }))

	ts, err := org.Discover(ctx, cfg, func(o *org.DiscoverOptions) {
		o.OrganizationRole = "OrganizationAccountAccessRole"
		o.Regions = []string{"eu-west-1", "us-east-1"}
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	s, _ := imdsopts.New(imdsopts.RequireIMDSv2())
	fleetOpts := func(o *fleet.Options) {
		o.TreatNoDataAsZero = true                          // the fakes have no CloudWatch history
		o.MinDelay, o.PollInterval = 10*time.Millisecond, 0 // the fakes apply at once
	}
	plans, err := org.Plan(ctx, *ts, fleet.Selection{}, s, func(o *org.Options) {
		o.Fleet = append(o.Fleet, fleetOpts)
	})
	fmt.Println("plan:", errors.Is(err, org.ErrTargetFailed))

	dir, _ := os.MkdirTemp("", "journals")
	defer os.RemoveAll(dir)
	report, err := org.Apply(ctx, *ts, plans, func(o *org.Options) {
		o.Fleet = append(o.Fleet, fleetOpts)
		o.Journals = org.JournalDir(dir)
	})
	fmt.Println("apply:", errors.Is(err, org.ErrTargetFailed))
	for _, r := range report.Targets {
		var apiErr smithy.APIError
		if errors.As(r.Err, &apiErr) {
			fmt.Println(r.Target, "failed:", apiErr.ErrorCode())
			continue
		}
		fmt.Println(r.Target, r.Result.Counts()[fleet.StatusApplied], "applied")
	}
	journals, _ := org.JournalDir(dir).Targets()
	fmt.Println("journals:", len(journals))
	// Output:
	// plan: true
	// apply: true
	// 111111111111/eu-west-1 2 applied
	// 111111111111/us-east-1 2 applied
	// 123456789012/eu-west-1 0 applied
	// 123456789012/us-east-1 0 applied
	// 222222222222/eu-west-1 2 applied
	// 222222222222/us-east-1 2 applied
	// 333333333333/eu-west-1 failed: AccessDenied
	// 333333333333/us-east-1 failed: AccessDenied
	// journals: 6
}

// Make every new instance of two Regions require IMDSv2: Run takes any
// operation of package account for one account and Region (here
// SetDefaults) across a target set, each target with its own clients and
// pacing, and keys the results by account and Region.
func ExampleRun() {
	ctx := context.Background()
	ts := org.TargetSet{Targets: []account.Target{
		{Account: "111111111111", Region: "us-east-1"},
		{Account: "111111111111", Region: "eu-west-1"},
	}}
	// In a program: Discover makes the TargetSet, with clients that assume
	// a role in each account.
	ts.Clients = func(ctx context.Context, t account.Target) (account.Clients, error) {
		return account.Clients{EC2: fake.New(), Target: t}, nil
	}
	s, _ := imdsopts.New(imdsopts.RequireIMDSv2())
	d, _ := account.NewDefaults(s)
	results, err := org.Run(ctx, ts, func(ctx context.Context, c account.Clients) (*account.DefaultsResult, error) {
		return account.SetDefaults(ctx, c, d)
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range results.Targets {
		fmt.Println(r.Target, r.Result.Changes, "->", r.Result.After.HTTPTokens)
	}
	// Output:
	// 111111111111/eu-west-1 HttpTokens=required HttpEndpoint=enabled -> required
	// 111111111111/us-east-1 HttpTokens=required HttpEndpoint=enabled -> required
}

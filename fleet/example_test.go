package fleet_test

import (
	"context"
	"fmt"
	"time"

	"github.com/imdsopts/imdsopts"
	"github.com/imdsopts/imdsopts/fake"
	"github.com/imdsopts/imdsopts/fleet"
)

// Move a fleet to IMDSv2: plan first (nothing changes), check the plan,
// then apply it. The instance that still made IMDSv1 calls last week is held
// back.
func ExampleNewPlan() {
	ctx := context.Background()
	// In a program: ec2.NewFromConfig(cfg) and cloudwatch.NewFromConfig(cfg).
	api, metrics := fake.New(func(o *fake.Options) { o.ApplyDelay = 0 }), fake.NewCloudWatch()
	ids, _ := api.Launch(3)
	// CloudWatch's MetadataNoToken: the IMDSv1 calls each instance answered.
	// Two made none yesterday; the third made 12 last week.
	metrics.PutMetadataNoToken(ids[0], time.Now().Add(-24*time.Hour), 0)
	metrics.PutMetadataNoToken(ids[1], time.Now().Add(-24*time.Hour), 0)
	metrics.PutMetadataNoToken(ids[2], time.Now().Add(-7*24*time.Hour), 12)

	s, _ := imdsopts.New(imdsopts.RequireIMDSv2())
	opts := func(o *fleet.Options) { o.Metrics = metrics; o.IMDSv1Window = 14 * 24 * time.Hour }
	plan, err := fleet.NewPlan(ctx, api, fleet.Selection{}, s, opts)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, it := range plan.Items {
		fmt.Println(it.InstanceID, it.Status, it.Changes)
	}
	report, err := fleet.Apply(ctx, api, plan, opts)
	if err != nil {
		fmt.Println(err)
		return
	}
	c := report.Counts()
	fmt.Println("applied:", c[fleet.StatusApplied], "held:", c[fleet.StatusHeld])
	// Output:
	// i-00000000000000001 change HttpTokens=required
	// i-00000000000000002 change HttpTokens=required
	// i-00000000000000003 held HttpTokens=required
	// applied: 2 held: 1
}

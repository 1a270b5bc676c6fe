package fleet_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/imdsopts/imdsopts"
	"github.com/imdsopts/imdsopts/fake"
	"github.com/imdsopts/imdsopts/fleet"
)

// Require IMDSv2 in waves: a canary first, then waves that grow, each
// watched for IMDSv1 calls its instances now refuse. The software on the
// third instance still uses IMDSv1: the second wave fails, that instance
// is rolled back, and the rest is not started. The journal then undoes
// the whole run.
func ExampleRollout() {
	ctx := context.Background()
	// In a program: ec2.NewFromConfig(cfg) and cloudwatch.NewFromConfig(cfg).
	api, metrics := fake.New(func(o *fake.Options) { o.ApplyDelay = 0 }), fake.NewCloudWatch()
	ids, _ := api.Launch(4)
	for _, id := range ids {
		metrics.PutMetadataNoToken(id, time.Now().Add(-time.Hour), 0) // no IMDSv1 use: the gate passes
	}
	// What CloudWatch will count of each instance once it requires tokens:
	// the IMDSv1 calls it refuses (MetadataNoTokenRejected).
	rejects := func(it fleet.Item) {
		if it.Status == fleet.StatusApplied {
			refused := map[bool]float64{true: 3}[it.InstanceID == ids[2]]
			metrics.PutMetric("AWS/EC2", "MetadataNoTokenRejected", it.InstanceID, time.Now(), refused)
		}
	}

	var journal bytes.Buffer // in a program, an *os.File: each record is synced
	s, _ := imdsopts.New(imdsopts.RequireIMDSv2())
	opts := func(o *fleet.Options) {
		o.Metrics, o.Enforcement = metrics, api
		o.Journal, o.Region = &journal, "us-east-1"
		o.Rollout = fleet.NewRollout(func(r *fleet.Rollout) {
			r.Canary, r.MaxWave = fleet.WaveSize{Count: 1}, fleet.WaveSize{Percent: 50}
			r.Bake = 100 * time.Millisecond // in a program: the default, 10 minutes
		})
		o.MinDelay, o.PollInterval = 10*time.Millisecond, 0 // the fake applies at once
		o.OnProgress = rejects
	}
	plan, err := fleet.NewPlan(ctx, api, fleet.Selection{}, s, opts)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("one-way changes:", len(plan.Irreversible))
	report, err := fleet.Apply(ctx, api, plan)
	fmt.Println("halted:", errors.Is(err, fleet.ErrRolloutHalted))
	for _, it := range report.Items {
		fmt.Println(it.InstanceID, "wave", it.Wave, it.Status)
	}

	// Undo the whole run. In a program, the account comes from STS
	// GetCallerIdentity.
	j, err := fleet.ReadJournal(&journal, "123456789012", "us-east-1")
	if err != nil {
		fmt.Println(err)
		return
	}
	undo, err := fleet.Undo(ctx, api, j, func(o *fleet.Options) {
		o.MinDelay, o.PollInterval = 10*time.Millisecond, 0
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, it := range undo.Items {
		fmt.Println("undo:", it.InstanceID, it.Status)
	}
	// Output:
	// one-way changes: 0
	// halted: true
	// i-00000000000000001 wave 1 applied
	// i-00000000000000002 wave 2 applied
	// i-00000000000000003 wave 2 rolled-back
	// i-00000000000000004 wave 3 not-attempted
	// undo: i-00000000000000001 rolled-back
	// undo: i-00000000000000002 rolled-back
	// undo: i-00000000000000003 satisfied
}

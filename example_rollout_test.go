package imdsopts_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/imdsopts/imdsopts"
	"github.com/imdsopts/imdsopts/fake"
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
	rejects := func(it imdsopts.FleetItem) {
		if it.Status == imdsopts.StatusApplied {
			refused := map[bool]float64{true: 3}[it.InstanceID == ids[2]]
			metrics.PutMetric("AWS/EC2", "MetadataNoTokenRejected", it.InstanceID, time.Now(), refused)
		}
	}

	var journal bytes.Buffer // in a program, an *os.File: each record is synced
	s, _ := imdsopts.New(imdsopts.RequireIMDSv2())
	opts := func(o *imdsopts.FleetOptions) {
		o.Metrics, o.Enforcement = metrics, api
		o.Journal, o.Region = &journal, "us-east-1"
		o.Rollout = imdsopts.NewRollout(func(r *imdsopts.Rollout) {
			r.Canary, r.MaxWave = imdsopts.WaveSize{Count: 1}, imdsopts.WaveSize{Percent: 50}
			r.Bake = 100 * time.Millisecond // in a program: the default, 10 minutes
		})
		o.MinDelay, o.PollInterval = 10*time.Millisecond, 0 // the fake applies at once
		o.OnProgress = rejects
	}
	plan, err := imdsopts.PlanFleet(ctx, api, imdsopts.Selection{}, s, opts)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("one-way changes:", len(plan.Irreversible))
	report, err := imdsopts.ApplyFleet(ctx, api, plan)
	fmt.Println("halted:", errors.Is(err, imdsopts.ErrRolloutHalted))
	for _, it := range report.Items {
		fmt.Println(it.InstanceID, "wave", it.Wave, it.Status)
	}

	// Undo the whole run. In a program, the account comes from STS
	// GetCallerIdentity.
	j, err := imdsopts.ReadJournal(&journal, "123456789012", "us-east-1")
	if err != nil {
		fmt.Println(err)
		return
	}
	undo, err := imdsopts.UndoFleet(ctx, api, j, func(o *imdsopts.FleetOptions) {
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

package fleet_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imdsopts/imdsopts"
	"github.com/imdsopts/imdsopts/fake"
	"github.com/imdsopts/imdsopts/fleet"
	"github.com/imdsopts/imdsopts/internal/testenv"
)

func statusOf(items []fleet.Item) map[string]fleet.Status {
	m := map[string]fleet.Status{}
	for _, it := range items {
		m[it.InstanceID] = it.Status
	}
	return m
}

// mixedFleet sets up one instance for each case of a plan.
func mixedFleet(t *testing.T, f *fake.EC2, cw *fake.CloudWatch) (change, satisfied, stopped, downgrade, imdsv1 string) {
	t.Helper()
	ctx := context.Background()
	change = testenv.Fleet(t, f, 1, &types.InstanceMetadataOptionsRequest{InstanceMetadataTags: "enabled"})[0]
	satisfied = testenv.Fleet(t, f, 1, &types.InstanceMetadataOptionsRequest{HttpTokens: "required"})[0]
	stopped = testenv.Fleet(t, f, 1, nil)[0]
	if _, err := f.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{stopped}}); err != nil {
		t.Fatal(err)
	}
	downgrade = testenv.Fleet(t, f, 1, &types.InstanceMetadataOptionsRequest{HttpTokens: "required", HttpEndpoint: "disabled"})[0]
	imdsv1 = testenv.Fleet(t, f, 1, nil)[0]
	cw.PutMetadataNoToken(imdsv1, time.Now().Add(-48*time.Hour), 3)
	cw.PutMetadataNoToken(change, time.Now().Add(-30*24*time.Hour), 7) // outside the window
	// Measured zeros: an instance without any datapoint in the window is
	// held as "no data".
	for _, id := range []string{change, stopped} {
		cw.PutMetadataNoToken(id, time.Now().Add(-time.Hour), 0)
	}
	return
}

func TestPlanAndApplyFleet(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f, cw := fake.New(func(o *fake.Options) { o.ApplyDelay = 5 * time.Second }), fake.NewCloudWatch()
		api := &testenv.ModifyLog{EC2: f}
		change, satisfied, stopped, downgrade, imdsv1 := mixedFleet(t, f, cw)
		s := testenv.MustNew(t, imdsopts.RequireIMDSv2())
		opts := func(o *fleet.Options) { o.Metrics = cw }

		plan, err := fleet.NewPlan(t.Context(), api, fleet.Selection{Tags: map[string]string{"team": "a"}}, s, opts)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]fleet.Status{change: fleet.StatusChange, satisfied: fleet.StatusSatisfied,
			stopped: fleet.StatusPendingStart, downgrade: fleet.StatusRefused, imdsv1: fleet.StatusHeld}
		if got := statusOf(plan.Items); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("plan statuses = %v, want %v", got, want)
		}
		for _, it := range plan.Items {
			switch it.InstanceID {
			case downgrade:
				if want := testenv.MustNew(t, imdsopts.HTTPEndpoint("enabled")); it.Downgrade != want || !errors.Is(it.Err, imdsopts.ErrDowngrade) {
					t.Errorf("downgrade = %v, %v; want %v and ErrDowngrade", it.Downgrade, it.Err, want)
				}
			case imdsv1:
				if !errors.Is(it.Err, fleet.ErrIMDSv1InUse) || it.IMDSv1Calls == nil || *it.IMDSv1Calls != 3 {
					t.Errorf("held item = %+v, want ErrIMDSv1InUse with 3 calls", it)
				}
			case change:
				if it.Changes != testenv.MustNew(t, imdsopts.HTTPTokens("required")) {
					t.Errorf("changes = %v, want only HttpTokens", it.Changes)
				}
				if it.IMDSv1Calls == nil || *it.IMDSv1Calls != 0 {
					t.Errorf("IMDSv1Calls = %v, want a measured 0", it.IMDSv1Calls)
				}
			case satisfied:
				if it.IMDSv1Calls != nil {
					t.Errorf("IMDSv1Calls = %v for an instance the gate did not measure", *it.IMDSv1Calls)
				}
			}
		}
		if n := f.Calls("ModifyInstanceMetadataOptions"); n != 0 {
			t.Fatalf("planning made %d Modify calls", n)
		}
		var table strings.Builder
		if err := plan.WriteTable(&table); err != nil || !strings.Contains(table.String(), change) || plan.Calls["GetMetricData"] != 1 {
			t.Errorf("plan (%v):\n%s\ncalls %v", err, table.String(), plan.Calls)
		}

		var progress []fleet.Item
		report, err := fleet.Apply(t.Context(), api, plan, opts, func(o *fleet.Options) {
			o.OnProgress = func(it fleet.Item) { progress = append(progress, it) }
		})
		if err != nil {
			t.Fatal(err)
		}
		want[change], want[stopped] = fleet.StatusApplied, fleet.StatusPendingStart
		if got := statusOf(report.Items); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("report statuses = %v, want %v", got, want)
		}
		if len(progress) != len(report.Items) {
			t.Errorf("progress heard %d outcomes, want %d", len(progress), len(report.Items))
		}
		if got := testenv.CurrentOptions(t, f, change); got.HttpTokens != "required" || got.InstanceMetadataTags != "enabled" {
			t.Errorf("changed instance = %+v, want tokens required and tags kept", got)
		}
		if got := testenv.CurrentOptions(t, f, imdsv1); got.HttpTokens != "optional" {
			t.Errorf("held instance changed to %q", got.HttpTokens)
		}
		if report.Calls["ModifyInstanceMetadataOptions"] != 2 || report.Counts()[fleet.StatusApplied] != 1 {
			t.Errorf("calls %v counts %v", report.Calls, report.Counts())
		}
		api.Twice(t)
	})
}

func TestPlanFleetNeedsMetricsToRequireTokens(t *testing.T) {
	f := fake.New()
	_, err := fleet.NewPlan(t.Context(), f, fleet.Selection{}, testenv.MustNew(t, imdsopts.RequireIMDSv2()))
	if !errors.Is(err, imdsopts.ErrInvalid) || !strings.Contains(err.Error(), "fleet.Options.Metrics") {
		t.Fatalf("error = %v, want ErrInvalid naming fleet.Options.Metrics", err)
	}
	_, err = fleet.NewPlan(t.Context(), f, fleet.Selection{InstanceIDs: []string{"i-bad"}}, imdsopts.Set{})
	if !errors.Is(err, imdsopts.ErrInvalid) {
		t.Fatalf("error = %v, want ErrInvalid for a malformed ID", err)
	}
	if calls := f.CallCounts(); len(calls) != 0 {
		t.Errorf("bad input made calls: %v", calls)
	}
}

// TestFleetGateFailsClosed: when CloudWatch cannot say whether an instance
// used IMDSv1, the instance is held, and nothing is changed.
func TestFleetGateFailsClosed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f, cw := fake.New(), fake.NewCloudWatch()
		ids := testenv.Fleet(t, f, 3, nil)
		cw.FailNext(1, fake.NewAPIError(403, "AccessDenied", "User is not authorized to perform cloudwatch:GetMetricData"))
		opts := func(o *fleet.Options) { o.Metrics = cw }
		plan, err := fleet.NewPlan(t.Context(), f, fleet.Selection{InstanceIDs: ids}, testenv.MustNew(t, imdsopts.RequireIMDSv2()), opts)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range plan.Items {
			if it.Status != fleet.StatusHeld || testenv.APICode(it.Err) != "AccessDenied" || !errors.Is(it.Err, fleet.ErrIMDSv1Unknown) {
				t.Errorf("%s: %v %v, want held with the CloudWatch error", it.InstanceID, it.Status, it.Err)
			}
		}
		report, err := fleet.Apply(t.Context(), f, plan, opts)
		if err != nil || report.Counts()[fleet.StatusHeld] != 3 {
			t.Fatalf("report %v, %v", report.Counts(), err)
		}
		if n := f.Calls("ModifyInstanceMetadataOptions"); n != 0 {
			t.Errorf("%d Modify calls after a failed gate", n)
		}
	})
}

// TestApplyFleetFaults: throttling storms, 500s, an instance terminated
// mid-run and one launched just before: every instance ends accounted for,
// none changed twice.
func TestApplyFleetFaults(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := fake.New(func(o *fake.Options) {
			o.ApplyDelay, o.Throttle, o.PropagationDelay = 5*time.Second, true, 20*time.Second
		})
		api := &testenv.ModifyLog{EC2: f}
		ids := testenv.Fleet(t, f, 300, nil) // not yet visible: PropagationDelay
		s := testenv.MustNew(t, imdsopts.RequireIMDSv2())
		var plan *fleet.Plan
		var err error
		plan, err = fleet.NewPlan(t.Context(), api, fleet.Selection{InstanceIDs: ids}, s,
			func(o *fleet.Options) { o.NotFoundGrace, o.SkipIMDSv1Gate = time.Minute, true }) // just launched
		if err != nil {
			t.Fatal(err)
		}
		if c := plan.Counts(); c[fleet.StatusChange] != 300 {
			t.Fatalf("plan counts %v: the IDs were not looked for again after propagating", c)
		}
		f.FailNext("ModifyInstanceMetadataOptions", 40, fake.NewAPIError(503, "RequestLimitExceeded", "Request limit exceeded."))
		f.FailNext("ModifyInstanceMetadataOptions", 3, fake.NewAPIError(400, "InvalidInstanceID.NotFound", "The instance ID does not exist"))
		f.FailNext("DescribeInstances", 3, fake.NewAPIError(500, "InternalError", "An internal error has occurred."))
		doomed := ids[250]
		go func() {
			time.Sleep(30 * time.Second)
			if _, err := f.TerminateInstances(context.Background(), &ec2.TerminateInstancesInput{InstanceIds: []string{doomed}}); err != nil {
				t.Error(err)
			}
		}()
		start := time.Now()
		report, err := fleet.Apply(t.Context(), api, plan)
		if err != nil {
			t.Fatal(err)
		}
		c := report.Counts()
		if c[fleet.StatusApplied] != 299 || c[fleet.StatusFailed] != 1 || len(report.Items) != 300 {
			t.Fatalf("counts %v", c)
		}
		for _, it := range report.Items {
			// Terminated before its call, EC2 refuses the call; after it, the
			// waiter sees the termination.
			if it.InstanceID == doomed && !errors.Is(it.Err, imdsopts.ErrInstanceTerminated) && testenv.APICode(it.Err) != "IncorrectInstanceState" {
				t.Errorf("terminated instance: %v %v", it.Status, it.Err)
			}
		}
		// 300 calls at 5 a second after a burst of 100: about 40 s, plus the
		// injected storm's retries and the wait for the last to apply.
		if el := time.Since(start); el > 2*time.Minute {
			t.Errorf("took %v", el)
		}
		api.Twice(t)
	})
}

func TestApplyFleetCancelled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := fake.New(func(o *fake.Options) { o.ApplyDelay, o.Throttle = 5*time.Second, true })
		api := &testenv.ModifyLog{EC2: f}
		testenv.Fleet(t, f, 400, nil)
		plan, err := fleet.NewPlan(t.Context(), api, fleet.Selection{}, testenv.MustNew(t, imdsopts.RequireIMDSv2()),
			func(o *fleet.Options) { o.SkipIMDSv1Gate = true })
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(30*time.Second, cancel) // half-way: about 250 calls made
		report, err := fleet.Apply(ctx, api, plan)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("error = %v, want context.Canceled", err)
		}
		c := report.Counts()
		if len(report.Items) != 400 || c[fleet.StatusChange] != 0 || c[fleet.StatusNotAttempted] == 0 || c[fleet.StatusApplied] == 0 {
			t.Fatalf("counts %v: want every instance final, some applied, some not attempted", c)
		}
		calls := f.Calls("ModifyInstanceMetadataOptions")
		time.Sleep(time.Minute)
		if n := f.Calls("ModifyInstanceMetadataOptions"); n != calls {
			t.Errorf("%d calls after the report", n-calls)
		}
		// A change EC2 accepted but that was not seen applied yet is
		// unconfirmed, not failed.
		if c[fleet.StatusFailed] != 0 {
			t.Errorf("%d instances failed: nothing failed, the context ended", c[fleet.StatusFailed])
		}
		if got := c[fleet.StatusApplied] + c[fleet.StatusUnconfirmed]; got != calls {
			t.Errorf("%d instances applied or unconfirmed, but %d calls made", got, calls)
		}
		api.Twice(t)
	})
}

func TestPlanFleetSelection(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := fake.New()
		ids := testenv.Fleet(t, f, 2500, nil)
		other := testenv.Fleet(t, f, 1, &types.InstanceMetadataOptionsRequest{HttpTokens: "required"})[0]
		if _, err := f.TerminateInstances(t.Context(), &ec2.TerminateInstancesInput{InstanceIds: ids[:1]}); err != nil {
			t.Fatal(err)
		}
		s := testenv.MustNew(t, imdsopts.HopLimit(2))
		tests := []struct {
			name string
			sel  fleet.Selection
			want int
		}{
			{"everything, terminated left out", fleet.Selection{}, 2500},
			{"by tag", fleet.Selection{Tags: map[string]string{"team": "a"}}, 2500},
			{"by filter", fleet.Selection{Filters: []types.Filter{{Name: aws.String("metadata-options.http-tokens"), Values: []string{"required"}}}}, 1},
			{"by IDs, unknown and terminated reported", fleet.Selection{InstanceIDs: append(ids[:450:450], other, "i-00000000000000bad")}, 452},
		}
		for _, tt := range tests {
			plan, err := fleet.NewPlan(t.Context(), f, tt.sel, s, func(o *fleet.Options) {
				o.NotFoundGrace, o.AllowDowngrade = time.Second, true // a raised hop limit weakens
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(plan.Items) != tt.want {
				t.Errorf("%s: %d instances, want %d", tt.name, len(plan.Items), tt.want)
			}
			if tt.sel.InstanceIDs != nil {
				st := statusOf(plan.Items)
				if st[ids[0]] != fleet.StatusFailed || st["i-00000000000000bad"] != fleet.StatusFailed || st[other] != fleet.StatusChange {
					t.Errorf("%s: statuses of the terminated, unknown and other: %v %v %v", tt.name, st[ids[0]], st["i-00000000000000bad"], st[other])
				}
			}
		}
	})
}

// TestFleetGateWindow: only IMDSv1 calls inside the caller's window hold an
// instance back, and SkipIMDSv1Gate overrides the gate.
func TestFleetGateWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		time.Sleep(30 * 24 * time.Hour) // room for history before "now"
		f, cw := fake.New(), fake.NewCloudWatch()
		ids := testenv.Fleet(t, f, 4, nil)
		for h := range 30 * 24 {
			for _, id := range ids {
				cw.PutMetadataNoToken(id, time.Now().Add(-time.Duration(h)*time.Hour-time.Minute), 0)
			}
		}
		cw.PutMetadataNoToken(ids[0], time.Now().Add(-time.Hour), 1)
		cw.PutMetadataNoToken(ids[1], time.Now().Add(-3*time.Hour), 5)
		cw.PutMetadataNoToken(ids[2], time.Now().Add(-10*24*time.Hour), 2)
		s := testenv.MustNew(t, imdsopts.RequireIMDSv2())
		tests := []struct {
			window time.Duration
			skip   bool
			held   []string
		}{
			{2 * time.Hour, false, ids[:1]},
			{24 * time.Hour, false, ids[:2]},
			{14 * 24 * time.Hour, false, ids[:3]},
			{14 * 24 * time.Hour, true, nil},
		}
		for _, tt := range tests {
			plan, err := fleet.NewPlan(t.Context(), f, fleet.Selection{InstanceIDs: ids}, s, func(o *fleet.Options) {
				o.Metrics, o.IMDSv1Window, o.SkipIMDSv1Gate = cw, tt.window, tt.skip
			})
			if err != nil {
				t.Fatal(err)
			}
			var held []string
			for _, it := range plan.Items {
				if it.Status == fleet.StatusHeld {
					held = append(held, it.InstanceID)
				}
			}
			if fmt.Sprint(held) != fmt.Sprint(tt.held) {
				t.Errorf("window %v skip %v: held %v, want %v", tt.window, tt.skip, held, tt.held)
			}
		}
	})
}

func TestFleetOptionsInvalid(t *testing.T) {
	f := fake.New()
	_, err := fleet.NewPlan(t.Context(), f, fleet.Selection{}, imdsopts.Set{}, func(o *fleet.Options) {
		o.Concurrency, o.MinDelay, o.MaxDelay, o.ThrottleBudget = -1, time.Minute, time.Second, 0
	})
	if !errors.Is(err, imdsopts.ErrInvalid) || !strings.Contains(err.Error(), "fleet.Options.Concurrency") || !strings.Contains(err.Error(), "fleet.Options.MaxDelay") ||
		!strings.Contains(err.Error(), "fleet.Options.ThrottleBudget 0s: must be positive") {
		t.Fatalf("error = %v", err)
	}
	if _, err := fleet.Apply(t.Context(), f, &fleet.Plan{}, func(o *fleet.Options) { o.PollInterval = -1 }); !errors.Is(err, imdsopts.ErrInvalid) {
		t.Fatalf("fleet.Apply error = %v", err)
	}
	if _, err := fleet.Apply(t.Context(), f, nil); !errors.Is(err, imdsopts.ErrInvalid) {
		t.Fatalf("fleet.Apply(nil plan) error = %v", err)
	}
	if calls := f.CallCounts(); len(calls) != 0 {
		t.Errorf("calls %v", calls)
	}
}

// TestNamedButExcluded: a named instance that exists but that the tags or
// filters leave out is reported excluded at once, not "not found" after a
// grace; an unknown one fails at once unless NotFoundGrace asks to wait.
func TestNamedButExcluded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := fake.New()
		inTeam := testenv.Fleet(t, f, 1, nil)[0]
		other, err := f.RunInstances(t.Context(), &ec2.RunInstancesInput{ImageId: aws.String(firstImage(t, f)),
			MinCount: aws.Int32(1), MaxCount: aws.Int32(1)})
		if err != nil {
			t.Fatal(err)
		}
		outside := aws.ToString(other.Instances[0].InstanceId)
		unknown := "i-00000000000000bad"
		start := time.Now()
		plan, err := fleet.NewPlan(t.Context(), f, fleet.Selection{InstanceIDs: []string{inTeam, outside, unknown},
			Tags: map[string]string{"team": "a"}}, testenv.MustNew(t, imdsopts.RequireIMDSv2()),
			func(o *fleet.Options) { o.SkipIMDSv1Gate = true })
		if err != nil {
			t.Fatal(err)
		}
		if el := time.Since(start); el != 0 {
			t.Errorf("planning took %v: nothing should be waited for", el)
		}
		want := map[string]fleet.Status{inTeam: fleet.StatusChange, outside: fleet.StatusExcluded, unknown: fleet.StatusFailed}
		if got := statusOf(plan.Items); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("statuses %v, want %v", got, want)
		}
		for _, it := range plan.Items {
			switch it.InstanceID {
			case outside:
				if !errors.Is(it.Err, fleet.ErrExcluded) || it.InstanceState != "running" {
					t.Errorf("excluded item %+v", it)
				}
			case unknown:
				if !errors.Is(it.Err, imdsopts.ErrInstanceNotFound) {
					t.Errorf("unknown item %+v", it)
				}
			}
		}
	})
}

// firstImage returns the ID of the first image registered on f.
func firstImage(t *testing.T, f *fake.EC2) string {
	t.Helper()
	out, err := f.DescribeImages(t.Context(), &ec2.DescribeImagesInput{})
	if err != nil || len(out.Images) == 0 {
		t.Fatalf("DescribeImages: %v", err)
	}
	return aws.ToString(out.Images[0].ImageId)
}

// TestFleetPollsFollowTheSchedule: the batched waiter polls a small fleet by
// the same elapsed-relative schedule as Wait, bounded by PollInterval: a
// change EC2 applies after 30 s is seen by 1.5 x 30 s + PollInterval, with a
// handful of polls.
func TestFleetPollsFollowTheSchedule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := fake.New(func(o *fake.Options) { o.ApplyDelay = 30 * time.Second })
		testenv.Fleet(t, f, 3, nil)
		plan, err := fleet.NewPlan(t.Context(), f, fleet.Selection{}, testenv.MustNew(t, imdsopts.RequireIMDSv2()),
			func(o *fleet.Options) { o.SkipIMDSv1Gate = true })
		if err != nil {
			t.Fatal(err)
		}
		describes := f.Calls("DescribeInstances")
		start := time.Now()
		report, err := fleet.Apply(t.Context(), f, plan)
		if err != nil || report.Counts()[fleet.StatusApplied] != 3 {
			t.Fatalf("fleet.Apply: %v %v", err, report.Counts())
		}
		if el, limit := time.Since(start), 30*time.Second*3/2+defaultOptions(t).PollInterval; el < 30*time.Second || el > limit {
			t.Errorf("applied after %v, want 30s..%v", el, limit)
		}
		if n := f.Calls("DescribeInstances") - describes; n > 8 {
			t.Errorf("%d polls for one batch applied after 30 s", n)
		}
	})
}

// defaultOptions returns the defaults of fleet.Options, as the option
// functions of every operation find them.
func defaultOptions(t *testing.T) fleet.Options {
	t.Helper()
	var o fleet.Options
	if err := fleet.CheckOptions(func(d *fleet.Options) { o = *d }); err != nil {
		t.Fatal(err)
	}
	return o
}

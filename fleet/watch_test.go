package fleet_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/imdsopts/imdsopts"
	"github.com/imdsopts/imdsopts/fake"
	"github.com/imdsopts/imdsopts/fleet"
	"github.com/imdsopts/imdsopts/internal/testenv"
)

// watchEnv is a fleet of n running instances and a CloudWatch tied to it
// that publishes in shape, with each instance's data delay after its
// period ends, under detailed monitoring or not. The metrics of a period
// are out by the time it returns.
func watchEnv(t *testing.T, n int, shape fake.IMDSMetrics, delay time.Duration, detailed bool, applyDelay time.Duration) (*testenv.ModifyLog, *fake.CloudWatch, []string) {
	t.Helper()
	f := fake.New(func(o *fake.Options) { o.ApplyDelay = applyDelay })
	cw := fake.NewCloudWatch(func(o *fake.CloudWatchOptions) { o.EC2, o.IMDSMetrics, o.PublishDelay = f, shape, delay })
	ids, err := f.Launch(n, func(o *fake.LaunchOptions) { o.DetailedMonitoring = detailed })
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(5*time.Minute + max(delay, 0))
	return &testenv.ModifyLog{EC2: f}, cw, ids
}

// TestWatchUnderEveryShape: whatever shape EC2 publishes the IMDS metrics
// in, and whether an instance's metrics come every minute or every 5, a
// rollout of a clean fleet completes (no datapoint of
// MetadataNoTokenRejected is the normal case, not a failed reading), and
// one whose canary's software calls IMDSv1 once tokens are required halts
// at the canary and rolls it back.
func TestWatchUnderEveryShape(t *testing.T) {
	for _, shape := range []fake.IMDSMetrics{fake.IMDSMetricsExclusive, fake.IMDSMetricsZeros, fake.IMDSMetricsSparse} {
		for _, detailed := range []bool{false, true} {
			for _, broken := range []bool{false, true} {
				t.Run(fmt.Sprintf("%v detailed %v broken %v", shape, detailed, broken), func(t *testing.T) {
					synctest.Test(t, func(t *testing.T) {
						api, cw, ids := watchEnv(t, 4, shape, time.Minute, detailed, 5*time.Second)
						r := canaryOfOne(func(r *fleet.Rollout) { r.Bake = 3 * time.Minute })
						plan, err := fleet.NewPlan(t.Context(), api, fleet.Selection{}, testenv.MustNew(t, imdsopts.RequireIMDSv2()),
							func(o *fleet.Options) { o.Metrics, o.Enforcement, o.Rollout = cw, api.EC2, r })
						if err != nil {
							t.Fatal(err)
						}
						if c := plan.Counts(); c[fleet.StatusChange] != 4 {
							t.Fatalf("plan %v: the gate held instances it measured", c)
						}
						if broken {
							if err := api.EC2.CallIMDSv1(ids[0], 3); err != nil {
								t.Fatal(err)
							}
						}
						report, err := fleet.Apply(t.Context(), api, plan)
						c := report.Counts()
						if !broken {
							if err != nil || c[fleet.StatusApplied] != 4 {
								t.Fatalf("fleet.Apply: %v, counts %v; want every instance applied", err, c)
							}
							for _, w := range report.Waves {
								if w.Watched == 0 {
									t.Errorf("wave %d passed with nothing watched", w.Wave)
								}
							}
							return
						}
						if !errors.Is(err, fleet.ErrRolloutHalted) || errors.Is(err, fleet.ErrIMDSv1Unknown) {
							t.Fatalf("error = %v, want the rollout halted for rejected calls", err)
						}
						if c[fleet.StatusRolledBack] != 1 || c[fleet.StatusNotAttempted] != 3 {
							t.Errorf("counts %v, want the canary rolled back and the rest not attempted", c)
						}
					})
				})
			}
		}
	}
}

// TestWatchWaitsForTheData: CloudWatch publishes a period's data minutes
// after it ends, so a wave whose bake ends before its instances' data of
// the bake's end is out waits for it, up to Rollout.MaxDataDelay; data
// that comes later than that is unknown, and fails the wave, unless
// Rollout.TreatNoDataAsZero. The IMDSv1 gate's TreatNoDataAsZero is
// another choice: it does not pass the watch.
func TestWatchWaitsForTheData(t *testing.T) {
	for _, tt := range []struct {
		name     string
		delay    time.Duration
		maxDelay time.Duration
		rollout  bool // Rollout.TreatNoDataAsZero
		gate     bool // fleet.Options.TreatNoDataAsZero
		pass     bool
	}{
		{name: "data within MaxDataDelay", delay: 8 * time.Minute, maxDelay: 15 * time.Minute, pass: true},
		{name: "data later than MaxDataDelay", delay: 20 * time.Minute, maxDelay: 15 * time.Minute},
		{name: "late data, the gate's choice", delay: 20 * time.Minute, maxDelay: 15 * time.Minute, gate: true},
		{name: "late data, the watch's choice", delay: 20 * time.Minute, maxDelay: 15 * time.Minute, rollout: true, pass: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				api, cw, _ := watchEnv(t, 2, fake.IMDSMetricsExclusive, tt.delay, false, 5*time.Second)
				r := canaryOfOne(func(r *fleet.Rollout) {
					r.Bake, r.MaxDataDelay, r.TreatNoDataAsZero = 2*time.Minute, tt.maxDelay, tt.rollout
				})
				plan, err := fleet.NewPlan(t.Context(), api, fleet.Selection{}, testenv.MustNew(t, imdsopts.RequireIMDSv2()),
					func(o *fleet.Options) {
						o.Metrics, o.Enforcement, o.Rollout, o.TreatNoDataAsZero = cw, api.EC2, r, tt.gate
					})
				if err != nil {
					t.Fatal(err)
				}
				start := time.Now()
				report, err := fleet.Apply(t.Context(), api, plan)
				if tt.pass {
					if err != nil || report.Counts()[fleet.StatusApplied] != 2 {
						t.Fatalf("fleet.Apply: %v, %v; want both applied", err, report.Counts())
					}
					if d := report.Waves[0].Ended.Sub(report.Waves[0].Started); d < 2*time.Minute {
						t.Errorf("the canary's bake ended after %v, before its 2 minutes", d)
					}
					return
				}
				if !errors.Is(err, fleet.ErrRolloutHalted) || !errors.Is(err, fleet.ErrIMDSv1Unknown) ||
					!strings.Contains(err.Error(), "not through the end of the bake") {
					t.Fatalf("error = %v, want halted: the canary's data never reached the end of its bake", err)
				}
				// It waited the bake and MaxDataDelay, not less, not much more.
				if d := time.Since(start); d < 2*time.Minute+tt.maxDelay || d > 2*time.Minute+tt.maxDelay+2*time.Minute {
					t.Errorf("halted %v after the start", d)
				}
				if c := report.Counts(); c[fleet.StatusNotAttempted] != 1 {
					t.Errorf("counts %v, want the second instance not attempted", c)
				}
			})
		})
	}
}

// TestWatchUnconfirmedChange: a canary whose change EC2 has not reported
// applied when the wait ends (EC2 applies it after MaxWait) was not
// watched, so its wave does not pass: the rollout halts at the canary, no
// other instance is changed, and the canary is rolled back (its change
// may be applied any time), even under RollbackFailed. The run does not
// report WATCHED 0 as a pass.
func TestWatchUnconfirmedChange(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		api, cw, ids := watchEnv(t, 3, fake.IMDSMetricsExclusive, time.Minute, true, 11*time.Minute)
		r := canaryOfOne(func(r *fleet.Rollout) { r.Bake, r.Rollback = time.Minute, fleet.RollbackFailed })
		plan, err := fleet.NewPlan(t.Context(), api, fleet.Selection{}, testenv.MustNew(t, imdsopts.RequireIMDSv2()),
			func(o *fleet.Options) { o.Metrics, o.Enforcement, o.Rollout = cw, api.EC2, r })
		if err != nil {
			t.Fatal(err)
		}
		if err := api.EC2.CallIMDSv1(ids[0], 7); err != nil {
			t.Fatal(err)
		}
		report, err := fleet.Apply(t.Context(), api, plan)
		if !errors.Is(err, fleet.ErrRolloutHalted) || !errors.Is(err, fleet.ErrIMDSv1Unknown) {
			t.Fatalf("error = %v, want halted, the canary's change not measured", err)
		}
		if len(report.Waves) != 1 || report.Waves[0].Err == nil {
			t.Fatalf("waves %+v, want the canary's failed", report.Waves)
		}
		// Its rollback is sent; EC2 takes 11 minutes to apply it too, so it
		// is not seen applied either: a person must look.
		canary := itemOf(t, report.Items, ids[0])
		if canary.Status != fleet.StatusNeedsPerson || !strings.Contains(canary.Err.Error(), "its rollback failed") {
			t.Errorf("canary %v (%v), want left to a person, its rollback sent", canary.Status, canary.Err)
		}
		for _, id := range ids[1:] {
			if n := api.Changes()[id]; n != 0 {
				t.Errorf("%s was changed %d times after a canary that was never measured", id, n)
			}
		}
		// Once EC2 has applied both, the canary has the options it had.
		time.Sleep(15 * time.Minute)
		if got := testenv.CurrentOptions(t, api.EC2, ids[0]); got.HttpTokens != "optional" {
			t.Errorf("the canary ends with HttpTokens %s, want optional", got.HttpTokens)
		}
	})
}

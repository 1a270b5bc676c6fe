package fleet_test

import (
	"errors"
	"math/rand/v2"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/imdsopts/imdsopts"
	"github.com/imdsopts/imdsopts/fake"
	"github.com/imdsopts/imdsopts/fleet"
	"github.com/imdsopts/imdsopts/internal/testenv"
)

// rolloutFigures is what one simulated rollout did.
type rolloutFigures struct {
	elapsed, halt                 time.Duration // to the end; to the failed wave's verdict
	waves, failedWave             int
	rejecting, rolledBack         int // instances that rejected IMDSv1 calls; of them, rolled back
	applied, notAttempted         int
	modifies, describes, readings int
	throttled                     int
	err                           error
}

// simulateRollout launches n running instances on a fake with EC2's token
// buckets on and ApplyDelay 5 s, makes the software of those at broken
// call IMDSv1 twice a minute from the moment the plan is made, and rolls
// the change to IMDSv2 out in waves of 1% doubling up to 20%, baked 10
// minutes each.
func simulateRollout(t *testing.T, n int, broken []int) (rolloutFigures, *fleet.Report, []string) {
	f := fake.New(func(o *fake.Options) { o.ApplyDelay, o.Throttle = 5*time.Second, true })
	cw := fake.NewCloudWatch(func(o *fake.CloudWatchOptions) { o.EC2 = f })
	ids := testenv.Fleet(t, f, n, nil)
	time.Sleep(6 * time.Minute) // the buckets fill; a 5-minute period of metrics, published a minute after it ends
	r := fleet.NewRollout(func(r *fleet.Rollout) {
		r.Canary, r.Growth, r.MaxWave = fleet.WaveSize{Percent: 1}, 2, fleet.WaveSize{Percent: 20}
		r.Bake, r.CheckEvery, r.Rollback = 10*time.Minute, time.Minute, fleet.RollbackFailed
	})
	plan, err := fleet.NewPlan(t.Context(), f, fleet.Selection{}, testenv.MustNew(t, imdsopts.RequireIMDSv2()),
		func(o *fleet.Options) { o.Metrics, o.Enforcement, o.Rollout = cw, f, r })
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range broken {
		if err := f.CallIMDSv1(ids[k], 2); err != nil {
			t.Fatal(err)
		}
	}
	before, cwBefore := f.CallCounts(), cw.Calls()
	rle := f.Throttled("ModifyInstanceMetadataOptions") + f.Throttled("DescribeInstances")
	start := time.Now()
	report, err := fleet.Apply(t.Context(), f, plan)
	var fig rolloutFigures
	fig.elapsed, fig.err, fig.waves = time.Since(start), err, len(report.Waves)
	after := f.CallCounts()
	fig.modifies = after["ModifyInstanceMetadataOptions"] - before["ModifyInstanceMetadataOptions"]
	fig.describes = after["DescribeInstances"] - before["DescribeInstances"]
	fig.readings = cw.Calls() - cwBefore
	fig.throttled = f.Throttled("ModifyInstanceMetadataOptions") + f.Throttled("DescribeInstances") - rle
	for _, w := range report.Waves {
		if w.Err != nil {
			fig.failedWave, fig.halt = w.Wave, w.Ended.Sub(start)
		}
	}
	for _, it := range report.Items {
		if it.RejectedCalls != nil && *it.RejectedCalls > 0 {
			fig.rejecting++
		}
		switch it.Status {
		case fleet.StatusRolledBack:
			fig.rolledBack++
		case fleet.StatusApplied:
			fig.applied++
		case fleet.StatusNotAttempted:
			fig.notAttempted++
		}
	}
	return fig, report, ids
}

// TestRolloutSimulation is the rollout's figure: 10,000 running instances,
// 1% of them with software that calls IMDSv1 only after the change (the
// gate cannot see it), rolled out in waves starting at 1% and doubling to
// 20%, baked 10 minutes each. It prints the time to the halt and the
// instances that rejected calls before they were rolled back, and the
// time the same rollout takes when nothing breaks, against the bound of
// changing them all at once ((n-100)/5 s + the apply delay): the bakes are
// the price of the waves. It asserts the outcomes: the halt at the first
// wave with a broken instance, every broken instance changed rolled back,
// nothing started after.
func TestRolloutSimulation(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("the rollout simulation is long; run it without -short")
	}
	const n = 10000
	bound := time.Duration(n-100)*time.Second/5 + 5*time.Second
	// A seed whose first broken instance is in the third wave: two bakes
	// pass before one fails.
	rnd := rand.New(rand.NewPCG(5, 0x5eed))
	broken := rnd.Perm(n)[:n/100]
	slices.Sort(broken)

	var failing, clean rolloutFigures
	wallStart := time.Now()
	synctest.Test(t, func(t *testing.T) {
		fig, report, ids := simulateRollout(t, n, broken)
		failing = fig
		checkHalted(t, report, ids, broken, fig)
	})
	wallFailing := time.Since(wallStart)
	synctest.Test(t, func(t *testing.T) {
		clean, _, _ = simulateRollout(t, n, nil)
	})
	wall := time.Since(wallStart)
	bakes := time.Duration(clean.waves) * 10 * time.Minute

	t.Logf("rollout of %d instances, EC2 buckets on, ApplyDelay 5s; waves 1%% doubling to 20%%, bake 10m, read every minute", n)
	t.Logf("%-12s %10s %10s %6s %8s %10s %8s %8s %8s %9s %9s", "breaking", "simulated", "to halt", "waves", "Modify", "Describe",
		"reads", "applied", "rolled", "rejecting", "throttled")
	for _, r := range []struct {
		name string
		f    rolloutFigures
	}{{"1%", failing}, {"none", clean}} {
		halt := "-"
		if r.f.failedWave > 0 {
			halt = r.f.halt.Round(time.Second).String()
		}
		t.Logf("%-12s %10v %10s %6d %8d %10d %8d %8d %8d %9d %9d", r.name, r.f.elapsed.Round(time.Second), halt,
			r.f.waves, r.f.modifies, r.f.describes, r.f.readings, r.f.applied, r.f.rolledBack, r.f.rejecting, r.f.throttled)
	}
	t.Logf("1%% breaking: halted at wave %d of %d after %v; %d instances rejected IMDSv1 calls before they were rolled back (%d of the %d broken were never changed)",
		failing.failedWave, clean.waves, failing.halt.Round(time.Second), failing.rejecting, len(broken)-failing.rejecting, len(broken))
	t.Logf("nothing breaking: %v = %.2f x the no-wave bound (n-100)/5 s + 5 s = %v; the price is %d bakes of 10m = %v; without them %.3f x bound",
		clean.elapsed.Round(time.Second), float64(clean.elapsed)/float64(bound), bound, clean.waves, bakes,
		float64(clean.elapsed-bakes)/float64(bound))
	t.Logf("wall time: failing %v, both %v", wallFailing.Round(time.Millisecond), wall.Round(time.Millisecond))

	if clean.err != nil || clean.applied != n || clean.waves != 9 {
		t.Errorf("nothing breaking: %v, %d applied in %d waves; want all %d in 9", clean.err, clean.applied, clean.waves, n)
	}
	if clean.elapsed < bakes {
		t.Errorf("nothing breaking took %v, less than its bakes %v", clean.elapsed, bakes)
	}
}

// checkHalted asserts the outcome of a rollout over ids where the instances
// at broken call IMDSv1: it halted at the first wave with one of them,
// each of them changed was rolled back, the others of the waves run are
// applied, and the rest not attempted.
func checkHalted(t *testing.T, report *fleet.Report, ids []string, broken []int, fig rolloutFigures) {
	t.Helper()
	if !errors.Is(fig.err, fleet.ErrRolloutHalted) {
		t.Fatalf("error = %v, want ErrRolloutHalted", fig.err)
	}
	isBroken := map[string]bool{}
	for _, k := range broken {
		isBroken[ids[k]] = true
	}
	first := 0
	for _, it := range report.Items {
		if isBroken[it.InstanceID] && (first == 0 || it.Wave < first) {
			first = it.Wave
		}
	}
	if fig.failedWave != first || len(report.Waves) != first {
		t.Fatalf("halted at wave %d after %d waves, want at wave %d, the first with a broken instance", fig.failedWave, len(report.Waves), first)
	}
	for _, it := range report.Items {
		switch {
		case it.Wave > first:
			if it.Status != fleet.StatusNotAttempted || !errors.Is(it.Err, fleet.ErrRolloutHalted) {
				t.Errorf("%s of wave %d: %v, want not attempted", it.InstanceID, it.Wave, it.Status)
			}
		case isBroken[it.InstanceID]:
			if it.Status != fleet.StatusRolledBack || it.RejectedCalls == nil || *it.RejectedCalls <= 0 {
				t.Errorf("broken %s of wave %d: %v, rejected %v; want rolled back", it.InstanceID, it.Wave, it.Status, it.RejectedCalls)
			}
		case it.Status != fleet.StatusApplied:
			t.Errorf("%s of wave %d: %v, want applied", it.InstanceID, it.Wave, it.Status)
		}
	}
	if fig.rolledBack != fig.rejecting || fig.rejecting == 0 {
		t.Errorf("%d instances rejected calls, %d rolled back", fig.rejecting, fig.rolledBack)
	}
}

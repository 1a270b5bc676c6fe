package org_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/imdsopts/imdsopts"
	"github.com/imdsopts/imdsopts/fake"
	"github.com/imdsopts/imdsopts/fleet"
	"github.com/imdsopts/imdsopts/internal/testenv"
	"github.com/imdsopts/imdsopts/org"
)

// orgSim is the shape of a simulated organisation: its accounts, the
// Regions of each, and the fewest and most instances of a target.
type orgSim struct {
	accounts, regions int
	least, most       int
}

// orgFigures is what applying RequireIMDSv2 to a simulated organisation
// cost, in simulated time.
type orgFigures struct {
	targets, instances   int
	smallest, largest    int           // instances of a target
	bound, sumOfBounds   time.Duration // of the largest target; of all, one after another
	elapsed              time.Duration // of Apply
	applied, failed      int
	modifies, throttled  int
	targetsFailed, calls int
}

// The bound of a target of n instances to change, with EC2's bucket of
// ModifyInstanceMetadataOptions (100, refilled at 5 a second) full at
// the start and a change applied applyDelay after it is sent.
func targetBound(n int, applyDelay time.Duration) time.Duration {
	return time.Duration(max(n-100, 0))*time.Second/5 + applyDelay
}

// simulateOrg makes the organisation sim describes on the fakes (EC2's
// buckets on, changes applied after applyDelay), plans RequireIMDSv2 for
// every target, and times Apply with at most concurrency targets at
// once.
func simulateOrg(t *testing.T, sim orgSim, applyDelay time.Duration, concurrency int) orgFigures {
	regions := []string{"us-east-1", "eu-west-1", "ap-southeast-2", "us-west-2", "eu-central-1", "ap-northeast-1"}[:sim.regions]
	var members []string
	for i := 1; i < sim.accounts; i++ {
		members = append(members, fmt.Sprintf("%012d", 100000000000+i))
	}
	w := newOrgWorld(t, members, func(o *fake.Options) { o.ApplyDelay, o.Throttle = applyDelay, true })
	all := targets(append([]string{fake.AccountID}, members...), regions)
	rnd := rand.New(rand.NewPCG(12, 80))
	f := orgFigures{targets: len(all), smallest: sim.most}
	for i, tg := range all {
		n := sim.least + rnd.IntN(sim.most-sim.least+1)
		switch i {
		case 0:
			n = sim.most
		case 1:
			n = sim.least
		}
		w.launch(t, tg, n)
		f.instances += n
		f.smallest, f.largest = min(f.smallest, n), max(f.largest, n)
		f.sumOfBounds += targetBound(n, applyDelay)
	}
	f.bound = targetBound(f.largest, applyDelay)
	ts := w.set(all...)
	plans, err := org.Plan(t.Context(), ts, fleet.Selection{}, testenv.MustNew(t, imdsopts.RequireIMDSv2()), gateOnNoData,
		func(o *org.Options) { o.Concurrency = max(concurrency, org.DefaultConcurrency) })
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Minute) // the buckets refill after the plan's listings
	start := time.Now()
	report, err := org.Apply(t.Context(), ts, plans, func(o *org.Options) { o.Concurrency = concurrency })
	f.elapsed = time.Since(start)
	if err != nil {
		t.Error(err)
	}
	for _, r := range report.Targets {
		if r.Err != nil {
			f.targetsFailed++
		}
		if r.Result == nil {
			continue
		}
		c := r.Result.Counts()
		f.applied += c[fleet.StatusApplied]
		f.failed += len(r.Result.Items) - c[fleet.StatusApplied]
		f.throttled += r.Result.Throttled
		for _, n := range r.Result.Calls {
			f.calls += n
		}
		f.modifies += r.Result.Calls["ModifyInstanceMetadataOptions"]
	}
	return f
}

// TestOrganizationSimulation is the figure of issue 12: an organisation of
// 20 accounts in 4 Regions, 80 targets of 500 to 5,000 instances each, on
// the fakes with EC2's buckets on (each account/Region its own) and
// changes applied 5 s after they are sent. Apply with its default
// concurrency must finish within 1.05 times the bound of the largest
// target, (n-100)/5 s + 5 s: the organisation takes the time of its
// largest target, not the sum. For comparison, the same targets are done
// one after another (Concurrency 1). It prints the simulated times, the
// bounds and ratios, the calls, the wall time and the peak memory of the
// process: figures, not assertions, apart from the bound. The full size
// runs when IMDSOPTS_FIGURES=1, as .ci/run sets it; otherwise a smaller
// organisation of the same shape (4 accounts, 2 Regions, 150 to 1,000
// instances a target) checks the same bound.
func TestOrganizationSimulation(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("the organisation simulation is long; run it without -short")
	}
	const applyDelay = 5 * time.Second
	sim := orgSim{accounts: 4, regions: 2, least: 150, most: 1000}
	if os.Getenv("IMDSOPTS_FIGURES") == "1" {
		sim = orgSim{accounts: 20, regions: 4, least: 500, most: 5000}
	}
	wallStart := time.Now()
	var side, serial orgFigures
	synctest.Test(t, func(t *testing.T) {
		side = simulateOrg(t, sim, applyDelay, org.DefaultConcurrency)
	})
	wallSide := time.Since(wallStart)
	runtime.GC()
	synctest.Test(t, func(t *testing.T) {
		serial = simulateOrg(t, sim, applyDelay, 1)
	})
	wall := time.Since(wallStart)
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)

	t.Logf("organisation of %d accounts x %d Regions = %d targets, %d instances (%d to %d a target); EC2 buckets on, ApplyDelay %v",
		sim.accounts, sim.regions, side.targets, side.instances, side.smallest, side.largest, applyDelay)
	t.Logf("bound of the largest target, (%d-100)/5 s + 5 s = %v; sum of every target's bound %v", side.largest, side.bound, side.sumOfBounds)
	t.Logf("%-28s %12s %16s %14s %8s %8s %10s %10s", "way", "simulated", "x largest bound", "x sum of bounds", "applied", "failed", "calls", "throttled")
	for _, r := range []struct {
		name string
		f    orgFigures
	}{{fmt.Sprintf("side by side (%d at once)", org.DefaultConcurrency), side}, {"one after another", serial}} {
		t.Logf("%-28s %12v %16.4f %14.4f %8d %8d %10d %10d", r.name, r.f.elapsed.Round(time.Second),
			float64(r.f.elapsed)/float64(r.f.bound), float64(r.f.elapsed)/float64(r.f.sumOfBounds),
			r.f.applied, r.f.failed, r.f.calls, r.f.throttled)
	}
	t.Logf("one after another / side by side: %.1fx", float64(serial.elapsed)/float64(side.elapsed))
	t.Logf("wall time: side by side %v (launch, plan and apply), both %v; peak RSS %d MiB",
		wallSide.Round(time.Millisecond), wall.Round(time.Millisecond), ru.Maxrss/1024)

	for _, f := range []orgFigures{side, serial} {
		if f.applied != f.instances || f.failed != 0 || f.targetsFailed != 0 || f.modifies != f.instances {
			t.Errorf("%d of %d applied, %d failed, %d targets failed, %d changes sent", f.applied, f.instances, f.failed, f.targetsFailed, f.modifies)
		}
	}
	if limit := time.Duration(1.05 * float64(side.bound)); side.elapsed > limit {
		t.Errorf("the organisation took %v side by side, over 1.05 x the largest target's bound = %v", side.elapsed, limit)
	}
}

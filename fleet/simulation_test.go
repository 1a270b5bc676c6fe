package fleet_test

import (
	"context"
	"os"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/imdsopts/imdsopts"
	"github.com/imdsopts/imdsopts/fake"
	"github.com/imdsopts/imdsopts/fleet"
	"github.com/imdsopts/imdsopts/internal/testenv"
)

// simFigures is what one way of changing the fleet cost, in simulated time.
type simFigures struct {
	elapsed                  time.Duration
	modifies, describes, rle int
	applied, failed          int
}

// TestFleetSimulation is the fleet benchmark: 10,000 running instances on the
// fake with EC2's token buckets on and ApplyDelay 5 s, moved to IMDSv2 by
// fleet.Apply and, for comparison, the naive way (per instance Apply and Wait,
// 100 at a time, with the SDK waiters' 15 s to 120 s delays). It runs under
// synctest, so the figures are simulated time and counted calls; it prints
// them (go test -run TestFleetSimulation -v) and fails when fleet.Apply misses
// the bounds.
func TestFleetSimulation(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("the fleet simulation is long; run it without -short")
	}
	const n, applyDelay = 10000, 5 * time.Second
	bound := time.Duration(n-100)*time.Second/5 + applyDelay // (10,000 − 100) / 5 s + 5 s

	wallStart := time.Now()
	var batched, naive simFigures
	synctest.Test(t, func(t *testing.T) {
		batched = simulate(t, n, applyDelay, runFleet)
	})
	wallBatched := time.Since(wallStart)
	synctest.Test(t, func(t *testing.T) {
		naive = simulate(t, n, applyDelay, runNaive)
	})
	wall := time.Since(wallStart)
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)

	calls := batched.modifies + batched.describes
	t.Logf("fleet of %d, EC2 buckets on, ApplyDelay %v; bound (n-100)/5 s + 5 s = %v", n, applyDelay, bound)
	t.Logf("%-8s %12s %10s %10s %10s %8s %8s", "way", "simulated", "Modify", "Describe", "throttled", "applied", "failed")
	for _, r := range []struct {
		name string
		f    simFigures
	}{{"batched", batched}, {"naive", naive}} {
		t.Logf("%-8s %12v %10d %10d %10d %8d %8d", r.name, r.f.elapsed, r.f.modifies, r.f.describes, r.f.rle, r.f.applied, r.f.failed)
	}
	t.Logf("batched: %.4f x bound; Describe calls %.2f%% of instances; throttled %.3f%% of calls",
		float64(batched.elapsed)/float64(bound), 100*float64(batched.describes)/n, 100*float64(batched.rle)/float64(calls))
	t.Logf("naive/batched: time %.2fx, Describe calls %.1fx, throttled answers %d vs %d",
		float64(naive.elapsed)/float64(batched.elapsed), float64(naive.describes)/float64(max(batched.describes, 1)), naive.rle, batched.rle)
	t.Logf("wall time: batched %v, both %v; peak RSS %d MiB", wallBatched.Round(time.Millisecond), wall.Round(time.Millisecond), ru.Maxrss/1024)

	if batched.applied != n || batched.failed != 0 {
		t.Errorf("batched: %d applied, %d failed, want all %d applied", batched.applied, batched.failed, n)
	}
	if limit := time.Duration(1.03 * float64(bound)); batched.elapsed > limit {
		t.Errorf("batched took %v, over 1.03 x bound = %v", batched.elapsed, limit)
	}
	if batched.describes > n*5/100 {
		t.Errorf("batched made %d DescribeInstances calls, over 5%% of %d", batched.describes, n)
	}
	if batched.rle*100 > calls {
		t.Errorf("batched got %d RequestLimitExceeded answers in %d calls, over 1%%", batched.rle, calls)
	}
}

// TestFleetSimulationAtScale runs fleet.Apply over 100,000 running
// instances on the fake with EC2's buckets on, and prints the simulated time
// against the bucket bound, the calls, the wall time and the peak memory of
// the process. It is a figure, not a timed test: it fails only on the
// simulated bound or a wrong outcome. It runs when IMDSOPTS_FIGURES=1, as
// .ci/run sets it, in a process of its own so the peak memory is its own.
func TestFleetSimulationAtScale(t *testing.T) {
	t.Parallel()
	if os.Getenv("IMDSOPTS_FIGURES") != "1" {
		t.Skip("set IMDSOPTS_FIGURES=1 to run the 100,000-instance simulation")
	}
	const n, applyDelay = 100000, 5 * time.Second
	bound := time.Duration(n-100)*time.Second/5 + applyDelay
	wallStart := time.Now()
	var r simFigures
	synctest.Test(t, func(t *testing.T) {
		r = simulate(t, n, applyDelay, runFleet)
	})
	wall := time.Since(wallStart)
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	t.Logf("fleet of %d, EC2 buckets on, ApplyDelay %v; bound (n-100)/5 s + 5 s = %v", n, applyDelay, bound)
	t.Logf("simulated %v = %.4f x bound; Modify %d, Describe %d (%.2f%% of instances), throttled %d; applied %d, failed %d",
		r.elapsed, float64(r.elapsed)/float64(bound), r.modifies, r.describes, 100*float64(r.describes)/n, r.rle, r.applied, r.failed)
	t.Logf("wall time %v (launch, plan and apply); peak RSS %d MiB", wall.Round(time.Millisecond), ru.Maxrss/1024)
	if r.applied != n || r.failed != 0 {
		t.Errorf("%d applied, %d failed, want all %d applied", r.applied, r.failed, n)
	}
	if limit := time.Duration(1.03 * float64(bound)); r.elapsed > limit {
		t.Errorf("took %v, over 1.03 x bound = %v", r.elapsed, limit)
	}
}

// simulate launches n instances on a throttled fake and times run on it.
func simulate(t *testing.T, n int, applyDelay time.Duration, run func(*testing.T, *fake.EC2, []string) (applied, failed int)) simFigures {
	f := fake.New(func(o *fake.Options) { o.ApplyDelay, o.Throttle = applyDelay, true })
	ids := testenv.Fleet(t, f, n, nil)
	time.Sleep(time.Minute) // let the buckets fill after the launch
	before := f.CallCounts()
	rleBefore := f.Throttled("ModifyInstanceMetadataOptions") + f.Throttled("DescribeInstances")
	start := time.Now()
	var r simFigures
	r.applied, r.failed = run(t, f, ids)
	r.elapsed = time.Since(start)
	after := f.CallCounts()
	r.modifies = after["ModifyInstanceMetadataOptions"] - before["ModifyInstanceMetadataOptions"]
	r.describes = after["DescribeInstances"] - before["DescribeInstances"]
	r.rle = f.Throttled("ModifyInstanceMetadataOptions") + f.Throttled("DescribeInstances") - rleBefore
	return r
}

func runFleet(t *testing.T, f *fake.EC2, ids []string) (applied, failed int) {
	cw := fake.NewCloudWatch()
	// The simulated account has no CloudWatch history: its instances pass
	// the gate only as measured zeros would.
	plan, err := fleet.NewPlan(t.Context(), f, fleet.Selection{}, testenv.MustNew(t, imdsopts.RequireIMDSv2()),
		func(o *fleet.Options) { o.Metrics, o.TreatNoDataAsZero = cw, true })
	if err != nil {
		t.Fatal(err)
	}
	report, err := fleet.Apply(t.Context(), f, plan)
	if err != nil {
		t.Fatal(err)
	}
	c := report.Counts()
	return c[fleet.StatusApplied], len(report.Items) - c[fleet.StatusApplied]
}

func runNaive(t *testing.T, f *fake.EC2, ids []string) (applied, failed int) {
	s := testenv.MustNew(t, imdsopts.RequireIMDSv2())
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 100)
	for _, id := range ids {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			err := func() error {
				w, err := imdsopts.Apply(context.Background(), f, id, s, func(o *imdsopts.WaiterOptions) {
					o.MinDelay, o.MaxDelay, o.MaxWait = 15*time.Second, 120*time.Second, 24*time.Hour
				})
				if err != nil {
					return err
				}
				_, err = w.Wait(context.Background())
				return err
			}()
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				failed++
			} else {
				applied++
			}
		}()
	}
	wg.Wait()
	return applied, failed
}

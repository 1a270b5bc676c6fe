package imdsopts_test

import (
	"context"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/imdsopts/imdsopts"
	"github.com/imdsopts/imdsopts/fake"
)

// simFigures is what one way of changing the fleet cost, in simulated time.
type simFigures struct {
	elapsed                  time.Duration
	modifies, describes, rle int
	applied, failed          int
}

// TestFleetSimulation is the fleet benchmark: 10,000 running instances on the
// fake with EC2's token buckets on and ApplyDelay 5 s, moved to IMDSv2 by
// ApplyFleet and, for comparison, the naive way (per instance Apply and Wait,
// 100 at a time, with the SDK waiters' 15 s to 120 s delays). It runs under
// synctest, so the figures are simulated time and counted calls; it prints
// them (go test -run TestFleetSimulation -v) and fails when ApplyFleet misses
// the bounds.
func TestFleetSimulation(t *testing.T) {
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

// simulate launches n instances on a throttled fake and times run on it.
func simulate(t *testing.T, n int, applyDelay time.Duration, run func(*testing.T, *fake.EC2, []string) (applied, failed int)) simFigures {
	f := fake.New(func(o *fake.Options) { o.ApplyDelay, o.Throttle = applyDelay, true })
	ids := fleet(t, f, n, nil)
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
	plan, err := imdsopts.PlanFleet(t.Context(), f, imdsopts.Selection{}, mustNew(t, imdsopts.RequireIMDSv2()),
		func(o *imdsopts.FleetOptions) { o.Metrics, o.TreatNoDataAsZero = cw, true })
	if err != nil {
		t.Fatal(err)
	}
	report, err := imdsopts.ApplyFleet(t.Context(), f, plan)
	if err != nil {
		t.Fatal(err)
	}
	c := report.Counts()
	return c[imdsopts.StatusApplied], len(report.Items) - c[imdsopts.StatusApplied]
}

func runNaive(t *testing.T, f *fake.EC2, ids []string) (applied, failed int) {
	s := mustNew(t, imdsopts.RequireIMDSv2())
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

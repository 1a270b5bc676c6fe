package imdsopts_test

import (
	"context"
	"math/rand/v2"
	"os"
	"slices"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/imdsopts/imdsopts"
	"github.com/imdsopts/imdsopts/fake"
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
// ApplyFleet and, for comparison, the naive way (per instance Apply and Wait,
// 100 at a time, with the SDK waiters' 15 s to 120 s delays). It runs under
// synctest, so the figures are simulated time and counted calls; it prints
// them (go test -run TestFleetSimulation -v) and fails when ApplyFleet misses
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

// TestFleetSimulationAtScale runs ApplyFleet over 100,000 running
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
	plan, err := imdsopts.PlanFleet(t.Context(), f, imdsopts.Selection{}, testenv.MustNew(t, imdsopts.RequireIMDSv2()),
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

// pollSchedule is a waiting strategy: the delay before poll n (n = 1 is the
// first poll after the change was sent), drawing jitter from rnd.
type pollSchedule func(n int, rnd *rand.Rand) time.Duration

// sdkSchedule is the SDK's generated waiters' (smithy-go's ComputeDelay):
// an immediate first poll, then a delay drawn between MinDelay 15 s and
// min(MaxDelay 120 s, 15 s * 2^(n-2)).
func sdkSchedule(n int, rnd *rand.Rand) time.Duration {
	const lo, hi = 15 * time.Second, 120 * time.Second
	if n == 1 {
		return 0
	}
	top := min(hi, lo<<min(n-2, 8))
	if top == lo {
		return lo
	}
	return lo + time.Duration(rnd.Int64N(int64(top-lo)))
}

// terraformSchedule is the AWS provider's: 10 s before the first poll, then
// about 3 s, 6 s, then every 10 s, without jitter.
func terraformSchedule(n int, _ *rand.Rand) time.Duration {
	switch n {
	case 1:
		return 10 * time.Second
	case 2:
		return 3 * time.Second
	case 3:
		return 6 * time.Second
	}
	return 10 * time.Second
}

// waitRun is one simulated wait: how long after the change was sent it was
// seen applied, and the DescribeInstances calls it took.
type waitRun struct {
	detected time.Duration
	calls    int
}

// simulateWait changes one instance on a fake that applies after apply and
// waits with the package's Waiter (sched nil) or by polling on sched.
func simulateWait(t *testing.T, apply time.Duration, seed uint64, sched pollSchedule) waitRun {
	f := fake.New(func(o *fake.Options) { o.ApplyDelay = apply })
	id := testenv.Launch(t, f, "", nil)
	s := testenv.MustNew(t, imdsopts.RequireIMDSv2())
	rnd := rand.New(rand.NewPCG(seed, 0x5eed))
	start := time.Now()
	if sched == nil {
		w, err := imdsopts.Apply(t.Context(), f, id, s, imdsopts.WithJitter(rnd.Float64))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Wait(t.Context()); err != nil {
			t.Fatal(err)
		}
	} else {
		if _, err := f.ModifyInstanceMetadataOptions(t.Context(), s.ModifyInput(id)); err != nil {
			t.Fatal(err)
		}
		for n := 1; ; n++ {
			time.Sleep(sched(n, rnd))
			out, err := f.DescribeInstances(t.Context(), &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
			if err != nil {
				t.Fatal(err)
			}
			if out.Reservations[0].Instances[0].MetadataOptions.State == "applied" {
				break
			}
		}
	}
	return waitRun{time.Since(start), f.Calls("DescribeInstances")}
}

// TestWaiterSimulation is the single-instance waiter's benchmark: for
// changes EC2 applies after 5 s, 30 s and 5 minutes, 100 seeds each, it
// runs the package's Waiter, the SDK waiters' schedule and Terraform's on
// the fake under synctest, and prints the detection time as a ratio of the
// apply time and the DescribeInstances calls (min, median, max). It fails
// unless the Waiter sees every change by 1.5 x apply + MinDelay on every
// seed, with at most 12 calls for the 30 s apply.
func TestWaiterSimulation(t *testing.T) {
	const seeds = 100
	applies := []time.Duration{5 * time.Second, 30 * time.Second, 5 * time.Minute}
	schedules := []struct {
		name  string
		sched pollSchedule
	}{{"imdsopts", nil}, {"sdk 15-120s", sdkSchedule}, {"terraform", terraformSchedule}}
	t.Logf("%-12s %6s   %-24s %-16s %s", "schedule", "apply", "detected/apply min med max", "calls min med max", "over 1.5x+MinDelay")
	for _, apply := range applies {
		for _, sc := range schedules {
			var runs []waitRun
			synctest.Test(t, func(t *testing.T) {
				for seed := range uint64(seeds) {
					runs = append(runs, simulateWait(t, apply, seed, sc.sched))
				}
			})
			bound := apply*3/2 + imdsopts.DefaultMinDelay
			over := 0
			ratios := make([]float64, len(runs))
			calls := make([]int, len(runs))
			for i, r := range runs {
				ratios[i], calls[i] = float64(r.detected)/float64(apply), r.calls
				if r.detected > bound {
					over++
				}
			}
			slices.Sort(ratios)
			slices.Sort(calls)
			t.Logf("%-12s %6v   %6.3f %6.3f %6.3f    %4d %4d %4d    %d of %d",
				sc.name, apply, ratios[0], ratios[len(ratios)/2], ratios[len(ratios)-1],
				calls[0], calls[len(calls)/2], calls[len(calls)-1], over, len(runs))
			if sc.sched != nil {
				continue
			}
			if over > 0 {
				t.Errorf("apply %v: %d runs seen after 1.5 x apply + MinDelay = %v", apply, over, bound)
			}
			if apply == 30*time.Second && calls[len(calls)-1] > 12 {
				t.Errorf("apply 30s: up to %d DescribeInstances calls, want at most 12", calls[len(calls)-1])
			}
		}
	}
}

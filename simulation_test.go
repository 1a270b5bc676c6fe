package imdsopts_test

import (
	"math/rand/v2"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/imdsopts/imdsopts"
	"github.com/imdsopts/imdsopts/fake"
	"github.com/imdsopts/imdsopts/internal/testenv"
)

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

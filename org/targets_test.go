package org_test

import (
	"context"
	"encoding/json"
	"errors"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/google/go-cmp/cmp"

	"github.com/imdsopts/imdsopts"
	"github.com/imdsopts/imdsopts/account"
	"github.com/imdsopts/imdsopts/fake"
	"github.com/imdsopts/imdsopts/fleet"
	"github.com/imdsopts/imdsopts/internal/testenv"
	"github.com/imdsopts/imdsopts/org"
)

// noDataIsZero lets the IMDSv1 gate pass the fakes' instances, which have
// no CloudWatch history.
func noDataIsZero(o *fleet.Options) { o.TreatNoDataAsZero = true }

// gateOnNoData sets noDataIsZero for every target.
func gateOnNoData(o *org.Options) { o.Fleet = append(o.Fleet, noDataIsZero) }

// Plan and apply across targets: each target's plan lists only its own
// account/Region's instances, each change reaches only its own EC2, the
// results come by account then Region, and the progress counts every
// target and instance, one callback at a time.
func TestPlanApplyTargets(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newOrgWorld(t, []string{acctA, acctB}, nil)
		sizes := map[account.Target]int{
			{Account: acctB, Region: "eu-west-1"}:          2,
			{Account: acctA, Region: "us-east-1"}:          5,
			{Account: fake.AccountID, Region: "us-east-1"}: 4,
			{Account: acctA, Region: "eu-west-1"}:          3,
		}
		ids := map[account.Target][]string{}
		var given []account.Target
		total := 0
		for tg, n := range sizes {
			ids[tg] = w.launch(t, tg, n)
			given = append(given, tg)
			total += n
		}
		s := testenv.MustNew(t, imdsopts.RequireIMDSv2())
		plans, err := org.Plan(t.Context(), w.set(given...), fleet.Selection{}, s,
			func(o *org.Options) { o.Fleet = append(o.Fleet, noDataIsZero) })
		if err != nil {
			t.Fatal(err)
		}
		want := []account.Target{{Account: acctA, Region: "eu-west-1"}, {Account: acctA, Region: "us-east-1"},
			{Account: fake.AccountID, Region: "us-east-1"}, {Account: acctB, Region: "eu-west-1"}}
		slices.SortFunc(want, account.Target.Compare)
		var got []account.Target
		for _, p := range plans.Targets {
			got = append(got, p.Target)
			if p.Err != nil || p.Result.Account != p.Account || len(p.Result.Items) != sizes[p.Target] ||
				p.Result.Counts()[fleet.StatusChange] != sizes[p.Target] {
				t.Errorf("plan of %s: %d items of account %q, %v, %v; want %d to change", p.Target, len(p.Result.Items), p.Result.Account, p.Result.Counts(), p.Err, sizes[p.Target])
			}
		}
		if !cmp.Equal(got, want) {
			t.Errorf("plans of %v, want %v (by account, then Region)", got, want)
		}

		var inCallback atomic.Int32
		var last org.Progress
		itemsOf := map[account.Target]int{}
		var misrouted []string
		report, err := org.Apply(t.Context(), w.set(given...), plans, func(o *org.Options) {
			o.OnProgress = func(p org.Progress) {
				if inCallback.Add(1) != 1 {
					t.Error("OnProgress called from two goroutines at once")
				}
				defer inCallback.Add(-1)
				runtime.Gosched() // a slow observer: others would overlap now
				if p.Item != nil {
					itemsOf[p.Target]++
					if !slices.Contains(ids[p.Target], p.Item.InstanceID) {
						misrouted = append(misrouted, p.Item.InstanceID+" reported for "+p.Target.String())
					}
				}
				last = p
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range report.Targets {
			if r.Err != nil || r.Result.Counts()[fleet.StatusApplied] != sizes[r.Target] {
				t.Errorf("%s: %v, %v", r.Target, r.Result.Counts(), r.Err)
			}
			f := w.region(t, r.Target).EC2()
			if n := f.Calls("ModifyInstanceMetadataOptions"); n != sizes[r.Target] {
				t.Errorf("%s's EC2 got %d ModifyInstanceMetadataOptions calls, want its %d", r.Target, n, sizes[r.Target])
			}
			for _, id := range ids[r.Target] {
				if got := testenv.CurrentOptions(t, f, id).HttpTokens; got != types.HttpTokensStateRequired {
					t.Errorf("%s %s: HttpTokens %s", r.Target, id, got)
				}
			}
			if itemsOf[r.Target] != sizes[r.Target] {
				t.Errorf("progress heard of %d instances of %s, want %d", itemsOf[r.Target], r.Target, sizes[r.Target])
			}
		}
		if len(misrouted) > 0 {
			t.Errorf("instances reported for the wrong target: %v", misrouted)
		}
		if want := (org.Progress{Target: last.Target, Done: true, Targets: 4, TargetsDone: 4, Instances: total, InstancesDone: total}); !cmp.Equal(last, want) {
			t.Errorf("last progress %+v, want %+v", last, want)
		}
	})
}

// A target that fails (its clients cannot be made, its listing is
// refused) is reported with its error; it does not stop the others, and
// Apply reports it again without calling for it.
func TestTargetFailureDoesNotStopOthers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newOrgWorld(t, []string{acctA, acctB}, nil)
		noClients := account.Target{Account: acctA, Region: "eu-west-1"}
		denied := account.Target{Account: acctA, Region: "us-east-1"}
		fine := account.Target{Account: acctB, Region: "eu-west-1"}
		for _, tg := range []account.Target{noClients, denied, fine} {
			w.launch(t, tg, 3)
		}
		w.failFor[noClients] = errors.New("role cannot be assumed")
		w.region(t, denied).EC2().Deny("DescribeInstances")

		s := testenv.MustNew(t, imdsopts.RequireIMDSv2())
		plans, err := org.Plan(t.Context(), w.set(fine, denied, noClients), fleet.Selection{}, s,
			func(o *org.Options) { o.Fleet = append(o.Fleet, noDataIsZero) })
		if !errors.Is(err, org.ErrTargetFailed) || errors.Is(err, imdsopts.ErrInvalid) {
			t.Fatalf("Plan: %v, want ErrTargetFailed", err)
		}
		if !strings.Contains(err.Error(), "2 of 3 targets failed") {
			t.Errorf("error %q does not count the failed targets", err)
		}
		byTarget := map[account.Target]org.TargetResult[*fleet.Plan]{}
		for _, p := range plans.Targets {
			byTarget[p.Target] = p
		}
		if p := byTarget[noClients]; p.Result != nil || p.Err == nil || !strings.Contains(p.Err.Error(), "role cannot be assumed") {
			t.Errorf("%s: %+v", noClients, p)
		}
		if p := byTarget[denied]; p.Result != nil || !errors.Is(p.Err, imdsopts.ErrUnauthorized) && testenv.APICode(p.Err) != "UnauthorizedOperation" {
			t.Errorf("%s: %+v", denied, p)
		}
		if p := byTarget[fine]; p.Err != nil || p.Result.Counts()[fleet.StatusChange] != 3 {
			t.Errorf("%s: %+v", fine, p)
		}
		if got := len(plans.Failed()); got != 2 {
			t.Errorf("Failed() = %d results, want 2", got)
		}

		w.calledTargets()
		report, err := org.Apply(t.Context(), w.set(fine, denied, noClients), plans)
		if !errors.Is(err, org.ErrTargetFailed) {
			t.Fatalf("Apply: %v, want ErrTargetFailed", err)
		}
		if got := w.calledTargets(); !cmp.Equal(got, []account.Target{fine}) {
			t.Errorf("Apply asked for the clients of %v, want only %s: failed plans are not applied", got, fine)
		}
		for _, r := range report.Targets {
			switch r.Target {
			case fine:
				if r.Err != nil || r.Result.Counts()[fleet.StatusApplied] != 3 {
					t.Errorf("%s: %v, %v", fine, r.Result.Counts(), r.Err)
				}
			default:
				if r.Result != nil || r.Err == nil || !strings.Contains(r.Err.Error(), "not applied: the plan failed") {
					t.Errorf("%s: %+v", r.Target, r)
				}
			}
		}
	})
}

// Misuse and bad input are errors matching ErrInvalid before any call:
// no target's clients are asked for.
func TestTargetsMisuse(t *testing.T) {
	w := newOrgWorld(t, []string{acctA}, nil)
	good := account.Target{Account: acctA, Region: "eu-west-1"}
	s := testenv.MustNew(t, imdsopts.RequireIMDSv2())
	var nilCtx context.Context
	for _, tt := range []struct {
		name string
		ctx  context.Context
		ts   org.TargetSet
		sel  fleet.Selection
		s    imdsopts.Set
		opt  func(*org.Options)
		want string
	}{
		{"nil ctx", nilCtx, w.set(good), fleet.Selection{}, s, nil, "ctx nil"},
		{"no targets", t.Context(), w.set(), fleet.Selection{}, s, nil, "TargetSet.Targets []: must name at least one target"},
		{"no clients", t.Context(), org.TargetSet{Targets: []account.Target{good}}, fleet.Selection{}, s, nil, "TargetSet.Clients nil"},
		{"bad account", t.Context(), w.set(account.Target{Account: "1111", Region: "eu-west-1"}), fleet.Selection{}, s, nil,
			`TargetSet.Targets[0].Account "1111": must be an AWS account ID of 12 digits`},
		{"bad Region", t.Context(), w.set(account.Target{Account: acctA, Region: "eu-west"}), fleet.Selection{}, s, nil,
			`TargetSet.Targets[0].Region "eu-west": must be an AWS Region`},
		{"twice", t.Context(), w.set(good, good), fleet.Selection{}, s, nil, `TargetSet.Targets[1] "111111111111/eu-west-1": must not be named twice`},
		{"zero set", t.Context(), w.set(good), fleet.Selection{}, imdsopts.Set{}, nil, "Set"},
		{"bad instance ID", t.Context(), w.set(good), fleet.Selection{InstanceIDs: []string{"i-xyz"}}, s, nil, `InstanceId "i-xyz"`},
		{"concurrency", t.Context(), w.set(good), fleet.Selection{}, s, func(o *org.Options) { o.Concurrency = 0 },
			"Options.Concurrency 0: must be at least 1"},
		{"bad fleet options", t.Context(), w.set(good), fleet.Selection{}, s, func(o *org.Options) {
			o.Fleet = append(o.Fleet, func(o *fleet.Options) { o.MinDelay = -time.Second })
		}, "fleet.Options.MinDelay -1s: must not be negative"},
		{"bad posture options", t.Context(), w.set(good), fleet.Selection{}, s, func(o *org.Options) {
			o.Posture = append(o.Posture, func(o *account.PostureOptions) { o.Options.Concurrency = -1 })
		}, "PostureOptions.Concurrency -1"},
		{"unreached without error", t.Context(), org.TargetSet{Clients: w.clients, Unreached: []*org.TargetError{{Target: good}}},
			fleet.Selection{}, s, nil, "TargetSet.Unreached[0].Err nil"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var opts []func(*org.Options)
			if tt.opt != nil {
				opts = append(opts, tt.opt)
			}
			check := func(op string, res any, err error) {
				t.Helper()
				if !errors.Is(err, imdsopts.ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
					t.Errorf("%s: %v, want ErrInvalid with %q", op, err, tt.want)
				}
				if res != nil && !isNilPointer(res) {
					t.Errorf("%s: results %v with ErrInvalid", op, res)
				}
			}
			plans, err := org.Plan(tt.ctx, tt.ts, tt.sel, tt.s, opts...)
			check("Plan", plans, err)
			if tt.sel.InstanceIDs == nil && !tt.s.IsZero() {
				postures, err := org.Postures(tt.ctx, tt.ts, opts...)
				check("Postures", postures, err)
			}
			if got := w.calledTargets(); len(got) != 0 {
				t.Errorf("clients asked for %v before the error", got)
			}
		})
	}
	if _, err := org.Apply(t.Context(), w.set(good), nil); !errors.Is(err, imdsopts.ErrInvalid) {
		t.Errorf("Apply of a nil plan: %v", err)
	}
	if _, err := org.Resume(t.Context(), w.set(good), ""); !errors.Is(err, imdsopts.ErrInvalid) {
		t.Errorf("Resume without a directory: %v", err)
	}
	if got := w.calledTargets(); len(got) != 0 {
		t.Errorf("clients asked for %v", got)
	}
}

func isNilPointer(v any) bool {
	switch r := v.(type) {
	case *org.TargetResults[*fleet.Plan]:
		return r == nil
	case *org.TargetResults[*account.Posture]:
		return r == nil
	}
	return false
}

// Clients that are not the target's are refused: labelled with another
// target, without ModifyInstanceMetadataOptions, or reaching instances of
// another account.
func TestTargetClientsChecked(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newOrgWorld(t, []string{acctA, acctB}, nil)
		labelled := account.Target{Account: acctA, Region: "eu-west-1"}
		describeOnly := account.Target{Account: acctA, Region: "us-east-1"}
		otherAccount := account.Target{Account: acctB, Region: "eu-west-1"}
		bsInstances := account.Target{Account: acctA, Region: "ap-south-1"}
		w.launch(t, bsInstances, 2)
		clients := func(ctx context.Context, tg account.Target) (account.Clients, error) {
			switch tg {
			case labelled:
				c, err := w.clients(ctx, tg)
				c.Target.Region = "us-west-2"
				return c, err
			case describeOnly:
				c, err := w.clients(ctx, tg)
				c.EC2 = struct{ account.API }{c.EC2}
				return c, err
			}
			return w.clients(ctx, bsInstances) // account A's EC2 for B's target
		}
		plans, err := org.Plan(t.Context(), org.TargetSet{Targets: []account.Target{labelled, describeOnly, otherAccount},
			Clients: clients}, fleet.Selection{}, testenv.MustNew(t, imdsopts.HopLimit(3)))
		if !errors.Is(err, org.ErrTargetFailed) {
			t.Fatal(err)
		}
		for _, p := range plans.Targets {
			var want string
			switch p.Target {
			case labelled:
				want = `Clients "111111111111/us-west-2": must be the clients of the target 111111111111/eu-west-1`
			case describeOnly:
				want = "Clients.EC2 struct { account.API }: must also have ModifyInstanceMetadataOptions"
			case otherAccount:
				want = "the instances listed belong to account 111111111111, not to the target's 222222222222"
			}
			if p.Result != nil || p.Err == nil || !strings.Contains(p.Err.Error(), want) {
				t.Errorf("%s: %+v, want the error %q", p.Target, p, want)
			}
		}
	})
}

// Apply starts the targets with the most changes first, and works on
// no more than Concurrency targets at once.
func TestApplyTargetsOrderAndConcurrency(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newOrgWorld(t, []string{acctA, acctB, acctC}, nil)
		sizes := []int{3, 40, 1, 25, 9}
		all := targets([]string{acctA, acctB, acctC}, []string{"eu-west-1", "us-east-1"})[:len(sizes)]
		for i, tg := range all {
			w.launch(t, tg, sizes[i])
		}
		s := testenv.MustNew(t, imdsopts.RequireIMDSv2())
		plans, err := org.Plan(t.Context(), w.set(all...), fleet.Selection{}, s, gateOnNoData)
		if err != nil {
			t.Fatal(err)
		}
		w.calledTargets()
		if _, err := org.Apply(t.Context(), w.set(all...), plans, func(o *org.Options) { o.Concurrency = 1 }); err != nil {
			t.Fatal(err)
		}
		byLargest := []account.Target{all[1], all[3], all[4], all[0], all[2]}
		if got := w.calledTargets(); !cmp.Equal(got, byLargest) {
			t.Errorf("applied in the order %v, want the largest first: %v", got, byLargest)
		}

		// The same again, two at a time: count the targets under way.
		for i, tg := range all {
			w.launch(t, tg, sizes[i])
		}
		plans, err = org.Plan(t.Context(), w.set(all...), fleet.Selection{}, s, gateOnNoData)
		if err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		started, done, most := 0, 0, 0
		ts := w.set(all...)
		ts.Clients = func(ctx context.Context, tg account.Target) (account.Clients, error) {
			mu.Lock()
			started++
			most = max(most, started-done)
			mu.Unlock()
			return w.clients(ctx, tg)
		}
		if _, err := org.Apply(t.Context(), ts, plans, func(o *org.Options) {
			o.Concurrency = 2
			o.OnProgress = func(p org.Progress) {
				if p.Done {
					mu.Lock()
					done++
					mu.Unlock()
				}
			}
		}); err != nil {
			t.Fatal(err)
		}
		if most != 2 {
			t.Errorf("at most %d targets under way at once, want 2", most)
		}
	})
}

// Ctrl-C stops every target: the report keeps what each did, the targets
// not started fail with the context's error, and so does the whole.
func TestApplyTargetsInterrupted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newOrgWorld(t, []string{acctA}, func(o *fake.Options) { o.Throttle = true })
		all := targets([]string{acctA}, []string{"eu-west-1", "us-east-1", "us-west-2"})
		for _, tg := range all {
			w.launch(t, tg, 300) // 40 s each at EC2's refill of 5 a second
		}
		s := testenv.MustNew(t, imdsopts.RequireIMDSv2())
		plans, err := org.Plan(t.Context(), w.set(all...), fleet.Selection{}, s, gateOnNoData)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		time.AfterFunc(30*time.Second, cancel)
		report, err := org.Apply(ctx, w.set(all...), plans, func(o *org.Options) { o.Concurrency = 1 })
		if !errors.Is(err, context.Canceled) || !errors.Is(err, org.ErrTargetFailed) {
			t.Fatalf("Apply: %v, want context.Canceled and ErrTargetFailed", err)
		}
		first := report.Targets[0] // eu-west-1: all equal, so in order
		c := first.Result.Counts()
		if first.Result == nil || c[fleet.StatusApplied] == 0 || c[fleet.StatusNotAttempted] == 0 || !errors.Is(first.Err, context.Canceled) {
			t.Errorf("the target under way: %v, %v; want some applied, some not attempted, and the context's error", c, first.Err)
		}
		for _, r := range report.Targets[1:] {
			if r.Result != nil || !errors.Is(r.Err, context.Canceled) || !strings.Contains(r.Err.Error(), "not started") {
				t.Errorf("%s: %+v, want not started", r.Target, r)
			}
			if n := w.region(t, r.Target).EC2().Calls("ModifyInstanceMetadataOptions"); n != 0 {
				t.Errorf("%s: %d changes after Ctrl-C", r.Target, n)
			}
		}
	})
}

// Postures takes each target's posture with its own clients; a target
// that fails is reported with its error, and the others go on.
func TestGetPostures(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newOrgWorld(t, []string{acctA}, nil)
		ok := account.Target{Account: acctA, Region: "eu-west-1"}
		failing := account.Target{Account: acctA, Region: "us-east-1"}
		w.launch(t, ok, 4)
		w.failFor[failing] = errors.New("AccessDenied")
		var attempts atomic.Int32
		postures, err := org.Postures(t.Context(), w.set(ok, failing), func(o *org.Options) {
			o.Posture = append(o.Posture, func(o *account.PostureOptions) {
				o.Options.OnAttempt = func(imdsopts.Attempt) { attempts.Add(1) }
			})
		})
		if !errors.Is(err, org.ErrTargetFailed) {
			t.Fatal(err)
		}
		p := postures.Targets[0]
		if p.Target != ok || p.Err != nil || p.Result.Target.Account != acctA || p.Result.Target.Region != "eu-west-1" || p.Result.Instances.Total != 4 {
			t.Errorf("%s: %+v", ok, p)
		}
		if f := postures.Targets[1]; f.Target != failing || f.Result != nil || f.Err == nil {
			t.Errorf("%s: %+v", failing, f)
		}
		if attempts.Load() == 0 {
			t.Error("the Posture functions' OnAttempt heard of no call")
		}
		data, err := json.Marshal(postures.Targets[1])
		if err != nil || !strings.Contains(string(data), `"Account":"111111111111","Region":"us-east-1","Error":"imdsopts: the clients of 111111111111/us-east-1: AccessDenied"`) {
			t.Errorf("JSON of a failed target: %s, %v", data, err)
		}
	})
}

// A Rollout across targets: each target goes in its own waves, with its
// own bake; the account's enforcement is read from each target's clients;
// OnWave, set once for all of them, hears of every wave of every target,
// never from two goroutines at once.
func TestRolloutAcrossTargets(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newOrgWorld(t, []string{acctA, acctB}, nil)
		all := targets([]string{acctA, acctB}, []string{"eu-west-1", "us-east-1"})
		for _, tg := range all {
			w.launch(t, tg, 4)
		}
		waves := 0 // no lock: the race detector finds two OnWave at once
		rollout := fleet.NewRollout(func(r *fleet.Rollout) {
			r.Canary, r.Bake, r.CheckEvery = fleet.WaveSize{Count: 1}, time.Minute, 0
			r.OnWave = func(wr fleet.WaveReport) {
				if wr.Err != nil {
					t.Errorf("wave %d failed: %v", wr.Wave, wr.Err)
				}
				waves++
			}
		})
		opts := func(o *org.Options) {
			o.Fleet = append(o.Fleet, noDataIsZero, func(o *fleet.Options) { o.Rollout = rollout })
		}
		plans, err := org.Plan(t.Context(), w.set(all...), fleet.Selection{}, testenv.MustNew(t, imdsopts.RequireIMDSv2()), opts)
		if err != nil {
			t.Fatal(err)
		}
		report, err := org.Apply(t.Context(), w.set(all...), plans, opts)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range report.Targets {
			if n := len(r.Result.Waves); n != 4 || r.Result.Counts()[fleet.StatusApplied] != 4 { // waves of 1: at most 20% of 4
				t.Errorf("%s: %d waves, %v", r.Target, n, r.Result.Counts())
			}
			if n := w.region(t, r.Target).EC2().Calls("GetInstanceMetadataDefaults"); n == 0 {
				t.Errorf("%s: the plan did not read the account's enforcement", r.Target)
			}
		}
		if waves != 16 {
			t.Errorf("OnWave heard of %d waves, want 4 for each of 4 targets", waves)
		}
	})
}

// TestPanickingClientsFunc: a ClientsFunc that panics for a target fails
// that target, with the panic in its error, and the others go on. Before,
// the panic ended the process from the goroutine working on the target.
func TestPanickingClientsFunc(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newOrgWorld(t, []string{acctA, acctB}, nil)
		good := account.Target{Account: acctA, Region: "eu-west-1"}
		bad := account.Target{Account: acctB, Region: "eu-west-1"}
		w.launch(t, good, 2)
		clients := func(ctx context.Context, tg account.Target) (account.Clients, error) {
			if tg == bad {
				panic("a bug in the caller's code")
			}
			return w.clients(ctx, tg)
		}
		plans, err := org.Plan(t.Context(), org.TargetSet{Targets: []account.Target{good, bad}, Clients: clients},
			fleet.Selection{}, testenv.MustNew(t, imdsopts.HopLimit(3)))
		if !errors.Is(err, org.ErrTargetFailed) {
			t.Fatalf("PlanTargets: %v, want ErrTargetFailed", err)
		}
		for _, p := range plans.Targets {
			switch p.Target {
			case good:
				if p.Err != nil || len(p.Result.Items) != 2 {
					t.Errorf("%s: %v, %v; want a plan of its 2 instances", p.Target, p.Result.Counts(), p.Err)
				}
			case bad:
				if p.Result != nil || p.Err == nil || !strings.Contains(p.Err.Error(), "the ClientsFunc panicked: a bug in the caller's code") {
					t.Errorf("%s: %v, want the panic as its error", p.Target, p.Err)
				}
			}
		}
	})
}

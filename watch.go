package imdsopts

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// The watch of a rollout: through each wave's bake, the IMDSv1 calls that
// the instances changed so far rejected (MetadataNoTokenRejected) are read;
// one rejected call, or a reading that is not a measurement, fails the wave.
// A failed wave halts the rollout and rolls back what Rollout.Rollback says.

// bake waits out wave w's bake, reading the metric every CheckEvery and at
// the end. It returns the wave's report, whose Err says why it failed, and
// an error when ctx ended first.
func (f *fleetRun) bake(ctx context.Context, w int) (WaveReport, error) {
	wr := WaveReport{Wave: w + 1, Started: f.starts[w]}
	for _, i := range f.waves[w] {
		if st := f.report.Items[i].Status; st == StatusApplied || st == StatusPendingStart {
			wr.Instances++
		}
	}
	end := time.Now().Add(f.rollout.Bake)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		next := end
		if every := f.rollout.CheckEvery; every > 0 && time.Now().Add(every).Before(end) {
			next = time.Now().Add(every)
		}
		timer.Reset(time.Until(next))
		select {
		case <-timer.C:
		case <-ctx.Done():
			wr.Ended, wr.Err = time.Now(), context.Cause(ctx)
			return wr, wr.Err
		}
		rejected, unknown, n, err := f.watch(ctx, w, !next.Before(end))
		wr.Ended = time.Now()
		if err != nil {
			wr.Err = err
			return wr, err
		}
		wr.Watched, wr.Rejected = n, len(rejected)
		if len(rejected) > 0 || len(unknown) > 0 {
			wr.Err = f.failure(w, rejected, unknown)
			return wr, nil
		}
		if !next.Before(end) {
			return wr, nil
		}
	}
}

// watched reports whether the rollout watches item it: a change that made
// HttpTokens "required", reported applied.
func watched(it *FleetItem) bool {
	return it.Status == StatusApplied && it.Changes.tokens == types.HttpTokensStateRequired
}

// watch reads the rejected IMDSv1 calls of every watched instance of waves
// 0 to w, each since its wave began, and returns the items that rejected
// some, those whose calls could not be measured, and how many it read. It
// sets the items' RejectedCalls, and the Err of those not measured. Its
// error is the context's.
//
// Only the reading at the end of a bake (last) must find datapoints: one
// during the bake may come before CloudWatch has any, so there no
// datapoint is no verdict, while rejected calls and failed readings still
// fail the wave at once.
func (f *fleetRun) watch(ctx context.Context, w int, last bool) (rejected, unknown []int, n int, err error) {
	now := time.Now()
	for k := 0; k <= w; k++ {
		var idx []int
		var ids []string
		for _, i := range f.waves[k] {
			if it := &f.report.Items[i]; watched(it) {
				idx = append(idx, i)
				ids = append(ids, it.InstanceID)
			}
		}
		if len(ids) == 0 {
			continue
		}
		// Whether EC2 publishes a datapoint of zero for an instance that
		// made no IMDSv1 call is unverified: no datapoint is not a
		// measured zero, and halts the rollout unless TreatNoDataAsZero.
		got, err := f.p.measure(ctx, metricNoTokenRejected, ids, f.starts[k].Truncate(time.Minute), now, f.o.TreatNoDataAsZero || !last)
		if err != nil {
			return nil, nil, 0, err
		}
		n += len(ids)
		for q, i := range idx {
			it, m := &f.report.Items[i], got[q]
			switch {
			case m.unknown != "":
				it.RejectedCalls = nil
				it.Err = fmt.Errorf("imdsopts: %s: %w: its rejected IMDSv1 calls (MetadataNoTokenRejected) since %s: %s",
					it.InstanceID, ErrIMDSv1Unknown, f.starts[k].UTC().Format(time.RFC3339), m.unknown)
				if m.cause != nil {
					it.Err = fmt.Errorf("%w: %w", it.Err, m.cause)
				}
				unknown = append(unknown, i)
			default:
				it.RejectedCalls = &m.sum
				if m.sum > 0 {
					rejected = append(rejected, i)
				}
			}
		}
	}
	return rejected, unknown, n, nil
}

// failure is why wave w failed, matching ErrRolloutHalted, and
// ErrIMDSv1Unknown when a reading failed.
func (f *fleetRun) failure(w int, rejected, unknown []int) error {
	var parts []string
	ids := func(idx []int) string {
		var s []string
		for _, i := range idx[:min(len(idx), 5)] {
			s = append(s, f.report.Items[i].InstanceID)
		}
		if len(idx) > 5 {
			s = append(s, "...")
		}
		return strings.Join(s, ", ")
	}
	if len(rejected) > 0 {
		parts = append(parts, fmt.Sprintf("%d instance(s) rejected IMDSv1 calls (%s)", len(rejected), ids(rejected)))
	}
	where := fmt.Sprintf("wave %d of %d", w+1, len(f.waves))
	if len(unknown) == 0 {
		return fmt.Errorf("imdsopts: %w at %s: %s", ErrRolloutHalted, where, strings.Join(parts, "; "))
	}
	parts = append(parts, fmt.Sprintf("the rejected IMDSv1 calls of %d instance(s) could not be measured (%s), the first's",
		len(unknown), ids(unknown)))
	// The first's error matches ErrIMDSv1Unknown.
	return fmt.Errorf("imdsopts: %w at %s: %s: %w", ErrRolloutHalted, where, strings.Join(parts, "; "), f.report.Items[unknown[0]].Err)
}

// halt stops the rollout after wave w failed with failure: it journals the
// halt, rolls back, and reports the instances of later waves not
// attempted. It returns failure.
func (f *fleetRun) halt(ctx context.Context, w int, failure error) error {
	// The halt is recorded before any rollback, so that a run that dies
	// while rolling back is not resumed. If it cannot be, the rollback
	// cannot be journaled either, and does not happen.
	_ = f.journal.write(journalRecord{Record: recHalt, Wave: w + 1, Reason: failure.Error()})
	f.rollback(ctx, w)
	f.stop(w+1, failure)
	return failure
}

// rollback restores, after wave w failed, the instances Rollout.Rollback
// says: each to the five options it had before the run, as one more change
// of the run (paced, journaled, waited for).
func (f *fleetRun) rollback(ctx context.Context, w int) {
	items := f.report.Items
	why := map[int]error{}
	for k := 0; k <= w; k++ {
		for _, i := range f.waves[k] {
			if it := &items[i]; it.Status == StatusApplied && it.RejectedCalls != nil && *it.RejectedCalls > 0 {
				why[i] = fmt.Errorf("imdsopts: %s: %v IMDSv1 calls rejected since its wave began: %w", it.InstanceID, *it.RejectedCalls, ErrIMDSv1Rejected)
			}
		}
	}
	if f.rollout.Rollback == RollbackWave {
		for _, i := range f.waves[w] {
			if it := &items[i]; why[i] == nil && (it.Status == StatusApplied || it.Status == StatusPendingStart) {
				why[i] = fmt.Errorf("imdsopts: %s: rolled back with wave %d: %w", it.InstanceID, w+1, ErrRolloutHalted)
			}
		}
	}
	targets := slices.Sorted(maps.Keys(why))
	var tmp []FleetItem
	var back []int // the report's index of each of tmp
	for _, i := range targets {
		it, prev := &items[i], optionsOf(f.before[i])
		switch missing := prev.missing(); {
		case f.rollout.Rollback == RollbackNone:
			f.a.finish(i, StatusNeedsPerson, fmt.Errorf("%w; not rolled back (RollbackNone)", why[i]))
		case len(missing) > 0:
			f.a.finish(i, StatusNeedsPerson, fmt.Errorf("%w; it cannot be rolled back: its options before lack %s", why[i], strings.Join(missing, ", ")))
		case f.irreversible[it.InstanceID] && prev.HttpTokens == types.HttpTokensStateOptional:
			f.a.finish(i, StatusNeedsPerson, fmt.Errorf("%w; it cannot be rolled back: %w, and EC2 refuses to make HttpTokens \"optional\" again",
				why[i], ErrIMDSv2Enforced))
		default:
			st := StatusChange
			if it.InstanceState == types.InstanceStateNameStopped || it.InstanceState == types.InstanceStateNameStopping {
				st = StatusPendingStart
			}
			tmp = append(tmp, FleetItem{InstanceID: it.InstanceID, InstanceState: it.InstanceState, Options: it.Options,
				Changes: prev.set().Changes(it.Options), Wave: it.Wave, Status: st})
			back = append(back, i)
		}
	}
	if len(tmp) == 0 {
		return
	}
	// Only CloudWatch was called since the wave's changes were made: its
	// failures must not keep the broken instances from being put right.
	f.p.reset()
	restored, _ := f.restore(ctx, tmp, kindRollback)
	for k, i := range back {
		r := restored[k]
		if r.Status == StatusRolledBack {
			items[i].Options, items[i].InstanceState = r.Options, r.InstanceState
			f.a.finish(i, StatusRolledBack, why[i])
			continue
		}
		f.a.finish(i, StatusNeedsPerson, fmt.Errorf("%w; its rollback failed: %w", why[i], r.Err))
	}
}

// restore carries out tmp, changes back to options an instance had before:
// allowed though they weaken it, journaled as kind, paced and waited for by
// the run's pacer. An item EC2 reports restored (or that already was, or a
// stopped one that will be on start) ends StatusRolledBack, one that EC2
// refuses for the account's enforcement of IMDSv2 StatusNeedsPerson; any
// other keeps the status the applier gave it. The error is why the
// restores stopped early, as the applier's.
func (f *fleetRun) restore(ctx context.Context, tmp []FleetItem, kind string) ([]FleetItem, error) {
	o := *f.o
	o.AllowDowngrade, o.OnProgress = true, nil
	a := newApplier(f.p, &o, tmp)
	a.journal, a.kind = f.journal, kind
	idx := make([]int, len(tmp))
	for k := range idx {
		idx[k] = k
	}
	cause := a.run(ctx, idx)
	for k := range tmp {
		switch it := &tmp[k]; {
		case it.Status == StatusApplied, it.Status == StatusSatisfied, it.Status == StatusPendingStart:
			it.Status = StatusRolledBack
		case it.Status == StatusFailed && errors.Is(it.Err, ErrIMDSv2Enforced):
			it.Status = StatusNeedsPerson
		}
	}
	return tmp, cause
}

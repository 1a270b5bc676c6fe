package fleet

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imdsopts/imdsopts"
	"github.com/imdsopts/imdsopts/internal/cwmetric"
)

// The watch of a rollout: through each wave's bake, the IMDSv1 calls that
// the instances changed so far rejected (MetadataNoTokenRejected) are read;
// one rejected call, or a reading that is not a measurement, fails the wave.
// A failed wave halts the rollout and rolls back what Rollout.Rollback says.
//
// A wave passes only when every change it sent that makes HttpTokens
// "required" was measured through its bake: EC2 reported the change
// applied, and CloudWatch has the instance's data, without a gap, from the
// period in which the wave began to the end of the bake (its CPUUtilization
// shows it, as its MetadataNoTokenRejected has no datapoint while it
// refuses nothing). CloudWatch publishes a period's data some minutes after
// it ends, so the watch may go on after the bake ends, up to
// Rollout.MaxDataDelay; an instance whose data still does not reach the end
// of the bake then is unknown, and fails the wave.

// bake waits out wave w's bake, reading the metric every CheckEvery and at
// the end, and then until every watched change is measured to the end of
// the bake (at most MaxDataDelay more). It returns the wave's report, whose
// Err says why it failed, and an error when ctx ended first.
func (f *fleetRun) bake(ctx context.Context, w int) (WaveReport, error) {
	wr := WaveReport{Wave: w + 1, Started: f.starts[w]}
	for _, i := range f.waves[w] {
		if st := f.report.Items[i].Status; st == StatusApplied || st == StatusPendingStart || st == StatusUnconfirmed {
			wr.Instances++
		}
	}
	end := time.Now().Add(f.rollout.Bake)
	deadline := end.Add(f.rollout.MaxDataDelay)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		now := time.Now()
		var next time.Time
		switch every := f.rollout.CheckEvery; {
		case now.Before(end):
			next = end
			if every > 0 && now.Add(every).Before(end) {
				next = now.Add(every)
			}
		default: // the bake is over: the data of its end is awaited
			if next = now.Add(max(every, time.Minute)); next.After(deadline) {
				next = deadline
			}
		}
		timer.Reset(time.Until(next))
		select {
		case <-timer.C:
		case <-ctx.Done():
			wr.Ended, wr.Err = time.Now(), context.Cause(ctx)
			return wr, wr.Err
		}
		ended := !time.Now().Before(end)
		final := !time.Now().Before(deadline)
		r, err := f.watch(ctx, w, end, ended, final)
		wr.Ended = time.Now()
		if err != nil {
			wr.Err = err
			return wr, err
		}
		wr.Watched, wr.Rejected = r.watched, len(r.rejected)
		switch {
		case len(r.rejected) > 0 || len(r.unknown) > 0:
			wr.Err = f.failure(w, r.rejected, r.unknown)
			return wr, nil
		case ended && len(r.waiting) == 0:
			return wr, nil
		}
	}
}

// watched reports whether the rollout watches item it: a change that makes
// HttpTokens "required", sent to a running instance (EC2 reported it
// applied, or accepted it and has not reported it applied yet).
func watched(it *Item) bool {
	return (it.Status == StatusApplied || it.Status == StatusUnconfirmed) && it.Changes.HTTPTokens() == types.HttpTokensStateRequired
}

// reading is what one reading of the watch found: the items that rejected
// calls, those that cannot be measured, those whose data does not reach
// the end of the bake yet, and how many it watched.
type reading struct {
	rejected, unknown, waiting []int
	watched                    int
}

// watch reads the rejected IMDSv1 calls of every watched instance of waves
// 0 to w, each since its wave began. It sets the items' RejectedCalls, and
// the Err of those not measured. An instance of wave w whose data does not
// reach end, the end of its bake, is waiting; once the bake ended (ended),
// so is one whose change EC2 has not reported applied, and after the last
// reading (final) each waiting one is unknown, unless
// Rollout.TreatNoDataAsZero. Its error is the context's.
func (f *fleetRun) watch(ctx context.Context, w int, end time.Time, ended, final bool) (reading, error) {
	now := time.Now()
	var r reading
	for k := 0; k <= w; k++ {
		// The instances of earlier waves were measured through their own
		// bakes: only their rejected calls are read again.
		per := 2
		if k != w {
			per = 1
		}
		var idx []int
		var qs []cwmetric.Query
		for _, i := range f.waves[k] {
			if it := &f.report.Items[i]; watched(it) {
				idx = append(idx, i)
				qs = append(qs, cwmetric.Query{Instance: it.InstanceID, Metric: cwmetric.NoTokenRejected, Stat: "Sum"})
				if per == 2 {
					qs = append(qs, cwmetric.Query{Instance: it.InstanceID, Metric: cwmetric.CPU, Stat: "SampleCount"})
				}
			}
		}
		if len(idx) == 0 {
			continue
		}
		from := f.starts[k]
		// From before the start, so that the period that holds it is read:
		// under basic monitoring it may begin up to 5 minutes earlier.
		got, err := f.p.metrics().Read(ctx, qs, from.Truncate(time.Minute).Add(-5*time.Minute), now, 60)
		if err != nil {
			return reading{}, err
		}
		r.watched += len(idx)
		since := from.UTC().Format(time.RFC3339)
		for q, i := range idx {
			it := &f.report.Items[i]
			cpu := &cwmetric.Series{}
			if per == 2 {
				cpu = got[2*q+1]
			}
			m := cwmetric.RejectedSince(got[per*q], cpu, from, max(it.metricPeriod, time.Minute))
			unknown := func(why string, cause error) {
				it.RejectedCalls = nil
				it.Err = fmt.Errorf("imdsopts: %s: %w: its rejected IMDSv1 calls (MetadataNoTokenRejected) since %s: %s", it.InstanceID, ErrIMDSv1Unknown, since, why)
				if cause != nil {
					it.Err = fmt.Errorf("%w: %w", it.Err, cause)
				}
				r.unknown = append(r.unknown, i)
			}
			switch {
			case m.Unknown != "":
				unknown(m.Unknown, m.Cause)
				continue
			case m.Sum > 0:
				it.RejectedCalls = &m.Sum
				r.rejected = append(r.rejected, i)
				continue
			}
			it.RejectedCalls = &m.Sum
			var why string
			switch {
			case k != w:
				// Measured through its own bake; read again for rejections.
			case ended && it.Status == StatusUnconfirmed:
				// Nothing more will be learnt by waiting: the changes are
				// no longer polled.
				it.RejectedCalls = nil
				unknown("EC2 accepted its change but has not reported it applied, so it was not watched through the bake", it.Err)
				continue
			case m.Covered.Before(end):
				reach := "none since the wave began"
				if !m.Covered.IsZero() {
					reach = "through " + m.Covered.UTC().Format(time.RFC3339) + " only"
				}
				why = fmt.Sprintf("CloudWatch has its data (CPUUtilization or MetadataNoTokenRejected datapoints) %s, not through the end of the bake at %s "+
					"(CloudWatch publishes them minutes late; Rollout.MaxDataDelay bounds the wait)", reach, end.UTC().Format(time.RFC3339))
			}
			switch {
			case why == "":
			case !final:
				r.waiting = append(r.waiting, i)
			case f.rollout.TreatNoDataAsZero:
			default:
				it.RejectedCalls = nil
				unknown(why, nil)
			}
		}
	}
	return r, nil
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
			switch it := &items[i]; {
			case it.Status == StatusApplied && it.RejectedCalls != nil && *it.RejectedCalls > 0:
				why[i] = fmt.Errorf("imdsopts: %s: %v IMDSv1 calls rejected since its wave began: %w", it.InstanceID, *it.RejectedCalls, ErrIMDSv1Rejected)
			case it.Status == StatusUnconfirmed:
				// Not watched, and EC2 may apply it any time: whatever the
				// scope, it goes back.
				why[i] = fmt.Errorf("rolled back: its change was never seen applied, so the rollout could not watch it: %w", it.Err)
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
	var tmp []Item
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
				why[i], imdsopts.ErrIMDSv2Enforced))
		default:
			st := StatusChange
			if it.InstanceState == types.InstanceStateNameStopped || it.InstanceState == types.InstanceStateNameStopping {
				st = StatusPendingStart
			}
			tmp = append(tmp, Item{InstanceID: it.InstanceID, InstanceState: it.InstanceState, Options: it.Options,
				Changes: prev.set().Changes(it.Options), Wave: it.Wave, Status: st})
			back = append(back, i)
		}
	}
	if len(tmp) == 0 {
		return
	}
	// Only CloudWatch was called since the wave's changes were made: its
	// failures must not keep the broken instances from being put right.
	f.p.Reset()
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
func (f *fleetRun) restore(ctx context.Context, tmp []Item, kind string) ([]Item, error) {
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
		case it.Status == StatusFailed && errors.Is(it.Err, imdsopts.ErrIMDSv2Enforced):
			it.Status = StatusNeedsPerson
		}
	}
	return tmp, cause
}

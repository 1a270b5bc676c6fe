package fleet

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imdsopts/imdsopts"
	"github.com/imdsopts/imdsopts/internal/check"
	"github.com/imdsopts/imdsopts/internal/liberr"
)

// Resuming and undoing a run from its journal. Both look at every instance
// the journal names before they change anything, and decide from what EC2
// reports now and what the journal recorded, so that no instance is
// changed twice and none is restored over a change someone else made.

// journalRunOptions checks the arguments shared by Resume and Undo
// and returns the options to run with.
// The journal's Region is the options' before the caller's functions run.
func journalRunOptions(ctx context.Context, api imdsopts.API, j *Journal, optFns []func(*Options)) (Options, error) {
	base := defaultFleetOptions()
	made := j != nil && j.made
	if made {
		base.Region = j.Region
	}
	o, err := fleetOptions(base, optFns)
	errs := []error{err, liberr.Client("api", api)}
	if ctx == nil {
		errs = append(errs, liberr.Misuse("ctx", "nil", "must be a context.Context"))
	}
	switch {
	case !made:
		errs = append(errs, liberr.Misuse("journal", "nil", "must be a journal read by ReadJournal"))
	case o.Region != j.Region:
		errs = append(errs, &imdsopts.ValidationError{Field: "fleet.Options.Region", Value: check.Quote(o.Region),
			Rule: "must be the journal's Region, " + check.Quote(j.Region)})
	}
	return o, errors.Join(errs...)
}

// listJournaled lists the instances ids by ID and returns their items, in
// the order of ids (those EC2 does not return have final statuses), with an
// error when they belong to another account than j's.
func listJournaled(ctx context.Context, p *pacer, j *Journal, ids []string) ([]Item, error) {
	found, others, account, err := p.list(ctx, Selection{InstanceIDs: ids})
	if err != nil {
		return nil, err
	}
	if account != "" && account != j.Account {
		return nil, fmt.Errorf("imdsopts: the journal was written in account %s, but its instances belong to account %s: %w",
			j.Account, account, ErrBadJournal)
	}
	byID := map[string]Item{}
	for _, it := range append(found, others...) {
		byID[it.InstanceID] = it
	}
	items := make([]Item, 0, len(ids))
	for _, id := range ids {
		items = append(items, byID[id])
	}
	return items, nil
}

// Resume finishes the run of [Apply] that journal j records,
// after it was interrupted (the process died, the context ended, a journal
// record failed), without changing any instance twice. It goes on with the
// journal's Set and plan: the same instances in the same waves, with the
// same bake, checks and rollback (of Options.Rollout only OnWave is
// used); the rest of its options come from optFns, as for Apply, and
// the IMDSv1 gate and the refusal of downgrades apply again to the
// instances it still has to change.
//
// It first lists every instance of the plan. An instance whose call EC2
// refused is reported failed, as the journal says, and not tried again. An
// instance whose change EC2 accepted, or whose call was made without its
// outcome being recorded, may have been changed: when EC2 reports it with
// the values of the change, it is not sent again, only waited for; when
// not, a change that was accepted is reported failed (something changed
// it since), and one that may not have been made is made. Every other
// instance is changed as Apply would. A wave that passed its bake is
// not baked again; the wave that was under way is finished and baked, its
// rejected IMDSv1 calls counted from when it first began.
//
// Pass a Options.Journal to go on journaling: append to the same
// journal (Resume starts a new line when it ended in the middle of
// one), so that one journal records the whole run; Options.Region is
// the journal's (another is an error matching ErrInvalid). A journal whose
// rollout halted is not resumed (an error matching ErrRolloutHalted: plan again),
// nor one that was undone or holds no plan of Apply (ErrBadJournal);
// neither is one whose instances EC2 says belong to another account. With
// Options.Enforcement, a resume whose instances left to change the
// account's enforcement of IMDSv2 would make one-way is refused before any
// change (ErrIrreversible) unless Options.AcceptIrreversible. The report
// has one final status per instance of the plan; its errors are Apply's.
func Resume(ctx context.Context, api imdsopts.API, j *Journal, optFns ...func(*Options)) (*Report, error) {
	o, err := journalRunOptions(ctx, api, j, optFns)
	if err != nil {
		return nil, err
	}
	switch {
	case j.plan == nil:
		return nil, fmt.Errorf("imdsopts: the journal holds no plan of Apply: %w", ErrBadJournal)
	case j.undone:
		return nil, fmt.Errorf("imdsopts: the journal's run was undone, so it is not resumed: %w", ErrBadJournal)
	case j.halt != "":
		return nil, fmt.Errorf("imdsopts: the journal's rollout halted, so it is not resumed (plan again to go on): %s: %w", j.halt, ErrRolloutHalted)
	}
	var onWave func(WaveReport)
	if o.Rollout != nil {
		onWave = o.Rollout.OnWave
	}
	o.Rollout = nil
	if r := j.plan.Rollout; r != nil {
		o.Rollout, _ = r.rollout() // checked when read
		o.Rollout.OnWave = onWave
	}
	if err := o.needsMetrics(j.Set); err != nil {
		return nil, err
	}
	p := newPacer(api, &o)
	var ids []string
	for _, wave := range j.planned() {
		ids = append(ids, wave...)
	}
	var items []Item
	if len(ids) > 0 { // no ID would list every instance
		if items, err = listJournaled(ctx, p, j, ids); err != nil {
			return nil, err
		}
	}
	if err := p.containers(ctx, items, j.Set); err != nil {
		return nil, err
	}
	sent := map[int]bool{}
	var gated []int
	for i := range items {
		it := &items[i]
		if it.Status != statusListed {
			continue // not returned, or terminated: final already
		}
		planItem(it, j.Set, &o)
		in := j.instances[it.InstanceID]
		switch {
		case in == nil || !in.applied || in.result == resultNotSent:
			// Never sent: changed like any.
		case in.result == resultFailed:
			it.Status = StatusFailed
			it.Err = fmt.Errorf("imdsopts: %s: refused in the run resumed, not tried again: %s", it.InstanceID, in.err)
			continue
		case in.change.SatisfiedBy(it.Options):
			// Changed already, perhaps not applied yet: waited for.
			it.Changes, it.Err, it.Status = in.change, nil, StatusChange
			if it.InstanceState == types.InstanceStateNameStopped || it.InstanceState == types.InstanceStateNameStopping {
				it.Status = StatusPendingStart
			}
			sent[i] = true
			continue
		case in.result == resultAccepted:
			it.Status = StatusFailed
			it.Err = fmt.Errorf("imdsopts: %s: changed in the run resumed, but its options differ since: %s", it.InstanceID, in.change.Changes(it.Options))
			continue
		}
		if o.needsGate(j.Set) && it.Changes.HTTPTokens() == types.HttpTokensStateRequired &&
			(it.Status == StatusChange || it.Status == StatusPendingStart) {
			gated = append(gated, i)
		}
	}
	if len(gated) > 0 {
		if err := p.gate(ctx, items, gated); err != nil {
			return nil, err
		}
	}
	var irreversible []string
	if o.Enforcement != nil {
		if irreversible, err = p.irreversible(ctx, items); err != nil {
			return nil, err
		}
	}
	if len(irreversible) > 0 && !o.AcceptIrreversible {
		return nil, notAccepted(len(irreversible))
	}
	// The journal's waves, of the instances that still need a call or a
	// wait.
	index := map[string]int{}
	for i, it := range items {
		if it.Status == StatusChange || it.Status == StatusPendingStart {
			index[it.InstanceID] = i
		}
	}
	waves := make([][]int, len(j.planned()))
	for w, wave := range j.planned() {
		for _, id := range wave {
			if i, ok := index[id]; ok {
				waves[w] = append(waves[w], i)
			}
		}
	}
	r := &Report{Items: items}
	run := newFleetRun(p, &o, r, waves, irreversible)
	run.a.sent = sent
	for i, it := range items {
		if in := j.instances[it.InstanceID]; in != nil {
			run.before[i] = in.before.response()
		}
	}
	for w := range waves {
		run.starts[w] = j.starts[w+1]
		run.passed[w] = j.passed[w+1]
	}
	if run.journal != nil {
		run.journal.newline = j.openEnd
	}
	set := setOptions(j.Set)
	err = run.execute(ctx, journalRecord{Record: recHeader, Version: journalVersion, Run: runResume, Account: &j.Account, Region: j.Region, Set: &set})
	r.Calls, r.Throttled, r.Elapsed = p.Counts(), p.Throttled(), p.Elapsed()
	return r, err
}

// Undo restores every instance that the runs journal j records may
// have changed to exactly the five options it had before the first of
// them, as a fleet operation of its own: paced, journaled when
// Options.Journal is set (Options.Region is the journal's),
// waited for, and reported. The restores are made whatever
// Options.AllowDowngrade says (an undo is a downgrade by definition);
// Rollout is not used.
//
// It first lists the instances. One that already has its options before
// is StatusSatisfied, and is not called for. One that has the options the
// journal set (or was about to set) is restored, sending only the fields
// that differ: StatusRolledBack once EC2 reports them applied (or, for a
// stopped instance, accepted). One that has options the journal does not
// explain was changed since by someone else, and is left to a person
// (StatusNeedsPerson, ErrChangedSince); so is one whose restore needs
// HttpTokens "optional" again while the account enforces IMDSv2
// (ErrIMDSv2Enforced), which EC2 refuses: Options.Enforcement, when
// set, tells before any call. Instances EC2 no longer returns are
// StatusFailed. Undo can be run again: what is restored stays so.
// Instances that EC2 says belong to another account than the journal's are
// an error (ErrBadJournal), before any change; the other errors are
// Apply's.
func Undo(ctx context.Context, api imdsopts.API, j *Journal, optFns ...func(*Options)) (*Report, error) {
	o, err := journalRunOptions(ctx, api, j, optFns)
	if err != nil {
		return nil, err
	}
	o.Rollout = nil
	p := newPacer(api, &o)
	// The report's order: the plan's, then the order of first intents.
	var ids []string
	listed := map[string]bool{}
	for _, wave := range j.planned() {
		for _, id := range wave {
			if j.instances[id] != nil {
				ids = append(ids, id)
				listed[id] = true
			}
		}
	}
	for _, id := range j.order {
		if !listed[id] {
			ids = append(ids, id)
		}
	}
	r := &Report{}
	if len(ids) > 0 {
		if r.Items, err = listJournaled(ctx, p, j, ids); err != nil {
			return nil, err
		}
	}
	var restoring []int
	for i := range r.Items {
		it := &r.Items[i]
		if it.Status != statusListed {
			continue // not returned, or terminated: final already
		}
		in := j.instances[it.InstanceID]
		cur := optionsOf(it.Options)
		switch {
		case cur == in.before:
			it.Status = StatusSatisfied
		case slices.Contains(in.states, cur):
			it.Changes = in.before.set().Changes(it.Options)
			it.Status = StatusChange
			if it.InstanceState == types.InstanceStateNameStopped || it.InstanceState == types.InstanceStateNameStopping {
				it.Status = StatusPendingStart
			}
			restoring = append(restoring, i)
		default:
			it.Status = StatusNeedsPerson
			it.Err = fmt.Errorf("imdsopts: %s: %w: it has %s; before the run it had %s", it.InstanceID, ErrChangedSince,
				cur.set(), in.before.set())
		}
	}
	if o.Enforcement != nil && slices.ContainsFunc(restoring, func(i int) bool {
		return r.Items[i].Changes.HTTPTokens() == types.HttpTokensStateOptional
	}) {
		on, err := p.enforced(ctx)
		if err != nil {
			return nil, err
		}
		if on {
			restoring = slices.DeleteFunc(restoring, func(i int) bool {
				it := &r.Items[i]
				if it.Changes.HTTPTokens() != types.HttpTokensStateOptional {
					return false
				}
				it.Status = StatusNeedsPerson
				it.Err = fmt.Errorf("imdsopts: %s: cannot be restored to %s: %w, and EC2 refuses to make HttpTokens \"optional\" again",
					it.InstanceID, j.instances[it.InstanceID].before.set(), imdsopts.ErrIMDSv2Enforced)
				return true
			})
		}
	}
	run := newFleetRun(p, &o, r, nil, nil)
	if run.journal != nil {
		run.journal.newline = j.openEnd
	}
	for i, it := range r.Items {
		if !slices.Contains(restoring, i) {
			run.a.finish(i, it.Status, it.Err)
		}
	}
	err = run.journal.write(journalRecord{Record: recHeader, Version: journalVersion, Run: runUndo, Account: &j.Account, Region: j.Region})
	tmp := make([]Item, len(restoring))
	for k, i := range restoring {
		tmp[k] = r.Items[i]
	}
	if err == nil && len(tmp) > 0 {
		tmp, err = run.restore(ctx, tmp, runUndo)
	}
	for k, i := range restoring {
		switch {
		case err != nil && tmp[k].Status == StatusChange, err != nil && tmp[k].Status == StatusPendingStart:
			run.a.finish(i, StatusNotAttempted, fmt.Errorf("imdsopts: %s: not attempted: %w", tmp[k].InstanceID, err))
		default:
			r.Items[i] = tmp[k]
			run.a.finish(i, tmp[k].Status, tmp[k].Err)
		}
	}
	r.Calls, r.Throttled, r.Elapsed = p.Counts(), p.Throttled(), p.Elapsed()
	if err != nil {
		return r, fmt.Errorf("imdsopts: undo stopped: %w", err)
	}
	return r, nil
}

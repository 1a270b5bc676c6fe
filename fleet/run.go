package fleet

import (
	"cmp"
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// fleetRun carries out the changes of a fleet operation (Apply's plan,
// what Resume has left of one, Undo's restores): all at once, or
// in the waves of a rollout, each baked and watched, halting and rolling
// back when one fails; journaled when asked.
type fleetRun struct {
	p       *pacer
	o       *Options
	report  *Report
	a       *applier
	journal *journalWriter
	rollout *Rollout // nil: one wave, no bake
	waves   [][]int  // indices of report.Items
	// before are each item's options before the run, as listed (the
	// applier replaces an item's Options, never changes them): what a
	// rollback restores.
	before []*types.InstanceMetadataOptionsResponse
	// irreversible are the instances EC2 would not let be rolled back.
	irreversible map[string]bool
	// starts are when each wave began (zero until it does); passed marks
	// the waves whose bake passed in an earlier run.
	starts []time.Time
	passed []bool
}

// planWaves returns the indices of the items to change (StatusChange or
// StatusPendingStart), wave by wave: the waves of o's Rollout, or one wave
// of them all. An error is a plan the rollout cannot be made of.
func planWaves(o *Options, items []Item) ([][]int, error) {
	if o.Rollout != nil {
		return o.Rollout.waves(items)
	}
	var all []int
	for i, it := range items {
		if it.Status == StatusChange || it.Status == StatusPendingStart {
			all = append(all, i)
		}
	}
	if len(all) == 0 {
		return nil, nil
	}
	return [][]int{all}, nil
}

// newFleetRun prepares the run of r's items with o, in waves (indices of
// r.Items), numbering each item's wave when o has a Rollout.
func newFleetRun(p *pacer, o *Options, r *Report, waves [][]int, irreversible []string) *fleetRun {
	f := &fleetRun{p: p, o: o, report: r, rollout: o.Rollout, journal: newJournalWriter(o.Journal),
		irreversible: map[string]bool{}}
	f.a = newApplier(p, o, r.Items)
	f.a.journal = f.journal
	f.setWaves(waves)
	f.before = make([]*types.InstanceMetadataOptionsResponse, len(r.Items))
	for i, it := range r.Items {
		f.before[i] = it.Options
	}
	for _, id := range irreversible {
		f.irreversible[id] = true
	}
	return f
}

// setWaves makes waves the run's, numbering the items of a rollout.
func (f *fleetRun) setWaves(waves [][]int) {
	f.waves = waves
	f.starts = make([]time.Time, len(waves))
	f.passed = make([]bool, len(waves))
	if f.rollout == nil {
		return
	}
	for w, idx := range waves {
		for _, i := range idx {
			f.report.Items[i].Wave = w + 1
		}
	}
}

// execute writes header to the journal, then carries out the waves, and
// gives every item its final status. Its error is why the run stopped
// early: the context's, ErrTooManyFailures, ErrJournalWrite, or
// ErrRolloutHalted.
func (f *fleetRun) execute(ctx context.Context, header journalRecord) error {
	inWave := make([]bool, len(f.report.Items))
	for _, idx := range f.waves {
		for _, i := range idx {
			inWave[i] = true
		}
	}
	for i, it := range f.report.Items {
		if !inWave[i] {
			f.a.finish(i, it.Status, it.Err)
		}
	}
	if err := f.journal.write(header); err != nil {
		return f.stop(0, err)
	}
	for w, idx := range f.waves {
		if err := f.interrupted(ctx); err != nil {
			return f.stop(w, err)
		}
		if f.rollout != nil && f.starts[w].IsZero() {
			if err := f.journal.write(journalRecord{Record: recWave, Wave: w + 1, Event: waveStart}); err != nil {
				return f.stop(w, err)
			}
			f.starts[w] = time.Now()
		}
		if cause := f.a.run(ctx, idx); cause != nil {
			return f.stop(w+1, cause)
		}
		if f.rollout == nil || f.passed[w] {
			continue
		}
		wr, err := f.bake(ctx, w)
		f.report.Waves = append(f.report.Waves, wr)
		if f.rollout.OnWave != nil {
			f.rollout.OnWave(wr)
		}
		switch {
		case wr.Err != nil && err == nil:
			return f.halt(ctx, w, wr.Err)
		case err != nil:
			return f.stop(w+1, err)
		}
		if err := f.journal.write(journalRecord{Record: recWave, Wave: w + 1, Event: wavePassed}); err != nil {
			return f.stop(w+1, err)
		}
	}
	return nil
}

// interrupted returns why the run must not start anything new: the
// context ended, the breaker opened, or the journal failed.
func (f *fleetRun) interrupted(ctx context.Context) error {
	var done error
	if ctx.Err() != nil {
		done = context.Cause(ctx)
	}
	return cmp.Or(done, f.p.Open(), f.journal.failed())
}

// stop reports every item of the waves from the w-th on that has no final
// status as not attempted, because of cause, and returns the run's error.
func (f *fleetRun) stop(w int, cause error) error {
	for _, idx := range f.waves[min(w, len(f.waves)):] {
		for _, i := range idx {
			if !f.a.final[i] {
				f.a.finish(i, StatusNotAttempted, fmt.Errorf("imdsopts: %s: not attempted: %w", f.report.Items[i].InstanceID, cause))
			}
		}
	}
	return fmt.Errorf("imdsopts: fleet apply stopped: %w", cause)
}

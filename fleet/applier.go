package fleet

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imdsopts/imdsopts"
	"github.com/imdsopts/imdsopts/internal/ec2limits"
	"github.com/imdsopts/imdsopts/internal/pace"
	"github.com/imdsopts/imdsopts/internal/retry"
)

// applier carries out a plan: workers send the changes, and the run
// goroutine, which owns items and pending, settles their answers and polls
// the changed instances in batches until each is applied.
type applier struct {
	p     *pacer
	o     *Options
	items []Item
	// journal, when set, records each call: an intent before it, of kind,
	// and its outcome after.
	journal *journalWriter
	kind    string
	// sent marks the items whose change an earlier run sent: they are
	// waited for, not sent again.
	sent map[int]bool

	final    []bool          // the item has its final status
	pending  map[int]*change // changed, not yet seen applied
	lastPoll time.Time
}

func newApplier(p *pacer, o *Options, items []Item) *applier {
	return &applier{p: p, o: o, items: items, kind: runApply, final: make([]bool, len(items))}
}

// change is an instance whose change EC2 accepted and that is waited for.
type change struct {
	sent time.Time // when EC2 accepted it
	due  time.Time // when it is next polled
}

// modResult is the answer to one instance's ModifyInstanceMetadataOptions.
type modResult struct {
	i    int
	out  *types.InstanceMetadataOptionsResponse
	sent bool // a call was made (false: the operation stopped before)
	lost bool // the context ended while a call was under way, and it may have been made
	err  error
}

// run carries out the items at idx, and gives each its final status. It
// returns nil, or why it stopped before the end: the context's cause, the
// breaker's or the journal's error.
func (a *applier) run(parent context.Context, idx []int) error {
	// ctx ends when the caller's does, when the breaker opens or when the
	// journal fails, so that no worker starts or retries a call after any.
	ctx, stop := context.WithCancelCause(parent)
	defer stop(nil)
	a.pending = map[int]*change{}
	var queue, waiting []int
	for _, i := range idx {
		it := &a.items[i]
		if it.Status != StatusChange && it.Status != StatusPendingStart {
			a.finish(i, it.Status, it.Err)
			continue
		}
		if a.sent[i] {
			waiting = append(waiting, i)
			continue
		}
		// What weakens is worked out from what is sent, not taken from the plan.
		it.Downgrade = it.downgrade()
		switch missing := optionsOf(it.Options).missing(); {
		case it.Changes.IsZero():
			a.finish(i, StatusSatisfied, nil)
		case !it.Downgrade.IsZero() && !a.o.AllowDowngrade:
			a.finish(i, StatusRefused, downgradeError(it.InstanceID, it.Downgrade, it.Options))
		case a.journal != nil && len(missing) > 0:
			// EC2 reports all five for the instances seen so far; whether
			// it ever leaves one out is unverified, so it is taken
			// conservatively: what cannot be restored is not changed.
			a.finish(i, StatusNotAttempted, fmt.Errorf("imdsopts: %s: not attempted: its options as listed lack %s, so the journal could not record what to restore",
				it.InstanceID, strings.Join(missing, ", ")))
		default:
			queue = append(queue, i)
		}
	}
	for _, i := range waiting {
		a.settle(modResult{i: i, out: a.items[i].Options, sent: true})
	}
	if err := a.journal.failed(); err != nil {
		stop(err)
	}
	jobs, results := make(chan int), make(chan modResult)
	go func() {
		defer close(jobs)
		for _, i := range queue {
			select {
			case jobs <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	var wg sync.WaitGroup
	for range min(a.o.Concurrency, len(queue)) {
		wg.Go(func() {
			for i := range jobs {
				results <- a.modify(ctx, i)
			}
		})
	}
	go func() { wg.Wait(); close(results) }()

	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	res, done := results, ctx.Done()
	for res != nil || len(a.pending) > 0 && done != nil {
		var tick <-chan time.Time
		if done != nil && len(a.pending) > 0 {
			timer.Reset(time.Until(a.nextPoll()))
			tick = timer.C
		}
		select {
		case r, ok := <-res:
			if !ok {
				res = nil
				continue
			}
			a.settle(r)
			if !r.sent && errors.Is(r.err, context.DeadlineExceeded) {
				stop(r.err) // the bucket would not refill before the deadline
			}
		case <-tick:
			a.poll(ctx)
		case <-done:
			done = nil
		}
		if err := cmp.Or(a.p.Open(), a.journal.failed()); err != nil {
			stop(err)
		}
	}
	cause := context.Cause(ctx)
	if cause == nil || ctx.Err() == nil {
		return nil
	}
	for _, i := range append(queue, waiting...) {
		switch {
		case a.final[i]:
		case a.pending[i] != nil:
			a.finish(i, StatusUnconfirmed, fmt.Errorf("imdsopts: %s: EC2 accepted the change, not yet seen applied: %w", a.items[i].InstanceID, cause))
		default:
			a.finish(i, StatusNotAttempted, fmt.Errorf("imdsopts: %s: not attempted: %w", a.items[i].InstanceID, cause))
		}
	}
	return cause
}

// finish gives item i its final status and reports it.
func (a *applier) finish(i int, st Status, err error) {
	it := &a.items[i]
	it.Status, it.Err = st, err
	a.final[i] = true
	delete(a.pending, i)
	if a.o.OnProgress != nil {
		a.o.OnProgress(*it)
	}
}

// modify sends item i's changes, paced and retried, recorded in the journal
// before and after; it runs on a worker.
func (a *applier) modify(ctx context.Context, i int) modResult {
	if err := a.journal.intent(a.kind, &a.items[i]); err != nil {
		return modResult{i: i, err: err}
	}
	r := a.send(ctx, i)
	// A failure here stops the run; the result stands, as the call was made.
	_ = a.journal.outcome(a.items[i].InstanceID, r)
	return r
}

// send makes item i's call.
func (a *applier) send(ctx context.Context, i int) modResult {
	id, changes := a.items[i].InstanceID, a.items[i].Changes
	in := changes.ModifyInput(id)
	begun := time.Now()
	again := func(err error) bool {
		return retry.Retryable(err) || retry.IsNotFound(err) && time.Since(begun) < a.o.NotFoundGrace
	}
	r := modResult{i: i}
	c := pace.Call{Op: "ModifyInstanceMetadataOptions", ID: id, Lim: a.p.modLim, Retry: again}
	r.sent, r.err = a.p.Do(ctx, c, func(ctx context.Context) error {
		out, err := a.p.api.ModifyInstanceMetadataOptions(ctx, in, a.o.ClientOptions...)
		if err == nil {
			r.out = out.InstanceMetadataOptions
		}
		return err
	})
	switch {
	case r.err == nil:
	case ctx.Err() != nil:
		cause := context.Cause(ctx)
		switch {
		case !r.sent:
			r.err = cause
		case retry.MayHaveBeenMade(r.err):
			r.lost = true
			r.err = fmt.Errorf("imdsopts: %s: sent, answer not received (the change may have been made): %w", id, r.err)
		default:
			r.err = changes.CallError(id, r.err)
		}
	case !r.sent:
	default:
		r.err = changes.CallError(id, r.err)
	}
	return r
}

// settle takes a worker's answer: final, or pending for the poller.
func (a *applier) settle(r modResult) {
	it := &a.items[r.i]
	switch {
	case r.err != nil && !r.sent:
		a.finish(r.i, StatusNotAttempted, fmt.Errorf("imdsopts: %s: not attempted: %w", it.InstanceID, r.err))
	case r.lost:
		a.finish(r.i, StatusUnconfirmed, r.err)
	case r.err != nil:
		a.finish(r.i, StatusFailed, r.err)
	case it.Status == StatusPendingStart:
		it.Options = r.out
		a.finish(r.i, StatusPendingStart, nil)
	default:
		it.Options = r.out
		if it.Changes.Reached(it.InstanceID, "", r.out) == nil {
			a.finish(r.i, StatusApplied, nil)
			return
		}
		now := time.Now()
		a.pending[r.i] = &change{sent: now, due: now.Add(a.o.MinDelay)}
	}
}

// nextPoll is when the next poll is due: when the first pending instance is,
// but not before PollInterval after the last poll.
func (a *applier) nextPoll() time.Time {
	var first time.Time
	for _, c := range a.pending {
		if first.IsZero() || c.due.Before(first) {
			first = c.due
		}
	}
	if next := a.lastPoll.Add(a.o.PollInterval); next.After(first) {
		return next
	}
	return first
}

// poll asks DescribeInstances once about up to 1000 pending instances that
// are due, the longest due first, settles those EC2 reports done, and fails
// those whose MaxWait has passed.
func (a *applier) poll(ctx context.Context) {
	now := time.Now()
	a.lastPoll = now
	var due []int
	for i, c := range a.pending {
		if !c.due.After(now) {
			due = append(due, i)
		}
	}
	slices.SortFunc(due, func(x, y int) int {
		return cmp.Or(a.pending[x].due.Compare(a.pending[y].due), cmp.Compare(x, y))
	})
	a.describe(ctx, due[:min(len(due), ec2limits.DescribePage)])
	now = time.Now()
	for i, c := range a.pending {
		if !now.Before(c.sent.Add(a.o.MaxWait)) {
			it := &a.items[i]
			a.finish(i, StatusUnconfirmed, fmt.Errorf("imdsopts: %s: EC2 accepted the change, not applied after %v: %s: %w",
				it.InstanceID, a.o.MaxWait, it.Changes.LastSeen(it.Options), imdsopts.ErrTimeout))
		}
	}
}

// reschedule makes pending instance i due again by the schedule of
// WaiterOptions: after half the time waited so far, within MinDelay and
// MaxDelay, and no later than its MaxWait.
func (a *applier) reschedule(i int, now time.Time) {
	c := a.pending[i]
	d := min(max(time.Duration(retry.DelayRatio*float64(now.Sub(c.sent))), a.o.MinDelay), a.o.MaxDelay)
	c.due = now.Add(d)
	if end := c.sent.Add(a.o.MaxWait); c.due.After(end) {
		c.due = end
	}
}

// describe polls the instances at idx with one call. A throttled, failed or
// unanswered poll leaves them due for the next; when EC2 does not know one
// of them, the call fails whole, so the batch is split to find it.
func (a *applier) describe(ctx context.Context, idx []int) {
	if len(idx) == 0 {
		return
	}
	ids := make([]string, len(idx))
	for k, i := range idx {
		ids[k] = a.items[i].InstanceID
	}
	var out *ec2.DescribeInstancesOutput
	sent, err := a.p.Once(ctx, pace.Call{Op: "DescribeInstances", Lim: a.p.desLim}, func(ctx context.Context) error {
		var err error
		out, err = a.p.api.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: ids}, a.o.ClientOptions...)
		return err
	})
	now := time.Now()
	switch {
	case !sent:
		return
	case err == nil && out != nil:
	case retry.IsNotFound(err) && len(idx) > 1:
		a.describe(ctx, idx[:len(idx)/2])
		a.describe(ctx, idx[len(idx)/2:])
		return
	case retry.IsNotFound(err):
		// It was changed a moment ago, so it exists: its ID has not
		// propagated to this endpoint yet. Look again until MaxWait.
		a.reschedule(idx[0], now)
		return
	case err == nil, retry.Retryable(err), retry.HTTPStatus(err) == 0:
		return
	default:
		for _, i := range idx {
			a.finish(i, StatusFailed, a.items[i].Changes.CallError(a.items[i].InstanceID, err))
		}
		return
	}
	byID := make(map[string]int, len(idx))
	for _, i := range idx {
		byID[a.items[i].InstanceID] = i
	}
	for _, r := range out.Reservations {
		for _, inst := range r.Instances {
			i, ok := byID[aws.ToString(inst.InstanceId)]
			if !ok || a.final[i] {
				continue
			}
			it := &a.items[i]
			it.Options = inst.MetadataOptions
			if inst.State != nil {
				it.InstanceState = inst.State.Name
			}
			switch err := it.Changes.Reached(it.InstanceID, it.InstanceState, it.Options); {
			case err == nil:
				a.finish(i, StatusApplied, nil)
			case errors.Is(err, imdsopts.ErrPendingUntilStart):
				a.finish(i, StatusPendingStart, nil)
			case errors.Is(err, imdsopts.ErrInstanceTerminated):
				a.finish(i, StatusFailed, err)
			}
		}
	}
	for _, i := range idx {
		if !a.final[i] {
			a.reschedule(i, now)
		}
	}
}

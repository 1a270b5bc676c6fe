package org

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/imdsopts/imdsopts"
	"github.com/imdsopts/imdsopts/account"
	"github.com/imdsopts/imdsopts/fleet"
	"github.com/imdsopts/imdsopts/internal/awsid"
	"github.com/imdsopts/imdsopts/internal/check"
	"github.com/imdsopts/imdsopts/internal/liberr"
)

// Operations across targets: the fleet, posture and journal operations of
// one account and Region, run over many at once. EC2's request buckets,
// the account defaults and enforcement are all per account and Region, so
// each target gets its own clients and its own pacing, and the whole set
// takes about as long as its largest target, not the sum of them all.

// validate reports an account or Region that is not one; field names the
// target in errors.
func validateTarget(t account.Target, field string) error {
	var errs []error
	if !awsid.IsAccountID(t.Account) {
		errs = append(errs, &imdsopts.ValidationError{Field: field + ".Account", Value: check.Quote(t.Account), Rule: "must be an AWS account ID of 12 digits"})
	}
	if !awsid.IsRegion(t.Region) {
		errs = append(errs, &imdsopts.ValidationError{Field: field + ".Region", Value: check.Quote(t.Region), Rule: `must be an AWS Region, such as "eu-west-1"`})
	}
	return errors.Join(errs...)
}

// ClientsFunc returns the clients of target t: with credentials of t's
// account, in t's Region. Clients it returns unlabelled are labelled with
// t; labelled with another target, they are an error. [Discover]
// makes one from an aws.Config; tests and callers that reach accounts by
// other means supply their own, such as one returning the fakes of a
// fake.Organization.
//
// For [Plan], [Apply], [Resume] and [Undo],
// Clients.EC2 must also have ModifyInstanceMetadataOptions ([API]), as
// *ec2.Client and the fake's EC2 have.
type ClientsFunc func(ctx context.Context, t account.Target) (account.Clients, error)

// TargetSet is a set of targets, and how to reach each.
type TargetSet struct {
	// Targets are the account and Region pairs to work on, each once.
	Targets []account.Target
	// Clients returns the clients of a target; required.
	Clients ClientsFunc
	// Unreached are targets, or accounts (with an empty Region), that could
	// not be worked on before any operation began, with why: an account
	// whose Regions could not be listed, say. Every operation on the set
	// reports each of them as failed, with its error.
	Unreached []*TargetError
}

// TargetError is a target, or an account (with an empty Region), and the
// error that stopped work on it.
type TargetError struct {
	account.Target
	Err error
}

// Error returns the target and its error, e.g. "111111111111: AccessDenied...".
func (e *TargetError) Error() string {
	switch {
	case e == nil:
		return "imdsopts: a target failed"
	case e.Err == nil:
		return e.Target.String() + ": failed"
	}
	return e.Target.String() + ": " + e.Err.Error()
}

// Unwrap returns Err.
func (e *TargetError) Unwrap() error {
	if e == nil {
		return nil
	}
	return e.Err
}

// TargetResult is what an operation across targets made of one target.
type TargetResult[T any] struct {
	account.Target
	// Result is the target's result: its plan, report or posture; nil when
	// the operation made none (Err says why).
	Result T
	// Err is why the operation failed on the target or stopped early there;
	// nil when it did not. With Apply, Resume and Undo
	// an interrupted target has both: the report of what was done, and
	// why the rest was not.
	Err error
}

// MarshalJSON encodes the result as {"Account", "Region", "Result",
// "Error"}, the error as its message; empty members are left out.
func (r TargetResult[T]) MarshalJSON() ([]byte, error) {
	type out struct {
		Account string
		Region  string `json:",omitempty"`
		Result  any    `json:",omitempty"`
		Error   string `json:",omitempty"`
	}
	o := out{Account: r.Account, Region: r.Region}
	if !check.IsNil(r.Result) {
		o.Result = r.Result
	}
	if r.Err != nil {
		o.Error = r.Err.Error()
	}
	return json.Marshal(o)
}

// TargetResults are the results of an operation across targets: one for
// each target, in the order of [Target.Compare].
type TargetResults[T any] struct {
	Targets []TargetResult[T]
	// Elapsed is how long the whole operation took.
	Elapsed time.Duration
}

// Failed returns the results of the targets that failed (whose Err is
// set), in order; none for nil results.
func (r *TargetResults[T]) Failed() []TargetResult[T] {
	if r == nil {
		return nil
	}
	var failed []TargetResult[T]
	for _, t := range r.Targets {
		if t.Err != nil {
			failed = append(failed, t)
		}
	}
	return failed
}

// ErrTargetFailed: an operation across targets failed on one target or
// more (or did not get to them): each failed [TargetResult] has its Err,
// and the results hold every target, those that succeeded too.
var ErrTargetFailed = errors.New("target failed")

// DefaultConcurrency is the default of Options.Concurrency.
// A target's calls are paced to its own request buckets and mostly wait
// for them, so one process works on many at once: 64 targets make at most
// 640 calls in flight, about a thousand a second at their peak, which one
// machine handles. More targets wait for a free place.
const DefaultConcurrency = 64

// Options configures the operations across targets ([Run], [Plan],
// [Apply], [Postures], [Resume], [Undo]). Its
// fields hold their defaults before the caller's functions run.
type Options struct {
	// Concurrency bounds the targets worked on at once (default
	// DefaultConcurrency). Apply starts the targets with the
	// most changes first, so that the longest runs begin at once; the
	// others start in the order of [Target.Compare].
	Concurrency int
	// Fleet configures the fleet operation of each target (fleet.NewPlan,
	// fleet.Apply, fleet.Resume, fleet.Undo). The functions run once on the
	// defaults, to check them before any call, then once for every target,
	// after the target's own fields are set: Metrics is its
	// Clients.CloudWatch, AutoScaling its Clients.AutoScaling, Region its
	// Region. Then Region and Journal are
	// set again, as each target's own; Enforcement is its Clients.EC2 when
	// it is not set and a Rollout or a journal is (Journals, or the
	// journals Resume and Undo append to): what a rollback
	// or an undo can restore depends on the account's enforcement of
	// IMDSv2. OnAttempt and OnProgress,
	// when the functions set them, are called for every target's calls and
	// instances, never from two goroutines at once, and so is a Rollout's
	// OnWave; Options.OnProgress also says which target.
	Fleet []func(*fleet.Options)
	// Posture configures GetPosture for each target, in the same way:
	// the functions run once to check them, then once for every target,
	// and OnAttempt is never called from two goroutines at once.
	Posture []func(*account.PostureOptions)
	// Journals, when set, is the directory Apply writes the
	// journal of each target to (see [JournalDir]), created when missing.
	// It must hold no journal of the plan's targets yet. Plan does
	// not write to it, but given it, reads each target's enforcement of
	// IMDSv2, so that the plans list the changes no undo could restore
	// (fleet.Plan.Irreversible) before Apply journals them: pass the
	// same options to both.
	Journals JournalDir
	// OnProgress, when set, hears of each target as it finishes and of
	// each instance as it gets its final outcome, never from two
	// goroutines at once.
	OnProgress func(Progress)
}

// Progress says how far an operation across targets has gone, for
// Options.OnProgress.
type Progress struct {
	// Target is the target the update is about.
	Target account.Target
	// Item is the instance of Target whose final outcome the update
	// reports, as fleet.Options.OnProgress hears of it; nil for an update
	// about the target itself.
	Item *fleet.Item
	// Done is set when the update says that Target has finished; Err is
	// then why it failed, or nil.
	Done bool
	Err  error
	// Targets counts the targets of the operation; TargetsDone those that
	// finished, the failed ones included, and TargetsFailed those that
	// failed.
	Targets, TargetsDone, TargetsFailed int
	// Instances counts the instances known so far: those of every plan for
	// Apply, those of the targets finished for the others.
	// InstancesDone counts the instances with a final outcome (Apply,
	// Resume, Undo), or those of the targets finished
	// (Plan, Postures).
	Instances, InstancesDone int
}

// targetsOptions returns the defaults with optFns applied, checked: the
// Fleet and Posture functions too, once, on the defaults, so that options
// every target would refuse are refused before any call.
func targetsOptions(optFns []func(*Options)) (Options, error) {
	o := Options{Concurrency: DefaultConcurrency}
	var errs []error
	for i, fn := range optFns {
		if fn == nil {
			errs = append(errs, liberr.Misuse(fmt.Sprintf("Options function %d", i+1), "nil", "must not be nil"))
			continue
		}
		fn(&o)
	}
	if o.Concurrency < 1 {
		errs = append(errs, &imdsopts.ValidationError{Field: "Options.Concurrency", Value: fmt.Sprint(o.Concurrency), Rule: "must be at least 1"})
	}
	errs = append(errs, fleet.CheckOptions(o.Fleet...), account.CheckPostureOptions(o.Posture...))
	return o, errors.Join(errs...)
}

// checkTargets reports what makes targets unusable: none at all, one that is
// not an account and Region, or one named twice.
func checkTargets(field string, targets []account.Target, unreached int) error {
	if len(targets)+unreached == 0 {
		return liberr.Misuse(field, "[]", "must name at least one target")
	}
	var errs []error
	// Each distinct target is judged once: one named 10,000 times is one
	// error, that says how often.
	for _, oc := range occurrences(targets) {
		if err := validateTarget(oc.v, fmt.Sprintf("%s[%d]", field, oc.first)); err != nil {
			errs = append(errs, err)
			continue
		}
		if oc.n > 1 {
			errs = append(errs, &imdsopts.ValidationError{Field: fmt.Sprintf("%s[%d]", field, oc.second), Value: check.Quote(oc.v.String()),
				Rule: "must not be named twice" + given(oc.n, 2)})
		}
	}
	return errors.Join(errs...)
}

// checkSet reports a TargetSet the operations cannot use.
func (ts *TargetSet) check() error {
	errs := []error{checkTargets("TargetSet.Targets", ts.Targets, len(ts.Unreached))}
	if ts.Clients == nil {
		errs = append(errs, liberr.Misuse("TargetSet.Clients", "nil", "must be a function that returns the clients of a target, such as Discover makes"))
	}
	for i, u := range ts.Unreached {
		if u == nil || u.Err == nil {
			errs = append(errs, liberr.Misuse(fmt.Sprintf("TargetSet.Unreached[%d].Err", i), "nil", "must say why the target was not reached"))
		}
	}
	return errors.Join(errs...)
}

// clients returns the clients of t, labelled with t and checked. A
// ClientsFunc that panics fails t with the panic, instead of ending the
// process from the goroutine that works on t.
func (ts *TargetSet) clients(ctx context.Context, t account.Target) (account.Clients, error) {
	c, err := ts.callClients(ctx, t)
	if err != nil {
		return account.Clients{}, fmt.Errorf("imdsopts: the clients of %s: %w", t, err)
	}
	c.Target.Account, c.Target.Region = cmp.Or(c.Target.Account, t.Account), cmp.Or(c.Target.Region, t.Region)
	if c.Target.Account != t.Account || c.Target.Region != t.Region {
		return account.Clients{}, liberr.Misuse("Clients", check.Quote(c.Target.Account+"/"+c.Target.Region), "must be the clients of the target "+t.String())
	}
	return c, c.Validate()
}

// callClients calls ts.Clients, recovering a panic into its error.
func (ts *TargetSet) callClients(ctx context.Context, t account.Target) (c account.Clients, err error) {
	defer func() {
		if p := recover(); p != nil {
			if perr, ok := p.(error); ok {
				err = fmt.Errorf("the ClientsFunc panicked: %w", perr)
			} else {
				err = fmt.Errorf("the ClientsFunc panicked: %v", p)
			}
			c = account.Clients{}
		}
	}()
	return ts.Clients(ctx, t)
}

// fleetAPI returns the fleet operations' client of c.
func fleetAPI(c account.Clients) (imdsopts.API, error) {
	api, ok := c.EC2.(imdsopts.API)
	if !ok {
		return nil, liberr.Misuse("Clients.EC2", fmt.Sprintf("%T", c.EC2), "must also have ModifyInstanceMetadataOptions (API), as *ec2.Client has, for the fleet operations")
	}
	return api, nil
}

// results returns a result for every target of ts, the unreached ones
// failed already, in the order of Target.Compare.
func results[T any](ts *TargetSet) []TargetResult[T] {
	rs := make([]TargetResult[T], 0, len(ts.Targets)+len(ts.Unreached))
	for _, t := range ts.Targets {
		rs = append(rs, TargetResult[T]{Target: t})
	}
	for _, u := range ts.Unreached {
		rs = append(rs, TargetResult[T]{Target: u.Target, Err: u})
	}
	slices.SortStableFunc(rs, func(a, b TargetResult[T]) int { return a.Target.Compare(b.Target) })
	return rs
}

// targetsRun is one operation across targets: its options, and its
// progress, which one lock keeps to one callback at a time.
type targetsRun struct {
	o     *Options
	start time.Time

	mu   sync.Mutex
	prog Progress
}

func newTargetsRun(o *Options, targets, instances int) *targetsRun {
	return &targetsRun{o: o, start: time.Now(), prog: Progress{Targets: targets, Instances: instances}}
}

// attempt returns fn, called one call at a time across the targets; nil
// for a nil fn.
func (r *targetsRun) attempt(fn func(imdsopts.Attempt)) func(imdsopts.Attempt) {
	if fn == nil {
		return nil
	}
	return func(a imdsopts.Attempt) {
		r.mu.Lock()
		defer r.mu.Unlock()
		fn(a)
	}
}

// items returns the fleet.Options.OnProgress of target t: it counts each
// instance done once (a rollout may report one again), then passes the item
// to fn and to Options.OnProgress, one call at a time.
func (r *targetsRun) items(t account.Target, fn func(fleet.Item)) func(fleet.Item) {
	seen := map[string]bool{}
	return func(it fleet.Item) {
		r.mu.Lock()
		defer r.mu.Unlock()
		if fn != nil {
			fn(it)
		}
		if !seen[it.InstanceID] {
			seen[it.InstanceID] = true
			r.prog.InstancesDone++
		}
		if r.o.OnProgress != nil {
			p := r.prog
			p.Target, p.Item = t, &it
			r.o.OnProgress(p)
		}
	}
}

// done records that t finished with err; instances are those to add to
// the counts, done those of them to count done.
func (r *targetsRun) done(t account.Target, instances, done int, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.prog.TargetsDone++
	if err != nil {
		r.prog.TargetsFailed++
	}
	r.prog.Instances += instances
	r.prog.InstancesDone += done
	if r.o.OnProgress != nil {
		p := r.prog
		p.Target, p.Done, p.Err = t, true, err
		r.o.OnProgress(p)
	}
}

// eachTarget runs work on the results at the indices of order, at most
// Concurrency at once, then records each as done with the counts work
// returns. Results that have an error already are done without work. When
// ctx ends, the targets not started get its error.
func eachTarget[T any](ctx context.Context, r *targetsRun, rs []TargetResult[T], order []int,
	work func(ctx context.Context, i int) (instances, done int)) {
	notStarted := func(i int) {
		rs[i].Err = fmt.Errorf("imdsopts: not started: %w", context.Cause(ctx))
		r.done(rs[i].Target, 0, 0, rs[i].Err)
	}
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range min(r.o.Concurrency, len(order)) {
		wg.Go(func() {
			for i := range jobs {
				if ctx.Err() != nil {
					notStarted(i)
					continue
				}
				instances, done := work(ctx, i)
				r.done(rs[i].Target, instances, done, rs[i].Err)
			}
		})
	}
	for _, i := range order {
		switch {
		case rs[i].Err != nil:
			r.done(rs[i].Target, 0, 0, rs[i].Err)
		case ctx.Err() != nil:
			notStarted(i)
		default:
			select {
			case jobs <- i:
			case <-ctx.Done():
				notStarted(i)
			}
		}
	}
	close(jobs)
	wg.Wait()
}

// eachTargetClients runs work on every target of rs, in order, as
// eachTarget does, with the target's clients: a target whose clients
// cannot be had fails with why, without work.
func eachTargetClients[T any](ctx context.Context, r *targetsRun, ts *TargetSet, rs []TargetResult[T],
	work func(ctx context.Context, res *TargetResult[T], c account.Clients) (instances, done int)) {
	eachTarget(ctx, r, rs, inOrder(rs), func(ctx context.Context, i int) (int, int) {
		c, err := ts.clients(ctx, rs[i].Target)
		if err != nil {
			rs[i].Err = err
			return 0, 0
		}
		return work(ctx, &rs[i], c)
	})
}

// inOrder returns the indices of rs in their order.
func inOrder[T any](rs []TargetResult[T]) []int {
	order := make([]int, len(rs))
	for i := range order {
		order[i] = i
	}
	return order
}

// finish returns the results of r, and the error of the operation: one
// matching ErrTargetFailed when any target failed, and the context's
// error when it ended.
func finish[T any](ctx context.Context, r *targetsRun, rs []TargetResult[T]) (*TargetResults[T], error) {
	out := &TargetResults[T]{Targets: rs, Elapsed: time.Since(r.start)}
	failed := out.Failed()
	switch {
	case ctx.Err() != nil:
		return out, fmt.Errorf("imdsopts: stopped with %d of %d targets failed or not done: %w: %w", len(failed), len(rs), ErrTargetFailed, context.Cause(ctx))
	case len(failed) > 0:
		return out, fmt.Errorf("imdsopts: %d of %d targets failed, the first %s: %v: %w", len(failed), len(rs), failed[0].Target, failed[0].Err, ErrTargetFailed)
	}
	return out, nil
}

// fleetFns returns the functions that configure the fleet operation of
// target t with clients c (see Options.Fleet).
func (r *targetsRun) fleetFns(t account.Target, c account.Clients, journal io.Writer) []func(*fleet.Options) {
	fns := make([]func(*fleet.Options), 0, len(r.o.Fleet)+2)
	fns = append(fns, func(o *fleet.Options) {
		o.Metrics, o.AutoScaling, o.Region = c.CloudWatch, c.AutoScaling, t.Region
		// A plan's are those of the run that made it.
		o.OnAttempt, o.OnProgress = nil, nil
	})
	fns = append(fns, r.o.Fleet...)
	return append(fns, func(o *fleet.Options) {
		o.Region, o.Journal = t.Region, journal
		if o.Enforcement == nil && (o.Rollout != nil || journal != nil || r.o.Journals != "") {
			o.Enforcement = c.EC2
		}
		o.OnAttempt = r.attempt(o.OnAttempt)
		o.OnProgress = r.items(t, o.OnProgress)
		if o.Rollout != nil && o.Rollout.OnWave != nil {
			// A copy: the functions may have set one Rollout for all.
			ro := *o.Rollout
			ro.OnWave = r.wave(ro.OnWave)
			o.Rollout = &ro
		}
	})
}

// wave returns fn, called one wave at a time across the targets.
func (r *targetsRun) wave(fn func(fleet.WaveReport)) func(fleet.WaveReport) {
	return func(w fleet.WaveReport) {
		r.mu.Lock()
		defer r.mu.Unlock()
		fn(w)
	}
}

// Plan makes the plan of every target of ts, as [fleet.NewPlan] does
// for one account and Region: it lists the instances sel selects in each,
// and works out what applying s needs, with the target's own clients and
// pacing, at most Concurrency targets at once. It changes nothing.
//
// Each target's fleet.Options are set by Options.Fleet; by default
// the IMDSv1 gate reads the target's Clients.CloudWatch. A target whose
// plan fails (its clients, a listing, a role that cannot be assumed, a
// Region not enabled for the account), or whose instances belong to another
// account than the target's, has no plan and its Err says why; the others
// go on. The results have every target, by account then Region, and the
// error matches ErrTargetFailed when any target failed, and the context's
// error when ctx ended (the targets not started then fail with it).
//
// A nil ctx, a TargetSet without targets or Clients, a target that is not
// an account ID and a Region or is named twice, a zero s, an invalid
// instance ID, or options every target would refuse, are an error matching
// ErrInvalid, before any call, with nil results.
func Plan(ctx context.Context, ts TargetSet, sel fleet.Selection, s imdsopts.Set, optFns ...func(*Options)) (*TargetResults[*fleet.Plan], error) {
	o, err := targetsOptions(optFns)
	errs := []error{liberr.Ctx(ctx), ts.check(), err}
	if s.IsZero() {
		errs = append(errs, liberr.Misuse("Set", check.Quote(s.String()), "must hold at least one field: there is nothing to apply"))
	}
	for _, id := range sel.InstanceIDs {
		errs = append(errs, imdsopts.ValidateInstanceID(id))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	rs := results[*fleet.Plan](&ts)
	r := newTargetsRun(&o, len(rs), 0)
	eachTarget(ctx, r, rs, inOrder(rs), func(ctx context.Context, i int) (int, int) {
		res := &rs[i]
		res.Result, res.Err = planTarget(ctx, r, &ts, res.Target, sel, s)
		if res.Result == nil {
			return 0, 0
		}
		return len(res.Result.Items), len(res.Result.Items)
	})
	return finish(ctx, r, rs)
}

func planTarget(ctx context.Context, r *targetsRun, ts *TargetSet, t account.Target, sel fleet.Selection, s imdsopts.Set) (*fleet.Plan, error) {
	c, err := ts.clients(ctx, t)
	if err != nil {
		return nil, err
	}
	api, err := fleetAPI(c)
	if err != nil {
		return nil, err
	}
	plan, err := fleet.NewPlan(ctx, api, sel, s, r.fleetFns(t, c, nil)...)
	if err != nil {
		return nil, err
	}
	if plan.Account != "" && plan.Account != t.Account {
		// The clients reach another account than the target's: whatever
		// was listed is not the target's, and nothing may be changed.
		return nil, fmt.Errorf("imdsopts: the instances listed belong to account %s, not to the target's %s: the clients reach another account", plan.Account, t.Account)
	}
	return plan, nil
}

// Apply carries out the plans Plan made, as [fleet.Apply] does
// for one account and Region: each target's plan with the target's own
// clients from ts and its own pacing (EC2's buckets are per account and
// Region), at most Concurrency targets at once, those with the most
// changes first. Options.Fleet overrides the plans' options, as
// fleet.Apply's option functions do. With Options.Journals, each
// target's run is journaled to its own file there (see [JournalDir]), so
// that [Resume] and [Undo] can go on from it.
//
// A target whose plan failed is reported failed again, not attempted. A
// target that fails (its clients, a journal that cannot be created, calls
// that keep failing because its account was closed, a rollout that
// halted) does not stop the others; when fleet.Apply returned a report, the
// result keeps it with the error. When ctx ends (Ctrl-C), every target
// stops as fleet.Apply does, and the results keep what each did; the
// targets not started fail with the context's error. The results have
// every target of the plan, by account then Region; the error matches
// ErrTargetFailed when any target failed, and the context's error when
// ctx ended.
//
// A nil ctx or plan, ts without Clients, a journal directory that cannot be
// made or already holds a journal of one of the targets, or options every
// target would refuse, are an error matching ErrInvalid, before any call,
// with nil results.
func Apply(ctx context.Context, ts TargetSet, plan *TargetResults[*fleet.Plan], optFns ...func(*Options)) (*TargetResults[*fleet.Report], error) {
	o, err := targetsOptions(optFns)
	errs := []error{liberr.Ctx(ctx), err}
	if ts.Clients == nil {
		errs = append(errs, liberr.Misuse("TargetSet.Clients", "nil", "must be a function that returns the clients of a target, such as Discover makes"))
	}
	var targets []account.Target
	if plan == nil {
		errs = append(errs, liberr.Misuse("plan", "nil", "must be the results of Plan"))
	} else {
		var failed int
		for _, p := range plan.Targets {
			if p.Err != nil {
				failed++
				continue
			}
			targets = append(targets, p.Target)
		}
		errs = append(errs, checkTargets("plan.Targets", targets, failed))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if o.Journals != "" {
		if err := o.Journals.prepare(targets); err != nil {
			return nil, err
		}
	}
	rs := make([]TargetResult[*fleet.Report], len(plan.Targets))
	changes := make([]int, len(rs))
	instances := 0
	for i, p := range plan.Targets {
		rs[i].Target = p.Target
		switch {
		case p.Err != nil:
			rs[i].Err = fmt.Errorf("imdsopts: not applied: the plan failed: %w", p.Err)
		case p.Result == nil:
			rs[i].Err = liberr.Misuse("plan", "nil", "must be a plan made by Plan")
		default:
			instances += len(p.Result.Items)
			for _, it := range p.Result.Items {
				if it.Status == fleet.StatusChange || it.Status == fleet.StatusPendingStart {
					changes[i]++
				}
			}
		}
	}
	order := inOrder(rs)
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(changes[b], changes[a]) })
	r := newTargetsRun(&o, len(rs), instances)
	eachTarget(ctx, r, rs, order, func(ctx context.Context, i int) (int, int) {
		rs[i].Result, rs[i].Err = applyTarget(ctx, r, &ts, rs[i].Target, plan.Targets[i].Result)
		return 0, 0
	})
	slices.SortStableFunc(rs, func(a, b TargetResult[*fleet.Report]) int { return a.Target.Compare(b.Target) })
	return finish(ctx, r, rs)
}

func applyTarget(ctx context.Context, r *targetsRun, ts *TargetSet, t account.Target, plan *fleet.Plan) (*fleet.Report, error) {
	c, err := ts.clients(ctx, t)
	if err != nil {
		return nil, err
	}
	api, err := fleetAPI(c)
	if err != nil {
		return nil, err
	}
	var journal io.Writer
	if d := r.o.Journals; d != "" {
		f, err := d.create(t)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		journal = f
	}
	return fleet.Apply(ctx, api, plan, r.fleetFns(t, c, journal)...)
}

// Postures takes the posture of every target of ts, as [GetPosture]
// does for one account and Region, each with the target's own clients and
// pacing, at most Concurrency targets at once. Options.Posture
// configures each. A target whose posture fails has none, and its Err says
// why; the others go on. The results have every target, by account then
// Region; the error matches ErrTargetFailed when any target failed, and
// the context's error when ctx ended. Nothing is changed.
//
// A nil ctx, a TargetSet without targets or Clients, a target that is not
// an account ID and a Region or is named twice, or options every target
// would refuse, are an error matching ErrInvalid, before any call.
func Postures(ctx context.Context, ts TargetSet, optFns ...func(*Options)) (*TargetResults[*account.Posture], error) {
	o, err := targetsOptions(optFns)
	if err := errors.Join(liberr.Ctx(ctx), ts.check(), err); err != nil {
		return nil, err
	}
	rs := results[*account.Posture](&ts)
	r := newTargetsRun(&o, len(rs), 0)
	eachTargetClients(ctx, r, &ts, rs, func(ctx context.Context, res *TargetResult[*account.Posture], c account.Clients) (int, int) {
		fns := append(slices.Clone(o.Posture), func(po *account.PostureOptions) { po.Options.OnAttempt = r.attempt(po.Options.OnAttempt) })
		res.Result, res.Err = account.GetPosture(ctx, c, fns...)
		if res.Result == nil {
			return 0, 0
		}
		return res.Result.Instances.Total, res.Result.Instances.Total
	})
	return finish(ctx, r, rs)
}

package imdsopts

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
	"github.com/imdsopts/imdsopts/internal/check"
	"github.com/imdsopts/imdsopts/internal/retry"
)

// API is the part of *ec2.Client that [Apply], [DryRun] and the fleet
// operations call. A Waiter needs only DescribeInstances
// (ec2.DescribeInstancesAPIClient).
type API interface {
	ModifyInstanceMetadataOptions(ctx context.Context, params *ec2.ModifyInstanceMetadataOptionsInput, optFns ...func(*ec2.Options)) (*ec2.ModifyInstanceMetadataOptionsOutput, error)
	DescribeInstances(ctx context.Context, params *ec2.DescribeInstancesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error)
}

// Defaults of [WaiterOptions]. EC2 usually applies metadata options within
// seconds, so waiting starts sooner than with the SDK's generated waiters
// (15 s to 120 s).
const (
	DefaultMinDelay = time.Second
	DefaultMaxDelay = 30 * time.Second
	DefaultMaxWait  = 10 * time.Minute
)

// WaiterOptions configures [Apply], [NewWaiter], [Waiter.Wait] and [DryRun],
// in the style of the SDK's waiters: the fields hold their defaults before
// the caller's functions run, so a function may set any of them to zero.
// The fleet and account operations have fields of the same names, meanings
// and defaults.
type WaiterOptions struct {
	// MinDelay and MaxDelay bound the delay between two attempts of a call:
	// polls of DescribeInstances while waiting, and calls tried again after
	// throttling or a 5xx answer. Each delay is at most half the time waited
	// so far, but never less than MinDelay nor more than MaxDelay; random
	// jitter only shortens it, by up to a fifth. So options that EC2 applies
	// T after the wait began are seen by 1.5*T + MinDelay at the latest.
	// Defaults: DefaultMinDelay (1 s) and DefaultMaxDelay (30 s). When
	// MinDelay is set above MaxDelay and MaxDelay was left at its default,
	// MaxDelay is raised to MinDelay.
	MinDelay, MaxDelay time.Duration
	// MaxWait bounds one Wait, and separately the attempts of one call
	// (Apply's change, a DryRun). Default: DefaultMaxWait (10 minutes).
	MaxWait time.Duration
	// NotFoundGrace is how long after the change (or NewWaiter) an instance
	// ID that EC2 answers InvalidInstanceID.NotFound is taken as one that
	// has not propagated yet and asked about again. Default 0: an unknown ID
	// is an error at once, as with the AWS CLI. Set it, to a minute say, for
	// an instance launched a moment ago.
	NotFoundGrace time.Duration
	// OnAttempt, when set, is called after every API call, with what it
	// returned and when the next attempt comes; never from two goroutines
	// at once.
	OnAttempt func(Attempt)
	// ClientOptions are passed to every API call.
	ClientOptions []func(*ec2.Options)

	// rnd draws the schedule's jitter; tests set it to compare schedules on
	// the same random numbers.
	rnd func() float64
}

// defaultWaiterOptions returns WaiterOptions holding the defaults.
func defaultWaiterOptions() WaiterOptions {
	return WaiterOptions{MinDelay: DefaultMinDelay, MaxDelay: DefaultMaxDelay, MaxWait: DefaultMaxWait}
}

// apply runs optFns on o and checks the result; prefix names the options
// type in errors ("WaiterOptions").
func applyOptions[T any](o *T, w *WaiterOptions, prefix string, optFns []func(*T)) error {
	maxDelay := w.MaxDelay
	ps := check.Funcs(prefix, o, optFns)
	if w.MaxDelay == maxDelay && w.MinDelay > w.MaxDelay {
		w.MaxDelay = w.MinDelay
	}
	return problems(append(ps, check.Waiting(prefix, w.MinDelay, w.MaxDelay, w.MaxWait, w.NotFoundGrace, w.ClientOptions)...))
}

// problems returns ps as one error of ValidationErrors; nil when there are
// none.
func problems(ps []check.Problem) error {
	errs := make([]error, len(ps))
	for i, p := range ps {
		errs[i] = &ValidationError{Field: p.Field, Value: p.Value, Rule: p.Rule}
	}
	return errors.Join(errs...)
}

// policy returns the retry policy of one call made with these options,
// reporting its attempts to OnAttempt as a fills them in.
func (o *WaiterOptions) policy(start time.Time, again func(error) bool, a *Attempt) *retry.Policy {
	p := &retry.Policy{MinDelay: o.MinDelay, MaxDelay: o.MaxDelay, MaxWait: o.MaxWait, Start: start, Retry: again, Rnd: o.rnd}
	if o.OnAttempt != nil {
		p.Observe = func(n int, err error, next time.Duration) {
			if errors.Is(err, retry.ErrNotYet) {
				err = nil // the call succeeded; Options say what is not final yet
			}
			a.Number, a.Err, a.NextDelay, a.Elapsed = n, err, next, time.Since(start)
			o.OnAttempt(*a)
		}
	}
	return p
}

// Attempt describes one API call, for WaiterOptions.OnAttempt.
type Attempt struct {
	// Operation is the API operation, e.g. "DescribeInstances".
	Operation string
	// InstanceID is the instance the call is about; empty for a call about
	// many (a fleet's listing or batched poll, the IMDSv1 gate).
	InstanceID string
	// Number counts the attempts of this call, 1 for the first.
	Number int
	// Elapsed is the time since the wait or the operation began.
	Elapsed time.Duration
	// Options and InstanceState are what the call reported of the instance;
	// empty when it failed or is about many instances.
	Options       *types.InstanceMetadataOptionsResponse
	InstanceState types.InstanceStateName
	// Err is the call's error; nil when the call succeeded, also when its
	// answer is not final yet (Options say the state, NextDelay when the
	// next poll comes).
	Err error
	// NextDelay is the time until the next attempt; 0 when there is none.
	NextDelay time.Duration
}

// Waiter waits until EC2 reports an instance's metadata options applied with
// the values of a Set. Make one with [Apply], which sends the change, or
// [NewWaiter], for a change made by other means. A Waiter is safe for use
// by one goroutine at a time.
type Waiter struct {
	api     ec2.DescribeInstancesAPIClient
	id      string
	set     Set
	opts    WaiterOptions
	started time.Time
	// initial is the answer to Apply's call, if any.
	initial *types.InstanceMetadataOptionsResponse
}

// NewWaiter returns a Waiter for instanceID to reach the values of s, for a
// change made by other means (another process, the console, RunInstances).
// The wait is measured from now: [WaiterOptions] delays grow with the time
// since, and NotFoundGrace counts from now. A zero s waits for any change
// under way to be applied, whatever its values. Invalid input, a nil api or
// a nil option function is an error matching ErrInvalid.
func NewWaiter(api ec2.DescribeInstancesAPIClient, instanceID string, s Set, optFns ...func(*WaiterOptions)) (*Waiter, error) {
	w := &Waiter{api: api, id: instanceID, set: s, opts: defaultWaiterOptions(), started: time.Now()}
	err := errors.Join(checkClient("api", api), ValidateInstanceID(instanceID),
		applyOptions(&w.opts, &w.opts, "WaiterOptions", optFns))
	if err != nil {
		return nil, err
	}
	return w, nil
}

// Apply sends one ModifyInstanceMetadataOptions call that applies s to
// instanceID, holding only the fields s holds (EC2 keeps the others), and
// returns a Waiter for the change. Invalid input, a zero s (nothing to
// apply), a nil ctx or api is an error matching ErrInvalid, before any call.
// Throttling and 5xx answers are tried again (the call is idempotent), and
// so is InvalidInstanceID.NotFound within NotFoundGrace; any other error
// ends Apply, mapped to this package's outcomes (ErrInstanceNotFound,
// ErrIMDSv2Enforced, ErrUnauthorized...). An error that leaves it unknown
// whether the change was made (the request may have reached EC2, and its
// answer was lost or was a failure of EC2's own) says so.
func Apply(ctx context.Context, api API, instanceID string, s Set, optFns ...func(*WaiterOptions)) (*Waiter, error) {
	var errs []error
	if ctx == nil {
		errs = append(errs, misuse("ctx", "nil", "must be a context.Context"))
	}
	if s.IsZero() {
		errs = append(errs, misuse("Set", check.Quote(s.String()), "must hold at least one field: there is nothing to apply"))
	}
	var w *Waiter
	if !check.IsNil(api) {
		var err error
		w, err = NewWaiter(api, instanceID, s, optFns...)
		errs = append(errs, err)
	} else {
		errs = append(errs, checkClient("api", api), ValidateInstanceID(instanceID))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	in := s.ModifyInput(instanceID)
	a := Attempt{Operation: "ModifyInstanceMetadataOptions", InstanceID: instanceID}
	p := w.opts.policy(w.started, w.retryable, &a)
	sent := false
	err := p.Do(ctx, func(ctx context.Context) error {
		sent = true
		out, err := api.ModifyInstanceMetadataOptions(ctx, in, w.opts.ClientOptions...)
		if err != nil {
			return err
		}
		w.initial = out.InstanceMetadataOptions
		a.Options = out.InstanceMetadataOptions
		return nil
	})
	if err != nil {
		err = w.failure("ModifyInstanceMetadataOptions", err)
		if sent && !errors.Is(err, ErrInvalid) && retry.MayHaveBeenMade(err) {
			return nil, fmt.Errorf("%w (the change was sent and may have been made: its answer was lost)", err)
		}
		return nil, err
	}
	return w, nil
}

// InstanceID returns the ID of the instance the Waiter watches.
func (w *Waiter) InstanceID() string {
	if w == nil {
		return ""
	}
	return w.id
}

// Wait polls DescribeInstances until EC2 reports the options State
// "applied" with values that satisfy the Waiter's Set, and returns them. When
// the answer to Apply's call already says so, Wait returns without any
// call. The first poll is immediate, so a stopped, terminated or unknown
// instance is reported at once; later polls follow the schedule of
// [WaiterOptions]. optFns change the Waiter's options for this call only.
//
// Wait ends with ErrPendingUntilStart (and the options seen) for a stopped
// instance, ErrInstanceTerminated, ErrInstanceNotFound (after
// NotFoundGrace), ErrTimeout after MaxWait (the message names the last state
// seen), the context's error (with the last state seen), or any other API
// error, wrapped. Throttling and 5xx answers are retried. Wait may be called
// again, for example after ErrTimeout. A nil or zero Waiter, or a nil ctx, is
// an error matching ErrInvalid.
func (w *Waiter) Wait(ctx context.Context, optFns ...func(*WaiterOptions)) (*types.InstanceMetadataOptionsResponse, error) {
	if w == nil || w.api == nil {
		return nil, misuse("Waiter", "nil", "must be made by Apply or NewWaiter")
	}
	if ctx == nil {
		return nil, misuse("ctx", "nil", "must be a context.Context")
	}
	opts := w.opts
	if err := applyOptions(&opts, &opts, "WaiterOptions", optFns); err != nil {
		return nil, err
	}
	if o := w.initial; o != nil && w.set.Reached(w.id, "", o) == nil {
		return o, nil
	}
	in := &ec2.DescribeInstancesInput{InstanceIds: []string{w.id}}
	a := Attempt{Operation: "DescribeInstances", InstanceID: w.id}
	var seen *types.InstanceMetadataOptionsResponse
	err := opts.policy(w.started, w.retryableWith(opts), &a).Do(ctx, func(ctx context.Context) error {
		a.Options, a.InstanceState = nil, ""
		out, err := w.api.DescribeInstances(ctx, in, opts.ClientOptions...)
		if err != nil {
			return err
		}
		inst := findInstance(out, w.id)
		if inst == nil {
			return fmt.Errorf("DescribeInstances did not return it: %w", ErrInstanceNotFound)
		}
		a.Options, seen = inst.MetadataOptions, inst.MetadataOptions
		if inst.State != nil {
			a.InstanceState = inst.State.Name
		}
		return w.set.Reached(w.id, a.InstanceState, seen)
	})
	if err != nil {
		return seen, w.failure("DescribeInstances", err)
	}
	return seen, nil
}

// retry.Retryable is the rule of what the Waiter tries again: throttling and 5xx
// answers, and an unknown ID within NotFoundGrace.
func (w *Waiter) retryable(err error) bool { return w.retryableWith(w.opts)(err) }

func (w *Waiter) retryableWith(o WaiterOptions) func(error) bool {
	return func(err error) bool {
		return retry.Retryable(err) ||
			(retry.IsNotFound(err) || errors.Is(err, ErrInstanceNotFound)) && time.Since(w.started) < o.NotFoundGrace
	}
}

// failure returns the final error of a call of op.
func (w *Waiter) failure(op string, err error) error {
	var ve *ValidationError
	switch {
	case errors.Is(err, ErrInstanceTerminated), errors.Is(err, ErrPendingUntilStart), errors.As(err, &ve):
		return err
	case errors.Is(err, ErrTimeout), errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("imdsopts: %s: %s: %w", w.id, op, err)
	default:
		return w.set.CallError(w.id, err)
	}
}

// Reached says what an instance's state and options, as EC2 reports them,
// mean for a change to s. It is the one rule of waiting, for one instance
// and for fleets alike: nil when the options are applied with s's values;
// an error matching ErrInstanceTerminated when they never will be, or
// ErrPendingUntilStart when the instance is stopped with the change
// pending; otherwise an error that says what was seen, for a state that is
// not final yet. An empty state is one not reported (Modify's answer).
func (s Set) Reached(id string, state types.InstanceStateName, o *types.InstanceMetadataOptionsResponse) error {
	applied := o != nil && o.State == types.InstanceMetadataOptionsStateApplied
	switch state {
	case types.InstanceStateNameShuttingDown, types.InstanceStateNameTerminated:
		return fmt.Errorf("imdsopts: %s is %s: %w", id, state, ErrInstanceTerminated)
	case types.InstanceStateNameStopped, types.InstanceStateNameStopping:
		if !applied {
			return fmt.Errorf("imdsopts: %s is %s: %w", id, state, ErrPendingUntilStart)
		}
	}
	if applied && s.SatisfiedBy(o) {
		return nil
	}
	return retry.NotYet(s.LastSeen(o))
}

// LastSeen describes options o seen while waiting for s, for messages.
func (s Set) LastSeen(o *types.InstanceMetadataOptionsResponse) string {
	switch {
	case o == nil:
		return "last state unknown"
	case o.State == types.InstanceMetadataOptionsStateApplied:
		return fmt.Sprintf("last state %s, but %s still differs", o.State, s.Changes(o))
	default:
		return fmt.Sprintf("last state %s", o.State)
	}
}

// Describe returns instanceID as DescribeInstances reports it, for reading
// its metadata options (Instance.MetadataOptions) and state. Throttling and
// 5xx answers are tried again within MaxWait; an unknown ID is an error
// matching ErrInstanceNotFound (after NotFoundGrace). Invalid input, a nil
// ctx or api is an error matching ErrInvalid, before any call.
func Describe(ctx context.Context, api ec2.DescribeInstancesAPIClient, instanceID string, optFns ...func(*WaiterOptions)) (*types.Instance, error) {
	if ctx == nil {
		return nil, misuse("ctx", "nil", "must be a context.Context")
	}
	w, err := NewWaiter(api, instanceID, Set{}, optFns...)
	if err != nil {
		return nil, err
	}
	in := &ec2.DescribeInstancesInput{InstanceIds: []string{instanceID}}
	a := Attempt{Operation: "DescribeInstances", InstanceID: instanceID}
	var inst *types.Instance
	err = w.opts.policy(w.started, w.retryable, &a).Do(ctx, func(ctx context.Context) error {
		out, err := api.DescribeInstances(ctx, in, w.opts.ClientOptions...)
		if err != nil {
			return err
		}
		if inst = findInstance(out, instanceID); inst == nil {
			return fmt.Errorf("DescribeInstances did not return it: %w", ErrInstanceNotFound)
		}
		a.Options = inst.MetadataOptions
		if inst.State != nil {
			a.InstanceState = inst.State.Name
		}
		return nil
	})
	if err != nil {
		return nil, w.failure("DescribeInstances", err)
	}
	return inst, nil
}

// findInstance returns instance id of a DescribeInstances answer, or nil.
func findInstance(out *ec2.DescribeInstancesOutput, id string) *types.Instance {
	if out == nil {
		return nil
	}
	for _, r := range out.Reservations {
		for i := range r.Instances {
			if aws.ToString(r.Instances[i].InstanceId) == id {
				return &r.Instances[i]
			}
		}
	}
	return nil
}

// DryRun asks EC2 whether the caller may apply s to instanceID, without
// applying it: nil when permitted (EC2 answers DryRunOperation), an error
// matching ErrUnauthorized when not, ErrInvalid for invalid input (before
// any call), ErrDryRunIgnored when the endpoint made the change instead.
// Throttling and 5xx answers are tried again as [WaiterOptions] say.
func DryRun(ctx context.Context, api API, instanceID string, s Set, optFns ...func(*WaiterOptions)) error {
	opts := defaultWaiterOptions()
	in := s.ModifyInput(instanceID)
	var errs []error
	if ctx == nil {
		errs = append(errs, misuse("ctx", "nil", "must be a context.Context"))
	}
	errs = append(errs, checkClient("api", api), ValidateModifyInput(in), applyOptions(&opts, &opts, "WaiterOptions", optFns))
	if err := errors.Join(errs...); err != nil {
		return err
	}
	in.DryRun = aws.Bool(true)
	a := Attempt{Operation: "ModifyInstanceMetadataOptions", InstanceID: instanceID}
	errApplied := fmt.Errorf("imdsopts: %s: %w", instanceID, ErrDryRunIgnored)
	err := opts.policy(time.Now(), retry.Retryable, &a).Do(ctx, func(ctx context.Context) error {
		_, err := api.ModifyInstanceMetadataOptions(ctx, in, opts.ClientOptions...)
		var apiErr smithy.APIError
		switch {
		case err == nil:
			return errApplied
		case errors.As(err, &apiErr) && apiErr.ErrorCode() == "DryRunOperation":
			return nil
		}
		return err
	})
	switch {
	case err == nil, errors.Is(err, ErrDryRunIgnored):
		return err
	case errors.Is(err, ErrTimeout), ctx.Err() != nil:
		return fmt.Errorf("imdsopts: %s: ModifyInstanceMetadataOptions (DryRun): %w", instanceID, err)
	}
	return s.CallError(instanceID, err)
}

// checkClient reports a nil client, also a typed nil such as a nil
// *ec2.Client in an interface, which would panic at its first call.
func checkClient(name string, c any) error {
	if check.IsNil(c) {
		return misuse(name, "nil", "must be a client, such as *ec2.Client")
	}
	return nil
}

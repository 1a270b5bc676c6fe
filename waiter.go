package imdsopts

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
	"github.com/cenkalti/backoff/v4"
)

// Outcomes of Apply, Wait and DryRun that callers branch on with errors.Is.
// Errors that come from an EC2 API error also wrap it, so errors.As with a
// smithy.APIError still gives EC2's code.
var (
	// ErrTimeout: WaiterOptions.MaxWait passed before EC2 reported the
	// options applied. The error's message names the last state seen.
	ErrTimeout = errors.New("timed out waiting for metadata options")
	// ErrInstanceNotFound: EC2 does not know the instance, still after
	// WaiterOptions.NotFoundGrace (new IDs take a moment to propagate).
	ErrInstanceNotFound = errors.New("instance not found")
	// ErrInstanceTerminated: the instance is shutting down or terminated, so
	// the options will never be applied.
	ErrInstanceTerminated = errors.New("instance terminated")
	// ErrPendingUntilStart: the instance is stopped; EC2 applies the change
	// when it is next started. Wait returns it at once with the options seen.
	ErrPendingUntilStart = errors.New("instance stopped: options apply when it starts")
	// ErrIMDSv2Enforced: the account enforces IMDSv2 (HttpTokensEnforced
	// "enabled"), so HttpTokens "optional" is refused.
	ErrIMDSv2Enforced = errors.New("account enforces IMDSv2")
	// ErrUnauthorized: the caller lacks permission (UnauthorizedOperation).
	ErrUnauthorized = errors.New("not authorized")
	// ErrDryRunIgnored: a DryRun call succeeded instead of answering
	// DryRunOperation, so the endpoint did not honour DryRun and may have
	// applied the change. Some emulators do this; EC2 does not.
	ErrDryRunIgnored = errors.New("DryRun not honoured by the endpoint")
)

// API is the part of *ec2.Client that Apply, Wait and DryRun call.
type API interface {
	ModifyInstanceMetadataOptions(ctx context.Context, params *ec2.ModifyInstanceMetadataOptionsInput, optFns ...func(*ec2.Options)) (*ec2.ModifyInstanceMetadataOptionsOutput, error)
	DescribeInstances(ctx context.Context, params *ec2.DescribeInstancesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error)
}

// Defaults of WaiterOptions. EC2 usually applies metadata options within
// seconds, so the waiter starts polling sooner than the SDK's generated
// waiters (15 s to 120 s).
const (
	DefaultMinDelay      = 2 * time.Second
	DefaultMaxDelay      = 30 * time.Second
	DefaultMaxWait       = 10 * time.Minute
	DefaultNotFoundGrace = time.Minute
)

// WaiterOptions configures Apply and its Waiter, in the style of the SDK's
// waiters. Zero fields take the defaults above.
type WaiterOptions struct {
	// MinDelay and MaxDelay bound the delay between two attempts. Delays grow
	// exponentially from MinDelay, with random jitter, up to MaxDelay.
	MinDelay, MaxDelay time.Duration
	// MaxWait bounds the whole of Wait, and separately the retries of the
	// ModifyInstanceMetadataOptions call in Apply.
	MaxWait time.Duration
	// NotFoundGrace is how long after Apply began InvalidInstanceID.NotFound
	// is taken as an ID that has not propagated yet, and retried.
	NotFoundGrace time.Duration
	// OnAttempt, when set, is called after every API call Apply and Wait
	// make, from the calling goroutine.
	OnAttempt func(Attempt)
	// ClientOptions are passed to every API call.
	ClientOptions []func(*ec2.Options)
}

// Attempt describes one API call made by Apply or Wait, for
// WaiterOptions.OnAttempt.
type Attempt struct {
	InstanceID string
	Operation  string // "ModifyInstanceMetadataOptions" or "DescribeInstances"
	Number     int    // 1 for the first call of the operation
	// Options are the metadata options the call returned; nil if it failed.
	Options *types.InstanceMetadataOptionsResponse
	// InstanceState is the instance's state seen by DescribeInstances.
	InstanceState types.InstanceStateName
	Err           error         // the call's error, nil if it succeeded
	NextDelay     time.Duration // how long until the next attempt; 0 if none
}

func (o *WaiterOptions) fill(optFns []func(*WaiterOptions)) error {
	for _, fn := range optFns {
		fn(o)
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&o.MinDelay, DefaultMinDelay)
	def(&o.MaxDelay, DefaultMaxDelay)
	def(&o.MaxWait, DefaultMaxWait)
	def(&o.NotFoundGrace, DefaultNotFoundGrace)
	var errs []error
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"MinDelay", o.MinDelay}, {"MaxDelay", o.MaxDelay}, {"MaxWait", o.MaxWait}, {"NotFoundGrace", o.NotFoundGrace}} {
		if d.v < 0 {
			errs = append(errs, &ValidationError{Field: "WaiterOptions." + d.name, Value: d.v.String(), Rule: "must not be negative"})
		}
	}
	if o.MaxDelay < o.MinDelay {
		errs = append(errs, &ValidationError{Field: "WaiterOptions.MaxDelay", Value: o.MaxDelay.String(),
			Rule: "must not be less than MinDelay " + o.MinDelay.String()})
	}
	return errors.Join(errs...)
}

// Waiter waits until EC2 reports an instance's metadata options applied.
// Apply returns one.
type Waiter struct {
	api     API
	id      string
	set     Set
	opts    WaiterOptions
	started time.Time
	initial *types.InstanceMetadataOptionsResponse
}

// Apply validates s and instanceID, sends one ModifyInstanceMetadataOptions
// call with the fields s holds, and returns a Waiter for the change. Invalid
// input is an error matching ErrInvalid, before any call. Throttling, 5xx
// answers and InvalidInstanceID.NotFound within NotFoundGrace are retried
// with backoff (the call is idempotent); other errors end Apply at once. A
// zero s sends nothing: its Waiter only waits for any change under way.
func Apply(ctx context.Context, api API, instanceID string, s Set, optFns ...func(*WaiterOptions)) (*Waiter, error) {
	w := &Waiter{api: api, id: instanceID, set: s}
	if err := errors.Join(w.opts.fill(optFns), ValidateInstanceID(instanceID)); err != nil {
		return nil, err
	}
	w.started = time.Now()
	if s.IsZero() {
		return w, nil
	}
	in := s.ModifyInput(instanceID)
	err := w.poll(ctx, "ModifyInstanceMetadataOptions", func(ctx context.Context, a *Attempt) {
		out, err := api.ModifyInstanceMetadataOptions(ctx, in, w.opts.ClientOptions...)
		if a.Err = err; err == nil {
			a.Options = out.InstanceMetadataOptions
		}
	}, func(a *Attempt) (bool, error) {
		w.initial = a.Options
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	return w, nil
}

// InstanceID returns the ID of the instance the Waiter watches.
func (w *Waiter) InstanceID() string { return w.id }

// Wait polls DescribeInstances, with jittered exponential backoff from
// MinDelay to MaxDelay, until EC2 reports the options State "applied" with
// values that satisfy the set, and returns them. When the answer of Apply's
// call already says so, Wait returns without any call. The first poll is
// immediate, so a stopped, terminated or unknown instance is reported at
// once.
//
// Wait ends with ErrTimeout after MaxWait, ErrPendingUntilStart (with the
// options seen) for a stopped instance, ErrInstanceTerminated,
// ErrInstanceNotFound after NotFoundGrace, the context's error when ctx is
// done, or any other API error, wrapped. Throttling and 5xx answers are
// retried. Wait may be called again, for example after ErrTimeout.
func (w *Waiter) Wait(ctx context.Context) (*types.InstanceMetadataOptionsResponse, error) {
	if o := w.initial; o != nil && o.State == types.InstanceMetadataOptionsStateApplied && w.set.SatisfiedBy(o) {
		return o, nil
	}
	var seen *types.InstanceMetadataOptionsResponse
	in := &ec2.DescribeInstancesInput{InstanceIds: []string{w.id}}
	err := w.poll(ctx, "DescribeInstances", func(ctx context.Context, a *Attempt) {
		out, err := w.api.DescribeInstances(ctx, in, w.opts.ClientOptions...)
		if a.Err = err; err != nil {
			return
		}
		inst := findInstance(out, w.id)
		if inst == nil {
			a.Err = fmt.Errorf("DescribeInstances did not return it: %w", ErrInstanceNotFound)
			return
		}
		a.Options = inst.MetadataOptions
		if inst.State != nil {
			a.InstanceState = inst.State.Name
		}
	}, func(a *Attempt) (bool, error) {
		seen = a.Options
		pending := seen == nil || seen.State != types.InstanceMetadataOptionsStateApplied
		switch a.InstanceState {
		case types.InstanceStateNameShuttingDown, types.InstanceStateNameTerminated:
			return false, fmt.Errorf("imdsopts: %s is %s: %w", w.id, a.InstanceState, ErrInstanceTerminated)
		case types.InstanceStateNameStopped, types.InstanceStateNameStopping:
			if pending {
				return false, fmt.Errorf("imdsopts: %s is %s: %w", w.id, a.InstanceState, ErrPendingUntilStart)
			}
		}
		return !pending && w.set.SatisfiedBy(seen), nil
	})
	return seen, err
}

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

// poll calls call until done says so or returns an error, for at most
// MaxWait, sleeping between calls with jittered exponential backoff from
// MinDelay to MaxDelay. A call's error goes to judge; done sees only
// successful calls. OnAttempt hears of every call.
func (w *Waiter) poll(ctx context.Context, op string, call func(context.Context, *Attempt), done func(*Attempt) (bool, error)) error {
	b := newBackoff(w.opts.MinDelay, w.opts.MaxDelay)
	deadline := time.Now().Add(w.opts.MaxWait)
	for n := 1; ; n++ {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("imdsopts: %s: %s: %w", w.id, op, err)
		}
		a := Attempt{InstanceID: w.id, Operation: op, Number: n}
		call(ctx, &a)
		var finished bool
		var err error
		if a.Err == nil {
			finished, err = done(&a)
		} else {
			err = w.judge(ctx, a.Err)
		}
		remaining := time.Until(deadline)
		if !finished && err == nil && remaining > 0 {
			a.NextDelay = min(max(b.NextBackOff(), w.opts.MinDelay), w.opts.MaxDelay, remaining)
		}
		if w.opts.OnAttempt != nil {
			w.opts.OnAttempt(a)
		}
		switch {
		case finished || err != nil:
			return err
		case a.NextDelay == 0:
			return fmt.Errorf("imdsopts: %s: %s for %v: %s: %w", w.id, op, w.opts.MaxWait, lastSeen(w.set, a), ErrTimeout)
		}
		t := time.NewTimer(a.NextDelay)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("imdsopts: %s: %s: %s: %w", w.id, op, lastSeen(w.set, a), ctx.Err())
		case <-t.C:
		}
	}
}

// newBackoff returns delays that double from min up to max, each with up to
// ±50 % random jitter, with no limit of their own on the total time.
func newBackoff(min, max time.Duration) *backoff.ExponentialBackOff {
	b := backoff.NewExponentialBackOff()
	b.InitialInterval, b.MaxInterval, b.MaxElapsedTime = min, max, 0
	b.Multiplier, b.RandomizationFactor = 2, 0.5
	b.Reset()
	return b
}

// lastSeen describes an attempt for an error message.
func lastSeen(s Set, a Attempt) string {
	switch {
	case a.Err != nil:
		return "last error: " + a.Err.Error()
	case a.Options == nil:
		return "last state unknown"
	case a.Options.State == types.InstanceMetadataOptionsStateApplied:
		return fmt.Sprintf("last state %s, but %s still differs", a.Options.State, s.Changes(a.Options))
	default:
		return fmt.Sprintf("last state %s", a.Options.State)
	}
}

// judge sorts the error of a call: nil for those worth another try
// (throttling, 5xx, InvalidInstanceID.NotFound within NotFoundGrace), else
// the final error, mapped to this package's sentinels.
func (w *Waiter) judge(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("imdsopts: %s: %w", w.id, ctx.Err())
	}
	switch {
	case retryable(err):
		return nil
	case (isNotFound(err) || errors.Is(err, ErrInstanceNotFound)) && time.Since(w.started) < w.opts.NotFoundGrace:
		return nil
	case errors.Is(err, ErrInstanceNotFound):
		return fmt.Errorf("imdsopts: %s: %w", w.id, err)
	default:
		return apiFailure(w.id, w.set, err)
	}
}

// retryable reports whether err is worth another call, by the SDK's own
// rules: throttling, 5xx answers, connection errors.
func retryable(err error) bool {
	return retry.IsErrorRetryables(retry.DefaultRetryables).IsErrorRetryable(err) == aws.TrueTernary
}

// isNotFound reports whether EC2 answered InvalidInstanceID.NotFound.
func isNotFound(err error) bool {
	var apiErr smithy.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode() == "InvalidInstanceID.NotFound"
}

// apiFailure wraps a final API error, adding the sentinel its code means.
func apiFailure(id string, s Set, err error) error {
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) {
		return fmt.Errorf("imdsopts: %s: %w", id, err)
	}
	switch apiErr.ErrorCode() {
	case "UnauthorizedOperation":
		return fmt.Errorf("imdsopts: %s: %w: %w", id, ErrUnauthorized, err)
	case "InvalidInstanceID.NotFound":
		return fmt.Errorf("imdsopts: %s: %w: %w", id, ErrInstanceNotFound, err)
	case "UnsupportedOperation":
		if s.tokens == types.HttpTokensStateOptional {
			return fmt.Errorf("imdsopts: %s: HttpTokens \"optional\": %w: %w", id, ErrIMDSv2Enforced, err)
		}
	}
	return fmt.Errorf("imdsopts: %s: %w", id, err)
}

// DryRun asks EC2 whether the caller may apply s to instanceID, without
// applying it: nil when permitted (EC2 answers DryRunOperation), an error
// matching ErrUnauthorized when not, ErrInvalid for invalid input (before
// any call), ErrDryRunIgnored when the endpoint applied the call instead.
func DryRun(ctx context.Context, api API, instanceID string, s Set) error {
	in := s.ModifyInput(instanceID)
	if err := ValidateModifyInput(in); err != nil {
		return err
	}
	in.DryRun = aws.Bool(true)
	_, err := api.ModifyInstanceMetadataOptions(ctx, in)
	var apiErr smithy.APIError
	switch {
	case err == nil:
		return fmt.Errorf("imdsopts: %s: %w", instanceID, ErrDryRunIgnored)
	case errors.As(err, &apiErr) && apiErr.ErrorCode() == "DryRunOperation":
		return nil
	default:
		return apiFailure(instanceID, s, err)
	}
}

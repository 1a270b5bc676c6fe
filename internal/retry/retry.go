// Package retry tries a call again on throttling, 5xx answers and answers
// that are not final yet, on one schedule bounded by a deadline, and tells
// which failures are worth another attempt.
package retry

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/cenkalti/backoff/v4"
	"golang.org/x/time/rate"
)

// The retry core: every call the module makes that may be tried again
// (Apply's change, Wait's polls, DryRun, the fleet's calls, the IMDSv1 gate)
// goes through Policy.Do, so throttling, 5xx answers, IDs that have not
// propagated and answers that are not final yet are handled by one loop with
// one schedule.

// ErrNotYet is what an operation returns when its call succeeded but the
// state it waits for is not reached yet; it is always tried again. Wrap it to
// say what was seen (or return a [NotYet]): the message of the last one ends
// up in ErrTimeout's.
var ErrNotYet = errors.New("not yet")

// ErrTimeout is matched by the error of a loop whose MaxWait passed while
// its attempts were still worth another; the public packages re-export it.
var ErrTimeout = errors.New("timed out")

// NotYet is an answer that is valid but not final; its text says what was
// seen. It matches ErrNotYet.
type NotYet string

func (e NotYet) Error() string { return string(e) }

// Is reports whether target is ErrNotYet.
func (e NotYet) Is(target error) bool { return target == ErrNotYet }

// The schedule of delays between two attempts: each delay is at most
// DelayRatio times the time waited so far (but never less than MinDelay nor
// more than MaxDelay), and jitter only shortens it, by up to delayJitter.
// So a state reached at time T after the wait began is seen by T*(1+ratio) +
// MinDelay at the latest.
const (
	DelayRatio  = 0.5
	delayJitter = 0.2
)

// schedule is the backoff.BackOff of one retried operation.
type schedule struct {
	min, max        time.Duration
	start, deadline time.Time
	rnd             func() float64 // in [0, 1)
}

// NextBackOff returns the delay before the next attempt, cut to the time
// left before the deadline, or backoff.Stop once the deadline has passed.
func (s *schedule) NextBackOff() time.Duration {
	now := time.Now()
	left := s.deadline.Sub(now)
	if left <= 0 {
		return backoff.Stop
	}
	limit := min(max(time.Duration(DelayRatio*float64(now.Sub(s.start))), s.min), s.max)
	d := max(time.Duration(float64(limit)*(1-delayJitter*s.rnd())), s.min)
	return min(d, left)
}

// Reset does nothing: the schedule depends only on the time waited.
func (s *schedule) Reset() {}

// Policy says how one operation is tried again.
type Policy struct {
	MinDelay, MaxDelay time.Duration
	// MaxWait bounds the whole loop, from the first attempt.
	MaxWait time.Duration
	// Start is when the wait began; delays grow with the time since. The
	// zero time means the first attempt.
	Start time.Time
	// Retry reports whether a failed attempt is worth another; ErrNotYet
	// always is. Nil means Retryable.
	Retry func(error) bool
	// Before runs before each attempt (pacing, a circuit breaker); an error
	// from it ends the loop with that error.
	Before func(context.Context) error
	// Halt, when set, is asked after each failed attempt worth another
	// whether the loop must end now instead of sleeping until the next one
	// (a circuit breaker that this attempt opened); its error ends the
	// loop.
	Halt func() error
	// Observe, when set, hears of every attempt: its number (1 for the
	// first), its error, and the delay until the next one (0 if none).
	Observe func(n int, err error, next time.Duration)
	// Rnd draws the jitter, in [0, 1); nil means math/rand/v2.
	Rnd func() float64
}

// Do calls op until it returns nil, an error that is not worth another try,
// or MaxWait has passed, sleeping between attempts as the schedule says.
// It returns nil, op's final error, the context's error (wrapped with op's
// last error, when there was one), or, when time ran out, an error matching
// ErrTimeout that wraps op's last error.
func (p *Policy) Do(ctx context.Context, op func(context.Context) error) error {
	now := time.Now()
	sched := &schedule{min: p.MinDelay, max: max(p.MaxDelay, p.MinDelay), start: p.Start,
		deadline: now.Add(p.MaxWait), rnd: p.Rnd}
	if sched.start.IsZero() {
		sched.start = now
	}
	if sched.rnd == nil {
		sched.rnd = rand.Float64
	}
	retry := p.Retry
	if retry == nil {
		retry = Retryable
	}
	n, observed := 0, 0
	var last error
	observe := func(err error, next time.Duration) {
		observed = n
		if p.Observe != nil {
			p.Observe(n, err, next)
		}
	}
	err := backoff.RetryNotify(func() error {
		if p.Before != nil {
			if err := p.Before(ctx); err != nil {
				return backoff.Permanent(err)
			}
		}
		n++
		last = op(ctx)
		switch err := last; {
		case err == nil:
			observe(nil, 0)
			return nil
		case ctx.Err() != nil || !errors.Is(err, ErrNotYet) && !retry(err):
			observe(err, 0)
			return backoff.Permanent(err)
		default:
			if p.Halt != nil {
				if herr := p.Halt(); herr != nil {
					observe(err, 0)
					return backoff.Permanent(herr)
				}
			}
			return err
		}
	}, backoff.WithContext(sched, ctx), observe)
	if n > observed {
		observe(last, 0) // the schedule ended the loop after this attempt
	}
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil && errors.Is(err, ctx.Err()):
		if last != nil && !errors.Is(last, ctx.Err()) {
			return fmt.Errorf("%w (last: %w)", err, last)
		}
		return err
	case err == last && (errors.Is(err, ErrNotYet) || retry(err)):
		return fmt.Errorf("%w after %v: %w", ErrTimeout, p.MaxWait, err)
	default:
		return err
	}
}

// WaitLimiter waits for lim's next token. A wait that the context's deadline
// would cut short matches context.DeadlineExceeded (the limiter's own error
// does not), so callers can tell it from other failures.
func WaitLimiter(ctx context.Context, lim *rate.Limiter) error {
	err := lim.Wait(ctx)
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return ctx.Err()
	}
	if _, ok := ctx.Deadline(); ok {
		return fmt.Errorf("%w: %v", context.DeadlineExceeded, err)
	}
	return err
}

// Package pace makes the calls of one operation in one account and Region:
// each paced to its EC2 bucket, counted, observed, retried, and stopped by a
// circuit breaker when calls keep failing; a paged listing is never taken
// short.
package pace

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/imdsopts/imdsopts/internal/ec2limits"
	"github.com/imdsopts/imdsopts/internal/retry"
)

// ErrTooManyFailures is matched by the error of every call made after the
// breaker opened: MaxConsecutiveFailures calls in a row failed. The public
// packages re-export it.
var ErrTooManyFailures = errors.New("too many consecutive failures")

// Defaults of the settings every paced operation has.
const (
	DefaultConcurrency            = 10
	DefaultMaxConsecutiveFailures = 10
)

// Attempt is one attempt of a call, for Config.Observe.
type Attempt struct {
	Operation  string
	InstanceID string // empty for a call about many instances
	Number     int    // 1 for the first attempt
	Elapsed    time.Duration
	Err        error
	NextDelay  time.Duration // 0 when there is no next attempt
}

// Config configures a Pacer.
type Config struct {
	// MinDelay and MaxDelay bound the delay before a call is tried again,
	// MaxWait the attempts of one call.
	MinDelay, MaxDelay, MaxWait time.Duration
	// Rnd draws the jitter of the delays, in [0, 1); nil means
	// math/rand/v2.
	Rnd func() float64
	// MaxConsecutiveFailures opens the breaker when that many calls in a
	// row fail.
	MaxConsecutiveFailures int
	// ThrottleBudget opens the breaker when the calls of one API have been
	// throttled for that long with none of them answered in between; 0
	// means never.
	ThrottleBudget time.Duration
	// Observe, when set, hears of every attempt, never from two goroutines
	// at once.
	Observe func(Attempt)
}

// Pacer makes an operation's API calls: each paced to its bucket, counted,
// reported to Observe, tried again through the retry core, and watched by a
// circuit breaker that stops the operation when calls keep failing. It is
// safe for use by many goroutines.
type Pacer struct {
	cfg   Config
	start time.Time

	mu        sync.Mutex
	calls     map[string]int
	throttled int
	failures  int   // calls in a row that failed
	tripped   error // why the breaker opened; nil while closed
	// throttling holds, by operation, the throttled answers since its
	// last answered call.
	throttling map[string]throttleRun

	observeMu sync.Mutex
}

// New returns a Pacer whose operation begins now.
func New(cfg Config) *Pacer {
	return &Pacer{cfg: cfg, start: time.Now(), calls: map[string]int{}}
}

// Limiter returns a rate limiter for calls to an EC2 bucket that refills at
// r and holds burst tokens, holding one token back (when the burst has more
// than one). EC2's bucket begins to refill when the first call reaches it,
// a network's latency after the limiter let that call go; a later call that
// travels faster (the first ones also opened their connections) reaches an
// empty bucket and is throttled, and the SDK's own retries of it then take
// tokens the limiter never counted, so that more are throttled. The token
// held back absorbs a difference of latency up to its refill time (200 ms
// for ModifyInstanceMetadataOptions), at the cost of one call's worth of
// time in a run.
func Limiter(r rate.Limit, burst int) *rate.Limiter {
	return rate.NewLimiter(r, max(burst-1, 1))
}

// BucketLimiter returns Limiter for the bucket b.
func BucketLimiter(b ec2limits.Bucket) *rate.Limiter {
	return Limiter(rate.Limit(b.Refill), b.Size)
}

// throttleRun is an API's throttled answers since its last answered call:
// when the first came, and how many.
type throttleRun struct {
	since time.Time
	n     int
}

// record counts a call of op that ended with err and feeds the breaker: a
// call that got no answer, a 5xx, or a refusal other than throttling and
// not-found is a failure; an answer closes the run of failures and op's
// run of throttling; throttling opens the breaker once op's calls have
// been throttled throughout ThrottleBudget.
func (p *Pacer) record(op string, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls[op]++
	switch {
	case err == nil, errors.Is(err, retry.ErrNotYet), retry.IsNotFound(err):
		p.failures = 0
		delete(p.throttling, op)
	case retry.Throttled(err):
		p.throttled++
		if p.throttling == nil {
			p.throttling = map[string]throttleRun{}
		}
		now := time.Now()
		run, ok := p.throttling[op]
		if !ok {
			run.since = now
		}
		run.n++
		p.throttling[op] = run
		if d := now.Sub(run.since); p.cfg.ThrottleBudget > 0 && d >= p.cfg.ThrottleBudget && p.tripped == nil {
			p.tripped = fmt.Errorf("%w: %d calls of %s throttled over %v with none answered (ThrottleBudget %v), the last with: %w",
				ErrTooManyFailures, run.n, op, d.Round(time.Second), p.cfg.ThrottleBudget, err)
		}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
	default:
		p.failures++
		if p.failures >= p.cfg.MaxConsecutiveFailures && p.tripped == nil {
			p.tripped = fmt.Errorf("%w: %d calls in a row failed, the last with: %w", ErrTooManyFailures, p.failures, err)
		}
	}
}

// Reset closes the breaker, for calls that must be tried whatever failed
// before: a rollout's rollback, after CloudWatch failed during the bake.
// It opens again when they keep failing.
func (p *Pacer) Reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.failures, p.tripped = 0, nil
}

// Open returns why the breaker stopped the operation, or nil.
func (p *Pacer) Open() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.tripped
}

// ready waits for lim's next token, unless the breaker is open.
func (p *Pacer) ready(ctx context.Context, lim *rate.Limiter) error {
	if err := p.Open(); err != nil {
		return err
	}
	return retry.WaitLimiter(ctx, lim)
}

// Counts returns the calls made so far, by operation.
func (p *Pacer) Counts() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return maps.Clone(p.calls)
}

// Throttled returns the throttling answers so far.
func (p *Pacer) Throttled() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.throttled
}

// Elapsed returns the time since the operation began.
func (p *Pacer) Elapsed() time.Duration { return time.Since(p.start) }

// observe passes a to Observe, one call at a time.
func (p *Pacer) observe(a Attempt) {
	if p.cfg.Observe == nil {
		return
	}
	p.observeMu.Lock()
	defer p.observeMu.Unlock()
	p.cfg.Observe(a)
}

// Call is one call of an operation: its API operation, the instance it is
// about (empty for a call about many), the bucket that paces it, and which
// failures are worth another attempt (nil: throttling and 5xx answers).
type Call struct {
	Op    string
	ID    string
	Lim   *rate.Limiter
	Retry func(error) bool
}

// Do makes c through the retry core, within MaxWait: fn is one attempt, and
// its error is recorded. It reports whether any attempt was made.
func (p *Pacer) Do(ctx context.Context, c Call, fn func(context.Context) error) (sent bool, err error) {
	policy := &retry.Policy{MinDelay: p.cfg.MinDelay, MaxDelay: p.cfg.MaxDelay, MaxWait: p.cfg.MaxWait, Retry: c.Retry, Rnd: p.cfg.Rnd,
		Before: func(ctx context.Context) error { return p.ready(ctx, c.Lim) },
		Halt:   p.Open,
		Observe: func(n int, err error, next time.Duration) {
			p.observe(Attempt{Operation: c.Op, InstanceID: c.ID, Number: n, Elapsed: time.Since(p.start), Err: err, NextDelay: next})
		}}
	err = policy.Do(ctx, func(ctx context.Context) error {
		sent = true
		err := fn(ctx)
		p.record(c.Op, err)
		return err
	})
	return sent, err
}

// Once makes one attempt of c, paced and recorded, without trying again.
func (p *Pacer) Once(ctx context.Context, c Call, fn func(context.Context) error) (sent bool, err error) {
	if err := p.ready(ctx, c.Lim); err != nil {
		return false, err
	}
	err = fn(ctx)
	p.record(c.Op, err)
	p.observe(Attempt{Operation: c.Op, InstanceID: c.ID, Number: 1, Elapsed: time.Since(p.start), Err: err})
	return true, err
}

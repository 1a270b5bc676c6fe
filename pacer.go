package imdsopts

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// pacer makes a fleet operation's API calls: each paced to its bucket,
// counted, reported to OnAttempt, tried again through the retry core, and
// watched by a circuit breaker that stops the operation when calls keep
// failing.
type pacer struct {
	api    API
	o      *FleetOptions
	start  time.Time
	modLim *rate.Limiter
	desLim *rate.Limiter
	cwLim  *rate.Limiter
	// descLim paces the other Describe calls of the container check
	// (DescribeLaunchTemplateVersions, and Auto Scaling's): EC2's bucket of
	// a non-mutating API, each of which has its own.
	descLim *rate.Limiter

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

// GetMetricData is paced well below CloudWatch's default quota for it (50
// transactions a second), as the gate shares the account with others.
const (
	metricsRate  = 10
	metricsBurst = 10
)

func newPacer(api API, o *FleetOptions) *pacer {
	return &pacer{api: api, o: o, start: time.Now(), calls: map[string]int{},
		modLim:  bucketLimiter(o.ModifyRate, o.ModifyBurst),
		desLim:  bucketLimiter(o.DescribeRate, o.DescribeBurst),
		cwLim:   rate.NewLimiter(metricsRate, metricsBurst),
		descLim: bucketLimiter(DefaultAccountDescribeRate, DefaultAccountDescribeBurst)}
}

// bucketLimiter paces calls to an EC2 bucket that refills at r and holds
// burst tokens, holding one token back (when the burst has more than one).
// EC2's bucket begins to refill when the first call reaches it, a
// network's latency after the limiter let that call go; a later call that
// travels faster (the first ones also opened their connections) reaches an
// empty bucket and is throttled, and the SDK's own retries of it then take
// tokens the limiter never counted, so that more are throttled. The token
// held back absorbs a difference of latency up to its refill time (200 ms
// for ModifyInstanceMetadataOptions), at the cost of one call's worth of
// time in a run.
func bucketLimiter(r rate.Limit, burst int) *rate.Limiter {
	return rate.NewLimiter(r, max(burst-1, 1))
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
func (p *pacer) record(op string, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls[op]++
	switch {
	case err == nil, errors.Is(err, errNotYet), isNotFound(err):
		p.failures = 0
		delete(p.throttling, op)
	case throttled(err):
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
		if d := now.Sub(run.since); d >= p.o.ThrottleBudget && p.tripped == nil {
			p.tripped = fmt.Errorf("%w: %d calls of %s throttled over %v with none answered (ThrottleBudget %v), the last with: %w",
				ErrTooManyFailures, run.n, op, d.Round(time.Second), p.o.ThrottleBudget, err)
		}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
	default:
		p.failures++
		if p.failures >= p.o.MaxConsecutiveFailures && p.tripped == nil {
			p.tripped = fmt.Errorf("%w: %d calls in a row failed, the last with: %w", ErrTooManyFailures, p.failures, err)
		}
	}
}

// reset closes the breaker, for calls that must be tried whatever failed
// before: a rollout's rollback, after CloudWatch failed during the bake.
// It opens again when they keep failing.
func (p *pacer) reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.failures, p.tripped = 0, nil
}

// open returns why the breaker stopped the operation, or nil.
func (p *pacer) open() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.tripped
}

// ready waits for lim's next token, unless the breaker is open.
func (p *pacer) ready(ctx context.Context, lim *rate.Limiter) error {
	if err := p.open(); err != nil {
		return err
	}
	return waitLimiter(ctx, lim)
}

func (p *pacer) counts() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return maps.Clone(p.calls)
}

func (p *pacer) throttledCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.throttled
}

// observe passes a to OnAttempt, one call at a time.
func (p *pacer) observe(a Attempt) {
	if p.o.OnAttempt == nil {
		return
	}
	p.observeMu.Lock()
	defer p.observeMu.Unlock()
	p.o.OnAttempt(a)
}

// call is one call of the fleet: its operation, the instance it is about
// (empty for a call about many), the bucket that paces it, and which
// failures are worth another attempt (nil: throttling and 5xx answers).
type call struct {
	op    string
	id    string
	lim   *rate.Limiter
	retry func(error) bool
}

// do makes c through the retry core, within MaxWait: fn is one attempt, and
// its error is recorded. It reports whether any attempt was made.
func (p *pacer) do(ctx context.Context, c call, fn func(context.Context) error) (sent bool, err error) {
	policy := &retryPolicy{minDelay: p.o.MinDelay, maxDelay: p.o.MaxDelay, maxWait: p.o.MaxWait, retry: c.retry, rnd: p.o.rnd,
		before: func(ctx context.Context) error { return p.ready(ctx, c.lim) },
		halt:   p.open,
		observe: func(n int, err error, next time.Duration) {
			p.observe(Attempt{Operation: c.op, InstanceID: c.id, Number: n, Elapsed: time.Since(p.start), Err: err, NextDelay: next})
		}}
	err = policy.do(ctx, func(ctx context.Context) error {
		sent = true
		err := fn(ctx)
		p.record(c.op, err)
		return err
	})
	return sent, err
}

// once makes one attempt of c, paced and recorded, without trying again.
func (p *pacer) once(ctx context.Context, c call, fn func(context.Context) error) (sent bool, err error) {
	if err := p.ready(ctx, c.lim); err != nil {
		return false, err
	}
	err = fn(ctx)
	p.record(c.op, err)
	p.observe(Attempt{Operation: c.op, InstanceID: c.id, Number: 1, Elapsed: time.Since(p.start), Err: err})
	return true, err
}

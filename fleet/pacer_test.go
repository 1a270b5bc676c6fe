package fleet_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/imdsopts/imdsopts"
	"github.com/imdsopts/imdsopts/fake"
	"github.com/imdsopts/imdsopts/fleet"
	"github.com/imdsopts/imdsopts/internal/testenv"
)

// unreachable is what the SDK returns when nothing answers at the endpoint:
// an operation error around a dial error, with no HTTP response.
func unreachable(op string) error {
	return &smithy.OperationError{ServiceID: "EC2", OperationName: op,
		Err: &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}}
}

// deadEndpoint is an EC2 whose calls get no answer, once planning is done.
type deadEndpoint struct {
	*fake.EC2
	dead bool
}

func (d *deadEndpoint) DescribeInstances(ctx context.Context, in *ec2.DescribeInstancesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error) {
	if d.dead {
		d.EC2.DescribeInstances(ctx, in, optFns...) // counted
		return nil, unreachable("DescribeInstances")
	}
	return d.EC2.DescribeInstances(ctx, in, optFns...)
}

func (d *deadEndpoint) ModifyInstanceMetadataOptions(ctx context.Context, in *ec2.ModifyInstanceMetadataOptionsInput, optFns ...func(*ec2.Options)) (*ec2.ModifyInstanceMetadataOptionsOutput, error) {
	if d.dead {
		return nil, unreachable("ModifyInstanceMetadataOptions")
	}
	return d.EC2.ModifyInstanceMetadataOptions(ctx, in, optFns...)
}

// TestDeadEndpointEndsAtOnce: a service that cannot be reached ends plan at
// its first call, and stops apply after MaxConsecutiveFailures calls: the
// rest are not attempted, with the cause. Before this, each instance was
// retried for MaxWait, ten at a time: 40 instances took 40 minutes.
func TestDeadEndpointEndsAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := fake.New()
		testenv.Fleet(t, f, 40, nil)
		api := &deadEndpoint{EC2: f, dead: true}
		s := testenv.MustNew(t, imdsopts.RequireIMDSv2())
		skip := func(o *fleet.Options) { o.SkipIMDSv1Gate = true }

		start := time.Now()
		_, err := fleet.NewPlan(t.Context(), api, fleet.Selection{}, s, skip)
		if !errors.Is(err, syscall.ECONNREFUSED) || time.Since(start) != 0 || f.Calls("DescribeInstances") != 1 {
			t.Fatalf("fleet.NewPlan = %v after %v and %d calls, want the dial error at once, after 1 call",
				err, time.Since(start), f.Calls("DescribeInstances"))
		}

		api.dead = false
		plan, err := fleet.NewPlan(t.Context(), api, fleet.Selection{}, s, skip)
		if err != nil {
			t.Fatal(err)
		}
		api.dead = true
		var modifies int
		start = time.Now()
		report, err := fleet.Apply(t.Context(), api, plan, func(o *fleet.Options) {
			o.OnAttempt = func(a imdsopts.Attempt) {
				if a.Operation == "ModifyInstanceMetadataOptions" {
					modifies++
				}
			}
		})
		if !errors.Is(err, imdsopts.ErrTooManyFailures) || !errors.Is(err, syscall.ECONNREFUSED) {
			t.Fatalf("fleet.Apply error = %v, want ErrTooManyFailures with the cause", err)
		}
		c := report.Counts()
		if c[fleet.StatusFailed]+c[fleet.StatusNotAttempted] != 40 || c[fleet.StatusNotAttempted] < 40-2*defaultOptions(t).MaxConsecutiveFailures {
			t.Errorf("counts %v: want every instance failed or not attempted, most not attempted", c)
		}
		for _, it := range report.Items {
			if it.Status == fleet.StatusNotAttempted && !errors.Is(it.Err, imdsopts.ErrTooManyFailures) {
				t.Errorf("%s: not attempted with %v, want the breaker's cause", it.InstanceID, it.Err)
			}
		}
		if modifies > defaultOptions(t).MaxConsecutiveFailures+fleet.DefaultConcurrency {
			t.Errorf("%d Modify calls to a dead endpoint", modifies)
		}
		if el := time.Since(start); el > 10*time.Second {
			t.Errorf("stopped after %v of simulated time", el)
		}
	})
}

// TestEveryCallRefusedStops: a service that refuses every change (a 5xx
// storm here) stops the fleet early too; throttling alone never does.
func TestEveryCallRefusedStops(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := fake.New(func(o *fake.Options) { o.ApplyDelay = time.Second })
		testenv.Fleet(t, f, 30, nil)
		s := testenv.MustNew(t, imdsopts.RequireIMDSv2())
		plan, err := fleet.NewPlan(t.Context(), f, fleet.Selection{}, s, func(o *fleet.Options) { o.SkipIMDSv1Gate = true })
		if err != nil {
			t.Fatal(err)
		}
		f.FailNext("ModifyInstanceMetadataOptions", 1000, fake.NewAPIError(503, "Unavailable", "The service is unavailable."))
		start := time.Now()
		report, err := fleet.Apply(t.Context(), f, plan)
		if !errors.Is(err, imdsopts.ErrTooManyFailures) {
			t.Fatalf("fleet.Apply error = %v, want ErrTooManyFailures", err)
		}
		if el := time.Since(start); el > time.Minute {
			t.Errorf("stopped after %v", el)
		}
		if n := report.Counts()[fleet.StatusApplied]; n != 0 {
			t.Errorf("%d applied", n)
		}

		// The same number of throttled answers is retried through.
		f2 := fake.New(func(o *fake.Options) { o.ApplyDelay = time.Second })
		testenv.Fleet(t, f2, 30, nil)
		plan, err = fleet.NewPlan(t.Context(), f2, fleet.Selection{}, s, func(o *fleet.Options) { o.SkipIMDSv1Gate = true })
		if err != nil {
			t.Fatal(err)
		}
		f2.FailNext("ModifyInstanceMetadataOptions", 60, fake.NewAPIError(503, "RequestLimitExceeded", "Request limit exceeded."))
		report, err = fleet.Apply(t.Context(), f2, plan)
		if err != nil || report.Counts()[fleet.StatusApplied] != 30 || report.Throttled != 60 {
			t.Fatalf("throttled fleet: %v, counts %v, throttled %d", err, report.Counts(), report.Throttled)
		}
	})
}

// TestLimiterWaitCutByDeadline: a context deadline that ends a wait for the
// request bucket matches context.DeadlineExceeded.
func TestLimiterWaitCutByDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := fake.New(func(o *fake.Options) { o.ApplyDelay = 0 })
		testenv.Fleet(t, f, 5, nil)
		s := testenv.MustNew(t, imdsopts.RequireIMDSv2())
		slow := func(o *fleet.Options) {
			o.SkipIMDSv1Gate, o.ModifyRate, o.ModifyBurst, o.Concurrency = true, 0.01, 1, 1 // a call every 100 s
		}
		plan, err := fleet.NewPlan(t.Context(), f, fleet.Selection{}, s, slow)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		report, err := fleet.Apply(ctx, f, plan)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("fleet.Apply error = %v, want context.DeadlineExceeded", err)
		}
		for _, it := range report.Items {
			if it.Status == fleet.StatusNotAttempted && !errors.Is(it.Err, context.DeadlineExceeded) {
				t.Errorf("%s not attempted with %v, want DeadlineExceeded", it.InstanceID, it.Err)
			}
		}
	})
}

// cutResponse is what the SDK returns when the connection closes while it
// reads a 200 answer's body: a deserialization failure around a closed
// connection, with the HTTP status of the answer.
func cutResponse(op string) error {
	return &smithy.OperationError{ServiceID: "EC2", OperationName: op,
		Err: &awshttp.ResponseError{ResponseError: &smithyhttp.ResponseError{
			Response: &smithyhttp.Response{Response: &http.Response{StatusCode: 200, Header: http.Header{}}},
			Err: &smithy.DeserializationError{Err: fmt.Errorf("failed to decode response body, read tcp: %w",
				&net.OpError{Op: "read", Net: "tcp", Err: net.ErrClosed})}}}}
}

// TestCutResponseIsRetried: a response cut short by a closed connection is
// tried again, as the SDK's retryer does, where a refused connection is not.
func TestCutResponseIsRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := fake.New(func(o *fake.Options) { o.ApplyDelay = 0 })
		id := testenv.Launch(t, f, "", nil)
		f.FailNext("ModifyInstanceMetadataOptions", 1, cutResponse("ModifyInstanceMetadataOptions"))
		f.FailNext("DescribeInstances", 1, cutResponse("DescribeInstances"))
		w, err := imdsopts.Apply(t.Context(), f, id, testenv.MustNew(t, imdsopts.RequireIMDSv2()))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Wait(t.Context()); err != nil {
			t.Fatal(err)
		}
		if m, d := f.Calls("ModifyInstanceMetadataOptions"), f.Calls("DescribeInstances"); m != 2 || d != 2 {
			t.Errorf("%d Modify and %d Describe calls, want each cut one tried again", m, d)
		}
	})
}

// slowStart is an EC2 whose ModifyInstanceMetadataOptions calls take first
// to reach it while the first connections open (for the first duration
// after the first call), and rest after: EC2's bucket begins to refill
// only when the first call arrives.
type slowStart struct {
	*fake.EC2
	first, rest time.Duration
	mu          sync.Mutex
	start       time.Time
}

func (s *slowStart) ModifyInstanceMetadataOptions(ctx context.Context, in *ec2.ModifyInstanceMetadataOptionsInput, optFns ...func(*ec2.Options)) (*ec2.ModifyInstanceMetadataOptionsOutput, error) {
	s.mu.Lock()
	if s.start.IsZero() {
		s.start = time.Now()
	}
	latency := s.rest
	if time.Since(s.start) < s.first {
		latency = s.first
	}
	s.mu.Unlock()
	time.Sleep(latency)
	return s.EC2.ModifyInstanceMetadataOptions(ctx, in, optFns...)
}

// TestCallsThatTravelFasterAreNotThrottled: the pacer holds a token of
// EC2's bucket back, so that a call which reaches EC2 sooner after its
// token than the first call did (here 150 ms sooner) is not throttled.
// Paced to the full burst, every such call was: over the wire, the SDK's
// retries of them then took tokens the pacer never counted, and a quarter
// of a 2,000-instance apply's requests were throttled.
func TestCallsThatTravelFasterAreNotThrottled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := fake.New(func(o *fake.Options) { o.Throttle, o.ApplyDelay = true, time.Second })
		ids := testenv.Fleet(t, f, 300, nil)
		api := &slowStart{EC2: f, first: 160 * time.Millisecond, rest: 10 * time.Millisecond}
		s := testenv.MustNew(t, imdsopts.RequireIMDSv2())
		plan, err := fleet.NewPlan(t.Context(), api, fleet.Selection{InstanceIDs: ids}, s,
			func(o *fleet.Options) { o.SkipIMDSv1Gate = true })
		if err != nil {
			t.Fatal(err)
		}
		report, err := fleet.Apply(t.Context(), api, plan)
		if err != nil {
			t.Fatal(err)
		}
		if n := report.Counts()[fleet.StatusApplied]; n != 300 {
			t.Errorf("%d of 300 applied", n)
		}
		if n := f.Throttled("ModifyInstanceMetadataOptions"); n != 0 || report.Throttled != 0 {
			t.Errorf("EC2 throttled %d Modify calls (the report says %d), want none", n, report.Throttled)
		}
	})
}

// TestBreakerStopsAtTheFailureThatOpensIt: the call that opens the circuit
// breaker ends the operation then, not after one more delay of the retry
// schedule (which grows to most of a minute).
func TestBreakerStopsAtTheFailureThatOpensIt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := fake.New(func(o *fake.Options) { o.ApplyDelay = 0 })
		testenv.Fleet(t, f, 1, nil)
		s := testenv.MustNew(t, imdsopts.RequireIMDSv2())
		var last time.Duration
		opts := func(o *fleet.Options) {
			o.SkipIMDSv1Gate, o.MaxConsecutiveFailures = true, 5
			o.OnAttempt = func(a imdsopts.Attempt) {
				if a.Operation == "ModifyInstanceMetadataOptions" {
					last = a.Elapsed
				}
			}
		}
		plan, err := fleet.NewPlan(t.Context(), f, fleet.Selection{}, s, opts)
		if err != nil {
			t.Fatal(err)
		}
		f.FailNext("ModifyInstanceMetadataOptions", 1000, fake.NewAPIError(500, "InternalError", "An internal error has occurred."))
		start := time.Now()
		_, err = fleet.Apply(t.Context(), f, plan)
		if !errors.Is(err, imdsopts.ErrTooManyFailures) {
			t.Fatalf("fleet.Apply error = %v, want ErrTooManyFailures", err)
		}
		// Elapsed counts from the plan's pacer start; compare the end with
		// the last attempt on one clock: the apply's own.
		if end := time.Since(start); end > last {
			t.Errorf("fleet.Apply returned %v after the start, the failure that opened the breaker was at %v", end, last)
		}
		if last == 0 {
			t.Error("no attempt was observed")
		}
	})
}

// throttleAfter is an EC2 behind a proxy that answers every call after the
// first n with RequestLimitExceeded (HTTP 503), for ever.
type throttleAfter struct {
	*fake.EC2
	mu    sync.Mutex
	n     int
	calls int
}

func (t *throttleAfter) throttle() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.calls++
	if t.calls > t.n {
		return &smithy.OperationError{ServiceID: "EC2", OperationName: "proxy",
			Err: fake.NewAPIError(503, "RequestLimitExceeded", "Request limit exceeded.")}
	}
	return nil
}

func (t *throttleAfter) DescribeInstances(ctx context.Context, in *ec2.DescribeInstancesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error) {
	if err := t.throttle(); err != nil {
		return nil, err
	}
	return t.EC2.DescribeInstances(ctx, in, optFns...)
}

func (t *throttleAfter) ModifyInstanceMetadataOptions(ctx context.Context, in *ec2.ModifyInstanceMetadataOptionsInput, optFns ...func(*ec2.Options)) (*ec2.ModifyInstanceMetadataOptionsOutput, error) {
	if err := t.throttle(); err != nil {
		return nil, err
	}
	return t.EC2.ModifyInstanceMetadataOptions(ctx, in, optFns...)
}

// TestContinualThrottlingEndsTheRun: a proxy that throttles every call
// after the first 35 ends an apply of 100 instances within ThrottleBudget
// (and one retry delay), with each instance's status true to what EC2
// holds: not attempted or failed where nothing was changed, applied or
// unconfirmed where it was. Before, the breaker ignored throttling, and
// each call was retried for MaxWait: ten instances every 10 minutes, 100
// minutes for the 100.
func TestContinualThrottlingEndsTheRun(t *testing.T) {
	for _, budget := range []time.Duration{0, 30 * time.Second} {
		t.Run(fmt.Sprint(budget), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := fake.New(func(o *fake.Options) { o.ApplyDelay = 3 * time.Second })
				ids := testenv.Fleet(t, f, 100, nil)
				s := testenv.MustNew(t, imdsopts.RequireIMDSv2())
				skip := func(o *fleet.Options) { o.SkipIMDSv1Gate = true }
				plan, err := fleet.NewPlan(t.Context(), f, fleet.Selection{}, s, skip)
				if err != nil {
					t.Fatal(err)
				}
				want := fleet.DefaultThrottleBudget
				opts := func(o *fleet.Options) {
					if budget != 0 {
						o.ThrottleBudget, want = budget, budget
					}
				}
				api := &throttleAfter{EC2: f, n: 35}
				start := time.Now()
				report, err := fleet.Apply(t.Context(), api, plan, opts)
				el := time.Since(start)
				if !errors.Is(err, imdsopts.ErrTooManyFailures) || !strings.Contains(fmt.Sprint(err), "RequestLimitExceeded") {
					t.Fatalf("fleet.Apply error = %v, want ErrTooManyFailures with the throttling", err)
				}
				if el > want+imdsopts.DefaultMaxDelay {
					t.Errorf("the run ended %v after it began, want within ThrottleBudget %v and a retry delay", el, want)
				}
				out, err := f.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{InstanceIds: ids})
				if err != nil {
					t.Fatal(err)
				}
				required := map[string]bool{}
				for _, r := range out.Reservations {
					for _, in := range r.Instances {
						required[*in.InstanceId] = in.MetadataOptions.HttpTokens == "required"
					}
				}
				c := report.Counts()
				for _, it := range report.Items {
					switch changed := required[it.InstanceID]; it.Status {
					case fleet.StatusApplied, fleet.StatusUnconfirmed:
						if !changed {
							t.Errorf("%s %v, but EC2 holds no change", it.InstanceID, it.Status)
						}
					case fleet.StatusNotAttempted, fleet.StatusFailed:
						if changed {
							t.Errorf("%s %v (%v), but EC2 holds its change", it.InstanceID, it.Status, it.Err)
						}
						if !errors.Is(it.Err, imdsopts.ErrTooManyFailures) && !strings.Contains(fmt.Sprint(it.Err), "RequestLimitExceeded") {
							t.Errorf("%s %v with %v, want the throttling", it.InstanceID, it.Status, it.Err)
						}
					default:
						t.Errorf("%s %v", it.InstanceID, it.Status)
					}
				}
				if c[fleet.StatusNotAttempted] < 50 {
					t.Errorf("counts %v: want most instances not attempted", c)
				}
			})
		})
	}
}

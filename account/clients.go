package account

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"golang.org/x/time/rate"

	"github.com/imdsopts/imdsopts"
	"github.com/imdsopts/imdsopts/fleet"
	"github.com/imdsopts/imdsopts/internal/check"
	"github.com/imdsopts/imdsopts/internal/cwmetric"
	"github.com/imdsopts/imdsopts/internal/ec2limits"
	"github.com/imdsopts/imdsopts/internal/hosts"
	"github.com/imdsopts/imdsopts/internal/liberr"
	"github.com/imdsopts/imdsopts/internal/pace"
)

// API is the part of *ec2.Client that the account-wide operations
// ([GetDefaults], [SetDefaults], [CheckReadiness], [PlanTemplates],
// [ApplyTemplates], [SetImageIMDSv2], [GetPosture]) call.
type API interface {
	GetInstanceMetadataDefaults(ctx context.Context, params *ec2.GetInstanceMetadataDefaultsInput, optFns ...func(*ec2.Options)) (*ec2.GetInstanceMetadataDefaultsOutput, error)
	ModifyInstanceMetadataDefaults(ctx context.Context, params *ec2.ModifyInstanceMetadataDefaultsInput, optFns ...func(*ec2.Options)) (*ec2.ModifyInstanceMetadataDefaultsOutput, error)
	DescribeInstances(ctx context.Context, params *ec2.DescribeInstancesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error)
	DescribeImages(ctx context.Context, params *ec2.DescribeImagesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeImagesOutput, error)
	ModifyImageAttribute(ctx context.Context, params *ec2.ModifyImageAttributeInput, optFns ...func(*ec2.Options)) (*ec2.ModifyImageAttributeOutput, error)
	DescribeLaunchTemplates(ctx context.Context, params *ec2.DescribeLaunchTemplatesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeLaunchTemplatesOutput, error)
	DescribeLaunchTemplateVersions(ctx context.Context, params *ec2.DescribeLaunchTemplateVersionsInput, optFns ...func(*ec2.Options)) (*ec2.DescribeLaunchTemplateVersionsOutput, error)
	CreateLaunchTemplateVersion(ctx context.Context, params *ec2.CreateLaunchTemplateVersionInput, optFns ...func(*ec2.Options)) (*ec2.CreateLaunchTemplateVersionOutput, error)
	ModifyLaunchTemplate(ctx context.Context, params *ec2.ModifyLaunchTemplateInput, optFns ...func(*ec2.Options)) (*ec2.ModifyLaunchTemplateOutput, error)
}

// AutoScalingAPI is the part of *autoscaling.Client that the account-wide
// operations call, to learn how the account's Auto Scaling groups launch
// instances.
type AutoScalingAPI = hosts.AutoScalingAPI

// MetricsAPI is the part of *cloudwatch.Client that a posture calls, to
// read the IMDSv1 use of the account's instances.
type MetricsAPI = cwmetric.API

// Clients are the clients of one account and Region that the account-wide
// operations call. Every operation reads only what it is given here and
// keeps nothing between calls, so operations on many accounts and Regions
// may run at once, each with its own Clients; every result carries Account
// and Region, to be keyed by them.
type Clients struct {
	// EC2 is required: an *ec2.Client, or the fake's EC2.
	EC2 API
	// AutoScaling is an *autoscaling.Client. Nil means the account's Auto
	// Scaling groups and launch configurations are not checked, which is
	// never taken as "none": a readiness check or posture without it is
	// never ready.
	AutoScaling AutoScalingAPI
	// CloudWatch is a *cloudwatch.Client, for the IMDSv1 use a posture
	// reports. Nil means that use is unknown, and the posture is never
	// ready.
	CloudWatch MetricsAPI
	// Target labels the results (no call sends it): the account ID and
	// Region the clients act in, as the caller knows them.
	Target Target
}

// Validate reports clients that cannot be called: no EC2 client, or a typed
// nil client in any field (which would panic at its first call). Every
// operation calls it first; the error matches ErrInvalid.
func (c Clients) Validate() error {
	errs := []error{liberr.Client("Clients.EC2", c.EC2)}
	if c.AutoScaling != nil && check.IsNil(c.AutoScaling) {
		errs = append(errs, liberr.Misuse("Clients.AutoScaling", "nil", "must be a client, such as *autoscaling.Client, or a nil interface"))
	}
	if c.CloudWatch != nil && check.IsNil(c.CloudWatch) {
		errs = append(errs, liberr.Misuse("Clients.CloudWatch", "nil", "must be a client, such as *cloudwatch.Client, or a nil interface"))
	}
	return errors.Join(errs...)
}

// Options configures the account-wide operations. Its fields hold
// their defaults before the caller's functions run, so a function may set
// any of them to zero.
type Options struct {
	// MinDelay and MaxDelay bound the delay before a call is tried again
	// after throttling or a 5xx answer (default 1 s and 30 s); MaxWait
	// bounds the attempts of one call (default 10 minutes). They have the
	// meaning they have in imdsopts.WaiterOptions.
	MinDelay, MaxDelay, MaxWait time.Duration
	// OnAttempt, when set, hears of every call, never from two goroutines
	// at once.
	OnAttempt func(imdsopts.Attempt)
	// ClientOptions are passed to every EC2 call.
	ClientOptions []func(*ec2.Options)

	// DescribeRate and DescribeBurst pace each non-mutating API on its own
	// (GetInstanceMetadataDefaults, DescribeInstances, always filtered or
	// paged, DescribeImages, DescribeLaunchTemplates,
	// DescribeLaunchTemplateVersions, and the Auto Scaling Describe calls):
	// default 20 a second, burst 100, EC2's bucket for each. (EC2 Auto
	// Scaling documents no request rates; giving its calls EC2's is
	// unverified.)
	DescribeRate  rate.Limit
	DescribeBurst int
	// MutateRate and MutateBurst pace each mutating API on its own
	// (CreateLaunchTemplateVersion, ModifyLaunchTemplate,
	// ModifyImageAttribute): default 5 a second, burst 100.
	MutateRate  rate.Limit
	MutateBurst int
	// DefaultsRate and DefaultsBurst pace ModifyInstanceMetadataDefaults:
	// default 2 a second, burst 2. As in [fleet.Options], one token of
	// each burst larger than one is held back.
	DefaultsRate  rate.Limit
	DefaultsBurst int
	// Concurrency bounds the calls in flight (default 10).
	Concurrency int
	// MaxConsecutiveFailures stops the operation when that many calls in a
	// row fail (no answer, a 5xx, or a refusal other than throttling), with
	// an error matching ErrTooManyFailures (default 10).
	MaxConsecutiveFailures int
	// ThrottleBudget stops the operation when the calls of one API have
	// been throttled for that long with none of them answered in between,
	// with an error matching ErrTooManyFailures (default
	// DefaultThrottleBudget, 2 minutes; see fleet.Options.ThrottleBudget).
	ThrottleBudget time.Duration
}

func defaultAccountOptions() Options {
	// Each mutating API the account-wide operations call
	// (CreateLaunchTemplateVersion, ModifyLaunchTemplate,
	// ModifyImageAttribute) has a bucket of its own, of the same size.
	describe, mutate := ec2limits.Describe.Bucket(), ec2limits.CreateLaunchTemplateVersion.Bucket()
	defaults := ec2limits.ModifyInstanceMetadataDefaults.Bucket()
	return Options{
		MinDelay:               imdsopts.DefaultMinDelay,
		MaxDelay:               imdsopts.DefaultMaxDelay,
		MaxWait:                imdsopts.DefaultMaxWait,
		DescribeRate:           rate.Limit(describe.Refill),
		DescribeBurst:          describe.Size,
		MutateRate:             rate.Limit(mutate.Refill),
		MutateBurst:            mutate.Size,
		DefaultsRate:           rate.Limit(defaults.Refill),
		DefaultsBurst:          defaults.Size,
		Concurrency:            pace.DefaultConcurrency,
		MaxConsecutiveFailures: pace.DefaultMaxConsecutiveFailures,
		ThrottleBudget:         fleet.DefaultThrottleBudget,
	}
}

// validate checks the pacing fields of o; prefix names the options type in
// errors.
func (o *Options) validate(prefix string) error {
	return liberr.Problems(check.Pacing(prefix,
		[]check.Rate{{Name: "DescribeRate", V: o.DescribeRate}, {Name: "MutateRate", V: o.MutateRate}, {Name: "DefaultsRate", V: o.DefaultsRate}},
		[]check.Count{{Name: "DescribeBurst", V: o.DescribeBurst}, {Name: "MutateBurst", V: o.MutateBurst}, {Name: "DefaultsBurst", V: o.DefaultsBurst},
			{Name: "Concurrency", V: o.Concurrency}, {Name: "MaxConsecutiveFailures", V: o.MaxConsecutiveFailures}},
		o.ThrottleBudget)...)
}

// accountOptions returns the defaults of T with optFns applied and checked;
// base returns T's Options.
func accountOptions[T any](o *T, base func(*T) *Options, prefix string, optFns []func(*T)) error {
	a := base(o)
	return errors.Join(applyOptions(o, a, prefix, optFns), a.validate(prefix))
}

// account is one run of an account-wide operation: the clients, the
// options, a pacer for the EC2 and Auto Scaling calls (counted, observed,
// retried and watched by the circuit breaker as the fleet's are), one rate
// limiter per API, and a pacer of its own for CloudWatch, so that
// CloudWatch failing makes IMDSv1 use unknown without stopping the
// listings.
type account struct {
	c  Clients
	o  *Options
	p  *pace.Pacer
	mp *pace.Pacer

	mu   sync.Mutex
	lims map[string]*rate.Limiter
}

// newAccount starts a run of an operation with the clients c and the
// options o.
func newAccount(c Clients, o *Options) *account {
	cfg := paceConfig(o)
	if fn := cfg.Observe; fn != nil {
		// Two pacers: one lock keeps OnAttempt to one goroutine at a time.
		var mu sync.Mutex
		cfg.Observe = func(at pace.Attempt) {
			mu.Lock()
			defer mu.Unlock()
			fn(at)
		}
	}
	return &account{c: c, o: o, lims: map[string]*rate.Limiter{}, p: pace.New(cfg), mp: pace.New(cfg)}
}

// metrics returns the reader of the run's CloudWatch measurements, on a
// pacer of their own.
func (a *account) metrics() *cwmetric.Reader {
	return &cwmetric.Reader{Pacer: a.mp, API: a.c.CloudWatch, Lim: cwmetric.NewLimiter()}
}

// counts returns the calls of the run by operation.
func (a *account) counts() map[string]int {
	m := a.p.Counts()
	for op, n := range a.mp.Counts() {
		m[op] += n
	}
	return m
}

// throttled returns the throttling answers of the run.
func (a *account) throttled() int { return a.p.Throttled() + a.mp.Throttled() }

// lim returns op's rate limiter, made on first use: each API is paced on
// its own, by its bucket's category (see ec2limits).
func (a *account) lim(op string) *rate.Limiter {
	a.mu.Lock()
	defer a.mu.Unlock()
	l := a.lims[op]
	if l == nil {
		t, _ := ec2limits.Of(op)
		switch {
		case t.Request == ec2limits.ModifyInstanceMetadataDefaults:
			l = pace.Limiter(a.o.DefaultsRate, a.o.DefaultsBurst)
		case t.Request.Mutates():
			l = pace.Limiter(a.o.MutateRate, a.o.MutateBurst)
		default:
			l = pace.Limiter(a.o.DescribeRate, a.o.DescribeBurst)
		}
		a.lims[op] = l
	}
	return l
}

// paced returns a call of op, paced to its bucket.
func (a *account) paced(op string) pace.Call { return pace.Call{Op: op, Lim: a.lim(op)} }

// call makes op through the retry core, paced to its bucket: fn is one
// attempt. It reports whether any attempt was sent.
func (a *account) call(ctx context.Context, op string, fn func(context.Context) error) (sent bool, err error) {
	return a.p.Do(ctx, a.paced(op), fn)
}

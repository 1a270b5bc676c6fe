package fleet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"golang.org/x/time/rate"

	"github.com/imdsopts/imdsopts"
	"github.com/imdsopts/imdsopts/internal/awsid"
	"github.com/imdsopts/imdsopts/internal/check"
	"github.com/imdsopts/imdsopts/internal/cwmetric"
	"github.com/imdsopts/imdsopts/internal/ec2limits"
	"github.com/imdsopts/imdsopts/internal/hosts"
	"github.com/imdsopts/imdsopts/internal/liberr"
	"github.com/imdsopts/imdsopts/internal/pace"
)

// MetricsAPI is the part of *cloudwatch.Client that the IMDSv1 gate of
// [NewPlan] calls.
type MetricsAPI = cwmetric.API

// Item is one instance of a plan or a report.
type Item struct {
	InstanceID    string
	InstanceState types.InstanceStateName
	// Options are the instance's options as listed (plan) or last seen
	// (report); nil when EC2 did not return the instance.
	Options *types.InstanceMetadataOptionsResponse
	// Changes are the fields that differ from the wanted Set: what the call
	// sends.
	Changes imdsopts.Set
	// Downgrade are the fields of Changes that weaken the instance (see
	// [imdsopts.Set.Downgrade]); the zero Set when none do.
	Downgrade imdsopts.Set
	// IMDSv1Calls is the sum of MetadataNoToken over the gate's window, for
	// instances whose use the gate measured; nil when it did not.
	IMDSv1Calls *float64
	// Wave is the wave of a rollout the instance is changed in, 1 for the
	// canary; 0 when the operation has no [Rollout] or makes no call for it.
	// NewPlan numbers the waves as Apply makes them with the same
	// Rollout.
	Wave int
	// RejectedCalls is the sum of MetadataNoTokenRejected since the
	// instance's wave began, for instances a rollout watched and measured;
	// nil when it did not.
	RejectedCalls *float64
	// Owner is what launched the instance and replaces or updates it, by
	// its tags (see [Owner]); nil when no owner is known. A change made in
	// place is undone when the owner replaces the instance: Owner.Fix says
	// where the lasting fix goes.
	Owner *Owner
	// Container, when not empty, says why the instance is taken for a
	// container host, one network hop further from IMDS than the instance:
	// a tag EKS, Kubernetes, Karpenter or ECS puts on its nodes ("tag
	// eks:cluster-name"), or a marker of the user data of the launch
	// template version or launch configuration it was launched from
	// ("user data of launch template lt-0123456789abcdef0 version 3:
	// /etc/eks/bootstrap.sh"). Tags are read for every instance; user
	// data only where it decides the change (see
	// Options.ContainerHopLimit).
	Container string
	Status    Status
	Err       error

	canary bool // it has Rollout.CanaryTags, as listed
	// host is what the listing showed of the instance beyond its options;
	// nil for an instance not listed.
	host *hostFacts
	// acceptHop is the hop limit Options.ContainerHopLimit put in
	// Changes, which is not refused as a downgrade; 0 when none.
	acceptHop int32
	// metricPeriod is how often EC2 publishes the instance's CloudWatch
	// metrics, as listed (see metricPeriodOf).
	metricPeriod time.Duration
}

// Plan is what [Apply] would do, instance by instance. [NewPlan]
// makes one; it changes nothing. A plan carries the options it was made
// with; Apply uses them, with any overrides it is given.
type Plan struct {
	Set   imdsopts.Set
	Items []Item
	// Calls counts the API calls making the plan took, by operation.
	Calls map[string]int
	// Account is the AWS account that owns the listed instances (their
	// reservations' OwnerId); empty when none was listed. A journal
	// records it.
	Account string
	// Irreversible lists the instances whose change EC2 would not let be
	// undone: the change makes HttpTokens "required" where it is
	// "optional", and the account enforces IMDSv2 (HttpTokensEnforced
	// "enabled"), so EC2 refuses to make it "optional" again. Neither a
	// rollout's rollback nor [Undo] can restore them; a rollout that
	// halts reports them StatusNeedsPerson. NewPlan fills it when
	// Options.Enforcement is set (required for a [Rollout] that rolls
	// back); a caller that wants every change reversible refuses a plan
	// where it is not empty.
	Irreversible []string

	opts Options
	made bool // by NewPlan, with opts
}

// Report is what [Apply] did: one final outcome per instance of
// the plan.
type Report struct {
	Items []Item
	// Calls counts the API calls the package made, by operation; Throttled
	// counts the throttling answers among them (all tried again). The SDK's
	// client retries some throttled requests on its own before answering:
	// those are not seen here.
	Calls     map[string]int
	Throttled int
	Elapsed   time.Duration
	// Waves are the waves of a rollout, in order, as far as it went; nil
	// without a [Rollout].
	Waves []WaveReport
}

// Counts returns how many instances of the plan have each status (none
// for a nil plan).
func (p *Plan) Counts() map[Status]int {
	if p == nil {
		return map[Status]int{}
	}
	return countStatus(p.Items)
}

// Counts returns how many instances of the report have each status (none
// for a nil report).
func (r *Report) Counts() map[Status]int {
	if r == nil {
		return map[Status]int{}
	}
	return countStatus(r.Items)
}

// WriteTable writes the plan to w as an aligned table, a header and one
// instance a line. A nil plan or w is an error matching ErrInvalid.
func (p *Plan) WriteTable(w io.Writer) error {
	if p == nil {
		return liberr.Misuse("plan", "nil", "must be a plan made by NewPlan")
	}
	return writeItems(w, p.Items)
}

// WriteTable writes the report to w as an aligned table, a header and one
// instance a line. A nil report or w is an error matching ErrInvalid.
func (r *Report) WriteTable(w io.Writer) error {
	if r == nil {
		return liberr.Misuse("report", "nil", "must be a report made by Apply, Resume or Undo")
	}
	return writeItems(w, r.Items)
}

// Defaults of [Options] beyond the delays of [imdsopts.WaiterOptions].
const (
	DefaultIMDSv1Window           = cwmetric.DefaultWindow
	DefaultConcurrency            = pace.DefaultConcurrency
	defaultPollInterval           = 5 * time.Second
	defaultMaxConsecutiveFailures = pace.DefaultMaxConsecutiveFailures
	// DefaultThrottleBudget is how long an API's calls may all be
	// throttled before the operation stops (Options.ThrottleBudget).
	// The pacer keeps to EC2's buckets, whose strictest refill among the
	// calls of a run is 2 a second, so a minute of refusals is already no
	// passing burst; in 2 minutes each of the Concurrency workers, backing
	// off to MaxDelay, has tried about a dozen times without one answer.
	DefaultThrottleBudget = 2 * time.Minute
)

// MaxIMDSv1Window is the longest IMDSv1Window: CloudWatch keeps hourly
// datapoints for 455 days, so a longer window would pass on missing data.
const MaxIMDSv1Window = cwmetric.MaxWindow

// Options configures [NewPlan] and [Apply]. Its fields hold
// their defaults before the caller's functions run.
type Options struct {
	// MinDelay and MaxDelay bound the delays before a call is tried again
	// and between two polls of an instance (default 1 s and 30 s); MaxWait
	// bounds the attempts of one instance's call and, separately, the wait
	// for it to apply (default 10 minutes). They have the meaning they
	// have in [imdsopts.WaiterOptions].
	MinDelay, MaxDelay, MaxWait time.Duration
	// NotFoundGrace is how long a named instance EC2 does not know is
	// looked for again (default 0: not at all).
	NotFoundGrace time.Duration
	// OnAttempt, when set, hears of every call, never from two goroutines
	// at once.
	OnAttempt func(imdsopts.Attempt)
	// ClientOptions are passed to every EC2 call.
	ClientOptions []func(*ec2.Options)

	// Metrics is CloudWatch, for the IMDSv1 gate: before a Set that requires
	// tokens is applied to an instance that does not, the instance's
	// MetadataNoToken sum over IMDSv1Window must be a complete measurement
	// of zero. Instances that used IMDSv1 are held (ErrIMDSv1InUse), and so
	// is every instance whose use could not be measured (ErrIMDSv1Unknown).
	// Required for such a Set unless SkipIMDSv1Gate.
	Metrics MetricsAPI
	// IMDSv1Window is how far back the gate looks (default 14 days, at most
	// MaxIMDSv1Window).
	IMDSv1Window   time.Duration
	SkipIMDSv1Gate bool
	// TreatNoDataAsZero lets the gate pass an instance that has no
	// MetadataNoToken datapoint at all in the window (stopped throughout, or
	// too new), and a rollout's watch one that has no
	// MetadataNoTokenRejected datapoint since its wave began. By default
	// such an instance is held, or halts the rollout: no data is not a
	// measured zero.
	TreatNoDataAsZero bool
	// AllowDowngrade lets changes through that weaken an instance (see
	// [imdsopts.Set.Downgrade]); by default they are refused (StatusRefused).
	AllowDowngrade bool
	// ContainerHopLimit, when not 0, is the hop limit of container hosts
	// (see Item.Container): a container host whose options after the
	// change require tokens with a lower HttpPutResponseHopLimit gets it
	// set to ContainerHopLimit in the same change. AWS recommends 2 "in a
	// container environment, when IMDSv2 is required": a container is one
	// more network hop, so with 1 its token requests get no answer. The
	// higher hop limit is accepted for container hosts only, and so is not
	// refused as a downgrade; the IMDSv1 gate still applies. Without it, a
	// change that makes a container host require tokens with a hop limit
	// below 2 is held (StatusHeld, ErrContainerHopLimit). 0 (the default)
	// or 2..64.
	ContainerHopLimit int32
	// AutoScaling, when set, lets the container check read the user data
	// of the launch configurations that the Auto Scaling groups of
	// instances not launched from a launch template launch with. Without
	// it, those instances are judged by their tags alone; *autoscaling.Client
	// is one. (The user data of launch template versions is read through
	// the API, when it has DescribeLaunchTemplateVersions, as *ec2.Client
	// has.)
	AutoScaling AutoScalingAPI
	// ModifyRate and ModifyBurst pace ModifyInstanceMetadataOptions calls
	// (default 5 a second, burst 100: EC2's bucket for the operation);
	// DescribeRate and DescribeBurst pace DescribeInstances (default 10 a
	// second, burst 50: the stricter of its two buckets, so no mix of
	// listing and polling exceeds either). One token of each burst is held
	// back, so that calls which reach EC2 sooner than the first one did
	// find tokens: the bucket began to refill only when that one arrived.
	ModifyRate, DescribeRate   rate.Limit
	ModifyBurst, DescribeBurst int
	// Concurrency bounds the calls in flight (default 10).
	Concurrency int
	// PollInterval is the least time between two DescribeInstances polls of
	// the batched waiter (default 5 s). Each poll asks about up to 1000
	// changed instances that are due: an instance is due by the schedule of
	// WaiterOptions, so a change EC2 applies T after it was sent is seen by
	// 1.5*T + max(MinDelay, PollInterval).
	PollInterval time.Duration
	// MaxConsecutiveFailures stops the operation early when that many calls
	// in a row fail (no answer, a 5xx, or a refusal other than throttling
	// and not-found): no new instance is started, and the rest are reported
	// StatusNotAttempted with an error matching ErrTooManyFailures
	// (default 10).
	MaxConsecutiveFailures int
	// ThrottleBudget stops the operation early, as MaxConsecutiveFailures
	// does, when the calls of one API have been throttled for that long
	// with none of them answered in between (the account's bucket is used
	// up by another client, or a proxy throttles every call): no new
	// instance is started, those not started are StatusNotAttempted, and
	// the error matches ErrTooManyFailures and wraps the last throttling
	// answer. Throttling that ends sooner is retried through. Default:
	// DefaultThrottleBudget (2 minutes).
	ThrottleBudget time.Duration
	// OnProgress, when set, is called with each instance's final outcome as
	// it arrives, never from two goroutines at once. In a rollout, an
	// instance found to reject IMDSv1 calls after it was applied is heard
	// of again, with StatusRolledBack or StatusNeedsPerson; the report
	// holds the last.
	OnProgress func(Item)

	// Rollout, when set, makes Apply change the instances in waves,
	// each watched for rejected IMDSv1 calls through a bake time, halting
	// and rolling back when one fails (see [Rollout]). Nil changes them
	// all at once.
	Rollout *Rollout
	// Enforcement reads whether the account enforces IMDSv2
	// (GetInstanceMetadataDefaults), so that NewPlan can say which
	// changes no rollback could undo (Plan.Irreversible). Required
	// when a Rollout rolls back a Set that requires tokens; *ec2.Client is
	// one.
	Enforcement EnforcementAPI
	// AcceptIrreversible accepts changes that the account's enforcement
	// of IMDSv2 makes one-way (Plan.Irreversible). Without it, Apply
	// refuses a plan that lists any, and Resume a journal whose instances
	// left to change would be such changes, before any call, with an
	// error matching ErrIrreversible. Which changes are one-way is known
	// only with Enforcement set.
	AcceptIrreversible bool
	// Journal, when set, receives the operation's journal, one JSON object
	// a line (see [Journal] for the format): a header with the plan, and
	// around every ModifyInstanceMetadataOptions call a record of the
	// instance's options before and of the change, then of the outcome.
	// Each record is written with one Write, then flushed (when Journal
	// has a Flush() error method) and synced (Sync() error, as *os.File
	// has). A record that cannot be written stops the operation before its
	// next call, with an error matching ErrJournalWrite: nothing is changed
	// that the journal does not record. An instance whose options as
	// listed lack one of the five fields is not changed, as the journal
	// could not record what to restore.
	Journal io.Writer
	// Region is the AWS Region the client calls, for the journal's header;
	// required with a Journal. [ReadJournal] refuses a journal of another
	// Region.
	Region string
}

func defaultFleetOptions() Options {
	// DescribeInstances is paced to the stricter of its two buckets, so
	// that no mix of listing and polling exceeds either.
	modify := ec2limits.Request("ModifyInstanceMetadataOptions", false)
	describe := ec2limits.Request("DescribeInstances", true)
	return Options{
		MinDelay:               imdsopts.DefaultMinDelay,
		MaxDelay:               imdsopts.DefaultMaxDelay,
		MaxWait:                imdsopts.DefaultMaxWait,
		IMDSv1Window:           DefaultIMDSv1Window,
		ModifyRate:             rate.Limit(modify.Refill),
		ModifyBurst:            modify.Size,
		DescribeRate:           rate.Limit(describe.Refill),
		DescribeBurst:          describe.Size,
		Concurrency:            DefaultConcurrency,
		PollInterval:           defaultPollInterval,
		MaxConsecutiveFailures: defaultMaxConsecutiveFailures,
		ThrottleBudget:         DefaultThrottleBudget,
	}
}

// fleetOptions returns base with optFns applied, checked. The Rollout is
// copied before and after, so that neither the functions nor the caller
// later change the one a plan carries.
// CheckOptions reports the options the fleet operations would refuse,
// optFns applied to the defaults of Options, without calling anything:
// for a caller that passes them on to the fleets of many accounts, to
// refuse them once, before any call.
func CheckOptions(optFns ...func(*Options)) error {
	_, err := fleetOptions(defaultFleetOptions(), optFns)
	return err
}

func fleetOptions(base Options, optFns []func(*Options)) (Options, error) {
	o := base
	o.Rollout = o.Rollout.clone()
	maxDelay := o.MaxDelay
	ps := check.Funcs("fleet.Options", &o, optFns)
	if o.MaxDelay == maxDelay && o.MinDelay > o.MaxDelay {
		o.MaxDelay = o.MinDelay
	}
	err := liberr.Problems(append(ps, check.Waiting("fleet.Options", o.MinDelay, o.MaxDelay, o.MaxWait, o.NotFoundGrace, o.ClientOptions)...)...)
	o.Rollout = o.Rollout.clone()
	errs := []error{err, liberr.Problems(check.Pacing("fleet.Options",
		[]check.Rate{{Name: "ModifyRate", V: o.ModifyRate}, {Name: "DescribeRate", V: o.DescribeRate}},
		[]check.Count{{Name: "ModifyBurst", V: o.ModifyBurst}, {Name: "DescribeBurst", V: o.DescribeBurst}, {Name: "Concurrency", V: o.Concurrency},
			{Name: "MaxConsecutiveFailures", V: o.MaxConsecutiveFailures}},
		o.ThrottleBudget)...)}
	bad := func(name string, v any, rule string) {
		errs = append(errs, &imdsopts.ValidationError{Field: "fleet.Options." + name, Value: fmt.Sprint(v), Rule: rule})
	}
	if o.PollInterval < 0 {
		bad("PollInterval", o.PollInterval, "must not be negative")
	}
	if o.IMDSv1Window < time.Minute || o.IMDSv1Window > MaxIMDSv1Window {
		bad("IMDSv1Window", cwmetric.Days(o.IMDSv1Window), "must be 1 minute to "+cwmetric.Days(MaxIMDSv1Window))
	}
	if o.Metrics != nil && check.IsNil(o.Metrics) {
		bad("Metrics", "nil", "must be a client, such as *cloudwatch.Client, or a nil interface")
	}
	if o.Enforcement != nil && check.IsNil(o.Enforcement) {
		bad("Enforcement", "nil", "must be a client, such as *ec2.Client, or a nil interface")
	}
	if o.AutoScaling != nil && check.IsNil(o.AutoScaling) {
		bad("AutoScaling", "nil", "must be a client, such as *autoscaling.Client, or a nil interface")
	}
	if h := o.ContainerHopLimit; h != 0 && (h < 2 || h > imdsopts.MaxHopLimit) {
		bad("ContainerHopLimit", h, fmt.Sprintf("must be 0 (off) or 2..%d: a container host needs at least 2", imdsopts.MaxHopLimit))
	}
	switch {
	case o.Journal != nil && check.IsNil(o.Journal):
		bad("Journal", "nil", "must be a writer, such as *os.File, or a nil interface")
	case o.Journal != nil && !awsid.IsRegion(o.Region):
		bad("Region", check.Quote(o.Region), `must be the AWS Region the client calls, such as "us-east-1", to write a journal`)
	}
	if o.Rollout != nil {
		errs = append(errs, o.Rollout.validate())
	}
	return o, errors.Join(errs...)
}

// needsMetrics returns why planning a change to s cannot be done without
// Metrics, or nil: the IMDSv1 gate, or a rollout's watch.
func (o *Options) needsMetrics(s imdsopts.Set) error {
	if o.Metrics == nil && o.needsGate(s) {
		return &imdsopts.ValidationError{Field: "fleet.Options.Metrics", Value: "nil",
			Rule: "must be set to check IMDSv1 use before requiring tokens (or set SkipIMDSv1Gate)"}
	}
	return o.watchNeedsMetrics(s)
}

// watchNeedsMetrics returns why a rollout of a change to s cannot be made
// without Metrics, or nil.
func (o *Options) watchNeedsMetrics(s imdsopts.Set) error {
	if o.Metrics == nil && o.Rollout != nil && s.HTTPTokens() == types.HttpTokensStateRequired {
		return &imdsopts.ValidationError{Field: "fleet.Options.Metrics", Value: "nil",
			Rule: "must be set for a Rollout to watch the IMDSv1 calls its waves reject"}
	}
	return nil
}

// needsGate reports whether a change to s must pass the IMDSv1 gate.
func (o *Options) needsGate(s imdsopts.Set) bool {
	return s.HTTPTokens() == types.HttpTokensStateRequired && !o.SkipIMDSv1Gate
}

// NewPlan lists the instances sel selects (every page), and works out for
// each what applying s needs: the fields that change, nothing for instances
// already satisfied, a change that applies on start for stopped instances,
// changes EC2 would refuse as they are (StatusCannotApply: ErrTagKeys,
// ErrEndpointDisabled), downgrades refused unless AllowDowngrade, container
// hosts the change would cut off from IMDS held (ErrContainerHopLimit) or
// given Options.ContainerHopLimit, and, when s requires tokens, the
// IMDSv1 gate. Each instance's Owner comes from its tags.
//
// Whether an instance runs containers is read from its tags; where that
// decides its change and the tags do not show it, from the user data of
// the launch template version it was launched from (DescribeLaunchTemplateVersions,
// when api has that method, as *ec2.Client has) or of its Auto Scaling
// group's launch configuration (with Options.AutoScaling). It
// changes nothing. Invalid input (a zero s, a bad ID or option, a nil ctx
// or api, no Metrics for a gated change) is an error matching ErrInvalid
// before any call. A listing or a read of user data that fails (but for a
// template or version that no longer exists), or a context that ends, is
// an error: no partial plan is returned. A failed IMDSv1 look-up is not:
// the instances it covers are held (fail closed), with ErrIMDSv1Unknown
// and the cause in their Err.
func NewPlan(ctx context.Context, api imdsopts.API, sel Selection, s imdsopts.Set, optFns ...func(*Options)) (*Plan, error) {
	o, err := fleetOptions(defaultFleetOptions(), optFns)
	errs := []error{err, liberr.Client("api", api)}
	if ctx == nil {
		errs = append(errs, liberr.Misuse("ctx", "nil", "must be a context.Context"))
	}
	if s.IsZero() {
		errs = append(errs, liberr.Misuse("Set", check.Quote(s.String()), "must hold at least one field: there is nothing to apply"))
	}
	for _, id := range sel.InstanceIDs {
		errs = append(errs, imdsopts.ValidateInstanceID(id))
	}
	errs = append(errs, o.needsMetrics(s))
	if o.Rollout != nil && o.Rollout.Rollback != RollbackNone && s.HTTPTokens() == types.HttpTokensStateRequired && o.Enforcement == nil {
		errs = append(errs, &imdsopts.ValidationError{Field: "fleet.Options.Enforcement", Value: "nil",
			Rule: "must be set for a Rollout that rolls back a change requiring tokens: the plan must tell whether the account lets it be undone"})
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	p := newPacer(api, &o)
	found, others, account, err := p.list(ctx, sel)
	if err != nil {
		return nil, err
	}
	if err := p.containers(ctx, found, s); err != nil {
		return nil, err
	}
	var gated []int
	for i := range found {
		it := &found[i]
		planItem(it, s, &o)
		if o.needsGate(s) && it.Changes.HTTPTokens() == types.HttpTokensStateRequired &&
			(it.Status == StatusChange || it.Status == StatusPendingStart) {
			gated = append(gated, i)
		}
	}
	if len(gated) > 0 {
		if err := p.gate(ctx, found, gated); err != nil {
			return nil, err
		}
	}
	plan := &Plan{Set: s, Items: append(found, others...), Account: account, opts: o, made: true}
	if o.Rollout != nil {
		waves, err := o.Rollout.waves(plan.Items)
		if err != nil {
			return nil, err
		}
		for w, idx := range waves {
			for _, i := range idx {
				plan.Items[i].Wave = w + 1
			}
		}
	}
	if o.Enforcement != nil {
		if plan.Irreversible, err = p.irreversible(ctx, plan.Items); err != nil {
			return nil, err
		}
	}
	plan.Calls = p.Counts()
	return plan, nil
}

// Apply carries out a plan made by [NewPlan], with the plan's options
// and any overrides optFns make: one ModifyInstanceMetadataOptions call per
// instance that needs it, sending only the changing fields, paced to EC2's
// token bucket with bounded concurrency; throttling and 5xx answers are
// tried again. Whether a change weakens an instance is worked out again from
// the fields it sends (see [imdsopts.Set.Downgrade]), whatever the plan says. A
// batched waiter then polls DescribeInstances for up to 1000 changed
// instances a call until each is applied. Every instance of the plan ends
// with one final status in the report.
//
// With Options.Rollout, the instances are changed in waves, each baked
// and watched; a failed wave halts the rollout, rolls back, and Apply
// returns the report with an error matching ErrRolloutHalted (see
// [Rollout]). With Options.Journal, every call is journaled (see
// [ReadJournal]), so that [Resume] can finish an interrupted run and
// [Undo] restore what it changed.
//
// When ctx ends, MaxConsecutiveFailures calls in a row fail, the calls of
// an API are throttled throughout ThrottleBudget, or a journal record
// cannot be written, no new call is made: Apply returns the
// report, with instances not started StatusNotAttempted and those changed
// but not yet seen applied StatusFailed, and an error that matches the
// context's error, ErrTooManyFailures or ErrJournalWrite. A nil ctx, api or
// plan is an error matching ErrInvalid, with a nil report, and so is a
// Rollout whose canary tags no instance of the plan has. A plan that lists
// Irreversible changes is refused, with a nil report and an error matching
// ErrIrreversible, unless Options.AcceptIrreversible.
func Apply(ctx context.Context, api imdsopts.API, plan *Plan, optFns ...func(*Options)) (*Report, error) {
	errs := []error{liberr.Client("api", api)}
	if ctx == nil {
		errs = append(errs, liberr.Misuse("ctx", "nil", "must be a context.Context"))
	}
	base := defaultFleetOptions()
	if plan == nil {
		errs = append(errs, liberr.Misuse("plan", "nil", "must be a plan made by NewPlan"))
	} else if plan.made {
		base = plan.opts
	}
	o, err := fleetOptions(base, optFns)
	errs = append(errs, err)
	if plan != nil {
		errs = append(errs, o.watchNeedsMetrics(plan.Set), canaryTagsOfPlan(&o, plan))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if len(plan.Irreversible) > 0 && !o.AcceptIrreversible {
		return nil, notAccepted(len(plan.Irreversible))
	}
	p := newPacer(api, &o)
	r := &Report{Items: slices.Clone(plan.Items)}
	waves, err := planWaves(&o, r.Items)
	if err != nil {
		return nil, err
	}
	run := newFleetRun(p, &o, r, waves, plan.Irreversible)
	// The header holds the whole plan, so that a run that dies after it
	// can be resumed.
	set := setOptions(plan.Set)
	header := journalRecord{Record: recHeader, Version: journalVersion, Run: runApply, Account: &plan.Account, Region: o.Region,
		Set: &set, Waves: waveIDs(r.Items, run.waves)}
	if o.Rollout != nil {
		header.Rollout = recordRollout(o.Rollout)
	}
	err = run.execute(ctx, header)
	r.Calls, r.Throttled, r.Elapsed = p.Counts(), p.Throttled(), p.Elapsed()
	return r, err
}

func countStatus(items []Item) map[Status]int {
	m := map[Status]int{}
	for _, it := range items {
		m[it.Status]++
	}
	return m
}

func writeItems(out io.Writer, items []Item) error {
	if check.IsNil(out) {
		return liberr.Misuse("w", "nil", "must be a writer, such as os.Stdout")
	}
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	owned := slices.ContainsFunc(items, func(it Item) bool { return it.Owner != nil })
	if owned {
		fmt.Fprintln(w, "INSTANCE\tSTATE\tSTATUS\tCHANGES\tOWNER\tNOTE")
	} else {
		fmt.Fprintln(w, "INSTANCE\tSTATE\tSTATUS\tCHANGES\tNOTE")
	}
	for _, it := range items {
		note := ""
		switch {
		case it.Err != nil:
			note = strings.TrimPrefix(it.Err.Error(), "imdsopts: "+it.InstanceID+": ")
		case it.acceptHop != 0:
			note = fmt.Sprintf("a container host (%s): HttpPutResponseHopLimit %d (ContainerHopLimit)", it.Container, it.acceptHop)
		}
		changes := ""
		if !it.Changes.IsZero() {
			changes = it.Changes.String()
		}
		if owned {
			owner := "-"
			if it.Owner != nil {
				owner = it.Owner.Kind + "/" + it.Owner.Name
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", it.InstanceID, it.InstanceState, it.Status, changes, owner, note)
			continue
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", it.InstanceID, it.InstanceState, it.Status, changes, note)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return writeOwners(out, items)
}

// writeOwners writes, after a table of items, each owner of them with the
// number of its instances and where the lasting fix goes.
func writeOwners(out io.Writer, items []Item) error {
	count := map[Owner]int{}
	for _, it := range items {
		if it.Owner != nil {
			count[*it.Owner]++
		}
	}
	if len(count) == 0 {
		return nil
	}
	var b strings.Builder
	b.WriteString("\nOwners (a change made in place is undone when the owner replaces or updates the instance; the lasting fix goes where each says):\n")
	for _, o := range hosts.SortedOwners(count) {
		fmt.Fprintf(&b, "  %s %s (%d %s): %s\n", o.Kind, o.Name, count[o], hosts.Plural("instance", count[o]), o.Fix)
	}
	_, err := io.WriteString(out, b.String())
	return err
}

// AutoScalingAPI is the part of *autoscaling.Client that the plan calls to
// tell container hosts from their launch configurations and groups.
type AutoScalingAPI = hosts.AutoScalingAPI

// statusListed is the Status of an instance as listed, before it is judged;
// never in a plan or report.
const statusListed Status = 0

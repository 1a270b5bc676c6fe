package imdsopts

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
	"github.com/cenkalti/backoff/v4"
	"golang.org/x/time/rate"
)

// ErrIMDSv1InUse: the instance answered IMDSv1 calls (CloudWatch
// MetadataNoToken) within FleetOptions.IMDSv1Window, so requiring tokens
// would break whatever made them. PlanFleet holds such instances back.
var ErrIMDSv1InUse = errors.New("instance used IMDSv1")

// MetricsAPI is the part of *cloudwatch.Client that the IMDSv1 gate of
// PlanFleet calls.
type MetricsAPI interface {
	GetMetricData(ctx context.Context, params *cloudwatch.GetMetricDataInput, optFns ...func(*cloudwatch.Options)) (*cloudwatch.GetMetricDataOutput, error)
}

// Selection says which instances a fleet operation covers. An instance must
// match every field given. Without InstanceIDs, terminated and shutting-down
// instances are left out unless Filters name instance-state-name; named
// InstanceIDs are always reported, also when EC2 does not know them.
type Selection struct {
	InstanceIDs []string
	Filters     []types.Filter    // DescribeInstances filters, e.g. metadata-options.http-tokens
	Tags        map[string]string // each KEY=VALUE is the filter tag:KEY with VALUE
}

// Status is where one instance of a fleet stands.
type Status int

// Statuses of a FleetItem. A FleetPlan holds StatusChange for the instances
// ApplyFleet will call for; a FleetReport holds only the others.
const (
	StatusChange       Status = iota + 1 // needs a ModifyInstanceMetadataOptions call
	StatusApplied                        // changed, and EC2 reports the options applied
	StatusSatisfied                      // already had the options: no call
	StatusHeld                           // held back by the IMDSv1 gate (Err says why)
	StatusPendingStart                   // stopped: changed, EC2 applies it when the instance starts
	StatusRefused                        // a downgrade, refused without FleetOptions.AllowDowngrade
	StatusFailed                         // Err says why; the options may or may not have changed
	StatusNotAttempted                   // not called for: the context ended first
)

var statusNames = [...]string{"", "change", "applied", "satisfied", "held", "pending-until-start", "refused-downgrade", "failed", "not-attempted"}

// String returns the status in lower-case words, e.g. "pending-until-start".
func (s Status) String() string {
	if s > 0 && int(s) < len(statusNames) {
		return statusNames[s]
	}
	return fmt.Sprintf("Status(%d)", int(s))
}

// MarshalText encodes the status as its String, for JSON output.
func (s Status) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// FleetItem is one instance of a plan or a report.
type FleetItem struct {
	InstanceID    string
	InstanceState types.InstanceStateName
	// Options are the instance's options as listed (plan) or last seen
	// (report); nil when EC2 did not return the instance.
	Options *types.InstanceMetadataOptionsResponse
	// Changes are the fields that differ from the wanted Set: what the call
	// sends.
	Changes Set
	// Downgrade describes the weakening fields of Changes (tokens required to
	// optional, the endpoint or tags turned on); empty when none.
	Downgrade string
	// IMDSv1Calls is the sum of MetadataNoToken over the gate's window, for
	// instances the gate checked.
	IMDSv1Calls float64
	Status      Status
	Err         error
}

// FleetPlan is what ApplyFleet would do, instance by instance. PlanFleet
// makes one; it changes nothing.
type FleetPlan struct {
	Set   Set
	Items []FleetItem
	// Calls counts the API calls making the plan took, by operation.
	Calls map[string]int
}

// FleetReport is what ApplyFleet did: one final outcome per instance of the
// plan.
type FleetReport struct {
	Items []FleetItem
	// Calls counts API calls by operation; Throttled counts the
	// RequestLimitExceeded answers among them (all retried).
	Calls     map[string]int
	Throttled int
	Elapsed   time.Duration
}

// Counts returns how many instances of the plan have each status.
func (p *FleetPlan) Counts() map[Status]int { return countStatus(p.Items) }

// Counts returns how many instances of the report have each status.
func (r *FleetReport) Counts() map[Status]int { return countStatus(r.Items) }

// String formats the plan as a table, one instance a line.
func (p *FleetPlan) String() string { return formatItems(p.Items) }

// String formats the report as a table, one instance a line.
func (r *FleetReport) String() string { return formatItems(r.Items) }

// FleetOptions configures PlanFleet and ApplyFleet. Zero fields take the
// defaults named.
type FleetOptions struct {
	// Metrics is CloudWatch, for the IMDSv1 gate: before a Set that requires
	// tokens is applied to an instance that does not, the instance's
	// MetadataNoToken sum over IMDSv1Window (default 14 days) must be zero.
	// Instances that used IMDSv1, and all instances whose history could not
	// be read, are held. Required for such a Set unless SkipIMDSv1Gate.
	Metrics        MetricsAPI
	IMDSv1Window   time.Duration
	SkipIMDSv1Gate bool
	// AllowDowngrade lets changes that weaken an instance through: HttpTokens
	// required to optional, the endpoint or instance tags turned on.
	AllowDowngrade bool
	// ModifyRate and ModifyBurst pace ModifyInstanceMetadataOptions calls
	// (default 5 a second, burst 100: EC2's bucket for the operation);
	// DescribeRate and DescribeBurst pace DescribeInstances (default 20 a
	// second, burst 100: EC2's bucket for filtered or paginated calls).
	ModifyRate, DescribeRate   rate.Limit
	ModifyBurst, DescribeBurst int
	// Concurrency bounds the calls in flight (default 10).
	Concurrency int
	// PollInterval is the time between two DescribeInstances polls of the
	// batched waiter (default 5 s); each poll asks for up to 1000 instances.
	PollInterval time.Duration
	// MinDelay and MaxDelay bound the jittered backoff after a throttled or
	// failed call (default 1 s to 30 s). MaxWait bounds the retries of one
	// instance's call and, separately, the wait for it to apply (default 10
	// minutes). NotFoundGrace is how long a named instance that EC2 does not
	// know yet is looked for again (default 1 minute).
	MinDelay, MaxDelay, MaxWait, NotFoundGrace time.Duration
	// OnProgress, when set, is called with each instance's final outcome as it
	// arrives, from one goroutine at a time.
	OnProgress func(FleetItem)
	// ClientOptions are passed to every EC2 API call.
	ClientOptions []func(*ec2.Options)
}

func (o *FleetOptions) fill(optFns []func(*FleetOptions)) error {
	for _, fn := range optFns {
		fn(o)
	}
	setDefault(&o.IMDSv1Window, 14*24*time.Hour)
	setDefault(&o.ModifyRate, 5)
	setDefault(&o.ModifyBurst, 100)
	setDefault(&o.DescribeRate, 20)
	setDefault(&o.DescribeBurst, 100)
	setDefault(&o.Concurrency, 10)
	setDefault(&o.PollInterval, 5*time.Second)
	setDefault(&o.MinDelay, time.Second)
	setDefault(&o.MaxDelay, 30*time.Second)
	setDefault(&o.MaxWait, 10*time.Minute)
	setDefault(&o.NotFoundGrace, time.Minute)
	var errs []error
	positive := func(name string, bad bool, v any) {
		if bad {
			errs = append(errs, &ValidationError{Field: "FleetOptions." + name, Value: fmt.Sprint(v), Rule: "must be positive"})
		}
	}
	positive("IMDSv1Window", o.IMDSv1Window < 0, o.IMDSv1Window)
	positive("ModifyRate", o.ModifyRate < 0, o.ModifyRate)
	positive("ModifyBurst", o.ModifyBurst < 0, o.ModifyBurst)
	positive("DescribeRate", o.DescribeRate < 0, o.DescribeRate)
	positive("DescribeBurst", o.DescribeBurst < 0, o.DescribeBurst)
	positive("Concurrency", o.Concurrency < 0, o.Concurrency)
	positive("PollInterval", o.PollInterval < 0, o.PollInterval)
	positive("MinDelay", o.MinDelay < 0, o.MinDelay)
	if o.MaxDelay < o.MinDelay {
		errs = append(errs, &ValidationError{Field: "FleetOptions.MaxDelay", Value: o.MaxDelay.String(),
			Rule: "must not be less than MinDelay " + o.MinDelay.String()})
	}
	positive("MaxWait", o.MaxWait < 0, o.MaxWait)
	positive("NotFoundGrace", o.NotFoundGrace < 0, o.NotFoundGrace)
	return errors.Join(errs...)
}

func setDefault[T comparable](p *T, v T) {
	var zero T
	if *p == zero {
		*p = v
	}
}

// needsGate reports whether the change to s must pass the IMDSv1 gate.
func (o *FleetOptions) needsGate(s Set) bool {
	return s.tokens == types.HttpTokensStateRequired && !o.SkipIMDSv1Gate
}

// PlanFleet lists the instances sel selects (every page), and works out for
// each what applying s needs: the fields that change, nothing for instances
// already satisfied, a change that applies on start for stopped instances,
// downgrades flagged (and refused unless AllowDowngrade), and, when s
// requires tokens, the IMDSv1 gate. It changes nothing. Invalid input is an
// error matching ErrInvalid before any call; a failed listing is an error.
// A failed gate look-up is not: the instances it covers are held (fail
// closed), with the error in their Err.
func PlanFleet(ctx context.Context, api API, sel Selection, s Set, optFns ...func(*FleetOptions)) (*FleetPlan, error) {
	var o FleetOptions
	err := o.fill(optFns)
	for _, id := range sel.InstanceIDs {
		err = errors.Join(err, ValidateInstanceID(id))
	}
	if o.needsGate(s) && o.Metrics == nil {
		err = errors.Join(err, &ValidationError{Field: "FleetOptions.Metrics", Value: "nil",
			Rule: "must be set to check IMDSv1 use before requiring tokens (or set SkipIMDSv1Gate)"})
	}
	if err != nil {
		return nil, err
	}
	c := newCaller(api, &o)
	items, err := c.list(ctx, sel)
	if err != nil {
		return nil, err
	}
	var gated []int
	for i := range items {
		it := &items[i]
		if it.Status != 0 {
			continue // not found or terminated
		}
		it.Changes = s.Changes(it.Options)
		it.Downgrade = downgrade(it.Changes)
		switch {
		case it.Changes.IsZero():
			it.Status = StatusSatisfied
		case it.Downgrade != "" && !o.AllowDowngrade:
			it.Status = StatusRefused
		case it.InstanceState == types.InstanceStateNameStopped || it.InstanceState == types.InstanceStateNameStopping:
			it.Status = StatusPendingStart
		default:
			it.Status = StatusChange
		}
		if o.needsGate(s) && it.Changes.tokens == types.HttpTokensStateRequired &&
			(it.Status == StatusChange || it.Status == StatusPendingStart) {
			gated = append(gated, i)
		}
	}
	if len(gated) > 0 {
		c.gate(ctx, items, gated)
	}
	return &FleetPlan{Set: s, Items: items, Calls: c.counts()}, nil
}

// ApplyFleet carries out a plan made by PlanFleet with the same options: one
// ModifyInstanceMetadataOptions call per instance that needs it, sending only
// the changing fields, paced to EC2's token bucket with bounded concurrency,
// throttling and 5xx answers retried with jittered backoff. A batched waiter
// then polls DescribeInstances for up to 1000 pending instances a call until
// each is applied. Every instance of the plan ends with one final status in
// the report. When ctx ends, no new call is made; ApplyFleet returns the
// report so far, with unstarted instances StatusNotAttempted, and the
// context's error.
func ApplyFleet(ctx context.Context, api API, plan *FleetPlan, optFns ...func(*FleetOptions)) (*FleetReport, error) {
	var o FleetOptions
	err := o.fill(optFns)
	if plan == nil {
		err = errors.Join(err, &ValidationError{Field: "plan", Value: "nil", Rule: "must be a plan made by PlanFleet"})
	}
	if err != nil {
		return nil, err
	}
	start := time.Now()
	c := newCaller(api, &o)
	r := &FleetReport{Items: slices.Clone(plan.Items)}
	a := &applier{c: c, o: &o, set: plan.Set, items: r.Items, pending: map[int]time.Time{}}
	err = a.run(ctx)
	r.Calls, r.Throttled, r.Elapsed = c.counts(), int(c.throttled.Load()), time.Since(start)
	return r, err
}

// caller makes the fleet's API calls: paced, counted, and retried.
type caller struct {
	api       API
	o         *FleetOptions
	modLim    *rate.Limiter
	descLim   *rate.Limiter
	mu        sync.Mutex
	calls     map[string]int
	throttled atomic.Int64
}

func newCaller(api API, o *FleetOptions) *caller {
	return &caller{api: api, o: o, calls: map[string]int{},
		modLim:  rate.NewLimiter(o.ModifyRate, o.ModifyBurst),
		descLim: rate.NewLimiter(o.DescribeRate, o.DescribeBurst)}
}

func (c *caller) count(op string, err error) {
	c.mu.Lock()
	c.calls[op]++
	c.mu.Unlock()
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorCode() == "RequestLimitExceeded" {
		c.throttled.Add(1)
	}
}

func (c *caller) counts() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.calls)
}

// backoff returns jittered exponential delays from MinDelay to MaxDelay.
func (c *caller) backoff() *backoff.ExponentialBackOff {
	return newBackoff(c.o.MinDelay, c.o.MaxDelay)
}

// withRetry calls call, paced by lim, until it succeeds, fails for good
// (retry says no), or MaxWait passes. sent reports whether any call was
// made.
func (c *caller) withRetry(ctx context.Context, lim *rate.Limiter, retry func(error) bool, call func() error) (sent bool, err error) {
	b := c.backoff()
	deadline := time.Now().Add(c.o.MaxWait)
	for {
		if err := lim.Wait(ctx); err != nil {
			if ctxErr := ctx.Err(); ctxErr != nil {
				err = ctxErr
			}
			return sent, err
		}
		sent = true
		err := call()
		if err == nil || !retry(err) || ctx.Err() != nil {
			return sent, err
		}
		delay := min(b.NextBackOff(), time.Until(deadline))
		if delay <= 0 {
			return sent, fmt.Errorf("retried for %v: %w: %w", c.o.MaxWait, ErrTimeout, err)
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return sent, ctx.Err()
		case <-t.C:
		}
	}
}

// describeAll pages through DescribeInstances with in, calling fn for every
// instance.
func (c *caller) describeAll(ctx context.Context, in ec2.DescribeInstancesInput, fn func(*types.Instance)) error {
	for {
		var out *ec2.DescribeInstancesOutput
		_, err := c.withRetry(ctx, c.descLim, retryable, func() error {
			var err error
			out, err = c.api.DescribeInstances(ctx, &in, c.o.ClientOptions...)
			c.count("DescribeInstances", err)
			return err
		})
		if err != nil {
			return err
		}
		for _, r := range out.Reservations {
			for i := range r.Instances {
				fn(&r.Instances[i])
			}
		}
		if aws.ToString(out.NextToken) == "" {
			return nil
		}
		in.NextToken = out.NextToken
	}
}

// Batch sizes: DescribeInstances takes up to 1000 results a page; filter
// values are chunked by 200 (the documented limit of values per filter is
// unverified, so this stays conservative); GetMetricData takes 500 queries.
const (
	describePage     = 1000
	filterValueChunk = 200
	metricQueries    = 500
)

// list returns the selected instances as plan items in listing order; named
// instances EC2 does not return are looked for again within NotFoundGrace,
// then reported StatusFailed with ErrInstanceNotFound.
func (c *caller) list(ctx context.Context, sel Selection) ([]FleetItem, error) {
	filters := slices.Clone(sel.Filters)
	for _, k := range slices.Sorted(maps.Keys(sel.Tags)) {
		filters = append(filters, types.Filter{Name: aws.String("tag:" + k), Values: []string{sel.Tags[k]}})
	}
	var items []FleetItem
	seen := map[string]bool{}
	add := func(inst *types.Instance) {
		id := aws.ToString(inst.InstanceId)
		if seen[id] {
			return
		}
		seen[id] = true
		it := FleetItem{InstanceID: id, Options: inst.MetadataOptions}
		if inst.State != nil {
			it.InstanceState = inst.State.Name
		}
		if it.InstanceState == types.InstanceStateNameTerminated || it.InstanceState == types.InstanceStateNameShuttingDown {
			it.Status, it.Err = StatusFailed, fmt.Errorf("imdsopts: %s is %s: %w", id, it.InstanceState, ErrInstanceTerminated)
		}
		items = append(items, it)
	}
	page := func(f []types.Filter) ec2.DescribeInstancesInput {
		return ec2.DescribeInstancesInput{Filters: f, MaxResults: aws.Int32(describePage)}
	}
	if len(sel.InstanceIDs) == 0 {
		if !slices.ContainsFunc(filters, func(f types.Filter) bool { return aws.ToString(f.Name) == "instance-state-name" }) {
			filters = append(filters, types.Filter{Name: aws.String("instance-state-name"),
				Values: []string{"pending", "running", "stopping", "stopped"}})
		}
		return items, c.describeAll(ctx, page(filters), add)
	}
	// Named instances go in an instance-id filter, not InstanceIds: an unknown
	// ID then goes missing instead of failing the whole call.
	ids := slices.Compact(slices.Sorted(slices.Values(sel.InstanceIDs)))
	start := time.Now()
	b := c.backoff()
	for {
		for chunk := range slices.Chunk(ids, filterValueChunk) {
			f := append(slices.Clone(filters), types.Filter{Name: aws.String("instance-id"), Values: chunk})
			if err := c.describeAll(ctx, page(f), add); err != nil {
				return nil, err
			}
		}
		ids = slices.DeleteFunc(ids, func(id string) bool { return seen[id] })
		delay := b.NextBackOff()
		if len(ids) == 0 || time.Since(start)+delay > c.o.NotFoundGrace {
			break
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
	for _, id := range ids {
		items = append(items, FleetItem{InstanceID: id, Status: StatusFailed,
			Err: fmt.Errorf("imdsopts: %s: not returned by DescribeInstances: %w", id, ErrInstanceNotFound)})
	}
	return items, nil
}

// gate reads MetadataNoToken for the items at idx, 500 a GetMetricData
// call, and holds those that used IMDSv1 or whose history is unknown.
func (c *caller) gate(ctx context.Context, items []FleetItem, idx []int) {
	end := time.Now().Truncate(time.Minute)
	startT := end.Add(-c.o.IMDSv1Window)
	// One datapoint a day (a multiple of 3600 s, as CloudWatch wants for
	// data older than 63 days), or the whole window when it is shorter.
	period := int32(86400)
	if c.o.IMDSv1Window < 24*time.Hour {
		period = int32(max(time.Minute, c.o.IMDSv1Window.Truncate(time.Minute)) / time.Second)
	}
	for chunk := range slices.Chunk(idx, metricQueries) {
		in := &cloudwatch.GetMetricDataInput{StartTime: aws.Time(startT), EndTime: aws.Time(end)}
		for q, i := range chunk {
			in.MetricDataQueries = append(in.MetricDataQueries, cwtypes.MetricDataQuery{
				Id: aws.String(fmt.Sprintf("q%d", q)),
				MetricStat: &cwtypes.MetricStat{
					Metric: &cwtypes.Metric{Namespace: aws.String("AWS/EC2"), MetricName: aws.String("MetadataNoToken"),
						Dimensions: []cwtypes.Dimension{{Name: aws.String("InstanceId"), Value: aws.String(items[i].InstanceID)}}},
					Period: aws.Int32(period), Stat: aws.String("Sum"),
				},
			})
		}
		sums, err := c.metricSums(ctx, in)
		for q, i := range chunk {
			it := &items[i]
			switch sum, ok := sums[fmt.Sprintf("q%d", q)]; {
			case err != nil || !ok:
				if err == nil {
					err = errors.New("no result for the instance")
				}
				it.Status, it.Err = StatusHeld, fmt.Errorf("imdsopts: %s: IMDSv1 use over %v unknown: %w", it.InstanceID, c.o.IMDSv1Window, err)
			case sum > 0:
				it.IMDSv1Calls = sum
				it.Status, it.Err = StatusHeld, fmt.Errorf("imdsopts: %s: %v IMDSv1 calls over %v: %w", it.InstanceID, sum, c.o.IMDSv1Window, ErrIMDSv1InUse)
			}
		}
	}
}

// metricSums runs one GetMetricData request through every page and sums
// each query's values; a query whose data is not complete is left out.
func (c *caller) metricSums(ctx context.Context, in *cloudwatch.GetMetricDataInput) (map[string]float64, error) {
	sums, complete := map[string]float64{}, map[string]bool{}
	for {
		var out *cloudwatch.GetMetricDataOutput
		_, err := c.withRetry(ctx, rate.NewLimiter(rate.Inf, 1), retryable, func() error {
			var err error
			out, err = c.o.Metrics.GetMetricData(ctx, in)
			c.count("GetMetricData", err)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("CloudWatch GetMetricData: %w", err)
		}
		for _, r := range out.MetricDataResults {
			id := aws.ToString(r.Id)
			for _, v := range r.Values {
				sums[id] += v
			}
			complete[id] = r.StatusCode == cwtypes.StatusCodeComplete || r.StatusCode == ""
		}
		if aws.ToString(out.NextToken) == "" {
			break
		}
		in.NextToken = out.NextToken
	}
	maps.DeleteFunc(sums, func(id string, _ float64) bool { return !complete[id] })
	for id, ok := range complete {
		if _, has := sums[id]; !has && ok {
			sums[id] = 0
		}
	}
	return sums, nil
}

// downgrade describes the fields of changes that weaken an instance. Changes
// holds only fields that differ from the instance's, so HttpTokens optional
// there means the instance requires tokens now.
func downgrade(changes Set) string {
	var d []string
	if changes.tokens == types.HttpTokensStateOptional {
		d = append(d, "HttpTokens required to optional")
	}
	if changes.endpoint == types.InstanceMetadataEndpointStateEnabled {
		d = append(d, "HttpEndpoint turned on")
	}
	if changes.tags == types.InstanceMetadataTagsStateEnabled {
		d = append(d, "InstanceMetadataTags turned on")
	}
	return strings.Join(d, ", ")
}

func countStatus(items []FleetItem) map[Status]int {
	m := map[Status]int{}
	for _, it := range items {
		m[it.Status]++
	}
	return m
}

func formatItems(items []FleetItem) string {
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "INSTANCE\tSTATE\tSTATUS\tCHANGES\tNOTE")
	for _, it := range items {
		note := it.Downgrade
		if it.Err != nil {
			note = it.Err.Error()
		}
		changes := ""
		if !it.Changes.IsZero() {
			changes = it.Changes.String()
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", it.InstanceID, it.InstanceState, it.Status, changes, note)
	}
	w.Flush()
	return b.String()
}

// applier carries out a plan; its run goroutine owns items and pending.
type applier struct {
	c       *caller
	o       *FleetOptions
	set     Set
	items   []FleetItem
	pending map[int]time.Time // changed, not yet seen applied: item → when
	final   []bool            // the item has its final status
}

// modResult is the answer to one instance's ModifyInstanceMetadataOptions.
type modResult struct {
	i    int
	out  *types.InstanceMetadataOptionsResponse
	sent bool // a call was made (false: the context ended before)
	err  error
}

func (a *applier) run(ctx context.Context) error {
	var queue []int
	a.final = make([]bool, len(a.items))
	for i := range a.items {
		it := &a.items[i]
		switch {
		case it.Status != StatusChange && it.Status != StatusPendingStart:
			a.finish(i, it.Status, it.Err)
		case it.Downgrade != "" && !a.o.AllowDowngrade:
			a.finish(i, StatusRefused, nil)
		default:
			queue = append(queue, i)
		}
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
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				results <- a.modify(ctx, i)
			}
		}()
	}
	go func() { wg.Wait(); close(results) }()

	ticker := time.NewTicker(a.o.PollInterval)
	defer ticker.Stop()
	done, res := ctx.Done(), results
	for res != nil || (len(a.pending) > 0 && done != nil) {
		select {
		case r, ok := <-res:
			if !ok {
				res = nil
				continue
			}
			a.settle(r)
		case <-ticker.C:
			if done != nil && len(a.pending) > 0 {
				a.poll(ctx)
			}
		case <-done:
			done = nil
		}
	}
	// Only a cancelled context leaves instances open.
	for _, i := range queue {
		switch _, changed := a.pending[i]; {
		case a.final[i]:
		case changed:
			a.finish(i, StatusFailed, fmt.Errorf("imdsopts: %s: changed, not seen applied: %w", a.items[i].InstanceID, ctx.Err()))
		default:
			a.finish(i, StatusNotAttempted, fmt.Errorf("imdsopts: %s: not attempted: %w", a.items[i].InstanceID, ctx.Err()))
		}
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("imdsopts: fleet apply stopped: %w", err)
	}
	return nil
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

// modify sends item i's changes, paced and retried; it runs on a worker.
func (a *applier) modify(ctx context.Context, i int) modResult {
	id, in := a.items[i].InstanceID, a.items[i].Changes.ModifyInput(a.items[i].InstanceID)
	start := time.Now()
	retry := func(err error) bool {
		return retryable(err) || isNotFound(err) && time.Since(start) < a.o.NotFoundGrace
	}
	r := modResult{i: i}
	r.sent, r.err = a.c.withRetry(ctx, a.c.modLim, retry, func() error {
		out, err := a.c.api.ModifyInstanceMetadataOptions(ctx, in, a.o.ClientOptions...)
		a.c.count("ModifyInstanceMetadataOptions", err)
		if err == nil {
			r.out = out.InstanceMetadataOptions
		}
		return err
	})
	if r.err != nil && ctx.Err() == nil {
		r.err = apiFailure(id, a.items[i].Changes, r.err)
	}
	return r
}

// settle takes a worker's answer: final, or pending for the waiter.
func (a *applier) settle(r modResult) {
	it := &a.items[r.i]
	switch {
	case r.err != nil && !r.sent:
		a.finish(r.i, StatusNotAttempted, fmt.Errorf("imdsopts: %s: not attempted: %w", it.InstanceID, r.err))
	case r.err != nil:
		a.finish(r.i, StatusFailed, r.err)
	case it.Status == StatusPendingStart:
		it.Options = r.out
		a.finish(r.i, StatusPendingStart, nil)
	default:
		it.Options = r.out
		if r.out != nil && r.out.State == types.InstanceMetadataOptionsStateApplied && a.set.SatisfiedBy(r.out) {
			a.finish(r.i, StatusApplied, nil)
			return
		}
		a.pending[r.i] = time.Now()
	}
}

// poll asks DescribeInstances once about up to 1000 pending instances, the
// longest pending first, and settles those EC2 reports done. A throttled or
// failed poll is tried again at the next tick.
func (a *applier) poll(ctx context.Context) {
	batch := slices.SortedFunc(maps.Keys(a.pending), func(x, y int) int { return a.pending[x].Compare(a.pending[y]) })
	a.describe(ctx, batch[:min(len(batch), describePage)])
	for i, since := range a.pending {
		if time.Since(since) >= a.o.MaxWait {
			a.finish(i, StatusFailed, fmt.Errorf("imdsopts: %s: not applied after %v: %s: %w",
				a.items[i].InstanceID, a.o.MaxWait, lastSeen(a.set, Attempt{Options: a.items[i].Options}), ErrTimeout))
		}
	}
}

// describe polls the instances at idx with one call; when EC2 does not know
// one of them, the call fails whole, so the batch is split to find it.
func (a *applier) describe(ctx context.Context, idx []int) {
	if len(idx) == 0 || a.c.descLim.Wait(ctx) != nil {
		return
	}
	ids := make([]string, len(idx))
	for k, i := range idx {
		ids[k] = a.items[i].InstanceID
	}
	out, err := a.c.api.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: ids}, a.o.ClientOptions...)
	a.c.count("DescribeInstances", err)
	switch {
	case err == nil:
	case isNotFound(err) && len(idx) > 1:
		a.describe(ctx, idx[:len(idx)/2])
		a.describe(ctx, idx[len(idx)/2:])
		return
	case isNotFound(err):
		if i := idx[0]; time.Since(a.pending[i]) >= a.o.NotFoundGrace {
			a.finish(i, StatusFailed, fmt.Errorf("imdsopts: %s: %w: %w", a.items[i].InstanceID, ErrInstanceNotFound, err))
		}
		return
	case retryable(err) || ctx.Err() != nil:
		return
	default:
		for _, i := range idx {
			a.finish(i, StatusFailed, apiFailure(a.items[i].InstanceID, a.set, err))
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
			if !ok {
				continue
			}
			it := &a.items[i]
			it.Options = inst.MetadataOptions
			if inst.State != nil {
				it.InstanceState = inst.State.Name
			}
			applied := it.Options != nil && it.Options.State == types.InstanceMetadataOptionsStateApplied
			switch it.InstanceState {
			case types.InstanceStateNameShuttingDown, types.InstanceStateNameTerminated:
				a.finish(i, StatusFailed, fmt.Errorf("imdsopts: %s is %s: %w", it.InstanceID, it.InstanceState, ErrInstanceTerminated))
				continue
			case types.InstanceStateNameStopped, types.InstanceStateNameStopping:
				if !applied {
					a.finish(i, StatusPendingStart, nil)
					continue
				}
			}
			if applied && a.set.SatisfiedBy(it.Options) {
				a.finish(i, StatusApplied, nil)
			}
		}
	}
}

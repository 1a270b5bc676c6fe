package fake

import (
	"cmp"
	"context"
	"fmt"
	"regexp"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/smithy-go"
)

// CloudWatch names and limits the fake uses.
const (
	// NamespaceEC2 is the CloudWatch namespace of EC2's instance metrics.
	NamespaceEC2 = "AWS/EC2"
	// MetricMetadataNoToken is the EC2 metric that counts the instance
	// metadata requests an instance answered without a session token
	// (IMDSv1 calls).
	MetricMetadataNoToken = "MetadataNoToken"
	// MetricMetadataNoTokenRejected is the EC2 metric that counts the
	// instance metadata requests without a session token that an instance
	// refused because it requires IMDSv2: the sign that requiring it broke
	// something.
	MetricMetadataNoTokenRejected = "MetadataNoTokenRejected"
	// MetricCPUUtilization is the EC2 metric of an instance's CPU use, which
	// EC2 publishes for every running instance.
	MetricCPUUtilization = "CPUUtilization"
	// MetricStatusCheckFailed is the EC2 metric of an instance's failed
	// status checks, published every minute for every running instance.
	MetricStatusCheckFailed = "StatusCheckFailed"
	// DimensionInstanceID is the dimension that names the instance of an
	// EC2 metric.
	DimensionInstanceID = "InstanceId"

	cwService          = "CloudWatch"
	opGetMetricData    = "GetMetricData"
	maxMetricQueries   = 500
	maxQueryIDLength   = 255
	cwValidation       = "ValidationError"
	cwInvalidNextToken = "InvalidNextToken"
	cwInternal         = "InternalServiceError"

	// defaultMaxDatapoints is what GetMetricData returns at most in one
	// page when MaxDatapoints is not given.
	defaultMaxDatapoints = 100_800
)

var queryID = regexp.MustCompile(`^[a-z][a-zA-Z0-9_]*$`)

// CloudWatch is an in-memory model of CloudWatch GetMetricData for the
// AWS/EC2 metrics MetadataNoToken (IMDSv1 calls an instance answered) and
// MetadataNoTokenRejected (IMDSv1 calls it refused), or any other metric with
// the single dimension InstanceId. Put datapoints with PutMetadataNoToken or
// PutMetric, or tie it to an [EC2] fake (see [CloudWatchOptions.EC2]) to have
// the two IMDSv1 metrics derived from its instances; read them with
// GetMetricData, which has exactly the signature of the method of
// *cloudwatch.Client. A CloudWatch is safe for concurrent use; create it
// with NewCloudWatch.
type CloudWatch struct {
	mu     sync.Mutex
	ec2    *EC2
	shape  IMDSMetrics
	delay  time.Duration
	series map[seriesKey][]datapoint
	calls  int
	faults []fault

	corruptions []corruption
	answers     map[string]*pagedAnswer // by NextToken
	nextAnswer  int
}

// CloudWatchOptions configures a CloudWatch fake.
type CloudWatchOptions struct {
	// EC2, when set, ties the CloudWatch to an EC2 fake: GetMetricData then
	// publishes the AWS/EC2 metrics of each of its instances as EC2 does,
	// derived from the instance's history at the time of the call:
	// MetadataNoToken (the IMDSv1 calls its software made, see
	// [EC2.CallIMDSv1], that it answered), MetadataNoTokenRejected (those it
	// refused because it required tokens), CPUUtilization and
	// StatusCheckFailed.
	//
	// Each datapoint covers a period of the instance's metrics: 5 minutes,
	// or 1 minute for an instance with detailed monitoring (documented: "By
	// default, each data point covers the 5 minutes that follow the start
	// time of activity for the instance. If you've enabled detailed
	// monitoring, each data point covers the next minute of activity"),
	// here from the minute it was launched; StatusCheckFailed is published
	// every minute whatever the monitoring (documented). A period has
	// datapoints only when the instance ran in it, and they appear
	// PublishDelay after it ends. Which periods of the two IMDS metrics
	// have a datapoint is IMDSMetrics's to say. Datapoints put with
	// PutMetric add to these.
	EC2 *EC2

	// IMDSMetrics says which periods of MetadataNoToken and
	// MetadataNoTokenRejected have a datapoint; see [IMDSMetrics].
	IMDSMetrics IMDSMetrics

	// PublishDelay is how long after a period ends its datapoints appear.
	// EC2 does not document it; the CloudWatch console shows the datapoint
	// of a 5-minute period a minute after the period ends, and
	// practitioners report up to 10 minutes for basic monitoring. The
	// default is DefaultPublishDelay; a negative value means none.
	PublishDelay time.Duration
}

// DefaultPublishDelay is the PublishDelay of a CloudWatch fake whose options
// leave it zero.
const DefaultPublishDelay = time.Minute

// IMDSMetrics is a shape of the datapoints EC2 publishes of MetadataNoToken
// and MetadataNoTokenRejected. The EC2 User Guide documents that
// MetadataNoToken is 0 "if all requests use token-backed sessions" and that
// "if [MetadataNoTokenRejected] appears, it indicates that an IMDSv1 call was
// attempted and rejected"; whether a period without any such call has a
// datapoint of 0 is not documented. The shapes are the plausible answers; a
// reader of the metrics must give a correct answer under each.
type IMDSMetrics int

const (
	// IMDSMetricsExclusive, the default, is the shape most likely in a
	// real account (inferred from the documentation's wording and
	// practitioners' reports that the two are mutually exclusive per
	// instance): MetadataNoToken has a datapoint, 0 included, for every
	// period in which the instance allowed IMDSv1 (HttpTokens optional, its
	// endpoint enabled) and none while it requires tokens;
	// MetadataNoTokenRejected has one only for a period in which it refused
	// a call. No datapoint of MetadataNoTokenRejected is then the normal
	// case, not a reading that failed.
	IMDSMetricsExclusive IMDSMetrics = iota
	// IMDSMetricsZeros has a datapoint of each metric, 0 included, for
	// every period in which the instance ran.
	IMDSMetricsZeros
	// IMDSMetricsSparse has a datapoint of each metric only for a period
	// with a call it counts: no zeros at all, the hardest shape for a
	// reader, which can tell a period without calls from one without data
	// only by the instance's other metrics.
	IMDSMetricsSparse
)

// corruption is an entry of the CorruptNext queue.
type corruption struct {
	n  int
	fn func(*cloudwatch.GetMetricDataOutput)
}

// pagedAnswer is a GetMetricData answer split into pages.
type pagedAnswer struct {
	ids   []string // the Ids of the request's queries
	pages []*cloudwatch.GetMetricDataOutput
}

// seriesKey names one time series.
type seriesKey struct {
	namespace, metric, instance string
}

type datapoint struct {
	at    time.Time
	value float64
}

// NewCloudWatch returns a CloudWatch fake without any datapoints of its
// own.
func NewCloudWatch(optFns ...func(*CloudWatchOptions)) *CloudWatch {
	var o CloudWatchOptions
	for _, fn := range optFns {
		if fn != nil {
			fn(&o)
		}
	}
	delay := o.PublishDelay
	switch {
	case delay == 0:
		delay = DefaultPublishDelay
	case delay < 0:
		delay = 0
	}
	return &CloudWatch{
		ec2:     o.EC2,
		shape:   o.IMDSMetrics,
		delay:   delay,
		series:  make(map[seriesKey][]datapoint),
		answers: make(map[string]*pagedAnswer),
	}
}

// PutMetadataNoToken adds a datapoint of count IMDSv1 calls, taken at at, to
// the AWS/EC2 metric MetadataNoToken of instance instanceID.
func (c *CloudWatch) PutMetadataNoToken(instanceID string, at time.Time, count float64) {
	c.PutMetric(NamespaceEC2, MetricMetadataNoToken, instanceID, at, count)
}

// PutMetric adds a datapoint with value, taken at at, to the metric of
// namespace and name whose only dimension is InstanceId = instanceID.
// Datapoints accumulate: two at the same time both count.
func (c *CloudWatch) PutMetric(namespace, metric, instanceID string, at time.Time, value float64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := seriesKey{namespace, metric, instanceID}
	c.series[k] = append(c.series[k], datapoint{at: at, value: value})
}

// FailNext makes the next n calls of GetMetricData return err without any
// other effect. err is wrapped in a *smithy.OperationError with ServiceID
// "CloudWatch", unless it already is one; build service errors with
// NewAPIError. A nil err injects InternalServiceError with HTTP status 500.
// Calling FailNext again queues a further entry behind those pending.
func (c *CloudWatch) FailNext(n int, err error) {
	if n <= 0 {
		return
	}
	if err == nil {
		err = NewAPIError(500, cwInternal, "Internal service error.")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.faults = append(c.faults, fault{n: n, err: err})
}

// CorruptNext passes the next n answers of GetMetricData that succeed to fn
// before they are returned, so that a test can make them something other
// than a complete measurement: a StatusCode of PartialData or
// InternalError, Messages, values that are NaN, a NextToken that does not
// page, missing results. fn gets the page as GetMetricData returns it, and
// may change it freely. Failures queued with FailNext come first and are not
// counted. Calling CorruptNext again queues a further entry behind the ones
// pending; n of 0 or less, or a nil fn, does nothing.
func (c *CloudWatch) CorruptNext(n int, fn func(*cloudwatch.GetMetricDataOutput)) {
	if n <= 0 || fn == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.corruptions = append(c.corruptions, corruption{n: n, fn: fn})
}

// Calls reports how many times GetMetricData was called, including calls
// that failed.
func (c *CloudWatch) Calls() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls
}

// cwError returns the error a CloudWatch error response to GetMetricData
// decodes to.
func cwError(status int, code, format string, args ...any) error {
	return wrapService(cwService, opGetMetricData, NewAPIError(status, code, fmt.Sprintf(format, args...)))
}

func cwInvalid(format string, args ...any) error {
	return cwError(400, cwValidation, format, args...)
}

// GetMetricData returns the statistics of the requested metrics over
// [StartTime, EndTime). StartTime is rounded down to a whole minute; each
// query's period buckets the datapoints from there, and a bucket is reported
// with the time it starts at. Only buckets that hold datapoints appear, newest
// first unless ScanBy is TimestampAscending. A metric without datapoints, or
// whose dimensions are not exactly one InstanceId, gives an empty series with
// StatusCode Complete.
//
// StartTime, EndTime (after StartTime) and 1 to 500 MetricDataQueries are
// required. Each query needs a unique Id matching ^[a-z][a-zA-Z0-9_]*$ and a
// MetricStat with a Metric (Namespace and MetricName), a Period that is a
// positive multiple of 60, and a Stat of Sum, Average, Minimum, Maximum or
// SampleCount. Math expressions and Metrics Insights queries (Expression),
// percentiles and high-resolution periods are not supported and answer
// ValidationError, as every invalid request does. A query with ReturnData
// false is checked but left out of the answer. The label is the query's
// Label, else the metric name. Unit and LabelOptions are ignored.
//
// An answer holds at most MaxDatapoints datapoints (100,800 when not
// given) in all; a longer one is split into pages. The first page has a
// result for every query; a later page only the results that have
// datapoints on it. A result whose datapoints go on in a later page has
// StatusCode PartialData, and the answer a NextToken; asking again with the
// same queries and that NextToken gives the next page. The pages are cut
// when the first is asked for: later pages do not change as time goes on.
// An unknown NextToken, or one asked for with other queries, answers
// InvalidNextToken.
//
// A CloudWatch tied to an EC2 fake (see [CloudWatchOptions]) derives the
// IMDSv1 metrics of its instances at the time of the call;
// [CloudWatch.CorruptNext] makes answers incomplete on purpose.
func (c *CloudWatch) GetMetricData(ctx context.Context, params *cloudwatch.GetMetricDataInput, optFns ...func(*cloudwatch.Options)) (*cloudwatch.GetMetricDataOutput, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	if ctx != nil {
		if err := ctx.Err(); err != nil {
			return nil, wrapService(cwService, opGetMetricData, &smithy.CanceledError{Err: err})
		}
	}
	if len(c.faults) > 0 {
		err := c.faults[0].err
		if c.faults[0].n--; c.faults[0].n <= 0 {
			c.faults = c.faults[1:]
		}
		return nil, wrapService(cwService, opGetMetricData, err)
	}
	if params == nil {
		params = &cloudwatch.GetMetricDataInput{}
	}
	queries, err := checkMetricData(params)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(queries))
	for n, q := range queries {
		ids[n] = aws.ToString(q.Id)
	}

	var out *cloudwatch.GetMetricDataOutput
	if t := aws.ToString(params.NextToken); t != "" {
		a, page, ok := c.page(t)
		if !ok || !slices.Equal(a.ids, ids) {
			return nil, cwError(400, cwInvalidNextToken, "The service returned an invalid token.")
		}
		out = clonePage(a.pages[page])
	} else {
		start := params.StartTime.Truncate(time.Minute)
		end, now := *params.EndTime, time.Now()
		var results []cwtypes.MetricDataResult
		for _, q := range queries {
			if q.ReturnData != nil && !*q.ReturnData {
				continue
			}
			results = append(results, c.result(q, start, end, now, params.ScanBy))
		}
		limit := defaultMaxDatapoints
		if m := params.MaxDatapoints; m != nil {
			limit = int(*m)
		}
		out = clonePage(c.paginate(ids, results, limit))
	}
	if len(c.corruptions) > 0 {
		fn := c.corruptions[0].fn
		if c.corruptions[0].n--; c.corruptions[0].n <= 0 {
			c.corruptions = c.corruptions[1:]
		}
		fn(out)
	}
	return out, nil
}

// paginate splits results into pages of at most limit datapoints, keeps
// the pages after the first for their NextTokens, and returns the first.
func (c *CloudWatch) paginate(ids []string, results []cwtypes.MetricDataResult, limit int) *cloudwatch.GetMetricDataOutput {
	a := &pagedAnswer{ids: ids}
	offsets := make([]int, len(results)) // datapoints of each result already paged
	for first := true; ; first = false {
		page := &cloudwatch.GetMetricDataOutput{MetricDataResults: []cwtypes.MetricDataResult{}}
		room := limit
		more := false
		for n, r := range results {
			from := offsets[n]
			to := from + min(room, len(r.Values)-from)
			if to == from && !first {
				more = more || from < len(r.Values)
				continue
			}
			part := r
			part.Timestamps, part.Values = r.Timestamps[from:to], r.Values[from:to]
			if to < len(r.Values) {
				part.StatusCode = cwtypes.StatusCodePartialData
				more = true
			}
			page.MetricDataResults = append(page.MetricDataResults, part)
			offsets[n], room = to, room-(to-from)
		}
		a.pages = append(a.pages, page)
		if !more {
			break
		}
		c.nextAnswer++
		token := fmt.Sprintf("fake-cw-%d-%d", c.nextAnswer, len(a.pages))
		page.NextToken = aws.String(token)
		c.answers[token] = a
	}
	return a.pages[0]
}

// page returns the answer and page number a NextToken continues with.
func (c *CloudWatch) page(token string) (*pagedAnswer, int, bool) {
	a := c.answers[token]
	if a == nil {
		return nil, 0, false
	}
	for n, p := range a.pages[:len(a.pages)-1] {
		if aws.ToString(p.NextToken) == token {
			return a, n + 1, true
		}
	}
	return nil, 0, false
}

// clonePage returns a copy of page that shares nothing with it.
func clonePage(page *cloudwatch.GetMetricDataOutput) *cloudwatch.GetMetricDataOutput {
	out := &cloudwatch.GetMetricDataOutput{
		NextToken:         page.NextToken,
		MetricDataResults: make([]cwtypes.MetricDataResult, len(page.MetricDataResults)),
	}
	for n, r := range page.MetricDataResults {
		r.Id, r.Label = aws.String(aws.ToString(r.Id)), aws.String(aws.ToString(r.Label))
		r.Timestamps = append([]time.Time{}, r.Timestamps...)
		r.Values = append([]float64{}, r.Values...)
		out.MetricDataResults[n] = r
	}
	return out
}

// checkMetricData validates a GetMetricData request and returns its queries.
func checkMetricData(p *cloudwatch.GetMetricDataInput) ([]cwtypes.MetricDataQuery, error) {
	if p.StartTime == nil {
		return nil, cwInvalid("The parameter StartTime is required.")
	}
	if p.EndTime == nil {
		return nil, cwInvalid("The parameter EndTime is required.")
	}
	if !p.StartTime.Before(*p.EndTime) {
		return nil, cwInvalid("The parameter StartTime must be less than the parameter EndTime.")
	}
	if m := p.MaxDatapoints; m != nil && *m <= 0 {
		return nil, cwInvalid("The value %d for parameter MaxDatapoints is not valid.", *m)
	}
	switch p.ScanBy {
	case "", cwtypes.ScanByTimestampDescending, cwtypes.ScanByTimestampAscending:
	default:
		return nil, cwInvalid("The value %s for parameter ScanBy is not valid.", p.ScanBy)
	}
	qs := p.MetricDataQueries
	if len(qs) == 0 {
		return nil, cwInvalid("The parameter MetricDataQueries is required.")
	}
	if len(qs) > maxMetricQueries {
		return nil, cwInvalid("The collection MetricDataQueries must not have a size greater than %d.", maxMetricQueries)
	}
	seen := make(map[string]bool, len(qs))
	for i, q := range qs {
		name := fmt.Sprintf("MetricDataQueries.member.%d", i+1)
		id := aws.ToString(q.Id)
		switch {
		case q.Id == nil:
			return nil, cwInvalid("The parameter %s.Id is required.", name)
		case len(id) > maxQueryIDLength || !queryID.MatchString(id):
			return nil, cwInvalid("The value %s for parameter %s.Id is not valid: it must start with a lowercase letter and contain only letters, digits and underscores.", id, name)
		case seen[id]:
			return nil, cwInvalid("The value %s for parameter %s.Id is not unique.", id, name)
		}
		seen[id] = true
		if q.Expression != nil {
			if q.MetricStat != nil {
				return nil, cwInvalid("The parameter %s must contain either Expression or MetricStat, not both.", name)
			}
			return nil, cwInvalid("The parameter %s.Expression is not supported by this model of CloudWatch.", name)
		}
		ms := q.MetricStat
		if ms == nil {
			return nil, cwInvalid("The parameter %s must contain either Expression or MetricStat.", name)
		}
		if ms.Metric == nil || aws.ToString(ms.Metric.MetricName) == "" {
			return nil, cwInvalid("The parameter %s.MetricStat.Metric.MetricName is required.", name)
		}
		if aws.ToString(ms.Metric.Namespace) == "" {
			return nil, cwInvalid("The parameter %s.MetricStat.Metric.Namespace is required.", name)
		}
		if ms.Period == nil {
			return nil, cwInvalid("The parameter %s.MetricStat.Period is required.", name)
		}
		if period := *ms.Period; period <= 0 || period%60 != 0 {
			return nil, cwInvalid("The value %d for parameter %s.MetricStat.Period is not valid: it must be a multiple of 60.", period, name)
		}
		if ms.Stat == nil {
			return nil, cwInvalid("The parameter %s.MetricStat.Stat is required.", name)
		}
		if _, ok := statistics[*ms.Stat]; !ok {
			return nil, cwInvalid("The value %s for parameter %s.MetricStat.Stat is not supported.", *ms.Stat, name)
		}
	}
	return qs, nil
}

// stats accumulates the datapoints of one period.
type stats struct {
	sum, min, max float64
	n             int
}

// add adds n datapoints of value v.
func (s *stats) add(v float64, n int) {
	if s.n == 0 || v < s.min {
		s.min = v
	}
	if s.n == 0 || v > s.max {
		s.max = v
	}
	s.sum += v * float64(n)
	s.n += n
}

// statistics are the supported values of MetricStat.Stat.
var statistics = map[string]func(stats) float64{
	"Sum":         func(s stats) float64 { return s.sum },
	"Average":     func(s stats) float64 { return s.sum / float64(s.n) },
	"Minimum":     func(s stats) float64 { return s.min },
	"Maximum":     func(s stats) float64 { return s.max },
	"SampleCount": func(s stats) float64 { return float64(s.n) },
}

// result answers the valid query q over [start, end) at now. c.mu must be
// held.
func (c *CloudWatch) result(q cwtypes.MetricDataQuery, start, end, now time.Time, scan cwtypes.ScanBy) cwtypes.MetricDataResult {
	ms := q.MetricStat
	label := aws.ToString(q.Label)
	if label == "" {
		label = aws.ToString(ms.Metric.MetricName)
	}
	res := cwtypes.MetricDataResult{
		Id:         q.Id,
		Label:      aws.String(label),
		StatusCode: cwtypes.StatusCodeComplete,
		Timestamps: []time.Time{},
		Values:     []float64{},
	}
	instance, ok := instanceDimension(ms.Metric.Dimensions)
	if !ok {
		return res
	}
	namespace, metric := aws.ToString(ms.Metric.Namespace), aws.ToString(ms.Metric.MetricName)
	period := time.Duration(*ms.Period) * time.Second
	// The buckets that hold datapoints, by index from start. The derived
	// datapoints come in time order, so a bucket is most often the last
	// one or a new one after it.
	type bucket struct {
		i int64
		s stats
	}
	var buckets []bucket // in the order of i
	add := func(at time.Time, n int, v float64) {
		i := int64(at.Sub(start) / period)
		k := len(buckets)
		if k == 0 || buckets[k-1].i < i {
			buckets = append(buckets, bucket{i: i})
		} else {
			var found bool
			if k, found = slices.BinarySearchFunc(buckets, i, func(b bucket, i int64) int { return cmp.Compare(b.i, i) }); !found {
				buckets = slices.Insert(buckets, k, bucket{i: i})
			}
		}
		buckets[k].s.add(v, n)
	}
	for _, p := range c.series[seriesKey{namespace, metric, instance}] {
		if !p.at.Before(start) && p.at.Before(end) {
			add(p.at, 1, p.value)
		}
	}
	if kind, ok := ec2Metrics[metric]; ok && c.ec2 != nil && namespace == NamespaceEC2 {
		c.ec2.publishedPoints(instance, kind, c.shape, c.delay, start, end, now, func(at time.Time, n int, g time.Duration, v float64) {
			for n > 0 {
				// The datapoints left in at's bucket.
				next := start.Add((at.Sub(start)/period + 1) * period)
				k := min(n, int((next.Sub(at)+g-1)/g))
				add(at, k, v)
				at, n = at.Add(time.Duration(k)*g), n-k
			}
		})
	}
	if scan != cwtypes.ScanByTimestampAscending {
		slices.Reverse(buckets)
	}
	stat := statistics[*ms.Stat]
	res.Timestamps, res.Values = make([]time.Time, 0, len(buckets)), make([]float64, 0, len(buckets))
	for _, b := range buckets {
		res.Timestamps = append(res.Timestamps, start.Add(time.Duration(b.i)*period).UTC())
		res.Values = append(res.Values, stat(b.s))
	}
	return res
}

// ec2Metrics are the AWS/EC2 metrics a CloudWatch tied to an EC2 fake
// publishes for its instances.
var ec2Metrics = map[string]metricKind{
	MetricMetadataNoToken:         kindNoToken,
	MetricMetadataNoTokenRejected: kindRejected,
	MetricCPUUtilization:          kindCPU,
	MetricStatusCheckFailed:       kindStatus,
}

// instanceDimension returns the instance ID of dims when they are exactly
// one InstanceId dimension.
func instanceDimension(dims []cwtypes.Dimension) (string, bool) {
	if len(dims) != 1 || aws.ToString(dims[0].Name) != DimensionInstanceID {
		return "", false
	}
	return aws.ToString(dims[0].Value), true
}

var imdsMetricsNames = [...]string{"exclusive", "zeros", "sparse"}

// String returns the shape's name: "exclusive", "zeros" or "sparse".
func (s IMDSMetrics) String() string {
	if s >= 0 && int(s) < len(imdsMetricsNames) {
		return imdsMetricsNames[s]
	}
	return fmt.Sprintf("IMDSMetrics(%d)", int(s))
}

// ParseIMDSMetrics returns the shape named s, as String names it.
func ParseIMDSMetrics(s string) (IMDSMetrics, error) {
	for n, name := range imdsMetricsNames {
		if s == name {
			return IMDSMetrics(n), nil
		}
	}
	return 0, fmt.Errorf("fake: %q is not a shape of the IMDS metrics: must be one of %q, %q, %q", s,
		imdsMetricsNames[0], imdsMetricsNames[1], imdsMetricsNames[2])
}

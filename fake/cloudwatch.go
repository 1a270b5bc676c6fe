package fake

import (
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
)

var queryID = regexp.MustCompile(`^[a-z][a-zA-Z0-9_]*$`)

// CloudWatch is an in-memory model of CloudWatch GetMetricData for the
// AWS/EC2 metric MetadataNoToken (IMDSv1 calls an instance answered), or any
// other metric with the single dimension InstanceId. Put datapoints with
// PutMetadataNoToken or PutMetric and read them with GetMetricData, which has
// exactly the signature of the method of *cloudwatch.Client. A CloudWatch is
// safe for concurrent use; create it with NewCloudWatch.
type CloudWatch struct {
	mu     sync.Mutex
	series map[seriesKey][]datapoint
	calls  int
	faults []fault
}

// seriesKey names one time series.
type seriesKey struct {
	namespace, metric, instance string
}

type datapoint struct {
	at    time.Time
	value float64
}

// NewCloudWatch returns a CloudWatch fake without any datapoints.
func NewCloudWatch() *CloudWatch {
	return &CloudWatch{series: make(map[seriesKey][]datapoint)}
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
// Every answer is complete in one page: MaxDatapoints is only checked to be
// positive, the answer never has a NextToken, and a request with a NextToken
// answers InvalidNextToken.
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
	start := params.StartTime.Truncate(time.Minute)
	end := *params.EndTime
	out := &cloudwatch.GetMetricDataOutput{MetricDataResults: []cwtypes.MetricDataResult{}}
	for _, q := range queries {
		if q.ReturnData != nil && !*q.ReturnData {
			continue
		}
		out.MetricDataResults = append(out.MetricDataResults, c.result(q, start, end, params.ScanBy))
	}
	return out, nil
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
	if p.NextToken != nil {
		return nil, cwError(400, cwInvalidNextToken, "The service returned an invalid token.")
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

func (s *stats) add(v float64) {
	if s.n == 0 || v < s.min {
		s.min = v
	}
	if s.n == 0 || v > s.max {
		s.max = v
	}
	s.sum += v
	s.n++
}

// statistics are the supported values of MetricStat.Stat.
var statistics = map[string]func(stats) float64{
	"Sum":         func(s stats) float64 { return s.sum },
	"Average":     func(s stats) float64 { return s.sum / float64(s.n) },
	"Minimum":     func(s stats) float64 { return s.min },
	"Maximum":     func(s stats) float64 { return s.max },
	"SampleCount": func(s stats) float64 { return float64(s.n) },
}

// result answers the valid query q over [start, end). c.mu must be held.
func (c *CloudWatch) result(q cwtypes.MetricDataQuery, start, end time.Time, scan cwtypes.ScanBy) cwtypes.MetricDataResult {
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
	points := c.series[seriesKey{aws.ToString(ms.Metric.Namespace), aws.ToString(ms.Metric.MetricName), instance}]
	period := time.Duration(*ms.Period) * time.Second
	buckets := make(map[int64]*stats)
	for _, p := range points {
		if p.at.Before(start) || !p.at.Before(end) {
			continue
		}
		i := int64(p.at.Sub(start) / period)
		if buckets[i] == nil {
			buckets[i] = &stats{}
		}
		buckets[i].add(p.value)
	}
	keys := make([]int64, 0, len(buckets))
	for i := range buckets {
		keys = append(keys, i)
	}
	slices.Sort(keys)
	if scan != cwtypes.ScanByTimestampAscending {
		slices.Reverse(keys)
	}
	stat := statistics[*ms.Stat]
	for _, i := range keys {
		res.Timestamps = append(res.Timestamps, start.Add(time.Duration(i)*period).UTC())
		res.Values = append(res.Values, stat(*buckets[i]))
	}
	return res
}

// instanceDimension returns the instance ID of dims when they are exactly
// one InstanceId dimension.
func instanceDimension(dims []cwtypes.Dimension) (string, bool) {
	if len(dims) != 1 || aws.ToString(dims[0].Name) != DimensionInstanceID {
		return "", false
	}
	return aws.ToString(dims[0].Value), true
}

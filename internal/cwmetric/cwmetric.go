// Package cwmetric measures an instance's AWS/EC2 IMDS metrics in
// CloudWatch, fail-closed: only a complete, finite sum is a measurement.
package cwmetric

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/imdsopts/imdsopts/internal/check"
	"github.com/imdsopts/imdsopts/internal/ec2limits"
	"github.com/imdsopts/imdsopts/internal/pace"
	"golang.org/x/time/rate"
)

// Measuring an instance's EC2 metrics in CloudWatch, for the IMDSv1 gate,
// the rollout's watch and posture: only complete, finite answers are a
// measurement, and a missing datapoint is a zero only where another metric
// shows that CloudWatch was receiving the instance's data then.
//
// How EC2 publishes the two IMDS metrics is documented only in part: the
// User Guide says MetadataNoToken is 0 "if all requests use token-backed
// sessions" and that "if [MetadataNoTokenRejected] appears, it indicates
// that an IMDSv1 call was attempted and rejected". So an instance that
// refused nothing most likely has no MetadataNoTokenRejected datapoint at
// all, and whether periods without an IMDSv1 call have a MetadataNoToken
// datapoint of 0 is not known. Neither absence is read as a zero on its own:
// CPUUtilization, which EC2 publishes for every running instance at the
// same granularity (every 5 minutes, or every minute with detailed
// monitoring), says when CloudWatch had the instance's data (corroborated
// absence). Without it, the answer is unknown.

// API is the part of *cloudwatch.Client that the measurement calls.
type API interface {
	GetMetricData(ctx context.Context, params *cloudwatch.GetMetricDataInput, optFns ...func(*cloudwatch.Options)) (*cloudwatch.GetMetricDataOutput, error)
}

// The AWS/EC2 metrics read, per instance (dimension InstanceId).
const (
	NoToken         = "MetadataNoToken"         // IMDSv1 calls the instance answered
	NoTokenRejected = "MetadataNoTokenRejected" // IMDSv1 calls it refused, requiring tokens
	CPU             = "CPUUtilization"          // published for every running instance
)

// Windows of IMDSv1 use.
const (
	// DefaultWindow is the window over which IMDSv1 use is measured
	// unless the caller says otherwise.
	DefaultWindow = 14 * 24 * time.Hour
	// MaxWindow is the longest window: CloudWatch keeps hourly
	// datapoints for 455 days.
	MaxWindow = 455 * 24 * time.Hour
)

// Reader reads CloudWatch for one operation: its calls are made through
// the operation's pacer, paced by Lim.
type Reader struct {
	Pacer *pace.Pacer
	API   API
	Lim   *rate.Limiter
}

// NewLimiter returns the limiter of GetMetricData calls (see
// ec2limits.GetMetricData).
func NewLimiter() *rate.Limiter {
	return rate.NewLimiter(rate.Limit(ec2limits.GetMetricData.Refill), ec2limits.GetMetricData.Size)
}

// Query is one Series asked of CloudWatch: the metric of an instance,
// with a statistic.
type Query struct {
	Instance, Metric, Stat string
}

// Series is CloudWatch's answer for one query, over every page: its
// datapoints, or why it is not a complete answer.
type Series struct {
	Times  []time.Time
	Values []float64
	Bad    string // why it is not a measurement; "" for a complete answer
	Cause  error  // the error behind Bad, if any
}

// Read asks CloudWatch for the queries over [start, end), each
// bucketed by period seconds, in requests of at most ec2limits.MetricQueries queries,
// paced and retried. It returns one Series per query, in order; a request
// that failed makes each of its Series bad. Its error is the context's.
func (r *Reader) Read(ctx context.Context, qs []Query, start, end time.Time, period int32) ([]*Series, error) {
	out := make([]*Series, 0, len(qs))
	for chunk := range slices.Chunk(qs, ec2limits.MetricQueries) {
		in := &cloudwatch.GetMetricDataInput{StartTime: aws.Time(start), EndTime: aws.Time(end)}
		for n, q := range chunk {
			in.MetricDataQueries = append(in.MetricDataQueries, cwtypes.MetricDataQuery{
				Id: aws.String("q" + strconv.Itoa(n)),
				MetricStat: &cwtypes.MetricStat{
					Metric: &cwtypes.Metric{Namespace: aws.String("AWS/EC2"), MetricName: aws.String(q.Metric),
						Dimensions: []cwtypes.Dimension{{Name: aws.String("InstanceId"), Value: aws.String(q.Instance)}}},
					Period: aws.Int32(period), Stat: aws.String(q.Stat),
				},
			})
		}
		got, err := r.metricData(ctx, in)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		for n := range chunk {
			s := got["q"+strconv.Itoa(n)]
			switch {
			case err != nil:
				s = &Series{Bad: "the measurement failed", Cause: err}
			case s == nil:
				s = &Series{Bad: "CloudWatch returned no result for the instance"}
			}
			out = append(out, s)
		}
	}
	return out, nil
}

// metricData runs one GetMetricData request through every page and
// gathers each query's answer. A query's answer is complete only when
// every page that has it marks it PartialData (more to come) or, on the
// last one that has it, Complete; a page that marks it InternalError,
// Forbidden or anything else, or that carries messages about it, makes it
// bad, whatever later pages say. A failed call, an answer with
// request-level messages, an empty answer, or a page token answered twice
// is an error for every query of the request.
func (r *Reader) metricData(ctx context.Context, in *cloudwatch.GetMetricDataInput) (map[string]*Series, error) {
	got := map[string]*Series{}
	status := map[string]cwtypes.StatusCode{} // the last page's, of each query
	tokens := pace.NewPageTokens("GetMetricData", pace.PageLimit("GetMetricData"))
	for {
		var out *cloudwatch.GetMetricDataOutput
		_, err := r.Pacer.Do(ctx, pace.Call{Op: "GetMetricData", Lim: r.Lim}, func(ctx context.Context) error {
			var err error
			out, err = r.API.GetMetricData(ctx, in)
			return err
		})
		switch {
		case err != nil:
			return nil, fmt.Errorf("reading CloudWatch (GetMetricData) failed: %w", err)
		case out == nil:
			return nil, errors.New("CloudWatch GetMetricData answered nothing")
		case len(out.Messages) > 0:
			return nil, fmt.Errorf("CloudWatch GetMetricData answered with messages: %s", messages(out.Messages))
		}
		for _, r := range out.MetricDataResults {
			id := aws.ToString(r.Id)
			s := got[id]
			if s == nil {
				s = &Series{}
				got[id] = s
			}
			status[id] = r.StatusCode
			switch {
			case s.Bad != "":
			case len(r.Messages) > 0:
				s.Bad = "CloudWatch answered with messages: " + messages(r.Messages)
			case r.StatusCode == "":
				s.Bad = "CloudWatch's result has no status code"
			case r.StatusCode != cwtypes.StatusCodeComplete && r.StatusCode != cwtypes.StatusCodePartialData:
				s.Bad = fmt.Sprintf("CloudWatch's result is %s on a page (its values there are not all of them)", check.Quote(string(r.StatusCode)))
			case len(r.Values) != len(r.Timestamps):
				s.Bad = "CloudWatch's result has values and timestamps that do not pair up"
			}
			s.Times = append(s.Times, r.Timestamps...)
			s.Values = append(s.Values, r.Values...)
		}
		token := aws.ToString(out.NextToken)
		if token == "" {
			for id, s := range got {
				if s.Bad == "" && status[id] != cwtypes.StatusCodeComplete {
					s.Bad = fmt.Sprintf("CloudWatch's result is %s, not Complete, on the last page", check.Quote(string(status[id])))
				}
			}
			return got, nil
		}
		if err := tokens.Next(token); err != nil {
			return nil, fmt.Errorf("CloudWatch %w", err)
		}
		in.NextToken = aws.String(token)
	}
}

func messages(ms []cwtypes.MessageData) string {
	parts := make([]string, len(ms))
	for i, m := range ms {
		parts[i] = check.Quote(aws.ToString(m.Code)) + ": " + check.Quote(aws.ToString(m.Value))
	}
	return strings.Join(parts, "; ")
}

// sum returns the sum of s's values, or why they are not counts.
func (s *Series) sum() (float64, string) {
	var sum float64
	for _, v := range s.Values {
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			return 0, fmt.Sprintf("CloudWatch's result has a value that is not a count: %v", v)
		}
		sum += v
	}
	return sum, ""
}

// Measurement is what one instance's series say: a Sum when Unknown is
// empty, else why it is not a measurement (and the error behind it).
type Measurement struct {
	Sum     float64
	Unknown string
	Cause   error
	// Covered is how far CloudWatch's data of the instance reaches without
	// a gap, from the start of the watch (see coverage); zero when it does
	// not reach the start.
	Covered time.Time
}

// CallsOf judges an instance's IMDSv1 calls over a window from its Series
// of MetadataNoToken, MetadataNoTokenRejected and CPUUtilization: their sum
// (the calls it answered and those it refused) when all three are complete
// and finite and one of them has a datapoint. Without any datapoint,
// CloudWatch had no data of it in the window (it did not run, or its data
// did not reach CloudWatch): unknown, unless noDataIsZero.
func CallsOf(noToken, rejected, cpu *Series, noDataIsZero bool) Measurement {
	for _, s := range []*Series{noToken, rejected, cpu} {
		if s.Bad != "" {
			return Measurement{Unknown: s.Bad, Cause: s.Cause}
		}
	}
	a, bad := noToken.sum()
	if bad == "" {
		var b float64
		b, bad = rejected.sum()
		a += b
	}
	if bad != "" {
		return Measurement{Unknown: bad}
	}
	if len(noToken.Values)+len(rejected.Values)+len(cpu.Values) == 0 && !noDataIsZero {
		return Measurement{Unknown: "CloudWatch has no datapoint of it in the window (MetadataNoToken, MetadataNoTokenRejected or " +
			"CPUUtilization): it did not run then, or its data did not reach CloudWatch, and no data is not a measured zero"}
	}
	return Measurement{Sum: a}
}

// RejectedSince judges a watched instance's rejected IMDSv1 calls from its
// Series of MetadataNoTokenRejected and CPUUtilization, read from before
// from: their sum, and how far the instance's data reaches without a gap
// from the period that holds from (see coverage), its periods being g long.
func RejectedSince(rejected, cpu *Series, from time.Time, g time.Duration) Measurement {
	for _, s := range []*Series{rejected, cpu} {
		if s.Bad != "" {
			return Measurement{Unknown: s.Bad, Cause: s.Cause}
		}
	}
	sum, bad := rejected.sum()
	if bad != "" {
		return Measurement{Unknown: bad}
	}
	return Measurement{Sum: sum, Covered: coverage(append(slices.Clone(rejected.Times), cpu.Times...), from, g)}
}

// coverage returns the end of the run of periods, each g long and starting
// at one of times, that begins with the period holding from and has no gap
// (each period starts at most g after the one before); zero when no period
// holds from. A period with a datapoint of any of the instance's metrics
// shows that CloudWatch was receiving its data then.
func coverage(times []time.Time, from time.Time, g time.Duration) time.Time {
	slices.SortFunc(times, time.Time.Compare)
	times = slices.CompactFunc(times, time.Time.Equal)
	var end time.Time
	for _, t := range times {
		switch {
		case end.IsZero() && !t.After(from) && t.Add(g).After(from):
			end = t.Add(g)
		case !end.IsZero() && !t.After(end):
			if e := t.Add(g); e.After(end) {
				end = e
			}
		case !end.IsZero():
			return end
		}
	}
	return end
}

// IMDSv1Calls measures the IMDSv1 calls of each of ids over [start, end),
// a datapoint a day (a multiple of 3600 s, as CloudWatch wants for data
// older than 63 days) or one over the whole window when it is shorter, and
// returns one measurement per ID. Its error is the context's.
func (r *Reader) IMDSv1Calls(ctx context.Context, ids []string, start, end time.Time, noDataIsZero bool) ([]Measurement, error) {
	period := int32(86400)
	if window := end.Sub(start); window < 24*time.Hour {
		period = int32(max(time.Minute, window.Truncate(time.Minute)) / time.Second)
	}
	qs := make([]Query, 0, 3*len(ids))
	for _, id := range ids {
		qs = append(qs, Query{id, NoToken, "Sum"}, Query{id, NoTokenRejected, "Sum"}, Query{id, CPU, "SampleCount"})
	}
	got, err := r.Read(ctx, qs, start, end, period)
	if err != nil {
		return nil, err
	}
	out := make([]Measurement, len(ids))
	for k := range ids {
		out[k] = CallsOf(got[3*k], got[3*k+1], got[3*k+2], noDataIsZero)
	}
	return out, nil
}

// Days formats d in days when it is a whole number of them ("14 days"), as
// a person writes a window, else as a Duration.
func Days(d time.Duration) string {
	const day = 24 * time.Hour
	switch {
	case d == day:
		return "1 day"
	case d > 0 && d%day == 0:
		return strconv.FormatInt(int64(d/day), 10) + " days"
	}
	return d.String()
}

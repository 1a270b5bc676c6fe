package imdsopts

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

// The AWS/EC2 metrics read, per instance (dimension InstanceId).
const (
	metricNoToken         = "MetadataNoToken"         // IMDSv1 calls the instance answered
	metricNoTokenRejected = "MetadataNoTokenRejected" // IMDSv1 calls it refused, requiring tokens
	metricCPU             = "CPUUtilization"          // published for every running instance
)

// metricQuery is one series asked of CloudWatch: the metric of an
// instance, with a statistic.
type metricQuery struct {
	instance, metric, stat string
}

// series is CloudWatch's answer for one query, over every page: its
// datapoints, or why it is not a complete answer.
type series struct {
	times  []time.Time
	values []float64
	bad    string // why it is not a measurement; "" for a complete answer
	cause  error  // the error behind bad, if any
}

// readMetrics asks CloudWatch for the queries over [start, end), each
// bucketed by period seconds, in requests of at most metricQueries queries,
// paced and retried. It returns one series per query, in order; a request
// that failed makes each of its series bad. Its error is the context's.
func (p *pacer) readMetrics(ctx context.Context, qs []metricQuery, start, end time.Time, period int32) ([]*series, error) {
	out := make([]*series, 0, len(qs))
	for chunk := range slices.Chunk(qs, metricQueries) {
		in := &cloudwatch.GetMetricDataInput{StartTime: aws.Time(start), EndTime: aws.Time(end)}
		for n, q := range chunk {
			in.MetricDataQueries = append(in.MetricDataQueries, cwtypes.MetricDataQuery{
				Id: aws.String("q" + strconv.Itoa(n)),
				MetricStat: &cwtypes.MetricStat{
					Metric: &cwtypes.Metric{Namespace: aws.String("AWS/EC2"), MetricName: aws.String(q.metric),
						Dimensions: []cwtypes.Dimension{{Name: aws.String("InstanceId"), Value: aws.String(q.instance)}}},
					Period: aws.Int32(period), Stat: aws.String(q.stat),
				},
			})
		}
		got, err := p.metricData(ctx, in)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		for n := range chunk {
			s := got["q"+strconv.Itoa(n)]
			switch {
			case err != nil:
				s = &series{bad: "the measurement failed", cause: err}
			case s == nil:
				s = &series{bad: "CloudWatch returned no result for the instance"}
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
func (p *pacer) metricData(ctx context.Context, in *cloudwatch.GetMetricDataInput) (map[string]*series, error) {
	got := map[string]*series{}
	status := map[string]cwtypes.StatusCode{} // the last page's, of each query
	tokens := newPageTokens("GetMetricData", pageLimit("GetMetricData"))
	for {
		var out *cloudwatch.GetMetricDataOutput
		_, err := p.do(ctx, call{op: "GetMetricData", lim: p.cwLim}, func(ctx context.Context) error {
			var err error
			out, err = p.o.Metrics.GetMetricData(ctx, in)
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
				s = &series{}
				got[id] = s
			}
			status[id] = r.StatusCode
			switch {
			case s.bad != "":
			case len(r.Messages) > 0:
				s.bad = "CloudWatch answered with messages: " + messages(r.Messages)
			case r.StatusCode == "":
				s.bad = "CloudWatch's result has no status code"
			case r.StatusCode != cwtypes.StatusCodeComplete && r.StatusCode != cwtypes.StatusCodePartialData:
				s.bad = fmt.Sprintf("CloudWatch's result is %s on a page (its values there are not all of them)", quote(string(r.StatusCode)))
			case len(r.Values) != len(r.Timestamps):
				s.bad = "CloudWatch's result has values and timestamps that do not pair up"
			}
			s.times = append(s.times, r.Timestamps...)
			s.values = append(s.values, r.Values...)
		}
		token := aws.ToString(out.NextToken)
		if token == "" {
			for id, s := range got {
				if s.bad == "" && status[id] != cwtypes.StatusCodeComplete {
					s.bad = fmt.Sprintf("CloudWatch's result is %s, not Complete, on the last page", quote(string(status[id])))
				}
			}
			return got, nil
		}
		if err := tokens.next(token); err != nil {
			return nil, fmt.Errorf("CloudWatch %w", err)
		}
		in.NextToken = aws.String(token)
	}
}

func messages(ms []cwtypes.MessageData) string {
	parts := make([]string, len(ms))
	for i, m := range ms {
		parts[i] = quote(aws.ToString(m.Code)) + ": " + quote(aws.ToString(m.Value))
	}
	return strings.Join(parts, "; ")
}

// sum returns the sum of s's values, or why they are not counts.
func (s *series) sum() (float64, string) {
	var sum float64
	for _, v := range s.values {
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			return 0, fmt.Sprintf("CloudWatch's result has a value that is not a count: %v", v)
		}
		sum += v
	}
	return sum, ""
}

// measurement is what one instance's series say: a sum when unknown is
// empty, else why it is not a measurement (and the error behind it).
type measurement struct {
	sum     float64
	unknown string
	cause   error
	// covered is how far CloudWatch's data of the instance reaches without
	// a gap, from the start of the watch (see coverage); zero when it does
	// not reach the start.
	covered time.Time
}

// callsOf judges an instance's IMDSv1 calls over a window from its series
// of MetadataNoToken, MetadataNoTokenRejected and CPUUtilization: their sum
// (the calls it answered and those it refused) when all three are complete
// and finite and one of them has a datapoint. Without any datapoint,
// CloudWatch had no data of it in the window (it did not run, or its data
// did not reach CloudWatch): unknown, unless noDataIsZero.
func callsOf(noToken, rejected, cpu *series, noDataIsZero bool) measurement {
	for _, s := range []*series{noToken, rejected, cpu} {
		if s.bad != "" {
			return measurement{unknown: s.bad, cause: s.cause}
		}
	}
	a, bad := noToken.sum()
	if bad == "" {
		var b float64
		b, bad = rejected.sum()
		a += b
	}
	if bad != "" {
		return measurement{unknown: bad}
	}
	if len(noToken.values)+len(rejected.values)+len(cpu.values) == 0 && !noDataIsZero {
		return measurement{unknown: "CloudWatch has no datapoint of it in the window (MetadataNoToken, MetadataNoTokenRejected or " +
			"CPUUtilization): it did not run then, or its data did not reach CloudWatch, and no data is not a measured zero"}
	}
	return measurement{sum: a}
}

// rejectedSince judges a watched instance's rejected IMDSv1 calls from its
// series of MetadataNoTokenRejected and CPUUtilization, read from before
// from: their sum, and how far the instance's data reaches without a gap
// from the period that holds from (see coverage), its periods being g long.
func rejectedSince(rejected, cpu *series, from time.Time, g time.Duration) measurement {
	for _, s := range []*series{rejected, cpu} {
		if s.bad != "" {
			return measurement{unknown: s.bad, cause: s.cause}
		}
	}
	sum, bad := rejected.sum()
	if bad != "" {
		return measurement{unknown: bad}
	}
	return measurement{sum: sum, covered: coverage(append(slices.Clone(rejected.times), cpu.times...), from, g)}
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

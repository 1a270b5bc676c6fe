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

// Measuring an instance's EC2 metric in CloudWatch, for the IMDSv1 gate and
// every other reading of IMDS metrics: only a complete, finite sum per
// instance is a measurement; any other answer says what was missing.

// The AWS/EC2 metrics of IMDSv1 calls, per instance (dimension InstanceId):
// those answered, and those refused because the instance requires tokens.
const (
	metricNoToken         = "MetadataNoToken"
	metricNoTokenRejected = "MetadataNoTokenRejected"
)

// measurement is one instance's metric summed over a window: sum when
// unknown is empty, else the reason it is not a measurement (and the error
// behind it, if any).
type measurement struct {
	sum     float64
	unknown string
	cause   error
}

// measure sums the AWS/EC2 metric of each of ids over [start, end), 500
// instances a GetMetricData request, paced and retried. It returns one
// measurement per ID, in the order of ids. No datapoint at all in the
// window is unknown ("no data") unless noDataIsZero. It returns an error
// only when ctx ends.
func (p *pacer) measure(ctx context.Context, metric string, ids []string, start, end time.Time, noDataIsZero bool) ([]measurement, error) {
	window := end.Sub(start)
	// One datapoint a day (a multiple of 3600 s, as CloudWatch wants for
	// data older than 63 days), or the whole window when it is shorter.
	period := int32(86400)
	if window < 24*time.Hour {
		period = int32(max(time.Minute, window.Truncate(time.Minute)) / time.Second)
	}
	out := make([]measurement, 0, len(ids))
	for chunk := range slices.Chunk(ids, metricQueries) {
		in := &cloudwatch.GetMetricDataInput{StartTime: aws.Time(start), EndTime: aws.Time(end)}
		for q, id := range chunk {
			in.MetricDataQueries = append(in.MetricDataQueries, cwtypes.MetricDataQuery{
				Id: aws.String("q" + strconv.Itoa(q)),
				MetricStat: &cwtypes.MetricStat{
					Metric: &cwtypes.Metric{Namespace: aws.String("AWS/EC2"), MetricName: aws.String(metric),
						Dimensions: []cwtypes.Dimension{{Name: aws.String("InstanceId"), Value: aws.String(id)}}},
					Period: aws.Int32(period), Stat: aws.String("Sum"),
				},
			})
		}
		got, err := p.metricData(ctx, in)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		for q := range chunk {
			out = append(out, judgeSeries(got["q"+strconv.Itoa(q)], err, noDataIsZero))
		}
	}
	return out, nil
}

// series is what CloudWatch answered for one query, over every page.
type series struct {
	values   []float64
	status   cwtypes.StatusCode // of the last page that had the query
	messages []string
	unpaired bool // a page had values and timestamps of different lengths
}

// metricData runs one GetMetricData request through every page and
// gathers each query's answer. A failed call, an answer with request-level
// messages, an empty answer, or a page token answered twice is an error for
// every query of the request.
func (p *pacer) metricData(ctx context.Context, in *cloudwatch.GetMetricDataInput) (map[string]*series, error) {
	got := map[string]*series{}
	tokens := map[string]bool{}
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
			s.status = r.StatusCode
			if len(r.Messages) > 0 {
				s.messages = append(s.messages, messages(r.Messages))
			}
			s.unpaired = s.unpaired || len(r.Values) != len(r.Timestamps)
			s.values = append(s.values, r.Values...)
		}
		token := aws.ToString(out.NextToken)
		if token == "" {
			return got, nil
		}
		if tokens[token] {
			return nil, fmt.Errorf("CloudWatch GetMetricData answered the page token %s twice: the answer would not end", quote(token))
		}
		tokens[token] = true
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

// judgeSeries returns the measurement of s: its sum when it is a complete,
// finite series of counts, else why not; err is the request's error.
func judgeSeries(s *series, err error, noDataIsZero bool) measurement {
	switch {
	case err != nil:
		return measurement{unknown: "the measurement failed", cause: err}
	case s == nil:
		return measurement{unknown: "CloudWatch returned no result for the instance"}
	case len(s.messages) > 0:
		return measurement{unknown: "CloudWatch answered with messages: " + strings.Join(s.messages, "; ")}
	case s.status == "":
		return measurement{unknown: "CloudWatch's result has no status code"}
	case s.status != cwtypes.StatusCodeComplete:
		return measurement{unknown: fmt.Sprintf("CloudWatch's result is %s, not Complete", quote(string(s.status)))}
	case s.unpaired:
		return measurement{unknown: "CloudWatch's result has values and timestamps that do not pair up"}
	case len(s.values) == 0 && !noDataIsZero:
		return measurement{unknown: "no datapoint in the window (a stopped or new instance has none, and no data is not a measured zero; " +
			"TreatNoDataAsZero passes it)"}
	}
	var sum float64
	for _, v := range s.values {
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			return measurement{unknown: fmt.Sprintf("CloudWatch's result has a value that is not a count: %v", v)}
		}
		sum += v
	}
	return measurement{sum: sum}
}

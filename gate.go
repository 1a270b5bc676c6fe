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

// The IMDSv1 gate: before tokens are required on an instance, CloudWatch's
// AWS/EC2 MetadataNoToken (IMDSv1 calls the instance answered) must sum to a
// measured zero over the window. Only a complete, finite sum per instance
// passes; anything else holds the instance with the reason.

// gate measures MetadataNoToken for the items at idx, 500 instances a
// GetMetricData request, and holds those that used IMDSv1 or whose use could
// not be measured. It returns an error only when ctx ends.
func (p *pacer) gate(ctx context.Context, items []FleetItem, idx []int) error {
	window := p.o.IMDSv1Window
	end := time.Now().Truncate(time.Minute)
	start := end.Add(-window)
	// One datapoint a day (a multiple of 3600 s, as CloudWatch wants for
	// data older than 63 days), or the whole window when it is shorter.
	period := int32(86400)
	if window < 24*time.Hour {
		period = int32(max(time.Minute, window.Truncate(time.Minute)) / time.Second)
	}
	for chunk := range slices.Chunk(idx, metricQueries) {
		in := &cloudwatch.GetMetricDataInput{StartTime: aws.Time(start), EndTime: aws.Time(end)}
		for q, i := range chunk {
			in.MetricDataQueries = append(in.MetricDataQueries, cwtypes.MetricDataQuery{
				Id: aws.String("q" + strconv.Itoa(q)),
				MetricStat: &cwtypes.MetricStat{
					Metric: &cwtypes.Metric{Namespace: aws.String("AWS/EC2"), MetricName: aws.String("MetadataNoToken"),
						Dimensions: []cwtypes.Dimension{{Name: aws.String("InstanceId"), Value: aws.String(items[i].InstanceID)}}},
					Period: aws.Int32(period), Stat: aws.String("Sum"),
				},
			})
		}
		got, err := p.metricData(ctx, in)
		if ctx.Err() != nil {
			return fmt.Errorf("imdsopts: IMDSv1 gate: %w", ctx.Err())
		}
		for q, i := range chunk {
			p.judge(&items[i], got["q"+strconv.Itoa(q)], err)
		}
	}
	return nil
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

// judge holds it unless s is a complete, finite measurement of zero IMDSv1
// calls over the window; err is the request's error, if any.
func (p *pacer) judge(it *FleetItem, s *series, err error) {
	unknown := func(reason string, cause error) {
		window := days(p.o.IMDSv1Window)
		if cause != nil {
			it.Err = fmt.Errorf("imdsopts: %s: %w over the last %s: %s: %w", it.InstanceID, ErrIMDSv1Unknown, window, reason, cause)
		} else {
			it.Err = fmt.Errorf("imdsopts: %s: %w over the last %s: %s", it.InstanceID, ErrIMDSv1Unknown, window, reason)
		}
		it.Status = StatusHeld
	}
	switch {
	case err != nil:
		unknown("the measurement failed", err)
		return
	case s == nil:
		unknown("CloudWatch returned no result for the instance", nil)
		return
	case len(s.messages) > 0:
		unknown("CloudWatch answered with messages: "+strings.Join(s.messages, "; "), nil)
		return
	case s.status == "":
		unknown("CloudWatch's result has no status code", nil)
		return
	case s.status != cwtypes.StatusCodeComplete:
		unknown(fmt.Sprintf("CloudWatch's result is %s, not Complete", quote(string(s.status))), nil)
		return
	case s.unpaired:
		unknown("CloudWatch's result has values and timestamps that do not pair up", nil)
		return
	case len(s.values) == 0 && !p.o.TreatNoDataAsZero:
		unknown("no datapoint in the window (a stopped or new instance has none, and no data is not a measured zero; "+
			"TreatNoDataAsZero passes it)", nil)
		return
	}
	var sum float64
	for _, v := range s.values {
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			unknown(fmt.Sprintf("CloudWatch's result has a value that is not a count: %v", v), nil)
			return
		}
		sum += v
	}
	it.IMDSv1Calls = &sum
	if sum > 0 {
		it.Status = StatusHeld
		it.Err = fmt.Errorf("imdsopts: %s: %v IMDSv1 calls over the last %s: %w", it.InstanceID, sum, days(p.o.IMDSv1Window), ErrIMDSv1InUse)
	}
}

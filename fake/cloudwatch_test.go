package fake_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/smithy-go"

	"github.com/imdsopts/imdsopts/fake"
)

// metrics is the part of *cloudwatch.Client the fake implements; both must
// satisfy it.
type metrics interface {
	GetMetricData(context.Context, *cloudwatch.GetMetricDataInput, ...func(*cloudwatch.Options)) (*cloudwatch.GetMetricDataOutput, error)
}

var (
	_ metrics = (*cloudwatch.Client)(nil)
	_ metrics = (*fake.CloudWatch)(nil)
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// noToken returns a query of the MetadataNoToken statistic stat of instance.
func noToken(id, instance, stat string, period int32) cwtypes.MetricDataQuery {
	return cwtypes.MetricDataQuery{
		Id: aws.String(id),
		MetricStat: &cwtypes.MetricStat{
			Metric: &cwtypes.Metric{
				Namespace:  aws.String("AWS/EC2"),
				MetricName: aws.String("MetadataNoToken"),
				Dimensions: []cwtypes.Dimension{{Name: aws.String("InstanceId"), Value: aws.String(instance)}},
			},
			Period: aws.Int32(period),
			Stat:   aws.String(stat),
		},
	}
}

func metricInput(start, end time.Time, qs ...cwtypes.MetricDataQuery) *cloudwatch.GetMetricDataInput {
	return &cloudwatch.GetMetricDataInput{StartTime: aws.Time(start), EndTime: aws.Time(end), MetricDataQueries: qs}
}

// wantCW fails the test unless err carries the CloudWatch error code want
// with HTTP status wantStatus, wrapped as the SDK wraps GetMetricData errors.
func wantCW(t *testing.T, err error, want string, wantStatus int) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %s", want)
	}
	if got := code(err); got != want {
		t.Fatalf("got code %q (%v), want %q", got, err, want)
	}
	if got := status(err); got != wantStatus {
		t.Errorf("got HTTP status %d, want %d", got, wantStatus)
	}
	var oe *smithy.OperationError
	if !errors.As(err, &oe) || oe.ServiceID != "CloudWatch" || oe.OperationName != "GetMetricData" {
		t.Errorf("error %v is not a CloudWatch GetMetricData OperationError", err)
	}
	var re *awshttp.ResponseError
	if !errors.As(err, &re) || re.ServiceRequestID() == "" {
		t.Errorf("error %v has no ResponseError with a request ID", err)
	}
}

type point struct {
	at time.Time
	v  float64
}

func series(r cwtypes.MetricDataResult) []point {
	if len(r.Timestamps) != len(r.Values) {
		panic(fmt.Sprintf("%d timestamps, %d values", len(r.Timestamps), len(r.Values)))
	}
	var s []point
	for i := range r.Timestamps {
		s = append(s, point{r.Timestamps[i], r.Values[i]})
	}
	return s
}

func TestGetMetricDataSeries(t *testing.T) {
	cw := fake.NewCloudWatch()
	const a, b = "i-0000000000000000a", "i-0000000000000000b"
	cw.PutMetadataNoToken(a, t0.Add(10*time.Second), 1)
	cw.PutMetadataNoToken(a, t0.Add(50*time.Second), 2)
	cw.PutMetadataNoToken(a, t0.Add(70*time.Second), 4)
	cw.PutMetadataNoToken(a, t0.Add(5*time.Minute), 8)
	cw.PutMetadataNoToken(a, t0.Add(5*time.Minute+time.Second), 16)
	cw.PutMetadataNoToken(a, t0.Add(-time.Second), 100)                   // before the range
	cw.PutMetadataNoToken(a, t0.Add(10*time.Minute), 100)                 // at EndTime: excluded
	cw.PutMetadataNoToken(b, t0.Add(time.Minute), 32)                     // another instance
	cw.PutMetric("AWS/EC2", "CPUUtilization", a, t0.Add(time.Minute), 64) // another metric

	// StartTime is rounded down to the minute, so the datapoint at 0:10 counts.
	in := metricInput(t0.Add(30*time.Second), t0.Add(10*time.Minute),
		noToken("sum1m", a, "Sum", 60),
		noToken("sum5m", a, "Sum", 300),
		noToken("max1m", a, "Maximum", 60),
		noToken("min1m", a, "Minimum", 60),
		noToken("avg1m", a, "Average", 60),
		noToken("n1m", a, "SampleCount", 60),
		noToken("other", b, "Sum", 600),
	)
	cpu := noToken("cpu", a, "Maximum", 3600)
	cpu.MetricStat.Metric.MetricName = aws.String("CPUUtilization")
	cpu.Label = aws.String("CPU of a")
	in.MetricDataQueries = append(in.MetricDataQueries, cpu)

	out, err := cw.GetMetricData(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	want := map[string][]point{
		"sum1m": {{at(5 * time.Minute), 24}, {at(time.Minute), 4}, {at(0), 3}},
		"sum5m": {{at(5 * time.Minute), 24}, {at(0), 7}},
		"max1m": {{at(5 * time.Minute), 16}, {at(time.Minute), 4}, {at(0), 2}},
		"min1m": {{at(5 * time.Minute), 8}, {at(time.Minute), 4}, {at(0), 1}},
		"avg1m": {{at(5 * time.Minute), 12}, {at(time.Minute), 4}, {at(0), 1.5}},
		"n1m":   {{at(5 * time.Minute), 2}, {at(time.Minute), 1}, {at(0), 2}},
		"other": {{at(0), 32}},
		"cpu":   {{at(0), 64}},
	}
	if len(out.MetricDataResults) != len(want) {
		t.Fatalf("got %d results, want %d", len(out.MetricDataResults), len(want))
	}
	for i, r := range out.MetricDataResults {
		id := aws.ToString(r.Id)
		if q := aws.ToString(in.MetricDataQueries[i].Id); id != q {
			t.Errorf("result %d has Id %q, want %q (the order of the queries)", i, id, q)
		}
		if r.StatusCode != cwtypes.StatusCodeComplete {
			t.Errorf("%s: StatusCode %q", id, r.StatusCode)
		}
		wantLabel := "MetadataNoToken"
		if id == "cpu" {
			wantLabel = "CPU of a"
		}
		if l := aws.ToString(r.Label); l != wantLabel {
			t.Errorf("%s: Label %q, want %q", id, l, wantLabel)
		}
		got := series(r)
		if !slices.EqualFunc(got, want[id], func(p, q point) bool { return p.at.Equal(q.at) && p.v == q.v }) {
			t.Errorf("%s: got %v, want %v", id, got, want[id])
		}
	}

	// Oldest first on request.
	in = metricInput(t0, t0.Add(10*time.Minute), noToken("sum", a, "Sum", 60))
	in.ScanBy = cwtypes.ScanByTimestampAscending
	out, err = cw.GetMetricData(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	wantUp := []point{{at(0), 3}, {at(time.Minute), 4}, {at(5 * time.Minute), 24}}
	if got := series(out.MetricDataResults[0]); !slices.EqualFunc(got, wantUp, func(p, q point) bool { return p.at.Equal(q.at) && p.v == q.v }) {
		t.Errorf("ascending: got %v, want %v", got, wantUp)
	}
}

func TestGetMetricDataEmptySeries(t *testing.T) {
	cw := fake.NewCloudWatch()
	cw.PutMetadataNoToken("i-0000000000000000a", t0.Add(time.Minute), 5)

	other := noToken("wrongdims", "i-0000000000000000a", "Sum", 60)
	other.MetricStat.Metric.Dimensions = append(other.MetricStat.Metric.Dimensions,
		cwtypes.Dimension{Name: aws.String("ImageId"), Value: aws.String("ami-00000001")})
	hidden := noToken("hidden", "i-0000000000000000a", "Sum", 60)
	hidden.ReturnData = aws.Bool(false)
	in := metricInput(t0, t0.Add(time.Hour),
		noToken("nodata", "i-0000000000000000c", "Sum", 60),
		other,
		hidden,
		noToken("late", "i-0000000000000000a", "Sum", 60),
	)
	in.StartTime = aws.Time(t0.Add(2 * time.Minute))
	out, err := cw.GetMetricData(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	var gotIDs []string
	for _, r := range out.MetricDataResults {
		gotIDs = append(gotIDs, aws.ToString(r.Id))
		if len(r.Timestamps) != 0 || len(r.Values) != 0 || r.Timestamps == nil || r.Values == nil {
			t.Errorf("%s: got %v, want an empty (non-nil) series", aws.ToString(r.Id), series(r))
		}
		if r.StatusCode != cwtypes.StatusCodeComplete {
			t.Errorf("%s: StatusCode %q", aws.ToString(r.Id), r.StatusCode)
		}
	}
	if want := []string{"nodata", "wrongdims", "late"}; !slices.Equal(gotIDs, want) {
		t.Errorf("results %v, want %v (ReturnData false left out)", gotIDs, want)
	}
}

func TestGetMetricDataQueryLimit(t *testing.T) {
	cw := fake.NewCloudWatch()
	var qs []cwtypes.MetricDataQuery
	for i := range 501 {
		inst := fmt.Sprintf("i-%017x", i+1)
		cw.PutMetadataNoToken(inst, t0.Add(time.Minute), float64(i))
		qs = append(qs, noToken(fmt.Sprintf("q%d", i), inst, "Sum", 300))
	}
	out, err := cw.GetMetricData(ctx, metricInput(t0, t0.Add(time.Hour), qs[:500]...))
	if err != nil {
		t.Fatalf("500 queries: %v", err)
	}
	if len(out.MetricDataResults) != 500 || out.NextToken != nil {
		t.Fatalf("500 queries: got %d results, NextToken %v", len(out.MetricDataResults), out.NextToken)
	}
	for i, r := range out.MetricDataResults {
		if len(r.Values) != 1 || r.Values[0] != float64(i) {
			t.Fatalf("query %d: got %v", i, series(r))
		}
	}
	_, err = cw.GetMetricData(ctx, metricInput(t0, t0.Add(time.Hour), qs...))
	wantCW(t, err, "ValidationError", 400)
	if n := cw.Calls(); n != 2 {
		t.Errorf("Calls = %d, want 2", n)
	}
}

func TestGetMetricDataValidation(t *testing.T) {
	cw := fake.NewCloudWatch()
	const inst = "i-0000000000000000a"
	edit := func(fn func(*cloudwatch.GetMetricDataInput)) *cloudwatch.GetMetricDataInput {
		in := metricInput(t0, t0.Add(time.Hour), noToken("a", inst, "Sum", 60))
		fn(in)
		return in
	}
	query := func(fn func(*cwtypes.MetricDataQuery)) *cloudwatch.GetMetricDataInput {
		return edit(func(in *cloudwatch.GetMetricDataInput) { fn(&in.MetricDataQueries[0]) })
	}
	tests := []struct {
		name string
		in   *cloudwatch.GetMetricDataInput
		code string
	}{
		{"nil input", nil, "ValidationError"},
		{"no StartTime", edit(func(in *cloudwatch.GetMetricDataInput) { in.StartTime = nil }), "ValidationError"},
		{"no EndTime", edit(func(in *cloudwatch.GetMetricDataInput) { in.EndTime = nil }), "ValidationError"},
		{"EndTime = StartTime", edit(func(in *cloudwatch.GetMetricDataInput) { in.EndTime = in.StartTime }), "ValidationError"},
		{"EndTime before StartTime", edit(func(in *cloudwatch.GetMetricDataInput) { in.EndTime = aws.Time(t0.Add(-time.Hour)) }), "ValidationError"},
		{"no queries", edit(func(in *cloudwatch.GetMetricDataInput) { in.MetricDataQueries = nil }), "ValidationError"},
		{"NextToken", edit(func(in *cloudwatch.GetMetricDataInput) { in.NextToken = aws.String("x") }), "InvalidNextToken"},
		{"MaxDatapoints 0", edit(func(in *cloudwatch.GetMetricDataInput) { in.MaxDatapoints = aws.Int32(0) }), "ValidationError"},
		{"ScanBy", edit(func(in *cloudwatch.GetMetricDataInput) { in.ScanBy = "Sideways" }), "ValidationError"},
		{"duplicate Id", edit(func(in *cloudwatch.GetMetricDataInput) {
			in.MetricDataQueries = append(in.MetricDataQueries, noToken("a", inst, "Sum", 60))
		}), "ValidationError"},
		{"no Id", query(func(q *cwtypes.MetricDataQuery) { q.Id = nil }), "ValidationError"},
		{"empty Id", query(func(q *cwtypes.MetricDataQuery) { q.Id = aws.String("") }), "ValidationError"},
		{"uppercase Id", query(func(q *cwtypes.MetricDataQuery) { q.Id = aws.String("Abc") }), "ValidationError"},
		{"digit Id", query(func(q *cwtypes.MetricDataQuery) { q.Id = aws.String("1abc") }), "ValidationError"},
		{"hyphen Id", query(func(q *cwtypes.MetricDataQuery) { q.Id = aws.String("a-b") }), "ValidationError"},
		{"Expression", query(func(q *cwtypes.MetricDataQuery) { q.MetricStat = nil; q.Expression = aws.String("SUM(METRICS())") }), "ValidationError"},
		{"Expression and MetricStat", query(func(q *cwtypes.MetricDataQuery) { q.Expression = aws.String("a*2") }), "ValidationError"},
		{"no MetricStat", query(func(q *cwtypes.MetricDataQuery) { q.MetricStat = nil }), "ValidationError"},
		{"no Metric", query(func(q *cwtypes.MetricDataQuery) { q.MetricStat.Metric = nil }), "ValidationError"},
		{"no MetricName", query(func(q *cwtypes.MetricDataQuery) { q.MetricStat.Metric.MetricName = nil }), "ValidationError"},
		{"no Namespace", query(func(q *cwtypes.MetricDataQuery) { q.MetricStat.Metric.Namespace = nil }), "ValidationError"},
		{"no Period", query(func(q *cwtypes.MetricDataQuery) { q.MetricStat.Period = nil }), "ValidationError"},
		{"Period 0", query(func(q *cwtypes.MetricDataQuery) { q.MetricStat.Period = aws.Int32(0) }), "ValidationError"},
		{"Period 30", query(func(q *cwtypes.MetricDataQuery) { q.MetricStat.Period = aws.Int32(30) }), "ValidationError"},
		{"Period 90", query(func(q *cwtypes.MetricDataQuery) { q.MetricStat.Period = aws.Int32(90) }), "ValidationError"},
		{"no Stat", query(func(q *cwtypes.MetricDataQuery) { q.MetricStat.Stat = nil }), "ValidationError"},
		{"percentile", query(func(q *cwtypes.MetricDataQuery) { q.MetricStat.Stat = aws.String("p99") }), "ValidationError"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := cw.GetMetricData(ctx, tt.in)
			wantCW(t, err, tt.code, 400)
		})
	}
	if n := cw.Calls(); n != len(tests) {
		t.Errorf("Calls = %d, want %d", n, len(tests))
	}
	// Valid edge cases.
	for _, in := range []*cloudwatch.GetMetricDataInput{
		query(func(q *cwtypes.MetricDataQuery) { q.Id = aws.String("m_1Ab") }),
		query(func(q *cwtypes.MetricDataQuery) { q.MetricStat.Period = aws.Int32(86400) }),
		edit(func(in *cloudwatch.GetMetricDataInput) { in.MaxDatapoints = aws.Int32(10) }),
		edit(func(in *cloudwatch.GetMetricDataInput) {
			in.NextToken = nil
			in.ScanBy = cwtypes.ScanByTimestampDescending
		}),
	} {
		if _, err := cw.GetMetricData(ctx, in); err != nil {
			t.Errorf("%+v: %v", in.MetricDataQueries[0], err)
		}
	}
}

func TestCloudWatchFailNext(t *testing.T) {
	cw := fake.NewCloudWatch()
	cw.PutMetadataNoToken("i-0000000000000000a", t0, 1)
	in := metricInput(t0, t0.Add(time.Hour), noToken("a", "i-0000000000000000a", "Sum", 60))

	cw.FailNext(1, nil)
	cw.FailNext(2, fake.NewAPIError(400, "Throttling", "Rate exceeded"))
	cw.FailNext(0, errors.New("ignored"))
	_, err := cw.GetMetricData(ctx, in)
	wantCW(t, err, "InternalServiceError", 500)
	for range 2 {
		_, err = cw.GetMetricData(ctx, in)
		wantCW(t, err, "Throttling", 400)
	}
	out, err := cw.GetMetricData(ctx, in)
	if err != nil || len(out.MetricDataResults[0].Values) != 1 {
		t.Fatalf("after the injected failures: %v, %v", out, err)
	}

	plain := errors.New("connection reset")
	cw.FailNext(1, plain)
	_, err = cw.GetMetricData(ctx, in)
	var oe *smithy.OperationError
	if !errors.As(err, &oe) || oe.ServiceID != "CloudWatch" || oe.OperationName != "GetMetricData" || !errors.Is(err, plain) {
		t.Errorf("got %v, want %v wrapped in a CloudWatch OperationError", err, plain)
	}

	canceled, cancel := context.WithCancel(ctx)
	cancel()
	_, err = cw.GetMetricData(canceled, in)
	var ce *smithy.CanceledError
	if !errors.As(err, &ce) || !errors.Is(err, context.Canceled) {
		t.Errorf("canceled: got %v, want a CanceledError", err)
	}
	if n := cw.Calls(); n != 6 {
		t.Errorf("Calls = %d, want 6", n)
	}
}

func TestCloudWatchConcurrent(t *testing.T) {
	cw := fake.NewCloudWatch()
	const inst = "i-0000000000000000a"
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 50 {
				cw.PutMetadataNoToken(inst, t0.Add(time.Duration(w*50+i)*time.Second), 1)
				if _, err := cw.GetMetricData(ctx, metricInput(t0, t0.Add(time.Hour), noToken("a", inst, "Sum", 3600))); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	out, err := cw.GetMetricData(ctx, metricInput(t0, t0.Add(time.Hour), noToken("a", inst, "Sum", 3600)))
	if err != nil {
		t.Fatal(err)
	}
	if got := out.MetricDataResults[0].Values; len(got) != 1 || got[0] != 400 {
		t.Errorf("got %v, want [400]", got)
	}
	if n := cw.Calls(); n != 401 {
		t.Errorf("Calls = %d, want 401", n)
	}
}

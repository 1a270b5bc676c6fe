package fleet_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/imdsopts/imdsopts"
	"github.com/imdsopts/imdsopts/fake"
	"github.com/imdsopts/imdsopts/fleet"
	"github.com/imdsopts/imdsopts/internal/testenv"
)

// scriptedMetrics answers GetMetricData with what answer makes of the
// request: page is the page number, 0 for the first.
type scriptedMetrics struct {
	calls  atomic.Int64
	answer func(in *cloudwatch.GetMetricDataInput, page int) (*cloudwatch.GetMetricDataOutput, error)
}

func (m *scriptedMetrics) GetMetricData(ctx context.Context, in *cloudwatch.GetMetricDataInput, _ ...func(*cloudwatch.Options)) (*cloudwatch.GetMetricDataOutput, error) {
	page := 0
	if in.NextToken != nil {
		page = len(*in.NextToken) // tokens below are "x", "xx", ...
	}
	m.calls.Add(1)
	return m.answer(in, page)
}

// eachQuery answers one page with result(r) for every query: r starts as a
// complete series, of values for MetadataNoToken and of none for the
// instance's other metrics.
func eachQuery(values []float64, result func(*cwtypes.MetricDataResult)) func(*cloudwatch.GetMetricDataInput, int) (*cloudwatch.GetMetricDataOutput, error) {
	return byMetric(map[string][]float64{"MetadataNoToken": values}, result)
}

// byMetric answers one page with result(r) for every query: r starts as a
// complete series of the values of its metric.
func byMetric(values map[string][]float64, result func(*cwtypes.MetricDataResult)) func(*cloudwatch.GetMetricDataInput, int) (*cloudwatch.GetMetricDataOutput, error) {
	return func(in *cloudwatch.GetMetricDataInput, _ int) (*cloudwatch.GetMetricDataOutput, error) {
		out := &cloudwatch.GetMetricDataOutput{}
		for _, q := range in.MetricDataQueries {
			v := values[aws.ToString(q.MetricStat.Metric.MetricName)]
			r := cwtypes.MetricDataResult{Id: q.Id, StatusCode: cwtypes.StatusCodeComplete, Values: v}
			for range v {
				r.Timestamps = append(r.Timestamps, time.Now())
			}
			if result != nil {
				result(&r)
			}
			out.MetricDataResults = append(out.MetricDataResults, r)
		}
		return out, nil
	}
}

// TestGateOnlyACompleteFiniteSumPasses: the IMDSv1 gate passes an instance
// only on a complete, finite sum over the window. Every other answer holds
// it with a reason that says what was missing, and nothing is changed.
func TestGateOnlyACompleteFiniteSumPasses(t *testing.T) {
	tests := []struct {
		name      string
		answer    func(*cloudwatch.GetMetricDataInput, int) (*cloudwatch.GetMetricDataOutput, error)
		noDataOK  bool
		pass      bool
		calls     float64 // IMDSv1Calls when measured; -1: not measured
		reason    string
		maxCalls  int64
		inUse     bool
		wantCount int
	}{
		{name: "measured zero", answer: eachQuery([]float64{0, 0, 0}, nil), pass: true, calls: 0},
		{name: "IMDSv1 calls", answer: eachQuery([]float64{0, 5, 2}, nil), calls: 7, inUse: true, reason: "7 IMDSv1 calls over the last 14 days"},
		{name: "NaN", answer: eachQuery([]float64{0, math.NaN()}, nil), calls: -1, reason: "not a count: NaN"},
		{name: "infinite", answer: eachQuery([]float64{math.Inf(1)}, nil), calls: -1, reason: "not a count: +Inf"},
		{name: "negative", answer: eachQuery([]float64{-1, 1}, nil), calls: -1, reason: "not a count: -1"},
		{name: "result messages", answer: eachQuery([]float64{0}, func(r *cwtypes.MetricDataResult) {
			r.Messages = []cwtypes.MessageData{{Code: aws.String("MaxDatapointsExceeded"), Value: aws.String("too many")}}
		}), calls: -1, reason: `answered with messages: "MaxDatapointsExceeded": "too many"`},
		{name: "request messages", answer: func(in *cloudwatch.GetMetricDataInput, p int) (*cloudwatch.GetMetricDataOutput, error) {
			out, _ := eachQuery([]float64{0}, nil)(in, p)
			out.Messages = []cwtypes.MessageData{{Code: aws.String("Warning"), Value: aws.String("partial account")}}
			return out, nil
		}, calls: -1, reason: "answered with messages"},
		{name: "no status code", answer: eachQuery([]float64{0}, func(r *cwtypes.MetricDataResult) { r.StatusCode = "" }),
			calls: -1, reason: "no status code"},
		{name: "internal error", answer: eachQuery([]float64{0}, func(r *cwtypes.MetricDataResult) { r.StatusCode = cwtypes.StatusCodeInternalError }),
			calls: -1, reason: `"InternalError" on a page`},
		{name: "forbidden", answer: eachQuery([]float64{0}, func(r *cwtypes.MetricDataResult) { r.StatusCode = cwtypes.StatusCodeForbidden }),
			calls: -1, reason: `"Forbidden" on a page`},
		// A page that fails a query drops its values: a later page that
		// says Complete does not make the rest a measurement.
		{name: "internal error, then complete", answer: func(in *cloudwatch.GetMetricDataInput, p int) (*cloudwatch.GetMetricDataOutput, error) {
			if p == 0 {
				out, _ := eachQuery(nil, func(r *cwtypes.MetricDataResult) { r.StatusCode = cwtypes.StatusCodeInternalError })(in, p)
				out.NextToken = aws.String("x")
				return out, nil
			}
			return eachQuery([]float64{0}, nil)(in, p)
		}, calls: -1, reason: `"InternalError" on a page`},
		{name: "refused calls count", answer: byMetric(map[string][]float64{"MetadataNoToken": {0}, "MetadataNoTokenRejected": {4}}, nil),
			calls: 4, inUse: true, reason: "4 IMDSv1 calls"},
		// No MetadataNoToken datapoint at all, but CPUUtilization shows
		// CloudWatch had the instance's data: a zero.
		{name: "corroborated absence", answer: byMetric(map[string][]float64{"CPUUtilization": {60, 60}}, nil), pass: true, calls: 0},
		{name: "partial data without a next page", answer: eachQuery([]float64{0}, func(r *cwtypes.MetricDataResult) { r.StatusCode = cwtypes.StatusCodePartialData }),
			calls: -1, reason: `"PartialData", not Complete`},
		{name: "values and timestamps unpaired", answer: eachQuery([]float64{0, 0}, func(r *cwtypes.MetricDataResult) {
			if len(r.Timestamps) > 0 {
				r.Timestamps = r.Timestamps[:1]
			}
		}),
			calls: -1, reason: "do not pair up"},
		{name: "no result for the instance", answer: func(*cloudwatch.GetMetricDataInput, int) (*cloudwatch.GetMetricDataOutput, error) {
			return &cloudwatch.GetMetricDataOutput{}, nil
		}, calls: -1, reason: "no result for the instance"},
		{name: "no data", answer: eachQuery(nil, nil), calls: -1, reason: "no datapoint of it in the window"},
		{name: "no data, taken as zero when asked", answer: eachQuery(nil, nil), noDataOK: true, pass: true, calls: 0},
		{name: "a page token that never changes", answer: func(in *cloudwatch.GetMetricDataInput, p int) (*cloudwatch.GetMetricDataOutput, error) {
			out, _ := eachQuery([]float64{0}, func(r *cwtypes.MetricDataResult) { r.StatusCode = cwtypes.StatusCodePartialData })(in, p)
			out.NextToken = aws.String("same")
			return out, nil
		}, calls: -1, reason: "page token \"same\" twice", maxCalls: 2},
		{name: "two pages, complete", answer: func(in *cloudwatch.GetMetricDataInput, p int) (*cloudwatch.GetMetricDataOutput, error) {
			if p == 0 {
				out, _ := eachQuery([]float64{0}, func(r *cwtypes.MetricDataResult) { r.StatusCode = cwtypes.StatusCodePartialData })(in, p)
				out.NextToken = aws.String("x")
				return out, nil
			}
			return eachQuery([]float64{3}, nil)(in, p)
		}, calls: 3, inUse: true, reason: "3 IMDSv1 calls"},
		{name: "an empty answer", answer: func(*cloudwatch.GetMetricDataInput, int) (*cloudwatch.GetMetricDataOutput, error) { return nil, nil },
			calls: -1, reason: "answered nothing"},
		{name: "an undecodable answer", answer: func(*cloudwatch.GetMetricDataInput, int) (*cloudwatch.GetMetricDataOutput, error) {
			return nil, errors.New("operation error CloudWatch: GetMetricData, deserialization failed, unexpected CBOR major type")
		}, calls: -1, reason: "reading CloudWatch (GetMetricData) failed: operation error CloudWatch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := fake.New()
				id := testenv.Launch(t, f, "", nil)
				cw := &scriptedMetrics{answer: tt.answer}
				plan, err := fleet.NewPlan(t.Context(), f, fleet.Selection{InstanceIDs: []string{id}},
					testenv.MustNew(t, imdsopts.RequireIMDSv2()), func(o *fleet.Options) { o.Metrics, o.TreatNoDataAsZero = cw, tt.noDataOK })
				if err != nil {
					t.Fatal(err)
				}
				it := plan.Items[0]
				switch {
				case tt.pass && (it.Status != fleet.StatusChange || it.Err != nil):
					t.Errorf("status %v (%v), want change", it.Status, it.Err)
				case !tt.pass && it.Status != fleet.StatusHeld:
					t.Errorf("status %v, want held", it.Status)
				case !tt.pass && tt.inUse && !errors.Is(it.Err, fleet.ErrIMDSv1InUse):
					t.Errorf("error %v, want ErrIMDSv1InUse", it.Err)
				case !tt.pass && !tt.inUse && !errors.Is(it.Err, fleet.ErrIMDSv1Unknown):
					t.Errorf("error %v, want ErrIMDSv1Unknown", it.Err)
				case !tt.pass && !strings.Contains(it.Err.Error(), tt.reason):
					t.Errorf("error %q does not say %q", it.Err, tt.reason)
				}
				switch {
				case tt.calls < 0 && it.IMDSv1Calls != nil:
					t.Errorf("IMDSv1Calls = %v for a use that was not measured", *it.IMDSv1Calls)
				case tt.calls >= 0 && (it.IMDSv1Calls == nil || *it.IMDSv1Calls != tt.calls):
					t.Errorf("IMDSv1Calls = %v, want %v", it.IMDSv1Calls, tt.calls)
				}
				if tt.maxCalls > 0 && cw.calls.Load() > tt.maxCalls {
					t.Errorf("%d GetMetricData calls, want at most %d", cw.calls.Load(), tt.maxCalls)
				}
				report, err := fleet.Apply(t.Context(), f, plan)
				if err != nil {
					t.Fatal(err)
				}
				if n, want := f.Calls("ModifyInstanceMetadataOptions"), map[bool]int{true: 1, false: 0}[tt.pass]; n != want {
					t.Errorf("%d Modify calls, want %d (report %v)", n, want, report.Counts())
				}
			})
		})
	}
}

// TestGateInterrupted: Ctrl-C while the gate reads CloudWatch ends the plan
// with the context's error, not with a plan of held instances.
func TestGateInterrupted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := fake.New()
		id := testenv.Launch(t, f, "", nil)
		ctx, cancel := context.WithCancel(t.Context())
		cw := &scriptedMetrics{answer: func(*cloudwatch.GetMetricDataInput, int) (*cloudwatch.GetMetricDataOutput, error) {
			cancel()
			return nil, context.Canceled
		}}
		plan, err := fleet.NewPlan(ctx, f, fleet.Selection{InstanceIDs: []string{id}}, testenv.MustNew(t, imdsopts.RequireIMDSv2()),
			func(o *fleet.Options) { o.Metrics = cw })
		if !errors.Is(err, context.Canceled) || plan != nil {
			t.Fatalf("fleet.NewPlan = %v, %v; want no plan and context.Canceled", plan, err)
		}
	})
}

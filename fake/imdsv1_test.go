package fake_test

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imdsopts/imdsopts/fake"
)

// rejected returns a query of the MetadataNoTokenRejected statistic stat of
// instance.
func rejected(id, instance, stat string, period int32) cwtypes.MetricDataQuery {
	q := noToken(id, instance, stat, period)
	q.MetricStat.Metric.MetricName = aws.String("MetadataNoTokenRejected")
	return q
}

// perMinute returns the values of a per-minute series, oldest first, keyed
// by minutes since from.
func perMinute(t *testing.T, cw *fake.CloudWatch, q cwtypes.MetricDataQuery, from, to time.Time) map[int]float64 {
	t.Helper()
	in := metricInput(from, to, q)
	in.ScanBy = cwtypes.ScanByTimestampAscending
	out, err := cw.GetMetricData(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	r := out.MetricDataResults[0]
	if r.StatusCode != cwtypes.StatusCodeComplete || out.NextToken != nil {
		t.Fatalf("%s: status %s, token %v", aws.ToString(q.Id), r.StatusCode, out.NextToken)
	}
	m := make(map[int]float64)
	for _, p := range series(r) {
		m[int(p.at.Sub(from)/time.Minute)] = p.v
	}
	return m
}

// minutes returns the map of minutes [a, b) to v, added to m.
func minutes(m map[int]float64, a, b int, v float64) map[int]float64 {
	if m == nil {
		m = make(map[int]float64)
	}
	for k := a; k < b; k++ {
		m[k] = v
	}
	return m
}

func equalSeries(a, b map[int]float64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || math.Abs(v-w) > 1e-9 {
			return false
		}
	}
	return true
}

// detailed launches instances with detailed monitoring: their metrics
// come every minute.
func detailed(o *fake.LaunchOptions) { o.DetailedMonitoring = true }

// TestIMDSv1Metrics follows an instance whose software calls IMDSv1 6 times
// a minute (every 10 s) through a change to required, a stop and a start: a
// CloudWatch tied to the fake, with the shape IMDSMetricsZeros and no
// publication delay, counts the calls as MetadataNoToken while HttpTokens
// optional is applied and as MetadataNoTokenRejected while required is, in
// whole calls, has a datapoint (zero included) for every minute the
// instance ran, and none for minutes not yet over.
func TestIMDSv1Metrics(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := fake.New(func(o *fake.Options) { o.ApplyDelay = 30 * time.Second })
		cw := fake.NewCloudWatch(func(o *fake.CloudWatchOptions) {
			o.EC2, o.IMDSMetrics, o.PublishDelay = f, fake.IMDSMetricsZeros, -1
		})
		t0 := time.Now() // a whole minute in the bubble
		id := seedOne(t, f, detailed)
		quiet := seedOne(t, f, detailed) // runs, but its software never calls IMDSv1
		if err := f.CallIMDSv1(id, 6); err != nil {
			t.Fatal(err)
		}
		end := t0.Add(24 * time.Hour)
		check := func(when string, wantNoToken, wantRejected map[int]float64) {
			t.Helper()
			if got := perMinute(t, cw, noToken("n", id, "Sum", 60), t0, end); !equalSeries(got, wantNoToken) {
				t.Errorf("%s: MetadataNoToken %v, want %v", when, got, wantNoToken)
			}
			if got := perMinute(t, cw, rejected("r", id, "Sum", 60), t0, end); !equalSeries(got, wantRejected) {
				t.Errorf("%s: MetadataNoTokenRejected %v, want %v", when, got, wantRejected)
			}
		}

		time.Sleep(10*time.Minute + 30*time.Second) // minute 10 is not over
		check("optional", minutes(nil, 0, 10, 6), minutes(nil, 0, 10, 0))
		if got := perMinute(t, cw, noToken("q", quiet, "Sum", 60), t0, end); !equalSeries(got, minutes(nil, 0, 10, 0)) {
			t.Errorf("quiet instance: %v, want ten zeros", got)
		}

		// Required at 10:30, applied at 11:00.
		if _, err := f.ModifyInstanceMetadataOptions(ctx, &ec2.ModifyInstanceMetadataOptionsInput{InstanceId: aws.String(id), HttpTokens: "required"}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(9*time.Minute + 30*time.Second) // to 20:00
		wantN := minutes(minutes(nil, 0, 11, 6), 11, 20, 0)
		wantR := minutes(minutes(nil, 0, 11, 0), 11, 20, 6)
		check("required", wantN, wantR)

		// Stopped at 20:15 for ten minutes: a quarter of minute 20 (one
		// call, at 20:10), then nothing until the start at 30:15.
		time.Sleep(15 * time.Second)
		if _, err := f.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{id}}); err != nil {
			t.Fatal(err)
		}
		// While stopped, back to optional: pending until the start.
		if _, err := f.ModifyInstanceMetadataOptions(ctx, &ec2.ModifyInstanceMetadataOptionsInput{InstanceId: aws.String(id), HttpTokens: "optional"}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Minute)
		if _, err := f.StartInstances(ctx, &ec2.StartInstancesInput{InstanceIds: []string{id}}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(4*time.Minute + 45*time.Second) // to 35:00
		wantN[20], wantR[20] = 0, 1
		minutes(wantN, 30, 35, 6)
		wantN[30] = 5 // started at 30:15, optional applied at once: calls at :20, :30, :40, :50 and 31:00
		minutes(wantR, 30, 35, 0)
		check("stopped and started", wantN, wantR)

		// The software stops calling; the endpoint is disabled: zeros.
		if err := f.CallIMDSv1(id, 0); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Minute)
		if err := f.CallIMDSv1(id, 60); err != nil {
			t.Fatal(err)
		}
		if _, err := f.ModifyInstanceMetadataOptions(ctx, &ec2.ModifyInstanceMetadataOptionsInput{InstanceId: aws.String(id), HttpEndpoint: "disabled"}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(3 * time.Minute) // to 40:00; disabled applied at 37:30
		minutes(wantN, 35, 40, 0)
		minutes(wantR, 35, 40, 0)
		wantN[37] = 30
		check("no calls, endpoint disabled", wantN, wantR)

		// Datapoints put explicitly add up with the derived ones, and
		// longer periods sum the minutes.
		cw.PutMetadataNoToken(id, t0.Add(90*time.Second), 100)
		wantN[1] = 106
		check("with a datapoint put", wantN, wantR)
		// The datapoint put is a sample of its own.
		in := metricInput(t0, end, noToken("sum", id, "Sum", 3600), noToken("n", id, "SampleCount", 3600), noToken("max", id, "Maximum", 600))
		in.ScanBy = cwtypes.ScanByTimestampAscending
		out, err := cw.GetMetricData(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		sum := 11*6 + 100 + 5 + 4*6 + 30.0
		if r := out.MetricDataResults; r[0].Values[0] != sum || r[1].Values[0] != 31+1 || !slices.Equal(r[2].Values, []float64{100, 6, 0, 30}) {
			t.Errorf("hour: sum %v, count %v, 10-minute maxima %v; want %v, 32, [100 6 0 30]", r[0].Values, r[1].Values, r[2].Values, sum)
		}
	})
}

// TestIMDSv1MetricsNeedATiedCloudWatch: the derived datapoints come only
// from a CloudWatch tied to the fake, and only for its running instances.
func TestIMDSv1MetricsNeedATiedCloudWatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := fake.New()
		tied := fake.NewCloudWatch(func(o *fake.CloudWatchOptions) { o.EC2, o.PublishDelay = f, -1 })
		plain := fake.NewCloudWatch()
		t0 := time.Now()
		running := seedOne(t, f, detailed)
		stopped := seedOne(t, f, detailed, func(o *fake.LaunchOptions) { o.Stopped = true })
		for _, id := range []string{running, stopped} {
			if err := f.CallIMDSv1(id, 1); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(5 * time.Minute)
		if got := perMinute(t, plain, noToken("n", running, "Sum", 60), t0, t0.Add(time.Hour)); len(got) != 0 {
			t.Errorf("an untied CloudWatch answered %v", got)
		}
		if got := perMinute(t, tied, noToken("n", running, "Sum", 60), t0, t0.Add(time.Hour)); !equalSeries(got, minutes(nil, 0, 5, 1)) {
			t.Errorf("running: %v", got)
		}
		for _, id := range []string{stopped, "i-0ffffffffffffffff"} {
			if got := perMinute(t, tied, noToken("n", id, "Sum", 60), t0, t0.Add(time.Hour)); len(got) != 0 {
				t.Errorf("%s: %v, want no datapoints", id, got)
			}
		}
		// Metrics EC2 does not publish for the instance are not derived.
		other := noToken("c", running, "Sum", 60)
		other.MetricStat.Metric.MetricName = aws.String("NetworkIn")
		if got := perMinute(t, tied, other, t0, t0.Add(time.Hour)); len(got) != 0 {
			t.Errorf("NetworkIn: %v", got)
		}
	})
}

func TestCallIMDSv1Errors(t *testing.T) {
	f := fake.New()
	id := seedOne(t, f)
	for _, tt := range []struct {
		id   string
		rate float64
		want string
	}{
		{"i-0ffffffffffffffff", 1, "no such instance"},
		{id, -1, "rate"},
		{id, math.NaN(), "rate"},
		{id, math.Inf(1), "rate"},
	} {
		if err := f.CallIMDSv1(tt.id, tt.rate); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("CallIMDSv1(%s, %v) = %v, want an error about %s", tt.id, tt.rate, err, tt.want)
		}
	}
	if n := len(f.CallCounts()); n != 0 {
		t.Errorf("CallIMDSv1 counted as calls: %v", f.CallCounts())
	}
}

// TestGetMetricDataPaging: an answer longer than MaxDatapoints comes in
// pages with PartialData results and a NextToken that pages, as the SDK's
// paginator reads them.
func TestGetMetricDataPaging(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := fake.New()
		cw := fake.NewCloudWatch(func(o *fake.CloudWatchOptions) {
			o.EC2, o.IMDSMetrics, o.PublishDelay = f, fake.IMDSMetricsZeros, -1
		})
		t0 := time.Now()
		a, b := seedOne(t, f, detailed), seedOne(t, f, detailed)
		time.Sleep(10 * time.Minute)
		c := seedOne(t, f, detailed) // too late for the window
		for _, id := range []string{a, b, c} {
			if err := f.CallIMDSv1(id, 2); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(time.Minute)
		in := metricInput(t0, t0.Add(time.Hour),
			noToken("a", a, "Sum", 60), noToken("c", c, "Sum", 3600), rejected("b", b, "Sum", 60))
		in.EndTime = aws.Time(t0.Add(11 * time.Minute))
		full, err := cw.GetMetricData(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		if full.NextToken != nil || len(full.MetricDataResults) != 3 {
			t.Fatalf("one page: token %v, %d results", full.NextToken, len(full.MetricDataResults))
		}

		in.MaxDatapoints = aws.Int32(7)
		var pages []*cloudwatch.GetMetricDataOutput
		for p := cloudwatch.NewGetMetricDataPaginator(cw, in); p.HasMorePages(); {
			out, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			pages = append(pages, out)
		}
		// a has 11 datapoints, c 1, b 11: 23 in pages of 7.
		if len(pages) != 4 {
			t.Fatalf("%d pages, want 4", len(pages))
		}
		merged := map[string][]point{}
		for n, page := range pages {
			total := 0
			for _, r := range page.MetricDataResults {
				id := aws.ToString(r.Id)
				merged[id] = append(merged[id], series(r)...)
				total += len(r.Values)
			}
			if total > 7 {
				t.Errorf("page %d has %d datapoints", n, total)
			}
		}
		for _, r := range full.MetricDataResults {
			id := aws.ToString(r.Id)
			if !slices.EqualFunc(merged[id], series(r), func(p, q point) bool { return p.at.Equal(q.at) && p.v == q.v }) {
				t.Errorf("%s: pages give %v, one answer %v", id, merged[id], series(r))
			}
		}
		// Statuses: the first page has every result; a result that goes on
		// later is PartialData.
		status := func(page int) map[string]cwtypes.StatusCode {
			m := map[string]cwtypes.StatusCode{}
			for _, r := range pages[page].MetricDataResults {
				m[aws.ToString(r.Id)] = r.StatusCode
			}
			return m
		}
		for n, want := range []map[string]cwtypes.StatusCode{
			{"a": "PartialData", "c": "PartialData", "b": "PartialData"},
			{"a": "Complete", "c": "Complete", "b": "PartialData"},
			{"b": "PartialData"},
			{"b": "Complete"},
		} {
			if got := status(n); !maps.Equal(got, want) {
				t.Errorf("page %d: statuses %v, want %v", n, got, want)
			}
		}

		// A token gives the same page again, later too; with other queries,
		// or unknown, it is refused.
		in.NextToken = pages[1].NextToken
		time.Sleep(time.Hour)
		again, err := cw.GetMetricData(ctx, in)
		if err != nil || aws.ToString(again.NextToken) != aws.ToString(pages[2].NextToken) ||
			!slices.Equal(again.MetricDataResults[0].Values, pages[2].MetricDataResults[0].Values) {
			t.Errorf("page 3 asked again: %+v, %v", again, err)
		}
		other := *in
		other.MetricDataQueries = other.MetricDataQueries[:2]
		_, err = cw.GetMetricData(ctx, &other)
		wantCW(t, err, "InvalidNextToken", 400)
		in.NextToken = aws.String("fake-cw-99-1")
		_, err = cw.GetMetricData(ctx, in)
		wantCW(t, err, "InvalidNextToken", 400)
	})
}

// TestCorruptNext: a test can make answers incomplete; the corruption
// applies to the next answers that succeed, in order, and does not leak
// into later answers.
func TestCorruptNext(t *testing.T) {
	cw := fake.NewCloudWatch()
	const inst = "i-0000000000000000a"
	cw.PutMetadataNoToken(inst, t0.Add(time.Minute), 3)
	in := metricInput(t0, t0.Add(time.Hour), noToken("a", inst, "Sum", 3600))

	cw.CorruptNext(1, func(out *cloudwatch.GetMetricDataOutput) {
		out.MetricDataResults[0].Values[0] = math.NaN()
	})
	cw.CorruptNext(2, func(out *cloudwatch.GetMetricDataOutput) {
		out.MetricDataResults[0].StatusCode = cwtypes.StatusCodeInternalError
		out.Messages = []cwtypes.MessageData{{Code: aws.String("InternalError"), Value: aws.String("partial failure")}}
	})
	cw.CorruptNext(0, func(*cloudwatch.GetMetricDataOutput) { t.Error("n = 0 was queued") })
	cw.CorruptNext(1, nil)
	cw.FailNext(1, nil) // failures come first and use no corruption

	_, err := cw.GetMetricData(ctx, in)
	wantCW(t, err, "InternalServiceError", 500)
	_, err = cw.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{}) // invalid: no corruption used
	wantCW(t, err, "ValidationError", 400)

	out, err := cw.GetMetricData(ctx, in)
	if err != nil || !math.IsNaN(out.MetricDataResults[0].Values[0]) {
		t.Fatalf("first corruption: %+v, %v", out, err)
	}
	for range 2 {
		out, err = cw.GetMetricData(ctx, in)
		if err != nil || out.MetricDataResults[0].StatusCode != "InternalError" || len(out.Messages) != 1 || out.MetricDataResults[0].Values[0] != 3 {
			t.Fatalf("second corruption: %+v, %v", out, err)
		}
	}
	out, err = cw.GetMetricData(ctx, in)
	if err != nil || out.MetricDataResults[0].StatusCode != "Complete" || out.Messages != nil || out.MetricDataResults[0].Values[0] != 3 {
		t.Errorf("after the corruptions: %+v, %v", out, err)
	}
}

// TestIMDSv1MetricsAtScale: the derived datapoints of a 14-day window cost
// per change of state, not per period, so the gate's window over many
// instances answers at once (a rate that makes a whole number of calls a
// period; any other is counted period by period).
func TestIMDSv1MetricsAtScale(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := fake.New(func(o *fake.Options) { o.ApplyDelay = 0 })
		cw := fake.NewCloudWatch(func(o *fake.CloudWatchOptions) { o.EC2, o.PublishDelay = f, -1 })
		t0 := time.Now()
		ids := seed(t, f, 500, func(o *fake.LaunchOptions) {
			o.MetadataOptions = &types.InstanceMetadataOptionsRequest{HttpTokens: "optional"}
		})
		for _, id := range ids[:50] {
			if err := f.CallIMDSv1(id, 0.4); err != nil { // 2 a 5-minute period
				t.Fatal(err)
			}
		}
		time.Sleep(14 * 24 * time.Hour)
		var qs []cwtypes.MetricDataQuery
		for n, id := range ids {
			qs = append(qs, noToken(fmt.Sprintf("q%d", n), id, "Sum", 14*24*3600))
		}
		out, err := cw.GetMetricData(ctx, metricInput(t0, t0.Add(14*24*time.Hour), qs...))
		if err != nil {
			t.Fatal(err)
		}
		for n, r := range out.MetricDataResults {
			want := 0.0
			if n < 50 {
				want = 2 * 14 * 24 * 12
			}
			if len(r.Values) != 1 || r.Values[0] != want {
				t.Fatalf("%s: %v, want [%v]", ids[n], r.Values, want)
			}
		}
	})
}

// TestIMDSv1MetricsConcurrent checks under the race detector that a tied
// CloudWatch reads the EC2 fake's history safely while it changes.
func TestIMDSv1MetricsConcurrent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := fake.New(func(o *fake.Options) { o.ApplyDelay = 0 })
		cw := fake.NewCloudWatch(func(o *fake.CloudWatchOptions) { o.EC2 = f })
		t0 := time.Now()
		ids := seed(t, f, 8)
		var wg sync.WaitGroup
		for w, id := range ids {
			wg.Go(func() {
				for n := range 20 {
					if err := f.CallIMDSv1(id, float64(n)); err != nil {
						t.Error(err)
					}
					tokens := types.HttpTokensStateRequired
					if n%2 == 0 {
						tokens = types.HttpTokensStateOptional
					}
					if _, err := f.ModifyInstanceMetadataOptions(ctx, &ec2.ModifyInstanceMetadataOptionsInput{InstanceId: aws.String(id), HttpTokens: tokens}); err != nil {
						t.Error(err)
					}
					if _, err := cw.GetMetricData(ctx, metricInput(t0, t0.Add(time.Hour), noToken("a", ids[(w+1)%len(ids)], "Sum", 60))); err != nil {
						t.Error(err)
					}
					time.Sleep(time.Minute)
				}
			})
		}
		wg.Wait()
	})
}

// TestIMDSMetricShapes: which minutes of an instance with detailed
// monitoring have a datapoint of each metric, in each shape. The instance
// allows IMDSv1 without calls (minutes 0-1), with 2 calls a minute (2-3),
// then requires tokens with the calls refused (4-5), then without calls
// (6-7). CPUUtilization and StatusCheckFailed have one every minute it ran,
// in every shape.
func TestIMDSMetricShapes(t *testing.T) {
	every := minutes(nil, 0, 8, 2.5)
	zero := minutes(nil, 0, 8, 0)
	for _, tt := range []struct {
		shape             fake.IMDSMetrics
		noToken, rejected map[int]float64
	}{
		{fake.IMDSMetricsExclusive, map[int]float64{0: 0, 1: 0, 2: 2, 3: 2}, map[int]float64{4: 2, 5: 2}},
		{fake.IMDSMetricsZeros, map[int]float64{0: 0, 1: 0, 2: 2, 3: 2, 4: 0, 5: 0, 6: 0, 7: 0},
			map[int]float64{0: 0, 1: 0, 2: 0, 3: 0, 4: 2, 5: 2, 6: 0, 7: 0}},
		{fake.IMDSMetricsSparse, map[int]float64{2: 2, 3: 2}, map[int]float64{4: 2, 5: 2}},
	} {
		t.Run(fmt.Sprint(tt.shape), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := fake.New(func(o *fake.Options) { o.ApplyDelay = 0 })
				cw := fake.NewCloudWatch(func(o *fake.CloudWatchOptions) { o.EC2, o.IMDSMetrics, o.PublishDelay = f, tt.shape, -1 })
				t0 := time.Now()
				id := seedOne(t, f, detailed)
				time.Sleep(2 * time.Minute)
				if err := f.CallIMDSv1(id, 2); err != nil {
					t.Fatal(err)
				}
				time.Sleep(2 * time.Minute)
				if _, err := f.ModifyInstanceMetadataOptions(ctx, &ec2.ModifyInstanceMetadataOptionsInput{InstanceId: aws.String(id), HttpTokens: "required"}); err != nil {
					t.Fatal(err)
				}
				time.Sleep(2 * time.Minute)
				if err := f.CallIMDSv1(id, 0); err != nil {
					t.Fatal(err)
				}
				time.Sleep(2 * time.Minute)
				end := t0.Add(time.Hour)
				cpu, status := noToken("c", id, "Average", 60), noToken("s", id, "Maximum", 60)
				cpu.MetricStat.Metric.MetricName = aws.String(fake.MetricCPUUtilization)
				status.MetricStat.Metric.MetricName = aws.String(fake.MetricStatusCheckFailed)
				for _, c := range []struct {
					name string
					q    cwtypes.MetricDataQuery
					want map[int]float64
				}{
					{"MetadataNoToken", noToken("n", id, "Sum", 60), tt.noToken},
					{"MetadataNoTokenRejected", rejected("r", id, "Sum", 60), tt.rejected},
					{"CPUUtilization", cpu, every},
					{"StatusCheckFailed", status, zero},
				} {
					if got := perMinute(t, cw, c.q, t0, end); !equalSeries(got, c.want) {
						t.Errorf("%s: %v, want %v", c.name, got, c.want)
					}
				}
			})
		})
	}
}

// TestMetricPeriodsAndPublishDelay: without detailed monitoring, a datapoint
// covers the 5 minutes from the minute the instance was launched, and
// datapoints appear PublishDelay after their period ends; StatusCheckFailed
// comes every minute whatever the monitoring.
func TestMetricPeriodsAndPublishDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := fake.New()
		cw := fake.NewCloudWatch(func(o *fake.CloudWatchOptions) { o.EC2 = f }) // DefaultPublishDelay
		t0 := time.Now()
		time.Sleep(30 * time.Second)
		basic, fine := seedOne(t, f), seedOne(t, f, detailed) // launched at 0:30
		for _, id := range []string{basic, fine} {
			if err := f.CallIMDSv1(id, 1); err != nil { // at 1:30, 2:30 ...
				t.Fatal(err)
			}
		}
		time.Sleep(11*time.Minute + 30*time.Second) // to 12:00
		end := t0.Add(time.Hour)
		// Periods [0, 5) and [5, 10) are out by 11:00; [10, 15) is not over.
		if got, want := perMinute(t, cw, noToken("n", basic, "Sum", 60), t0, end), map[int]float64{0: 4, 5: 5}; !equalSeries(got, want) {
			t.Errorf("basic monitoring: %v, want %v", got, want)
		}
		// Minutes up to [10, 11), out by 12:00.
		want := minutes(map[int]float64{0: 0}, 1, 11, 1)
		if got := perMinute(t, cw, noToken("n", fine, "Sum", 60), t0, end); !equalSeries(got, want) {
			t.Errorf("detailed monitoring: %v, want %v", got, want)
		}
		status := noToken("s", basic, "SampleCount", 60)
		status.MetricStat.Metric.MetricName = aws.String(fake.MetricStatusCheckFailed)
		if got := perMinute(t, cw, status, t0, end); !equalSeries(got, minutes(nil, 0, 11, 1)) {
			t.Errorf("StatusCheckFailed of the basic instance: %v, want one every minute to 10", got)
		}
		// Monitoring.State says which.
		out, err := f.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{basic, fine}})
		if err != nil {
			t.Fatal(err)
		}
		var states []types.MonitoringState
		for _, r := range out.Reservations {
			for _, i := range r.Instances {
				states = append(states, i.Monitoring.State)
			}
		}
		if !slices.Equal(states, []types.MonitoringState{"disabled", "enabled"}) {
			t.Errorf("Monitoring.State %v, want [disabled enabled]", states)
		}
	})
}

package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/imdsopts/imdsopts/fake"
)

// metricSum returns the sum of metric of instance id over [start, end),
// and whether CloudWatch had any datapoint.
func metricSum(t *testing.T, cw *fake.CloudWatch, metric, id string, start, end time.Time) (float64, bool) {
	t.Helper()
	out, err := cw.GetMetricData(context.Background(), &cloudwatch.GetMetricDataInput{
		StartTime: aws.Time(start), EndTime: aws.Time(end),
		MetricDataQueries: []cwtypes.MetricDataQuery{{Id: aws.String("q"), MetricStat: &cwtypes.MetricStat{
			Metric: &cwtypes.Metric{Namespace: aws.String(fake.NamespaceEC2), MetricName: aws.String(metric),
				Dimensions: []cwtypes.Dimension{{Name: aws.String(fake.DimensionInstanceID), Value: aws.String(id)}}},
			Period: aws.Int32(int32(end.Sub(start).Truncate(time.Minute).Seconds())), Stat: aws.String("Sum")}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, v := range out.MetricDataResults[0].Values {
		sum += v
	}
	return sum, len(out.MetricDataResults[0].Values) > 0
}

// modifyRequest is a ModifyInstanceMetadataOptions request in EC2's Query
// protocol, as the SDK sends it.
func modifyRequest(id, tokens string) *http.Request {
	form := url.Values{"Action": {"ModifyInstanceMetadataOptions"}, "Version": {"2016-11-15"}, "InstanceId": {id}, "HttpTokens": {tokens}}
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r
}

// The software of a seed's LateIMDSv1Calls makes no IMDSv1 call the gate
// could see; once the instance requires tokens, its calls are refused and
// counted in MetadataNoTokenRejected, and once it allows IMDSv1 again, they
// are answered.
func TestEmulatorLateIMDSv1Calls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		seed, err := parseSeed([]byte(`{"Instances": [{"Count": 1, "Monitoring": "detailed", "MetadataNoToken": {"PerDay": 0}},
			{"Count": 1, "Monitoring": "detailed", "MetadataNoToken": {"PerDay": 0}, "LateIMDSv1Calls": {"PerMinute": 6}}]}`))
		if err != nil {
			t.Fatal(err)
		}
		f := fake.New(func(o *fake.Options) { o.ApplyDelay = 0 })
		// Every minute, at once, zeros included: the counts of each minute
		// are what is tested here.
		cw := fake.NewCloudWatch(func(o *fake.CloudWatchOptions) {
			o.EC2, o.PublishDelay, o.IMDSMetrics = f, -1, fake.IMDSMetricsZeros
		})
		start := time.Now()
		sum, err := seedAccount(context.Background(), f, fake.NewAutoScaling(f), cw, seed, start)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(sum.String(), "; 1 with software that calls IMDSv1 once it requires tokens") {
			t.Errorf("summary %q", sum)
		}
		const plain, late = "i-00000000000000001", "i-00000000000000002"
		h := (&lateCalls{ec2: f, waiting: sum.late}).wrap(fake.NewHandler(f, func(o *fake.HandlerOptions) { o.CloudWatch = cw }))
		time.Sleep(10 * time.Minute)
		if n, _ := metricSum(t, cw, fake.MetricMetadataNoToken, late, start.Add(-time.Hour), time.Now()); n != 0 {
			t.Fatalf("the late caller made %v IMDSv1 calls before its change: the gate would hold it", n)
		}
		modify := func(id, tokens string) {
			t.Helper()
			w := httptest.NewRecorder()
			h.ServeHTTP(w, modifyRequest(id, tokens))
			if w.Code != http.StatusOK {
				t.Fatalf("%s %s: HTTP %d %s", id, tokens, w.Code, w.Body)
			}
		}
		// A change that keeps tokens optional does not start the calls.
		modify(late, "optional")
		time.Sleep(3 * time.Minute)
		if n, _ := metricSum(t, cw, fake.MetricMetadataNoToken, late, start.Add(-time.Hour), time.Now()); n != 0 {
			t.Fatalf("the late caller made %v IMDSv1 calls after a change that keeps IMDSv1", n)
		}
		modify(plain, "required")
		modify(late, "required")
		changed := time.Now()
		time.Sleep(5 * time.Minute)
		if n, ok := metricSum(t, cw, fake.MetricMetadataNoTokenRejected, late, changed, time.Now()); !ok || n < 29 || n > 30 {
			t.Errorf("the late caller rejected %v calls in 5 minutes (datapoints: %v), want 30 at 6 a minute", n, ok)
		}
		if n, ok := metricSum(t, cw, fake.MetricMetadataNoTokenRejected, plain, changed, time.Now()); !ok || n != 0 {
			t.Errorf("the other instance rejected %v calls (datapoints: %v), want a measured 0", n, ok)
		}
		// IMDSv1 allowed again (a rollback): the calls are answered.
		modify(late, "optional")
		back := time.Now()
		time.Sleep(3 * time.Minute)
		if n, _ := metricSum(t, cw, fake.MetricMetadataNoTokenRejected, late, back.Add(time.Minute), time.Now()); n != 0 {
			t.Errorf("rejected %v calls after the rollback", n)
		}
		if n, _ := metricSum(t, cw, fake.MetricMetadataNoToken, late, back.Add(time.Minute), time.Now()); n < 11 {
			t.Errorf("answered %v IMDSv1 calls after the rollback, want 12", n)
		}
	})
}

// LateIMDSv1Calls is checked with the rest of the seed.
func TestSeedLateIMDSv1CallsRefused(t *testing.T) {
	for _, doc := range []string{
		`{"Instances": [{"Count": 1, "LateIMDSv1Calls": {"PerMinute": 0}}]}`,
		`{"Instances": [{"Count": 1, "LateIMDSv1Calls": {"PerMinute": -1}}]}`,
		`{"Instances": [{"Count": 1, "LateIMDSv1Calls": {"PerMinute": 2000000}}]}`,
		`{"Instances": [{"Count": 1, "LateIMDSv1Calls": {"perMinute": 1}}]}`,
	} {
		if _, err := parseSeed([]byte(doc)); err == nil {
			t.Errorf("%s: accepted", doc)
		}
	}
}

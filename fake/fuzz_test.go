package fake_test

import (
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imdsopts/imdsopts/fake"
)

// FuzzModifyAndDescribe feeds arbitrary values to ModifyInstanceMetadataOptions
// and to DescribeInstances filters and paging: the fake must not panic, and
// every error must carry an EC2 error code.
func FuzzModifyAndDescribe(f *testing.F) {
	f.Add("self", "required", "enabled", "disabled", "enabled", int32(2), true, "metadata-options.http-tokens", "req*", int32(5), "")
	f.Add("i-0123abcd", "Required", "", "enabled", "", int32(65), true, "tag:Name", "\\", int32(0), "x")
	f.Add("", "bogus", "disabled", "enabled", "yes", int32(-1), false, "tag-key", "[", int32(1001), "ZmFrZS1wYWdlOjk5")
	f.Add("i-00000000000000001", "optional", "on", "", "disabled", int32(0), true, "", "*?*", int32(4), "ZmFrZS1wYWdlOjA")
	f.Add("self", "", "", "", "", int32(64), false, "metadata-options.state", "", int32(1000), "\xff")
	f.Fuzz(func(t *testing.T, id, tokens, endpoint, ipv6, tags string, hop int32, setHop bool, filter, value string, maxResults int32, token string) {
		f := fake.New(func(o *fake.Options) { o.ApplyDelay = 0 })
		self := seed(t, f, 2, func(o *fake.LaunchOptions) { o.ImdsSupport = "v2.0" })[1]
		if id == "self" {
			id = self
		}
		in := &ec2.ModifyInstanceMetadataOptionsInput{
			InstanceId:           aws.String(id),
			HttpTokens:           types.HttpTokensState(tokens),
			HttpEndpoint:         types.InstanceMetadataEndpointState(endpoint),
			HttpProtocolIpv6:     types.InstanceMetadataProtocolState(ipv6),
			InstanceMetadataTags: types.InstanceMetadataTagsState(tags),
		}
		if setHop {
			in.HttpPutResponseHopLimit = aws.Int32(hop)
		}
		out, err := f.ModifyInstanceMetadataOptions(ctx, in)
		if err != nil {
			if code(err) == "" || status(err) == 0 {
				t.Fatalf("ModifyInstanceMetadataOptions: error without code or status: %v", err)
			}
		} else if out.InstanceMetadataOptions == nil || aws.ToString(out.InstanceId) != id {
			t.Fatalf("ModifyInstanceMetadataOptions: bad output %+v", out)
		}

		dIn := &ec2.DescribeInstancesInput{
			Filters: []types.Filter{{Name: aws.String(filter), Values: []string{value}}},
		}
		if maxResults != 0 {
			dIn.MaxResults = aws.Int32(maxResults)
		}
		if token != "" {
			dIn.NextToken = aws.String(token)
		}
		if _, err := f.DescribeInstances(ctx, dIn); err != nil && (code(err) == "" || status(err) == 0) {
			t.Fatalf("DescribeInstances: error without code or status: %v", err)
		}
		dIn.InstanceIds = []string{id}
		dIn.MaxResults, dIn.NextToken = nil, nil
		if _, err := f.DescribeInstances(ctx, dIn); err != nil && (code(err) == "" || status(err) == 0) {
			t.Fatalf("DescribeInstances by ID: error without code or status: %v", err)
		}
	})
}

// FuzzDeclarativePolicy feeds arbitrary values to SetDeclarativePolicy: it
// must either refuse them with an error and change nothing, or make
// GetInstanceMetadataDefaults answer exactly them.
func FuzzDeclarativePolicy(f *testing.F) {
	f.Add("required", int32(2), "enabled", "disabled", "enabled", "msg")
	f.Add("Required", int32(0), "", "", "", "")
	f.Add("no-preference", int32(-1), "on", "yes", "Enabled", "\x00")
	f.Add("", int32(65), "disabled", "enabled", "disabled", "")
	f.Fuzz(func(t *testing.T, tokens string, hop int32, endpoint, tags, enforced, msg string) {
		f := fake.New()
		p := &fake.DeclarativePolicy{
			HttpTokens:              types.HttpTokensState(tokens),
			HttpPutResponseHopLimit: hop,
			HttpEndpoint:            types.InstanceMetadataEndpointState(endpoint),
			InstanceMetadataTags:    types.InstanceMetadataTagsState(tags),
			HttpTokensEnforced:      types.HttpTokensEnforcedState(enforced),
			ManagedExceptionMessage: msg,
		}
		err := f.SetDeclarativePolicy(p)
		out, gerr := f.GetInstanceMetadataDefaults(ctx, nil)
		if gerr != nil {
			t.Fatal(gerr)
		}
		d := out.AccountLevel
		if err != nil {
			if d.ManagedBy != "account" {
				t.Fatalf("refused policy (%v) took effect: %+v", err, d)
			}
			return
		}
		if d.ManagedBy != "declarative-policy" || string(d.HttpTokens) != tokens || aws.ToInt32(d.HttpPutResponseHopLimit) != hop ||
			string(d.HttpEndpoint) != endpoint || string(d.InstanceMetadataTags) != tags || string(d.HttpTokensEnforced) != enforced ||
			aws.ToString(d.ManagedExceptionMessage) != msg {
			t.Fatalf("policy %+v answered as %+v", p, d)
		}
		// Every launch either succeeds or is refused with an EC2 error.
		if _, err := f.Launch(1); err != nil && code(err) != "UnsupportedOperation" {
			t.Fatalf("Launch under policy %+v: %v", p, err)
		}
	})
}

// FuzzGetMetricDataPaging: whatever the datapoints and MaxDatapoints, the
// pages of an answer hold at most MaxDatapoints datapoints each and add up to
// the answer in one page, and the first page has every result.
func FuzzGetMetricDataPaging(f *testing.F) {
	f.Add([]byte{1, 2, 3, 200, 7}, int32(2), false)
	f.Add([]byte{}, int32(1), true)
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 255}, int32(3), true)
	f.Fuzz(func(t *testing.T, points []byte, maxDatapoints int32, ascending bool) {
		if maxDatapoints < 1 || len(points) > 300 {
			t.Skip()
		}
		cw := fake.NewCloudWatch()
		insts := []string{"i-0000000000000000a", "i-0000000000000000b", "i-0000000000000000c"}
		for n, p := range points {
			cw.PutMetadataNoToken(insts[n%3], t0.Add(time.Duration(p)*time.Minute), float64(n))
		}
		in := metricInput(t0, t0.Add(256*time.Minute),
			noToken("a", insts[0], "Sum", 60), noToken("b", insts[1], "Maximum", 120), noToken("c", insts[2], "SampleCount", 60))
		if ascending {
			in.ScanBy = cwtypes.ScanByTimestampAscending
		}
		full, err := cw.GetMetricData(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		in.MaxDatapoints = aws.Int32(maxDatapoints)
		merged := map[string][]float64{}
		pages := 0
		for p := cloudwatch.NewGetMetricDataPaginator(cw, in); p.HasMorePages(); pages++ {
			out, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if pages == 0 && len(out.MetricDataResults) != 3 {
				t.Fatalf("first page has %d results", len(out.MetricDataResults))
			}
			total := 0
			for _, r := range out.MetricDataResults {
				merged[*r.Id] = append(merged[*r.Id], r.Values...)
				total += len(r.Values)
			}
			if total > int(maxDatapoints) {
				t.Fatalf("page of %d datapoints, MaxDatapoints %d", total, maxDatapoints)
			}
			if pages > 1000 {
				t.Fatal("paging does not end")
			}
		}
		for _, r := range full.MetricDataResults {
			if !slices.Equal(merged[*r.Id], r.Values) {
				t.Fatalf("%s: pages give %v, one answer %v", *r.Id, merged[*r.Id], r.Values)
			}
		}
	})
}

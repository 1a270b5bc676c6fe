package fake_test

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/imdsopts/imdsopts/fake"
)

// inMemory is an SDK HTTP client that hands every request to a handler in
// the same goroutine: the real SDK client, serializers and deserializers,
// without a network, so tests run inside a testing/synctest bubble.
type inMemory struct{ h http.Handler }

func (c inMemory) Do(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	c.h.ServeHTTP(rec, r)
	return rec.Result(), nil
}

// sdkConfig is the configuration of SDK clients of h.
func sdkConfig(h http.Handler) aws.Config {
	return aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		HTTPClient:   inMemory{h},
		BaseEndpoint: aws.String("http://emulator.test"),
	}
}

// wireClients returns the SDK's EC2 and CloudWatch clients of h; they send
// each request once.
func wireClients(h http.Handler) (*ec2.Client, *cloudwatch.Client) {
	cfg := sdkConfig(h)
	return ec2.NewFromConfig(cfg, func(o *ec2.Options) { o.RetryMaxAttempts = 1 }),
		cloudwatch.NewFromConfig(cfg, func(o *cloudwatch.Options) { o.RetryMaxAttempts = 1 })
}

// sdkFields compares SDK structures on their API members, timestamps to the
// millisecond (EC2's XML precision).
var sdkFields = cmp.Options{
	cmp.FilterPath(func(p cmp.Path) bool {
		sf, ok := p.Last().(cmp.StructField)
		if !ok {
			return false
		}
		name := sf.Name()
		return name == "ResultMetadata" || name[:1] == strings.ToLower(name[:1])
	}, cmp.Ignore()),
	cmp.Comparer(func(a, b time.Time) bool { return a.Truncate(time.Millisecond).Equal(b.Truncate(time.Millisecond)) }),
}

// twin drives two identical fakes with the same calls, one called directly
// and one through the handler by the real SDK client, and requires the same
// answers: every field, every error's code, message and HTTP status.
type twin struct {
	t                  *testing.T
	direct, served     *fake.EC2
	cwDirect, cwServed *fake.CloudWatch
	client             *ec2.Client
	cw                 *cloudwatch.Client
}

func newTwin(t *testing.T, optFns ...func(*fake.Options)) *twin {
	tw := &twin{t: t, direct: fake.New(optFns...), served: fake.New(optFns...),
		cwDirect: fake.NewCloudWatch(), cwServed: fake.NewCloudWatch()}
	tw.client, tw.cw = wireClients(fake.NewHandler(tw.served, func(o *fake.HandlerOptions) { o.CloudWatch = tw.cwServed }))
	return tw
}

// same runs call on the fake and on the client and compares the answers; it
// returns the direct answer.
func same[In, Out any](tw *twin, name string, call func(client, context.Context, *In, ...func(*ec2.Options)) (*Out, error), in *In) *Out {
	tw.t.Helper()
	want, wantErr := call(tw.direct, context.Background(), in)
	got, gotErr := call(tw.client, context.Background(), in)
	tw.compare(name, want, wantErr, got, gotErr)
	return want
}

func (tw *twin) compare(name string, want any, wantErr error, got any, gotErr error) {
	tw.t.Helper()
	if wantErr != nil || gotErr != nil {
		if w, g := describeErr(wantErr), describeErr(gotErr); w != g {
			tw.t.Errorf("%s: error\n fake: %s\n wire: %s", name, w, g)
		}
		return
	}
	if diff := cmp.Diff(want, got, sdkFields); diff != "" {
		tw.t.Errorf("%s: answers differ (-fake +wire):\n%s", name, diff)
	}
}

// describeErr is an error's operation, HTTP status, code and message.
func describeErr(err error) string {
	if err == nil {
		return "<nil>"
	}
	var oe *smithy.OperationError
	var apiErr smithy.APIError
	if !errors.As(err, &oe) || !errors.As(err, &apiErr) {
		return "not an API error: " + err.Error()
	}
	return fmt.Sprintf("%s %s HTTP %d %s: %s", oe.Service(), oe.Operation(), status(err), apiErr.ErrorCode(), apiErr.ErrorMessage())
}

// Each operation as a function of the client interface, so that one step
// calls the fake and the SDK client alike.
var (
	runInstances       = client.RunInstances
	startInstances     = client.StartInstances
	stopInstances      = client.StopInstances
	terminateInstances = client.TerminateInstances
	describeInstances  = client.DescribeInstances
	registerImage      = client.RegisterImage
	describeImages     = client.DescribeImages
	getDefaultsOp      = client.GetInstanceMetadataDefaults
	modifyDefaults     = client.ModifyInstanceMetadataDefaults
	modifyOptions      = client.ModifyInstanceMetadataOptions
	modifyImageAttr    = client.ModifyImageAttribute
	describeImageAttr  = client.DescribeImageAttribute
	createTemplateOp   = client.CreateLaunchTemplate
	createVersionOp    = client.CreateLaunchTemplateVersion
	describeTemplates  = client.DescribeLaunchTemplates
	describeVersions   = client.DescribeLaunchTemplateVersions
	modifyTemplate     = client.ModifyLaunchTemplate
	deleteTemplate     = client.DeleteLaunchTemplate
	deleteVersions     = client.DeleteLaunchTemplateVersions
)

func TestWireAnswersAsTheFake(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tw := newTwin(t, func(o *fake.Options) { o.ApplyDelay = time.Minute })
		tag := func(k, v string) types.Tag { return types.Tag{Key: aws.String(k), Value: aws.String(v)} }

		// Images.
		plain := same(tw, "RegisterImage", registerImage, &ec2.RegisterImageInput{Name: aws.String("plain"),
			TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeImage, Tags: []types.Tag{tag("os", "linux")}}}})
		v2 := same(tw, "RegisterImage v2.0", registerImage, &ec2.RegisterImageInput{Name: aws.String("v2"), ImdsSupport: types.ImdsSupportValuesV20})
		same(tw, "RegisterImage duplicate", registerImage, &ec2.RegisterImageInput{Name: aws.String("plain")})
		same(tw, "RegisterImage bad ImdsSupport", registerImage, &ec2.RegisterImageInput{Name: aws.String("x"), ImdsSupport: "v1.0"})
		same(tw, "DescribeImages", describeImages, &ec2.DescribeImagesInput{})
		same(tw, "DescribeImages by ID", describeImages, &ec2.DescribeImagesInput{ImageIds: []string{*v2.ImageId}})
		same(tw, "DescribeImages filtered", describeImages, &ec2.DescribeImagesInput{Owners: []string{"self"},
			Filters: []types.Filter{{Name: aws.String("tag:os"), Values: []string{"lin*"}}}})
		same(tw, "DescribeImages unknown", describeImages, &ec2.DescribeImagesInput{ImageIds: []string{"ami-0123456789abcdef0"}})
		same(tw, "DescribeImages malformed", describeImages, &ec2.DescribeImagesInput{ImageIds: []string{"ami-x"}})

		// Account defaults.
		same(tw, "GetInstanceMetadataDefaults", getDefaultsOp, &ec2.GetInstanceMetadataDefaultsInput{})
		same(tw, "ModifyInstanceMetadataDefaults", modifyDefaults, &ec2.ModifyInstanceMetadataDefaultsInput{
			HttpPutResponseHopLimit: aws.Int32(3), InstanceMetadataTags: types.DefaultInstanceMetadataTagsStateEnabled})
		same(tw, "ModifyInstanceMetadataDefaults dry run", modifyDefaults, &ec2.ModifyInstanceMetadataDefaultsInput{
			HttpTokens: types.MetadataDefaultHttpTokensStateRequired, DryRun: aws.Bool(true)})
		same(tw, "ModifyInstanceMetadataDefaults hop 65", modifyDefaults, &ec2.ModifyInstanceMetadataDefaultsInput{HttpPutResponseHopLimit: aws.Int32(65)})
		same(tw, "GetInstanceMetadataDefaults after", getDefaultsOp, &ec2.GetInstanceMetadataDefaultsInput{})

		// Launches.
		run := same(tw, "RunInstances", runInstances, &ec2.RunInstancesInput{ImageId: plain.ImageId, MinCount: aws.Int32(1), MaxCount: aws.Int32(4),
			InstanceType:    types.InstanceTypeT3Micro,
			MetadataOptions: &types.InstanceMetadataOptionsRequest{HttpTokens: types.HttpTokensStateOptional, HttpProtocolIpv6: types.InstanceMetadataProtocolStateEnabled},
			TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeInstance, Tags: []types.Tag{tag("team", "a"), tag("Name", "web")}},
				{ResourceType: types.ResourceTypeVolume, Tags: []types.Tag{tag("x", "y")}}}})
		same(tw, "RunInstances v2.0", runInstances, &ec2.RunInstancesInput{ImageId: v2.ImageId, MinCount: aws.Int32(3), MaxCount: aws.Int32(3)})
		same(tw, "RunInstances hop 65", runInstances, &ec2.RunInstancesInput{ImageId: v2.ImageId, MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
			MetadataOptions: &types.InstanceMetadataOptionsRequest{HttpPutResponseHopLimit: aws.Int32(65)}})
		same(tw, "RunInstances unknown image", runInstances, &ec2.RunInstancesInput{ImageId: aws.String("ami-0123456789abcdef0"), MinCount: aws.Int32(1), MaxCount: aws.Int32(1)})
		same(tw, "RunInstances dry run", runInstances, &ec2.RunInstancesInput{ImageId: v2.ImageId, MinCount: aws.Int32(1), MaxCount: aws.Int32(1), DryRun: aws.Bool(true)})
		id := *run.Instances[0].InstanceId
		ids := []string{id, *run.Instances[1].InstanceId}

		// Listing, filtering, paging.
		same(tw, "DescribeInstances", describeInstances, &ec2.DescribeInstancesInput{})
		same(tw, "DescribeInstances by ID", describeInstances, &ec2.DescribeInstancesInput{InstanceIds: ids})
		same(tw, "DescribeInstances filtered", describeInstances, &ec2.DescribeInstancesInput{Filters: []types.Filter{
			{Name: aws.String("metadata-options.http-tokens"), Values: []string{"optional"}},
			{Name: aws.String("tag:team"), Values: []string{"a", "b"}}}})
		page := same(tw, "DescribeInstances page 1", describeInstances, &ec2.DescribeInstancesInput{MaxResults: aws.Int32(5)})
		if page.NextToken == nil {
			t.Fatal("7 instances in pages of 5 gave one page")
		}
		same(tw, "DescribeInstances page 2", describeInstances, &ec2.DescribeInstancesInput{MaxResults: aws.Int32(5), NextToken: page.NextToken})
		same(tw, "DescribeInstances bad token", describeInstances, &ec2.DescribeInstancesInput{NextToken: aws.String("nope")})
		same(tw, "DescribeInstances MaxResults with IDs", describeInstances, &ec2.DescribeInstancesInput{MaxResults: aws.Int32(5), InstanceIds: ids})
		same(tw, "DescribeInstances unknown filter", describeInstances, &ec2.DescribeInstancesInput{Filters: []types.Filter{{Name: aws.String("bogus"), Values: []string{"x"}}}})
		same(tw, "DescribeInstances not found", describeInstances, &ec2.DescribeInstancesInput{InstanceIds: []string{"i-0123456789abcdef0", id}})

		// Metadata options.
		same(tw, "ModifyInstanceMetadataOptions", modifyOptions, &ec2.ModifyInstanceMetadataOptionsInput{InstanceId: aws.String(id),
			HttpTokens: types.HttpTokensStateRequired, HttpPutResponseHopLimit: aws.Int32(2)})
		same(tw, "DescribeInstances pending", describeInstances, &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
		time.Sleep(time.Minute)
		same(tw, "DescribeInstances applied", describeInstances, &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
		for _, bad := range []*ec2.ModifyInstanceMetadataOptionsInput{
			{InstanceId: aws.String(id), HttpPutResponseHopLimit: aws.Int32(65)},
			{InstanceId: aws.String(id), HttpTokens: "Required"},
			{InstanceId: aws.String(id), HttpEndpoint: types.InstanceMetadataEndpointStateDisabled, HttpProtocolIpv6: types.InstanceMetadataProtocolStateEnabled},
			{InstanceId: aws.String(id), HttpTokens: types.HttpTokensStateOptional, DryRun: aws.Bool(true)},
			{InstanceId: aws.String("i-xyz"), HttpTokens: types.HttpTokensStateRequired},
			{InstanceId: aws.String("i-0123456789abcdef0"), HttpTokens: types.HttpTokensStateRequired},
		} {
			same(tw, "ModifyInstanceMetadataOptions refused", modifyOptions, bad)
		}

		// State changes.
		same(tw, "StopInstances", stopInstances, &ec2.StopInstancesInput{InstanceIds: ids})
		same(tw, "ModifyInstanceMetadataOptions stopped", modifyOptions, &ec2.ModifyInstanceMetadataOptionsInput{InstanceId: aws.String(id), InstanceMetadataTags: types.InstanceMetadataTagsStateEnabled})
		same(tw, "StartInstances", startInstances, &ec2.StartInstancesInput{InstanceIds: ids})
		same(tw, "DescribeInstances started", describeInstances, &ec2.DescribeInstancesInput{InstanceIds: ids})
		same(tw, "TerminateInstances", terminateInstances, &ec2.TerminateInstancesInput{InstanceIds: []string{id}})
		same(tw, "StartInstances terminated", startInstances, &ec2.StartInstancesInput{InstanceIds: []string{id}})
		same(tw, "StopInstances dry run", stopInstances, &ec2.StopInstancesInput{InstanceIds: ids[1:], DryRun: aws.Bool(true)})

		// Image attributes.
		same(tw, "DescribeImageAttribute imdsSupport unset", describeImageAttr, &ec2.DescribeImageAttributeInput{ImageId: plain.ImageId, Attribute: types.ImageAttributeNameImdsSupport})
		same(tw, "ModifyImageAttribute dry run", modifyImageAttr, &ec2.ModifyImageAttributeInput{ImageId: plain.ImageId,
			ImdsSupport: &types.AttributeValue{Value: aws.String("v2.0")}, DryRun: aws.Bool(true)})
		same(tw, "ModifyImageAttribute imdsSupport", modifyImageAttr, &ec2.ModifyImageAttributeInput{ImageId: plain.ImageId,
			Attribute: aws.String("imdsSupport"), Value: aws.String("v2.0")})
		same(tw, "ModifyImageAttribute undo refused", modifyImageAttr, &ec2.ModifyImageAttributeInput{ImageId: plain.ImageId,
			ImdsSupport: &types.AttributeValue{Value: aws.String("v1.0")}})
		same(tw, "ModifyImageAttribute description", modifyImageAttr, &ec2.ModifyImageAttributeInput{ImageId: v2.ImageId,
			Description: &types.AttributeValue{Value: aws.String("web <base> & co")}})
		same(tw, "ModifyImageAttribute two attributes", modifyImageAttr, &ec2.ModifyImageAttributeInput{ImageId: v2.ImageId,
			Description: &types.AttributeValue{Value: aws.String("x")}, ImdsSupport: &types.AttributeValue{Value: aws.String("v2.0")}})
		same(tw, "ModifyImageAttribute launchPermission", modifyImageAttr, &ec2.ModifyImageAttributeInput{ImageId: v2.ImageId,
			Attribute: aws.String("launchPermission"), UserIds: []string{"111122223333"}, OperationType: types.OperationTypeAdd})
		for _, attr := range []types.ImageAttributeName{types.ImageAttributeNameImdsSupport, types.ImageAttributeNameDescription,
			types.ImageAttributeNameLaunchPermission, types.ImageAttributeNameBlockDeviceMapping, "bogus"} {
			same(tw, "DescribeImageAttribute "+string(attr), describeImageAttr, &ec2.DescribeImageAttributeInput{ImageId: v2.ImageId, Attribute: attr})
		}
		same(tw, "DescribeImageAttribute unknown image", describeImageAttr, &ec2.DescribeImageAttributeInput{
			ImageId: aws.String("ami-0123456789abcdef0"), Attribute: types.ImageAttributeNameImdsSupport})

		// Launch templates.
		lt := same(tw, "CreateLaunchTemplate", createTemplateOp, &ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String("web"),
			VersionDescription: aws.String("first"),
			LaunchTemplateData: &types.RequestLaunchTemplateData{ImageId: plain.ImageId, InstanceType: types.InstanceTypeT3Micro,
				MetadataOptions: &types.LaunchTemplateInstanceMetadataOptionsRequest{HttpTokens: types.LaunchTemplateHttpTokensStateOptional,
					HttpPutResponseHopLimit: aws.Int32(1), InstanceMetadataTags: types.LaunchTemplateInstanceMetadataTagsStateEnabled},
				TagSpecifications: []types.LaunchTemplateTagSpecificationRequest{{ResourceType: types.ResourceTypeInstance, Tags: []types.Tag{tag("team", "a")}}}},
			TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeLaunchTemplate, Tags: []types.Tag{tag("owner", "ops")}}}})
		same(tw, "CreateLaunchTemplate unknown image warns", createTemplateOp, &ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String("other"),
			LaunchTemplateData: &types.RequestLaunchTemplateData{ImageId: aws.String("ami-0123456789abcdef0")}})
		// (An empty LaunchTemplateData is no parameter at all in EC2's
		// query protocol, so the requests below give it a member.)
		same(tw, "CreateLaunchTemplate name in use", createTemplateOp, &ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String("web"),
			LaunchTemplateData: &types.RequestLaunchTemplateData{InstanceType: types.InstanceTypeT3Micro}})
		same(tw, "CreateLaunchTemplate hop 65", createTemplateOp, &ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String("bad"),
			LaunchTemplateData: &types.RequestLaunchTemplateData{MetadataOptions: ltMetadata("", 65)}})
		ltID := lt.LaunchTemplate.LaunchTemplateId
		same(tw, "CreateLaunchTemplateVersion from 1", createVersionOp, &ec2.CreateLaunchTemplateVersionInput{LaunchTemplateId: ltID,
			SourceVersion: aws.String("1"), VersionDescription: aws.String("IMDSv2"),
			LaunchTemplateData: &types.RequestLaunchTemplateData{MetadataOptions: ltMetadata(types.LaunchTemplateHttpTokensStateRequired, 2)}})
		same(tw, "CreateLaunchTemplateVersion bad source", createVersionOp, &ec2.CreateLaunchTemplateVersionInput{LaunchTemplateId: ltID,
			SourceVersion: aws.String("$Latest"), LaunchTemplateData: &types.RequestLaunchTemplateData{InstanceType: types.InstanceTypeT3Micro}})
		same(tw, "CreateLaunchTemplateVersion unknown template", createVersionOp, &ec2.CreateLaunchTemplateVersionInput{
			LaunchTemplateId: aws.String("lt-0123456789abcdef0"), LaunchTemplateData: &types.RequestLaunchTemplateData{InstanceType: types.InstanceTypeT3Micro}})
		same(tw, "ModifyLaunchTemplate default 2", modifyTemplate, &ec2.ModifyLaunchTemplateInput{LaunchTemplateId: ltID, DefaultVersion: aws.String("2")})
		same(tw, "ModifyLaunchTemplate default 9", modifyTemplate, &ec2.ModifyLaunchTemplateInput{LaunchTemplateName: aws.String("web"), DefaultVersion: aws.String("9")})
		same(tw, "DescribeLaunchTemplates", describeTemplates, &ec2.DescribeLaunchTemplatesInput{})
		same(tw, "DescribeLaunchTemplates by name", describeTemplates, &ec2.DescribeLaunchTemplatesInput{LaunchTemplateNames: []string{"web"}})
		same(tw, "DescribeLaunchTemplates filtered", describeTemplates, &ec2.DescribeLaunchTemplatesInput{
			Filters: []types.Filter{{Name: aws.String("tag:owner"), Values: []string{"ops"}}}})
		same(tw, "DescribeLaunchTemplates paged", describeTemplates, &ec2.DescribeLaunchTemplatesInput{MaxResults: aws.Int32(5)})
		same(tw, "DescribeLaunchTemplates unknown", describeTemplates, &ec2.DescribeLaunchTemplatesInput{LaunchTemplateIds: []string{"lt-0123456789abcdef0"}})
		for _, v := range [][]string{nil, {"$Latest"}, {"$Default", "1"}, {"7"}, {"x"}} {
			same(tw, fmt.Sprintf("DescribeLaunchTemplateVersions %v", v), describeVersions, &ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateId: ltID, Versions: v})
		}
		same(tw, "DescribeLaunchTemplateVersions of all", describeVersions, &ec2.DescribeLaunchTemplateVersionsInput{Versions: []string{"$Latest"},
			Filters: []types.Filter{{Name: aws.String("http-tokens"), Values: []string{"required"}}}})
		same(tw, "RunInstances from template", runInstances, &ec2.RunInstancesInput{MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
			LaunchTemplate:  &types.LaunchTemplateSpecification{LaunchTemplateName: aws.String("web"), Version: aws.String("1")},
			MetadataOptions: &types.InstanceMetadataOptionsRequest{HttpPutResponseHopLimit: aws.Int32(3)}})
		same(tw, "DeleteLaunchTemplateVersions default refused", deleteVersions, &ec2.DeleteLaunchTemplateVersionsInput{LaunchTemplateId: ltID, Versions: []string{"2", "1", "8"}})
		same(tw, "DeleteLaunchTemplate", deleteTemplate, &ec2.DeleteLaunchTemplateInput{LaunchTemplateName: aws.String("other")})
		same(tw, "DeleteLaunchTemplate again", deleteTemplate, &ec2.DeleteLaunchTemplateInput{LaunchTemplateName: aws.String("other")})

		// Enforcement.
		same(tw, "ModifyInstanceMetadataDefaults enforce", modifyDefaults, &ec2.ModifyInstanceMetadataDefaultsInput{HttpTokensEnforced: types.DefaultHttpTokensEnforcedStateEnabled})
		same(tw, "RunInstances refused by enforcement", runInstances, &ec2.RunInstancesInput{ImageId: v2.ImageId, MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
			MetadataOptions: &types.InstanceMetadataOptionsRequest{HttpTokens: types.HttpTokensStateOptional}})
		same(tw, "RunInstances from template refused by enforcement", runInstances, &ec2.RunInstancesInput{MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
			LaunchTemplate: &types.LaunchTemplateSpecification{LaunchTemplateId: ltID, Version: aws.String("1")}})

		// CloudWatch.
		for _, cw := range []*fake.CloudWatch{tw.cwDirect, tw.cwServed} {
			now := time.Now()
			cw.PutMetadataNoToken(id, now.Add(-2*time.Hour), 3)
			cw.PutMetadataNoToken(id, now.Add(-90*time.Minute), 4)
			cw.PutMetadataNoToken(ids[1], now.Add(-time.Hour), 0)
		}
		end := time.Now()
		for _, in := range []*cloudwatch.GetMetricDataInput{
			metricInput(end.Add(-24*time.Hour), end, noToken("a", id, "Sum", 3600), noToken("b", ids[1], "Sum", 86400), noToken("c", "i-0123456789abcdef0", "Maximum", 60)),
			metricInput(end.Add(-24*time.Hour), end, noToken("Bad", id, "Sum", 3600)),
			metricInput(end, end, noToken("a", id, "Sum", 3600)),
		} {
			want, wantErr := tw.cwDirect.GetMetricData(context.Background(), in)
			got, gotErr := tw.cw.GetMetricData(context.Background(), in)
			tw.compare("GetMetricData", want, wantErr, got, gotErr)
		}
	})
}

func TestWireErrorsDecode(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := fake.New(func(o *fake.Options) {
			o.Throttle = true
			o.Buckets.ModifyInstanceMetadataDefaults = fake.Bucket{Size: 1}
		})
		cw := fake.NewCloudWatch()
		client, cwClient := wireClients(fake.NewHandler(f, func(o *fake.HandlerOptions) { o.CloudWatch = cw }))
		ctx := context.Background()

		// Throttling: HTTP 503 RequestLimitExceeded, the SDK's retryable
		// throttling code.
		in := &ec2.ModifyInstanceMetadataDefaultsInput{HttpTokens: types.MetadataDefaultHttpTokensStateRequired}
		if _, err := client.ModifyInstanceMetadataDefaults(ctx, in); err != nil {
			t.Fatal(err)
		}
		_, err := client.ModifyInstanceMetadataDefaults(ctx, in)
		if got := describeErr(err); !strings.HasPrefix(got, "EC2 ModifyInstanceMetadataDefaults HTTP 503 RequestLimitExceeded: Request limit exceeded.") {
			t.Errorf("throttled call: %s", got)
		}
		var re *awshttp.ResponseError
		if !errors.As(err, &re) || !strings.HasPrefix(re.ServiceRequestID(), "00000000-0000-4000-8000-") {
			t.Errorf("throttled call: no request ID from the fake's error: %v", err)
		}

		// Injected failures keep their status; the SDK retries a 500.
		f.FailNext("DescribeInstances", 2, nil)
		retrying := ec2.NewFromConfig(sdkConfig(fake.NewHandler(f)), func(o *ec2.Options) { o.RetryMaxAttempts = 3 })
		if _, err := retrying.DescribeInstances(ctx, &ec2.DescribeInstancesInput{}); err != nil {
			t.Errorf("two InternalErrors, then success, with three attempts: %v", err)
		}
		if n := f.Calls("DescribeInstances"); n != 3 {
			t.Errorf("DescribeInstances called %d times, want 3 (two failures retried by the SDK)", n)
		}

		// Permissions.
		f.Deny("StopInstances")
		_, err = client.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{"i-0123456789abcdef0"}})
		if got := describeErr(err); !strings.HasPrefix(got, "EC2 StopInstances HTTP 403 UnauthorizedOperation:") {
			t.Errorf("denied call: %s", got)
		}

		// CloudWatch errors come with their code over CBOR, typed where the
		// SDK has a type for them.
		cw.FailNext(1, nil)
		_, err = cwClient.GetMetricData(ctx, metricInput(t0, t0.Add(time.Hour), noToken("a", "i-0123456789abcdef0", "Sum", 60)))
		if got := describeErr(err); got != "CloudWatch GetMetricData HTTP 500 InternalServiceError: Internal service error." {
			t.Errorf("injected CloudWatch failure: %s", got)
		}
		_, err = cwClient.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{StartTime: aws.Time(t0), EndTime: aws.Time(t0.Add(time.Hour)),
			NextToken: aws.String("x"), MetricDataQueries: []cwtypes.MetricDataQuery{noToken("a", "i-0123456789abcdef0", "Sum", 60)}})
		var bad *cwtypes.InvalidNextToken
		if !errors.As(err, &bad) || status(err) != 400 {
			t.Errorf("NextToken: %v, want a *types.InvalidNextToken with HTTP 400", err)
		}
	})
}

func TestWirePaginator(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := fake.New()
		img := register(t, f, "img", "")
		launched := instanceIDs(launch(t, f, img, 23))
		client, _ := wireClients(fake.NewHandler(f))
		pages := ec2.NewDescribeInstancesPaginator(client, &ec2.DescribeInstancesInput{MaxResults: aws.Int32(5)})
		var got []string
		n := 0
		for pages.HasMorePages() {
			out, err := pages.NextPage(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			n++
			got = append(got, ids(out)...)
		}
		if n != 5 || !cmp.Equal(got, launched) {
			t.Errorf("%d pages listing %v, want 5 pages listing %v", n, got, launched)
		}
	})
}

// post sends a raw request to h and returns the answer.
func post(t *testing.T, h http.Handler, method, target string, header http.Header, body string) *http.Response {
	t.Helper()
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	for k, v := range header {
		r.Header[k] = v
	}
	if _, ok := header["Content-Type"]; !ok && method == http.MethodPost {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec.Result()
}

func readAll(t *testing.T, r *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// ec2Error is EC2's error document.
const ec2Error = `<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
	`<Response><Errors><Error><Code>%s</Code><Message>%s</Message></Error></Errors><RequestID>%s</RequestID></Response>`

func TestQueryRequestsRefused(t *testing.T) {
	f := fake.New()
	h := fake.NewHandler(f, func(o *fake.HandlerOptions) { o.MaxBodyBytes = 4096 })
	long := strings.Repeat("x", 5000)
	tests := []struct {
		name, method, target, body string
		status                     int
		code, message              string
	}{
		{"no action", "POST", "/", "Version=2016-11-15", 400, "MissingAction", "The request must contain the parameter Action."},
		{"no version", "POST", "/", "Action=DescribeInstances", 400, "MissingParameter", "The request must contain the parameter Version."},
		{"unknown version", "POST", "/", "Action=DescribeInstances&Version=2099-01-01", 400, "NoSuchVersion",
			"The requested version (2099-01-01) of service EC2 does not exist."},
		{"unknown action", "POST", "/", "Action=DescribeVpcs&Version=2016-11-15", 400, "InvalidAction",
			"The action DescribeVpcs is not valid for this web service."},
		{"unknown parameter", "POST", "/", "Action=DescribeInstances&Version=2016-11-15&InstanceIds.1=i-0123456789abcdef0", 400,
			"UnknownParameter", "The parameter InstanceIds.1 is not recognized."},
		{"list without index", "POST", "/", "Action=DescribeInstances&Version=2016-11-15&InstanceId=i-0123456789abcdef0", 400,
			"UnknownParameter", "The parameter InstanceId is not recognized."},
		{"index zero", "POST", "/", "Action=DescribeInstances&Version=2016-11-15&InstanceId.0=i-0123456789abcdef0", 400,
			"UnknownParameter", "The parameter InstanceId.0 is not recognized."},
		{"not an integer", "POST", "/", "Action=DescribeInstances&Version=2016-11-15&MaxResults=ten", 400, "InvalidParameterValue",
			"Value (ten) for parameter MaxResults is invalid. Expected an integer of 32 bits."},
		{"not a boolean", "POST", "/", "Action=DescribeInstances&Version=2016-11-15&DryRun=yes", 400, "InvalidParameterValue",
			"Value (yes) for parameter DryRun is invalid. Expected true or false."},
		{"given twice", "POST", "/", "Action=DescribeInstances&Version=2016-11-15&MaxResults=5&MaxResults=6", 400, "InvalidParameterValue",
			"The parameter MaxResults is given 2 times; it may be given once."},
		{"malformed form", "POST", "/", "Action=DescribeInstances&Version=%zz", 404, "MalformedQueryString",
			`The request body is not a valid form: invalid URL escape "%zz"`},
		{"too large", "POST", "/", "Action=DescribeInstances&Version=2016-11-15&X=" + long, 413, "RequestEntityTooLarge",
			"The request body is larger than the limit of 4096 bytes."},
		{"value echoed short", "POST", "/", "Action=DescribeInstances&Version=2016-11-15&MaxResults=" + strings.Repeat("9", 100), 400, "InvalidParameterValue",
			"Value (" + strings.Repeat("9", 64) + "... (100 bytes)) for parameter MaxResults is invalid. Expected an integer of 32 bits."},
		{"GET", "GET", "/?Action=ModifyInstanceMetadataOptions&Version=2016-11-15", "", 400, "MissingParameter",
			"The request must contain the parameter InstanceId"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := post(t, h, tt.method, tt.target, nil, tt.body)
			body := readAll(t, resp)
			if resp.StatusCode != tt.status {
				t.Errorf("HTTP %d, want %d", resp.StatusCode, tt.status)
			}
			id := resp.Header.Get("X-Amzn-Requestid")
			want := fmt.Sprintf(ec2Error, tt.code, escapeXML(tt.message), id)
			if body != want || id == "" {
				t.Errorf("answer\n%s\nwant\n%s", body, want)
			}
		})
	}
	if n := f.CallCounts(); len(n) != 1 || n["ModifyInstanceMetadataOptions"] != 1 {
		t.Errorf("refused requests reached the fake: %v; want only the GET's ModifyInstanceMetadataOptions", n)
	}
}

func escapeXML(s string) string {
	var b bytes.Buffer
	if err := xml.EscapeText(&b, []byte(s)); err != nil {
		panic(err)
	}
	return b.String()
}

func TestCloudWatchProtocols(t *testing.T) {
	cw := fake.NewCloudWatch()
	id := "i-0123456789abcdef0"
	cw.PutMetadataNoToken(id, t0.Add(30*time.Minute), 2)
	cw.PutMetadataNoToken(id, t0.Add(90*time.Minute), 5)
	h := fake.NewHandler(fake.New(), func(o *fake.HandlerOptions) { o.CloudWatch = cw })

	t.Run("query", func(t *testing.T) {
		form := "Action=GetMetricData&Version=2010-08-01&StartTime=2025-03-01T12%3A00%3A00Z&EndTime=2025-03-01T14%3A00%3A00.000Z" +
			"&ScanBy=TimestampAscending&MetricDataQueries.member.1.Id=q0" +
			"&MetricDataQueries.member.1.MetricStat.Metric.Namespace=AWS%2FEC2" +
			"&MetricDataQueries.member.1.MetricStat.Metric.MetricName=MetadataNoToken" +
			"&MetricDataQueries.member.1.MetricStat.Metric.Dimensions.member.1.Name=InstanceId" +
			"&MetricDataQueries.member.1.MetricStat.Metric.Dimensions.member.1.Value=" + id +
			"&MetricDataQueries.member.1.MetricStat.Period=3600&MetricDataQueries.member.1.MetricStat.Stat=Sum"
		resp := post(t, h, "POST", "/", nil, form)
		body := readAll(t, resp)
		want := `<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
			`<GetMetricDataResponse xmlns="http://monitoring.amazonaws.com/doc/2010-08-01/"><GetMetricDataResult>` +
			`<MetricDataResults><member><Id>q0</Id><Label>MetadataNoToken</Label><StatusCode>Complete</StatusCode>` +
			`<Timestamps><member>2025-03-01T12:00:00.000Z</member><member>2025-03-01T13:00:00.000Z</member></Timestamps>` +
			`<Values><member>2</member><member>5</member></Values></member></MetricDataResults>` +
			`</GetMetricDataResult><ResponseMetadata><RequestId>` + resp.Header.Get("X-Amzn-Requestid") + `</RequestId></ResponseMetadata></GetMetricDataResponse>`
		if resp.StatusCode != 200 || body != want {
			t.Errorf("HTTP %d\n%s\nwant\n%s", resp.StatusCode, body, want)
		}
		resp = post(t, h, "POST", "/", nil, "Action=GetMetricData&Version=2010-08-01&StartTime=2025-03-01T12%3A00%3A00Z")
		body = readAll(t, resp)
		want = `<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
			`<ErrorResponse xmlns="http://monitoring.amazonaws.com/doc/2010-08-01/"><Error><Type>Sender</Type><Code>ValidationError</Code>` +
			`<Message>The parameter EndTime is required.</Message></Error><RequestId>` + resp.Header.Get("X-Amzn-Requestid") + `</RequestId></ErrorResponse>`
		if resp.StatusCode != 400 || body != want {
			t.Errorf("HTTP %d\n%s\nwant\n%s", resp.StatusCode, body, want)
		}
	})

	t.Run("json", func(t *testing.T) {
		hd := http.Header{"X-Amz-Target": {"GraniteServiceVersion20100801.GetMetricData"}, "Content-Type": {"application/x-amz-json-1.0"}}
		req := `{"StartTime": 1740830400, "EndTime": 1740837600.0, "ScanBy": "TimestampAscending", "MetricDataQueries": [{"Id": "q0",
			"MetricStat": {"Metric": {"Namespace": "AWS/EC2", "MetricName": "MetadataNoToken", "Dimensions": [{"Name": "InstanceId", "Value": "` + id + `"}]},
			"Period": 3600, "Stat": "Sum"}}]}`
		resp := post(t, h, "POST", "/", hd, req)
		body := readAll(t, resp)
		want := `{"MetricDataResults":[{"Id":"q0","Label":"MetadataNoToken","StatusCode":"Complete","Timestamps":[1740830400,1740834000],"Values":[2.0,5.0]}]}`
		if resp.StatusCode != 200 || body != want || resp.Header.Get("Content-Type") != "application/x-amz-json-1.0" {
			t.Errorf("HTTP %d %s\n%s\nwant\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), body, want)
		}
		for _, bad := range []struct{ target, body, status, code, query string }{
			{"GraniteServiceVersion20100801.PutMetricData", `{}`, "400", "UnknownOperationException", "UnknownOperationException;Sender"},
			{"GraniteServiceVersion20100801.GetMetricData", `{"StartTime": "yesterday"}`, "400", "SerializationException", "SerializationException;Sender"},
			{"GraniteServiceVersion20100801.GetMetricData", `{"StartTime": 1, `, "400", "SerializationException", "SerializationException;Sender"},
			{"GraniteServiceVersion20100801.GetMetricData", `{}`, "400", "ValidationError", "ValidationError;Sender"},
		} {
			hd := http.Header{"X-Amz-Target": {bad.target}, "Content-Type": {"application/x-amz-json-1.0"}}
			resp := post(t, h, "POST", "/", hd, bad.body)
			body := readAll(t, resp)
			if fmt.Sprint(resp.StatusCode) != bad.status || !strings.Contains(body, `"__type":"`+bad.code+`"`) || resp.Header.Get("X-Amzn-Query-Error") != bad.query {
				t.Errorf("%s %s: HTTP %d %s %s", bad.target, bad.body, resp.StatusCode, resp.Header.Get("X-Amzn-Query-Error"), body)
			}
		}
	})

	t.Run("cbor", func(t *testing.T) {
		hd := http.Header{"Smithy-Protocol": {"rpc-v2-cbor"}, "Content-Type": {"application/cbor"}}
		resp := post(t, h, "POST", "/service/GraniteServiceVersion20100801/operation/PutMetricData", hd, "\xa0")
		if resp.StatusCode != 404 || resp.Header.Get("X-Amzn-Query-Error") != "UnknownOperationException;Sender" {
			t.Errorf("unknown operation: HTTP %d %v", resp.StatusCode, resp.Header)
		}
		resp = post(t, h, "POST", "/service/GraniteServiceVersion20100801/operation/GetMetricData", hd, "\xff\x00")
		if resp.StatusCode != 400 || resp.Header.Get("X-Amzn-Query-Error") != "SerializationException;Sender" {
			t.Errorf("malformed CBOR: HTTP %d %v", resp.StatusCode, resp.Header)
		}
	})

	t.Run("not served", func(t *testing.T) {
		h := fake.NewHandler(fake.New())
		_, cwClient := wireClients(h)
		_, err := cwClient.GetMetricData(context.Background(), metricInput(t0, t0.Add(time.Hour), noToken("a", id, "Sum", 60)))
		if got := describeErr(err); !strings.HasPrefix(got, "CloudWatch GetMetricData HTTP 404 UnknownOperationException: The operation GetMetricData is not served") {
			t.Errorf("CloudWatch of a handler without one: %s", got)
		}
		client, _ := wireClients(fake.NewHandler(nil))
		_, err = client.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{})
		if got := describeErr(err); !strings.HasPrefix(got, "EC2 DescribeInstances HTTP 400 InvalidAction: The action DescribeInstances is not served") {
			t.Errorf("EC2 of a handler without one: %s", got)
		}
	})
}

// Many SDK clients at once over real HTTP: every call answered, none lost
// (run with -race).
func TestServerConcurrentClients(t *testing.T) {
	f := fake.New(func(o *fake.Options) { o.ApplyDelay = 0 })
	img := register(t, f, "img", "")
	launched := instanceIDs(launch(t, f, img, 40))
	srv, err := fake.NewServer(f)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if !strings.HasPrefix(srv.URL, "http://127.0.0.1:") {
		t.Errorf("URL %s is not on the loopback address", srv.URL)
	}
	errs := make(chan error, len(launched))
	for _, id := range launched {
		go func() {
			client := ec2.NewFromConfig(srv.Config())
			if _, err := client.ModifyInstanceMetadataOptions(context.Background(), &ec2.ModifyInstanceMetadataOptionsInput{
				InstanceId: aws.String(id), HttpTokens: types.HttpTokensStateRequired}); err != nil {
				errs <- err
				return
			}
			_, err := client.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
			errs <- err
		}()
	}
	for range launched {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if m, d := f.Calls("ModifyInstanceMetadataOptions"), f.Calls("DescribeInstances"); m != len(launched) || d != len(launched) {
		t.Errorf("%d modifies and %d describes reached the fake, want %d each", m, d, len(launched))
	}
	out, err := f.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{Filters: []types.Filter{
		{Name: aws.String("metadata-options.http-tokens"), Values: []string{"required"}}}})
	if err != nil || len(ids(out)) != len(launched) {
		t.Errorf("%d instances required, want %d (%v)", len(ids(out)), len(launched), err)
	}
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := ec2.NewFromConfig(srv.Config(), func(o *ec2.Options) { o.RetryMaxAttempts = 1 }).
		DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{}); err == nil {
		t.Error("a closed server still answers")
	}
}

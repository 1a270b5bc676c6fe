//go:build e2e

package imdsopts_test

// Integration tests: the library with the real SDK client, over real HTTP,
// against the moto EC2 emulator. They show that requests serialize, answers
// and errors decode, and the library's outcomes hold on the wire. moto is not
// EC2: where it deviates (motoserver.Deviations), TestE2EMotoDeviations pins
// both its answer and the in-memory fake's EC2-faithful one.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"

	"github.com/imdsopts/imdsopts"
	"github.com/imdsopts/imdsopts/fake"
	"github.com/imdsopts/imdsopts/fleet"
	"github.com/imdsopts/imdsopts/internal/motoserver"
)

// unknownID is a well-formed instance ID that no emulator has launched.
const unknownID = "i-0123456789abcdef0"

// instantWait makes the waiter poll without real delays: moto answers
// immediately and never has a propagation delay, so InvalidInstanceID.NotFound
// is final at once (the default).
func instantWait(o *imdsopts.WaiterOptions) {
	o.MinDelay = time.Millisecond
	o.MaxDelay = 10 * time.Millisecond
	o.MaxWait = 30 * time.Second
}

// noRetry makes the SDK send every request once, so an HTTP 500 does not
// cost seconds of backoff: only a response cut short by a closed connection
// (net.ErrClosed, which the SDK retries by default) is sent again.
func noRetry(o *ec2.Options) { o.Retryer = cutOnly() }

// cutOnly is a retryer that tries a request again only when its response
// was cut short by a closed connection.
func cutOnly() aws.Retryer {
	return retry.NewStandard(func(so *retry.StandardOptions) {
		so.MaxAttempts = 3
		so.Retryables = []retry.IsErrorRetryable{retry.IsErrorRetryableFunc(func(err error) aws.Ternary {
			return aws.BoolTernary(errors.Is(err, net.ErrClosed))
		})}
	})
}

// countingHTTP counts the HTTP requests an SDK client sends.
type countingHTTP struct {
	next interface {
		Do(*http.Request) (*http.Response, error)
	}
	n atomic.Int64
}

func (c *countingHTTP) Do(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.next.Do(r)
}

// countRequests returns a client option that routes requests through a new
// counter, and the counter.
func countRequests() (func(*ec2.Options), *countingHTTP) {
	c := &countingHTTP{next: awshttp.NewBuildableClient()}
	return func(o *ec2.Options) { o.HTTPClient = c }, c
}

// TestE2EIntegration runs the library against one moto server; every subtest
// launches its own instances, so they do not interfere.
func TestE2EIntegration(t *testing.T) {
	t.Parallel()
	srv := motoserver.Start(t)
	client := srv.Client(t)

	t.Run("ApplyWait", func(t *testing.T) {
		id := launchN(t, client, motoserver.ImageID, 1, t.Name(), nil)[0]
		set := fullSet(t, types.HttpTokensStateRequired, 3)
		var ops []string
		record := func(o *imdsopts.WaiterOptions) {
			o.OnAttempt = func(a imdsopts.Attempt) {
				ops = append(ops, fmt.Sprintf("%s#%d err=%v", a.Operation, a.Number, a.Err))
			}
		}
		w, err := imdsopts.Apply(t.Context(), client, id, set, instantWait, record)
		if err != nil {
			t.Fatalf("Apply: %v", err)
		}
		got, err := w.Wait(t.Context())
		if err != nil {
			t.Fatalf("Wait: %v (calls %v)", err, ops)
		}
		if s, want := optionsString(got), wantOptions(set); s != want {
			t.Errorf("Wait returned\n %s\nwant\n %s", s, want)
		}
		if len(ops) == 0 || !strings.HasPrefix(ops[0], "ModifyInstanceMetadataOptions#1 err=<nil>") {
			t.Errorf("calls %v, want a successful ModifyInstanceMetadataOptions first", ops)
		}
		if s, want := optionsString(describeOne(t, client, id)), wantOptions(set); s != want {
			t.Errorf("DescribeInstances reports\n %s\nwant\n %s", s, want)
		}

		// A waiter for the zero Set sends nothing and so must poll
		// DescribeInstances: the options it decodes are the applied ones.
		ops = nil
		w, err = imdsopts.NewWaiter(client, id, imdsopts.Set{}, instantWait, record)
		if err != nil {
			t.Fatalf("NewWaiter for the zero Set: %v", err)
		}
		got, err = w.Wait(t.Context())
		if err != nil {
			t.Fatalf("Wait after the zero Set: %v", err)
		}
		if s, want := optionsString(got), wantOptions(set); s != want {
			t.Errorf("Wait by polling returned\n %s\nwant\n %s", s, want)
		}
		if len(ops) != 1 || !strings.HasPrefix(ops[0], "DescribeInstances#1 err=<nil>") {
			t.Errorf("calls %v, want one successful DescribeInstances", ops)
		}
	})

	t.Run("DryRunIgnored", func(t *testing.T) {
		id := launchN(t, client, motoserver.ImageID, 1, t.Name(), nil)[0]
		if got := describeOne(t, client, id).HttpTokens; got != types.HttpTokensStateOptional {
			t.Fatalf("a new instance has HttpTokens %q, want optional", got)
		}
		set, err := imdsopts.New(imdsopts.RequireIMDSv2())
		if err != nil {
			t.Fatal(err)
		}
		err = imdsopts.DryRun(t.Context(), client, id, set)
		if !errors.Is(err, imdsopts.ErrDryRunIgnored) {
			t.Fatalf("DryRun = %v, want an error matching ErrDryRunIgnored", err)
		}
		// The warning is real: moto applied the change it was only asked
		// about (motoserver.Deviations["ignores-dry-run"]).
		if got := describeOne(t, client, id).HttpTokens; got != types.HttpTokensStateRequired {
			t.Errorf("after the ignored DryRun, HttpTokens is %q; the endpoint was expected to have applied required", got)
		}

		err = imdsopts.DryRun(t.Context(), client, unknownID, set)
		if !errors.Is(err, imdsopts.ErrInstanceNotFound) || errCode(err) != "InvalidInstanceID.NotFound" {
			t.Errorf("DryRun on an unknown instance = %v, want ErrInstanceNotFound with code InvalidInstanceID.NotFound", err)
		}
	})

	t.Run("NotFound", func(t *testing.T) {
		set := fullSet(t, types.HttpTokensStateRequired, 2)
		for _, id := range []string{unknownID, "i-0badc0de"} {
			calls := 0
			_, err := imdsopts.Apply(t.Context(), client, id, set, instantWait, func(o *imdsopts.WaiterOptions) {
				o.OnAttempt = func(imdsopts.Attempt) { calls++ }
			})
			if !errors.Is(err, imdsopts.ErrInstanceNotFound) {
				t.Errorf("Apply(%s) = %v, want ErrInstanceNotFound", id, err)
			}
			var apiErr smithy.APIError
			if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "InvalidInstanceID.NotFound" || !strings.Contains(apiErr.ErrorMessage(), id) {
				t.Errorf("Apply(%s) = %v, want a smithy.APIError with code InvalidInstanceID.NotFound naming the ID", id, err)
			}
			if got := errStatus(err); got != http.StatusBadRequest {
				t.Errorf("Apply(%s): HTTP status %d, want 400", id, got)
			}
			if calls != 1 {
				t.Errorf("Apply(%s) made %d calls; with NotFoundGrace over, want 1", id, calls)
			}
		}

		// Wait polls DescribeInstances, which answers NotFound too.
		w, err := imdsopts.NewWaiter(client, unknownID, imdsopts.Set{}, instantWait)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Wait(t.Context()); !errors.Is(err, imdsopts.ErrInstanceNotFound) || errCode(err) != "InvalidInstanceID.NotFound" {
			t.Errorf("Wait for an unknown instance = %v, want ErrInstanceNotFound with code InvalidInstanceID.NotFound", err)
		}
	})

	t.Run("TerminatedDuringWait", func(t *testing.T) {
		id := launchN(t, client, motoserver.ImageID, 1, t.Name(), nil)[0]
		w, err := imdsopts.NewWaiter(client, id, imdsopts.Set{}, instantWait)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := client.TerminateInstances(t.Context(), &ec2.TerminateInstancesInput{InstanceIds: []string{id}}); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Wait(t.Context()); !errors.Is(err, imdsopts.ErrInstanceTerminated) {
			t.Errorf("Wait for a terminated instance = %v, want ErrInstanceTerminated", err)
		}
	})

	t.Run("MalformedIDSendsNothing", func(t *testing.T) {
		counted, counter := countRequests()
		c := srv.Client(t, counted)
		set := fullSet(t, types.HttpTokensStateRequired, 2)
		for _, id := range []string{"i-xyz", "i-0123456789ABCDEF0", "i-0123456789", "0123456789abcdef0", ""} {
			if _, err := imdsopts.Apply(t.Context(), c, id, set, instantWait); !errors.Is(err, imdsopts.ErrInvalid) {
				t.Errorf("Apply(%q) = %v, want ErrInvalid", id, err)
			}
			if err := imdsopts.DryRun(t.Context(), c, id, set); !errors.Is(err, imdsopts.ErrInvalid) {
				t.Errorf("DryRun(%q) = %v, want ErrInvalid", id, err)
			}
		}
		if n := counter.n.Load(); n != 0 {
			t.Errorf("%d requests reached the emulator for malformed IDs, want 0", n)
		}
		// The counter does see requests: a well-formed ID is sent.
		if _, err := imdsopts.Apply(t.Context(), c, unknownID, set, instantWait); !errors.Is(err, imdsopts.ErrInstanceNotFound) {
			t.Errorf("Apply(%s) = %v, want ErrInstanceNotFound", unknownID, err)
		}
		if n := counter.n.Load(); n != 1 {
			t.Errorf("a well-formed ID sent %d requests, want 1", n)
		}
	})

	t.Run("Batch", func(t *testing.T) {
		const n, parallel = 50, 10
		tag := t.Name()
		ids := launchN(t, client, motoserver.ImageID, n, tag, nil)
		set := fullSet(t, types.HttpTokensStateRequired, 2)

		var (
			wg             sync.WaitGroup
			sem            = make(chan struct{}, parallel)
			inFlight, peak atomic.Int32
			modifies       atomic.Int32
			errs           = make([]error, n)
			results        = make([]string, n)
		)
		count := func(o *imdsopts.WaiterOptions) {
			o.OnAttempt = func(a imdsopts.Attempt) {
				if a.Operation == "ModifyInstanceMetadataOptions" {
					modifies.Add(1)
				}
			}
		}
		for i, id := range ids {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer func() { <-sem; wg.Done() }()
				now := inFlight.Add(1)
				defer inFlight.Add(-1)
				for p := peak.Load(); now > p && !peak.CompareAndSwap(p, now); p = peak.Load() {
				}
				w, err := imdsopts.Apply(t.Context(), client, id, set, instantWait, count)
				if err != nil {
					errs[i] = err
					return
				}
				got, err := w.Wait(t.Context())
				errs[i], results[i] = err, optionsString(got)
			}()
		}
		wg.Wait()
		want := wantOptions(set)
		for i, id := range ids {
			if errs[i] != nil {
				t.Errorf("%s: %v", id, errs[i])
			} else if results[i] != want {
				t.Errorf("%s: Wait returned %s, want %s", id, results[i], want)
			}
		}
		if p := peak.Load(); p > parallel {
			t.Errorf("%d Apply+Wait ran at once, want at most %d", p, parallel)
		}
		if m := modifies.Load(); m != n {
			t.Errorf("%d ModifyInstanceMetadataOptions calls for %d instances, want one each (no retries)", m, n)
		}

		// moto does not implement the metadata-options.http-tokens filter
		// (Deviations["metadata-filters-500"]), so select the batch by tag,
		// page through it, and check HttpTokens on each instance.
		pages := ec2.NewDescribeInstancesPaginator(client, &ec2.DescribeInstancesInput{
			Filters:    []types.Filter{{Name: aws.String("tag:suite"), Values: []string{tag}}},
			MaxResults: aws.Int32(5),
		})
		seen := map[string]string{}
		for pages.HasMorePages() {
			page, err := pages.NextPage(t.Context())
			if err != nil {
				t.Fatalf("DescribeInstances page: %v", err)
			}
			for _, r := range page.Reservations {
				for _, inst := range r.Instances {
					seen[aws.ToString(inst.InstanceId)] = optionsString(inst.MetadataOptions)
				}
			}
		}
		required := 0
		for _, id := range ids {
			switch got, ok := seen[id]; {
			case !ok:
				t.Errorf("%s: not listed by DescribeInstances", id)
			case got != want:
				t.Errorf("%s: DescribeInstances lists %s, want %s", id, got, want)
			default:
				required++
			}
		}
		if required != n || len(seen) != n {
			t.Errorf("DescribeInstances lists %d instances, %d of the batch with HttpTokens required; want %d and %d", len(seen), required, n, n)
		}
	})

	t.Run("LaunchForImage", func(t *testing.T) {
		counted, counter := countRequests()
		c := srv.Client(t, noRetry, counted)
		_, err := imdsopts.LaunchForImage(t.Context(), c, motoserver.ImageID, imdsopts.Set{})
		if err == nil {
			t.Fatal("LaunchForImage succeeded although GetInstanceMetadataDefaults failed; a failure must never read as no preference")
		}
		if got := errStatus(err); got != http.StatusInternalServerError {
			t.Errorf("LaunchForImage error %v: HTTP status %d, want 500", err, got)
		}
		t.Logf("moto's answer to GetInstanceMetadataDefaults decodes to: %v", err)
		var oe *smithy.OperationError
		if !errors.As(err, &oe) || oe.Operation() != "GetInstanceMetadataDefaults" {
			t.Errorf("LaunchForImage error %v, want a GetInstanceMetadataDefaults OperationError", err)
		}
		if n := counter.n.Load(); n != 1 {
			t.Errorf("%d requests sent, want 1: the failed defaults call, no retry and no DescribeImages", n)
		}

		// The DescribeImages half over the wire, with the account defaults
		// answered as "no preference" in place of moto's 500.
		api := noAccountDefaults{c}
		hop2, err := imdsopts.New(imdsopts.HopLimit(2))
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []imdsopts.Set{{}, hop2} {
			l, err := imdsopts.LaunchForImage(t.Context(), api, motoserver.ImageID, s)
			if err != nil {
				t.Fatalf("LaunchForImage(%s): %v", s, err)
			}
			if l.ImdsSupport != "" || l.Options != s {
				t.Errorf("LaunchForImage(%s) = %+v, want the Set back and no ImdsSupport (moto's images have none)", s, l)
			}
			eff, err := imdsopts.Resolve(l)
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			want := imdsopts.Effective{
				HTTPTokens:           imdsopts.Value[types.HttpTokensState]{Value: types.HttpTokensStateOptional, Source: imdsopts.SourceDefault},
				HopLimit:             imdsopts.Value[int32]{Value: 1, Source: imdsopts.SourceDefault},
				HTTPEndpoint:         imdsopts.Value[types.InstanceMetadataEndpointState]{Value: types.InstanceMetadataEndpointStateEnabled, Source: imdsopts.SourceDefault},
				HTTPProtocolIPv6:     imdsopts.Value[types.InstanceMetadataProtocolState]{Value: types.InstanceMetadataProtocolStateDisabled, Source: imdsopts.SourceDefault},
				InstanceMetadataTags: imdsopts.Value[types.InstanceMetadataTagsState]{Value: types.InstanceMetadataTagsStateDisabled, Source: imdsopts.SourceDefault},
			}
			if s == hop2 {
				want.HopLimit = imdsopts.Value[int32]{Value: 2, Source: imdsopts.SourceLaunch}
			}
			if eff != want {
				t.Errorf("Resolve(%s) =\n%v\nwant\n%v", s, eff, want)
			}
			// moto's launch agrees with the resolution for an image without
			// ImdsSupport and no account defaults.
			id := launchN(t, c, motoserver.ImageID, 1, t.Name(), s.LaunchOptions())[0]
			if got, want := optionsString(describeOne(t, c, id)), optionsString(eff.Options()); got != want {
				t.Errorf("launched with %s, the instance has\n %s\nResolve said\n %s", s, got, want)
			}
		}

		_, err = imdsopts.LaunchForImage(t.Context(), api, "ami-0badc0de", imdsopts.Set{})
		if errCode(err) != "InvalidAMIID.NotFound" || errStatus(err) != http.StatusBadRequest {
			t.Errorf("LaunchForImage of an unknown image = %v, want InvalidAMIID.NotFound, HTTP 400", err)
		}
	})

	t.Run("ErrorsDecode", func(t *testing.T) {
		// A tag specification without tags is one of the few values moto
		// refuses with InvalidParameterValue.
		_, err := client.RunInstances(t.Context(), &ec2.RunInstancesInput{
			ImageId:           aws.String(motoserver.ImageID),
			MinCount:          aws.Int32(1),
			MaxCount:          aws.Int32(1),
			TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeInstance}},
		})
		var apiErr smithy.APIError
		if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "InvalidParameterValue" || apiErr.ErrorMessage() == "" {
			t.Errorf("RunInstances with an empty tag specification = %v, want InvalidParameterValue with a message", err)
		}
		if got := errStatus(err); got != http.StatusBadRequest {
			t.Errorf("InvalidParameterValue came with HTTP status %d, want 400", got)
		}
		var oe *smithy.OperationError
		if !errors.As(err, &oe) || oe.Service() != "EC2" || oe.Operation() != "RunInstances" {
			t.Errorf("error %v is not an EC2 RunInstances OperationError", err)
		}

		// MaxResults with InstanceIds: InvalidParameterCombination.
		_, err = client.DescribeInstances(t.Context(), &ec2.DescribeInstancesInput{InstanceIds: []string{unknownID}, MaxResults: aws.Int32(5)})
		if errCode(err) != "InvalidParameterCombination" || errStatus(err) != http.StatusBadRequest {
			t.Errorf("DescribeInstances with MaxResults and InstanceIds = %v, want InvalidParameterCombination, HTTP 400", err)
		}
	})
}

// noAccountDefaults is an EC2 client whose account has no metadata defaults:
// GetInstanceMetadataDefaults answers an empty AccountLevel without a call,
// DescribeImages goes to the emulator.
type noAccountDefaults struct{ *ec2.Client }

func (noAccountDefaults) GetInstanceMetadataDefaults(context.Context, *ec2.GetInstanceMetadataDefaultsInput, ...func(*ec2.Options)) (*ec2.GetInstanceMetadataDefaultsOutput, error) {
	return &ec2.GetInstanceMetadataDefaultsOutput{AccountLevel: &types.InstanceMetadataDefaultsResponse{}}, nil
}

// deviationAPI is what TestE2EMotoDeviations calls; both *ec2.Client and
// *fake.EC2 have these methods.
type deviationAPI interface {
	launcher
	StopInstances(ctx context.Context, params *ec2.StopInstancesInput, optFns ...func(*ec2.Options)) (*ec2.StopInstancesOutput, error)
	DescribeInstances(ctx context.Context, params *ec2.DescribeInstancesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error)
	ModifyInstanceMetadataOptions(ctx context.Context, params *ec2.ModifyInstanceMetadataOptionsInput, optFns ...func(*ec2.Options)) (*ec2.ModifyInstanceMetadataOptionsOutput, error)
	GetInstanceMetadataDefaults(ctx context.Context, params *ec2.GetInstanceMetadataDefaultsInput, optFns ...func(*ec2.Options)) (*ec2.GetInstanceMetadataDefaultsOutput, error)
	RegisterImage(ctx context.Context, params *ec2.RegisterImageInput, optFns ...func(*ec2.Options)) (*ec2.RegisterImageOutput, error)
	DescribeImages(ctx context.Context, params *ec2.DescribeImagesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeImagesOutput, error)
	CreateLaunchTemplate(ctx context.Context, params *ec2.CreateLaunchTemplateInput, optFns ...func(*ec2.Options)) (*ec2.CreateLaunchTemplateOutput, error)
	CreateLaunchTemplateVersion(ctx context.Context, params *ec2.CreateLaunchTemplateVersionInput, optFns ...func(*ec2.Options)) (*ec2.CreateLaunchTemplateVersionOutput, error)
}

// deviationAutoScaling is the Auto Scaling that TestE2EMotoDeviations calls;
// both *autoscaling.Client and *fake.AutoScaling have these methods.
type deviationAutoScaling interface {
	CreateAutoScalingGroup(ctx context.Context, params *autoscaling.CreateAutoScalingGroupInput, optFns ...func(*autoscaling.Options)) (*autoscaling.CreateAutoScalingGroupOutput, error)
}

// deviationEnv is one endpoint under test: moto or the fake.
type deviationEnv struct {
	name    string
	api     deviationAPI
	as      deviationAutoScaling
	metrics fleet.MetricsAPI
	image   string // an image without ImdsSupport
}

// launchOne starts one instance with EC2's default options.
func (e deviationEnv) launchOne(t *testing.T) string {
	t.Helper()
	return launchN(t, e.api, e.image, 1, t.Name(), nil)[0]
}

// modify sends a raw ModifyInstanceMetadataOptions, bypassing the library's
// validation, and fails the test on error.
func (e deviationEnv) modify(t *testing.T, in *ec2.ModifyInstanceMetadataOptionsInput) *types.InstanceMetadataOptionsResponse {
	t.Helper()
	out, err := e.api.ModifyInstanceMetadataOptions(t.Context(), in)
	if err != nil {
		t.Fatalf("%s: ModifyInstanceMetadataOptions: %v", e.name, err)
	}
	return out.InstanceMetadataOptions
}

// outcome formats an error as its HTTP status and EC2 code, or "ok".
func outcome(err error) string {
	if err == nil {
		return "ok"
	}
	if code := errCode(err); code != "" && code != "UnknownError" {
		return fmt.Sprintf("HTTP %d %s", errStatus(err), code)
	}
	return fmt.Sprintf("HTTP %d", errStatus(err))
}

// TestE2EMotoDeviations pins every entry of motoserver.Deviations: each row
// sends the same calls to moto and to the in-memory fake and states what
// each answers. moto's answer is the known deviation; the fake's is what EC2
// documents. When a row's moto answer changes, moto was probably fixed:
// update the entry and the row.
func TestE2EMotoDeviations(t *testing.T) {
	t.Parallel()
	srv := motoserver.Start(t)
	f := fake.New(func(o *fake.Options) { o.ApplyDelay = time.Hour })
	reg, err := f.RegisterImage(t.Context(), &ec2.RegisterImageInput{Name: aws.String("plain")})
	if err != nil {
		t.Fatal(err)
	}
	envs := []deviationEnv{
		{name: "moto", api: srv.Client(t, noRetry), image: motoserver.ImageID,
			metrics: srv.CloudWatch(t, func(o *cloudwatch.Options) { o.Retryer = cutOnly() }),
			as:      srv.AutoScaling(t, func(o *autoscaling.Options) { o.Retryer = cutOnly() })},
		{name: "fake", api: f, image: aws.ToString(reg.ImageId), metrics: fake.NewCloudWatch(), as: fake.NewAutoScaling(f)},
	}
	all := fullSet(t, types.HttpTokensStateRequired, 3)

	rows := []struct {
		deviation string
		name      string
		// run sends the calls and describes what came back.
		run       func(t *testing.T, e deviationEnv) string
		moto, ec2 string
	}{{
		deviation: "cloudwatch-cbor-404",
		name:      "read MetadataNoToken for an instance",
		run: func(t *testing.T, e deviationEnv) string {
			end := time.Now().Truncate(time.Minute)
			out, err := e.metrics.GetMetricData(t.Context(), &cloudwatch.GetMetricDataInput{
				StartTime: aws.Time(end.Add(-24 * time.Hour)), EndTime: aws.Time(end),
				MetricDataQueries: []cwtypes.MetricDataQuery{{Id: aws.String("q0"), MetricStat: &cwtypes.MetricStat{
					Metric: &cwtypes.Metric{Namespace: aws.String("AWS/EC2"), MetricName: aws.String("MetadataNoToken"),
						Dimensions: []cwtypes.Dimension{{Name: aws.String("InstanceId"), Value: aws.String(unknownID)}}},
					Period: aws.Int32(3600), Stat: aws.String("Sum")}}},
			})
			if err != nil {
				return outcome(err)
			}
			return fmt.Sprintf("ok results=%d", len(out.MetricDataResults))
		},
		moto: "HTTP 404",
		ec2:  "ok results=1",
	}, {
		deviation: "replaces-omitted",
		name:      "modify HttpTokens only after setting all five",
		run: func(t *testing.T, e deviationEnv) string {
			id := e.launchOne(t)
			e.modify(t, all.ModifyInput(id))
			e.modify(t, &ec2.ModifyInstanceMetadataOptionsInput{InstanceId: aws.String(id), HttpTokens: types.HttpTokensStateOptional})
			o := describeOne(t, e.api, id)
			o.State = ""
			return optionsString(o)
		},
		moto: "state= tokens=optional hop=1 endpoint= ipv6= tags=",
		ec2:  "state= tokens=optional hop=3 endpoint=enabled ipv6=enabled tags=enabled",
	}, {
		deviation: "never-pending",
		name:      "modify a running instance",
		run: func(t *testing.T, e deviationEnv) string {
			id := e.launchOne(t)
			return string(e.modify(t, all.ModifyInput(id)).State)
		},
		moto: "applied",
		ec2:  "pending",
	}, {
		deviation: "never-pending",
		name:      "modify a stopped instance",
		run: func(t *testing.T, e deviationEnv) string {
			id := e.launchOne(t)
			if _, err := e.api.StopInstances(t.Context(), &ec2.StopInstancesInput{InstanceIds: []string{id}}); err != nil {
				t.Fatal(err)
			}
			answer := e.modify(t, all.ModifyInput(id)).State
			return fmt.Sprintf("answer=%s described=%s", answer, describeOne(t, e.api, id).State)
		},
		moto: "answer=applied described=applied",
		ec2:  "answer=pending described=pending",
	}, {
		deviation: "accepts-invalid",
		name:      "modify with hop limit 65",
		run: func(t *testing.T, e deviationEnv) string {
			id := e.launchOne(t)
			_, err := e.api.ModifyInstanceMetadataOptions(t.Context(), &ec2.ModifyInstanceMetadataOptionsInput{
				InstanceId: aws.String(id), HttpPutResponseHopLimit: aws.Int32(65)})
			return fmt.Sprintf("%s hop=%d", outcome(err), aws.ToInt32(describeOne(t, e.api, id).HttpPutResponseHopLimit))
		},
		moto: "ok hop=65",
		ec2:  "HTTP 400 InvalidParameterValue hop=1",
	}, {
		deviation: "accepts-invalid",
		name:      "modify with HttpTokens bogus",
		run: func(t *testing.T, e deviationEnv) string {
			id := e.launchOne(t)
			_, err := e.api.ModifyInstanceMetadataOptions(t.Context(), &ec2.ModifyInstanceMetadataOptionsInput{
				InstanceId: aws.String(id), HttpTokens: "bogus"})
			return fmt.Sprintf("%s tokens=%s", outcome(err), describeOne(t, e.api, id).HttpTokens)
		},
		moto: "ok tokens=bogus",
		ec2:  "HTTP 400 InvalidParameterValue tokens=optional",
	}, {
		deviation: "accepts-invalid",
		name:      "launch with hop limit 65",
		run: func(t *testing.T, e deviationEnv) string {
			out, err := e.api.RunInstances(t.Context(), &ec2.RunInstancesInput{
				ImageId: aws.String(e.image), MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
				MetadataOptions: &types.InstanceMetadataOptionsRequest{HttpPutResponseHopLimit: aws.Int32(65)},
			})
			if err != nil {
				return outcome(err)
			}
			return fmt.Sprintf("ok hop=%d", aws.ToInt32(out.Instances[0].MetadataOptions.HttpPutResponseHopLimit))
		},
		moto: "ok hop=65",
		ec2:  "HTTP 400 InvalidParameterValue",
	}, {
		deviation: "ignores-dry-run",
		name:      "DryRun HttpTokens required",
		run: func(t *testing.T, e deviationEnv) string {
			id := e.launchOne(t)
			_, err := e.api.ModifyInstanceMetadataOptions(t.Context(), &ec2.ModifyInstanceMetadataOptionsInput{
				InstanceId: aws.String(id), HttpTokens: types.HttpTokensStateRequired, DryRun: aws.Bool(true)})
			return fmt.Sprintf("%s tokens=%s", outcome(err), describeOne(t, e.api, id).HttpTokens)
		},
		moto: "ok tokens=required",
		ec2:  "HTTP 412 DryRunOperation tokens=optional",
	}, {
		deviation: "defaults-500",
		name:      "GetInstanceMetadataDefaults",
		run: func(t *testing.T, e deviationEnv) string {
			out, err := e.api.GetInstanceMetadataDefaults(t.Context(), &ec2.GetInstanceMetadataDefaultsInput{})
			if err != nil {
				return outcome(err)
			}
			if out.AccountLevel == nil {
				return "ok, no AccountLevel"
			}
			return fmt.Sprintf("ok ManagedBy=%s tokens=%s", out.AccountLevel.ManagedBy, out.AccountLevel.HttpTokens)
		},
		moto: "HTTP 500",
		ec2:  "ok ManagedBy=account tokens=",
	}, {
		deviation: "drops-imds-support",
		name:      "register an image with ImdsSupport v2.0 and launch from it",
		run: func(t *testing.T, e deviationEnv) string {
			reg, err := e.api.RegisterImage(t.Context(), &ec2.RegisterImageInput{
				Name: aws.String("imds-v2"), ImdsSupport: types.ImdsSupportValuesV20,
				Architecture: types.ArchitectureValuesX8664, RootDeviceName: aws.String("/dev/xvda"),
			})
			if err != nil {
				t.Fatalf("RegisterImage: %v", err)
			}
			image := aws.ToString(reg.ImageId)
			imgs, err := e.api.DescribeImages(t.Context(), &ec2.DescribeImagesInput{ImageIds: []string{image}})
			if err != nil || len(imgs.Images) != 1 {
				t.Fatalf("DescribeImages %s: %v", image, err)
			}
			o := describeOne(t, e.api, launchN(t, e.api, image, 1, t.Name(), nil)[0])
			return fmt.Sprintf("ImdsSupport=%s launched tokens=%s hop=%d",
				imgs.Images[0].ImdsSupport, o.HttpTokens, aws.ToInt32(o.HttpPutResponseHopLimit))
		},
		moto: "ImdsSupport= launched tokens=optional hop=1",
		ec2:  "ImdsSupport=v2.0 launched tokens=required hop=2",
	}, {
		deviation: "metadata-filters-500",
		name:      "DescribeInstances filtered on metadata-options.http-tokens",
		run: func(t *testing.T, e deviationEnv) string {
			id := launchN(t, e.api, e.image, 1, t.Name(), &types.InstanceMetadataOptionsRequest{HttpTokens: types.HttpTokensStateRequired})[0]
			out, err := e.api.DescribeInstances(t.Context(), &ec2.DescribeInstancesInput{Filters: []types.Filter{
				{Name: aws.String("metadata-options.http-tokens"), Values: []string{"required"}},
				{Name: aws.String("tag:suite"), Values: []string{t.Name()}},
			}})
			if err != nil {
				return outcome(err)
			}
			var found []string
			for _, r := range out.Reservations {
				for _, inst := range r.Instances {
					found = append(found, aws.ToString(inst.InstanceId))
				}
			}
			return fmt.Sprintf("ok found launched=%t count=%d", len(found) == 1 && found[0] == id, len(found))
		},
		moto: "HTTP 500",
		ec2:  "ok found launched=true count=1",
	}, {
		deviation: "never-throttles",
		name:      "DescribeImages twice when its bucket holds one token",
		run: func(t *testing.T, e deviationEnv) string {
			api := e.api
			if e.name == "fake" {
				// EC2's throttling, with a bucket of one token that
				// does not refill.
				api = fake.New(func(o *fake.Options) { o.Throttle = true; o.Buckets.Describe = fake.Bucket{Size: 1} })
			}
			var out []string
			for range 2 {
				_, err := api.DescribeImages(t.Context(), &ec2.DescribeImagesInput{})
				out = append(out, outcome(err))
			}
			return strings.Join(out, ", ")
		},
		moto: "ok, ok",
		ec2:  "ok, HTTP 503 RequestLimitExceeded",
	}, {
		deviation: "malformed-id-not-found",
		name:      "modify instance i-xyz",
		run: func(t *testing.T, e deviationEnv) string {
			_, err := e.api.ModifyInstanceMetadataOptions(t.Context(), &ec2.ModifyInstanceMetadataOptionsInput{
				InstanceId: aws.String("i-xyz"), HttpTokens: types.HttpTokensStateRequired})
			return outcome(err)
		},
		moto: "HTTP 400 InvalidInstanceID.NotFound",
		ec2:  "HTTP 400 InvalidInstanceID.Malformed",
	}, {
		deviation: "options-on-disabled-endpoint",
		name:      "modify HttpTokens on a disabled endpoint",
		run: func(t *testing.T, e deviationEnv) string {
			id := launchN(t, e.api, e.image, 1, t.Name(), &types.InstanceMetadataOptionsRequest{HttpEndpoint: types.InstanceMetadataEndpointStateDisabled})[0]
			_, err := e.api.ModifyInstanceMetadataOptions(t.Context(), &ec2.ModifyInstanceMetadataOptionsInput{
				InstanceId: aws.String(id), HttpTokens: types.HttpTokensStateRequired})
			return fmt.Sprintf("%s tokens=%s", outcome(err), describeOne(t, e.api, id).HttpTokens)
		},
		moto: "ok tokens=required",
		ec2:  "HTTP 400 InvalidParameterCombination tokens=optional",
	}, {
		deviation: "ipv6-on-xen",
		name:      "launch a t2.micro with the IPv6 endpoint",
		run: func(t *testing.T, e deviationEnv) string {
			_, err := e.api.RunInstances(t.Context(), &ec2.RunInstancesInput{
				ImageId: aws.String(e.image), MinCount: aws.Int32(1), MaxCount: aws.Int32(1), InstanceType: types.InstanceTypeT2Micro,
				MetadataOptions: &types.InstanceMetadataOptionsRequest{HttpProtocolIpv6: types.InstanceMetadataProtocolStateEnabled},
			})
			return outcome(err)
		},
		moto: "ok",
		ec2:  "HTTP 400 UnsupportedOperation",
	}, {
		deviation: "accepts-imds-tag-keys",
		name:      "launch with tags in the metadata and a karpenter.sh tag key",
		run: func(t *testing.T, e deviationEnv) string {
			_, err := e.api.RunInstances(t.Context(), &ec2.RunInstancesInput{
				ImageId: aws.String(e.image), MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
				MetadataOptions: &types.InstanceMetadataOptionsRequest{InstanceMetadataTags: types.InstanceMetadataTagsStateEnabled},
				TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeInstance,
					Tags: []types.Tag{{Key: aws.String("karpenter.sh/nodepool"), Value: aws.String("default")}}}},
			})
			return outcome(err)
		},
		moto: "ok",
		ec2:  "HTTP 400 InvalidParameterValue",
	}, {
		deviation: "ignores-override-template",
		name:      "a group whose first override has a launch template of its own",
		run: func(t *testing.T, e deviationEnv) string {
			var ids []string
			for _, name := range []string{"group-web", "group-arm"} {
				lt, err := e.api.CreateLaunchTemplate(t.Context(), &ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String(name),
					LaunchTemplateData: &types.RequestLaunchTemplateData{ImageId: aws.String(e.image)}})
				if err != nil {
					t.Fatalf("CreateLaunchTemplate: %v", err)
				}
				ids = append(ids, aws.ToString(lt.LaunchTemplate.LaunchTemplateId))
			}
			_, err := e.as.CreateAutoScalingGroup(t.Context(), &autoscaling.CreateAutoScalingGroupInput{
				AutoScalingGroupName: aws.String(t.Name()), MinSize: aws.Int32(0), MaxSize: aws.Int32(1), DesiredCapacity: aws.Int32(1),
				AvailabilityZones: []string{"us-east-1a"},
				MixedInstancesPolicy: &astypes.MixedInstancesPolicy{LaunchTemplate: &astypes.LaunchTemplate{
					LaunchTemplateSpecification: &astypes.LaunchTemplateSpecification{LaunchTemplateId: aws.String(ids[0])},
					Overrides: []astypes.LaunchTemplateOverrides{{InstanceType: aws.String("m6g.large"),
						LaunchTemplateSpecification: &astypes.LaunchTemplateSpecification{LaunchTemplateId: aws.String(ids[1])}}},
				}},
			})
			if err != nil {
				return outcome(err)
			}
			out, err := e.api.DescribeInstances(t.Context(), &ec2.DescribeInstancesInput{Filters: []types.Filter{
				{Name: aws.String("tag:aws:autoscaling:groupName"), Values: []string{t.Name()}}}})
			if err != nil {
				return outcome(err)
			}
			var got []string
			for _, r := range out.Reservations {
				for _, i := range r.Instances {
					from := "another template"
					for _, tag := range i.Tags {
						if aws.ToString(tag.Key) == "aws:ec2launchtemplate:id" {
							from = map[string]string{ids[0]: "the group's template", ids[1]: "the override's template"}[aws.ToString(tag.Value)]
						}
					}
					got = append(got, fmt.Sprintf("type=%s from %s", i.InstanceType, from))
				}
			}
			return strings.Join(got, ", ")
		},
		moto: "type= from the group's template",
		ec2:  "type=m6g.large from the override's template",
	}, {
		deviation: "consistent-at-once",
		name:      "describe an instance just launched",
		run: func(t *testing.T, e deviationEnv) string {
			api := e.api
			if e.name == "fake" {
				// EC2's eventual consistency, at its longest.
				api = fake.New(func(o *fake.Options) { o.PropagationDelay = time.Hour })
				if _, err := api.RegisterImage(t.Context(), &ec2.RegisterImageInput{Name: aws.String("plain")}); err != nil {
					t.Fatal(err)
				}
			}
			id := launchN(t, api, e.image, 1, t.Name(), nil)[0]
			_, err := api.DescribeInstances(t.Context(), &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
			return outcome(err)
		},
		moto: "ok",
		ec2:  "HTTP 400 InvalidInstanceID.NotFound",
	}, {
		deviation: "ignores-source-version",
		name:      "a version from $Default",
		run: func(t *testing.T, e deviationEnv) string {
			lt, err := e.api.CreateLaunchTemplate(t.Context(), &ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String("source-default"),
				LaunchTemplateData: &types.RequestLaunchTemplateData{InstanceType: types.InstanceTypeT3Micro}})
			if err != nil {
				t.Fatalf("CreateLaunchTemplate: %v", err)
			}
			out, err := e.api.CreateLaunchTemplateVersion(t.Context(), &ec2.CreateLaunchTemplateVersionInput{
				LaunchTemplateId: lt.LaunchTemplate.LaunchTemplateId, SourceVersion: aws.String("$Default"),
				LaunchTemplateData: &types.RequestLaunchTemplateData{MetadataOptions: &types.LaunchTemplateInstanceMetadataOptionsRequest{HttpTokens: "required"}}})
			if err != nil {
				return outcome(err)
			}
			d := out.LaunchTemplateVersion.LaunchTemplateData
			return fmt.Sprintf("ok type=%s tokens=%s", d.InstanceType, d.MetadataOptions.HttpTokens)
		},
		moto: "ok type= tokens=required",
		ec2:  "ok type=t3.micro tokens=required",
	}}

	covered := map[string]bool{}
	for _, row := range rows {
		covered[row.deviation] = true
		t.Run(row.deviation+"/"+row.name, func(t *testing.T) {
			if _, ok := motoserver.Deviations[row.deviation]; !ok {
				t.Fatalf("row for %q, which motoserver.Deviations does not list", row.deviation)
			}
			if row.moto == row.ec2 {
				t.Fatalf("row expects moto and EC2 to agree (%q): not a deviation", row.moto)
			}
			for _, e := range envs {
				got := row.run(t, e)
				switch {
				case e.name == "moto" && got == row.ec2:
					t.Errorf("moto now answers like EC2 (%q): deviation %q looks fixed; remove it from motoserver.Deviations and this row", got, row.deviation)
				case e.name == "moto" && got != row.moto:
					t.Errorf("moto answers %q, want the known deviation %q (%s); update motoserver.Deviations and this row", got, row.moto, motoserver.Deviations[row.deviation])
				case e.name == "fake" && got != row.ec2:
					t.Errorf("the fake answers %q, want EC2's %q", got, row.ec2)
				}
			}
		})
	}
	for key, text := range motoserver.Deviations {
		if !covered[key] {
			t.Errorf("motoserver.Deviations[%q] (%s) has no row here: verify it against moto or remove it", key, text)
		}
	}
}

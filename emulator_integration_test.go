package imdsopts_test

// Integration tests against the emulator: the library with the real SDK
// client, through the fake's HTTP handler, where they can assert the EC2
// semantics moto lacks (motoserver.Deviations): pending before applied,
// omitted options kept, DryRun honoured, invalid values refused by the
// service, metadata-options filters, ImdsSupport and account defaults at
// launch, and CloudWatch's MetadataNoToken read over RPC v2 CBOR. The SDK's
// HTTP client hands each request to the handler in memory, so the tests
// run in testing/synctest bubbles and EC2's delays cost no real time.

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imdsopts/imdsopts"
	"github.com/imdsopts/imdsopts/fake"
	"github.com/imdsopts/imdsopts/fleet"
)

// inMemoryHTTP is an SDK HTTP client that serves each request with a
// handler, in the calling goroutine.
type inMemoryHTTP struct{ h http.Handler }

func (c inMemoryHTTP) Do(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	c.h.ServeHTTP(rec, r)
	return rec.Result(), nil
}

// emulator is a fake EC2 and CloudWatch and the real SDK clients of them.
type emulator struct {
	ec2    *fake.EC2
	cw     *fake.CloudWatch
	client *ec2.Client
	cwc    *cloudwatch.Client
}

// newEmulator must be called inside the bubble of its test.
func newEmulator(optFns ...func(*fake.Options)) *emulator {
	e := &emulator{ec2: fake.New(optFns...), cw: fake.NewCloudWatch()}
	cfg := aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		HTTPClient:   inMemoryHTTP{fake.NewHandler(e.ec2, func(o *fake.HandlerOptions) { o.CloudWatch = e.cw })},
		BaseEndpoint: aws.String("http://emulator.test"),
	}
	e.client = ec2.NewFromConfig(cfg)
	e.cwc = cloudwatch.NewFromConfig(cfg)
	return e
}

// image registers an image over the wire and returns its ID.
func (e *emulator) image(t *testing.T, name string, imds types.ImdsSupportValues) string {
	t.Helper()
	out, err := e.client.RegisterImage(t.Context(), &ec2.RegisterImageInput{Name: aws.String(name), ImdsSupport: imds})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.ImageId)
}

func TestIntegrationEmulator(t *testing.T) {
	t.Run("ApplyWaitsThroughPending", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			e := newEmulator() // EC2-like: changes apply after 2 s
			id := launchN(t, e.client, e.image(t, "base", ""), 1, t.Name(), nil)[0]
			set := fullSet(t, types.HttpTokensStateRequired, 3)
			var states []string
			w, err := imdsopts.Apply(t.Context(), e.client, id, set, func(o *imdsopts.WaiterOptions) {
				o.OnAttempt = func(a imdsopts.Attempt) {
					if a.Options != nil {
						states = append(states, a.Operation+" "+string(a.Options.State))
					}
				}
			})
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			got, err := w.Wait(t.Context())
			if err != nil {
				t.Fatalf("Wait: %v (seen %v)", err, states)
			}
			if s, want := optionsString(got), wantOptions(set); s != want {
				t.Errorf("Wait returned %s, want %s", s, want)
			}
			if len(states) < 2 || states[0] != "ModifyInstanceMetadataOptions pending" || states[len(states)-1] != "DescribeInstances applied" {
				t.Errorf("states seen %v: want pending from the change, applied from a later poll", states)
			}
			if waited := time.Since(start); waited < 2*time.Second {
				t.Errorf("applied after %v, before the emulator's 2 s", waited)
			}
		})
	})

	t.Run("OmittedOptionsKept", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			e := newEmulator(func(o *fake.Options) { o.ApplyDelay = 0 })
			id := launchN(t, e.client, e.image(t, "base", ""), 1, t.Name(), nil)[0]
			all := fullSet(t, types.HttpTokensStateRequired, 3)
			if _, err := e.client.ModifyInstanceMetadataOptions(t.Context(), all.ModifyInput(id)); err != nil {
				t.Fatal(err)
			}
			if _, err := e.client.ModifyInstanceMetadataOptions(t.Context(), &ec2.ModifyInstanceMetadataOptionsInput{
				InstanceId: aws.String(id), HttpTokens: types.HttpTokensStateOptional}); err != nil {
				t.Fatal(err)
			}
			got := describeOne(t, e.client, id)
			got.State = ""
			if s := optionsString(got); s != "state= tokens=optional hop=3 endpoint=enabled ipv6=enabled tags=enabled" {
				t.Errorf("after changing HttpTokens only: %s", s)
			}
		})
	})

	t.Run("DryRunHonoured", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			e := newEmulator()
			id := launchN(t, e.client, e.image(t, "base", ""), 1, t.Name(), nil)[0]
			set, err := imdsopts.New(imdsopts.RequireIMDSv2())
			if err != nil {
				t.Fatal(err)
			}
			if err := imdsopts.DryRun(t.Context(), e.client, id, set); err != nil {
				t.Errorf("DryRun = %v, want nil (permitted)", err)
			}
			if got := describeOne(t, e.client, id).HttpTokens; got != types.HttpTokensStateOptional {
				t.Errorf("after a dry run, HttpTokens is %q: the dry run changed the instance", got)
			}
			e.ec2.Deny("ModifyInstanceMetadataOptions")
			if err := imdsopts.DryRun(t.Context(), e.client, id, set); !errors.Is(err, imdsopts.ErrUnauthorized) {
				t.Errorf("DryRun without permission = %v, want ErrUnauthorized", err)
			}
		})
	})

	t.Run("ServiceRefusesWhatTheLibraryRefuses", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			e := newEmulator()
			id := launchN(t, e.client, e.image(t, "base", ""), 1, t.Name(), nil)[0]
			for _, in := range []*ec2.ModifyInstanceMetadataOptionsInput{
				{InstanceId: aws.String(id), HttpPutResponseHopLimit: aws.Int32(65)},
				{InstanceId: aws.String(id), HttpTokens: "Required"},
			} {
				if err := imdsopts.ValidateModifyInput(in); !errors.Is(err, imdsopts.ErrInvalid) {
					t.Errorf("the library lets %+v through: %v", in, err)
				}
				_, err := e.client.ModifyInstanceMetadataOptions(t.Context(), in)
				if errCode(err) != "InvalidParameterValue" || errStatus(err) != http.StatusBadRequest {
					t.Errorf("sent anyway, %+v = %v, want InvalidParameterValue, HTTP 400", in, err)
				}
			}
			_, err := e.client.ModifyInstanceMetadataOptions(t.Context(), &ec2.ModifyInstanceMetadataOptionsInput{
				InstanceId: aws.String("i-xyz"), HttpTokens: types.HttpTokensStateRequired})
			if errCode(err) != "InvalidInstanceID.Malformed" {
				t.Errorf("a malformed ID = %v, want InvalidInstanceID.Malformed", err)
			}
		})
	})

	t.Run("StoppedInstancePendingUntilStart", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			e := newEmulator()
			id := launchN(t, e.client, e.image(t, "base", ""), 1, t.Name(), nil)[0]
			if _, err := e.client.StopInstances(t.Context(), &ec2.StopInstancesInput{InstanceIds: []string{id}}); err != nil {
				t.Fatal(err)
			}
			w, err := imdsopts.Apply(t.Context(), e.client, id, fullSet(t, types.HttpTokensStateRequired, 2))
			if err != nil {
				t.Fatal(err)
			}
			got, err := w.Wait(t.Context())
			if !errors.Is(err, imdsopts.ErrPendingUntilStart) || got == nil || got.State != types.InstanceMetadataOptionsStatePending {
				t.Errorf("Wait on a stopped instance = %s, %v; want pending and ErrPendingUntilStart", optionsString(got), err)
			}
		})
	})

	t.Run("LaunchResolvedAsEC2Does", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			e := newEmulator()
			image := e.image(t, "v2", types.ImdsSupportValuesV20)
			if _, err := e.client.ModifyInstanceMetadataDefaults(t.Context(), &ec2.ModifyInstanceMetadataDefaultsInput{
				HttpPutResponseHopLimit: aws.Int32(1)}); err != nil {
				t.Fatal(err)
			}
			l, err := imdsopts.LaunchForImage(t.Context(), e.client, image, imdsopts.Set{})
			if err != nil {
				t.Fatal(err)
			}
			eff, err := imdsopts.Resolve(l)
			if err != nil {
				t.Fatal(err)
			}
			// The facts file's worked example: the AMI gives required, the
			// account's hop limit 1 beats the AMI's 2.
			if eff.HTTPTokens.Value != types.HttpTokensStateRequired || eff.HTTPTokens.Source != imdsopts.SourceAMI ||
				eff.HopLimit.Value != 1 || eff.HopLimit.Source != imdsopts.SourceAccount {
				t.Errorf("Resolve = %v", eff)
			}
			id := launchN(t, e.client, image, 1, t.Name(), nil)[0]
			if got, want := optionsString(describeOne(t, e.client, id)), optionsString(eff.Options()); got != want {
				t.Errorf("launched: %s, Resolve said %s", got, want)
			}
		})
	})

	t.Run("FleetWithTheIMDSv1Gate", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			e := newEmulator()
			ids := launchN(t, e.client, e.image(t, "base", ""), 4, t.Name(), nil)
			now := time.Now()
			for i, id := range ids {
				calls := 0.0
				if i == 0 {
					calls = 9 // still makes IMDSv1 calls
				}
				e.cw.PutMetadataNoToken(id, now.Add(-time.Hour), calls)
			}
			set, err := imdsopts.New(imdsopts.RequireIMDSv2())
			if err != nil {
				t.Fatal(err)
			}
			opts := func(o *fleet.Options) { o.Metrics = e.cwc }
			sel := fleet.Selection{Filters: []types.Filter{
				{Name: aws.String("metadata-options.http-tokens"), Values: []string{"optional"}},
				{Name: aws.String("tag:suite"), Values: []string{t.Name()}},
			}}
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			plan, err := fleet.NewPlan(ctx, e.client, sel, set, opts)
			if err != nil {
				t.Fatal(err)
			}
			report, err := fleet.Apply(ctx, e.client, plan, opts)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]fleet.Status{}
			for _, it := range report.Items {
				got[it.InstanceID] = it.Status
			}
			want := map[string]fleet.Status{ids[0]: fleet.StatusHeld, ids[1]: fleet.StatusApplied,
				ids[2]: fleet.StatusApplied, ids[3]: fleet.StatusApplied}
			for id, st := range want {
				if got[id] != st {
					t.Errorf("%s: %v, want %v", id, got[id], st)
				}
			}
		})
	})
}

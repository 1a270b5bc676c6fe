package imdsopts_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imdsopts/imdsopts"
	"github.com/imdsopts/imdsopts/fake"
)

func ExampleNew() {
	s, err := imdsopts.New(imdsopts.RequireIMDSv2(), imdsopts.HopLimit(2))
	fmt.Println(s, err)

	// Every invalid value is reported at once, before any call.
	_, err = imdsopts.New(imdsopts.HopLimit(65), imdsopts.HTTPTokens("Required"))
	fmt.Println(errors.Is(err, imdsopts.ErrInvalid))
	fmt.Println(err)
	// Output:
	// HttpTokens=required HttpPutResponseHopLimit=2 HttpEndpoint=enabled <nil>
	// true
	// imdsopts: HttpTokens "Required": must be one of "optional", "required"
	// imdsopts: HttpPutResponseHopLimit 65: must be 1..64
}

func ExampleApply() {
	ctx := context.Background()
	// In a program, api is an *ec2.Client from ec2.NewFromConfig(cfg).
	api, id := exampleEC2()

	s, err := imdsopts.New(imdsopts.RequireIMDSv2(), imdsopts.HopLimit(2))
	if err != nil {
		fmt.Println(err)
		return
	}
	w, err := imdsopts.Apply(ctx, api, id, s, func(o *imdsopts.WaiterOptions) {
		o.MaxWait = 5 * time.Minute
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	got, err := w.Wait(ctx)
	switch {
	case errors.Is(err, imdsopts.ErrPendingUntilStart):
		fmt.Println("stopped: applies at next start")
	case err != nil:
		fmt.Println(err)
	default:
		fmt.Println(got.State, got.HttpTokens, aws.ToInt32(got.HttpPutResponseHopLimit))
	}
	// Output:
	// applied required 2
}

func ExampleDryRun() {
	ctx := context.Background()
	api, id := exampleEC2()
	s, _ := imdsopts.New(imdsopts.RequireIMDSv2())

	fmt.Println(imdsopts.DryRun(ctx, api, id, s))

	api.Deny("ModifyInstanceMetadataOptions")
	err := imdsopts.DryRun(ctx, api, id, s)
	fmt.Println(errors.Is(err, imdsopts.ErrUnauthorized))
	// Output:
	// <nil>
	// true
}

// A new instance from an AMI marked ImdsSupport v2.0, in an account with no
// preference, requires IMDSv2 with hop limit 2, unless the launch says
// otherwise: here it asks for the metadata tags.
func ExampleResolve() {
	s, _ := imdsopts.New(imdsopts.InstanceMetadataTags(types.InstanceMetadataTagsStateEnabled))
	e, err := imdsopts.Resolve(imdsopts.Launch{
		Options:     s,
		Account:     &types.InstanceMetadataDefaultsResponse{}, // no preference
		ImdsSupport: types.ImdsSupportValuesV20,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("HttpTokens:", e.HTTPTokens)
	fmt.Println("HttpPutResponseHopLimit:", e.HopLimit)
	fmt.Println("HttpEndpoint:", e.HTTPEndpoint)
	fmt.Println("HttpProtocolIpv6:", e.HTTPProtocolIPv6)
	fmt.Println("InstanceMetadataTags:", e.InstanceMetadataTags)
	// Output:
	// HttpTokens: required (ami)
	// HttpPutResponseHopLimit: 2 (ami)
	// HttpEndpoint: enabled (default)
	// HttpProtocolIpv6: disabled (default)
	// InstanceMetadataTags: enabled (launch)
}

func ExampleSet_Changes() {
	want, _ := imdsopts.New(imdsopts.RequireIMDSv2(), imdsopts.HopLimit(2))
	current := &types.InstanceMetadataOptionsResponse{
		State:                   types.InstanceMetadataOptionsStateApplied,
		HttpTokens:              types.HttpTokensStateOptional,
		HttpPutResponseHopLimit: aws.Int32(2),
		HttpEndpoint:            types.InstanceMetadataEndpointStateEnabled,
	}
	c := want.Changes(current)
	fmt.Println(c)
	fmt.Println(want.SatisfiedBy(current), c.IsZero())
	// Output:
	// HttpTokens=required
	// false false
}

// exampleEC2 is an in-memory EC2 with one running instance.
func exampleEC2() (*fake.EC2, string) {
	api := fake.New(func(o *fake.Options) { o.ApplyDelay = 0 })
	ids, _ := api.Launch(1)
	return api, ids[0]
}

// hardenInstance is code under test: it requires IMDSv2 on one instance and
// waits until EC2 has applied it.
func hardenInstance(ctx context.Context, api imdsopts.API, id string) error {
	s, err := imdsopts.New(imdsopts.RequireIMDSv2())
	if err != nil {
		return err
	}
	w, err := imdsopts.Apply(ctx, api, id, s)
	if err != nil {
		return err
	}
	_, err = w.Wait(ctx)
	return err
}

// TestHardenInstance shows a unit test of code that uses the package: the
// fake stands in for EC2, and synctest makes EC2's delay of 20 seconds and the
// throttled polls cost no real time. The package documentation shows its
// body, which TestDocSnippet keeps the same.
func TestHardenInstance(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		api := fake.New(func(o *fake.Options) { o.ApplyDelay = 20 * time.Second })
		ids, err := api.Launch(1)
		if err != nil {
			t.Fatal(err)
		}
		api.FailNext("DescribeInstances", 2, fake.NewAPIError(503, "RequestLimitExceeded", "Request limit exceeded."))

		if err := hardenInstance(t.Context(), api, ids[0]); err != nil {
			t.Fatal(err)
		}
		inst, err := imdsopts.Describe(t.Context(), api, ids[0])
		if err != nil {
			t.Fatal(err)
		}
		if got := inst.MetadataOptions; got.HttpTokens != types.HttpTokensStateRequired || got.State != types.InstanceMetadataOptionsStateApplied {
			t.Errorf("metadata options = %+v, want required and applied", got)
		}
	})
}

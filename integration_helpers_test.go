package imdsopts_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
	"github.com/imdsopts/imdsopts"
)

// launchN runs n instances of image in one reservation, tagged suite=tag, and
// returns their IDs.
func launchN(t *testing.T, api launcher, image string, n int32, tag string, md *types.InstanceMetadataOptionsRequest) []string {
	t.Helper()
	out, err := api.RunInstances(t.Context(), &ec2.RunInstancesInput{
		ImageId:         aws.String(image),
		MinCount:        aws.Int32(n),
		MaxCount:        aws.Int32(n),
		InstanceType:    types.InstanceTypeT3Micro,
		MetadataOptions: md,
		TagSpecifications: []types.TagSpecification{{
			ResourceType: types.ResourceTypeInstance,
			Tags:         []types.Tag{{Key: aws.String("suite"), Value: aws.String(tag)}},
		}},
	})
	if err != nil {
		t.Fatalf("RunInstances: %v", err)
	}
	if len(out.Instances) != int(n) {
		t.Fatalf("RunInstances launched %d instances, want %d", len(out.Instances), n)
	}
	ids := make([]string, n)
	for i, inst := range out.Instances {
		ids[i] = aws.ToString(inst.InstanceId)
		if err := imdsopts.ValidateInstanceID(ids[i]); err != nil {
			t.Fatalf("the emulator made an ID the library refuses: %v", err)
		}
	}
	return ids
}

// launcher is what tests need to start instances, in moto or in the fake.
type launcher interface {
	RunInstances(ctx context.Context, params *ec2.RunInstancesInput, optFns ...func(*ec2.Options)) (*ec2.RunInstancesOutput, error)
}

// fullSet holds all five fields, so moto's replace-omitted deviation cannot
// change the outcome.
func fullSet(t *testing.T, tokens types.HttpTokensState, hop int32) imdsopts.Set {
	t.Helper()
	s, err := imdsopts.New(
		imdsopts.HTTPTokens(tokens),
		imdsopts.HopLimit(hop),
		imdsopts.HTTPEndpoint(types.InstanceMetadataEndpointStateEnabled),
		imdsopts.HTTPProtocolIPv6(types.InstanceMetadataProtocolStateEnabled),
		imdsopts.InstanceMetadataTags(types.InstanceMetadataTagsStateEnabled),
	)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// optionsString formats all six fields of an options answer; an absent
// field shows as nothing after its '='.
func optionsString(o *types.InstanceMetadataOptionsResponse) string {
	if o == nil {
		return "<nil>"
	}
	hop := "-"
	if o.HttpPutResponseHopLimit != nil {
		hop = fmt.Sprint(*o.HttpPutResponseHopLimit)
	}
	return fmt.Sprintf("state=%s tokens=%s hop=%s endpoint=%s ipv6=%s tags=%s",
		o.State, o.HttpTokens, hop, o.HttpEndpoint, o.HttpProtocolIpv6, o.InstanceMetadataTags)
}

// wantOptions is optionsString of s's values, State applied.
func wantOptions(s imdsopts.Set) string {
	return fmt.Sprintf("state=applied tokens=%s hop=%d endpoint=%s ipv6=%s tags=%s",
		s.HTTPTokens(), s.HopLimit(), s.HTTPEndpoint(), s.HTTPProtocolIPv6(), s.InstanceMetadataTags())
}

// describeOne returns the metadata options DescribeInstances reports for id.
func describeOne(t *testing.T, api imdsopts.API, id string) *types.InstanceMetadataOptionsResponse {
	t.Helper()
	out, err := api.DescribeInstances(t.Context(), &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
	if err != nil {
		t.Fatalf("DescribeInstances %s: %v", id, err)
	}
	for _, r := range out.Reservations {
		for _, inst := range r.Instances {
			if aws.ToString(inst.InstanceId) == id {
				if inst.MetadataOptions == nil {
					t.Fatalf("DescribeInstances %s: no MetadataOptions", id)
				}
				return inst.MetadataOptions
			}
		}
	}
	t.Fatalf("DescribeInstances did not return %s", id)
	return nil
}

// errCode returns the EC2 error code err carries, or "".
func errCode(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return ""
}

// errStatus returns the HTTP status err carries, or 0.
func errStatus(err error) int {
	var se interface{ HTTPStatusCode() int }
	if errors.As(err, &se) {
		return se.HTTPStatusCode()
	}
	return 0
}

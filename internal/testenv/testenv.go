// Package testenv builds the fake instances and small checks that the
// tests of the module's packages share; only tests import it.
package testenv

import (
	"context"
	"encoding/base64"
	"errors"
	"maps"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/imdsopts/imdsopts"
	"github.com/imdsopts/imdsopts/fake"
)

// MustNew returns imdsopts.New(opts...), failing the test on an error.
func MustNew(t testing.TB, opts ...imdsopts.Option) imdsopts.Set {
	t.Helper()
	s, err := imdsopts.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Launch launches one instance in f from an AMI of the given ImdsSupport
// with the given metadata options, and returns its ID.
func Launch(t testing.TB, f *fake.EC2, ami types.ImdsSupportValues, meta *types.InstanceMetadataOptionsRequest) string {
	t.Helper()
	ids, err := f.Launch(1, func(o *fake.LaunchOptions) { o.ImdsSupport, o.MetadataOptions = ami, meta })
	if err != nil {
		t.Fatal(err)
	}
	return ids[0]
}

// Fleet launches n instances in f, tagged team=a, with the given metadata
// options, and returns their IDs.
func Fleet(t testing.TB, f *fake.EC2, n int, meta *types.InstanceMetadataOptionsRequest) []string {
	t.Helper()
	ids, err := f.Launch(n, func(o *fake.LaunchOptions) {
		o.MetadataOptions, o.Tags = meta, map[string]string{"team": "a"}
	})
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// CurrentOptions returns the metadata options f reports for instance id.
func CurrentOptions(t testing.TB, f *fake.EC2, id string) *types.InstanceMetadataOptionsResponse {
	t.Helper()
	out, err := f.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
	if err != nil {
		t.Fatal(err)
	}
	return out.Reservations[0].Instances[0].MetadataOptions
}

// APICode returns the error code of the API error err wraps, or "".
func APICode(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return ""
}

// ModifyLog wraps the fake and records every successful change per
// instance, so tests can show that nothing was changed twice.
type ModifyLog struct {
	*fake.EC2
	mu      sync.Mutex
	changed map[string]int
}

// ModifyInstanceMetadataOptions calls the fake and records a change it
// made.
func (m *ModifyLog) ModifyInstanceMetadataOptions(ctx context.Context, in *ec2.ModifyInstanceMetadataOptionsInput, optFns ...func(*ec2.Options)) (*ec2.ModifyInstanceMetadataOptionsOutput, error) {
	out, err := m.EC2.ModifyInstanceMetadataOptions(ctx, in, optFns...)
	if err == nil && !aws.ToBool(in.DryRun) {
		m.mu.Lock()
		if m.changed == nil {
			m.changed = map[string]int{}
		}
		m.changed[aws.ToString(in.InstanceId)]++
		m.mu.Unlock()
	}
	return out, err
}

// Changes returns how many times each instance was changed.
func (m *ModifyLog) Changes() map[string]int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return maps.Clone(m.changed)
}

// Changed returns how many instances were changed.
func (m *ModifyLog) Changed() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.changed)
}

// Twice fails the test for each instance changed more than once.
func (m *ModifyLog) Twice(t *testing.T) {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	for id, n := range m.changed {
		if n > 1 {
			t.Errorf("%s changed %d times", id, n)
		}
	}
}

// UserData returns script as EC2 takes user data: base64.
func UserData(script string) *string {
	return aws.String(base64.StdEncoding.EncodeToString([]byte(script)))
}

// IgnoreSerde ignores the SDK's unexported serialisation fields when
// comparing its request and response shapes with cmp.
var IgnoreSerde = cmpopts.IgnoreUnexported(ec2.ModifyInstanceMetadataOptionsInput{},
	types.InstanceMetadataOptionsRequest{}, types.LaunchTemplateInstanceMetadataOptionsRequest{},
	types.InstanceMetadataOptionsResponse{})

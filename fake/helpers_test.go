package fake_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"

	"github.com/imdsopts/imdsopts/fake"
)

// client is the part of *ec2.Client the fake implements; both must satisfy it.
type client interface {
	RunInstances(context.Context, *ec2.RunInstancesInput, ...func(*ec2.Options)) (*ec2.RunInstancesOutput, error)
	StartInstances(context.Context, *ec2.StartInstancesInput, ...func(*ec2.Options)) (*ec2.StartInstancesOutput, error)
	StopInstances(context.Context, *ec2.StopInstancesInput, ...func(*ec2.Options)) (*ec2.StopInstancesOutput, error)
	TerminateInstances(context.Context, *ec2.TerminateInstancesInput, ...func(*ec2.Options)) (*ec2.TerminateInstancesOutput, error)
	DescribeInstances(context.Context, *ec2.DescribeInstancesInput, ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error)
	RegisterImage(context.Context, *ec2.RegisterImageInput, ...func(*ec2.Options)) (*ec2.RegisterImageOutput, error)
	DescribeImages(context.Context, *ec2.DescribeImagesInput, ...func(*ec2.Options)) (*ec2.DescribeImagesOutput, error)
	GetInstanceMetadataDefaults(context.Context, *ec2.GetInstanceMetadataDefaultsInput, ...func(*ec2.Options)) (*ec2.GetInstanceMetadataDefaultsOutput, error)
	ModifyInstanceMetadataDefaults(context.Context, *ec2.ModifyInstanceMetadataDefaultsInput, ...func(*ec2.Options)) (*ec2.ModifyInstanceMetadataDefaultsOutput, error)
	ModifyInstanceMetadataOptions(context.Context, *ec2.ModifyInstanceMetadataOptionsInput, ...func(*ec2.Options)) (*ec2.ModifyInstanceMetadataOptionsOutput, error)
	ModifyImageAttribute(context.Context, *ec2.ModifyImageAttributeInput, ...func(*ec2.Options)) (*ec2.ModifyImageAttributeOutput, error)
	DescribeImageAttribute(context.Context, *ec2.DescribeImageAttributeInput, ...func(*ec2.Options)) (*ec2.DescribeImageAttributeOutput, error)
	CreateLaunchTemplate(context.Context, *ec2.CreateLaunchTemplateInput, ...func(*ec2.Options)) (*ec2.CreateLaunchTemplateOutput, error)
	CreateLaunchTemplateVersion(context.Context, *ec2.CreateLaunchTemplateVersionInput, ...func(*ec2.Options)) (*ec2.CreateLaunchTemplateVersionOutput, error)
	DescribeLaunchTemplates(context.Context, *ec2.DescribeLaunchTemplatesInput, ...func(*ec2.Options)) (*ec2.DescribeLaunchTemplatesOutput, error)
	DescribeLaunchTemplateVersions(context.Context, *ec2.DescribeLaunchTemplateVersionsInput, ...func(*ec2.Options)) (*ec2.DescribeLaunchTemplateVersionsOutput, error)
	ModifyLaunchTemplate(context.Context, *ec2.ModifyLaunchTemplateInput, ...func(*ec2.Options)) (*ec2.ModifyLaunchTemplateOutput, error)
	DeleteLaunchTemplate(context.Context, *ec2.DeleteLaunchTemplateInput, ...func(*ec2.Options)) (*ec2.DeleteLaunchTemplateOutput, error)
	DeleteLaunchTemplateVersions(context.Context, *ec2.DeleteLaunchTemplateVersionsInput, ...func(*ec2.Options)) (*ec2.DeleteLaunchTemplateVersionsOutput, error)
}

var (
	_ client = (*ec2.Client)(nil)
	_ client = (*fake.EC2)(nil)
)

var ctx = context.Background()

// code returns the EC2 error code of err, or "" when it has none.
func code(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return ""
}

// status returns the HTTP status of err, or 0 when it has none.
func status(err error) int {
	var e interface{ HTTPStatusCode() int }
	if errors.As(err, &e) {
		return e.HTTPStatusCode()
	}
	return 0
}

// wantCode fails the test unless err carries the EC2 error code want with
// HTTP status wantStatus, wrapped as the SDK wraps errors of operation op.
func wantCode(t *testing.T, err error, op, want string, wantStatus int) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: got no error, want %s", op, want)
	}
	if got := code(err); got != want {
		t.Fatalf("%s: got code %q (%v), want %q", op, got, err, want)
	}
	if got := status(err); got != wantStatus {
		t.Errorf("%s: got HTTP status %d, want %d", op, got, wantStatus)
	}
	var oe *smithy.OperationError
	if !errors.As(err, &oe) || oe.ServiceID != "EC2" || oe.OperationName != op {
		t.Errorf("%s: error %v is not an EC2 %s OperationError", op, err, op)
	}
}

// register registers an image and returns its ID.
func register(t *testing.T, f *fake.EC2, name string, imds types.ImdsSupportValues) string {
	t.Helper()
	out, err := f.RegisterImage(ctx, &ec2.RegisterImageInput{Name: aws.String(name), ImdsSupport: imds})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.ImageId)
}

// launch runs n instances of image and returns them.
func launch(t *testing.T, f *fake.EC2, image string, n int32, edit ...func(*ec2.RunInstancesInput)) []types.Instance {
	t.Helper()
	in := &ec2.RunInstancesInput{ImageId: aws.String(image), MinCount: aws.Int32(1), MaxCount: aws.Int32(n)}
	for _, e := range edit {
		e(in)
	}
	out, err := f.RunInstances(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	return out.Instances
}

// describe returns the instance id, which must be visible.
func describe(t *testing.T, f *fake.EC2, id string) types.Instance {
	t.Helper()
	out, err := f.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Reservations) != 1 || len(out.Reservations[0].Instances) != 1 {
		t.Fatalf("DescribeInstances(%s): got %d reservations, want 1 with 1 instance", id, len(out.Reservations))
	}
	return out.Reservations[0].Instances[0]
}

// ids returns the instance IDs of a DescribeInstances page in order.
func ids(out *ec2.DescribeInstancesOutput) []string {
	var s []string
	for _, r := range out.Reservations {
		for _, i := range r.Instances {
			s = append(s, aws.ToString(i.InstanceId))
		}
	}
	return s
}

func instanceIDs(insts []types.Instance) []string {
	var s []string
	for _, i := range insts {
		s = append(s, aws.ToString(i.InstanceId))
	}
	return s
}

package fake_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"

	"github.com/imdsopts/imdsopts/fake"
)

func TestNewAPIError(t *testing.T) {
	for _, tt := range []struct {
		status int
		fault  smithy.ErrorFault
	}{
		{400, smithy.FaultClient},
		{403, smithy.FaultClient},
		{503, smithy.FaultServer},
	} {
		err := fake.NewAPIError(tt.status, "Code", "message")
		var re *awshttp.ResponseError
		if !errors.As(err, &re) || re.RequestID == "" || re.Response.Header == nil {
			t.Fatalf("NewAPIError(%d) = %#v, want a ResponseError with request ID and header", tt.status, err)
		}
		if re.HTTPStatusCode() != tt.status {
			t.Errorf("status = %d, want %d", re.HTTPStatusCode(), tt.status)
		}
		var apiErr smithy.APIError
		if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "Code" || apiErr.ErrorMessage() != "message" || apiErr.ErrorFault() != tt.fault {
			t.Errorf("APIError = %v, want Code, message, fault %v", apiErr, tt.fault)
		}
	}
}

func TestValidationErrors(t *testing.T) {
	f := fake.New()
	v1 := register(t, f, "plain", "")
	id := aws.ToString(launch(t, f, v1, 1)[0].InstanceId)
	gone := aws.ToString(launch(t, f, v1, 1)[0].InstanceId)
	if _, err := f.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{gone}}); err != nil {
		t.Fatal(err)
	}
	const unknown = "i-0123456789abcdef0"

	modify := func(in ec2.ModifyInstanceMetadataOptionsInput) func() (string, error) {
		return func() (string, error) {
			if in.InstanceId == nil {
				in.InstanceId = aws.String(id)
			}
			_, err := f.ModifyInstanceMetadataOptions(ctx, &in)
			return "ModifyInstanceMetadataOptions", err
		}
	}
	defaults := func(in ec2.ModifyInstanceMetadataDefaultsInput) func() (string, error) {
		return func() (string, error) {
			_, err := f.ModifyInstanceMetadataDefaults(ctx, &in)
			return "ModifyInstanceMetadataDefaults", err
		}
	}
	run := func(in ec2.RunInstancesInput) func() (string, error) {
		return func() (string, error) {
			_, err := f.RunInstances(ctx, &in)
			return "RunInstances", err
		}
	}
	descr := func(in ec2.DescribeInstancesInput) func() (string, error) {
		return func() (string, error) {
			_, err := f.DescribeInstances(ctx, &in)
			return "DescribeInstances", err
		}
	}
	one := aws.Int32(1)
	for _, tt := range []struct {
		name string
		call func() (string, error)
		code string
	}{
		{"modify nil params", func() (string, error) {
			_, err := f.ModifyInstanceMetadataOptions(ctx, nil)
			return "ModifyInstanceMetadataOptions", err
		}, "MissingParameter"},
		{"modify empty id", modify(ec2.ModifyInstanceMetadataOptionsInput{InstanceId: aws.String("")}), "MissingParameter"},
		{"modify malformed id", modify(ec2.ModifyInstanceMetadataOptionsInput{InstanceId: aws.String("i-123")}), "InvalidInstanceID.Malformed"},
		{"modify upper-case id", modify(ec2.ModifyInstanceMetadataOptionsInput{InstanceId: aws.String("i-0123456789ABCDEF0")}), "InvalidInstanceID.Malformed"},
		{"modify unknown id", modify(ec2.ModifyInstanceMetadataOptionsInput{InstanceId: aws.String(unknown)}), "InvalidInstanceID.NotFound"},
		{"modify 8-digit unknown id", modify(ec2.ModifyInstanceMetadataOptionsInput{InstanceId: aws.String("i-0123abcd")}), "InvalidInstanceID.NotFound"},
		{"hop 0", modify(ec2.ModifyInstanceMetadataOptionsInput{HttpPutResponseHopLimit: aws.Int32(0)}), "InvalidParameterValue"},
		{"hop 65", modify(ec2.ModifyInstanceMetadataOptionsInput{HttpPutResponseHopLimit: aws.Int32(65)}), "InvalidParameterValue"},
		{"hop -1", modify(ec2.ModifyInstanceMetadataOptionsInput{HttpPutResponseHopLimit: aws.Int32(-1)}), "InvalidParameterValue"},
		{"tokens Required", modify(ec2.ModifyInstanceMetadataOptionsInput{HttpTokens: "Required"}), "InvalidParameterValue"},
		{"tokens bogus", modify(ec2.ModifyInstanceMetadataOptionsInput{HttpTokens: "bogus"}), "InvalidParameterValue"},
		{"endpoint bogus", modify(ec2.ModifyInstanceMetadataOptionsInput{HttpEndpoint: "on"}), "InvalidParameterValue"},
		{"ipv6 bogus", modify(ec2.ModifyInstanceMetadataOptionsInput{HttpProtocolIpv6: "Enabled"}), "InvalidParameterValue"},
		{"tags bogus", modify(ec2.ModifyInstanceMetadataOptionsInput{InstanceMetadataTags: "yes"}), "InvalidParameterValue"},
		{"ipv6 without endpoint", modify(ec2.ModifyInstanceMetadataOptionsInput{HttpProtocolIpv6: "enabled", HttpEndpoint: "disabled"}), "InvalidParameterCombination"},
		{"modify terminated", modify(ec2.ModifyInstanceMetadataOptionsInput{InstanceId: aws.String(gone), HttpTokens: "required"}), "IncorrectInstanceState"},

		{"defaults tokens bogus", defaults(ec2.ModifyInstanceMetadataDefaultsInput{HttpTokens: "Required"}), "InvalidParameterValue"},
		{"defaults hop 0", defaults(ec2.ModifyInstanceMetadataDefaultsInput{HttpPutResponseHopLimit: aws.Int32(0)}), "InvalidParameterValue"},
		{"defaults hop 65", defaults(ec2.ModifyInstanceMetadataDefaultsInput{HttpPutResponseHopLimit: aws.Int32(65)}), "InvalidParameterValue"},
		{"defaults hop -2", defaults(ec2.ModifyInstanceMetadataDefaultsInput{HttpPutResponseHopLimit: aws.Int32(-2)}), "InvalidParameterValue"},
		{"defaults endpoint bogus", defaults(ec2.ModifyInstanceMetadataDefaultsInput{HttpEndpoint: "nope"}), "InvalidParameterValue"},
		{"defaults tags bogus", defaults(ec2.ModifyInstanceMetadataDefaultsInput{InstanceMetadataTags: "nope"}), "InvalidParameterValue"},
		{"defaults enforced bogus", defaults(ec2.ModifyInstanceMetadataDefaultsInput{HttpTokensEnforced: "Enabled"}), "InvalidParameterValue"},

		{"run nil params", func() (string, error) {
			_, err := f.RunInstances(ctx, nil)
			return "RunInstances", err
		}, "MissingParameter"},
		{"run no image", run(ec2.RunInstancesInput{MinCount: one, MaxCount: one}), "MissingParameter"},
		{"run malformed image", run(ec2.RunInstancesInput{ImageId: aws.String("ami-x"), MinCount: one, MaxCount: one}), "InvalidAMIID.Malformed"},
		{"run unknown image", run(ec2.RunInstancesInput{ImageId: aws.String("ami-0123456789abcdef0"), MinCount: one, MaxCount: one}), "InvalidAMIID.NotFound"},
		{"run no counts", run(ec2.RunInstancesInput{ImageId: aws.String(v1)}), "MissingParameter"},
		{"run min > max", run(ec2.RunInstancesInput{ImageId: aws.String(v1), MinCount: aws.Int32(3), MaxCount: aws.Int32(2)}), "InvalidParameterValue"},
		{"run max 0", run(ec2.RunInstancesInput{ImageId: aws.String(v1), MinCount: aws.Int32(0), MaxCount: aws.Int32(0)}), "InvalidParameterValue"},
		{"run too many", run(ec2.RunInstancesInput{ImageId: aws.String(v1), MinCount: one, MaxCount: aws.Int32(1001)}), "InstanceLimitExceeded"},
		{"run hop 65", run(ec2.RunInstancesInput{ImageId: aws.String(v1), MinCount: one, MaxCount: one,
			MetadataOptions: &types.InstanceMetadataOptionsRequest{HttpPutResponseHopLimit: aws.Int32(65)}}), "InvalidParameterValue"},
		{"run tokens bogus", run(ec2.RunInstancesInput{ImageId: aws.String(v1), MinCount: one, MaxCount: one,
			MetadataOptions: &types.InstanceMetadataOptionsRequest{HttpTokens: "V2"}}), "InvalidParameterValue"},
		{"run ipv6 without endpoint", run(ec2.RunInstancesInput{ImageId: aws.String(v1), MinCount: one, MaxCount: one,
			MetadataOptions: &types.InstanceMetadataOptionsRequest{HttpEndpoint: "disabled", HttpProtocolIpv6: "enabled"}}), "InvalidParameterCombination"},

		{"describe malformed id", descr(ec2.DescribeInstancesInput{InstanceIds: []string{"instance"}}), "InvalidInstanceID.Malformed"},
		{"describe unknown id", descr(ec2.DescribeInstancesInput{InstanceIds: []string{id, unknown}}), "InvalidInstanceID.NotFound"},
		{"describe unknown filter", descr(ec2.DescribeInstancesInput{Filters: []types.Filter{{Name: aws.String("metadata-options.bogus"), Values: []string{"x"}}}}), "InvalidParameterValue"},
		{"describe nil filter name", descr(ec2.DescribeInstancesInput{Filters: []types.Filter{{Values: []string{"x"}}}}), "InvalidParameterValue"},
		{"describe filter without values", descr(ec2.DescribeInstancesInput{Filters: []types.Filter{{Name: aws.String("instance-id")}}}), "InvalidParameterValue"},
		{"describe MaxResults 4", descr(ec2.DescribeInstancesInput{MaxResults: aws.Int32(4)}), "InvalidParameterValue"},
		{"describe MaxResults 1001", descr(ec2.DescribeInstancesInput{MaxResults: aws.Int32(1001)}), "InvalidParameterValue"},
		{"describe MaxResults with ids", descr(ec2.DescribeInstancesInput{MaxResults: aws.Int32(5), InstanceIds: []string{id}}), "InvalidParameterCombination"},
		{"describe bad token", descr(ec2.DescribeInstancesInput{NextToken: aws.String("garbage")}), "InvalidParameterValue"},

		{"start missing ids", func() (string, error) {
			_, err := f.StartInstances(ctx, &ec2.StartInstancesInput{})
			return "StartInstances", err
		}, "MissingParameter"},
		{"stop unknown", func() (string, error) {
			_, err := f.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{unknown}})
			return "StopInstances", err
		}, "InvalidInstanceID.NotFound"},
		{"terminate malformed", func() (string, error) {
			_, err := f.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{"i-"}})
			return "TerminateInstances", err
		}, "InvalidInstanceID.Malformed"},
		{"start terminated", func() (string, error) {
			_, err := f.StartInstances(ctx, &ec2.StartInstancesInput{InstanceIds: []string{gone}})
			return "StartInstances", err
		}, "IncorrectInstanceState"},
		{"stop terminated", func() (string, error) {
			_, err := f.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{id, gone}})
			return "StopInstances", err
		}, "IncorrectInstanceState"},

		{"register without name", func() (string, error) {
			_, err := f.RegisterImage(ctx, &ec2.RegisterImageInput{})
			return "RegisterImage", err
		}, "MissingParameter"},
		{"register bad imds support", func() (string, error) {
			_, err := f.RegisterImage(ctx, &ec2.RegisterImageInput{Name: aws.String("x"), ImdsSupport: "v1.0"})
			return "RegisterImage", err
		}, "InvalidParameterValue"},
		{"register duplicate name", func() (string, error) {
			_, err := f.RegisterImage(ctx, &ec2.RegisterImageInput{Name: aws.String("plain")})
			return "RegisterImage", err
		}, "InvalidAMIName.Duplicate"},
		{"describe unknown image", func() (string, error) {
			_, err := f.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{"ami-0123456789abcdef0"}})
			return "DescribeImages", err
		}, "InvalidAMIID.NotFound"},
		{"describe malformed image", func() (string, error) {
			_, err := f.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{"ami-1"}})
			return "DescribeImages", err
		}, "InvalidAMIID.Malformed"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			op, err := tt.call()
			wantCode(t, err, op, tt.code, http.StatusBadRequest)
		})
	}

	// No failed call changed anything.
	got := describe(t, f, id)
	if md := got.MetadataOptions; md.HttpTokens != "optional" || aws.ToInt32(md.HttpPutResponseHopLimit) != 1 ||
		md.HttpEndpoint != "enabled" || md.HttpProtocolIpv6 != "disabled" || md.InstanceMetadataTags != "disabled" || md.State != "applied" {
		t.Errorf("failed calls changed metadata options: %+v", md)
	}
	out, err := f.DescribeInstances(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(ids(out)); n != 2 {
		t.Errorf("failed calls changed the instance count to %d, want 2", n)
	}
	d, err := f.GetInstanceMetadataDefaults(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if a := d.AccountLevel; a.HttpTokens != "" || a.HttpPutResponseHopLimit != nil || a.HttpEndpoint != "" ||
		a.InstanceMetadataTags != "" || a.HttpTokensEnforced != "" {
		t.Errorf("failed calls changed account defaults: %+v", a)
	}
}

func TestNotFoundNamesEveryID(t *testing.T) {
	f := fake.New()
	_, err := f.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{"i-0000000a", "i-0000000b"}})
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorMessage() != "The instance IDs 'i-0000000a, i-0000000b' do not exist" {
		t.Errorf("got %v, want both IDs named", err)
	}
}

// An error that echoes what the request sent does not echo a huge value
// whole: a 100 KB NextToken comes back as a short prefix and its length.
func TestErrorsEchoLongValuesCut(t *testing.T) {
	f := fake.New()
	token := strings.Repeat("t", 100<<10)
	_, err := f.DescribeInstances(ctx, &ec2.DescribeInstancesInput{NextToken: aws.String(token), MaxResults: aws.Int32(5)})
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "InvalidParameterValue" {
		t.Fatalf("error = %v, want InvalidParameterValue", err)
	}
	if msg := apiErr.ErrorMessage(); len(msg) > 1100 || !strings.Contains(msg, "bytes in all") {
		t.Errorf("%d bytes of message: %.200q", len(msg), msg)
	}
}

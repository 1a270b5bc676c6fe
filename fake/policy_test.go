package fake_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"

	"github.com/imdsopts/imdsopts/fake"
)

const policyMessage = "IMDSv2 is required here: see the platform wiki."

func getDefaults(t *testing.T, f *fake.EC2) *types.InstanceMetadataDefaultsResponse {
	t.Helper()
	out, err := f.GetInstanceMetadataDefaults(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	return out.AccountLevel
}

func message(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorMessage()
	}
	return ""
}

func TestDeclarativePolicy(t *testing.T) {
	f := fake.New()
	// The account's own defaults, which the policy replaces whole.
	if _, err := f.ModifyInstanceMetadataDefaults(ctx, &ec2.ModifyInstanceMetadataDefaultsInput{
		HttpPutResponseHopLimit: aws.Int32(5), InstanceMetadataTags: "enabled",
	}); err != nil {
		t.Fatal(err)
	}
	err := f.SetDeclarativePolicy(&fake.DeclarativePolicy{
		HttpTokens:              "required",
		HttpEndpoint:            "enabled",
		HttpTokensEnforced:      "enabled",
		ManagedExceptionMessage: policyMessage,
	})
	if err != nil {
		t.Fatal(err)
	}

	d := getDefaults(t, f)
	if d.ManagedBy != "declarative-policy" || aws.ToString(d.ManagedExceptionMessage) != policyMessage ||
		d.HttpTokens != "required" || d.HttpEndpoint != "enabled" || d.HttpTokensEnforced != "enabled" ||
		d.HttpPutResponseHopLimit != nil || d.InstanceMetadataTags != "" {
		t.Errorf("GetInstanceMetadataDefaults = %+v, want the policy's defaults and message", d)
	}

	// The account cannot modify them, not even in a dry run; invalid values
	// are still answered as such.
	for _, in := range []*ec2.ModifyInstanceMetadataDefaultsInput{
		{HttpTokens: "optional"},
		{HttpTokensEnforced: "disabled"},
		{},
		{HttpTokens: "optional", DryRun: aws.Bool(true)},
	} {
		_, err := f.ModifyInstanceMetadataDefaults(ctx, in)
		wantCode(t, err, "ModifyInstanceMetadataDefaults", "UnsupportedOperation", 400)
		if message(err) != policyMessage {
			t.Errorf("refusal message %q, want the policy's", message(err))
		}
	}
	_, err = f.ModifyInstanceMetadataDefaults(ctx, &ec2.ModifyInstanceMetadataDefaultsInput{HttpTokens: "bogus"})
	wantCode(t, err, "ModifyInstanceMetadataDefaults", "InvalidParameterValue", 400)

	// Launches resolve against the policy's defaults: required from the
	// policy, and the account's own hop limit 5 and tags are gone.
	id := seedOne(t, f)
	if md := describe(t, f, id).MetadataOptions; md.HttpTokens != "required" || aws.ToInt32(md.HttpPutResponseHopLimit) != 1 ||
		md.InstanceMetadataTags != "disabled" {
		t.Errorf("launched with %s, want required, hop 1, tags disabled", show(md))
	}

	// The policy's enforcement refuses launches and modifications that
	// enable IMDSv1, with EC2's message and the policy's.
	_, err = f.Launch(1, func(o *fake.LaunchOptions) {
		o.MetadataOptions = &types.InstanceMetadataOptionsRequest{HttpTokens: "optional"}
	})
	wantCode(t, err, "RunInstances", "UnsupportedOperation", 400)
	if m := message(err); !strings.HasPrefix(m, "You can't launch instances with IMDSv1") || !strings.HasSuffix(m, policyMessage) {
		t.Errorf("launch refused with %q", m)
	}
	_, err = f.ModifyInstanceMetadataOptions(ctx, &ec2.ModifyInstanceMetadataOptionsInput{InstanceId: aws.String(id), HttpTokens: "optional"})
	wantCode(t, err, "ModifyInstanceMetadataOptions", "UnsupportedOperation", 400)
	if m := message(err); !strings.HasSuffix(m, policyMessage) {
		t.Errorf("modify refused with %q", m)
	}

	// Without the policy, the account's own defaults apply again.
	if err := f.SetDeclarativePolicy(nil); err != nil {
		t.Fatal(err)
	}
	d = getDefaults(t, f)
	if d.ManagedBy != "account" || d.ManagedExceptionMessage != nil || d.HttpTokens != "" ||
		aws.ToInt32(d.HttpPutResponseHopLimit) != 5 || d.InstanceMetadataTags != "enabled" || d.HttpTokensEnforced != "" {
		t.Errorf("after removing the policy: %+v, want the account's own defaults", d)
	}
	if _, err := f.ModifyInstanceMetadataDefaults(ctx, &ec2.ModifyInstanceMetadataDefaultsInput{HttpTokens: "required"}); err != nil {
		t.Errorf("after removing the policy: %v", err)
	}
}

func TestDeclarativePolicyWithoutMessage(t *testing.T) {
	f := fake.New()
	if err := f.SetDeclarativePolicy(&fake.DeclarativePolicy{}); err != nil {
		t.Fatal(err)
	}
	if d := getDefaults(t, f); d.ManagedBy != "declarative-policy" || d.ManagedExceptionMessage != nil {
		t.Errorf("GetInstanceMetadataDefaults = %+v", d)
	}
	_, err := f.ModifyInstanceMetadataDefaults(ctx, &ec2.ModifyInstanceMetadataDefaultsInput{HttpTokens: "required"})
	wantCode(t, err, "ModifyInstanceMetadataDefaults", "UnsupportedOperation", 400)
	if m := message(err); !strings.Contains(m, "managed by a declarative policy") {
		t.Errorf("refusal message %q", m)
	}
	// The policy does not enforce IMDSv2, so an IMDSv1 launch goes through.
	seedOne(t, f)
}

func TestDeclarativePolicyValidation(t *testing.T) {
	f := fake.New()
	good := &fake.DeclarativePolicy{HttpTokens: "required", ManagedExceptionMessage: "kept"}
	if err := f.SetDeclarativePolicy(good); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name  string
		p     fake.DeclarativePolicy
		field string
	}{
		{"tokens", fake.DeclarativePolicy{HttpTokens: "Required"}, "HttpTokens"},
		{"no-preference is a request value", fake.DeclarativePolicy{HttpTokens: "no-preference"}, "HttpTokens"},
		{"hop 65", fake.DeclarativePolicy{HttpPutResponseHopLimit: 65}, "HttpPutResponseHopLimit"},
		{"hop -1", fake.DeclarativePolicy{HttpPutResponseHopLimit: -1}, "HttpPutResponseHopLimit"},
		{"endpoint", fake.DeclarativePolicy{HttpEndpoint: "on"}, "HttpEndpoint"},
		{"tags", fake.DeclarativePolicy{InstanceMetadataTags: "yes"}, "InstanceMetadataTags"},
		{"enforced", fake.DeclarativePolicy{HttpTokensEnforced: "Enabled"}, "HttpTokensEnforced"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := f.SetDeclarativePolicy(&tt.p)
			if err == nil || !strings.Contains(err.Error(), "DeclarativePolicy."+tt.field) {
				t.Errorf("got %v, want an error naming %s", err, tt.field)
			}
		})
	}
	if d := getDefaults(t, f); d.HttpTokens != "required" || aws.ToString(d.ManagedExceptionMessage) != "kept" {
		t.Errorf("a refused policy changed the defaults: %+v", d)
	}
}

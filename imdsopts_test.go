package imdsopts_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/google/go-cmp/cmp"

	"github.com/imdsopts/imdsopts"
	"github.com/imdsopts/imdsopts/internal/testenv"
)

const id = "i-0123456789abcdef0"

func TestModifyInputSendsOnlyHeldFields(t *testing.T) {
	tests := []struct {
		name string
		set  imdsopts.Set
		want *ec2.ModifyInstanceMetadataOptionsInput
	}{
		{"zero", imdsopts.Set{}, &ec2.ModifyInstanceMetadataOptionsInput{InstanceId: aws.String(id)}},
		{"hop only", testenv.MustNew(t, imdsopts.HopLimit(2)),
			&ec2.ModifyInstanceMetadataOptionsInput{InstanceId: aws.String(id), HttpPutResponseHopLimit: aws.Int32(2)}},
		{"preset", testenv.MustNew(t, imdsopts.RequireIMDSv2()),
			&ec2.ModifyInstanceMetadataOptionsInput{InstanceId: aws.String(id), HttpTokens: "required", HttpEndpoint: "enabled"}},
		{"all", testenv.MustNew(t, imdsopts.HTTPTokens("optional"), imdsopts.HopLimit(64), imdsopts.HTTPEndpoint("enabled"),
			imdsopts.HTTPProtocolIPv6("enabled"), imdsopts.InstanceMetadataTags("disabled")),
			&ec2.ModifyInstanceMetadataOptionsInput{InstanceId: aws.String(id), HttpTokens: "optional",
				HttpPutResponseHopLimit: aws.Int32(64), HttpEndpoint: "enabled", HttpProtocolIpv6: "enabled", InstanceMetadataTags: "disabled"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.set.ModifyInput(id), testenv.IgnoreSerde); diff != "" {
				t.Errorf("ModifyInput (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLaunchOptions(t *testing.T) {
	s := testenv.MustNew(t, imdsopts.RequireIMDSv2(), imdsopts.HopLimit(2), imdsopts.InstanceMetadataTags("enabled"))
	want := &types.InstanceMetadataOptionsRequest{HttpTokens: "required", HttpEndpoint: "enabled",
		HttpPutResponseHopLimit: aws.Int32(2), InstanceMetadataTags: "enabled"}
	if diff := cmp.Diff(want, s.LaunchOptions(), testenv.IgnoreSerde); diff != "" {
		t.Errorf("LaunchOptions (-want +got):\n%s", diff)
	}
	wantLT := &types.LaunchTemplateInstanceMetadataOptionsRequest{HttpTokens: "required", HttpEndpoint: "enabled",
		HttpPutResponseHopLimit: aws.Int32(2), InstanceMetadataTags: "enabled"}
	if diff := cmp.Diff(wantLT, s.LaunchTemplateOptions(), testenv.IgnoreSerde); diff != "" {
		t.Errorf("LaunchTemplateOptions (-want +got):\n%s", diff)
	}
	if got := (imdsopts.Set{}).LaunchOptions(); got.HttpPutResponseHopLimit != nil || got.HttpTokens != "" {
		t.Errorf("zero Set LaunchOptions = %+v, want nothing set", got)
	}
}

func TestChangesAndSatisfiedBy(t *testing.T) {
	current := &types.InstanceMetadataOptionsResponse{State: "applied", HttpTokens: "optional",
		HttpPutResponseHopLimit: aws.Int32(1), HttpEndpoint: "enabled", HttpProtocolIpv6: "disabled", InstanceMetadataTags: "disabled"}
	tests := []struct {
		name    string
		set     imdsopts.Set
		current *types.InstanceMetadataOptionsResponse
		want    imdsopts.Set
	}{
		{"zero set", imdsopts.Set{}, current, imdsopts.Set{}},
		{"already satisfied", testenv.MustNew(t, imdsopts.HTTPEndpoint("enabled"), imdsopts.HopLimit(1)), current, imdsopts.Set{}},
		{"tokens differ, endpoint same", testenv.MustNew(t, imdsopts.RequireIMDSv2()), current, testenv.MustNew(t, imdsopts.HTTPTokens("required"))},
		{"hop differs", testenv.MustNew(t, imdsopts.HopLimit(2), imdsopts.InstanceMetadataTags("disabled")), current, testenv.MustNew(t, imdsopts.HopLimit(2))},
		{"every field differs", testenv.MustNew(t, imdsopts.HTTPTokens("required"), imdsopts.HopLimit(3), imdsopts.HTTPEndpoint("disabled"),
			imdsopts.HTTPProtocolIPv6("disabled"), imdsopts.InstanceMetadataTags("enabled")),
			&types.InstanceMetadataOptionsResponse{HttpProtocolIpv6: "enabled"},
			testenv.MustNew(t, imdsopts.HTTPTokens("required"), imdsopts.HopLimit(3), imdsopts.HTTPEndpoint("disabled"),
				imdsopts.HTTPProtocolIPv6("disabled"), imdsopts.InstanceMetadataTags("enabled"))},
		{"nil current", testenv.MustNew(t, imdsopts.HopLimit(1)), nil, testenv.MustNew(t, imdsopts.HopLimit(1))},
		{"zero set, nil current", imdsopts.Set{}, nil, imdsopts.Set{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.set.Changes(tt.current)
			if got != tt.want {
				t.Errorf("Changes = %v, want %v", got, tt.want)
			}
			if sat := tt.set.SatisfiedBy(tt.current); sat != tt.want.IsZero() {
				t.Errorf("SatisfiedBy = %v, want %v", sat, tt.want.IsZero())
			}
		})
	}
}

func TestSetString(t *testing.T) {
	tests := []struct {
		set  imdsopts.Set
		want string
	}{
		{imdsopts.Set{}, "(no changes)"},
		{testenv.MustNew(t, imdsopts.RequireIMDSv2()), "HttpTokens=required HttpEndpoint=enabled"},
		{testenv.MustNew(t, imdsopts.InstanceMetadataTags("enabled"), imdsopts.HopLimit(2), imdsopts.HTTPProtocolIPv6("disabled")),
			"HttpPutResponseHopLimit=2 HttpProtocolIpv6=disabled InstanceMetadataTags=enabled"},
	}
	for _, tt := range tests {
		if got := tt.set.String(); got != tt.want {
			t.Errorf("String = %q, want %q", got, tt.want)
		}
	}
}

func TestSetGetters(t *testing.T) {
	s := testenv.MustNew(t, imdsopts.HTTPTokens("required"), imdsopts.HopLimit(2), imdsopts.HTTPEndpoint("enabled"),
		imdsopts.HTTPProtocolIPv6("disabled"), imdsopts.InstanceMetadataTags("enabled"))
	if s.HTTPTokens() != "required" || s.HopLimit() != 2 || s.HTTPEndpoint() != "enabled" ||
		s.HTTPProtocolIPv6() != "disabled" || s.InstanceMetadataTags() != "enabled" || s.IsZero() {
		t.Errorf("getters of %v disagree with the options given", s)
	}
	var z imdsopts.Set
	if z.HTTPTokens() != "" || z.HopLimit() != 0 || !z.IsZero() {
		t.Errorf("zero Set getters = %q %d", z.HTTPTokens(), z.HopLimit())
	}
}

// TestDowngrade is the definition of "weaker", field by field: every change
// that lets more callers, or callers without a token, reach the metadata.
func TestDowngrade(t *testing.T) {
	hardened := &types.InstanceMetadataOptionsResponse{State: "applied", HttpTokens: "required",
		HttpPutResponseHopLimit: aws.Int32(2), HttpEndpoint: "disabled", HttpProtocolIpv6: "disabled", InstanceMetadataTags: "disabled"}
	open := &types.InstanceMetadataOptionsResponse{State: "applied", HttpTokens: "optional",
		HttpPutResponseHopLimit: aws.Int32(64), HttpEndpoint: "enabled", HttpProtocolIpv6: "enabled", InstanceMetadataTags: "enabled"}
	tests := []struct {
		name    string
		set     imdsopts.Set
		current *types.InstanceMetadataOptionsResponse
		want    imdsopts.Set // the weakening fields
	}{
		{"tokens required to optional", testenv.MustNew(t, imdsopts.HTTPTokens("optional")), hardened, testenv.MustNew(t, imdsopts.HTTPTokens("optional"))},
		{"tokens to required", testenv.MustNew(t, imdsopts.HTTPTokens("required")), open, imdsopts.Set{}},
		{"tokens optional to optional", testenv.MustNew(t, imdsopts.HTTPTokens("optional")), open, imdsopts.Set{}},
		{"hop limit raised", testenv.MustNew(t, imdsopts.HopLimit(3)), hardened, testenv.MustNew(t, imdsopts.HopLimit(3))},
		{"hop limit kept", testenv.MustNew(t, imdsopts.HopLimit(2)), hardened, imdsopts.Set{}},
		{"hop limit lowered", testenv.MustNew(t, imdsopts.HopLimit(1)), hardened, imdsopts.Set{}},
		{"endpoint turned on", testenv.MustNew(t, imdsopts.HTTPEndpoint("enabled")), hardened, testenv.MustNew(t, imdsopts.HTTPEndpoint("enabled"))},
		{"endpoint turned off", testenv.MustNew(t, imdsopts.HTTPEndpoint("disabled")), open, imdsopts.Set{}},
		{"IPv6 turned on", testenv.MustNew(t, imdsopts.HTTPProtocolIPv6("enabled")), hardened, testenv.MustNew(t, imdsopts.HTTPProtocolIPv6("enabled"))},
		{"IPv6 turned off", testenv.MustNew(t, imdsopts.HTTPProtocolIPv6("disabled")), open, imdsopts.Set{}},
		{"tags turned on", testenv.MustNew(t, imdsopts.InstanceMetadataTags("enabled")), hardened, testenv.MustNew(t, imdsopts.InstanceMetadataTags("enabled"))},
		{"tags turned off", testenv.MustNew(t, imdsopts.InstanceMetadataTags("disabled")), open, imdsopts.Set{}},
		{"only the weakening fields of a mixed change", testenv.MustNew(t, imdsopts.RequireIMDSv2(), imdsopts.HopLimit(4), imdsopts.InstanceMetadataTags("disabled")),
			hardened, testenv.MustNew(t, imdsopts.HTTPEndpoint("enabled"), imdsopts.HopLimit(4))},
		{"unknown current: whatever could weaken", testenv.MustNew(t, imdsopts.HTTPTokens("optional"), imdsopts.HopLimit(2),
			imdsopts.HTTPEndpoint("enabled"), imdsopts.HTTPProtocolIPv6("enabled"), imdsopts.InstanceMetadataTags("enabled")), nil,
			testenv.MustNew(t, imdsopts.HTTPTokens("optional"), imdsopts.HopLimit(2), imdsopts.HTTPEndpoint("enabled"),
				imdsopts.HTTPProtocolIPv6("enabled"), imdsopts.InstanceMetadataTags("enabled"))},
		{"unknown current: the strongest values cannot weaken", testenv.MustNew(t, imdsopts.HTTPTokens("required"), imdsopts.HopLimit(1),
			imdsopts.HTTPEndpoint("disabled")), nil, imdsopts.Set{}},
		{"unknown fields of a known current", testenv.MustNew(t, imdsopts.HopLimit(2), imdsopts.HTTPTokens("optional")),
			&types.InstanceMetadataOptionsResponse{State: "applied"}, testenv.MustNew(t, imdsopts.HopLimit(2), imdsopts.HTTPTokens("optional"))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.set.Downgrade(tt.current); got != tt.want {
				t.Errorf("Downgrade = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestSetWithAndSetOf: With applies one set over another field by field,
// Validate finds what only the combination breaks, and SetOf reads EC2's
// answer as a Set, refusing what New refuses.
func TestSetWithAndSetOf(t *testing.T) {
	base := testenv.MustNew(t, imdsopts.HTTPTokens("optional"), imdsopts.HopLimit(1), imdsopts.HTTPProtocolIPv6("enabled"))
	over := testenv.MustNew(t, imdsopts.RequireIMDSv2(), imdsopts.HTTPEndpoint("disabled"))
	got := base.With(over)
	if got.HTTPTokens() != "required" || got.HopLimit() != 1 || got.HTTPEndpoint() != "disabled" || got.HTTPProtocolIPv6() != "enabled" {
		t.Errorf("With = %v", got)
	}
	if err := got.Validate(); !errors.Is(err, imdsopts.ErrInvalid) {
		t.Errorf("Validate of IPv6 enabled with the endpoint disabled = %v, want ErrInvalid", err)
	}
	if err := base.Validate(); err != nil {
		t.Errorf("Validate of a Set New made = %v", err)
	}
	s, err := imdsopts.SetOf(&types.InstanceMetadataOptionsResponse{HttpTokens: "required", HttpPutResponseHopLimit: aws.Int32(2)})
	if err != nil || s.HTTPTokens() != "required" || s.HopLimit() != 2 || s.HTTPEndpoint() != "" {
		t.Errorf("SetOf = %v, %v", s, err)
	}
	if _, err := imdsopts.SetOf(&types.InstanceMetadataOptionsResponse{HttpTokens: "Required"}); !errors.Is(err, imdsopts.ErrInvalid) {
		t.Errorf("SetOf of HttpTokens \"Required\" = %v, want ErrInvalid", err)
	}
}

// TestSetOfBothShapes: SetOf reads an instance's options and a launch
// template's with the same rules; only a template is checked as a whole,
// and its errors say so.
func TestSetOfBothShapes(t *testing.T) {
	hop2 := aws.Int32(2)
	for _, tt := range []struct {
		name    string
		got     func() (imdsopts.Set, error)
		want    string // the Set's String, or the error's text
		wantErr bool
	}{
		{"instance", func() (imdsopts.Set, error) {
			return imdsopts.SetOf(&types.InstanceMetadataOptionsResponse{HttpTokens: "required", HttpPutResponseHopLimit: hop2})
		}, "HttpTokens=required HttpPutResponseHopLimit=2", false},
		{"template", func() (imdsopts.Set, error) {
			return imdsopts.SetOf(&types.LaunchTemplateInstanceMetadataOptions{HttpTokens: "required", HttpPutResponseHopLimit: hop2})
		}, "HttpTokens=required HttpPutResponseHopLimit=2", false},
		{"nil instance", func() (imdsopts.Set, error) { return imdsopts.SetOf[types.InstanceMetadataOptionsResponse](nil) }, "(no changes)", false},
		{"nil template", func() (imdsopts.Set, error) { return imdsopts.SetOf[types.LaunchTemplateInstanceMetadataOptions](nil) }, "(no changes)", false},
		{"instance: IPv6 on, endpoint off, taken", func() (imdsopts.Set, error) {
			return imdsopts.SetOf(&types.InstanceMetadataOptionsResponse{HttpEndpoint: "disabled", HttpProtocolIpv6: "enabled"})
		}, "HttpEndpoint=disabled HttpProtocolIpv6=enabled", false},
		{"template: IPv6 on, endpoint off, refused", func() (imdsopts.Set, error) {
			return imdsopts.SetOf(&types.LaunchTemplateInstanceMetadataOptions{HttpEndpoint: "disabled", HttpProtocolIpv6: "enabled"})
		}, "launch template: ", true},
		{"instance: bad value", func() (imdsopts.Set, error) {
			return imdsopts.SetOf(&types.InstanceMetadataOptionsResponse{HttpTokens: "Required"})
		}, `imdsopts: HttpTokens "Required": must be one of "optional", "required"`, true},
		{"template: bad value", func() (imdsopts.Set, error) {
			return imdsopts.SetOf(&types.LaunchTemplateInstanceMetadataOptions{HttpTokens: "Required"})
		}, `launch template: imdsopts: HttpTokens "Required": must be one of "optional", "required"`, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, err := tt.got()
			switch {
			case tt.wantErr && (!errors.Is(err, imdsopts.ErrInvalid) || !strings.HasPrefix(err.Error(), tt.want) || !s.IsZero()):
				t.Errorf("SetOf = %v, %v, want the zero Set and an ErrInvalid beginning %q", s, err, tt.want)
			case !tt.wantErr && (err != nil || s.String() != tt.want):
				t.Errorf("SetOf = %v, %v, want %s", s, err, tt.want)
			}
		})
	}
}

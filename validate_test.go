package imdsopts_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imdsopts/imdsopts"
)

func TestNewRejects(t *testing.T) {
	tests := []struct {
		name string
		opts []imdsopts.Option
		want []string // each a ValidationError message, all of them reported
	}{
		{"hop limit 0", []imdsopts.Option{imdsopts.HopLimit(0)}, []string{"imdsopts: HttpPutResponseHopLimit 0: must be 1..64"}},
		{"hop limit 65", []imdsopts.Option{imdsopts.HopLimit(65)}, []string{"imdsopts: HttpPutResponseHopLimit 65: must be 1..64"}},
		{"hop limit -1", []imdsopts.Option{imdsopts.HopLimit(-1)}, []string{"imdsopts: HttpPutResponseHopLimit -1: must be 1..64"}},
		{"tokens empty", []imdsopts.Option{imdsopts.HTTPTokens("")}, []string{`imdsopts: HttpTokens "": must be one of "optional", "required"`}},
		{"tokens wrong case", []imdsopts.Option{imdsopts.HTTPTokens("Required")}, []string{`imdsopts: HttpTokens "Required": must be one of "optional", "required"`}},
		{"tokens bogus", []imdsopts.Option{imdsopts.HTTPTokens("bogus")}, []string{`imdsopts: HttpTokens "bogus": must be one of "optional", "required"`}},
		{"endpoint bogus", []imdsopts.Option{imdsopts.HTTPEndpoint("on")}, []string{`imdsopts: HttpEndpoint "on": must be one of "disabled", "enabled"`}},
		{"ipv6 empty", []imdsopts.Option{imdsopts.HTTPProtocolIPv6("")}, []string{`imdsopts: HttpProtocolIpv6 "": must be one of "disabled", "enabled"`}},
		{"tags Enabled", []imdsopts.Option{imdsopts.InstanceMetadataTags("Enabled")}, []string{`imdsopts: InstanceMetadataTags "Enabled": must be one of "disabled", "enabled"`}},
		{"ipv6 with endpoint disabled", []imdsopts.Option{
			imdsopts.HTTPEndpoint(types.InstanceMetadataEndpointStateDisabled),
			imdsopts.HTTPProtocolIPv6(types.InstanceMetadataProtocolStateEnabled)},
			[]string{`imdsopts: HttpProtocolIpv6 "enabled": cannot be enabled when HttpEndpoint is "disabled" in the same set`}},
		{"every problem at once", []imdsopts.Option{imdsopts.HopLimit(65), imdsopts.HTTPTokens("bogus"), imdsopts.InstanceMetadataTags("")},
			[]string{"HttpTokens \"bogus\"", "HttpPutResponseHopLimit 65", "InstanceMetadataTags \"\""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := imdsopts.New(tt.opts...)
			if !errors.Is(err, imdsopts.ErrInvalid) {
				t.Fatalf("New error = %v, want ErrInvalid", err)
			}
			if !s.IsZero() {
				t.Errorf("New returned %v with its error, want the zero Set", s)
			}
			var ve *imdsopts.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("error %v is not a *ValidationError", err)
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(tt.want) {
				t.Fatalf("error has %d problems, want %d:\n%v", len(lines), len(tt.want), err)
			}
			for i, w := range tt.want {
				if !strings.Contains(lines[i], w) {
					t.Errorf("problem %d = %q, want it to contain %q", i, lines[i], w)
				}
			}
		})
	}
}

func TestNewAccepts(t *testing.T) {
	for _, opts := range [][]imdsopts.Option{
		nil,
		{imdsopts.HopLimit(1)}, {imdsopts.HopLimit(64)},
		{imdsopts.RequireIMDSv2(), imdsopts.HopLimit(2)},
		{imdsopts.HTTPEndpoint("disabled"), imdsopts.HTTPProtocolIPv6("disabled")},
		// The later option wins, so the combination is valid.
		{imdsopts.HTTPProtocolIPv6("enabled"), imdsopts.HTTPEndpoint("disabled"), imdsopts.HTTPProtocolIPv6("disabled")},
		{imdsopts.HTTPTokens("optional"), imdsopts.InstanceMetadataTags("enabled"), imdsopts.HTTPProtocolIPv6("enabled")},
	} {
		if _, err := imdsopts.New(opts...); err != nil {
			t.Errorf("New: %v", err)
		}
	}
}

func TestValidateModifyInput(t *testing.T) {
	valid := func(mod func(*ec2.ModifyInstanceMetadataOptionsInput)) *ec2.ModifyInstanceMetadataOptionsInput {
		in := &ec2.ModifyInstanceMetadataOptionsInput{InstanceId: aws.String("i-0123456789abcdef0")}
		if mod != nil {
			mod(in)
		}
		return in
	}
	tests := []struct {
		name string
		in   *ec2.ModifyInstanceMetadataOptionsInput
		want string // "" for valid
	}{
		{"id only", valid(nil), ""},
		{"short id", valid(func(in *ec2.ModifyInstanceMetadataOptionsInput) { in.InstanceId = aws.String("i-0123abcd") }), ""},
		{"all fields", valid(func(in *ec2.ModifyInstanceMetadataOptionsInput) {
			in.HttpTokens, in.HttpPutResponseHopLimit, in.HttpEndpoint = "required", aws.Int32(2), "enabled"
			in.HttpProtocolIpv6, in.InstanceMetadataTags, in.DryRun = "enabled", "enabled", aws.Bool(true)
		}), ""},
		{"nil input", nil, "ModifyInstanceMetadataOptionsInput nil: must not be nil"},
		{"no id", valid(func(in *ec2.ModifyInstanceMetadataOptionsInput) { in.InstanceId = nil }), `InstanceId "": must be "i-"`},
		{"9 hex digits", valid(func(in *ec2.ModifyInstanceMetadataOptionsInput) { in.InstanceId = aws.String("i-0123abcde") }), `InstanceId "i-0123abcde"`},
		{"upper case", valid(func(in *ec2.ModifyInstanceMetadataOptionsInput) { in.InstanceId = aws.String("i-0123ABCD") }), `InstanceId "i-0123ABCD"`},
		{"not hex", valid(func(in *ec2.ModifyInstanceMetadataOptionsInput) { in.InstanceId = aws.String("i-0123abcg") }), `InstanceId "i-0123abcg"`},
		{"wrong prefix", valid(func(in *ec2.ModifyInstanceMetadataOptionsInput) { in.InstanceId = aws.String("ami-0123abcd") }), `InstanceId "ami-0123abcd"`},
		{"hop 65", valid(func(in *ec2.ModifyInstanceMetadataOptionsInput) { in.HttpPutResponseHopLimit = aws.Int32(65) }), "HttpPutResponseHopLimit 65: must be 1..64"},
		{"hop 0", valid(func(in *ec2.ModifyInstanceMetadataOptionsInput) { in.HttpPutResponseHopLimit = aws.Int32(0) }), "HttpPutResponseHopLimit 0: must be 1..64"},
		{"tokens bogus", valid(func(in *ec2.ModifyInstanceMetadataOptionsInput) { in.HttpTokens = "bogus" }), `HttpTokens "bogus"`},
		{"ipv6 with endpoint disabled", valid(func(in *ec2.ModifyInstanceMetadataOptionsInput) {
			in.HttpProtocolIpv6, in.HttpEndpoint = "enabled", "disabled"
		}), "HttpProtocolIpv6 \"enabled\": cannot be enabled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := imdsopts.ValidateModifyInput(tt.in)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("ValidateModifyInput: %v", err)
				}
				return
			}
			if !errors.Is(err, imdsopts.ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("ValidateModifyInput error = %v, want ErrInvalid containing %q", err, tt.want)
			}
		})
	}
}

func FuzzNew(f *testing.F) {
	f.Add("required", int32(2), "enabled", "disabled", "enabled", uint8(0x1f))
	f.Add("Required", int32(65), "", "enabled", "bogus", uint8(0x0f))
	f.Fuzz(func(t *testing.T, tokens string, hop int32, endpoint, ipv6, tags string, which uint8) {
		var opts []imdsopts.Option
		if which&1 != 0 {
			opts = append(opts, imdsopts.HTTPTokens(types.HttpTokensState(tokens)))
		}
		if which&2 != 0 {
			opts = append(opts, imdsopts.HopLimit(hop))
		}
		if which&4 != 0 {
			opts = append(opts, imdsopts.HTTPEndpoint(types.InstanceMetadataEndpointState(endpoint)))
		}
		if which&8 != 0 {
			opts = append(opts, imdsopts.HTTPProtocolIPv6(types.InstanceMetadataProtocolState(ipv6)))
		}
		if which&16 != 0 {
			opts = append(opts, imdsopts.InstanceMetadataTags(types.InstanceMetadataTagsState(tags)))
		}
		s, err := imdsopts.New(opts...)
		if err != nil {
			if !errors.Is(err, imdsopts.ErrInvalid) || !s.IsZero() {
				t.Fatalf("New error %v (set %v): want ErrInvalid and the zero Set", err, s)
			}
			return
		}
		// A valid Set makes a valid input, which gives back the same Set's fields.
		in := s.ModifyInput("i-0123456789abcdef0")
		if err := imdsopts.ValidateModifyInput(in); err != nil {
			t.Fatalf("Set %v made an invalid input: %v", s, err)
		}
		if !s.SatisfiedBy(&types.InstanceMetadataOptionsResponse{HttpTokens: in.HttpTokens,
			HttpPutResponseHopLimit: in.HttpPutResponseHopLimit, HttpEndpoint: in.HttpEndpoint,
			HttpProtocolIpv6: in.HttpProtocolIpv6, InstanceMetadataTags: in.InstanceMetadataTags}) {
			t.Fatalf("Set %v not satisfied by its own input", s)
		}
	})
}

func FuzzValidateModifyInput(f *testing.F) {
	f.Add("i-0123abcd", "required", int32(1), true, "enabled", "enabled", "disabled")
	f.Add("i-", "", int32(0), false, "disabled", "enabled", "")
	f.Fuzz(func(t *testing.T, id, tokens string, hop int32, hasHop bool, endpoint, ipv6, tags string) {
		in := &ec2.ModifyInstanceMetadataOptionsInput{InstanceId: &id,
			HttpTokens: types.HttpTokensState(tokens), HttpEndpoint: types.InstanceMetadataEndpointState(endpoint),
			HttpProtocolIpv6: types.InstanceMetadataProtocolState(ipv6), InstanceMetadataTags: types.InstanceMetadataTagsState(tags)}
		if hasHop {
			in.HttpPutResponseHopLimit = &hop
		}
		err := imdsopts.ValidateModifyInput(in)
		if err != nil && !errors.Is(err, imdsopts.ErrInvalid) {
			t.Fatalf("error %v does not match ErrInvalid", err)
		}
		hopOK := !hasHop || (hop >= 1 && hop <= 64)
		if err == nil && !hopOK {
			t.Fatalf("hop limit %d accepted", hop)
		}
	})
}

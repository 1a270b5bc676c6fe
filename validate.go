package imdsopts

import (
	"errors"
	"fmt"
	"regexp"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/imdsopts/imdsopts/internal/check"
)

// Hop limits EC2 accepts for HttpPutResponseHopLimit.
const (
	MinHopLimit = 1
	MaxHopLimit = 64
)

var instanceIDPattern = regexp.MustCompile(`^i-(?:[0-9a-f]{8}|[0-9a-f]{17})$`)

// ValidateInstanceID checks that id has the form of an EC2 instance ID: "i-"
// and 8 or 17 lower-case hexadecimal digits.
func ValidateInstanceID(id string) error {
	if !instanceIDPattern.MatchString(id) {
		return &ValidationError{Field: "InstanceId", Value: check.Quote(id),
			Rule: `must be "i-" followed by 8 or 17 lower-case hex digits`}
	}
	return nil
}

// ValidateModifyInput checks a raw ModifyInstanceMetadataOptions input with
// the rules New applies, plus the instance ID: every enum must be one of its
// values or empty (empty means "keep"), the hop limit 1..64, and
// HttpProtocolIpv6 cannot be enabled with HttpEndpoint disabled. It reports
// every problem at once, each matching errors.Is(err, ErrInvalid).
func ValidateModifyInput(in *ec2.ModifyInstanceMetadataOptionsInput) error {
	if in == nil {
		return &ValidationError{Field: "ModifyInstanceMetadataOptionsInput", Value: "nil", Rule: "must not be nil"}
	}
	sp := spec{hop: in.HttpPutResponseHopLimit}
	sp.tokens = nonEmpty(in.HttpTokens)
	sp.endpoint = nonEmpty(in.HttpEndpoint)
	sp.ipv6 = nonEmpty(in.HttpProtocolIpv6)
	sp.tags = nonEmpty(in.InstanceMetadataTags)
	return errors.Join(ValidateInstanceID(aws.ToString(in.InstanceId)), sp.validate())
}

// spec is a Set under construction: nil fields were not given.
type spec struct {
	tokens   *types.HttpTokensState
	hop      *int32
	endpoint *types.InstanceMetadataEndpointState
	ipv6     *types.InstanceMetadataProtocolState
	tags     *types.InstanceMetadataTagsState
}

func (sp *spec) validate() error {
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	add(checkEnum("HttpTokens", sp.tokens))
	if sp.hop != nil && (*sp.hop < MinHopLimit || *sp.hop > MaxHopLimit) {
		add(&ValidationError{Field: "HttpPutResponseHopLimit", Value: fmt.Sprint(*sp.hop),
			Rule: fmt.Sprintf("must be %d..%d", MinHopLimit, MaxHopLimit)})
	}
	add(checkEnum("HttpEndpoint", sp.endpoint))
	add(checkEnum("HttpProtocolIpv6", sp.ipv6))
	add(checkEnum("InstanceMetadataTags", sp.tags))
	if sp.ipv6 != nil && *sp.ipv6 == types.InstanceMetadataProtocolStateEnabled &&
		sp.endpoint != nil && *sp.endpoint == types.InstanceMetadataEndpointStateDisabled {
		add(&ValidationError{Field: "HttpProtocolIpv6", Value: `"enabled"`,
			Rule: `cannot be enabled when HttpEndpoint is "disabled" in the same set`})
	}
	return errors.Join(errs...)
}

// specOf returns s as a spec, to check it.
func specOf(s Set) *spec {
	sp := &spec{tokens: nonEmpty(s.tokens), endpoint: nonEmpty(s.endpoint), ipv6: nonEmpty(s.ipv6), tags: nonEmpty(s.tags)}
	if s.hop != 0 {
		sp.hop = &s.hop
	}
	return sp
}

func (sp *spec) set() Set {
	var s Set
	if sp.tokens != nil {
		s.tokens = *sp.tokens
	}
	if sp.hop != nil {
		s.hop = *sp.hop
	}
	if sp.endpoint != nil {
		s.endpoint = *sp.endpoint
	}
	if sp.ipv6 != nil {
		s.ipv6 = *sp.ipv6
	}
	if sp.tags != nil {
		s.tags = *sp.tags
	}
	return s
}

// checkEnum reports v (when given) unless it is exactly one of its type's
// values: EC2's enums are case-sensitive, so "Required" is refused.
func checkEnum[T check.Enum[T]](field string, v *T) error {
	if v == nil {
		return nil
	}
	if p := check.EnumValue(field, *v); p != nil {
		return &ValidationError{Field: p.Field, Value: p.Value, Rule: p.Rule}
	}
	return nil
}

func nonEmpty[T ~string](v T) *T {
	if v == "" {
		return nil
	}
	return &v
}

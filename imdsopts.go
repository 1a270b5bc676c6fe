package imdsopts

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// Set is an immutable, validated set of instance metadata options: the values
// a caller wants an instance to have. A field that the set does not hold is
// left as it is by ModifyInstanceMetadataOptions, so the zero Set changes
// nothing. Build a Set with New; Sets are comparable with ==.
type Set struct {
	tokens   types.HttpTokensState
	hop      int32 // 0: not held (a valid Set never holds 0)
	endpoint types.InstanceMetadataEndpointState
	ipv6     types.InstanceMetadataProtocolState
	tags     types.InstanceMetadataTagsState
}

// Option sets one field of a Set under construction; pass Options to New.
// When two Options set the same field, the later one wins.
type Option struct {
	apply func(*spec)
}

// HTTPTokens sets HttpTokens: "required" makes IMDSv2 session tokens mandatory
// (IMDSv1 is refused), "optional" allows both.
func HTTPTokens(v types.HttpTokensState) Option {
	return Option{func(s *spec) { s.tokens = &v }}
}

// HopLimit sets HttpPutResponseHopLimit, the IP hop limit of the IMDSv2 token
// PUT response: 1 to 64. Use 2 when the metadata service is called from
// containers on the instance.
func HopLimit(n int32) Option {
	return Option{func(s *spec) { s.hop = &n }}
}

// HTTPEndpoint turns the instance metadata endpoint on ("enabled") or off
// ("disabled").
func HTTPEndpoint(v types.InstanceMetadataEndpointState) Option {
	return Option{func(s *spec) { s.endpoint = &v }}
}

// HTTPProtocolIPv6 turns the IPv6 endpoint of the metadata service on or off.
// It cannot be enabled in a Set that disables the HTTP endpoint.
func HTTPProtocolIPv6(v types.InstanceMetadataProtocolState) Option {
	return Option{func(s *spec) { s.ipv6 = &v }}
}

// InstanceMetadataTags turns access to the instance's tags through the
// metadata service on or off.
func InstanceMetadataTags(v types.InstanceMetadataTagsState) Option {
	return Option{func(s *spec) { s.tags = &v }}
}

// RequireIMDSv2 is the usual hardening preset: HttpTokens "required" and
// HttpEndpoint "enabled", so the metadata service answers only IMDSv2 calls.
// Options after it can still change either field. On an instance whose
// endpoint is disabled it turns the endpoint back on, which weakens the
// instance (see [Set.Downgrade]): the fleet operations refuse that unless
// told to allow it. A Set of HttpTokens alone cannot be applied
// to such an instance at all (EC2 refuses HttpTokens unless the same call
// enables the endpoint: package fleet's ErrEndpointDisabled).
func RequireIMDSv2() Option {
	return Option{func(s *spec) {
		tokens, endpoint := types.HttpTokensStateRequired, types.InstanceMetadataEndpointStateEnabled
		s.tokens, s.endpoint = &tokens, &endpoint
	}}
}

// New builds a Set from opts and validates it. When any value is invalid,
// New returns the zero Set and an error that lists every problem at once;
// each matches errors.Is(err, ErrInvalid) and can be taken apart with
// errors.As into a [*ValidationError]. The zero Option (not made by one of
// this package's functions) is invalid too.
func New(opts ...Option) (Set, error) {
	var sp spec
	var errs []error
	for i, o := range opts {
		if o.apply == nil {
			errs = append(errs, misuse(fmt.Sprintf("Option %d", i+1), "Option{}", "must be made by an option function such as HopLimit"))
			continue
		}
		o.apply(&sp)
	}
	if err := errors.Join(append(errs, sp.validate())...); err != nil {
		return Set{}, err
	}
	return sp.set(), nil
}

// HTTPTokens returns the HttpTokens value the set holds, or "" if none.
func (s Set) HTTPTokens() types.HttpTokensState { return s.tokens }

// HopLimit returns the HttpPutResponseHopLimit the set holds, or 0 if none.
func (s Set) HopLimit() int32 { return s.hop }

// HTTPEndpoint returns the HttpEndpoint value the set holds, or "" if none.
func (s Set) HTTPEndpoint() types.InstanceMetadataEndpointState { return s.endpoint }

// HTTPProtocolIPv6 returns the HttpProtocolIpv6 value the set holds, or "" if
// none.
func (s Set) HTTPProtocolIPv6() types.InstanceMetadataProtocolState { return s.ipv6 }

// InstanceMetadataTags returns the InstanceMetadataTags value the set holds,
// or "" if none.
func (s Set) InstanceMetadataTags() types.InstanceMetadataTagsState { return s.tags }

// IsZero reports whether the set holds no field, and so changes nothing.
func (s Set) IsZero() bool { return s == Set{} }

// With returns s with the fields o holds changed to o's values: o applied
// over s. The result may break a rule that neither breaks alone (IPv6
// enabled with the endpoint disabled); see Validate.
func (s Set) With(o Set) Set {
	if o.tokens != "" {
		s.tokens = o.tokens
	}
	if o.hop != 0 {
		s.hop = o.hop
	}
	if o.endpoint != "" {
		s.endpoint = o.endpoint
	}
	if o.ipv6 != "" {
		s.ipv6 = o.ipv6
	}
	if o.tags != "" {
		s.tags = o.tags
	}
	return s
}

// Without returns s without the fields o holds.
func (s Set) Without(o Set) Set {
	if o.tokens != "" {
		s.tokens = ""
	}
	if o.hop != 0 {
		s.hop = 0
	}
	if o.endpoint != "" {
		s.endpoint = ""
	}
	if o.ipv6 != "" {
		s.ipv6 = ""
	}
	if o.tags != "" {
		s.tags = ""
	}
	return s
}

// Validate reports what [New] would refuse in s, as an error matching
// ErrInvalid. A Set that New made is valid; one that With made of two
// valid sets may not be.
func (s Set) Validate() error { return specOf(s).validate() }

// SetOf returns the options m holds as the Set of the fields it holds (the
// fields left empty are not held), each value checked as New checks it. m
// is EC2's answer about an instance (*types.InstanceMetadataOptionsResponse)
// or a launch template version's MetadataOptions
// (*types.LaunchTemplateInstanceMetadataOptions); a nil m is the zero Set.
// An instance may report HttpProtocolIpv6 "enabled" with HttpEndpoint
// "disabled", which New refuses in one set: SetOf takes it from an
// instance, and Validate says so; a launch template's options are checked
// as a whole too, and errors about them begin with "launch template".
func SetOf[T types.InstanceMetadataOptionsResponse | types.LaunchTemplateInstanceMetadataOptions](m *T) (Set, error) {
	switch m := any(m).(type) {
	case *types.InstanceMetadataOptionsResponse:
		return responseSet(m)
	case *types.LaunchTemplateInstanceMetadataOptions:
		return templateSet(m)
	}
	return Set{}, nil // T is one of the two types above
}

// responseSet is SetOf of an instance's options.
func responseSet(r *types.InstanceMetadataOptionsResponse) (Set, error) {
	if r == nil {
		return Set{}, nil
	}
	sp := &spec{tokens: nonEmpty(r.HttpTokens), hop: r.HttpPutResponseHopLimit, endpoint: nonEmpty(r.HttpEndpoint),
		tags: nonEmpty(r.InstanceMetadataTags)}
	err := sp.validate()
	if r.HttpProtocolIpv6 != "" {
		err = errors.Join(err, checkEnum("HttpProtocolIpv6", &r.HttpProtocolIpv6))
	}
	if err != nil {
		return Set{}, err
	}
	s := sp.set()
	s.ipv6 = r.HttpProtocolIpv6
	return s, nil
}

// AppliedTo returns the options an instance whose options are cur has once
// the set is applied: cur with the fields the set holds replaced, and a
// hop limit cur does not report filled in with EC2's default, 1. cur is not
// changed.
func (s Set) AppliedTo(cur *types.InstanceMetadataOptionsResponse) *types.InstanceMetadataOptionsResponse {
	r := types.InstanceMetadataOptionsResponse{}
	if cur != nil {
		r = *cur
	}
	if aws.ToInt32(r.HttpPutResponseHopLimit) == 0 {
		r.HttpPutResponseHopLimit = aws.Int32(defaultHopLimit)
	}
	if s.tokens != "" {
		r.HttpTokens = s.tokens
	}
	if s.hop != 0 {
		r.HttpPutResponseHopLimit = aws.Int32(s.hop)
	}
	if s.endpoint != "" {
		r.HttpEndpoint = s.endpoint
	}
	if s.ipv6 != "" {
		r.HttpProtocolIpv6 = s.ipv6
	}
	if s.tags != "" {
		r.InstanceMetadataTags = s.tags
	}
	return &r
}

// ModifyInput returns the ModifyInstanceMetadataOptions input that applies
// the set to instanceID. Only the fields the set holds are sent; EC2 keeps the
// others as they are.
func (s Set) ModifyInput(instanceID string) *ec2.ModifyInstanceMetadataOptionsInput {
	return &ec2.ModifyInstanceMetadataOptionsInput{
		InstanceId:              aws.String(instanceID),
		HttpTokens:              s.tokens,
		HttpPutResponseHopLimit: s.hopPtr(),
		HttpEndpoint:            s.endpoint,
		HttpProtocolIpv6:        s.ipv6,
		InstanceMetadataTags:    s.tags,
	}
}

// LaunchOptions returns the set as RunInstances MetadataOptions. Fields the
// set does not hold are left to the account default, the AMI and EC2's
// defaults (see Resolve).
func (s Set) LaunchOptions() *types.InstanceMetadataOptionsRequest {
	return &types.InstanceMetadataOptionsRequest{
		HttpTokens:              s.tokens,
		HttpPutResponseHopLimit: s.hopPtr(),
		HttpEndpoint:            s.endpoint,
		HttpProtocolIpv6:        s.ipv6,
		InstanceMetadataTags:    s.tags,
	}
}

// LaunchTemplateOptions returns the set as the MetadataOptions of a launch
// template's data (CreateLaunchTemplate, CreateLaunchTemplateVersion).
func (s Set) LaunchTemplateOptions() *types.LaunchTemplateInstanceMetadataOptionsRequest {
	return &types.LaunchTemplateInstanceMetadataOptionsRequest{
		HttpTokens:              types.LaunchTemplateHttpTokensState(s.tokens),
		HttpPutResponseHopLimit: s.hopPtr(),
		HttpEndpoint:            types.LaunchTemplateInstanceMetadataEndpointState(s.endpoint),
		HttpProtocolIpv6:        types.LaunchTemplateInstanceMetadataProtocolIpv6(s.ipv6),
		InstanceMetadataTags:    types.LaunchTemplateInstanceMetadataTagsState(s.tags),
	}
}

// Changes returns the part of s that differs from current: the fields that a
// ModifyInstanceMetadataOptions call must still send. A nil current is an
// instance whose options are unknown, so all of s is returned. The result is
// the zero Set when current already satisfies s.
func (s Set) Changes(current *types.InstanceMetadataOptionsResponse) Set {
	if current == nil {
		return s
	}
	var c Set
	if s.tokens != "" && s.tokens != current.HttpTokens {
		c.tokens = s.tokens
	}
	if s.hop != 0 && s.hop != aws.ToInt32(current.HttpPutResponseHopLimit) {
		c.hop = s.hop
	}
	if s.endpoint != "" && s.endpoint != current.HttpEndpoint {
		c.endpoint = s.endpoint
	}
	if s.ipv6 != "" && s.ipv6 != current.HttpProtocolIpv6 {
		c.ipv6 = s.ipv6
	}
	if s.tags != "" && s.tags != current.InstanceMetadataTags {
		c.tags = s.tags
	}
	return c
}

// Downgrade returns the fields of s that would weaken an instance whose
// options are current: that would let more callers, or callers without a
// session token, reach its metadata and so its credentials. This is the one
// definition of "weaker" in the package; the fleet operations refuse such
// changes unless told to allow them. A field weakens when it
// sets
//
//   - HttpTokens "optional" where current is "required": IMDSv1 answers again;
//   - HttpPutResponseHopLimit above current's: the token reaches more network
//     hops (containers, forwarded traffic);
//   - HttpEndpoint "enabled" where current is "disabled";
//   - HttpProtocolIpv6 "enabled" where current is "disabled": one more address
//     answers;
//   - InstanceMetadataTags "enabled" where current is "disabled": the tags
//     become readable.
//
// A field whose current value is unknown (current nil, or the field empty)
// counts as weakened whenever s's value could weaken it: HttpTokens
// "optional", a hop limit above 1, or anything "enabled". The result is the
// zero Set when s weakens nothing.
func (s Set) Downgrade(current *types.InstanceMetadataOptionsResponse) Set {
	if current == nil {
		current = &types.InstanceMetadataOptionsResponse{}
	}
	var d Set
	if s.tokens == types.HttpTokensStateOptional && current.HttpTokens != types.HttpTokensStateOptional {
		d.tokens = s.tokens
	}
	curHop := int32(MinHopLimit)
	if current.HttpPutResponseHopLimit != nil {
		curHop = *current.HttpPutResponseHopLimit
	}
	if s.hop > curHop {
		d.hop = s.hop
	}
	if s.endpoint == types.InstanceMetadataEndpointStateEnabled && current.HttpEndpoint != types.InstanceMetadataEndpointStateEnabled {
		d.endpoint = s.endpoint
	}
	if s.ipv6 == types.InstanceMetadataProtocolStateEnabled && current.HttpProtocolIpv6 != types.InstanceMetadataProtocolStateEnabled {
		d.ipv6 = s.ipv6
	}
	if s.tags == types.InstanceMetadataTagsStateEnabled && current.InstanceMetadataTags != types.InstanceMetadataTagsStateEnabled {
		d.tags = s.tags
	}
	return d
}

// SatisfiedBy reports whether every field the set holds has that value in
// current. It compares values only: whether EC2 has finished applying them is
// current.State, which [Waiter.Wait] checks as well. The zero Set is satisfied
// by anything; nothing but the zero Set is satisfied by nil.
func (s Set) SatisfiedBy(current *types.InstanceMetadataOptionsResponse) bool {
	return s.Changes(current).IsZero()
}

// String formats the fields the set holds with EC2's field names, for
// example "HttpTokens=required HttpEndpoint=enabled"; the zero Set is
// "(no changes)".
func (s Set) String() string {
	var b strings.Builder
	field := func(name, value string) {
		if value == "" {
			return
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(name + "=" + value)
	}
	field("HttpTokens", string(s.tokens))
	if s.hop != 0 {
		field("HttpPutResponseHopLimit", strconv.Itoa(int(s.hop)))
	}
	field("HttpEndpoint", string(s.endpoint))
	field("HttpProtocolIpv6", string(s.ipv6))
	field("InstanceMetadataTags", string(s.tags))
	if b.Len() == 0 {
		return "(no changes)"
	}
	return b.String()
}

func (s Set) hopPtr() *int32 {
	if s.hop == 0 {
		return nil
	}
	return aws.Int32(s.hop)
}

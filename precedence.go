package imdsopts

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/imdsopts/imdsopts/internal/check"
)

// Source says where a resolved option value came from.
type Source int

// The sources of a resolved value, highest precedence first. The zero Source
// is not one of them.
const (
	SourceLaunch   Source = iota + 1 // the launch parameters (RunInstances MetadataOptions, or a launch configuration's)
	SourceTemplate                   // the launch template's MetadataOptions
	SourceAccount                    // the account's default for the Region (GetInstanceMetadataDefaults)
	SourceAMI                        // the AMI's ImdsSupport (HttpTokens and hop limit only)
	SourceDefault                    // EC2's built-in default
)

var sourceNames = [...]string{"", "launch", "template", "account", "ami", "default"}

// String returns "launch", "template", "account", "ami" or "default".
func (s Source) String() string {
	if s > 0 && int(s) < len(sourceNames) {
		return sourceNames[s]
	}
	return "Source(" + strconv.Itoa(int(s)) + ")"
}

// MarshalText encodes the source as its String, for JSON output.
func (s Source) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Launch holds what decides the metadata options of a new instance.
type Launch struct {
	// Options are the launch parameters (RunInstances MetadataOptions, or
	// those of a launch configuration); fields the Set does not hold are not
	// given. They override Template field by field.
	Options Set
	// Template is the MetadataOptions of the launch template version the
	// instance is launched from, as DescribeLaunchTemplateVersions returns
	// them (State is ignored); nil when no template is used or it gives
	// none. An empty field is not given.
	Template *types.LaunchTemplateInstanceMetadataOptions
	// Account is the account's default for the Region, as
	// GetInstanceMetadataDefaults returns it; nil when there is none.
	Account *types.InstanceMetadataDefaultsResponse
	// ImdsSupport is the AMI's ImdsSupport: "v2.0" or empty.
	ImdsSupport types.ImdsSupportValues
}

// Value is one resolved option: its value and where it came from.
type Value[T any] struct {
	Value  T
	Source Source
}

// String formats the value and its source, e.g. "required (ami)".
func (v Value[T]) String() string { return fmt.Sprintf("%v (%v)", v.Value, v.Source) }

// Effective is what a new instance gets, value by value.
type Effective struct {
	HTTPTokens           Value[types.HttpTokensState]
	HopLimit             Value[int32]
	HTTPEndpoint         Value[types.InstanceMetadataEndpointState]
	HTTPProtocolIPv6     Value[types.InstanceMetadataProtocolState]
	InstanceMetadataTags Value[types.InstanceMetadataTagsState]
}

// Options returns the resolved values as EC2 reports them for an instance,
// with State "applied".
func (e Effective) Options() *types.InstanceMetadataOptionsResponse {
	return &types.InstanceMetadataOptionsResponse{
		HttpTokens:              e.HTTPTokens.Value,
		HttpPutResponseHopLimit: aws.Int32(e.HopLimit.Value),
		HttpEndpoint:            e.HTTPEndpoint.Value,
		HttpProtocolIpv6:        e.HTTPProtocolIPv6.Value,
		InstanceMetadataTags:    e.InstanceMetadataTags.Value,
		State:                   types.InstanceMetadataOptionsStateApplied,
	}
}

// String formats the five values with their sources on one line, e.g.
// "HttpTokens=required(ami) HttpPutResponseHopLimit=1(account) ...".
func (e Effective) String() string {
	return fmt.Sprintf("HttpTokens=%v(%v) HttpPutResponseHopLimit=%v(%v) HttpEndpoint=%v(%v) HttpProtocolIpv6=%v(%v) InstanceMetadataTags=%v(%v)",
		e.HTTPTokens.Value, e.HTTPTokens.Source, e.HopLimit.Value, e.HopLimit.Source,
		e.HTTPEndpoint.Value, e.HTTPEndpoint.Source, e.HTTPProtocolIPv6.Value, e.HTTPProtocolIPv6.Source,
		e.InstanceMetadataTags.Value, e.InstanceMetadataTags.Source)
}

// EC2's built-in defaults, and what an AMI with ImdsSupport v2.0 implies.
const (
	defaultHopLimit   = 1
	imdsV2AMIHopLimit = 2
)

// Resolve returns the metadata options a new instance launched with l gets,
// each option resolved on its own in EC2's order: the launch parameters,
// the launch template (which the launch parameters override field by
// field), the account default, the AMI (HttpTokens and the hop limit only),
// then EC2's defaults. Enforcement is checked after: when the account has
// HttpTokensEnforced "enabled" and HttpTokens resolves to anything but
// "required", EC2 refuses the launch, and Resolve returns the Effective it
// found with an error matching ErrIMDSv2Enforced. A template value, account
// default or ImdsSupport value EC2 does not define is an error matching
// ErrInvalid.
func Resolve(l Launch) (Effective, error) {
	acct := l.Account
	if acct == nil {
		acct = &types.InstanceMetadataDefaultsResponse{}
	}
	tmpl, err := templateSet(l.Template)
	if err := errors.Join(err, validateLaunch(l.ImdsSupport, acct)); err != nil {
		return Effective{}, err
	}
	amiV2 := l.ImdsSupport == types.ImdsSupportValuesV20
	o := l.Options
	var e Effective

	amiTokens, amiHop := types.HttpTokensState(""), int32(0)
	if amiV2 {
		amiTokens, amiHop = types.HttpTokensStateRequired, imdsV2AMIHopLimit
	}
	e.HTTPTokens = pick(o.tokens, tmpl.tokens, acct.HttpTokens, amiTokens, types.HttpTokensStateOptional)
	// -1 means no preference when setting the account default; Get reports
	// no preference as an absent value, but both are taken here.
	acctHop := aws.ToInt32(acct.HttpPutResponseHopLimit)
	if acctHop < 0 {
		acctHop = 0
	}
	e.HopLimit = pick(o.hop, tmpl.hop, acctHop, amiHop, defaultHopLimit)
	e.HTTPEndpoint = pick(o.endpoint, tmpl.endpoint, acct.HttpEndpoint, "", types.InstanceMetadataEndpointStateEnabled)
	// The account defaults have no IPv6 field.
	e.HTTPProtocolIPv6 = pick(o.ipv6, tmpl.ipv6, "", "", types.InstanceMetadataProtocolStateDisabled)
	e.InstanceMetadataTags = pick(o.tags, tmpl.tags, acct.InstanceMetadataTags, "", types.InstanceMetadataTagsStateDisabled)

	if acct.HttpTokensEnforced == types.HttpTokensEnforcedStateEnabled && e.HTTPTokens.Value != types.HttpTokensStateRequired {
		return e, fmt.Errorf("imdsopts: HttpTokens %q (from %v): %w: EC2 refuses the launch", e.HTTPTokens.Value, e.HTTPTokens.Source, ErrIMDSv2Enforced)
	}
	return e, nil
}

// pick returns the first of launch, template, account, ami that is set
// (not the zero value), with its source, else def.
func pick[T comparable](launch, template, account, ami, def T) Value[T] {
	var zero T
	switch {
	case launch != zero:
		return Value[T]{launch, SourceLaunch}
	case template != zero:
		return Value[T]{template, SourceTemplate}
	case account != zero:
		return Value[T]{account, SourceAccount}
	case ami != zero:
		return Value[T]{ami, SourceAMI}
	default:
		return Value[T]{def, SourceDefault}
	}
}

func validateLaunch(ami types.ImdsSupportValues, acct *types.InstanceMetadataDefaultsResponse) error {
	var errs []error
	if ami != "" {
		errs = append(errs, checkEnum("ImdsSupport", &ami))
	}
	sp := spec{
		tokens:   nonEmpty(acct.HttpTokens),
		endpoint: nonEmpty(acct.HttpEndpoint),
		tags:     nonEmpty(acct.InstanceMetadataTags),
	}
	if h := acct.HttpPutResponseHopLimit; h != nil && *h != -1 {
		sp.hop = h
	}
	if err := sp.validate(); err != nil {
		errs = append(errs, fmt.Errorf("account default: %w", err))
	}
	if acct.HttpTokensEnforced != "" {
		errs = append(errs, checkEnum("HttpTokensEnforced", &acct.HttpTokensEnforced))
	}
	return errors.Join(errs...)
}

// templateSet returns a launch template's MetadataOptions as the Set of
// the fields it gives, checked as New checks them; field names in errors
// start with "LaunchTemplate.".
func templateSet(m *types.LaunchTemplateInstanceMetadataOptions) (Set, error) {
	if m == nil {
		return Set{}, nil
	}
	s, err := responseSet(&types.InstanceMetadataOptionsResponse{HttpTokens: types.HttpTokensState(m.HttpTokens),
		HttpPutResponseHopLimit: m.HttpPutResponseHopLimit, HttpEndpoint: types.InstanceMetadataEndpointState(m.HttpEndpoint),
		HttpProtocolIpv6:     types.InstanceMetadataProtocolState(m.HttpProtocolIpv6),
		InstanceMetadataTags: types.InstanceMetadataTagsState(m.InstanceMetadataTags)})
	if err == nil {
		err = s.Validate()
	}
	if err != nil {
		return Set{}, fmt.Errorf("launch template: %w", err)
	}
	return s, nil
}

// LaunchAPI is the part of *ec2.Client that LaunchForImage calls.
type LaunchAPI interface {
	GetInstanceMetadataDefaults(ctx context.Context, params *ec2.GetInstanceMetadataDefaultsInput, optFns ...func(*ec2.Options)) (*ec2.GetInstanceMetadataDefaultsOutput, error)
	DescribeImages(ctx context.Context, params *ec2.DescribeImagesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeImagesOutput, error)
}

// LaunchForImage fetches what decides the options of an instance launched
// from imageID with the launch parameters s: the account's defaults
// (GetInstanceMetadataDefaults) and the image's ImdsSupport (DescribeImages).
// Pass the result to [Resolve]. optFns are the SDK's per-call options, passed
// to both calls. Any error from either call is returned wrapped, never taken
// as "no preference"; an image EC2 does not return is an error. A nil ctx or
// api is an error matching ErrInvalid.
func LaunchForImage(ctx context.Context, api LaunchAPI, imageID string, s Set, optFns ...func(*ec2.Options)) (Launch, error) {
	if ctx == nil {
		return Launch{}, misuse("ctx", "nil", "must be a context.Context")
	}
	if err := checkClient("api", api); err != nil {
		return Launch{}, err
	}
	defaults, err := api.GetInstanceMetadataDefaults(ctx, &ec2.GetInstanceMetadataDefaultsInput{}, optFns...)
	if err != nil {
		return Launch{}, fmt.Errorf("imdsopts: get account metadata defaults: %w", err)
	}
	images, err := api.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{imageID}}, optFns...)
	if err != nil {
		return Launch{}, fmt.Errorf("imdsopts: describe image %s: %w", check.Quote(imageID), err)
	}
	for _, img := range images.Images {
		if aws.ToString(img.ImageId) == imageID {
			return Launch{Options: s, Account: defaults.AccountLevel, ImdsSupport: img.ImdsSupport}, nil
		}
	}
	return Launch{}, fmt.Errorf("imdsopts: describe image %s: not returned by EC2", check.Quote(imageID))
}

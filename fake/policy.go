package fake

import (
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// DeclarativePolicy is the part of an AWS Organizations declarative policy
// for EC2 that manages an account's default instance metadata options. Set
// it with [EC2.SetDeclarativePolicy]. A zero field means no preference.
type DeclarativePolicy struct {
	// HttpTokens is the default HttpTokens: optional, required, or empty.
	HttpTokens types.HttpTokensState

	// HttpPutResponseHopLimit is the default hop limit: 1 to 64, or 0.
	HttpPutResponseHopLimit int32

	// HttpEndpoint is the default HttpEndpoint: enabled, disabled, or
	// empty.
	HttpEndpoint types.InstanceMetadataEndpointState

	// InstanceMetadataTags is the default InstanceMetadataTags: enabled,
	// disabled, or empty.
	InstanceMetadataTags types.InstanceMetadataTagsState

	// HttpTokensEnforced enforces IMDSv2 at launch when enabled: enabled,
	// disabled, or empty.
	HttpTokensEnforced types.HttpTokensEnforcedState

	// ManagedExceptionMessage is the policy's own message to users, which
	// GetInstanceMetadataDefaults reports and the refusals the policy
	// causes carry.
	ManagedExceptionMessage string
}

// defaultManagedMessage is the message of a refused
// ModifyInstanceMetadataDefaults when the policy has none of its own: EC2's
// description of ManagedBy "declarative-policy".
const defaultManagedMessage = "The IMDS default settings are managed by a declarative policy and can't be modified by the account."

// managedDefaults are account defaults set by a declarative policy.
type managedDefaults struct {
	defaults accountDefaults
	message  string
}

// SetDeclarativePolicy makes the account's default instance metadata options
// managed by the declarative policy p, or, when p is nil, by the account
// again. While a policy manages them:
//
//   - GetInstanceMetadataDefaults answers the policy's defaults, with
//     ManagedBy "declarative-policy" and the policy's
//     ManagedExceptionMessage;
//   - launches resolve their metadata options against the policy's
//     defaults, and its HttpTokensEnforced enforces IMDSv2 as the account's
//     own setting would;
//   - ModifyInstanceMetadataDefaults is refused with UnsupportedOperation
//     (HTTP 400) carrying the policy's ManagedExceptionMessage.
//
// The policy replaces the account's defaults whole: a field it leaves zero
// is no preference, whatever the account had set. The account's own
// defaults are kept, and apply again once the policy is removed. (Both are
// unverified, as is the error code of the refusal: EC2 documents that such
// defaults "can't be modified by the account", but not the error it
// answers; UnsupportedOperation is a client error that callers do not
// retry.)
//
// SetDeclarativePolicy is seeding, not an API call: it is not counted,
// throttled or affected by FailNext or Deny. It returns an error, and
// changes nothing, when a field has a value EC2 does not accept.
func (f *EC2) SetDeclarativePolicy(p *DeclarativePolicy) error {
	if p == nil {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.managed = nil
		return nil
	}
	if err := p.validate(); err != nil {
		return err
	}
	m := &managedDefaults{
		defaults: accountDefaults{
			tokens:   p.HttpTokens,
			hop:      p.HttpPutResponseHopLimit,
			endpoint: p.HttpEndpoint,
			tags:     p.InstanceMetadataTags,
			enforced: p.HttpTokensEnforced,
		},
		message: p.ManagedExceptionMessage,
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.managed = m
	return nil
}

// validate checks the values of a policy.
func (p *DeclarativePolicy) validate() error {
	bad := func(field string, v any, rule string) error {
		return fmt.Errorf("fake: DeclarativePolicy.%s %q: must be %s", field, fmt.Sprint(v), rule)
	}
	switch p.HttpTokens {
	case "", types.HttpTokensStateOptional, types.HttpTokensStateRequired:
	default:
		return bad("HttpTokens", p.HttpTokens, `optional, required or empty`)
	}
	if h := p.HttpPutResponseHopLimit; h != 0 && (h < minHopLimit || h > maxHopLimit) {
		return bad("HttpPutResponseHopLimit", h, "1..64, or 0 for no preference")
	}
	switch p.HttpEndpoint {
	case "", types.InstanceMetadataEndpointStateEnabled, types.InstanceMetadataEndpointStateDisabled:
	default:
		return bad("HttpEndpoint", p.HttpEndpoint, "enabled, disabled or empty")
	}
	switch p.InstanceMetadataTags {
	case "", types.InstanceMetadataTagsStateEnabled, types.InstanceMetadataTagsStateDisabled:
	default:
		return bad("InstanceMetadataTags", p.InstanceMetadataTags, "enabled, disabled or empty")
	}
	switch p.HttpTokensEnforced {
	case "", types.HttpTokensEnforcedStateEnabled, types.HttpTokensEnforcedStateDisabled:
	default:
		return bad("HttpTokensEnforced", p.HttpTokensEnforced, "enabled, disabled or empty")
	}
	return nil
}

// accountDefaults returns the defaults in force: the policy's, if one
// manages them, else the account's own. f.mu must be held.
func (f *EC2) accountDefaults() accountDefaults {
	if f.managed != nil {
		return f.managed.defaults
	}
	return f.defaults
}

// enforcementMessage returns msg, followed by the policy's own message when
// a declarative policy manages the defaults. (Whether EC2 adds the policy's
// message to enforcement refusals is unverified.) f.mu must be held.
func (f *EC2) enforcementMessage(msg string) string {
	if f.managed != nil && f.managed.message != "" {
		return msg + " " + f.managed.message
	}
	return msg
}

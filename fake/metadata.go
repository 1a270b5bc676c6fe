package fake

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// The refusals of account enforcement of IMDSv2 (HttpTokensEnforced).
const (
	// msgEnforced is the message EC2 documents for a launch refused by
	// enforcement (User Guide, "Troubleshoot instance launch issues"); the
	// User Guide's troubleshooting of a ModifyInstanceMetadataOptions
	// refused by enforcement shows the same text, so the fake answers both
	// with it.
	msgEnforced = "You can't launch instances with IMDSv1 because httpTokensEnforced is enabled for this account. " +
		"Either launch the instance with httpTokens=required or contact your account owner to disable httpTokensEnforced " +
		"using the ModifyInstanceMetadataDefaults API or the account settings in the EC2 console."

	// msgModifyEnforcedReported is the wording one third-party source
	// reports for a ModifyInstanceMetadataOptions refused by enforcement
	// (weak: not in AWS's documentation). Options.ReportedModifyEnforcedMessage
	// answers it instead of msgEnforced.
	msgModifyEnforcedReported = "You can't set httpTokens to 'optional' because httpTokensEnforced is enabled for this account."
)

// msgXenIPv6 is EC2's refusal of HttpProtocolIpv6 enabled on a Xen instance
// type, as reported (aws-ec2-imdsv2-get, pull request 6), with code
// UnsupportedOperation.
const msgXenIPv6 = "The HttpProtocolIpv6 metadata option cannot be enabled for Xen-backed instance types."

// xenFamilies are the instance families built on the Xen hypervisor, as the
// EC2 User Guide lists them; "The IPv6 endpoint is only supported on
// Nitro-based instances" (documented). G3s sizes (g3s.xlarge) belong to the
// G3 family.
var xenFamilies = map[string]bool{
	"m1": true, "m2": true, "m3": true, "m4": true, "t1": true, "t2": true,
	"c1": true, "c3": true, "c4": true,
	"r3": true, "r4": true, "x1": true, "x1e": true,
	"d2": true, "h1": true, "i2": true, "i3": true,
	"f1": true, "g3": true, "g3s": true, "p2": true, "p3": true,
}

// xenBacked reports whether instances of type t run on Xen: those of the
// Xen families, except their bare metal sizes (i3.metal), which are Nitro,
// as are p3dn.24xlarge (family p3dn) and A1. An empty or unknown type is
// not Xen.
func xenBacked(t types.InstanceType) bool {
	family, size, ok := strings.Cut(strings.ToLower(string(t)), ".")
	return ok && xenFamilies[family] && !strings.HasPrefix(size, "metal")
}

// checkXenIPv6 refuses options with the IPv6 endpoint enabled on a Xen
// instance type, as EC2 does at launch and on modification.
func checkXenIPv6(op string, ipv6 types.InstanceMetadataProtocolState, t types.InstanceType) error {
	if ipv6 == types.InstanceMetadataProtocolStateEnabled && xenBacked(t) {
		return badRequest(op, codeUnsupported, "%s", msgXenIPv6)
	}
	return nil
}

// imdsTagKey is the syntax EC2 requires of every tag key of an instance
// whose tags are in its instance metadata (InstanceMetadataTags enabled);
// the keys ".", ".." and "_index" are reserved besides.
var imdsTagKey = regexp.MustCompile(`^[0-9a-zA-Z\-_+=,.@:]{1,255}$`)

// checkIMDSTagKeys refuses tags when one of their keys cannot be a name in
// the instance metadata, with EC2's code and message (aws-cli issue 8825
// for a modification, karpenter-provider-aws issues 1527 and 7012 for
// launches). Keys with a slash, routine on EKS nodes
// (kubernetes.io/cluster/NAME, karpenter.sh/nodepool), are such keys.
func checkIMDSTagKeys(op string, tags []types.Tag) error {
	for _, t := range tags {
		k := aws.ToString(t.Key)
		if imdsTagKey.MatchString(k) && k != "." && k != ".." && k != "_index" {
			continue
		}
		return badRequest(op, codeInvalidParameterValue,
			`'%s' is not a valid tag key. Tag keys must match pattern ([0-9a-zA-Z\-_+=,.@:]{1,255}), and must not be a reserved name ('.', '..', '_index')`, k)
	}
	return nil
}

// Limits of HttpPutResponseHopLimit.
const (
	minHopLimit = 1
	maxHopLimit = 64
)

// metadataOptions are the five instance metadata options of an instance.
type metadataOptions struct {
	tokens   types.HttpTokensState
	hop      int32
	endpoint types.InstanceMetadataEndpointState
	ipv6     types.InstanceMetadataProtocolState
	tags     types.InstanceMetadataTagsState
}

// builtinOptions are the options of an instance when neither the launch, the
// account defaults nor the AMI set them.
var builtinOptions = metadataOptions{
	tokens:   types.HttpTokensStateOptional,
	hop:      1,
	endpoint: types.InstanceMetadataEndpointStateEnabled,
	ipv6:     types.InstanceMetadataProtocolStateDisabled,
	tags:     types.InstanceMetadataTagsStateDisabled,
}

func (o metadataOptions) response(state types.InstanceMetadataOptionsState) *types.InstanceMetadataOptionsResponse {
	return &types.InstanceMetadataOptionsResponse{
		HttpTokens:              o.tokens,
		HttpPutResponseHopLimit: aws.Int32(o.hop),
		HttpEndpoint:            o.endpoint,
		HttpProtocolIpv6:        o.ipv6,
		InstanceMetadataTags:    o.tags,
		State:                   state,
	}
}

// accountDefaults are the account-level defaults for the Region; a zero
// field means no preference.
type accountDefaults struct {
	tokens   types.HttpTokensState
	hop      int32
	endpoint types.InstanceMetadataEndpointState
	tags     types.InstanceMetadataTagsState
	enforced types.HttpTokensEnforcedState
}

// enforcing reports whether the account requires IMDSv2 on every instance.
func (d accountDefaults) enforcing() bool {
	return d.enforced == types.HttpTokensEnforcedStateEnabled
}

// metadataRequest is the metadata options part of a RunInstances or
// ModifyInstanceMetadataOptions request; zero fields were omitted.
type metadataRequest struct {
	tokens   types.HttpTokensState
	hop      *int32
	endpoint types.InstanceMetadataEndpointState
	ipv6     types.InstanceMetadataProtocolState
	tags     types.InstanceMetadataTagsState
}

// launchRequest returns the metadata options of a launch: RunInstances'
// MetadataOptions, or Launch's; nil gives none.
func launchRequest(m *types.InstanceMetadataOptionsRequest) metadataRequest {
	if m == nil {
		return metadataRequest{}
	}
	return metadataRequest{tokens: m.HttpTokens, hop: m.HttpPutResponseHopLimit, endpoint: m.HttpEndpoint,
		ipv6: m.HttpProtocolIpv6, tags: m.InstanceMetadataTags}
}

// validate checks the values of a metadata options request.
func (r metadataRequest) validate(op string) error {
	if err := checkEnum(op, "HttpTokens", r.tokens, types.HttpTokensStateOptional, types.HttpTokensStateRequired); err != nil {
		return err
	}
	if r.hop != nil && (*r.hop < minHopLimit || *r.hop > maxHopLimit) {
		return invalidValue(op, "HttpPutResponseHopLimit", *r.hop)
	}
	if err := checkEnum(op, "HttpEndpoint", r.endpoint, types.InstanceMetadataEndpointStateEnabled, types.InstanceMetadataEndpointStateDisabled); err != nil {
		return err
	}
	if err := checkEnum(op, "HttpProtocolIpv6", r.ipv6, types.InstanceMetadataProtocolStateEnabled, types.InstanceMetadataProtocolStateDisabled); err != nil {
		return err
	}
	if err := checkEnum(op, "InstanceMetadataTags", r.tags, types.InstanceMetadataTagsStateEnabled, types.InstanceMetadataTagsStateDisabled); err != nil {
		return err
	}
	if r.ipv6 == types.InstanceMetadataProtocolStateEnabled && r.endpoint == types.InstanceMetadataEndpointStateDisabled {
		return badRequest(op, codeInvalidCombination,
			"The parameter HttpProtocolIpv6 cannot be enabled when HttpEndpoint is disabled.")
	}
	return nil
}

// checkEndpoint refuses a modification that sets HttpTokens, the hop limit
// or HttpProtocolIpv6 while the instance's endpoint, as the request leaves
// it, is disabled: EC2 documents that a value for any of them needs
// HttpEndpoint enabled. What EC2 answers when the request omits HttpEndpoint
// on an instance whose endpoint is disabled is not documented; the fake
// refuses (see Options.AcceptOptionsOnDisabledEndpoint).
func (r metadataRequest) checkEndpoint(op string, current metadataOptions) error {
	if r.mergeInto(current).endpoint != types.InstanceMetadataEndpointStateDisabled {
		return nil
	}
	var set []string
	if r.tokens != "" {
		set = append(set, "HttpTokens")
	}
	if r.hop != nil {
		set = append(set, "HttpPutResponseHopLimit")
	}
	if r.ipv6 != "" {
		set = append(set, "HttpProtocolIpv6")
	}
	if len(set) == 0 {
		return nil
	}
	return badRequest(op, codeInvalidCombination,
		"%s cannot be specified while the instance metadata endpoint is disabled: set HttpEndpoint to enabled in the same request.",
		strings.Join(set, ", "))
}

// mergeInto returns o with the options the request sets; omitted ones keep
// their value in o.
func (r metadataRequest) mergeInto(o metadataOptions) metadataOptions {
	if r.tokens != "" {
		o.tokens = r.tokens
	}
	if r.hop != nil {
		o.hop = *r.hop
	}
	if r.endpoint != "" {
		o.endpoint = r.endpoint
	}
	if r.ipv6 != "" {
		o.ipv6 = r.ipv6
	}
	if r.tags != "" {
		o.tags = r.tags
	}
	return o
}

// resolveAtLaunch resolves each option on its own in EC2's order of
// precedence: the launch request, else the account default where set, else
// the AMI (HttpTokens and hop limit only: ImdsSupport v2.0 gives required and
// 2), else the built-in default.
func resolveAtLaunch(req metadataRequest, d accountDefaults, im *image) metadataOptions {
	o := builtinOptions
	if im.imdsSupport == types.ImdsSupportValuesV20 {
		o.tokens, o.hop = types.HttpTokensStateRequired, 2
	}
	o = metadataRequest{tokens: d.tokens, endpoint: d.endpoint, tags: d.tags}.mergeInto(o)
	if d.hop != 0 {
		o.hop = d.hop
	}
	return req.mergeInto(o)
}

// checkEnum answers InvalidParameterValue unless v is empty (omitted) or
// exactly one of allowed.
func checkEnum[T ~string](op, name string, v T, allowed ...T) error {
	if v == "" || slices.Contains(allowed, v) {
		return nil
	}
	return invalidValue(op, name, v)
}

// GetInstanceMetadataDefaults returns the account-level defaults for instance
// metadata options. Only the fields that are set are present; an absent field
// means no preference. ManagedBy is "account", or "declarative-policy" with
// the policy's defaults and ManagedExceptionMessage while a
// [DeclarativePolicy] manages them.
func (f *EC2) GetInstanceMetadataDefaults(ctx context.Context, params *ec2.GetInstanceMetadataDefaultsInput, optFns ...func(*ec2.Options)) (*ec2.GetInstanceMetadataDefaultsOutput, error) {
	const op = opGetInstanceMetadataDefaults
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(ctx, op, anyRequest); err != nil {
		return nil, err
	}
	if params != nil && dryRun(params.DryRun) {
		return nil, dryRunError(op)
	}
	d := f.accountDefaults()
	level := &types.InstanceMetadataDefaultsResponse{
		HttpTokens:           d.tokens,
		HttpEndpoint:         d.endpoint,
		InstanceMetadataTags: d.tags,
		HttpTokensEnforced:   d.enforced,
		ManagedBy:            types.ManagedByAccount,
	}
	if f.managed != nil {
		level.ManagedBy = types.ManagedByDeclarativePolicy
		if msg := f.managed.message; msg != "" {
			level.ManagedExceptionMessage = aws.String(msg)
		}
	}
	if d.hop != 0 {
		level.HttpPutResponseHopLimit = aws.Int32(d.hop)
	}
	return &ec2.GetInstanceMetadataDefaultsOutput{AccountLevel: level}, nil
}

// ModifyInstanceMetadataDefaults changes the account-level defaults for
// instance metadata options, which apply to later launches only. Omitted
// fields keep their value; "no-preference" (or -1 for the hop limit) clears
// one. While a [DeclarativePolicy] manages the defaults, a valid request is
// refused with UnsupportedOperation carrying the policy's message (checked
// after the values and before DryRun).
func (f *EC2) ModifyInstanceMetadataDefaults(ctx context.Context, params *ec2.ModifyInstanceMetadataDefaultsInput, optFns ...func(*ec2.Options)) (*ec2.ModifyInstanceMetadataDefaultsOutput, error) {
	const op = opModifyInstanceMetadataDefaults
	f.mu.Lock()
	defer f.mu.Unlock()
	params, err := begun(params, f.begin(ctx, op, anyRequest))
	if err != nil {
		return nil, err
	}
	p := params
	if err := checkEnum(op, "HttpTokens", p.HttpTokens, types.MetadataDefaultHttpTokensStateOptional,
		types.MetadataDefaultHttpTokensStateRequired, types.MetadataDefaultHttpTokensStateNoPreference); err != nil {
		return nil, err
	}
	if h := p.HttpPutResponseHopLimit; h != nil && *h != -1 && (*h < minHopLimit || *h > maxHopLimit) {
		return nil, invalidValue(op, "HttpPutResponseHopLimit", *h)
	}
	if err := checkEnum(op, "HttpEndpoint", p.HttpEndpoint, types.DefaultInstanceMetadataEndpointStateEnabled,
		types.DefaultInstanceMetadataEndpointStateDisabled, types.DefaultInstanceMetadataEndpointStateNoPreference); err != nil {
		return nil, err
	}
	if err := checkEnum(op, "InstanceMetadataTags", p.InstanceMetadataTags, types.DefaultInstanceMetadataTagsStateEnabled,
		types.DefaultInstanceMetadataTagsStateDisabled, types.DefaultInstanceMetadataTagsStateNoPreference); err != nil {
		return nil, err
	}
	if err := checkEnum(op, "HttpTokensEnforced", p.HttpTokensEnforced, types.DefaultHttpTokensEnforcedStateEnabled,
		types.DefaultHttpTokensEnforcedStateDisabled, types.DefaultHttpTokensEnforcedStateNoPreference); err != nil {
		return nil, err
	}
	if f.managed != nil {
		msg := f.managed.message
		if msg == "" {
			msg = defaultManagedMessage
		}
		return nil, badRequest(op, codeUnsupported, "%s", msg)
	}
	if dryRun(p.DryRun) {
		return nil, dryRunError(op)
	}
	d := &f.defaults
	setDefault(&d.tokens, string(p.HttpTokens))
	setDefault(&d.endpoint, string(p.HttpEndpoint))
	setDefault(&d.tags, string(p.InstanceMetadataTags))
	setDefault(&d.enforced, string(p.HttpTokensEnforced))
	if h := p.HttpPutResponseHopLimit; h != nil {
		d.hop = max(*h, 0) // -1 clears
	}
	return &ec2.ModifyInstanceMetadataDefaultsOutput{Return: aws.Bool(true)}, nil
}

// setDefault stores an account default from a validated request value:
// empty keeps the stored value, "no-preference" clears it.
func setDefault[T ~string](dst *T, v string) {
	switch v {
	case "":
	case "no-preference":
		*dst = ""
	default:
		*dst = T(v)
	}
}

// ModifyInstanceMetadataOptions changes the metadata options of an existing
// instance. Omitted fields keep their value. The new values are stored at
// once and the answer always reports them with State "pending", as EC2's
// does, also when Options.ApplyDelay is 0. DescribeInstances reports a
// running instance's change "applied" once ApplyDelay has passed (at once
// when it is 0), and a stopped instance's when it is started.
//
// When the account enforces IMDSv2 (HttpTokensEnforced enabled), a request
// that would enable IMDSv1 on an instance that has it disabled (HttpTokens
// required to optional) is refused with UnsupportedOperation, and the
// message the User Guide shows for it (the launch's; see
// Options.ReportedModifyEnforcedMessage for the other wording reported). An
// instance that already allows IMDSv1 can still be modified, HttpTokens
// optional included.
//
// A request that sets HttpTokens, HttpPutResponseHopLimit or
// HttpProtocolIpv6 while the endpoint is disabled, on the instance and not
// enabled by the request's HttpEndpoint, or by the request's HttpEndpoint
// disabled, is refused with InvalidParameterCombination. EC2 documents that
// a value for any of them needs HttpEndpoint enabled; its answer when the
// request just omits HttpEndpoint is not documented, and refusing is the
// stricter reading (Options.AcceptOptionsOnDisabledEndpoint accepts it).
//
// HttpProtocolIpv6 enabled on an instance of a Xen instance type (t2, m4,
// c4, i3 but not i3.metal...) is refused with UnsupportedOperation, as EC2
// documents (the IPv6 endpoint is Nitro only) and answers.
//
// InstanceMetadataTags enabled on an instance with a tag key that cannot be
// a name in the instance metadata (one outside [0-9a-zA-Z\-_+=,.@:]{1,255},
// such as kubernetes.io/cluster/NAME, or ".", ".." or "_index") is refused
// with InvalidParameterValue and EC2's message naming the key.
//
// Checks run in this order: permission, InstanceId syntax, option values,
// the instance's existence (a just-launched instance within
// Options.PropagationDelay is not found yet), the disabled endpoint, IPv6
// on Xen, the tag keys, account enforcement of IMDSv2, the instance's
// state, and finally DryRun (the order of the checks between existence and
// DryRun is unverified).
func (f *EC2) ModifyInstanceMetadataOptions(ctx context.Context, params *ec2.ModifyInstanceMetadataOptionsInput, optFns ...func(*ec2.Options)) (*ec2.ModifyInstanceMetadataOptionsOutput, error) {
	const op = opModifyInstanceMetadataOptions
	f.mu.Lock()
	defer f.mu.Unlock()
	params, err := begun(params, f.begin(ctx, op, anyRequest))
	if err != nil {
		return nil, err
	}
	// The SDK itself refuses a request without InstanceId before sending it;
	// the fake answers it like EC2 would, to keep every error an API error.
	id := aws.ToString(params.InstanceId)
	if id == "" {
		return nil, missingParameter(op, "InstanceId")
	}
	if !isHexID(id, "i") {
		return nil, instanceMalformed(op, id)
	}
	req := metadataRequest{
		tokens:   params.HttpTokens,
		hop:      params.HttpPutResponseHopLimit,
		endpoint: params.HttpEndpoint,
		ipv6:     params.HttpProtocolIpv6,
		tags:     params.InstanceMetadataTags,
	}
	if err := req.validate(op); err != nil {
		return nil, err
	}
	now := time.Now()
	inst := f.instances[id]
	if inst == nil || !inst.visible(now) {
		return nil, instancesNotFound(op, []string{id})
	}
	if !f.opts.AcceptOptionsOnDisabledEndpoint {
		if err := req.checkEndpoint(op, inst.md); err != nil {
			return nil, err
		}
	}
	if err := checkXenIPv6(op, req.ipv6, inst.instanceType); err != nil {
		return nil, err
	}
	if req.mergeInto(inst.md).tags == types.InstanceMetadataTagsStateEnabled {
		if err := checkIMDSTagKeys(op, inst.tags); err != nil {
			return nil, err
		}
	}
	// Enforcement blocks only enabling IMDSv1 on an instance that has it
	// disabled. The instance's HttpTokens is its newest value, pending or
	// applied: after a change to required, going back is refused even
	// before the change applies (EC2's behaviour there is unverified; this
	// is the stricter reading).
	if f.accountDefaults().enforcing() && req.tokens == types.HttpTokensStateOptional && inst.md.tokens == types.HttpTokensStateRequired {
		msg := msgEnforced
		if f.opts.ReportedModifyEnforcedMessage {
			msg = msgModifyEnforcedReported
		}
		return nil, badRequest(op, codeUnsupported, "%s", f.enforcementMessage(msg))
	}
	if inst.state == types.InstanceStateNameTerminated || inst.state == types.InstanceStateNameShuttingDown {
		return nil, incorrectState(op, id, "modified")
	}
	if dryRun(params.DryRun) {
		return nil, dryRunError(op)
	}
	inst.setOptions(req.mergeInto(inst.md), now, f.opts.ApplyDelay)
	if req.tokens == types.HttpTokensStateRequired && inst.lateIMDSv1 > 0 {
		inst.imdsv1 = append(inst.imdsv1, callRate{at: now, perMinute: inst.lateIMDSv1})
		inst.lateIMDSv1 = 0
	}
	// EC2 answers "pending" whatever the delay; DescribeInstances tells
	// when the change is applied.
	return &ec2.ModifyInstanceMetadataOptionsOutput{
		InstanceId:              aws.String(id),
		InstanceMetadataOptions: inst.md.response(types.InstanceMetadataOptionsStatePending),
	}, nil
}

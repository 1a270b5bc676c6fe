package account

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/imdsopts/imdsopts"
	"github.com/imdsopts/imdsopts/internal/check"
	"github.com/imdsopts/imdsopts/internal/pace"
	"github.com/imdsopts/imdsopts/internal/retry"
)

// NoPreferenceHopLimit is the hop limit that clears the account's default
// hop limit (ModifyInstanceMetadataDefaults takes -1 for no preference).
const NoPreferenceHopLimit = -1

// Defaults is an immutable, validated set of account-level default
// instance metadata options for a Region: the values a caller wants
// ModifyInstanceMetadataDefaults to set. A field it does not hold is left
// as it is; every field also takes "no-preference" (-1 for the hop limit),
// which clears it. Build one with [NewDefaults]; Defaults are comparable
// with ==. Account defaults apply to later launches only: they never change
// a running instance.
type Defaults struct {
	tokens   types.MetadataDefaultHttpTokensState
	hop      int32 // 0: not held; -1: no preference
	endpoint types.DefaultInstanceMetadataEndpointState
	tags     types.DefaultInstanceMetadataTagsState
	enforced types.DefaultHttpTokensEnforcedState
}

// DefaultsOption sets one field of Defaults under construction; pass them
// to NewDefaults. When two set the same field, the later one wins.
type DefaultsOption struct {
	apply func(*defaultsSpec)
}

// defaultsSpec is a Defaults under construction: nil fields were not given.
type defaultsSpec struct {
	tokens   *types.MetadataDefaultHttpTokensState
	hop      *int32
	endpoint *types.DefaultInstanceMetadataEndpointState
	tags     *types.DefaultInstanceMetadataTagsState
	enforced *types.DefaultHttpTokensEnforcedState
}

// HTTPTokens sets the default HttpTokens of new instances:
// "required", "optional" or "no-preference". A launch that gives its own
// HttpTokens (or whose template does) is not affected.
func HTTPTokens(v types.MetadataDefaultHttpTokensState) DefaultsOption {
	return DefaultsOption{func(s *defaultsSpec) { s.tokens = &v }}
}

// HopLimit sets the default HttpPutResponseHopLimit of new
// instances: 1 to 64, or NoPreferenceHopLimit (-1).
func HopLimit(n int32) DefaultsOption {
	return DefaultsOption{func(s *defaultsSpec) { s.hop = &n }}
}

// HTTPEndpoint sets the default HttpEndpoint of new instances:
// "enabled", "disabled" or "no-preference".
func HTTPEndpoint(v types.DefaultInstanceMetadataEndpointState) DefaultsOption {
	return DefaultsOption{func(s *defaultsSpec) { s.endpoint = &v }}
}

// InstanceMetadataTags sets the default InstanceMetadataTags of new
// instances: "enabled", "disabled" or "no-preference".
func InstanceMetadataTags(v types.DefaultInstanceMetadataTagsState) DefaultsOption {
	return DefaultsOption{func(s *defaultsSpec) { s.tags = &v }}
}

// HTTPTokensEnforced sets HttpTokensEnforced: "enabled" makes EC2
// refuse every launch whose HttpTokens does not resolve to "required" (and
// any change of an instance from "required" back to "optional");
// "disabled" or "no-preference" lift that.
func HTTPTokensEnforced(v types.DefaultHttpTokensEnforcedState) DefaultsOption {
	return DefaultsOption{func(s *defaultsSpec) { s.enforced = &v }}
}

// EnforceIMDSv2 is HTTPTokensEnforced("enabled"): the last step of
// a migration to IMDSv2. [SetDefaults] checks first that no launch would
// then fail (see [CheckReadiness]).
func EnforceIMDSv2() DefaultsOption {
	return HTTPTokensEnforced(types.DefaultHttpTokensEnforcedStateEnabled)
}

// NewDefaults builds Defaults from opts and validates them. When any value
// is invalid, it returns the zero Defaults and an error that lists every
// problem at once, each a [*ValidationError] that matches ErrInvalid and
// names the field as ModifyInstanceMetadataDefaults does. The zero
// DefaultsOption is invalid too.
func NewDefaults(opts ...DefaultsOption) (Defaults, error) {
	var sp defaultsSpec
	var errs []error
	for i, o := range opts {
		if o.apply == nil {
			errs = append(errs, misuse(fmt.Sprintf("DefaultsOption %d", i+1), "DefaultsOption{}",
				"must be made by an option function such as HTTPTokens"))
			continue
		}
		o.apply(&sp)
	}
	errs = append(errs, checkEnum("HttpTokens", sp.tokens))
	if sp.hop != nil && *sp.hop != NoPreferenceHopLimit && (*sp.hop < imdsopts.MinHopLimit || *sp.hop > imdsopts.MaxHopLimit) {
		errs = append(errs, &imdsopts.ValidationError{Field: "HttpPutResponseHopLimit", Value: strconv.Itoa(int(*sp.hop)),
			Rule: fmt.Sprintf("must be %d..%d, or %d for no preference", imdsopts.MinHopLimit, imdsopts.MaxHopLimit, NoPreferenceHopLimit)})
	}
	errs = append(errs, checkEnum("HttpEndpoint", sp.endpoint), checkEnum("InstanceMetadataTags", sp.tags),
		checkEnum("HttpTokensEnforced", sp.enforced))
	if err := errors.Join(errs...); err != nil {
		return Defaults{}, err
	}
	var d Defaults
	if sp.tokens != nil {
		d.tokens = *sp.tokens
	}
	if sp.hop != nil {
		d.hop = *sp.hop
	}
	if sp.endpoint != nil {
		d.endpoint = *sp.endpoint
	}
	if sp.tags != nil {
		d.tags = *sp.tags
	}
	if sp.enforced != nil {
		d.enforced = *sp.enforced
	}
	return d, nil
}

// HTTPTokens returns the HttpTokens the Defaults hold, or "" if none.
func (d Defaults) HTTPTokens() types.MetadataDefaultHttpTokensState { return d.tokens }

// HopLimit returns the hop limit the Defaults hold: 1..64, -1 for no
// preference, or 0 if none.
func (d Defaults) HopLimit() int32 { return d.hop }

// HTTPEndpoint returns the HttpEndpoint the Defaults hold, or "" if none.
func (d Defaults) HTTPEndpoint() types.DefaultInstanceMetadataEndpointState { return d.endpoint }

// InstanceMetadataTags returns the InstanceMetadataTags the Defaults hold,
// or "" if none.
func (d Defaults) InstanceMetadataTags() types.DefaultInstanceMetadataTagsState { return d.tags }

// HTTPTokensEnforced returns the HttpTokensEnforced the Defaults hold, or
// "" if none.
func (d Defaults) HTTPTokensEnforced() types.DefaultHttpTokensEnforcedState { return d.enforced }

// IsZero reports whether the Defaults hold no field, and so change nothing.
func (d Defaults) IsZero() bool { return d == Defaults{} }

// ModifyInput returns the ModifyInstanceMetadataDefaults input that sets
// the Defaults; fields they do not hold are not sent, and EC2 keeps them.
func (d Defaults) ModifyInput() *ec2.ModifyInstanceMetadataDefaultsInput {
	in := &ec2.ModifyInstanceMetadataDefaultsInput{HttpTokens: d.tokens, HttpEndpoint: d.endpoint,
		InstanceMetadataTags: d.tags, HttpTokensEnforced: d.enforced}
	if d.hop != 0 {
		in.HttpPutResponseHopLimit = aws.Int32(d.hop)
	}
	return in
}

// Changes returns the part of d that differs from current: the fields a
// ModifyInstanceMetadataDefaults call must still send. "no-preference"
// differs from a field current has set, and from nothing else. The result
// is the zero Defaults when current already is what d asks for.
func (d Defaults) Changes(current State) Defaults {
	var c Defaults
	if d.tokens != "" && string(d.tokens) != noPref(string(current.HTTPTokens)) {
		c.tokens = d.tokens
	}
	curHop := current.HopLimit
	if curHop <= 0 {
		curHop = NoPreferenceHopLimit
	}
	if d.hop != 0 && d.hop != curHop {
		c.hop = d.hop
	}
	if d.endpoint != "" && string(d.endpoint) != noPref(string(current.HTTPEndpoint)) {
		c.endpoint = d.endpoint
	}
	if d.tags != "" && string(d.tags) != noPref(string(current.InstanceMetadataTags)) {
		c.tags = d.tags
	}
	if d.enforced != "" && string(d.enforced) != noPref(string(current.HTTPTokensEnforced)) {
		c.enforced = d.enforced
	}
	return c
}

// noPref spells an empty account default (no preference) as Modify does.
func noPref(v string) string {
	if v == "" {
		return "no-preference"
	}
	return v
}

// Apply returns current with d applied: the account defaults EC2 holds
// once ModifyInstanceMetadataDefaults has set d. "no-preference" clears a
// field. ManagedBy and its message are kept.
func (d Defaults) Apply(current State) State {
	after := current
	set := func(v string, dst func(string)) {
		switch v {
		case "":
		case "no-preference":
			dst("")
		default:
			dst(v)
		}
	}
	set(string(d.tokens), func(v string) { after.HTTPTokens = types.HttpTokensState(v) })
	set(string(d.endpoint), func(v string) { after.HTTPEndpoint = types.InstanceMetadataEndpointState(v) })
	set(string(d.tags), func(v string) { after.InstanceMetadataTags = types.InstanceMetadataTagsState(v) })
	set(string(d.enforced), func(v string) { after.HTTPTokensEnforced = types.HttpTokensEnforcedState(v) })
	if d.hop != 0 {
		after.HopLimit = max(d.hop, 0)
	}
	return after
}

// String formats the fields the Defaults hold with EC2's field names, for
// example "HttpTokens=required HttpTokensEnforced=enabled"; the zero
// Defaults are "(no changes)".
func (d Defaults) String() string {
	var parts []string
	for _, f := range d.fields() {
		parts = append(parts, f.name+"="+f.value)
	}
	if len(parts) == 0 {
		return "(no changes)"
	}
	return strings.Join(parts, " ")
}

// MarshalJSON encodes the fields the Defaults hold as a JSON object with
// EC2's field names, in the order of ModifyInstanceMetadataDefaults'
// documentation; the hop limit is a number.
func (d Defaults) MarshalJSON() ([]byte, error) {
	var b strings.Builder
	b.WriteByte('{')
	for i, f := range d.fields() {
		if i > 0 {
			b.WriteByte(',')
		}
		name, _ := json.Marshal(f.name)
		b.Write(name)
		b.WriteByte(':')
		if f.name == "HttpPutResponseHopLimit" {
			b.WriteString(f.value)
			continue
		}
		v, _ := json.Marshal(f.value)
		b.Write(v)
	}
	b.WriteByte('}')
	return []byte(b.String()), nil
}

type defaultsField struct{ name, value string }

func (d Defaults) fields() []defaultsField {
	var fs []defaultsField
	add := func(name, v string) {
		if v != "" {
			fs = append(fs, defaultsField{name, v})
		}
	}
	add("HttpTokens", string(d.tokens))
	if d.hop != 0 {
		add("HttpPutResponseHopLimit", strconv.Itoa(int(d.hop)))
	}
	add("HttpEndpoint", string(d.endpoint))
	add("InstanceMetadataTags", string(d.tags))
	add("HttpTokensEnforced", string(d.enforced))
	return fs
}

// State are an account's default instance metadata options for a
// Region, as GetInstanceMetadataDefaults reports them. An empty field (0
// for the hop limit) is no preference. JSON field names are EC2's.
type State struct {
	HTTPTokens              types.HttpTokensState               `json:"HttpTokens,omitempty"`
	HopLimit                int32                               `json:"HttpPutResponseHopLimit,omitempty"`
	HTTPEndpoint            types.InstanceMetadataEndpointState `json:"HttpEndpoint,omitempty"`
	InstanceMetadataTags    types.InstanceMetadataTagsState     `json:"InstanceMetadataTags,omitempty"`
	HTTPTokensEnforced      types.HttpTokensEnforcedState       `json:"HttpTokensEnforced,omitempty"`
	ManagedBy               types.ManagedBy                     `json:"ManagedBy,omitempty"`
	ManagedExceptionMessage string                              `json:"ManagedExceptionMessage,omitempty"`
}

// Enforced reports whether the account enforces IMDSv2 at launch.
func (d State) Enforced() bool {
	return d.HTTPTokensEnforced == types.HttpTokensEnforcedStateEnabled
}

// ManagedByPolicy reports whether a declarative policy manages the
// defaults, so that the account cannot change them.
func (d State) ManagedByPolicy() bool {
	return d.ManagedBy == types.ManagedByDeclarativePolicy
}

// Response returns the defaults as GetInstanceMetadataDefaults answers
// them, for Launch.Account.
func (d State) Response() *types.InstanceMetadataDefaultsResponse {
	r := &types.InstanceMetadataDefaultsResponse{HttpTokens: d.HTTPTokens, HttpEndpoint: d.HTTPEndpoint,
		InstanceMetadataTags: d.InstanceMetadataTags, HttpTokensEnforced: d.HTTPTokensEnforced, ManagedBy: d.ManagedBy}
	if d.HopLimit > 0 {
		r.HttpPutResponseHopLimit = aws.Int32(d.HopLimit)
	}
	if d.ManagedExceptionMessage != "" {
		r.ManagedExceptionMessage = aws.String(d.ManagedExceptionMessage)
	}
	return r
}

// accountDefaults converts EC2's answer; a hop limit of -1 or absent is no
// preference. Values EC2 does not define are refused (ErrInvalid), never
// taken as no preference.
func accountDefaults(r *types.InstanceMetadataDefaultsResponse) (State, error) {
	if r == nil {
		return State{}, nil
	}
	if err := validateLaunch(r); err != nil {
		return State{}, fmt.Errorf("imdsopts: GetInstanceMetadataDefaults answered values this package does not know: %w", err)
	}
	return State{HTTPTokens: r.HttpTokens, HopLimit: max(aws.ToInt32(r.HttpPutResponseHopLimit), 0),
		HTTPEndpoint: r.HttpEndpoint, InstanceMetadataTags: r.InstanceMetadataTags, HTTPTokensEnforced: r.HttpTokensEnforced,
		ManagedBy: r.ManagedBy, ManagedExceptionMessage: aws.ToString(r.ManagedExceptionMessage)}, nil
}

// policyMessage is the message of a refusal under a declarative policy:
// the policy's own, or EC2's description of such defaults.
func (d State) policyMessage() string {
	if d.ManagedExceptionMessage != "" {
		return d.ManagedExceptionMessage
	}
	return "the IMDS default settings are managed by a declarative policy and can't be modified by the account"
}

// getDefaults reads the account defaults, paced and retried.
func (a *account) getDefaults(ctx context.Context) (State, error) {
	var out *ec2.GetInstanceMetadataDefaultsOutput
	_, err := a.call(ctx, "GetInstanceMetadataDefaults", func(ctx context.Context) error {
		var err error
		out, err = a.c.EC2.GetInstanceMetadataDefaults(ctx, &ec2.GetInstanceMetadataDefaultsInput{}, a.o.ClientOptions...)
		if err == nil && out == nil {
			err = pace.ErrNoAnswer
		}
		return err
	})
	if err != nil {
		return State{}, fmt.Errorf("imdsopts: get account metadata defaults: GetInstanceMetadataDefaults: %w", unauthorized(err))
	}
	return accountDefaults(out.AccountLevel)
}

// GetDefaults reads the account's default instance metadata options for
// the Region of c (GetInstanceMetadataDefaults), with ManagedBy and the
// policy's message. Throttling and 5xx answers are tried again; any other
// failure is an error, never "no preference". A nil ctx, no EC2 client or
// bad options are an error matching ErrInvalid, before any call.
func GetDefaults(ctx context.Context, c Clients, optFns ...func(*Options)) (State, error) {
	o := defaultAccountOptions()
	err := errors.Join(checkCtx(ctx), c.Validate(),
		accountOptions(&o, func(o *Options) *Options { return o }, "Options", optFns))
	if err != nil {
		return State{}, err
	}
	return newAccount(c, &o).getDefaults(ctx)
}

// DefaultsOptions configures [SetDefaults].
type DefaultsOptions struct {
	// Options are the settings every account operation has: pacing,
	// retries, the calls in flight.
	Options Options
	// Force enables enforcement even though the readiness check found
	// blockers: launches that resolve to HttpTokens "optional" will fail.
	Force bool
}

// DefaultsResult is what [SetDefaults] found and did.
type DefaultsResult struct {
	// Target is the account and Region the result is of.
	Target
	// Before are the defaults as read before any change.
	Before State
	// Changes are the fields that differed from Before: those sent, or
	// that would have been sent had SetDefaults not refused. The zero
	// Defaults when there was nothing to change.
	Changes Defaults
	// Sent reports whether ModifyInstanceMetadataDefaults was called
	// (whether or not it succeeded: an error after sending may still have
	// changed the defaults).
	Sent bool
	// After are the defaults once Changes are set.
	After State
	// Readiness is the readiness check run because the change enforces
	// IMDSv2; nil when it does not.
	Readiness *Readiness `json:",omitempty"`
	// Forced reports that enforcement was enabled despite blockers.
	Forced bool `json:",omitempty"`
	// Calls counts the API calls made, by operation.
	Calls map[string]int `json:"-"`
}

// SetDefaults sets the account's default instance metadata options for the
// Region of c to d, sending only what changes. It reads the current
// defaults first (GetInstanceMetadataDefaults) and:
//
//   - sends nothing when they already are d;
//   - refuses, without calling ModifyInstanceMetadataDefaults, when a
//     declarative policy manages them: the error matches
//     ErrManagedByPolicy and carries the policy's own message;
//   - when the change makes the account enforce IMDSv2 (HttpTokensEnforced
//     "enabled"), or changes the default HttpTokens while it does, runs
//     [CheckReadiness] with the new defaults first, and refuses while any
//     launch would then fail, with a [*NotReadyError] (ErrNotReady) that
//     carries the report, unless DefaultsOptions.Force is set (a check that
//     cannot complete, a listing that fails, is an error either way);
//   - otherwise sends the changing fields in one ModifyInstanceMetadataDefaults
//     call, paced to its bucket (2 a second) and retried on throttling and
//     5xx answers.
//
// The result is returned with every error after the first read, and says
// what was there before, what changed, whether it was sent, and the
// readiness report. A zero d, a nil ctx, no EC2 client or bad options are
// an error matching ErrInvalid, before any call.
func SetDefaults(ctx context.Context, c Clients, d Defaults, optFns ...func(*DefaultsOptions)) (*DefaultsResult, error) {
	o := DefaultsOptions{Options: defaultAccountOptions()}
	errs := []error{checkCtx(ctx), c.Validate(),
		accountOptions(&o, func(o *DefaultsOptions) *Options { return &o.Options }, "DefaultsOptions", optFns)}
	if d.IsZero() {
		errs = append(errs, misuse("Defaults", check.Quote(d.String()), "must hold at least one field: there is nothing to set"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	a := newAccount(c, &o.Options)
	before, err := a.getDefaults(ctx)
	if err != nil {
		return nil, err
	}
	r := &DefaultsResult{Target: c.Target, Before: before, Changes: d.Changes(before), After: before}
	defer func() { r.Calls = a.counts() }()
	if r.Changes.IsZero() {
		return r, nil
	}
	r.After = r.Changes.Apply(before)
	if before.ManagedByPolicy() {
		return r, fmt.Errorf("imdsopts: cannot set %s: %w: %s", r.Changes, ErrManagedByPolicy, before.policyMessage())
	}
	if r.After.Enforced() && (r.Changes.enforced != "" || r.Changes.tokens != "") {
		r.Readiness, err = a.readiness(ctx, r.After)
		if err != nil {
			return r, fmt.Errorf("imdsopts: readiness check before enforcing IMDSv2: %w", err)
		}
		if !r.Readiness.Ready {
			if !o.Force {
				return r, &NotReadyError{Readiness: r.Readiness}
			}
			r.Forced = true
		}
	}
	in := r.Changes.ModifyInput()
	r.Sent, err = a.call(ctx, "ModifyInstanceMetadataDefaults", func(ctx context.Context) error {
		_, err := a.c.EC2.ModifyInstanceMetadataDefaults(ctx, in, a.o.ClientOptions...)
		return err
	})
	if err != nil {
		err = fmt.Errorf("imdsopts: set account metadata defaults %s: ModifyInstanceMetadataDefaults: %w", r.Changes, unauthorized(err))
		if r.Sent && retry.MayHaveBeenMade(err) {
			err = fmt.Errorf("%w (the change was sent and may have been made: its answer was lost)", err)
		}
		return r, err
	}
	return r, nil
}

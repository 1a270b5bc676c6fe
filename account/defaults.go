package account

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imdsopts/imdsopts"
	"github.com/imdsopts/imdsopts/internal/check"
	"github.com/imdsopts/imdsopts/internal/liberr"
	"github.com/imdsopts/imdsopts/internal/pace"
	"github.com/imdsopts/imdsopts/internal/retry"
)

// Defaults are an immutable, validated set of account-level default
// instance metadata options for a Region: the values a caller wants
// ModifyInstanceMetadataDefaults to set. They are an [imdsopts.Set] of the
// values to set (without HttpProtocolIpv6, which account defaults do not
// have), extended with what only account defaults have: fields cleared to
// no preference, and HttpTokensEnforced. A field they do not hold is left as
// it is. Build them with [NewDefaults]; Defaults are comparable with ==.
// Account defaults apply to later launches only: they never change a
// running instance.
type Defaults struct {
	set      imdsopts.Set
	cleared  fieldMask // fields of set's kind cleared to no preference
	enforced types.DefaultHttpTokensEnforcedState
}

// fieldMask holds one bit for each field of an [imdsopts.Set] that account
// defaults have.
type fieldMask uint8

const (
	clearTokens fieldMask = 1 << iota
	clearHop
	clearEndpoint
	clearTags
)

// The names of the fields of the account defaults, as EC2 names them.
const (
	fieldTokens   = "HttpTokens"
	fieldHop      = "HttpPutResponseHopLimit"
	fieldEndpoint = "HttpEndpoint"
	fieldTags     = "InstanceMetadataTags"
	fieldEnforced = "HttpTokensEnforced"
)

// defaultsFieldBit is a field of the account defaults and its bit (0 for
// HttpTokensEnforced, which no Set holds).
type defaultsFieldBit struct {
	name string
	bit  fieldMask
}

// defaultsFields are the fields NoPreference takes, in the order of
// ModifyInstanceMetadataDefaults' documentation, with the bit of each
// field an imdsopts.Set holds.
var defaultsFields = []defaultsFieldBit{{fieldTokens, clearTokens}, {fieldHop, clearHop}, {fieldEndpoint, clearEndpoint}, {fieldTags, clearTags}, {fieldEnforced, 0}}

// noPreference is how EC2 spells a cleared field, noPreferenceHop a
// cleared hop limit; noPreferenceField names NoPreference's argument in a
// ValidationError.
const (
	noPreference      = "no-preference"
	noPreferenceHop   = -1
	noPreferenceField = "NoPreference"
)

// DefaultsOption adds to Defaults under construction what only account
// defaults have; pass them to NewDefaults. When two set HttpTokensEnforced,
// the later one wins.
type DefaultsOption struct {
	apply func(*defaultsSpec)
}

// defaultsSpec is the extension of Defaults under construction, with the
// problems the options found.
type defaultsSpec struct {
	cleared  fieldMask
	enforced *types.DefaultHttpTokensEnforcedState
	errs     []error
}

// NoPreference clears fields of the account defaults: ModifyInstanceMetadataDefaults
// sets them to "no-preference" (the hop limit to -1), so that new instances
// take EC2's own default, or the AMI's, again. fields are named as EC2 names
// them: "HttpTokens", "HttpPutResponseHopLimit", "HttpEndpoint",
// "InstanceMetadataTags" and "HttpTokensEnforced". NewDefaults refuses any
// other name, and a field that its Set also gives a value.
// NoPreference("HttpTokensEnforced") is HTTPTokensEnforced("no-preference"):
// of the two, the later option wins.
func NoPreference(fields ...string) DefaultsOption {
	fields = slices.Clone(fields)
	return DefaultsOption{func(sp *defaultsSpec) {
		for _, name := range fields {
			i := slices.IndexFunc(defaultsFields, func(f defaultsFieldBit) bool { return f.name == name })
			switch {
			case i < 0:
				sp.errs = append(sp.errs, &imdsopts.ValidationError{Field: noPreferenceField, Value: check.Quote(name),
					Rule: "must name a field of the account defaults: " + defaultsFieldList()})
			case name == fieldEnforced:
				v := types.DefaultHttpTokensEnforcedStateNoPreference
				sp.enforced = &v
			default:
				sp.cleared |= defaultsFields[i].bit
			}
		}
	}}
}

// defaultsFieldList lists the names NoPreference takes, quoted.
func defaultsFieldList() string {
	names := make([]string, len(defaultsFields))
	for i, f := range defaultsFields {
		names[i] = strconv.Quote(f.name)
	}
	return strings.Join(names, ", ")
}

// HTTPTokensEnforced sets HttpTokensEnforced: "enabled" makes EC2
// refuse every launch whose HttpTokens does not resolve to "required" (and
// any change of an instance from "required" back to "optional");
// "disabled" or "no-preference" lift that.
func HTTPTokensEnforced(v types.DefaultHttpTokensEnforcedState) DefaultsOption {
	return DefaultsOption{func(sp *defaultsSpec) { sp.enforced = &v }}
}

// EnforceIMDSv2 is HTTPTokensEnforced("enabled"): the last step of
// a migration to IMDSv2. [SetDefaults] checks first that no launch would
// then fail (see [CheckReadiness]).
func EnforceIMDSv2() DefaultsOption {
	return HTTPTokensEnforced(types.DefaultHttpTokensEnforcedStateEnabled)
}

// NewDefaults builds Defaults that set the values s holds, with opts adding
// what only account defaults have: [NoPreference] to clear fields,
// [HTTPTokensEnforced] or [EnforceIMDSv2] for enforcement. The zero Set with
// no opts makes the zero Defaults, which change nothing.
//
// When anything is wrong, it returns the zero Defaults and an error that
// lists every problem at once, each a [*imdsopts.ValidationError] that
// matches [imdsopts.ErrInvalid] and names the field as
// ModifyInstanceMetadataDefaults does: a Set that holds HttpProtocolIpv6
// (account defaults have no such field) or that is not valid (see
// [imdsopts.Set.Validate]), a field name NoPreference does not know, a
// field that s sets and NoPreference clears, a bad HttpTokensEnforced, or
// the zero DefaultsOption.
func NewDefaults(s imdsopts.Set, opts ...DefaultsOption) (Defaults, error) {
	var sp defaultsSpec
	var errs []error
	for i, o := range opts {
		if o.apply == nil {
			errs = append(errs, liberr.Misuse(fmt.Sprintf("DefaultsOption %d", i+1), "DefaultsOption{}",
				"must be made by an option function such as NoPreference"))
			continue
		}
		o.apply(&sp)
	}
	errs = append(errs, sp.errs...)
	if v := s.HTTPProtocolIPv6(); v != "" {
		errs = append(errs, &imdsopts.ValidationError{Field: "HttpProtocolIpv6", Value: strconv.Quote(string(v)),
			Rule: "account defaults have no such field: ModifyInstanceMetadataDefaults does not take it"})
	}
	errs = append(errs, s.Validate())
	held := heldFields(s)
	for _, f := range defaultsFields {
		if sp.cleared&held&f.bit != 0 {
			errs = append(errs, &imdsopts.ValidationError{Field: f.name, Value: setValue(s, f.bit),
				Rule: "cannot be both set (by the Set) and cleared (by NoPreference)"})
		}
	}
	errs = append(errs, checkEnum(fieldEnforced, sp.enforced))
	if err := errors.Join(errs...); err != nil {
		return Defaults{}, err
	}
	d := Defaults{set: s, cleared: sp.cleared}
	if sp.enforced != nil {
		d.enforced = *sp.enforced
	}
	return d, nil
}

// heldFields returns the bits of the fields s holds.
func heldFields(s imdsopts.Set) fieldMask {
	var m fieldMask
	if s.HTTPTokens() != "" {
		m |= clearTokens
	}
	if s.HopLimit() != 0 {
		m |= clearHop
	}
	if s.HTTPEndpoint() != "" {
		m |= clearEndpoint
	}
	if s.InstanceMetadataTags() != "" {
		m |= clearTags
	}
	return m
}

// setValue returns the value s holds for the field of bit, as a
// ValidationError echoes it: quoted, the hop limit a number.
func setValue(s imdsopts.Set, bit fieldMask) string {
	switch bit {
	case clearTokens:
		return strconv.Quote(string(s.HTTPTokens()))
	case clearHop:
		return strconv.Itoa(int(s.HopLimit()))
	case clearEndpoint:
		return strconv.Quote(string(s.HTTPEndpoint()))
	default:
		return strconv.Quote(string(s.InstanceMetadataTags()))
	}
}

// Set returns the values the Defaults set: the Set they were made from.
// The fields they clear, and HttpTokensEnforced, are not in it.
func (d Defaults) Set() imdsopts.Set { return d.set }

// HTTPTokens returns the HttpTokens the Defaults hold: a value,
// "no-preference" when they clear it, or "" if none.
func (d Defaults) HTTPTokens() types.MetadataDefaultHttpTokensState {
	if d.cleared&clearTokens != 0 {
		return types.MetadataDefaultHttpTokensStateNoPreference
	}
	return types.MetadataDefaultHttpTokensState(d.set.HTTPTokens())
}

// HopLimit returns the hop limit the Defaults hold: 1..64, -1 when they
// clear it (no preference), or 0 if none.
func (d Defaults) HopLimit() int32 {
	if d.cleared&clearHop != 0 {
		return noPreferenceHop
	}
	return d.set.HopLimit()
}

// HTTPEndpoint returns the HttpEndpoint the Defaults hold: a value,
// "no-preference" when they clear it, or "" if none.
func (d Defaults) HTTPEndpoint() types.DefaultInstanceMetadataEndpointState {
	if d.cleared&clearEndpoint != 0 {
		return types.DefaultInstanceMetadataEndpointStateNoPreference
	}
	return types.DefaultInstanceMetadataEndpointState(d.set.HTTPEndpoint())
}

// InstanceMetadataTags returns the InstanceMetadataTags the Defaults hold:
// a value, "no-preference" when they clear it, or "" if none.
func (d Defaults) InstanceMetadataTags() types.DefaultInstanceMetadataTagsState {
	if d.cleared&clearTags != 0 {
		return types.DefaultInstanceMetadataTagsStateNoPreference
	}
	return types.DefaultInstanceMetadataTagsState(d.set.InstanceMetadataTags())
}

// HTTPTokensEnforced returns the HttpTokensEnforced the Defaults hold, or
// "" if none.
func (d Defaults) HTTPTokensEnforced() types.DefaultHttpTokensEnforcedState { return d.enforced }

// IsZero reports whether the Defaults hold no field, and so change nothing.
func (d Defaults) IsZero() bool { return d == Defaults{} }

// ModifyInput returns the ModifyInstanceMetadataDefaults input that sets
// the Defaults; fields they do not hold are not sent, and EC2 keeps them.
func (d Defaults) ModifyInput() *ec2.ModifyInstanceMetadataDefaultsInput {
	in := &ec2.ModifyInstanceMetadataDefaultsInput{HttpTokens: d.HTTPTokens(), HttpEndpoint: d.HTTPEndpoint(),
		InstanceMetadataTags: d.InstanceMetadataTags(), HttpTokensEnforced: d.enforced}
	if hop := d.HopLimit(); hop != 0 {
		in.HttpPutResponseHopLimit = aws.Int32(hop)
	}
	return in
}

// Changes returns the part of d that differs from current: the fields a
// ModifyInstanceMetadataDefaults call must still send. "no-preference"
// differs from a field current has set, and from nothing else. The result
// is the zero Defaults when current already is what d asks for.
func (d Defaults) Changes(current State) Defaults {
	var hop *int32
	if current.HopLimit > 0 {
		hop = aws.Int32(current.HopLimit)
	}
	c := Defaults{set: d.set.Changes(&types.InstanceMetadataOptionsResponse{HttpTokens: current.HTTPTokens,
		HttpPutResponseHopLimit: hop, HttpEndpoint: current.HTTPEndpoint, InstanceMetadataTags: current.InstanceMetadataTags})}
	c.cleared = d.cleared & stateFields(current)
	if d.enforced != "" && string(d.enforced) != noPref(string(current.HTTPTokensEnforced)) {
		c.enforced = d.enforced
	}
	return c
}

// stateFields returns the bits of the fields current has set.
func stateFields(current State) fieldMask {
	var m fieldMask
	if current.HTTPTokens != "" {
		m |= clearTokens
	}
	if current.HopLimit > 0 {
		m |= clearHop
	}
	if current.HTTPEndpoint != "" {
		m |= clearEndpoint
	}
	if current.InstanceMetadataTags != "" {
		m |= clearTags
	}
	return m
}

// noPref spells an empty account default (no preference) as Modify does.
func noPref(v string) string {
	if v == "" {
		return noPreference
	}
	return v
}

// Apply returns current with d applied: the account defaults EC2 holds
// once ModifyInstanceMetadataDefaults has set d. "no-preference" clears a
// field. ManagedBy and its message are kept.
func (d Defaults) Apply(current State) State {
	after := current
	if v := d.set.HTTPTokens(); v != "" {
		after.HTTPTokens = v
	}
	if v := d.set.HopLimit(); v != 0 {
		after.HopLimit = v
	}
	if v := d.set.HTTPEndpoint(); v != "" {
		after.HTTPEndpoint = v
	}
	if v := d.set.InstanceMetadataTags(); v != "" {
		after.InstanceMetadataTags = v
	}
	if d.cleared&clearTokens != 0 {
		after.HTTPTokens = ""
	}
	if d.cleared&clearHop != 0 {
		after.HopLimit = 0
	}
	if d.cleared&clearEndpoint != 0 {
		after.HTTPEndpoint = ""
	}
	if d.cleared&clearTags != 0 {
		after.InstanceMetadataTags = ""
	}
	switch d.enforced {
	case "":
	case types.DefaultHttpTokensEnforcedStateNoPreference:
		after.HTTPTokensEnforced = ""
	default:
		after.HTTPTokensEnforced = types.HttpTokensEnforcedState(d.enforced)
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
		if f.name == fieldHop {
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
	add(fieldTokens, string(d.HTTPTokens()))
	if hop := d.HopLimit(); hop != 0 {
		add(fieldHop, strconv.Itoa(int(hop)))
	}
	add(fieldEndpoint, string(d.HTTPEndpoint()))
	add(fieldTags, string(d.InstanceMetadataTags()))
	add(fieldEnforced, string(d.enforced))
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
		return State{}, fmt.Errorf("imdsopts: get account metadata defaults: GetInstanceMetadataDefaults: %w", liberr.Unauthorized(err))
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
	err := errors.Join(liberr.Ctx(ctx), c.Validate(),
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
	// Target is the account and Region the result is of; its Account and
	// Region are members of the result's JSON.
	Target Target `json:"-"`
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
	errs := []error{liberr.Ctx(ctx), c.Validate(),
		accountOptions(&o, func(o *DefaultsOptions) *Options { return &o.Options }, "DefaultsOptions", optFns)}
	if d.IsZero() {
		errs = append(errs, liberr.Misuse("Defaults", check.Quote(d.String()), "must hold at least one field: there is nothing to set"))
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
	if r.After.Enforced() && (r.Changes.HTTPTokensEnforced() != "" || r.Changes.HTTPTokens() != "") {
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
		err = fmt.Errorf("imdsopts: set account metadata defaults %s: ModifyInstanceMetadataDefaults: %w", r.Changes, liberr.Unauthorized(err))
		if r.Sent && retry.MayHaveBeenMade(err) {
			err = fmt.Errorf("%w (the change was sent and may have been made: its answer was lost)", err)
		}
		return r, err
	}
	return r, nil
}

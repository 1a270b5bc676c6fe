package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"

	"github.com/imdsopts/imdsopts"
	"github.com/imdsopts/imdsopts/account"
	"github.com/imdsopts/imdsopts/internal/awscli"
	"github.com/imdsopts/imdsopts/internal/check"
)

// get-instance-metadata-defaults and modify-instance-metadata-defaults take
// the options of the AWS CLI's commands of those names and print the same
// output; modify sends only what changes, refuses to enable enforcement while
// a launch would then fail (unless --force), and refuses, sending nothing,
// when a declarative policy manages the defaults.

const (
	opGetDefaults    = "GetInstanceMetadataDefaults"
	opModifyDefaults = "ModifyInstanceMetadataDefaults"
)

// The AWS CLI's skeletons of the two operations. As for
// modify-instance-metadata-options, the enums of the input skeleton take the
// first member in the service model's order, where the AWS CLI picks one at
// random.
const (
	getDefaultsInputSkeleton = `{
    "DryRun": true
}
`
	getDefaultsOutputSkeleton = `{
    "AccountLevel": {
        "HttpTokens": "HttpTokens",
        "HttpPutResponseHopLimit": 0,
        "HttpEndpoint": "HttpEndpoint",
        "InstanceMetadataTags": "InstanceMetadataTags",
        "ManagedBy": "ManagedBy",
        "ManagedExceptionMessage": "ManagedExceptionMessage",
        "HttpTokensEnforced": "HttpTokensEnforced"
    }
}
`
	modifyDefaultsInputSkeleton = `{
    "HttpTokens": "optional",
    "HttpPutResponseHopLimit": 0,
    "HttpEndpoint": "disabled",
    "InstanceMetadataTags": "disabled",
    "DryRun": true,
    "HttpTokensEnforced": "disabled"
}
`
	modifyDefaultsOutputSkeleton = `{
    "Return": true
}
`
)

// defaultsKeyOrder orders the keys of the two commands' outputs: the
// members of the service model in its order, then what imdsopts adds to
// modify's output (Forced, and the Blockers of the readiness check, each in
// the order of the library's JSON).
var defaultsKeyOrder = append([]string{
	"AccountLevel", "Return", "Forced", "Blockers",
}, blockerKeyOrder...)

// blockerKeyOrder is the order of the keys of a blocker, as the library
// encodes account.Blocker.
var blockerKeyOrder = []string{
	"Kind", "AutoScalingGroupNames", "LaunchTemplateId", "LaunchTemplateName", "VersionNumber",
	"LaunchConfigurationName", "ImageId", "InstanceIds",
	"HttpTokens", "HttpPutResponseHopLimit", "HttpEndpoint", "InstanceMetadataTags", "ManagedBy", "ManagedExceptionMessage", "HttpTokensEnforced",
	"HttpTokensSource", "Reason", "Fix",
}

// getDefaultsJSON is the input of get-instance-metadata-defaults'
// --cli-input-json.
type getDefaultsJSON struct {
	DryRun *bool `json:"DryRun"`
}

// getDefaultsFlags are the options of get-instance-metadata-defaults.
type getDefaultsFlags struct {
	dryRun   triBool
	input    optString
	skeleton skeletonFlag
}

func (f *getDefaultsFlags) register(fs *flag.FlagSet) {
	f.dryRun.flags(fs, "dry-run", dryRunUsage, noDryRunUsage)
	fs.Var(&f.input, "cli-input-json", "`JSON|file://PATH|-` the input as a JSON object: {\"DryRun\": true|false}")
	f.skeleton = skeletonFlag{input: getDefaultsInputSkeleton, output: getDefaultsOutputSkeleton}
	fs.Var(&f.skeleton, "generate-cli-skeleton", skeletonUsage)
}

// getDefaults prints the account's default metadata options for the Region.
func (a *app) getDefaults(ctx context.Context, g *globals, args []string) error {
	const name = "get-instance-metadata-defaults"
	var f getDefaultsFlags
	fs := newFlagSet(name)
	f.register(fs)
	if done, err := a.parseSubcommand(name, g, fs, args, &f.skeleton); done || err != nil {
		return err
	}
	p, err := a.newPrinter(g)
	if err != nil {
		return err
	}
	p.KeyOrder = defaultsKeyOrder
	dry := false
	if f.input.set {
		var in getDefaultsJSON
		if err := a.decodeInputJSON(ctx, f.input.value, &in); err != nil {
			return err
		}
		dry = aws.ToBool(in.DryRun)
	}
	if f.dryRun.set {
		dry = f.dryRun.value
	}
	if err := checkQuery(p, skeletonOf(g, accountLevelDoc(fullAccountDefaults))); err != nil {
		return err
	}
	if g.targets.active() {
		if dry {
			return errDryRunAcross
		}
		return runAccountAcross(ctx, a, g, p, accountAcross[account.State]{
			title: opGetDefaults,
			op: func(ctx context.Context, c account.Clients) (account.State, error) {
				return account.GetDefaults(ctx, c, a.observeCalls)
			},
			doc: func(d account.State, err error) map[string]any {
				if err != nil {
					return nil
				}
				return accountLevelDoc(d)
			},
		})
	}
	c, err := a.accountClients(ctx, g, clientNeeds{})
	if err != nil {
		return err
	}
	if dry {
		return a.accountDryRun(ctx, opGetDefaults, func(ctx context.Context) error {
			_, err := c.EC2.GetInstanceMetadataDefaults(ctx, &ec2.GetInstanceMetadataDefaultsInput{DryRun: aws.Bool(true)})
			return err
		})
	}
	d, err := account.GetDefaults(ctx, c)
	if err != nil {
		return err
	}
	return a.print(p, output{title: opGetDefaults, doc: accountLevelDoc(d)})
}

// accountLevelDoc is the AWS CLI's shape of GetInstanceMetadataDefaults'
// output: AccountLevel with the fields EC2 returned. An account without
// defaults prints {"AccountLevel": {}} (with ManagedBy, as EC2 and the
// emulator answer it); whether EC2 may leave AccountLevel out altogether,
// which the AWS CLI would print as nothing, is unverified.
func accountLevelDoc(d account.State) map[string]any {
	return map[string]any{"AccountLevel": jsonDoc(d)}
}

// fullAccountDefaults are account defaults with every field set, for the
// output's skeleton.
var fullAccountDefaults = account.State{
	HTTPTokens: types.HttpTokensStateRequired, HopLimit: 2, HTTPEndpoint: types.InstanceMetadataEndpointStateEnabled,
	InstanceMetadataTags: types.InstanceMetadataTagsStateDisabled, HTTPTokensEnforced: types.HttpTokensEnforcedStateEnabled,
	ManagedBy: types.ManagedByDeclarativePolicy, ManagedExceptionMessage: "the policy's message",
}

// modifyDefaultsJSON is the input of modify-instance-metadata-defaults'
// --cli-input-json: the members of ModifyInstanceMetadataDefaultsInput.
type modifyDefaultsJSON struct {
	HttpTokens              *string `json:"HttpTokens"`
	HttpPutResponseHopLimit *int64  `json:"HttpPutResponseHopLimit"`
	HttpEndpoint            *string `json:"HttpEndpoint"`
	InstanceMetadataTags    *string `json:"InstanceMetadataTags"`
	DryRun                  *bool   `json:"DryRun"`
	HttpTokensEnforced      *string `json:"HttpTokensEnforced"`
}

// modifyDefaultsFlags are the options of modify-instance-metadata-defaults.
type modifyDefaultsFlags struct {
	tokens, endpoint, tags, enforced optString
	hop                              optInt
	dryRun                           triBool
	input                            optString
	skeleton                         skeletonFlag
	force                            bool
}

func (f *modifyDefaultsFlags) register(fs *flag.FlagSet) {
	fs.Var(&f.tokens, "http-tokens", "`optional|required|no-preference` IMDSv2 session tokens of new instances")
	fs.Var(&f.hop, "http-put-response-hop-limit", "`N` hop limit of the token response, 1..64, or -1 for no preference")
	fs.Var(&f.endpoint, "http-endpoint", "`enabled|disabled|no-preference` the metadata endpoint of new instances")
	fs.Var(&f.tags, "instance-metadata-tags", "`enabled|disabled|no-preference` access to new instances' tags from the metadata service")
	f.dryRun.flags(fs, "dry-run", "only check the permission for the call as given (the AWS CLI's output and exit 254); no readiness check, nothing read first", noDryRunUsage)
	fs.Var(&f.enforced, "http-tokens-enforced", "`enabled|disabled|no-preference` enabled: EC2 refuses every launch that does not require IMDSv2")
	fs.Var(&f.input, "cli-input-json", "`JSON|file://PATH|-` the options as a JSON object, in the shape of --generate-cli-skeleton input, with its members' exact names; options on the command line override it")
	f.skeleton = skeletonFlag{input: modifyDefaultsInputSkeleton, output: modifyDefaultsOutputSkeleton}
	fs.Var(&f.skeleton, "generate-cli-skeleton", skeletonUsage)
	fs.BoolVar(&f.force, "force", false, "enable enforcement even though launches would then fail (they are listed on stderr, and the output says \"Forced\": true)")
}

// defaultsRequest is the resolved input of modify-instance-metadata-defaults:
// --cli-input-json, overridden by the flags given.
type defaultsRequest struct {
	in       modifyDefaultsJSON
	fromJSON map[string]bool // fields taken from --cli-input-json
}

// defaultsFlagList names the option flags of modify-instance-metadata-defaults.
const defaultsFlagList = "--http-tokens, --http-put-response-hop-limit, --http-endpoint, --instance-metadata-tags, --http-tokens-enforced"

// request merges --cli-input-json (fromInput, nil when not given) and the
// flags; flags win.
func (f *modifyDefaultsFlags) request(fromInput *modifyDefaultsJSON) defaultsRequest {
	r := defaultsRequest{fromJSON: map[string]bool{}}
	if fromInput != nil {
		r.in = *fromInput
		for field, set := range map[string]bool{
			"HttpTokens": r.in.HttpTokens != nil, "HttpPutResponseHopLimit": r.in.HttpPutResponseHopLimit != nil,
			"HttpEndpoint": r.in.HttpEndpoint != nil, "InstanceMetadataTags": r.in.InstanceMetadataTags != nil,
			"HttpTokensEnforced": r.in.HttpTokensEnforced != nil,
		} {
			if set {
				r.fromJSON[field] = true
			}
		}
	}
	take := func(field string, dst **string, o *optString) {
		if o.set {
			*dst = o.ptr()
			delete(r.fromJSON, field)
		}
	}
	take("HttpTokens", &r.in.HttpTokens, &f.tokens)
	take("HttpEndpoint", &r.in.HttpEndpoint, &f.endpoint)
	take("InstanceMetadataTags", &r.in.InstanceMetadataTags, &f.tags)
	take("HttpTokensEnforced", &r.in.HttpTokensEnforced, &f.enforced)
	if f.hop.set {
		r.in.HttpPutResponseHopLimit = aws.Int64(f.hop.value)
		delete(r.fromJSON, "HttpPutResponseHopLimit")
	}
	if f.dryRun.set {
		r.in.DryRun = aws.Bool(f.dryRun.value)
	}
	return r
}

// noPreference is how ModifyInstanceMetadataDefaults clears a field; -1
// clears the hop limit.
const (
	noPreference    = "no-preference"
	noPreferenceHop = -1
)

// defaultsHopRule is the rule of the hop limit of the account defaults.
var defaultsHopRule = fmt.Sprintf("must be %d..%d, or %d for no preference", imdsopts.MinHopLimit, imdsopts.MaxHopLimit, noPreferenceHop)

// defaultsArgs are the values of the input sorted for NewDefaults: those
// of the Set, the fields cleared (NoPreference), and the problems found.
type defaultsArgs struct {
	set     []imdsopts.Option
	cleared []string
	errs    []error
}

// sortDefault sorts the value v (nil: not given) of field: "no-preference"
// clears it; a value of T, the account default's enum, goes into the Set
// through opt; any other is refused with the values T lists, no-preference
// among them.
func sortDefault[T check.Enum[T]](a *defaultsArgs, field string, v *string, opt func(string) imdsopts.Option) {
	switch {
	case v == nil:
	case *v == noPreference:
		a.cleared = append(a.cleared, field)
	default:
		if p := check.EnumValue(field, T(*v)); p != nil {
			a.errs = append(a.errs, &imdsopts.ValidationError{Field: p.Field, Value: p.Value, Rule: p.Rule})
			return
		}
		a.set = append(a.set, opt(*v))
	}
}

// defaults checks every value with the rules of ModifyInstanceMetadataDefaults
// and returns the Defaults to set: the values in a Set, "no-preference" and
// the hop limit -1 as NoPreference. The errors name the flag (or the
// --cli-input-json member) of each bad value, all at once.
func (r defaultsRequest) defaults() (account.Defaults, error) {
	var a defaultsArgs
	in := r.in
	var overflow []error
	sortDefault[types.MetadataDefaultHttpTokensState](&a, "HttpTokens", in.HttpTokens,
		func(v string) imdsopts.Option { return imdsopts.HTTPTokens(types.HttpTokensState(v)) })
	if in.HttpPutResponseHopLimit != nil {
		switch n := *in.HttpPutResponseHopLimit; {
		case n < math.MinInt32 || n > math.MaxInt32:
			overflow = append(overflow, &imdsopts.ValidationError{Field: "HttpPutResponseHopLimit", Value: strconv.FormatInt(n, 10), Rule: defaultsHopRule})
		case n == noPreferenceHop:
			a.cleared = append(a.cleared, "HttpPutResponseHopLimit")
		case n < imdsopts.MinHopLimit || n > imdsopts.MaxHopLimit:
			a.errs = append(a.errs, &imdsopts.ValidationError{Field: "HttpPutResponseHopLimit", Value: strconv.FormatInt(n, 10), Rule: defaultsHopRule})
		default:
			a.set = append(a.set, imdsopts.HopLimit(int32(n)))
		}
	}
	sortDefault[types.DefaultInstanceMetadataEndpointState](&a, "HttpEndpoint", in.HttpEndpoint,
		func(v string) imdsopts.Option { return imdsopts.HTTPEndpoint(types.InstanceMetadataEndpointState(v)) })
	sortDefault[types.DefaultInstanceMetadataTagsState](&a, "InstanceMetadataTags", in.InstanceMetadataTags,
		func(v string) imdsopts.Option {
			return imdsopts.InstanceMetadataTags(types.InstanceMetadataTagsState(v))
		})
	s, err := imdsopts.New(a.set...)
	errs := append(append(overflow, a.errs...), err)
	var opts []account.DefaultsOption
	if len(a.cleared) > 0 {
		opts = append(opts, account.NoPreference(a.cleared...))
	}
	if in.HttpTokensEnforced != nil {
		opts = append(opts, account.HTTPTokensEnforced(types.DefaultHttpTokensEnforcedState(*in.HttpTokensEnforced)))
	}
	d, err := account.NewDefaults(s, opts...)
	if err := errors.Join(append(errs, err)...); err != nil {
		return account.Defaults{}, flagErrors(err, r.fromJSON)
	}
	return d, nil
}

// modifyDefaults sets the account's default metadata options for the
// Region, sending only what changes.
func (a *app) modifyDefaults(ctx context.Context, g *globals, args []string) error {
	const name = "modify-instance-metadata-defaults"
	var f modifyDefaultsFlags
	fs := newFlagSet(name)
	f.register(fs)
	if done, err := a.parseSubcommand(name, g, fs, args, &f.skeleton); done || err != nil {
		return err
	}
	p, err := a.newPrinter(g)
	if err != nil {
		return err
	}
	p.KeyOrder = defaultsKeyOrder
	var fromInput *modifyDefaultsJSON
	if f.input.set {
		fromInput = &modifyDefaultsJSON{}
		if err := a.decodeInputJSON(ctx, f.input.value, fromInput); err != nil {
			return err
		}
	}
	req := f.request(fromInput)
	d, err := req.defaults()
	if err != nil {
		return err
	}
	dry := aws.ToBool(req.in.DryRun)
	switch {
	case d.IsZero():
		return usageErrorf("at least one of %s is required (or its member in --cli-input-json): without one, the call changes nothing", defaultsFlagList)
	case dry && f.force:
		return usageErrorf("--force: cannot be combined with --dry-run (a dry run asks only whether the call is permitted)")
	}
	if err := checkQuery(p, skeletonOf(g, modifyDefaultsSkeleton())); err != nil {
		return err
	}
	force := func(o *account.DefaultsOptions) { o.Force = f.force }
	if g.targets.active() {
		if dry {
			return errDryRunAcross
		}
		return runAccountAcross(ctx, a, g, p, accountAcross[*account.DefaultsResult]{
			title: opModifyDefaults,
			op: func(ctx context.Context, c account.Clients) (*account.DefaultsResult, error) {
				return account.SetDefaults(ctx, c, d, force, func(o *account.DefaultsOptions) { a.observeCalls(&o.Options) })
			},
			doc:     defaultsDoc,
			outcome: defaultsFailure,
			note: func(t account.Target, r *account.DefaultsResult, err error) {
				if err == nil && r != nil && r.Forced {
					a.note("imdsopts: warning: %s: IMDSv2 enforced with --force despite %s; launches like these now fail (see %s)",
						t, countOf(len(r.Readiness.Blockers), "blocker"), a.field("Blockers", "its BLOCKERS lines"))
				}
			},
		})
	}
	c, err := a.accountClients(ctx, g, clientNeeds{autoScaling: true})
	if err != nil {
		return err
	}
	if dry {
		// As the AWS CLI: the whole call as given, asking only whether it
		// is permitted.
		in := d.ModifyInput()
		in.DryRun = aws.Bool(true)
		return a.accountDryRun(ctx, opModifyDefaults, func(ctx context.Context) error {
			_, err := c.EC2.ModifyInstanceMetadataDefaults(ctx, in)
			return err
		})
	}
	r, err := account.SetDefaults(ctx, c, d, force)
	return a.defaultsOutcome(p, d, r, err)
}

// errDryRunAcross refuses --dry-run with the target flags: a dry run asks
// whether the one call of one account is permitted, and prints EC2's
// answer as the AWS CLI does.
var errDryRunAcross = usageErrorf("--dry-run (or DryRun in --cli-input-json): not with the target flags; " +
	"a dry run asks EC2 whether one call, in one account and Region, is permitted")

// defaultsDoc is the output of modify-instance-metadata-defaults in one
// account of what SetDefaults returned (see defaultsOutcome), nil when it
// has none: {"Return": true} once the defaults are as asked, with
// "Blockers" when the readiness check ran and "Forced" when --force
// overrode it; {"Blockers": [...]} when refused as not ready.
func defaultsDoc(r *account.DefaultsResult, err error) map[string]any {
	var notReady *account.NotReadyError
	switch {
	case errors.As(err, &notReady):
		return map[string]any{"Blockers": blockersDoc(notReady.Readiness.Blockers)}
	case err != nil || r == nil:
		return nil
	}
	doc := map[string]any{"Return": true}
	if r.Readiness != nil {
		doc["Blockers"] = blockersDoc(r.Readiness.Blockers)
	}
	if r.Forced {
		doc["Forced"] = true
	}
	return doc
}

// defaultsFailure is the exit rule of modify-instance-metadata-defaults in
// one account (see defaultsOutcome): exit 1 when refused as not ready, 254
// when a declarative policy manages the defaults; nil when the defaults
// are as asked.
func defaultsFailure(_ *account.DefaultsResult, err error) error {
	var notReady *account.NotReadyError
	switch {
	case errors.As(err, &notReady):
		return &exitError{code: exitNotReady, err: fmt.Errorf("%s, listed in the output; nothing was sent: fix them, or run again with --force "+
			"to enforce anyway, and launches like these will fail", countOf(len(notReady.Readiness.Blockers), "blocker"))}
	case errors.Is(err, account.ErrManagedByPolicy):
		return &exitError{code: exitService, err: fmt.Errorf("%w; nothing was sent", err)}
	}
	return err
}

// defaultsOutcome prints what SetDefaults did and returns the error that
// ends the run:
//   - nothing to change, or the change made: {"Return": true}, as the AWS
//     CLI prints it, with Blockers (empty) when the readiness check ran, and
//     notes on stderr of what was not sent and why;
//   - enforcement refused as not ready: the blockers, listed on stderr and
//     under Blockers in the output, exit 1 (nothing was sent);
//   - forced: {"Return": true, "Forced": true, "Blockers": [...]}, with the
//     blockers on stderr as a warning;
//   - a declarative policy manages the defaults: the policy's message, exit
//     254 (nothing was sent);
//   - anything else: the error, as the library gives it.
func (a *app) defaultsOutcome(p *awscli.Printer, asked account.Defaults, r *account.DefaultsResult, err error) error {
	var notReady *account.NotReadyError
	switch {
	case errors.As(err, &notReady):
		rd := notReady.Readiness
		a.noteBlockers(fmt.Sprintf("imdsopts: not ready to enforce IMDSv2: %s, in the order to fix them:", countOf(len(rd.Blockers), "blocker")), rd.Blockers)
		perr := a.print(p, output{title: opModifyDefaults, doc: defaultsDoc(r, err)})
		return joinFailures(&exitError{code: exitNotReady, err: fmt.Errorf("not ready to enforce IMDSv2 (%s above); nothing was sent: "+
			"fix them, or run again with --force to enforce anyway, and launches like these will fail", countOf(len(rd.Blockers), "blocker"))}, perr)
	case errors.Is(err, account.ErrManagedByPolicy):
		// A refusal of the account's own state, read from EC2: the
		// service's answer, in effect.
		return &exitError{code: exitService, err: fmt.Errorf("%w; nothing was sent", err)}
	case err != nil:
		return err
	}
	doc := defaultsDoc(r, nil)
	if r.Forced {
		a.noteBlockers(fmt.Sprintf("imdsopts: warning: IMDSv2 enforced with --force despite %s; launches like these now fail:", countOf(len(r.Readiness.Blockers), "blocker")), r.Readiness.Blockers)
	}
	perr := a.print(p, output{title: opModifyDefaults, doc: doc})
	switch kept := keptDefaults(asked, r.Changes); {
	case r.Changes.IsZero():
		a.note("imdsopts: note: the account defaults already are %s: nothing was sent", asked)
	case !kept.IsZero():
		a.note("imdsopts: note: sent %s; already set, not sent: %s", r.Changes, kept)
	}
	if r.Readiness != nil && len(r.Readiness.AllowIMDSv1) > 0 {
		a.note("imdsopts: note: %s still allow IMDSv1: enforcement leaves running instances alone (apply --http-tokens required changes them)",
			countOf(len(r.Readiness.AllowIMDSv1), "instance"))
	}
	return perr
}

// keptDefaults returns the fields of asked that changes does not hold:
// those already set, not sent.
func keptDefaults(asked, changes account.Defaults) account.Defaults {
	var cleared []string
	for _, f := range []struct {
		name           string
		asked, changes bool
	}{
		{"HttpTokens", asked.HTTPTokens() == noPreference, changes.HTTPTokens() != ""},
		{"HttpPutResponseHopLimit", asked.HopLimit() == noPreferenceHop, changes.HopLimit() != 0},
		{"HttpEndpoint", asked.HTTPEndpoint() == noPreference, changes.HTTPEndpoint() != ""},
		{"InstanceMetadataTags", asked.InstanceMetadataTags() == noPreference, changes.InstanceMetadataTags() != ""},
	} {
		if f.asked && !f.changes {
			cleared = append(cleared, f.name)
		}
	}
	var opts []account.DefaultsOption
	if len(cleared) > 0 {
		opts = append(opts, account.NoPreference(cleared...))
	}
	if v := asked.HTTPTokensEnforced(); v != "" && changes.HTTPTokensEnforced() == "" {
		opts = append(opts, account.HTTPTokensEnforced(v))
	}
	kept, _ := account.NewDefaults(asked.Set().Without(changes.Set()), opts...) // parts of valid Defaults
	return kept
}

// blockersDoc is the blockers as the library encodes them: a list, also
// when there are none.
func blockersDoc(bs []account.Blocker) any {
	if bs == nil {
		bs = []account.Blocker{}
	}
	return jsonDoc(bs)
}

// modifyDefaultsSkeleton is modify's output with every field present.
func modifyDefaultsSkeleton() map[string]any {
	b := account.Blocker{Kind: account.BlockerGroupTemplate, AutoScalingGroupNames: []string{"web"}, LaunchTemplateID: "lt-0123456789abcdef0",
		LaunchTemplateName: "web", VersionNumber: 1, LaunchConfigurationName: "web", ImageID: "ami-0123456789abcdef0",
		InstanceIDs: []string{"i-0123456789abcdef0"}, HTTPTokens: types.HttpTokensStateOptional, HTTPTokensSource: imdsopts.SourceDefault,
		Reason: "the reason", Fix: "the fix"}
	return map[string]any{"Return": true, "Forced": true, "Blockers": jsonDoc([]account.Blocker{b})}
}

// noteBlockers writes title and the blockers on stderr, numbered, one
// paragraph each: what it is about, why it blocks, and the fix.
func (a *app) noteBlockers(title string, bs []account.Blocker) {
	a.note("%s", title)
	for i, b := range bs {
		a.note("  %d. %s: %s", i+1, b.Kind, b.Subject())
		a.note("     why: %s", b.Reason)
		a.note("     fix: %s", optionFlagNames.Replace(b.Fix))
		if cmd := blockerCommand(b.Kind, a.whereFlags()); cmd != "" {
			a.note("     run: %s", cmd)
		}
	}
}

// blockerCommand is the command line that fixes blockers of kind k, or ""
// when no imdsopts command does; where are the options that name the
// account's endpoint, Region and profile (see whereFlags), so that the
// command acts where the blocker was found. For templates it is the plan,
// which names the groups a new version will not reach (those pinned to a
// number).
func blockerCommand(k account.BlockerKind, where string) string {
	if where != "" {
		where = " " + where
	}
	switch k {
	case account.BlockerGroupTemplate, account.BlockerTemplateDefault:
		return "imdsopts templates plan --http-tokens required --make-default" + where + ", then templates apply with the same options"
	case account.BlockerTemplateLatest:
		return "imdsopts templates plan --http-tokens required" + where + ", then templates apply with the same options"
	case account.BlockerAccountDefault:
		return "imdsopts modify-instance-metadata-defaults --http-tokens required --http-tokens-enforced enabled" + where
	}
	return ""
}

// countOf formats n things: "1 blocker", "3 blockers".
func countOf(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return strconv.Itoa(n) + " " + what + "s"
}

// accountDryRun makes a DryRun call of op, as the AWS CLI does: a
// permitted call is EC2's DryRunOperation error, printed as the AWS CLI
// prints it, exit 254; a call that succeeds was not taken as a dry run by
// the endpoint, which may have acted on it.
func (a *app) accountDryRun(ctx context.Context, op string, call func(context.Context) error) error {
	err := call(ctx)
	a.prog.finish(false)
	switch {
	case err == nil:
		return &exitError{code: exitService, err: fmt.Errorf("%w: the endpoint answered the dry run of %s as a real call, so it may have acted on it", imdsopts.ErrDryRunIgnored, op)}
	case apiCodeOf(err) == "DryRunOperation":
		fmt.Fprintf(a.stderr, "\n%s\n", apiErrorMessage(op, "DryRunOperation", "Request would have succeeded, but DryRun flag is set."))
		return &exitError{code: exitService, err: errors.New("dry run permitted"), reported: true}
	}
	return err
}

// decodeInputJSON reads --cli-input-json into dst, as modify-instance-
// metadata-options reads it: inline JSON, file://PATH or "-", with the exact
// member names.
func (a *app) decodeInputJSON(ctx context.Context, value string, dst any) error {
	data, err := awscli.LoadParam(ctx, value, a.stdin)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return usageErrorf("--cli-input-json: %v", err)
	}
	if err := awscli.DecodeInput(data, dst); err != nil {
		return usageErrorf("--cli-input-json: %v", err)
	}
	return nil
}

// apiCodeOf returns the API error code of err, or "".
func apiCodeOf(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return ""
}

const getDefaultsUsage = `Usage: imdsopts get-instance-metadata-defaults [options]

Prints the account's default instance metadata options for the Region, as
"aws ec2 get-instance-metadata-defaults" does: {"AccountLevel": {...}} with the fields that are
set (a field left out is no preference), and ManagedBy "account", or "declarative-policy" when an
AWS Organizations policy manages them; ManagedExceptionMessage is then the policy's message.
`

const modifyDefaultsUsage = `Usage: imdsopts modify-instance-metadata-defaults OPTIONS [options]

Sets the account's default instance metadata options for the Region, as
"aws ec2 modify-instance-metadata-defaults" does, after checking every value. They apply to
instances launched later, never to running ones. Every option also takes "no-preference" (-1 for
the hop limit), which clears it. The current defaults are read first, and only what differs is
sent; when nothing differs, nothing is (a note on stderr says so).

Enabling enforcement (--http-tokens-enforced enabled, or changing --http-tokens while it is
enabled) first checks every way the account launches instances, with the new defaults: each Auto
Scaling group's launch template version, each template's default and latest version, each launch
configuration. While any launch would then fail, nothing is sent: the blockers are listed on
stderr in the order to fix them, and under "Blockers" in the output, and the exit status is 1.
A launch that gives no HttpTokens from an AMI without ImdsSupport v2.0 takes the account default,
so enforcement usually goes with --http-tokens required. Defaults that a declarative policy
manages are refused with the policy's message, nothing sent, exit 254.
`

// modifyDefaultsNotes are modify-instance-metadata-defaults' output.
const modifyDefaultsNotes = `Output (--output json): {"Return": true}, as the AWS CLI prints it, once the defaults are as asked;
with "Blockers": [] when the readiness check ran, and "Forced": true with the blockers when --force
overrode them. Refused as not ready: {"Blockers": [{"Kind", "AutoScalingGroupNames",
"LaunchTemplateId", "LaunchTemplateName", "VersionNumber", "LaunchConfigurationName", "ImageId",
"HttpTokens", "HttpTokensSource", "Reason", "Fix"}, ...]}, exit 1.
`

// getDefaultsAcross is what get-instance-metadata-defaults adds to the help
// of the target flags.
const getDefaultsAcross = `Each entry holds "AccountLevel". --dry-run is refused with the target flags.
`

// modifyDefaultsAcross is what modify-instance-metadata-defaults adds to
// the help of the target flags.
const modifyDefaultsAcross = `Each entry holds "Return", "Blockers" and "Forced" as one account's output does. Enabling
enforcement checks the readiness of each target in that target, with its new defaults: a target
not ready is refused there, with its "Blockers" and an "Error", nothing sent to it, while the
others are set (exit 1 when no other target failed). --dry-run is refused with the target flags.
`

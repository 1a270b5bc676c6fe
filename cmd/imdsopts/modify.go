package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imdsopts/imdsopts"
	"github.com/imdsopts/imdsopts/internal/awscli"
)

// The AWS CLI's skeletons for ModifyInstanceMetadataOptions. The AWS CLI
// fills the enums of the input skeleton with a member picked at random; this
// one always takes the first member in the service model's order.
const (
	inputSkeleton = `{
    "InstanceId": "",
    "HttpTokens": "optional",
    "HttpPutResponseHopLimit": 0,
    "HttpEndpoint": "disabled",
    "DryRun": true,
    "HttpProtocolIpv6": "disabled",
    "InstanceMetadataTags": "disabled"
}
`
	outputSkeleton = `{
    "InstanceId": "InstanceId",
    "InstanceMetadataOptions": {
        "State": "State",
        "HttpTokens": "HttpTokens",
        "HttpPutResponseHopLimit": 0,
        "HttpEndpoint": "HttpEndpoint",
        "HttpProtocolIpv6": "HttpProtocolIpv6",
        "InstanceMetadataTags": "InstanceMetadataTags"
    }
}
`
)

const opModify = "ModifyInstanceMetadataOptions"

// modifyJSON is the input of --cli-input-json: the members of
// ModifyInstanceMetadataOptionsInput, decoded by awscli.DecodeInput, so with
// their exact names.
type modifyJSON struct {
	InstanceId              *string `json:"InstanceId"`
	HttpTokens              *string `json:"HttpTokens"`
	HttpPutResponseHopLimit *int64  `json:"HttpPutResponseHopLimit"`
	HttpEndpoint            *string `json:"HttpEndpoint"`
	DryRun                  *bool   `json:"DryRun"`
	HttpProtocolIpv6        *string `json:"HttpProtocolIpv6"`
	InstanceMetadataTags    *string `json:"InstanceMetadataTags"`
}

// modifyFlags are the options of modify-instance-metadata-options.
type modifyFlags struct {
	instanceID   optString
	options      optionFlags
	dryRun       triBool
	cliInputJSON optString
	skeleton     skeletonFlag
	wait         bool
	waitTimeout  time.Duration
	// allowDowngrade lets a change through that weakens the instance
	// (imdsopts.Set.Downgrade); the AWS CLI has no such check.
	allowDowngrade bool
}

func (f *modifyFlags) register(fs *flag.FlagSet) {
	fs.Var(&f.instanceID, "instance-id", "`ID` the instance, i- followed by 8 or 17 hex digits (required)")
	f.options.register(fs)
	f.dryRun.flags(fs, "dry-run", dryRunUsage, noDryRunUsage)
	fs.Var(&f.cliInputJSON, "cli-input-json", "`JSON|file://PATH|-` the options as a JSON object, in the shape of "+
		"--generate-cli-skeleton input, with its members' exact names (each once, none null); \"-\" reads standard input; at most 1 MiB. "+
		"Options on the command line override it")
	f.skeleton = skeletonFlag{input: inputSkeleton, output: outputSkeleton}
	fs.Var(&f.skeleton, "generate-cli-skeleton", skeletonUsage)
	fs.BoolVar(&f.wait, "wait", false, "wait until EC2 reports the options applied, and print them; a stopped instance prints "+
		"the options seen (they apply when it starts) and exits 0. On a terminal, stderr shows a progress line; elsewhere (a "+
		"log, a pipe) a plain progress line every 10s of a longer wait")
	fs.Func("wait-timeout", "`DURATION` bound of --wait: a duration (\"5m\") or seconds (default 10m)", durationValue(&f.waitTimeout))
	fs.BoolVar(&f.allowDowngrade, "allow-downgrade", false, "send a change that weakens the instance (HttpTokens required to optional, "+
		"a higher hop limit, the endpoint, IPv6 or tags turned on); without it such a change is refused with exit 254 and nothing "+
		"changed. The AWS CLI has no such check")
}

// request is the resolved input: values and whether each came from the
// command line or from --cli-input-json, so errors can say which.
type request struct {
	instanceID *string
	options    optionValues
	dryRun     bool
	fromJSON   map[string]bool // EC2 field names taken from --cli-input-json
}

func (a *app) modify(ctx context.Context, g *globals, args []string) error {
	var f modifyFlags
	fs := newFlagSet("modify-instance-metadata-options")
	f.register(fs)
	if done, err := a.parseSubcommand("modify-instance-metadata-options", g, fs, args, &f.skeleton); done || err != nil {
		return err
	}
	p, err := a.newPrinter(g)
	if err != nil {
		return err
	}
	req, err := a.buildRequest(ctx, &f)
	if err != nil {
		return err
	}
	set, err := req.validate()
	if err != nil {
		return err
	}
	switch {
	case f.waitTimeout != 0 && !f.wait:
		return usageErrorf("--wait-timeout %v: needs --wait", f.waitTimeout)
	case f.wait && req.dryRun:
		return usageErrorf("--wait: cannot be combined with --dry-run")
	case set.IsZero():
		return usageErrorf("at least one of %s is required (or its member in --cli-input-json): without one, the call changes nothing", optionFlagList)
	}
	if err := checkQuery(p, optionsSkeleton()); err != nil {
		return err
	}
	id := aws.ToString(req.instanceID)

	api, err := a.client(ctx, g)
	if err != nil {
		return err
	}
	if !req.dryRun && !f.allowDowngrade {
		if err := a.refuseDowngrade(ctx, api, id, set); err != nil {
			return err
		}
	}
	switch {
	case req.dryRun:
		return a.dryRun(ctx, api, id, set)
	case f.wait:
		return a.applyAndWait(ctx, g, p, api, id, set, f.waitTimeout)
	}
	in := set.ModifyInput(id)
	if f.dryRun.set {
		in.DryRun = aws.Bool(false) // --no-dry-run is sent, as the AWS CLI does
	}
	out, err := api.ModifyInstanceMetadataOptions(ctx, in)
	if err != nil {
		return unanswered(ctx, err)
	}
	return a.print(p, output{title: opModify, doc: optionsDoc(out.InstanceId, out.InstanceMetadataOptions)})
}

// refuseDowngrade refuses a change that would weaken the instance, as apply
// and templates do: HttpTokens required to optional, a higher hop limit, the
// endpoint, its IPv6 address or the instance's tags turned on. Only a set
// that could weaken an instance costs a DescribeInstances call, to learn
// its options now; a change that can only strengthen is sent as the AWS CLI
// sends it. Here the command departs from the AWS CLI, which sends a
// weakening change as readily as any other: --allow-downgrade sends it.
func (a *app) refuseDowngrade(ctx context.Context, api API, id string, set imdsopts.Set) error {
	if set.Downgrade(nil).IsZero() {
		return nil
	}
	inst, err := imdsopts.Describe(ctx, api, id)
	if err != nil {
		return fmt.Errorf("the change could weaken the instance, and its options now could not be read to tell: %w", err)
	}
	d := set.Downgrade(inst.MetadataOptions)
	if d.IsZero() {
		return nil
	}
	return &exitError{code: exitService, err: fmt.Errorf("%s: %w: %v, where it has %s; nothing was changed: give --allow-downgrade to make it",
		id, imdsopts.ErrDowngrade, d, optionsNow(inst.MetadataOptions))}
}

// optionsNow writes the options EC2 reported, those it did not say left
// out: "HttpTokens=required HttpPutResponseHopLimit=1 (EC2 did not say the
// others)".
func optionsNow(o *types.InstanceMetadataOptionsResponse) string {
	if o == nil {
		o = &types.InstanceMetadataOptionsResponse{}
	}
	var parts []string
	unsaid := false
	add := func(name, value string) {
		if value == "" || value == "0" {
			unsaid = true
			return
		}
		parts = append(parts, name+"="+value)
	}
	add("HttpTokens", string(o.HttpTokens))
	add("HttpPutResponseHopLimit", fmt.Sprint(aws.ToInt32(o.HttpPutResponseHopLimit)))
	add("HttpEndpoint", string(o.HttpEndpoint))
	add("HttpProtocolIpv6", string(o.HttpProtocolIpv6))
	add("InstanceMetadataTags", string(o.InstanceMetadataTags))
	switch {
	case len(parts) == 0:
		return "options EC2 did not say"
	case unsaid:
		return strings.Join(parts, " ") + " (EC2 did not say the others)"
	}
	return strings.Join(parts, " ")
}

// unanswered adds to the error of a ModifyInstanceMetadataOptions call that
// the run was interrupted before EC2 answered, when it was: the change may
// have been made.
func unanswered(ctx context.Context, err error) error {
	if ctx.Err() == nil {
		return err
	}
	return fmt.Errorf("%w; EC2 had not answered, so the change may or may not have been made", err)
}

// buildRequest merges --cli-input-json and the flags; flags win.
func (a *app) buildRequest(ctx context.Context, f *modifyFlags) (*request, error) {
	req := &request{fromJSON: map[string]bool{}}
	if f.cliInputJSON.set {
		in, err := a.readInputJSON(ctx, f.cliInputJSON.value)
		if err != nil {
			return nil, err
		}
		take := func(field string, dst **string, v *string) {
			if v != nil {
				*dst = v
				req.fromJSON[field] = true
			}
		}
		take("InstanceId", &req.instanceID, in.InstanceId)
		take("HttpTokens", &req.options.tokens, in.HttpTokens)
		take("HttpEndpoint", &req.options.endpoint, in.HttpEndpoint)
		take("HttpProtocolIpv6", &req.options.ipv6, in.HttpProtocolIpv6)
		take("InstanceMetadataTags", &req.options.tags, in.InstanceMetadataTags)
		if in.HttpPutResponseHopLimit != nil {
			req.options.hop = in.HttpPutResponseHopLimit
			req.fromJSON["HttpPutResponseHopLimit"] = true
		}
		if in.DryRun != nil {
			req.dryRun = *in.DryRun
		}
	}
	flagValue := func(field string, dst **string, o *optString) {
		if o.set {
			*dst = o.ptr()
			delete(req.fromJSON, field)
		}
	}
	flagValue("InstanceId", &req.instanceID, &f.instanceID)
	flagValue("HttpTokens", &req.options.tokens, &f.options.tokens)
	flagValue("HttpEndpoint", &req.options.endpoint, &f.options.endpoint)
	flagValue("HttpProtocolIpv6", &req.options.ipv6, &f.options.ipv6)
	flagValue("InstanceMetadataTags", &req.options.tags, &f.options.tags)
	if f.options.hop.set {
		req.options.hop = f.options.values().hop
		delete(req.fromJSON, "HttpPutResponseHopLimit")
	}
	if f.dryRun.set {
		req.dryRun = f.dryRun.value
	}
	if req.instanceID == nil {
		return nil, usageErrorf("the following arguments are required: --instance-id")
	}
	return req, nil
}

// readInputJSON reads --cli-input-json: inline JSON, file://PATH (or
// fileb://PATH), or "-" for standard input, with awscli.LoadParam's size
// limit, decoded as the AWS CLI decodes it: an object whose members have
// exactly the names of the input's, each at most once.
func (a *app) readInputJSON(ctx context.Context, value string) (*modifyJSON, error) {
	data, err := awscli.LoadParam(ctx, value, a.stdin)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, usageErrorf("--cli-input-json: %v", err)
	}
	var in modifyJSON
	if err := awscli.DecodeInput(data, &in); err != nil {
		return nil, usageErrorf("--cli-input-json: %v", err)
	}
	return &in, nil
}

// validate checks every value with the library's rules and returns the Set
// to send; the errors name the flag (or the --cli-input-json member) of each
// bad value.
func (r *request) validate() (imdsopts.Set, error) {
	set, err := r.options.set(r.fromJSON, imdsopts.ValidateInstanceID(aws.ToString(r.instanceID)))
	if err != nil {
		return imdsopts.Set{}, err
	}
	// The library's check of the whole input, as sent.
	if err := imdsopts.ValidateModifyInput(set.ModifyInput(aws.ToString(r.instanceID))); err != nil {
		return imdsopts.Set{}, flagErrors(err, r.fromJSON)
	}
	return set, nil
}

// dryRun asks EC2 whether the change is permitted. As the AWS CLI does, a
// permitted dry run prints EC2's DryRunOperation error and exits 254.
func (a *app) dryRun(ctx context.Context, api API, id string, set imdsopts.Set) error {
	err := imdsopts.DryRun(ctx, api, id, set)
	a.prog.finish(false)
	switch {
	case err == nil:
		fmt.Fprintf(a.stderr, "\n%s\n", apiErrorMessage(opModify, "DryRunOperation", "Request would have succeeded, but DryRun flag is set."))
		return &exitError{code: exitService, err: errors.New("dry run permitted"), reported: true}
	case errors.Is(err, imdsopts.ErrDryRunIgnored):
		return &exitError{code: exitService, err: fmt.Errorf("%w: the endpoint answered the dry run as a real call, so the change may have been applied", err)}
	}
	return err
}

// applyAndWait applies the set with imdsopts.Apply, waits until EC2 reports
// it applied, and prints the options then in the output's shape. Once EC2
// has accepted the change, every outcome prints the options last seen: on a
// stopped instance (the change applies when it starts) with a note and exit
// 0, on a failed wait before the error.
func (a *app) applyAndWait(ctx context.Context, g *globals, p *awscli.Printer, api API, id string, set imdsopts.Set, timeout time.Duration) error {
	var accepted *types.InstanceMetadataOptionsResponse // ModifyInstanceMetadataOptions' answer
	opt := func(o *imdsopts.WaiterOptions) {
		if timeout > 0 { // --wait-timeout, else the library's default
			o.MaxWait = timeout
		}
		o.OnAttempt = func(at imdsopts.Attempt) {
			if at.Operation == opModify && at.Err == nil {
				accepted = at.Options
			}
			a.prog.attempt(at)
			if g.debug {
				state := "unknown"
				if at.Options != nil {
					state = string(at.Options.State)
				}
				a.note("DEBUG imdsopts: %s #%d: state %s, error %v, next in %v", at.Operation, at.Number, state, at.Err, at.NextDelay)
			}
		}
	}
	w, err := imdsopts.Apply(ctx, api, id, set, opt)
	if err != nil {
		return unanswered(ctx, err)
	}
	got, err := w.Wait(ctx)
	seen := optionsDoc(aws.String(id), cmp.Or(got, accepted))
	switch {
	case err == nil:
		return a.print(p, output{title: opModify, doc: seen})
	case errors.Is(err, imdsopts.ErrPendingUntilStart):
		perr := a.print(p, output{title: opModify, doc: seen})
		a.note("%s", stoppedNote([]string{id}))
		return perr
	}
	return joinFailures(fmt.Errorf("EC2 accepted the change, but it was not seen applied: %w", err),
		a.print(p, output{title: opModify, doc: seen}))
}

// stoppedNote is the note of modify --wait and apply on stopped instances:
// EC2 accepted the change, and applies it when the instance starts. It is
// not a failure: the command exits 0.
func stoppedNote(ids []string) string {
	if len(ids) == 1 {
		return fmt.Sprintf("imdsopts: note: %s is stopped: EC2 accepted the change and applies it when the instance starts", ids[0])
	}
	return fmt.Sprintf("imdsopts: note: %d instances are stopped: EC2 accepted the change and applies it when each starts", len(ids))
}

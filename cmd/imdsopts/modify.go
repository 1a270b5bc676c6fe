package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imdsopts/imdsopts"
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
// ModifyInstanceMetadataOptionsInput.
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
}

// request is the resolved input: values and whether each came from the
// command line or from --cli-input-json, so errors can say which.
type request struct {
	instanceID *string
	tokens     *string
	hop        *int64
	endpoint   *string
	ipv6       *string
	tags       *string
	dryRun     bool
	fromJSON   map[string]bool // EC2 field names taken from --cli-input-json
}

func (a *app) modify(ctx context.Context, g *globals, args []string) error {
	var f modifyFlags
	fs := newFlagSet("modify-instance-metadata-options")
	fs.Var(&f.instanceID, "instance-id", "")
	f.options.register(fs)
	f.dryRun.flags(fs, "dry-run")
	fs.Var(&f.cliInputJSON, "cli-input-json", "")
	fs.Var(&f.skeleton, "generate-cli-skeleton", "")
	fs.BoolVar(&f.wait, "wait", false, "")
	fs.Func("wait-timeout", "", durationValue(&f.waitTimeout))
	if done, err := a.parseSubcommand("modify-instance-metadata-options", g, fs, args, &f.skeleton); done || err != nil {
		return err
	}
	switch f.skeleton.value {
	case "input":
		_, err := io.WriteString(a.stdout, inputSkeleton)
		return err
	case "output":
		_, err := io.WriteString(a.stdout, outputSkeleton)
		return err
	}
	p, err := newPrinter(g, a.getenv, a.stdout)
	if err != nil {
		return err
	}
	req, err := a.buildRequest(&f)
	if err != nil {
		return err
	}
	set, err := req.validate()
	if err != nil {
		return err
	}
	if f.waitTimeout != 0 && !f.wait {
		return usageErrorf("--wait-timeout %v: needs --wait", f.waitTimeout)
	}
	if f.wait && req.dryRun {
		return usageErrorf("--wait: cannot be combined with --dry-run")
	}
	id := aws.ToString(req.instanceID)

	api, err := a.newAPI(ctx, g, a.stderr)
	if err != nil {
		return err
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
		return err
	}
	return p.print(a.stdout, opModify, optionsDoc(out.InstanceId, out.InstanceMetadataOptions))
}

// buildRequest merges --cli-input-json and the flags; flags win.
func (a *app) buildRequest(f *modifyFlags) (*request, error) {
	req := &request{fromJSON: map[string]bool{}}
	if f.cliInputJSON.set {
		in, err := a.readInputJSON(f.cliInputJSON.value)
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
		take("HttpTokens", &req.tokens, in.HttpTokens)
		take("HttpEndpoint", &req.endpoint, in.HttpEndpoint)
		take("HttpProtocolIpv6", &req.ipv6, in.HttpProtocolIpv6)
		take("InstanceMetadataTags", &req.tags, in.InstanceMetadataTags)
		if in.HttpPutResponseHopLimit != nil {
			req.hop = in.HttpPutResponseHopLimit
			req.fromJSON["HttpPutResponseHopLimit"] = true
		}
		if in.DryRun != nil {
			req.dryRun = *in.DryRun
		}
	}
	flagValue := func(field string, dst **string, o *optString) {
		if o.set {
			v := o.value
			*dst = &v
			delete(req.fromJSON, field)
		}
	}
	flagValue("InstanceId", &req.instanceID, &f.instanceID)
	flagValue("HttpTokens", &req.tokens, &f.options.tokens)
	flagValue("HttpEndpoint", &req.endpoint, &f.options.endpoint)
	flagValue("HttpProtocolIpv6", &req.ipv6, &f.options.ipv6)
	flagValue("InstanceMetadataTags", &req.tags, &f.options.tags)
	if f.options.hop.set {
		v := f.options.hop.value
		req.hop = &v
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
// fileb://PATH), or "-" for standard input.
func (a *app) readInputJSON(value string) (*modifyJSON, error) {
	data := []byte(value)
	switch {
	case strings.HasPrefix(value, "file://"), strings.HasPrefix(value, "fileb://"):
		path := value[strings.Index(value, "://")+3:]
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, usageErrorf("--cli-input-json: unable to load %s: %v", value, err)
		}
		data = b
	case value == "-":
		b, err := io.ReadAll(a.stdin)
		if err != nil {
			return nil, usageErrorf("--cli-input-json: reading standard input: %v", err)
		}
		data = b
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var in modifyJSON
	if err := dec.Decode(&in); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			return nil, usageErrorf("--cli-input-json: invalid type for parameter %s: %s, valid type: %s", typeErr.Field, typeErr.Value, typeErr.Type)
		}
		if strings.HasPrefix(err.Error(), "json: unknown field ") {
			return nil, usageErrorf("--cli-input-json: unknown parameter in input: %s, must be one of: InstanceId, HttpTokens, HttpPutResponseHopLimit, HttpEndpoint, DryRun, HttpProtocolIpv6, InstanceMetadataTags",
				strings.TrimPrefix(err.Error(), "json: unknown field "))
		}
		return nil, usageErrorf("--cli-input-json: invalid JSON: %v", err)
	}
	if dec.More() {
		return nil, usageErrorf("--cli-input-json: invalid JSON: more than one value")
	}
	return &in, nil
}

// validate checks every value with the library's rules and returns the Set
// to send; the errors name the flag (or the --cli-input-json member) of each
// bad value.
func (r *request) validate() (imdsopts.Set, error) {
	set, err := r.optionSet(imdsopts.ValidateInstanceID(aws.ToString(r.instanceID)))
	if err != nil {
		return imdsopts.Set{}, err
	}
	// The library's check of the whole input, as sent.
	if err := imdsopts.ValidateModifyInput(set.ModifyInput(aws.ToString(r.instanceID))); err != nil {
		return imdsopts.Set{}, flagErrors(err, r.fromJSON)
	}
	return set, nil
}

// optionSet checks the option values with the library's rules and returns
// their Set; the errors, with extra ones, name the flags of the bad values.
func (r *request) optionSet(extra ...error) (imdsopts.Set, error) {
	var opts []imdsopts.Option
	var errs []error
	if r.tokens != nil {
		opts = append(opts, imdsopts.HTTPTokens(types.HttpTokensState(*r.tokens)))
	}
	if r.hop != nil {
		if *r.hop < math.MinInt32 || *r.hop > math.MaxInt32 {
			errs = append(errs, &imdsopts.ValidationError{Field: "HttpPutResponseHopLimit", Value: fmt.Sprint(*r.hop),
				Rule: fmt.Sprintf("must be %d..%d", imdsopts.MinHopLimit, imdsopts.MaxHopLimit)})
		} else {
			opts = append(opts, imdsopts.HopLimit(int32(*r.hop)))
		}
	}
	if r.endpoint != nil {
		opts = append(opts, imdsopts.HTTPEndpoint(types.InstanceMetadataEndpointState(*r.endpoint)))
	}
	if r.ipv6 != nil {
		opts = append(opts, imdsopts.HTTPProtocolIPv6(types.InstanceMetadataProtocolState(*r.ipv6)))
	}
	if r.tags != nil {
		opts = append(opts, imdsopts.InstanceMetadataTags(types.InstanceMetadataTagsState(*r.tags)))
	}
	errs = append(errs, extra...)
	set, err := imdsopts.New(opts...)
	errs = append(errs, err)
	if err := errors.Join(errs...); err != nil {
		return imdsopts.Set{}, flagErrors(err, r.fromJSON)
	}
	return set, nil
}

// flagErrors rewrites the library's validation errors with the flags'
// names: "--http-put-response-hop-limit 65: must be 1..64".
func flagErrors(err error, fromJSON map[string]bool) error {
	var lines []string
	for _, e := range flatten(err) {
		var ve *imdsopts.ValidationError
		if !errors.As(e, &ve) {
			lines = append(lines, e.Error())
			continue
		}
		name, ok := flagNames[ve.Field]
		if !ok {
			name = ve.Field
		}
		if fromJSON[ve.Field] {
			name = "--cli-input-json " + ve.Field
		}
		lines = append(lines, fmtValueError(name, ve.Value, flagsInText(ve.Rule)))
	}
	return &exitError{code: exitUsage, err: fmt.Errorf("%s", strings.Join(lines, "\nimdsopts: error: "))}
}

// flatten returns the errors joined in err.
func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}

// dryRun asks EC2 whether the change is permitted. As the AWS CLI does, a
// permitted dry run prints EC2's DryRunOperation error and exits 254.
func (a *app) dryRun(ctx context.Context, api API, id string, set imdsopts.Set) error {
	err := imdsopts.DryRun(ctx, api, id, set)
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
// it applied, and prints the options then in the output's shape.
func (a *app) applyAndWait(ctx context.Context, g *globals, p *printer, api API, id string, set imdsopts.Set, timeout time.Duration) error {
	opt := func(o *imdsopts.WaiterOptions) {
		o.MaxWait = timeout
		if g.debug {
			o.OnAttempt = func(at imdsopts.Attempt) {
				state := "unknown"
				if at.Options != nil {
					state = string(at.Options.State)
				}
				fmt.Fprintf(a.stderr, "DEBUG imdsopts: %s #%d: state %s, error %v, next in %v\n", at.Operation, at.Number, state, at.Err, at.NextDelay)
			}
		}
	}
	w, err := imdsopts.Apply(ctx, api, id, set, opt)
	if err != nil {
		return err
	}
	got, err := w.Wait(ctx)
	if err != nil {
		if errors.Is(err, imdsopts.ErrPendingUntilStart) && got != nil {
			if perr := p.print(a.stdout, opModify, optionsDoc(aws.String(id), got)); perr != nil {
				return perr
			}
		}
		return err
	}
	return p.print(a.stdout, opModify, optionsDoc(aws.String(id), got))
}

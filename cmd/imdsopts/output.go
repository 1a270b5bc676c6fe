package main

import (
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imdsopts/imdsopts/internal/awscli"
)

// The documents the subcommands print are built here and in fleet.go; the
// AWS CLI's formats, --query and the table renderer are in internal/awscli.

// optionsDoc is the AWS CLI's shape of ModifyInstanceMetadataOptions'
// output: InstanceId and InstanceMetadataOptions. Fields EC2 did not
// return are left out, as the AWS CLI leaves them out.
func optionsDoc(instanceID *string, o *types.InstanceMetadataOptionsResponse) map[string]any {
	doc := map[string]any{}
	if instanceID != nil {
		doc["InstanceId"] = *instanceID
	}
	if o != nil {
		opts := map[string]any{}
		put := func(k, v string) {
			if v != "" {
				opts[k] = v
			}
		}
		put("State", string(o.State))
		put("HttpTokens", string(o.HttpTokens))
		if o.HttpPutResponseHopLimit != nil {
			opts["HttpPutResponseHopLimit"] = float64(aws.ToInt32(o.HttpPutResponseHopLimit))
		}
		put("HttpEndpoint", string(o.HttpEndpoint))
		put("HttpProtocolIpv6", string(o.HttpProtocolIpv6))
		put("InstanceMetadataTags", string(o.InstanceMetadataTags))
		doc["InstanceMetadataOptions"] = opts
	}
	return doc
}

// fullOptions are metadata options with every field set, for the skeletons
// of the outputs.
var fullOptions = &types.InstanceMetadataOptionsResponse{
	State: types.InstanceMetadataOptionsStateApplied, HttpTokens: types.HttpTokensStateRequired,
	HttpPutResponseHopLimit: aws.Int32(2), HttpEndpoint: types.InstanceMetadataEndpointStateEnabled,
	HttpProtocolIpv6: types.InstanceMetadataProtocolStateDisabled, InstanceMetadataTags: types.InstanceMetadataTagsStateDisabled,
}

// optionsSkeleton is the output of modify-instance-metadata-options and
// describe with every field present.
func optionsSkeleton() map[string]any {
	return optionsDoc(aws.String("i-0123456789abcdef0"), fullOptions)
}

// keyOrder is the order in which the AWS CLI prints the keys of the
// documents here: the order of the members in the service model.
var keyOrder = []string{
	"InstanceId", "InstanceMetadataOptions",
	"State", "HttpTokens", "HttpPutResponseHopLimit", "HttpEndpoint", "DryRun", "HttpProtocolIpv6", "InstanceMetadataTags",
	"Value", "Source",
	// plan and apply
	"Items", "Irreversible", "Waves", "Counts", "Calls", "Throttled", "ElapsedSeconds",
	"InstanceState", "Status", "Wave", "Changes", "Downgrade", "IMDSv1Calls", "RejectedCalls",
	"Instances", "Started", "Ended", "Watched", "Rejected", "Result", "Error", "MetadataOptions", "Owner", "Kind", "Name", "Fix", "Container",
	"change", "applied", "satisfied", "held", "pending-until-start", "refused-downgrade", "failed", "not-attempted", "excluded",
	"rolled-back", "needs-person", "unconfirmed", "cannot-apply",
	// across targets
	"Targets", "Account", "Region", "TargetsFailed",
}

// newPrinter checks --output (or AWS_DEFAULT_OUTPUT), --query and --color.
func newPrinter(g *globals, getenv func(string) string, stdout io.Writer) (*awscli.Printer, error) {
	p := &awscli.Printer{Format: g.output, KeyOrder: keyOrder}
	if p.Format == "" {
		p.Format = awscli.JSON
		if env := getenv("AWS_DEFAULT_OUTPUT"); env != "" {
			f, err := awscli.ParseFormat(env)
			if err != nil {
				return nil, configError(fmt.Errorf("AWS_DEFAULT_OUTPUT %w", err))
			}
			p.Format = f
		}
	}
	if g.query != "" {
		q, err := awscli.CompileQuery(g.query)
		if err != nil {
			return nil, &exitError{code: exitUsage, err: err}
		}
		p.Query = q
	}
	switch g.color {
	case "on":
		p.Color = true
	case "auto":
		p.Color = awscli.IsTerminal(stdout)
	}
	return p, nil
}

// newPrinter is newPrinter for the run, whose messages then name the
// output's fields as its format shows them (see field).
func (a *app) newPrinter(g *globals) (*awscli.Printer, error) {
	p, err := newPrinter(g, a.getenv, a.stdout)
	if p != nil {
		a.format = p.Format
	}
	return p, err
}

// field names a field of the output for messages, as the run's output
// format shows it: key in JSON and table, text in text, such as the
// column that holds it.
func (a *app) field(key, text string) string {
	if a.format == awscli.Text {
		return text
	}
	return `"` + key + `" in the output`
}

// checkQuery applies --query to skeleton, the command's output with every
// field present, before anything is sent: a query that fails on it would
// fail on the output after the command has acted.
func checkQuery(p *awscli.Printer, skeleton any) error {
	if p.Query == nil {
		return nil
	}
	if _, err := p.Query.Search(skeleton); err != nil {
		return &exitError{code: exitUsage, err: fmt.Errorf("%w (tried on the shape of the output; nothing was sent)", err)}
	}
	return nil
}

// output is what a command prints: a document, with its title for the
// table format, and for some commands their own text format.
type output struct {
	title string
	doc   any
	// text, when not nil, is the --output text of the command without
	// --query, instead of the AWS CLI's.
	text func() []byte
}

func (o output) render(p *awscli.Printer) ([]byte, error) {
	if o.text != nil && p.Format == awscli.Text && p.Query == nil {
		return o.text(), nil
	}
	return p.Render(o.title, o.doc)
}

// print writes out to stdout after the command has acted, so that no
// failure here may lose what it did. A --query that fails on the output
// prints the output without it; a failed write to stdout writes the output
// to stderr instead. Either is an error (exit 255) that says so.
func (a *app) print(p *awscli.Printer, out output) error {
	a.prog.finish(false)
	b, err := out.render(p)
	var errs []error
	if err != nil {
		whole := *p
		whole.Query = nil
		b, _ = out.render(&whole) // without a query, rendering cannot fail
		errs = append(errs, otherError(fmt.Errorf("%w; the output above is printed without it", err)))
	}
	if _, werr := a.stdout.Write(b); werr != nil {
		a.note("imdsopts: error: writing the output to stdout: %v; it follows here instead:", werr)
		a.stderr.Write(b)
		errs = append(errs, &exitError{code: exitOther, reported: true, err: fmt.Errorf("writing the output: %w", werr)})
	}
	return joinFailures(errs...)
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"unicode"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/smithy-go"

	"github.com/imdsopts/imdsopts/account"
	"github.com/imdsopts/imdsopts/fleet"
	"github.com/imdsopts/imdsopts/internal/awscli"
	"github.com/imdsopts/imdsopts/internal/check"
)

// The account-wide subcommands (get- and modify-instance-metadata-defaults,
// templates, images, posture) act on one account and Region through the
// library's Clients: EC2, and for readiness and posture, Auto Scaling and
// CloudWatch. This file builds them, observed as the instance commands'
// clients are, and holds what those subcommands share.

// exitNotReady is the exit status of a posture whose verdict is "not ready
// to enforce IMDSv2", and of modify-instance-metadata-defaults refusing to
// enable enforcement for that reason: the report is complete and printed,
// and says what to fix. It is apart from 254 and 255 so that a script
// gating on readiness can tell "not ready" from "could not tell", and it
// is not 0, so that "imdsopts posture && ..." never goes on when the
// account is not ready.
const exitNotReady = 1

// newAutoScalingFunc builds the Auto Scaling client of the account-wide
// subcommands from the global options.
type newAutoScalingFunc func(ctx context.Context, g *globals, debugLog io.Writer) (account.AutoScalingAPI, error)

// withAutoScaling makes the run build its Auto Scaling client with fn.
func withAutoScaling(fn newAutoScalingFunc) appOption {
	return func(a *app) { a.newAutoScaling = fn }
}

// newSDKAutoScaling builds the *autoscaling.Client of a run from the same
// configuration as its EC2 client; --endpoint-url points it at the same URL,
// as emulators serve every service on one endpoint.
func newSDKAutoScaling(ctx context.Context, g *globals, debugLog io.Writer) (account.AutoScalingAPI, error) {
	cfg, err := sdkConfig(ctx, g, debugLog)
	if err != nil {
		return nil, err
	}
	return autoscaling.NewFromConfig(cfg, func(o *autoscaling.Options) {
		if g.endpointURL != "" {
			o.BaseEndpoint = aws.String(g.endpointURL)
		}
	}), nil
}

// clientNeeds says which clients beyond EC2 an account-wide subcommand uses.
type clientNeeds struct {
	autoScaling, cloudWatch bool
}

// accountClients builds the clients of an account-wide subcommand, each
// observed: every call tells the run (so that its exit status never says
// that nothing was sent) and its progress line. The Region labels the
// results; the account ID is not known without another call, and is left
// out.
func (a *app) accountClients(ctx context.Context, g *globals, needs clientNeeds) (account.Clients, error) {
	api, err := a.newAPI(ctx, g, a.stderr)
	if err != nil {
		return account.Clients{}, err
	}
	// The run's client is an *ec2.Client, or a fake in tests: both have
	// every method of the account-wide operations.
	acct, ok := api.(account.API)
	if !ok {
		return account.Clients{}, fmt.Errorf("the EC2 client (%T) lacks the account-wide operations", api)
	}
	c := account.Clients{EC2: observedAccount{API: acct, a: a}, Target: account.Target{Region: g.region}}
	if r, ok := api.(interface{ Options() ec2.Options }); ok {
		c.Target.Region = r.Options().Region
	}
	if needs.autoScaling {
		if c.AutoScaling, err = a.autoScaling(ctx, g); err != nil {
			return account.Clients{}, err
		}
	}
	if needs.cloudWatch {
		m, err := a.metrics(ctx, g)
		if err != nil {
			return account.Clients{}, err
		}
		c.CloudWatch = m
	}
	return c, nil
}

// autoScaling builds the run's Auto Scaling client, observed.
func (a *app) autoScaling(ctx context.Context, g *globals) (account.AutoScalingAPI, error) {
	newAS := a.newAutoScaling
	if newAS == nil {
		newAS = newSDKAutoScaling
	}
	as, err := newAS(ctx, g, a.stderr)
	if err != nil {
		return nil, err
	}
	return observedAutoScaling{AutoScalingAPI: as, a: a}, nil
}

// lazyAutoScaling returns the run's Auto Scaling client for the container
// check of plan and apply, made only when an instance needs it: at its
// first call.
func (a *app) lazyAutoScaling(ctx context.Context, g *globals) *lazyAutoScaling {
	return &lazyAutoScaling{make: func() (account.AutoScalingAPI, error) { return a.autoScaling(ctx, g) }}
}

// lazyAutoScaling is an Auto Scaling client made by make at its first call:
// the container check of plan and apply calls Auto Scaling only for the
// instances whose group's launch configuration decides their change.
type lazyAutoScaling struct {
	make func() (account.AutoScalingAPI, error)
	once sync.Once
	as   account.AutoScalingAPI
	err  error
}

func (l *lazyAutoScaling) get() (account.AutoScalingAPI, error) {
	l.once.Do(func() { l.as, l.err = l.make() })
	return l.as, l.err
}

func (l *lazyAutoScaling) DescribeAutoScalingGroups(ctx context.Context, in *autoscaling.DescribeAutoScalingGroupsInput, optFns ...func(*autoscaling.Options)) (*autoscaling.DescribeAutoScalingGroupsOutput, error) {
	as, err := l.get()
	if err != nil {
		return nil, err
	}
	return as.DescribeAutoScalingGroups(ctx, in, optFns...)
}

func (l *lazyAutoScaling) DescribeLaunchConfigurations(ctx context.Context, in *autoscaling.DescribeLaunchConfigurationsInput, optFns ...func(*autoscaling.Options)) (*autoscaling.DescribeLaunchConfigurationsOutput, error) {
	as, err := l.get()
	if err != nil {
		return nil, err
	}
	return as.DescribeLaunchConfigurations(ctx, in, optFns...)
}

// observedAccount is the EC2 client of an account-wide subcommand, observed
// as observedAPI is.
type observedAccount struct {
	account.API
	a *app
}

func (o observedAccount) GetInstanceMetadataDefaults(ctx context.Context, in *ec2.GetInstanceMetadataDefaultsInput, optFns ...func(*ec2.Options)) (*ec2.GetInstanceMetadataDefaultsOutput, error) {
	return observe(o.a, "GetInstanceMetadataDefaults", func() (*ec2.GetInstanceMetadataDefaultsOutput, error) {
		return o.API.GetInstanceMetadataDefaults(ctx, in, optFns...)
	})
}

func (o observedAccount) ModifyInstanceMetadataDefaults(ctx context.Context, in *ec2.ModifyInstanceMetadataDefaultsInput, optFns ...func(*ec2.Options)) (*ec2.ModifyInstanceMetadataDefaultsOutput, error) {
	return observe(o.a, "ModifyInstanceMetadataDefaults", func() (*ec2.ModifyInstanceMetadataDefaultsOutput, error) {
		return o.API.ModifyInstanceMetadataDefaults(ctx, in, optFns...)
	})
}

func (o observedAccount) DescribeInstances(ctx context.Context, in *ec2.DescribeInstancesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error) {
	return observe(o.a, "DescribeInstances", func() (*ec2.DescribeInstancesOutput, error) {
		return o.API.DescribeInstances(ctx, in, optFns...)
	})
}

func (o observedAccount) DescribeImages(ctx context.Context, in *ec2.DescribeImagesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeImagesOutput, error) {
	return observe(o.a, "DescribeImages", func() (*ec2.DescribeImagesOutput, error) {
		return o.API.DescribeImages(ctx, in, optFns...)
	})
}

func (o observedAccount) ModifyImageAttribute(ctx context.Context, in *ec2.ModifyImageAttributeInput, optFns ...func(*ec2.Options)) (*ec2.ModifyImageAttributeOutput, error) {
	return observe(o.a, "ModifyImageAttribute", func() (*ec2.ModifyImageAttributeOutput, error) {
		return o.API.ModifyImageAttribute(ctx, in, optFns...)
	})
}

func (o observedAccount) DescribeLaunchTemplates(ctx context.Context, in *ec2.DescribeLaunchTemplatesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeLaunchTemplatesOutput, error) {
	return observe(o.a, "DescribeLaunchTemplates", func() (*ec2.DescribeLaunchTemplatesOutput, error) {
		return o.API.DescribeLaunchTemplates(ctx, in, optFns...)
	})
}

func (o observedAccount) DescribeLaunchTemplateVersions(ctx context.Context, in *ec2.DescribeLaunchTemplateVersionsInput, optFns ...func(*ec2.Options)) (*ec2.DescribeLaunchTemplateVersionsOutput, error) {
	return observe(o.a, "DescribeLaunchTemplateVersions", func() (*ec2.DescribeLaunchTemplateVersionsOutput, error) {
		return o.API.DescribeLaunchTemplateVersions(ctx, in, optFns...)
	})
}

func (o observedAccount) CreateLaunchTemplateVersion(ctx context.Context, in *ec2.CreateLaunchTemplateVersionInput, optFns ...func(*ec2.Options)) (*ec2.CreateLaunchTemplateVersionOutput, error) {
	return observe(o.a, "CreateLaunchTemplateVersion", func() (*ec2.CreateLaunchTemplateVersionOutput, error) {
		return o.API.CreateLaunchTemplateVersion(ctx, in, optFns...)
	})
}

func (o observedAccount) ModifyLaunchTemplate(ctx context.Context, in *ec2.ModifyLaunchTemplateInput, optFns ...func(*ec2.Options)) (*ec2.ModifyLaunchTemplateOutput, error) {
	return observe(o.a, "ModifyLaunchTemplate", func() (*ec2.ModifyLaunchTemplateOutput, error) {
		return o.API.ModifyLaunchTemplate(ctx, in, optFns...)
	})
}

// observedAutoScaling is the Auto Scaling client of an account-wide
// subcommand, observed as observedAPI is.
type observedAutoScaling struct {
	account.AutoScalingAPI
	a *app
}

func (o observedAutoScaling) DescribeAutoScalingGroups(ctx context.Context, in *autoscaling.DescribeAutoScalingGroupsInput, optFns ...func(*autoscaling.Options)) (*autoscaling.DescribeAutoScalingGroupsOutput, error) {
	return observe(o.a, "DescribeAutoScalingGroups", func() (*autoscaling.DescribeAutoScalingGroupsOutput, error) {
		return o.AutoScalingAPI.DescribeAutoScalingGroups(ctx, in, optFns...)
	})
}

func (o observedAutoScaling) DescribeLaunchConfigurations(ctx context.Context, in *autoscaling.DescribeLaunchConfigurationsInput, optFns ...func(*autoscaling.Options)) (*autoscaling.DescribeLaunchConfigurationsOutput, error) {
	return observe(o.a, "DescribeLaunchConfigurations", func() (*autoscaling.DescribeLaunchConfigurationsOutput, error) {
		return o.AutoScalingAPI.DescribeLaunchConfigurations(ctx, in, optFns...)
	})
}

// Conformance of the observed clients to the library's interfaces.
var (
	_ account.API            = observedAccount{}
	_ account.AutoScalingAPI = observedAutoScaling{}
)

// verbOf splits the arguments of a subcommand that takes a verb first
// ("templates plan ..."): the verb, one of verbs, and the rest. help is
// true for "help", -h and --help in its place; synopsis is the command
// line to show when the verb is missing.
func verbOf(name string, args, verbs []string, synopsis string) (verb string, rest []string, help bool, err error) {
	if len(args) == 0 {
		return "", nil, false, usageErrorf("%s: %s is required: %q", name, strings.Join(verbs, " or "), synopsis)
	}
	switch v := args[0]; {
	case slices.Contains(verbs, v):
		return v, args[1:], false, nil
	case v == "help" || v == "-h" || v == "--help" || v == "-help":
		return "", nil, true, nil
	default:
		if near, ok := awscli.Nearest(v, verbs); ok {
			return "", nil, false, usageErrorf("%s: unknown verb %s; did you mean %s?", name, check.Quote(v), near)
		}
		return "", nil, false, usageErrorf("%s: unknown verb %s: must be %s, first after %s", name, check.Quote(v), strings.Join(verbs, " or "), name)
	}
}

// jsonDoc returns v as a document (see internal/awscli): what
// encoding/json makes of it, decoded into an any. The library's results
// have JSON encodings of their own; the commands print those.
func jsonDoc(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		// The library's results always encode; a failure here is a bug,
		// reported in the output rather than as a panic.
		return map[string]any{"Error": "cannot encode the result: " + err.Error()}
	}
	var doc any
	if err := json.Unmarshal(b, &doc); err != nil {
		return map[string]any{"Error": "cannot decode the result: " + err.Error()}
	}
	return doc
}

// libraryJSON encodes v as the library's JSON encoding has it, fields in
// its order, indented as the AWS CLI indents JSON. Every character that
// could drive a terminal is escaped (\uXXXX), as the AWS CLI's JSON output
// is here: encoding/json escapes those below U+0020 and the line
// separators, not DEL, the C1 controls or the bidirectional formatting
// characters.
func libraryJSON(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "    ")
	if err := enc.Encode(v); err != nil {
		return []byte(awscli.Sanitize(fmt.Sprintf("{\"Error\": %q}\n", "cannot encode the result: "+err.Error())))
	}
	var out bytes.Buffer
	for _, r := range b.String() { // outside strings there are only ASCII and line feeds
		if r != '\n' && (unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r)) {
			fmt.Fprintf(&out, `\u%04x`, r)
			continue
		}
		out.WriteRune(r)
	}
	return out.Bytes()
}

// ownFormat returns the printer and output that print, without --query,
// what own renders for p's format instead of the AWS CLI's rendering of
// out's document; own returns nil for a format it leaves to the AWS CLI's.
// With --query, the query applies to the document, as for every command.
func ownFormat(p *awscli.Printer, out output, own func(awscli.Format) []byte) (*awscli.Printer, output) {
	if p.Query != nil {
		return p, out
	}
	b := own(p.Format)
	if b == nil {
		return p, out
	}
	q := *p
	q.Format = awscli.Text // output.render prints out.text for it
	out.text = func() []byte { return b }
	return &q, out
}

// callsDoc is the API calls of a run by operation, as plan and apply print
// them.
func callsDoc(calls ...map[string]int) map[string]any {
	doc := map[string]any{}
	for _, m := range calls {
		for op, n := range m {
			v, _ := doc[op].(float64)
			doc[op] = v + float64(n)
		}
	}
	return doc
}

// statusDoc counts statuses as plan and apply print them: every status,
// zeros included.
func statusDoc(counts map[fleet.Status]int) map[string]any {
	doc := map[string]any{}
	for _, s := range fleet.Statuses() {
		doc[s.String()] = float64(counts[s])
	}
	return doc
}

// answered reports whether err carries an answer of the service: an API
// error, or an HTTP status the SDK could not decode as one.
func answered(err error) bool {
	var apiErr smithy.APIError
	var status httpStatusError
	return errors.As(err, &apiErr) || errors.As(err, &status) && status.HTTPStatusCode() > 0
}

package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imdsopts/imdsopts"
	"github.com/imdsopts/imdsopts/internal/awscli"
	"github.com/imdsopts/imdsopts/internal/awsid"
	"github.com/imdsopts/imdsopts/internal/check"
)

// globals are the options every subcommand takes, before or after the
// subcommand's name, as with the AWS CLI.
type globals struct {
	endpointURL string
	// endpointSource is "AWS_ENDPOINT_URL" when endpointURL came from the
	// environment, "" when from --endpoint-url (or unset).
	endpointSource string
	region         string
	profile        string
	output         awscli.Format
	query          string
	noVerifySSL    bool
	caBundle       string
	readTimeout    time.Duration
	connectTimeout time.Duration
	noSignRequest  bool
	color          string
	debug          bool
	version        bool
	help           bool

	// sdk is the SDK configuration once loaded (see sdkConfig).
	sdk *aws.Config

	// emulator and emulatorSeed are --emulator and --emulator-seed; emu is
	// the emulator once started (see emulator.go).
	emulator        bool
	emulatorSeed    string
	emulatorAccount string // --emulator-seed-account: a built-in seed
	emulatorOrg     int    // --emulator-organization (emulator_org.go)
	emu             *embeddedEmulator

	// secrets are the credentials of the run, redacted wherever they
	// would be printed.
	secrets *secrets

	// targets are the accounts and Regions to work in (targets.go).
	targets targetFlags

	// given are the flags of the command line, as parseArgs records them.
	given givenFlags
}

// The AWS CLI's defaults for --cli-read-timeout and --cli-connect-timeout.
const defaultCLITimeout = 60 * time.Second

func newGlobals() *globals {
	return &globals{readTimeout: defaultCLITimeout, connectTimeout: defaultCLITimeout, color: "auto", secrets: &secrets{}, given: givenFlags{}}
}

// helpUsage is the help of -h and --help.
const helpUsage = "print this help and exit"

// register registers the global options, the target flags included.
func (g *globals) register(fs *flag.FlagSet) {
	g.registerOwn(fs)
	g.targets.register(fs)
}

// registerOwn registers the global options but the target flags.
func (g *globals) registerOwn(fs *flag.FlagSet) {
	fs.StringVar(&g.endpointURL, "endpoint-url", g.endpointURL, "`URL` send requests to URL instead of the Region's EC2 endpoint")
	fs.StringVar(&g.region, "region", g.region, "`REGION` the AWS Region (default: AWS_REGION, AWS_DEFAULT_REGION, the profile)")
	fs.StringVar(&g.profile, "profile", g.profile, "`NAME` the shared config/credentials profile to use")
	fs.Func("output", "`json|text|table` output format (default: AWS_DEFAULT_OUTPUT, else json)", func(s string) error {
		f, err := awscli.ParseFormat(s)
		if err != nil {
			return errors.New(`must be one of "json", "text", "table"`)
		}
		g.output = f
		return nil
	})
	fs.StringVar(&g.query, "query", g.query, "`EXPRESSION` JMESPath expression applied to the output")
	fs.BoolVar(&g.noVerifySSL, "no-verify-ssl", g.noVerifySSL, "do not verify TLS certificates")
	fs.StringVar(&g.caBundle, "ca-bundle", g.caBundle, "`FILE` PEM bundle of CA certificates to trust")
	fs.Func("cli-read-timeout", "`N` seconds to wait for a response (default 60; 0: no timeout)", secondsValue(&g.readTimeout))
	fs.Func("cli-connect-timeout", "`N` seconds to wait for a connection (default 60; 0: no timeout)", secondsValue(&g.connectTimeout))
	fs.BoolVar(&g.noSignRequest, "no-sign-request", g.noSignRequest, "send requests unsigned (anonymous credentials)")
	fs.Func("color", "`on|off|auto` colour of table output (default auto)", enumValue(&g.color, "on", "off", "auto"))
	fs.BoolVar(&g.debug, "debug", g.debug, "log requests and responses to stderr (secrets are redacted)")
	fs.BoolVar(&g.version, "version", g.version, "print the version and exit")
	fs.BoolVar(&g.help, "h", g.help, helpUsage)
	fs.BoolVar(&g.help, "help", g.help, helpUsage)
	fs.BoolVar(&g.emulator, "emulator", g.emulator, "run against an emulator started in this process, seeded with a realistic account of 200 instances, instead of AWS (\"imdsopts help emulator\")")
	fs.StringVar(&g.emulatorSeed, "emulator-seed", g.emulatorSeed, "`FILE` seed that emulator from FILE (the seed file of \"imdsopts help emulator\")")
	fs.Func("emulator-seed-account", "`NAME` seed that emulator with a built-in account: \"realistic\" (the default) or \"containers\", EKS, Karpenter, ECS, Elastic Beanstalk and CloudFormation instances (\"imdsopts help emulator\")", seedAccountValue(&g.emulatorAccount))
	fs.Func("emulator-organization", "`N` make that emulator an organisation of N accounts, each with the role OrganizationAccountAccessRole and seeded alike in us-east-1 and eu-west-1, for the target options (\"imdsopts help plan\")", orgAccountsValue(&g.emulatorOrg))
}

// enumValue parses a flag that takes one of values into dst.
func enumValue(dst *string, values ...string) func(string) error {
	quoted := make([]string, len(values))
	for i, v := range values {
		quoted[i] = strconv.Quote(v)
	}
	return func(s string) error {
		if !slices.Contains(values, s) {
			return errors.New("must be one of " + strings.Join(quoted, ", "))
		}
		*dst = s
		return nil
	}
}

// endpointFromEnvironment takes AWS_ENDPOINT_URL, the endpoint of every
// service that the AWS CLI and the SDKs honour, as the run's endpoint when
// neither --endpoint-url nor --emulator is given and
// AWS_IGNORE_CONFIGURED_ENDPOINT_URLS is not "true": the run then behaves
// as with --endpoint-url (an emulator's answers are understood, and every
// command it prints names the endpoint).
func (g *globals) endpointFromEnvironment(getenv func(string) string) {
	if g.endpointURL != "" || g.emulator || strings.EqualFold(getenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"), "true") {
		return
	}
	if u := getenv("AWS_ENDPOINT_URL"); u != "" {
		g.endpointURL, g.endpointSource = u, "AWS_ENDPOINT_URL"
	}
}

// check validates what the flag parsers could not check alone.
func (g *globals) check() error {
	if g.endpointURL != "" {
		u, err := url.Parse(g.endpointURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return usageErrorf("%s %s: must be an absolute http:// or https:// URL", g.endpointName(), check.Quote(redactUserinfo(g.endpointURL)))
		}
	}
	if g.region != "" {
		if err := awsid.CheckRegion(g.region); err != nil {
			return usageErrorf("--region %v", err)
		}
	}
	if g.noVerifySSL && g.caBundle != "" {
		return usageErrorf("--no-verify-ssl and --ca-bundle %s: cannot be combined", check.Quote(g.caBundle))
	}
	if err := g.targets.check(); err != nil {
		return err
	}
	return g.checkEmulator()
}

// endpointName names where the run's endpoint came from, for messages.
func (g *globals) endpointName() string {
	if g.endpointSource != "" {
		return g.endpointSource
	}
	return "--endpoint-url"
}

// endpointText is --endpoint-url as it may be printed: without the
// password of its user information.
func (g *globals) endpointText() string {
	if u, err := url.Parse(g.endpointURL); err == nil {
		return u.Redacted()
	}
	return redactUserinfo(g.endpointURL)
}

// secondsValue parses a whole number of seconds, 0 meaning no timeout, as the
// AWS CLI's --cli-read-timeout and --cli-connect-timeout take it.
func secondsValue(d *time.Duration) func(string) error {
	return func(s string) error {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 || n > math.MaxInt64/int64(time.Second) {
			return errors.New("must be a whole number of seconds, 0 or more (0: no timeout)")
		}
		*d = time.Duration(n) * time.Second
		return nil
	}
}

// durationValue parses a Go duration ("90s", "5m") or a number of seconds.
func durationValue(d *time.Duration) func(string) error {
	return func(s string) error {
		v, err := time.ParseDuration(s)
		if err != nil {
			f, ferr := strconv.ParseFloat(s, 64)
			if ferr != nil || math.IsNaN(f) || math.IsInf(f, 0) || f > float64(math.MaxInt64)/float64(time.Second) {
				return errors.New(`must be a duration such as "90s" or "5m", or a number of seconds`)
			}
			v = time.Duration(f * float64(time.Second))
		}
		if v <= 0 {
			return errors.New("must be positive")
		}
		*d = v
		return nil
	}
}

// optString is a string flag that remembers whether it was given.
type optString struct {
	set   bool
	value string
}

func (o *optString) String() string { return o.value }
func (o *optString) Set(s string) error {
	o.set, o.value = true, s
	return nil
}

// ptr returns the value, or nil when the flag was not given.
func (o *optString) ptr() *string {
	if !o.set {
		return nil
	}
	return aws.String(o.value)
}

// optInt is an integer flag that remembers whether it was given.
type optInt struct {
	set   bool
	value int64
}

func (o *optInt) String() string {
	if !o.set {
		return ""
	}
	return strconv.FormatInt(o.value, 10)
}

func (o *optInt) Set(s string) error {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return errors.New("must be an integer")
	}
	o.set, o.value = true, n
	return nil
}

// The help of the flags that modify-instance-metadata-options and
// get-instance-metadata-defaults share with the AWS CLI.
const (
	dryRunUsage   = "only check the permission (the AWS CLI's output and exit 254)"
	noDryRunUsage = "send the call (the default; the last of --dry-run and this wins)"
	skeletonUsage = "`[input|output]` print a JSON skeleton of the input (default) or output and exit"
)

// triBool is a flag pair such as --dry-run / --no-dry-run: the last one given
// wins, and neither leaves it unset.
type triBool struct {
	set   bool
	value bool
}

// flags registers --name, with help usage, and --no-name, with help
// noUsage.
func (b *triBool) flags(fs *flag.FlagSet, name, usage, noUsage string) {
	fs.BoolFunc(name, usage, func(s string) error {
		v, err := strconv.ParseBool(s)
		if err != nil {
			return errors.New("takes no value")
		}
		b.set, b.value = true, v
		return nil
	})
	fs.BoolFunc("no-"+name, noUsage, func(s string) error {
		v, err := strconv.ParseBool(s)
		if err != nil {
			return errors.New("takes no value")
		}
		b.set, b.value = true, !v
		return nil
	})
}

// skeletonFlag is --generate-cli-skeleton with its optional value: alone it
// means "input"; "input" or "output" may follow it. input and output are the
// skeletons the subcommand prints for each.
type skeletonFlag struct {
	value         string
	input, output string
}

// print writes the skeleton asked for, if any; it reports whether it did.
func (s *skeletonFlag) print(w io.Writer) (bool, error) {
	var text string
	switch s.value {
	case "input":
		text = s.input
	case "output":
		text = s.output
	default:
		return false, nil
	}
	_, err := io.WriteString(w, text)
	return true, err
}

func (s *skeletonFlag) String() string   { return s.value }
func (s *skeletonFlag) IsBoolFlag() bool { return true }
func (s *skeletonFlag) Set(v string) error {
	switch v {
	case "true":
		s.value = "input"
	case "false":
		s.value = ""
	case "input", "output":
		s.value = v
	default:
		return errors.New(`must be "input" or "output"`)
	}
	return nil
}

// newFlagSet returns a FlagSet that reports errors to the caller only.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// parseFlags parses args with fs, allowing the value of
// --generate-cli-skeleton (when skel is not nil) to follow it as a separate
// argument. Any other argument that is not a flag is an error. given
// records the flags set (see parseArgs).
func parseFlags(fs *flag.FlagSet, args []string, skel *skeletonFlag, given givenFlags) error {
	for {
		rest, err := parseArgs(fs, args, given)
		if err != nil {
			return err
		}
		if len(rest) == 0 {
			return nil
		}
		consumed := len(args) - len(rest)
		prev := ""
		if consumed > 0 {
			prev = args[consumed-1]
		}
		if skel != nil && (prev == "--generate-cli-skeleton" || prev == "-generate-cli-skeleton") {
			if err := skel.Set(rest[0]); err != nil {
				return usageErrorf("invalid value %s for flag --generate-cli-skeleton: %v", check.Quote(rest[0]), err)
			}
			args = rest[1:]
			continue
		}
		return usageErrorf("unexpected argument %s", check.Quote(rest[0]))
	}
}

// optionFlags are the five metadata option flags that modify, resolve, plan
// and apply share.
type optionFlags struct {
	tokens, endpoint, ipv6, tags optString
	hop                          optInt
}

func (o *optionFlags) register(fs *flag.FlagSet) {
	fs.Var(&o.tokens, "http-tokens", "`optional|required` IMDSv2 session tokens optional or required")
	fs.Var(&o.hop, "http-put-response-hop-limit", "`N` hop limit of the token response, 1..64")
	fs.Var(&o.endpoint, "http-endpoint", "`enabled|disabled` turn the metadata endpoint on or off")
	fs.Var(&o.ipv6, "http-protocol-ipv6", "`enabled|disabled` the IPv6 endpoint (not enabled with --http-endpoint disabled)")
	fs.Var(&o.tags, "instance-metadata-tags", "`enabled|disabled` access to the instance's tags from the metadata service")
}

// values returns the options given on the command line.
func (o *optionFlags) values() optionValues {
	v := optionValues{tokens: o.tokens.ptr(), endpoint: o.endpoint.ptr(), ipv6: o.ipv6.ptr(), tags: o.tags.ptr()}
	if o.hop.set {
		v.hop = aws.Int64(o.hop.value)
	}
	return v
}

// optionValues are the five option values as given (on the command line or
// in --cli-input-json), nil when not given.
type optionValues struct {
	tokens, endpoint, ipv6, tags *string
	hop                          *int64
}

// optionFlagList names the option flags, for messages that require one.
const optionFlagList = "--http-tokens, --http-put-response-hop-limit, --http-endpoint, --http-protocol-ipv6, --instance-metadata-tags"

// set checks the values with the library's rules and returns their Set. Its
// errors, extra ones included, are flagErrors.
func (v optionValues) set(fromJSON map[string]bool, extra ...error) (imdsopts.Set, error) {
	var opts []imdsopts.Option
	errs := extra
	if v.tokens != nil {
		opts = append(opts, imdsopts.HTTPTokens(types.HttpTokensState(*v.tokens)))
	}
	if v.hop != nil {
		if *v.hop < math.MinInt32 || *v.hop > math.MaxInt32 {
			errs = append(errs, &imdsopts.ValidationError{Field: "HttpPutResponseHopLimit", Value: strconv.FormatInt(*v.hop, 10),
				Rule: fmt.Sprintf("must be %d..%d", imdsopts.MinHopLimit, imdsopts.MaxHopLimit)})
		} else {
			opts = append(opts, imdsopts.HopLimit(int32(*v.hop)))
		}
	}
	if v.endpoint != nil {
		opts = append(opts, imdsopts.HTTPEndpoint(types.InstanceMetadataEndpointState(*v.endpoint)))
	}
	if v.ipv6 != nil {
		opts = append(opts, imdsopts.HTTPProtocolIPv6(types.InstanceMetadataProtocolState(*v.ipv6)))
	}
	if v.tags != nil {
		opts = append(opts, imdsopts.InstanceMetadataTags(types.InstanceMetadataTagsState(*v.tags)))
	}
	set, err := imdsopts.New(opts...)
	if err := errors.Join(append(errs, err)...); err != nil {
		return imdsopts.Set{}, flagErrors(err, fromJSON)
	}
	return set, nil
}

// flagNames maps EC2's field names to the flags that set them.
var flagNames = map[string]string{
	"InstanceId":              "--instance-id",
	"ImageId":                 "--image-id",
	"HttpTokens":              "--http-tokens",
	"HttpPutResponseHopLimit": "--http-put-response-hop-limit",
	"HttpEndpoint":            "--http-endpoint",
	"HttpProtocolIpv6":        "--http-protocol-ipv6",
	"InstanceMetadataTags":    "--instance-metadata-tags",
	"HttpTokensEnforced":      "--http-tokens-enforced",
	"DryRun":                  "--dry-run",
}

// flagErrors rewrites the library's validation errors in err with the
// flags' names, or "--cli-input-json MEMBER" for the fields in fromJSON, and
// the values echoed shortened: "--http-put-response-hop-limit 65: must be
// 1..64". It is a usage error (exit 252) of one line per problem.
func flagErrors(err error, fromJSON map[string]bool) error {
	var lines []string
	for _, e := range leaves(err) {
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
		lines = append(lines, valueError(name, ve.Value, ve.Rule))
	}
	return &exitError{code: exitUsage, err: errors.New(strings.Join(lines, moreErrors))}
}

// moreErrors separates the problems of one error message, each on its own
// line as reportError prints it.
const moreErrors = "\nimdsopts: error: "

// valueError formats "NAME VALUE: RULE" for a value the library reported:
// a quoted value is echoed as awscli.Quote does, and the field names in the
// rule are replaced by their flags.
func valueError(name, value, rule string) string {
	if u, err := strconv.Unquote(value); err == nil {
		value = check.Quote(u)
	} else if len(value) > check.MaxEchoed {
		value = check.Quote(value)
	}
	for field, flagName := range flagNames {
		rule = strings.ReplaceAll(rule, field+" ", flagName+" ")
	}
	return fmt.Sprintf("%s %s: %s", name, value, rule)
}

// leaves returns the errors joined in err, at every depth of joining.
func leaves(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, leaves(e)...)
		}
		return out
	}
	return []error{err}
}

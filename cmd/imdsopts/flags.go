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
)

// globals are the options every subcommand takes, before or after the
// subcommand's name, as with the AWS CLI.
type globals struct {
	endpointURL    string
	region         string
	profile        string
	output         string
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
	emulator     bool
	emulatorSeed string
	emu          *embeddedEmulator
}

// The AWS CLI's defaults for --cli-read-timeout and --cli-connect-timeout.
const defaultCLITimeout = 60 * time.Second

func newGlobals() *globals {
	return &globals{readTimeout: defaultCLITimeout, connectTimeout: defaultCLITimeout, color: "auto"}
}

func (g *globals) register(fs *flag.FlagSet) {
	fs.StringVar(&g.endpointURL, "endpoint-url", g.endpointURL, "")
	fs.StringVar(&g.region, "region", g.region, "")
	fs.StringVar(&g.profile, "profile", g.profile, "")
	fs.Func("output", "", oneOf(&g.output, "json", "text", "table"))
	fs.StringVar(&g.query, "query", g.query, "")
	fs.BoolVar(&g.noVerifySSL, "no-verify-ssl", g.noVerifySSL, "")
	fs.StringVar(&g.caBundle, "ca-bundle", g.caBundle, "")
	fs.Func("cli-read-timeout", "", secondsValue(&g.readTimeout))
	fs.Func("cli-connect-timeout", "", secondsValue(&g.connectTimeout))
	fs.BoolVar(&g.noSignRequest, "no-sign-request", g.noSignRequest, "")
	fs.Func("color", "", oneOf(&g.color, "on", "off", "auto"))
	fs.BoolVar(&g.debug, "debug", g.debug, "")
	fs.BoolVar(&g.version, "version", g.version, "")
	fs.BoolVar(&g.help, "h", g.help, "")
	fs.BoolVar(&g.help, "help", g.help, "")
	fs.BoolVar(&g.emulator, "emulator", g.emulator, "")
	fs.StringVar(&g.emulatorSeed, "emulator-seed", g.emulatorSeed, "")
}

// oneOf parses a flag that takes one of values into dst.
func oneOf(dst *string, values ...string) func(string) error {
	return func(s string) error {
		if slices.Contains(values, s) {
			*dst = s
			return nil
		}
		quoted := make([]string, len(values))
		for i, v := range values {
			quoted[i] = strconv.Quote(v)
		}
		return errors.New("must be one of " + strings.Join(quoted, ", "))
	}
}

// check validates what the flag parsers could not check alone.
func (g *globals) check() error {
	if g.endpointURL != "" {
		u, err := url.Parse(g.endpointURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return usageErrorf("--endpoint-url %q: must be an absolute http:// or https:// URL", g.endpointURL)
		}
	}
	if g.noVerifySSL && g.caBundle != "" {
		return usageErrorf("--no-verify-ssl and --ca-bundle %q: cannot be combined", g.caBundle)
	}
	return g.checkEmulator()
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

// triBool is a flag pair such as --dry-run / --no-dry-run: the last one given
// wins, and neither leaves it unset.
type triBool struct {
	set   bool
	value bool
}

func (b *triBool) flags(fs *flag.FlagSet, name string) {
	fs.BoolFunc(name, "", func(s string) error {
		v, err := strconv.ParseBool(s)
		if err != nil {
			return errors.New("takes no value")
		}
		b.set, b.value = true, v
		return nil
	})
	fs.BoolFunc("no-"+name, "", func(s string) error {
		v, err := strconv.ParseBool(s)
		if err != nil {
			return errors.New("takes no value")
		}
		b.set, b.value = true, !v
		return nil
	})
}

// skeletonFlag is --generate-cli-skeleton with its optional value: alone it
// means "input"; "input" or "output" may follow it.
type skeletonFlag struct{ value string }

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
// argument. Any other argument that is not a flag is an error.
func parseFlags(fs *flag.FlagSet, args []string, skel *skeletonFlag) error {
	for {
		if err := fs.Parse(args); err != nil {
			return flagError(err)
		}
		rest := fs.Args()
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
				return usageErrorf("invalid value %q for flag --generate-cli-skeleton: %v", rest[0], err)
			}
			args = rest[1:]
			continue
		}
		return usageErrorf("unexpected argument %q", rest[0])
	}
}

// flagError rewrites the flag package's messages with the "--name" spelling.
func flagError(err error) error {
	if errors.Is(err, flag.ErrHelp) {
		return err
	}
	msg := err.Error()
	for _, pre := range []string{"flag provided but not defined: -", "flag needs an argument: -", "for flag -", "for -", "bad flag syntax: -"} {
		if i := strings.Index(msg, pre); i >= 0 && !strings.HasPrefix(msg[i+len(pre):], "-") {
			msg = msg[:i+len(pre)] + "-" + msg[i+len(pre):]
		}
	}
	msg = strings.Replace(msg, "flag provided but not defined", "unknown option", 1)
	return usageErrorf("%s", msg)
}

// optionFlags are the metadata option flags that modify and resolve share.
type optionFlags struct {
	tokens, endpoint, ipv6, tags optString
	hop                          optInt
}

func (o *optionFlags) register(fs *flag.FlagSet) {
	fs.Var(&o.tokens, "http-tokens", "")
	fs.Var(&o.hop, "http-put-response-hop-limit", "")
	fs.Var(&o.endpoint, "http-endpoint", "")
	fs.Var(&o.ipv6, "http-protocol-ipv6", "")
	fs.Var(&o.tags, "instance-metadata-tags", "")
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
	"DryRun":                  "--dry-run",
}

// flagsInText replaces EC2 field names in a rule by their flags.
func flagsInText(s string) string {
	for field, name := range flagNames {
		s = strings.ReplaceAll(s, field+" ", name+" ")
	}
	return s
}

func fmtValueError(flagName, value, rule string) string {
	return fmt.Sprintf("%s %s: %s", flagName, value, rule)
}

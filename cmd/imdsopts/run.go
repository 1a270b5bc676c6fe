package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"runtime/debug"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/imdsopts/imdsopts"
	"github.com/imdsopts/imdsopts/fleet"
	"github.com/imdsopts/imdsopts/internal/awscli"
	"github.com/imdsopts/imdsopts/internal/check"
)

// API is what the subcommands call: the EC2 operations of *ec2.Client that
// the library needs. The in-memory fake implements it too.
type API interface {
	imdsopts.API
	imdsopts.LaunchAPI
	// DescribeLaunchTemplateVersions reads the user data instances were
	// launched with, for the container check of plan and apply.
	DescribeLaunchTemplateVersions(ctx context.Context, params *ec2.DescribeLaunchTemplateVersionsInput, optFns ...func(*ec2.Options)) (*ec2.DescribeLaunchTemplateVersionsOutput, error)
}

// newAPIFunc builds the API client from the global options.
type newAPIFunc func(ctx context.Context, g *globals, debugLog io.Writer) (API, error)

// newMetricsFunc builds the CloudWatch client of the IMDSv1 gate from the
// global options.
type newMetricsFunc func(ctx context.Context, g *globals, debugLog io.Writer) (fleet.MetricsAPI, error)

// app is one run of the command.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	newAPI         newAPIFunc
	newMetrics     newMetricsFunc
	// newAutoScaling builds the Auto Scaling client of the account-wide
	// subcommands; nil: the SDK's (see account.go).
	newAutoScaling newAutoScalingFunc
	// region and account tell where the run acts, for journals.
	region  regionFunc
	account accountFunc
	// journalWriter, when set, wraps what the library writes a journal
	// to; tests use it to make writes fail.
	journalWriter func(io.Writer) io.Writer
	// newConfig, when set, builds the SDK configuration the targets of the
	// target flags are found and reached from (see targetConfig).
	newConfig func(ctx context.Context, g *globals, debugLog io.Writer) (aws.Config, error)
	// stderrTTY is whether stderr is a terminal: progress lines go there
	// only then; plainProgress, when it is not, writes plain progress
	// lines there instead (the command as run, not tests of its output).
	stderrTTY     bool
	plainProgress bool
	// prog is the progress line of the run: nil until a subcommand starts
	// it, and when stderr is not a terminal or --debug logs instead.
	prog *progress
	// secrets are redacted from every message.
	secrets *secrets
	// echoed are values of global options that the SDK may repeat in its
	// errors, shortened there (see clean).
	echoed []string
	// format is the output format, once a subcommand made its printer.
	format awscli.Format
	// onHelp, when set, is told of the FlagSet each help is made from;
	// tests use it to check the help against the flags.
	onHelp func(name string, fs *flag.FlagSet)
	// called is set when the run makes its first API call: from then on,
	// its exit status may not say that nothing was sent.
	called atomic.Bool
	// g is the run's global options once checked, and runRegion the Region
	// its clients call once learned: the commands the notes print repeat
	// them (see rerun).
	g         *globals
	runRegion string
}

// appOption changes how runWith builds the run; tests use it to inject
// clients and a terminal.
type appOption func(*app)

// withMetrics makes the run build its CloudWatch client with newMetrics.
func withMetrics(newMetrics newMetricsFunc) appOption {
	return func(a *app) { a.newMetrics = newMetrics }
}

// withConfig makes the run find and reach the targets of the target flags
// with cfg.
func withConfig(cfg aws.Config) appOption {
	return func(a *app) {
		a.newConfig = func(context.Context, *globals, io.Writer) (aws.Config, error) { return cfg, nil }
	}
}

// withTerminal makes the run take stderr for a terminal, or not.
func withTerminal(tty bool) appOption {
	return func(a *app) { a.stderrTTY = tty }
}

// run runs the command with args (without the program name) and returns the
// exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	return runWith(ctx, args, stdin, stdout, stderr, getenv, newSDKAPI, withMetrics(newSDKMetrics), func(a *app) { a.plainProgress = true })
}

// runWith is run with the API client built by newAPI. Without withMetrics,
// the CloudWatch client is the SDK's.
func runWith(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string, newAPI newAPIFunc, opts ...appOption) int {
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv, newAPI: newAPI,
		newMetrics: newSDKMetrics, region: sdkRegion, account: sdkAccount, stderrTTY: awscli.IsTerminal(stderr), secrets: &secrets{}}
	for _, o := range opts {
		o(a)
	}
	err := a.main(ctx, args)
	a.prog.finish(false)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		a.reportError(ctx, err)
	}
	code := exitCode(ctx, err)
	if a.called.Load() && (code == exitUsage || code == exitConfig) {
		// Whatever the error, a call was made: 252 and 253 would claim
		// that nothing was sent.
		code = exitOther
	}
	return code
}

// subcommands, by name.
var subcommands = map[string]func(*app, context.Context, *globals, []string) error{
	"modify-instance-metadata-options": (*app).modify,
	"resolve":                          (*app).resolve,
	"describe":                         (*app).describe,
	"plan":                             (*app).plan,
	"apply":                            (*app).apply,
	"undo":                             (*app).undo,
	"emulator":                         (*app).emulator,

	// The account-wide subcommands (account.go).
	"get-instance-metadata-defaults":    (*app).getDefaults,
	"modify-instance-metadata-defaults": (*app).modifyDefaults,
	"templates":                         (*app).templates,
	"images":                            (*app).images,
	"posture":                           (*app).posture,
}

func (a *app) main(ctx context.Context, args []string) error {
	g := newGlobals()
	g.secrets = a.secrets
	defer g.closeEmulator()
	fs := newFlagSet("imdsopts")
	g.register(fs)
	rest, err := parseArgs(fs, args, g.given)
	if err != nil {
		return err
	}
	switch {
	case g.version:
		fmt.Fprintln(a.stdout, "imdsopts", version())
		return nil
	case g.help:
		if cmd, ok := subcommands[first(rest)]; ok {
			return cmd(a, ctx, g, []string{"--help"}) // imdsopts --help plan
		}
		return a.printHelp("", fs)
	case len(rest) == 0:
		writeHelp(a.stderr, "", fs)
		return usageErrorf("a subcommand is required")
	case rest[0] == "help":
		if len(rest) > 1 {
			if cmd, ok := subcommands[rest[1]]; ok {
				return cmd(a, ctx, g, []string{"--help"})
			}
			return unknownSubcommand(rest[1])
		}
		return a.printHelp("", fs)
	}
	cmd, ok := subcommands[rest[0]]
	if !ok {
		return unknownSubcommand(rest[0])
	}
	return cmd(a, ctx, g, rest[1:])
}

// first returns the first of args, or "".
func first(args []string) string {
	if len(args) == 0 {
		return ""
	}
	return args[0]
}

// unknownSubcommand reports a subcommand that does not exist, with the
// nearest one.
func unknownSubcommand(name string) error {
	names := slices.Collect(maps.Keys(subcommands))
	if near, ok := awscli.Nearest(name, append(names, "help")); ok {
		return usageErrorf("unknown subcommand %s; did you mean %s?", check.Quote(name), near)
	}
	// A beginning several share, such as "modify": name them all.
	var begun []string
	for _, n := range names {
		if name != "" && strings.HasPrefix(n, strings.ToLower(name)) {
			begun = append(begun, n)
		}
	}
	if len(begun) > 1 && len(begun) <= 3 {
		slices.Sort(begun)
		return usageErrorf("unknown subcommand %s; did you mean %s?", check.Quote(name), strings.Join(begun, " or "))
	}
	return usageErrorf("unknown subcommand %s; run \"imdsopts help\"", check.Quote(name))
}

// parseSubcommand parses the flags of subcommand name, global ones included,
// and handles --version, --help and --generate-cli-skeleton. done is true when nothing else is to be
// done.
func (a *app) parseSubcommand(name string, g *globals, fs *flag.FlagSet, args []string, skel *skeletonFlag) (done bool, err error) {
	g.register(fs)
	if len(args) > 0 && args[0] == "help" {
		return true, a.printHelp(name, fs)
	}
	if err := parseFlags(fs, args, skel, g.given); err != nil {
		return true, err
	}
	switch {
	case g.version:
		fmt.Fprintln(a.stdout, "imdsopts", version())
		return true, nil
	case g.help:
		return true, a.printHelp(name, fs)
	}
	g.endpointFromEnvironment(a.getenv)
	a.echoed = []string{g.profile, g.region, g.caBundle, redactUserinfo(g.endpointURL)}
	if err := g.check(); err != nil {
		return true, err
	}
	a.g = g
	if err := g.targets.checkAcross(name); err != nil {
		return true, err
	}
	if skel != nil {
		if printed, err := skel.print(a.stdout); printed || err != nil {
			return true, err
		}
	}
	switch {
	case g.debug:
	case a.stderrTTY:
		a.prog = newProgress(a.stderr)
	case a.plainProgress && name != "emulator": // the emulator logs requests instead
		a.prog = newPlainProgress(a.stderr)
	}
	return false, nil
}

// note writes one line to stderr, outside the output: the progress line is
// ended first, and the text made safe to print as error messages are.
func (a *app) note(format string, args ...any) {
	a.prog.finish(false)
	io.WriteString(a.stderr, check.Shorten(a.clean(fmt.Sprintf(format, args...)), maxLine)+"\n")
}

// client builds the EC2 client of the run, which tells the run and its
// progress line of every call.
func (a *app) client(ctx context.Context, g *globals) (API, error) {
	api, err := a.newAPI(ctx, g, a.stderr)
	if err != nil {
		return nil, err
	}
	return observedAPI{API: api, a: a}, nil
}

// metrics builds the CloudWatch client of the IMDSv1 gate, which tells the
// run and its progress line of every call.
func (a *app) metrics(ctx context.Context, g *globals) (fleet.MetricsAPI, error) {
	m, err := a.newMetrics(ctx, g, a.stderr)
	if err != nil {
		return nil, err
	}
	return observedMetrics{MetricsAPI: m, a: a}, nil
}

// version returns the module version the binary was built from, or
// "(devel)".
func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}

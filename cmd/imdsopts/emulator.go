package main

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"

	"github.com/imdsopts/imdsopts/fake"
)

const emulatorUsage = `Usage: imdsopts emulator [--addr HOST:PORT] [--apply-delay D] [--propagation-delay D]
                         [--throttle] [--seed FILE | --seed-account NAME | --instances N] [--log |
                         --no-log] [--detach] [--idle-timeout D] [--imds-metrics SHAPE]
                         [--publish-delay D] [--organization N [--organization-regions R1,R2]]

Serves an in-memory EC2, EC2 Auto Scaling and CloudWatch over HTTP, with EC2's semantics for
instance metadata options (omitted options kept, "pending" before "applied", values validated,
DryRun, account defaults and IMDSv2 enforcement, launch templates, AMIs' ImdsSupport, request
throttling), for the AWS CLI, any AWS SDK and imdsopts.
It prints its endpoint URL and the commands to point the AWS CLI and imdsopts at it, then serves
until Ctrl-C or SIGTERM, which stop it cleanly (exit 0: that is how it is meant to end). Signatures
are not verified: any credentials do, and unsigned requests are served too. Nothing reaches AWS.

`

// emulatorNotes are the emulator's seed file and how --detach is used.
const emulatorNotes = `With --detach, for a POSIX shell:
  eval "$(imdsopts emulator --detach)"
  ...
  kill $IMDSOPTS_EMULATOR_PID; unset AWS_ENDPOINT_URL

Seed file (every key optional, spelled exactly as here):
  {
    "Images": [{"Name": "legacy", "ImdsSupport": "v2.0"}],
    "Instances": [{
      "Count": 10, "Image": "legacy", "InstanceType": "t3.micro",
      "State": "running",                              (or "stopped", "terminated")
      "Monitoring": "basic",                           (or "detailed")
      "MetadataOptions": {"HttpTokens": "optional", "HttpPutResponseHopLimit": 1,
                          "HttpEndpoint": "enabled", "HttpProtocolIpv6": "disabled",
                          "InstanceMetadataTags": "disabled"},
      "Tags": {"team": "payments"},
      "MetadataNoToken": {"PerDay": 0, "Days": 14},
      "LateIMDSv1Calls": {"PerMinute": 4}
    }],
    "LaunchTemplates": [{
      "Name": "web", "Image": "legacy", "InstanceType": "m5.large",
      "Versions": [{"MetadataOptions": {"HttpTokens": "optional"},
                    "UserData": "#!/bin/bash\n/etc/eks/bootstrap.sh prod\n",
                    "Tags": {"team": "payments"}}, {}],
      "DefaultVersion": 1
    }],
    "AutoScalingGroups": [{
      "Name": "web", "LaunchTemplate": "web", "Version": "$Default", "DesiredCapacity": 4,
      "Tags": {"team": "payments"},
      "ServiceTags": {"aws:cloudformation:stack-name": "web"},
      "MetadataNoToken": {"PerDay": 0, "Days": 14}
    }],
    "AccountDefaults": {"HttpTokens": "required", "HttpPutResponseHopLimit": 2,
                        "HttpEndpoint": "enabled", "InstanceMetadataTags": "disabled",
                        "HttpTokensEnforced": "disabled"},
    "DeclarativePolicy": {"HttpTokens": "required", "HttpTokensEnforced": "enabled",
                          "ManagedExceptionMessage": "Ask the cloud team."}
  }
Images are registered in order ("ImdsSupport" is "v2.0" or absent); without any, one image
"base" is. An instance group's "Image" names an image of the file, and may be left out when there
is one. Instances are launched with their "MetadataOptions" as RunInstances would, then stopped or
terminated as "State" says. "MetadataNoToken" adds one CloudWatch datapoint a day of PerDay IMDSv1
calls for each of the last Days days (default 14): PerDay 0 is a measured zero, which the IMDSv1
gate passes; without "MetadataNoToken" an instance has no datapoints before the emulator starts.
From then on, CloudWatch publishes each instance's metrics as EC2 does: a datapoint per period in
which it runs (5 minutes, or 1 minute with "Monitoring": "detailed"), a --publish-delay after the
period ends, of CPUUtilization, StatusCheckFailed (every minute), MetadataNoToken (the IMDSv1 calls
it answered) and MetadataNoTokenRejected (those it refused because it requires tokens), the last
two in the shape of --imds-metrics.
"LateIMDSv1Calls" is software that calls IMDSv1 too rarely for the gate's window to see (a monthly
job): from the first ModifyInstanceMetadataOptions that makes the instance require tokens, it calls
IMDSv1 PerMinute times a minute, refused while tokens are required (MetadataNoTokenRejected: what a
rollout watches for) and answered again once they are optional. A launch template has one
version per entry of "Versions" (at least one; {} gives no MetadataOptions), from its "Image",
and "DefaultVersion" (default 1) is its default; a version's "UserData" is text (at most 16 KB,
sent base64-encoded, as EC2 takes it), and its "Tags" go on the instances it launches. An Auto
Scaling group launches "DesiredCapacity" instances (0..1000) from its "LaunchTemplate" at
"Version" ("$Default", the default, "$Latest" or a number), with its "Tags" on them; its
"ServiceTags" are those with the reserved prefix "aws:" that the service that made the group puts
there (CloudFormation's aws:cloudformation:stack-name, for a stack's or an Elastic Beanstalk
environment's group), which callers cannot set; "MetadataNoToken" is theirs. An instance group's
"Tags" may have such keys too. "AccountDefaults" are set after
the launches (as ModifyInstanceMetadataDefaults), so they describe the account now. A
"DeclarativePolicy" then manages the defaults, as an AWS Organizations policy does: its fields
(any of those of "AccountDefaults", and "ManagedExceptionMessage") replace the account's, and
the account cannot change them.
`

// Limits of a seed.
const (
	maxSeedInstances = 100000
	maxSeedFileBytes = 4 << 20
	defaultIMDSDays  = 14
)

// emulatorFlags are the options of "imdsopts emulator".
type emulatorFlags struct {
	addr       string
	applyDelay time.Duration
	propagate  time.Duration // --propagation-delay
	throttle   bool
	seed       string
	account    string // --seed-account: a built-in seed by name
	instances  int
	log        triBool
	detach     bool
	idle       time.Duration // --idle-timeout; -1: unset

	imdsMetrics  fake.IMDSMetrics
	publishDelay time.Duration
	org          orgSeed // --organization, --organization-regions (emulator_org.go)
}

// emulator runs "imdsopts emulator": it serves until ctx ends (Ctrl-C).
func (a *app) emulator(ctx context.Context, g *globals, args []string) error {
	f := emulatorFlags{addr: "127.0.0.1:0", applyDelay: 2 * time.Second, idle: -1, publishDelay: fake.DefaultPublishDelay}
	fs := newFlagSet("emulator")
	f.register(fs)
	if done, err := a.parseSubcommand("emulator", g, fs, args, nil); done || err != nil {
		return err
	}
	return a.runEmulator(ctx, f, args)
}

func (f *emulatorFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.addr, "addr", f.addr, "`HOST:PORT` where to listen (default 127.0.0.1:0: loopback, a free port); another "+
		"address lets anyone who can reach it change the emulator's state")
	fs.Func("apply-delay", "`D` how long a change stays \"pending\" on a running instance before EC2 reports it \"applied\": "+
		"a duration (\"2s\", \"500ms\") or seconds (default 2s; 0: at once)", delayValue(&f.applyDelay))
	fs.Func("propagation-delay", "`D` how long a new instance is not found (InvalidInstanceID.NotFound, and left out of "+
		"listings) after RunInstances, as EC2's eventual consistency may have it: a duration or seconds (default 0: found at once); "+
		"seeded instances are found at once", delayValue(&f.propagate))
	fs.BoolVar(&f.throttle, "throttle", false, "throttle requests as EC2 does (RequestLimitExceeded, EC2's bucket sizes)")
	fs.StringVar(&f.seed, "seed", "", "`FILE` the images, instances, IMDSv1 use, launch templates, Auto Scaling groups and account "+
		"defaults to start with (JSON, described below); without it, --seed-account or --instances, a realistic account of "+
		"200 instances (the one --emulator uses)")
	fs.Func("seed-account", "`NAME` start with a built-in account: \"realistic\" (the default) or \"containers\": an EKS "+
		"cluster's managed node groups (one on a template as EKS makes it, nodeadm's NodeConfig and hop limit 2; one on a custom "+
		"template with the EKS bootstrap script and hop limit 1, whose pods' SDKs fall back to IMDSv1), Karpenter nodes, an ECS "+
		"capacity provider's group, an Elastic Beanstalk environment, a CloudFormation stack's instances, a bastion with its "+
		"metadata endpoint disabled and two web servers on IMDSv2, 18 instances in an account whose default turns instance tags "+
		"in the metadata on; with the tags and user data those services really put there. posture and plan show on it the "+
		"container hosts, the tag keys EC2 refuses in the metadata and the owners of the instances. Its seed file is "+
		"cmd/imdsopts/seeds/containers.json in the source, an example of every key below", seedAccountValue(&f.account))
	fs.Func("instances", "`N` start with N running instances (1..100000) of one image, HttpTokens optional, with no IMDSv1 "+
		"calls in CloudWatch over the last 14 days", func(s string) error {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxSeedInstances {
			return fmt.Errorf("must be a whole number, 1..%d", maxSeedInstances)
		}
		f.instances = n
		return nil
	})
	f.log.flags(fs, "log", "one line on stderr per request: time, service, action, HTTP status, error code, duration "+
		"(default: on when stderr is a terminal; off with --detach)", "no line on stderr per request")
	fs.BoolVar(&f.detach, "detach", false, "serve in the background and return once it answers, printing for a POSIX shell's "+
		"eval its URL as AWS_ENDPOINT_URL (which the AWS CLI, the SDKs and imdsopts honour) and its process as "+
		"IMDSOPTS_EMULATOR_PID (see below)")
	fs.Func("idle-timeout", "`D` stop after D without a request (0: never; default 0, and 1h with --detach)", delayValue(&f.idle))
	fs.Func("imds-metrics", "`SHAPE` which periods have a datapoint of MetadataNoToken and MetadataNoTokenRejected "+
		"(undocumented by EC2): \"exclusive\" (default: MetadataNoToken, 0 included, while the instance allows IMDSv1, none while "+
		"it requires tokens; MetadataNoTokenRejected only when a call was refused), \"zeros\" (both, 0 included, while it runs) or "+
		"\"sparse\" (only periods with a call)", func(s string) error {
		m, err := fake.ParseIMDSMetrics(s)
		if err != nil {
			return errors.New(`must be one of "exclusive", "zeros", "sparse"`)
		}
		f.imdsMetrics = m
		return nil
	})
	fs.Func("publish-delay", "`D` how long after a period ends CloudWatch has its datapoints (default 1m; undocumented by "+
		"EC2, seen at 1 to 10 minutes; 0: at once)", delayValue(&f.publishDelay))
	f.registerOrg(fs)
}

// runEmulator serves until ctx ends. With --detach, it starts the same
// command line again in the background (see detach_unix.go), prints shell
// commands that point the AWS CLI and imdsopts at it once it serves, and
// returns; the emulator so started reports on the file readyReporter gives.
func (a *app) runEmulator(ctx context.Context, f emulatorFlags, args []string) error {
	if f.seed != "" && f.instances > 0 {
		return usageErrorf("--seed %q and --instances %d: give one or the other", f.seed, f.instances)
	}
	if f.account != "" && (f.seed != "" || f.instances > 0) {
		return usageErrorf("--seed-account %s with --seed or --instances: give one of them", f.account)
	}
	if _, _, err := net.SplitHostPort(f.addr); err != nil {
		return usageErrorf("--addr %q: must be HOST:PORT, such as 127.0.0.1:8080 (port 0: a free one)", f.addr)
	}
	seed, err := emulatorSeed(f.seed, f.instances, f.account)
	if err != nil {
		return err
	}
	ready := readyReporter(a.getenv)
	if f.detach && ready == nil {
		return a.detachEmulator(ctx, args)
	}
	if ready != nil {
		defer ready.Close()
	}
	logRequests := a.stderrTTY && ready == nil
	if f.log.set {
		logRequests = f.log.value
	}
	// Every request is recorded, for --idle-timeout; logged when asked.
	logger := &requestLog{}
	if logRequests {
		logger.w = a.stderr
	}
	idle := f.idle
	if idle < 0 {
		idle = 0
		if f.detach {
			idle = detachedIdleTimeout
		}
	}
	opts := emulatorOptions{
		ec2: func(o *fake.Options) {
			o.ApplyDelay = f.applyDelay
			o.PropagationDelay = f.propagate
			o.Throttle = f.throttle
		},
		cw: func(o *fake.CloudWatchOptions) {
			o.IMDSMetrics = f.imdsMetrics
			o.PublishDelay = f.publishDelay
			if o.PublishDelay == 0 {
				o.PublishDelay = -1 // --publish-delay 0: none
			}
		},
	}
	var em *runningEmulator
	switch {
	case f.org.accounts > 0:
		em, err = startOrgEmulator(f.addr, f.org, seed, opts, logger)
	case len(f.org.regions) > 0:
		return usageErrorf("--organization-regions: only with --organization N")
	default:
		em, err = startEmulator(f.addr, seed, opts, logger)
	}
	if err != nil {
		if ready != nil {
			fmt.Fprintf(ready, "error %s\n", strings.ReplaceAll(err.Error(), "\n", " "))
		}
		return err
	}
	defer em.close()
	if ready != nil {
		fmt.Fprintf(ready, "ready %s\n", em.URL)
		ready.Close()
	} else {
		fmt.Fprint(a.stdout, em.instructions())
	}
	if !isLoopback(em.listener.Addr()) {
		fmt.Fprintf(a.stderr, "imdsopts: warning: listening on %s, not only on this machine: whoever can reach it can change the emulator's state\n", em.listener.Addr())
	}
	return logger.serveUntil(ctx, em.served, idle)
}

// detachedIdleTimeout is how long an emulator started with --detach
// serves without a request before it stops: one forgotten in the
// background does not serve for ever.
const detachedIdleTimeout = time.Hour

// serveUntil waits until ctx ends (nil), the server stops (its error), or,
// when idle is more than 0, no request has come for idle (nil).
func (l *requestLog) serveUntil(ctx context.Context, served <-chan error, idle time.Duration) error {
	var timeout <-chan time.Time
	for {
		if idle > 0 {
			timeout = time.After(time.Until(l.lastRequest().Add(idle)))
		}
		select {
		case <-ctx.Done():
			return nil
		case err := <-served:
			return fmt.Errorf("the emulator stopped serving: %w", err)
		case <-timeout:
			if time.Since(l.lastRequest()) >= idle {
				return nil
			}
		}
	}
}

// detachEmulator runs "imdsopts emulator --detach": it starts the
// emulator of args in the background and, once it serves, prints for a
// POSIX shell's eval the variables that point the AWS CLI, the SDKs and
// imdsopts at it (AWS_ENDPOINT_URL) and name its process
// (IMDSOPTS_EMULATOR_PID), as ssh-agent does; a note on stderr says how to
// stop it.
func (a *app) detachEmulator(ctx context.Context, args []string) error {
	pid, url, err := startDetached(ctx, append([]string{"emulator"}, args...))
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "AWS_ENDPOINT_URL=%s; export AWS_ENDPOINT_URL;\nIMDSOPTS_EMULATOR_PID=%d; export IMDSOPTS_EMULATOR_PID;\n", shellQuote(url), pid)
	fmt.Fprintf(a.stderr, "imdsopts emulator: serving at %s, process %d; stop it with: kill $IMDSOPTS_EMULATOR_PID\n", url, pid)
	return nil
}

// delayValue parses a duration ("2s") or a number of seconds, 0 or more.
func delayValue(d *time.Duration) func(string) error {
	return func(s string) error {
		v, err := time.ParseDuration(s)
		if err != nil {
			f, ferr := strconv.ParseFloat(s, 64)
			if ferr != nil || math.IsNaN(f) || math.IsInf(f, 0) || f > 86400 {
				return errors.New(`must be a duration such as "2s" or "500ms", or a number of seconds, at most a day`)
			}
			v = time.Duration(f * float64(time.Second))
		}
		if v < 0 || v > 24*time.Hour {
			return errors.New("must be 0 or more, at most a day")
		}
		*d = v
		return nil
	}
}

func isLoopback(addr net.Addr) bool {
	ta, ok := addr.(*net.TCPAddr)
	return ok && ta.IP.IsLoopback()
}

// runningEmulator is an emulator serving on a listener.
type runningEmulator struct {
	URL      string
	ec2      *fake.EC2
	as       *fake.AutoScaling
	cw       *fake.CloudWatch
	summary  seedSummary
	late     *lateCalls
	listener net.Listener
	srv      *http.Server
	served   chan error   // the result of Serve, once it returns
	org      *emulatedOrg // the organisation served, or nil (emulator_org.go)
}

// emulatorOptions configure the fakes an emulator serves: its EC2s and
// CloudWatches (tied to them).
type emulatorOptions struct {
	ec2 func(*fake.Options)
	cw  func(*fake.CloudWatchOptions)
}

// startEmulator seeds a new fake EC2, Auto Scaling and CloudWatch and
// serves them on addr. A nil logger logs nothing.
func startEmulator(addr string, seed seedFile, opts emulatorOptions, logger *requestLog) (*runningEmulator, error) {
	f := fake.New(opts.ec2)
	as := fake.NewAutoScaling(f)
	// Tied to the EC2, CloudWatch publishes the metrics of its instances
	// from their history, as EC2 publishes them.
	cw := fake.NewCloudWatch(func(o *fake.CloudWatchOptions) {
		if opts.cw != nil {
			opts.cw(o)
		}
		o.EC2 = f
	})
	summary, err := seedAccount(context.Background(), f, as, cw, seed, time.Now())
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, usageErrorf("--addr %q: %v", addr, err)
	}
	h := fake.NewHandler(f, func(o *fake.HandlerOptions) {
		o.CloudWatch = cw
		o.AutoScaling = as
		if logger != nil {
			o.OnRequest = logger.record
		}
	})
	late := &lateCalls{ec2: f, waiting: summary.late}
	em := &runningEmulator{
		URL: "http://" + l.Addr().String(), ec2: f, as: as, cw: cw, summary: summary, late: late, listener: l,
		srv: &http.Server{Handler: late.wrap(h), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute,
			IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10},
		served: make(chan error, 1),
	}
	go func() { em.served <- em.srv.Serve(l) }()
	return em, nil
}

// close stops the server, letting requests in flight finish for up to 5 s.
func (em *runningEmulator) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if em.srv.Shutdown(ctx) != nil {
		em.srv.Close()
	}
	<-em.served
}

// instructions tells how to point the AWS CLI and imdsopts at the emulator.
// The first line ends with the URL, for scripts.
func (em *runningEmulator) instructions() string {
	if em.org != nil {
		return em.orgInstructions()
	}
	u := em.URL
	return fmt.Sprintf(`imdsopts emulator: EC2 and CloudWatch at %s
%s
Point the AWS CLI and imdsopts at it (signatures are not verified: any credentials do):

  export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-east-1
  aws ec2 describe-instances --endpoint-url %s \
      --query 'Reservations[].Instances[].[InstanceId,State.Name,MetadataOptions.HttpTokens]' --output text
  imdsopts plan --endpoint-url %s \
      --filters Name=instance-state-name,Values=running,stopped --http-tokens required

Stop it with Ctrl-C.
`, u, em.summary, u, u)
}

// requestLog records when the last request came and, when w is set,
// writes one line per request.
type requestLog struct {
	mu    sync.Mutex
	w     io.Writer
	start time.Time
	last  time.Time
}

// lastRequest is when the last request came, or when the log was first
// asked (the emulator's start) before any.
func (l *requestLog) lastRequest() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.last.IsZero() {
		if l.start.IsZero() {
			l.start = time.Now()
		}
		return l.start
	}
	return l.last
}

func (l *requestLog) record(r fake.RequestRecord) {
	l.mu.Lock()
	l.last = time.Now()
	w := l.w
	l.mu.Unlock()
	if w == nil {
		return
	}
	code := r.ErrorCode
	if code == "" {
		code = "-"
	}
	action := r.Action
	if action == "" {
		action = "-"
	}
	service := r.Service
	if service == "" {
		service = "-"
	}
	line := fmt.Sprintf("%s %-10s %-32s %d %-24s %s\n", r.Time.Format("15:04:05.000"), service, action, r.Status, code,
		r.Duration.Round(10*time.Microsecond))
	l.mu.Lock()
	defer l.mu.Unlock()
	io.WriteString(l.w, line)
}

// The embedded mode: --emulator runs a subcommand against an emulator
// started in this process, seeded with the realistic account (or
// --emulator-seed FILE). The SDK clients are the ones a real account gets,
// pointed at its loopback URL: the run goes through the same serializers,
// retries and throttling answers as against EC2; only the endpoint differs.

// embeddedEmulator is the emulator of a run with --emulator.
type embeddedEmulator struct {
	em  *runningEmulator
	cfg aws.Config
}

// checkEmulator refuses options that contradict --emulator.
func (g *globals) checkEmulator() error {
	switch {
	case g.emulatorSeed != "" && !g.emulator:
		return usageErrorf("--emulator-seed %q: only with --emulator", g.emulatorSeed)
	case g.emulatorAccount != "" && !g.emulator:
		return usageErrorf("--emulator-seed-account %s: only with --emulator", g.emulatorAccount)
	case g.emulatorAccount != "" && g.emulatorSeed != "":
		return usageErrorf("--emulator-seed %q and --emulator-seed-account %s: give one or the other", g.emulatorSeed, g.emulatorAccount)
	case g.checkEmulatorOrg() != nil:
		return g.checkEmulatorOrg()
	case !g.emulator:
		return nil
	case g.endpointURL != "":
		return usageErrorf("--emulator and --endpoint-url %q: the emulator is the endpoint; give one or the other", g.endpointURL)
	case g.profile != "":
		return usageErrorf("--emulator and --profile %q: the emulator is not an AWS account; give one or the other", g.profile)
	}
	return nil
}

// emulatorConfig starts the run's emulator (once) and returns the SDK
// configuration of its clients: test credentials, the Region of --region or
// us-east-1, the emulator's URL, and the timeouts of the command line.
func (g *globals) emulatorConfig(debugLog io.Writer) (aws.Config, error) {
	if g.emu != nil {
		return g.emu.cfg, nil
	}
	seed, err := emulatorSeed(g.emulatorSeed, 0, g.emulatorAccount)
	if err != nil {
		return aws.Config{}, err
	}
	opts := emulatorOptions{ec2: func(o *fake.Options) { o.Throttle = true }}
	var em *runningEmulator
	if g.emulatorOrg > 0 {
		em, err = startOrgEmulator("127.0.0.1:0", orgSeed{accounts: g.emulatorOrg}, seed, opts, nil)
	} else {
		em, err = startEmulator("127.0.0.1:0", seed, opts, nil)
	}
	if err != nil {
		return aws.Config{}, err
	}
	cfg := aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(em.URL),
		HTTPClient: awshttp.NewBuildableClient().
			WithDialerOptions(func(d *net.Dialer) { d.Timeout = g.connectTimeout }).
			WithTransportOptions(func(tr *http.Transport) { tr.ResponseHeaderTimeout = g.readTimeout }),
	}
	if g.region != "" {
		cfg.Region = g.region
	}
	if g.debug {
		cfg.Logger = &redactingLogger{w: debugLog}
		cfg.ClientLogMode = aws.LogRequestWithBody | aws.LogResponseWithBody | aws.LogRetries
	}
	g.emu = &embeddedEmulator{em: em, cfg: cfg}
	if em.org != nil {
		fmt.Fprintf(debugLog, "imdsopts: --emulator: an in-process organisation of %d accounts (%s, role %s) at %s, each account in %s %s; nothing is sent to AWS\n",
			len(em.org.org.Accounts()), em.org.accountsText(), organizationRole, em.URL, strings.Join(em.org.regions, " and "), em.summary)
	} else {
		fmt.Fprintf(debugLog, "imdsopts: --emulator: an in-process EC2 and CloudWatch at %s, %s; nothing is sent to AWS\n", em.URL, em.summary)
	}
	return cfg, nil
}

// closeEmulator stops the run's emulator, if it started one.
func (g *globals) closeEmulator() {
	if g.emu != nil {
		g.emu.em.close()
		g.emu = nil
	}
}

// The seed.

// seedFile is the JSON shape of --seed and --emulator-seed files; see
// emulatorUsage.
type seedFile struct {
	Images            []seedImage     `json:"Images"`
	Instances         []seedInstances `json:"Instances"`
	LaunchTemplates   []seedTemplate  `json:"LaunchTemplates"`
	AutoScalingGroups []seedGroup     `json:"AutoScalingGroups"`
	AccountDefaults   *seedDefaults   `json:"AccountDefaults"`
	DeclarativePolicy *seedPolicy     `json:"DeclarativePolicy"`
}

// seedPolicy is a declarative policy that manages the account's defaults.
type seedPolicy struct {
	HttpTokens              string `json:"HttpTokens"`
	HttpPutResponseHopLimit int32  `json:"HttpPutResponseHopLimit"`
	HttpEndpoint            string `json:"HttpEndpoint"`
	InstanceMetadataTags    string `json:"InstanceMetadataTags"`
	HttpTokensEnforced      string `json:"HttpTokensEnforced"`
	ManagedExceptionMessage string `json:"ManagedExceptionMessage"`
}

// seedTemplate is a launch template of a seed: version 1, 2... from the
// entries of Versions.
type seedTemplate struct {
	Name           string        `json:"Name"`
	Image          string        `json:"Image"`
	InstanceType   string        `json:"InstanceType"`
	Versions       []seedVersion `json:"Versions"`
	DefaultVersion *int          `json:"DefaultVersion"`
}

type seedVersion struct {
	MetadataOptions *seedOptions `json:"MetadataOptions"`
	// UserData is the version's user data as text (EC2 takes it base64:
	// the seeder encodes it).
	UserData string `json:"UserData"`
	// Tags are the tags the version puts on the instances it launches
	// (TagSpecifications of resource type instance).
	Tags map[string]string `json:"Tags"`
}

// seedGroup is an Auto Scaling group of a seed, launching from a template
// of the seed.
type seedGroup struct {
	Name            string            `json:"Name"`
	LaunchTemplate  string            `json:"LaunchTemplate"`
	Version         string            `json:"Version"`
	DesiredCapacity int               `json:"DesiredCapacity"`
	Tags            map[string]string `json:"Tags"`
	// ServiceTags are tags with the prefix "aws:" that the AWS service
	// that made the group puts on it (CloudFormation, for a stack's or an
	// Elastic Beanstalk environment's group), propagated like Tags.
	ServiceTags     map[string]string `json:"ServiceTags"`
	MetadataNoToken *seedMetric       `json:"MetadataNoToken"`
}

// Limits of a seed's templates and groups.
const (
	maxSeedVersions      = 100
	maxSeedGroupCapacity = 1000
	maxSeedUserData      = 16 << 10 // EC2's limit of user data, before base64
)

type seedImage struct {
	Name        string `json:"Name"`
	ImdsSupport string `json:"ImdsSupport"`
}

type seedInstances struct {
	Count           int               `json:"Count"`
	Image           string            `json:"Image"`
	InstanceType    string            `json:"InstanceType"`
	State           string            `json:"State"`
	Monitoring      string            `json:"Monitoring"`
	MetadataOptions *seedOptions      `json:"MetadataOptions"`
	Tags            map[string]string `json:"Tags"`
	MetadataNoToken *seedMetric       `json:"MetadataNoToken"`
	LateIMDSv1Calls *seedLateCalls    `json:"LateIMDSv1Calls"`
}

// seedLateCalls is software that starts calling IMDSv1 once its instance
// requires tokens.
type seedLateCalls struct {
	PerMinute float64 `json:"PerMinute"`
}

type seedOptions struct {
	HttpTokens              string `json:"HttpTokens"`
	HttpPutResponseHopLimit *int32 `json:"HttpPutResponseHopLimit"`
	HttpEndpoint            string `json:"HttpEndpoint"`
	HttpProtocolIpv6        string `json:"HttpProtocolIpv6"`
	InstanceMetadataTags    string `json:"InstanceMetadataTags"`
}

type seedDefaults struct {
	HttpTokens              string `json:"HttpTokens"`
	HttpPutResponseHopLimit *int32 `json:"HttpPutResponseHopLimit"`
	HttpEndpoint            string `json:"HttpEndpoint"`
	InstanceMetadataTags    string `json:"InstanceMetadataTags"`
	HttpTokensEnforced      string `json:"HttpTokensEnforced"`
}

type seedMetric struct {
	PerDay float64 `json:"PerDay"`
	Days   *int    `json:"Days"`
}

// emulatorSeed returns the seed of a --seed file, of --instances n, of the
// built-in account named by --seed-account, or the realistic account.
func emulatorSeed(path string, n int, account string) (seedFile, error) {
	switch {
	case path != "":
		return readSeedFile(path)
	case n > 0:
		return seedFile{Instances: []seedInstances{{Count: n, MetadataNoToken: &seedMetric{}}}}, nil
	case account == seedContainers:
		return parseSeed(containersSeed)
	}
	return realisticAccount(), nil
}

// The built-in accounts of --seed-account.
const (
	seedRealistic  = "realistic"
	seedContainers = "containers"
)

// containersSeed is the account of --seed-account containers: an EKS
// cluster's managed node groups (one on a template as EKS makes it, with
// nodeadm's NodeConfig and hop limit 2; one on a custom template with the
// EKS bootstrap script, hop limit 1, and pods whose SDKs fall back to
// IMDSv1), Karpenter nodes, an ECS capacity provider's group, an Elastic
// Beanstalk environment, a CloudFormation stack's instances, a bastion
// with its metadata endpoint disabled and two web servers already on
// IMDSv2, in an account whose default turns instance tags in the metadata
// on. It is the seed file seeds/containers.json, every key of which
// --seed takes.
//
//go:embed seeds/containers.json
var containersSeed []byte

// seedAccountValue parses --seed-account and --emulator-seed-account.
func seedAccountValue(dst *string) func(string) error {
	return func(s string) error {
		if s != seedRealistic && s != seedContainers {
			return fmt.Errorf("must be %q or %q", seedRealistic, seedContainers)
		}
		*dst = s
		return nil
	}
}

// realisticAccount is an account in the middle of its IMDSv2 migration,
// the default seed of the emulator and of --emulator: 200 instances of
// three teams' applications, most of them still allowing IMDSv1. 120
// running ones made no IMDSv1 call in 14 days (CloudWatch shows zeros),
// but on 2 of them a monthly job still uses IMDSv1: once they require
// tokens, its calls are refused (what a rollout watches for); 4 of them
// were launched by the Auto Scaling group payments-web from the launch
// template of that name; 50 running ones, launched by hand, still make
// IMDSv1 calls every day; 28 are stopped, one is terminated, and one was
// launched from an AMI that requires IMDSv2 and is already compliant. The
// account's default HttpTokens is "required", but the launch templates
// payments-web and batch-worker ask for "optional" themselves.
//
// So the account is not ready to enforce IMDSv2: the group's template and
// batch-worker would launch with IMDSv1. The group's instances are clean,
// so its template can require IMDSv2; once both templates do, the account
// is ready. The instances launched by hand that use IMDSv1 do not block:
// enforcement leaves them alone.
func realisticAccount() seedFile {
	none := func() *seedMetric { return &seedMetric{} }
	legacy := func(n int, team, state string, perDay *seedMetric) seedInstances {
		return seedInstances{Count: n, Image: "legacy-app", InstanceType: "m5.large", State: state,
			MetadataOptions: &seedOptions{HttpTokens: "optional", HttpPutResponseHopLimit: aws.Int32(1)},
			Tags:            map[string]string{"team": team, "env": "prod"}, MetadataNoToken: perDay}
	}
	monthly := legacy(2, "payments", "running", none())
	monthly.LateIMDSv1Calls = &seedLateCalls{PerMinute: 2}
	return seedFile{
		Images: []seedImage{{Name: "legacy-app"}, {Name: "al2023-app", ImdsSupport: "v2.0"}},
		Instances: []seedInstances{
			legacy(64, "payments", "running", none()),
			monthly,
			legacy(50, "search", "running", none()),
			legacy(30, "payments", "running", &seedMetric{PerDay: 240}),
			legacy(20, "batch", "running", &seedMetric{PerDay: 12}),
			legacy(28, "batch", "stopped", none()),
			legacy(1, "search", "terminated", nil),
			{Count: 1, Image: "al2023-app", InstanceType: "t3.micro", Tags: map[string]string{"team": "search", "env": "prod"},
				MetadataNoToken: none()},
		},
		LaunchTemplates: []seedTemplate{
			{Name: "payments-web", Image: "legacy-app", InstanceType: "m5.large",
				Versions: []seedVersion{{MetadataOptions: &seedOptions{HttpTokens: "optional", HttpPutResponseHopLimit: aws.Int32(1)}}}},
			{Name: "batch-worker", Image: "legacy-app", InstanceType: "m5.large",
				Versions: []seedVersion{{MetadataOptions: &seedOptions{HttpTokens: "optional"}}}},
		},
		AutoScalingGroups: []seedGroup{
			{Name: "payments-web", LaunchTemplate: "payments-web", Version: "$Default", DesiredCapacity: 4,
				Tags: map[string]string{"team": "payments", "env": "prod"}, MetadataNoToken: none()},
		},
		AccountDefaults: &seedDefaults{HttpTokens: "required"},
	}
}

// readSeedFile reads and checks a seed file: keys spelled exactly as
// documented, each given once, values of the right types and in range.
func readSeedFile(path string) (seedFile, error) {
	bad := func(format string, args ...any) (seedFile, error) {
		return seedFile{}, usageErrorf("seed file %s: %s", path, fmt.Sprintf(format, args...))
	}
	fh, err := os.Open(path)
	if err != nil {
		return seedFile{}, usageErrorf("seed file: %v", err)
	}
	defer fh.Close()
	b, err := io.ReadAll(io.LimitReader(fh, maxSeedFileBytes+1))
	if err != nil {
		return bad("%v", err)
	}
	if len(b) > maxSeedFileBytes {
		return bad("larger than %d bytes", maxSeedFileBytes)
	}
	seed, err := parseSeed(b)
	if err != nil {
		return bad("%v", err)
	}
	return seed, nil
}

// parseSeed reads a seed document.
func parseSeed(b []byte) (seedFile, error) {
	if err := checkJSONKeys(b, reflect.TypeFor[seedFile]()); err != nil {
		return seedFile{}, err
	}
	var s seedFile
	if err := json.Unmarshal(b, &s); err != nil {
		return seedFile{}, err
	}
	if err := s.check(); err != nil {
		return seedFile{}, err
	}
	return s, nil
}

// checkJSONKeys walks the JSON document b against the Go type t: every key
// of an object must be exactly the json name of a field of the structure,
// given once (encoding/json alone matches names without regard to case and
// keeps the last of duplicates). Maps take any keys, once each.
func checkJSONKeys(b []byte, t reflect.Type) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := walkJSON(dec, t, "the file"); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("more than one JSON value")
	}
	return nil
}

func walkJSON(dec *json.Decoder, t reflect.Type, path string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("%s: %v", path, err)
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return nil // a scalar; its type is checked when decoding
	}
	switch d {
	case '[':
		elem := t
		if t.Kind() == reflect.Slice {
			elem = t.Elem()
		}
		for i := 0; dec.More(); i++ {
			if err := walkJSON(dec, elem, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	case '{':
		seen := map[string]bool{}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return fmt.Errorf("%s: %v", path, err)
			}
			k := kt.(string)
			if seen[k] {
				return fmt.Errorf("%s: key %q given twice", path, k)
			}
			seen[k] = true
			var ft reflect.Type = t
			if t.Kind() == reflect.Struct {
				var names []string
				ft = nil
				for i := range t.NumField() {
					name := strings.Split(t.Field(i).Tag.Get("json"), ",")[0]
					names = append(names, strconv.Quote(name))
					if name == k {
						ft = t.Field(i).Type
					}
				}
				if ft == nil {
					return fmt.Errorf("%s: unknown key %q (the keys are %s, spelled exactly so)", path, k, strings.Join(names, ", "))
				}
			} else if t.Kind() == reflect.Map {
				ft = t.Elem()
			}
			if err := walkJSON(dec, ft, path+"."+k); err != nil {
				return err
			}
		}
	}
	_, err = dec.Token() // the closing delimiter
	return err
}

// check validates what the fake does not: counts, states, names, days.
// Option values are validated by the fake when launching, with EC2's rules.
func (s seedFile) check() error {
	names := map[string]bool{}
	for i, im := range s.Images {
		if im.Name == "" {
			return fmt.Errorf("Images[%d].Name: required", i)
		}
		if names[im.Name] {
			return fmt.Errorf("Images[%d].Name %q: given twice", i, im.Name)
		}
		names[im.Name] = true
		if im.ImdsSupport != "" && im.ImdsSupport != string(types.ImdsSupportValuesV20) {
			return fmt.Errorf("Images[%d].ImdsSupport %q: must be \"v2.0\" or absent", i, im.ImdsSupport)
		}
	}
	total := 0
	for i, g := range s.Instances {
		if g.Count < 1 || g.Count > maxSeedInstances {
			return fmt.Errorf("Instances[%d].Count %d: must be 1..%d", i, g.Count, maxSeedInstances)
		}
		total += g.Count
		switch {
		case g.Image == "" && len(s.Images) > 1:
			return fmt.Errorf("Instances[%d].Image: required when there are several images", i)
		case g.Image != "" && !names[g.Image] && !(len(s.Images) == 0 && g.Image == "base"):
			return fmt.Errorf("Instances[%d].Image %q: not an image of the file", i, g.Image)
		}
		switch g.State {
		case "", "running", "stopped", "terminated":
		default:
			return fmt.Errorf("Instances[%d].State %q: must be \"running\", \"stopped\" or \"terminated\"", i, g.State)
		}
		switch g.Monitoring {
		case "", "basic", "detailed":
		default:
			return fmt.Errorf("Instances[%d].Monitoring %q: must be \"basic\" or \"detailed\"", i, g.Monitoring)
		}
		if err := checkSeedMetric(fmt.Sprintf("Instances[%d]", i), g.MetadataNoToken); err != nil {
			return err
		}
		for k := range g.Tags {
			if k == "" {
				return fmt.Errorf("Instances[%d].Tags: a key is empty", i)
			}
		}
		if l := g.LateIMDSv1Calls; l != nil && !(l.PerMinute > 0 && l.PerMinute <= 1e6) {
			return fmt.Errorf("Instances[%d].LateIMDSv1Calls.PerMinute %v: must be a number above 0, at most 1000000", i, l.PerMinute)
		}
	}
	templates := map[string]int{} // versions by name
	for i, lt := range s.LaunchTemplates {
		where := fmt.Sprintf("LaunchTemplates[%d]", i)
		switch {
		case lt.Name == "":
			return fmt.Errorf("%s.Name: required", where)
		case templates[lt.Name] > 0:
			return fmt.Errorf("%s.Name %q: given twice", where, lt.Name)
		case lt.Image == "" && len(s.Images) > 1:
			return fmt.Errorf("%s.Image: required when there are several images", where)
		case lt.Image != "" && !names[lt.Image] && !(len(s.Images) == 0 && lt.Image == "base"):
			return fmt.Errorf("%s.Image %q: not an image of the file", where, lt.Image)
		case len(lt.Versions) < 1 || len(lt.Versions) > maxSeedVersions:
			return fmt.Errorf("%s.Versions: %d given, must be 1..%d", where, len(lt.Versions), maxSeedVersions)
		case lt.DefaultVersion != nil && (*lt.DefaultVersion < 1 || *lt.DefaultVersion > len(lt.Versions)):
			return fmt.Errorf("%s.DefaultVersion %d: must be a version of the template, 1..%d", where, *lt.DefaultVersion, len(lt.Versions))
		}
		for n, v := range lt.Versions {
			if len(v.UserData) > maxSeedUserData {
				return fmt.Errorf("%s.Versions[%d].UserData: %d bytes; EC2 takes at most %d", where, n, len(v.UserData), maxSeedUserData)
			}
			for k := range v.Tags {
				if k == "" {
					return fmt.Errorf("%s.Versions[%d].Tags: a key is empty", where, n)
				}
			}
		}
		templates[lt.Name] = len(lt.Versions)
	}
	groups := map[string]bool{}
	for i, g := range s.AutoScalingGroups {
		where := fmt.Sprintf("AutoScalingGroups[%d]", i)
		switch {
		case g.Name == "":
			return fmt.Errorf("%s.Name: required", where)
		case groups[g.Name]:
			return fmt.Errorf("%s.Name %q: given twice", where, g.Name)
		case templates[g.LaunchTemplate] == 0:
			return fmt.Errorf("%s.LaunchTemplate %q: not a launch template of the file", where, g.LaunchTemplate)
		case g.DesiredCapacity < 0 || g.DesiredCapacity > maxSeedGroupCapacity:
			return fmt.Errorf("%s.DesiredCapacity %d: must be 0..%d", where, g.DesiredCapacity, maxSeedGroupCapacity)
		}
		switch v := g.Version; v {
		case "", "$Default", "$Latest":
		default:
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > templates[g.LaunchTemplate] || strconv.Itoa(n) != v {
				return fmt.Errorf("%s.Version %q: must be \"$Default\", \"$Latest\" or a version of the template, 1..%d", where, v, templates[g.LaunchTemplate])
			}
		}
		if err := checkSeedMetric(where, g.MetadataNoToken); err != nil {
			return err
		}
		for k := range g.Tags {
			if k == "" {
				return fmt.Errorf("%s.Tags: a key is empty", where)
			}
		}
		for k := range g.ServiceTags {
			if !strings.HasPrefix(k, "aws:") {
				return fmt.Errorf("%s.ServiceTags: key %q: must begin with \"aws:\" (the others go in Tags)", where, k)
			}
		}
		groups[g.Name] = true
		total += g.DesiredCapacity
	}
	if total > maxSeedInstances {
		return fmt.Errorf("the Instances and the groups' DesiredCapacity add up to %d; at most %d", total, maxSeedInstances)
	}
	return nil
}

// checkSeedMetric checks a MetadataNoToken of a seed.
func checkSeedMetric(where string, m *seedMetric) error {
	if m == nil {
		return nil
	}
	if m.PerDay < 0 || math.IsNaN(m.PerDay) || math.IsInf(m.PerDay, 0) {
		return fmt.Errorf("%s.MetadataNoToken.PerDay %v: must be a number, 0 or more", where, m.PerDay)
	}
	if m.Days != nil && (*m.Days < 1 || *m.Days > 455) {
		return fmt.Errorf("%s.MetadataNoToken.Days %d: must be 1..455", where, *m.Days)
	}
	return nil
}

// seedSummary counts what a seed made; late are the instances whose
// software calls IMDSv1 once they require tokens, with its calls a minute.
type seedSummary struct {
	images                                  int
	instances, running, stopped, terminated int
	withMetrics                             int
	templates, groups                       int
	late                                    map[string]float64
}

func (s seedSummary) String() string {
	text := fmt.Sprintf("seeded with %d image(s) and %d instance(s): %d running, %d stopped, %d terminated; %d with IMDSv1 history in CloudWatch",
		s.images, s.instances, s.running, s.stopped, s.terminated, s.withMetrics)
	if s.templates+s.groups > 0 {
		text += fmt.Sprintf("; %d launch template(s), %d Auto Scaling group(s)", s.templates, s.groups)
	}
	if len(s.late) > 0 {
		text += fmt.Sprintf("; %d with software that calls IMDSv1 once it requires tokens", len(s.late))
	}
	return text
}

// seedAccount fills f, as and cw with s: the images, the instances
// (launched with the fake's seeding Launch, stopped or terminated as asked),
// their MetadataNoToken datapoints up to now, the launch templates, the
// Auto Scaling groups (created with the fakes' API: their launches are
// RunInstances calls), then the account defaults. A value the fakes refuse
// is an error naming the place in s. Seeding is not the emulator's traffic:
// it takes no token from the buckets of --throttle (RunInstances' holds
// only 5), which are full when it is done, and the instances it launches
// are found at once, whatever --propagation-delay.
func seedAccount(ctx context.Context, f *fake.EC2, as *fake.AutoScaling, cw *fake.CloudWatch, s seedFile, now time.Time) (sum seedSummary, err error) {
	f.Unthrottled(func() { sum, err = seedAPI(ctx, f, as, cw, s, now) })
	// The seeded instances were there before the emulator: found at once,
	// whatever --propagation-delay.
	f.Propagate()
	return sum, err
}

// seedAPI is seedAccount, with the buckets out of the way.
func seedAPI(ctx context.Context, f *fake.EC2, as *fake.AutoScaling, cw *fake.CloudWatch, s seedFile, now time.Time) (seedSummary, error) {
	var sum seedSummary
	fail := func(where string, err error) (seedSummary, error) {
		var apiErr smithy.APIError
		if errors.As(err, &apiErr) {
			err = fmt.Errorf("%s: %s", apiErr.ErrorCode(), apiErr.ErrorMessage())
		}
		return seedSummary{}, usageErrorf("seed %s: %v", where, err)
	}
	images := map[string]string{}
	list := s.Images
	if len(list) == 0 {
		list = []seedImage{{Name: "base"}}
	}
	for i, im := range list {
		out, err := f.RegisterImage(ctx, &ec2.RegisterImageInput{Name: aws.String(im.Name), ImdsSupport: types.ImdsSupportValues(im.ImdsSupport)})
		if err != nil {
			return fail(fmt.Sprintf("Images[%d]", i), err)
		}
		images[im.Name] = aws.ToString(out.ImageId)
		sum.images++
	}
	putMetric := func(ids []string, m *seedMetric) {
		days := defaultIMDSDays
		if m.Days != nil {
			days = *m.Days
		}
		for _, id := range ids {
			for d := range days {
				cw.PutMetadataNoToken(id, now.Add(-time.Duration(d)*24*time.Hour-30*time.Minute), m.PerDay)
			}
		}
		sum.withMetrics += len(ids)
	}
	for i, g := range s.Instances {
		where := fmt.Sprintf("Instances[%d]", i)
		image := images[g.Image]
		if g.Image == "" {
			image = images[list[0].Name]
		}
		// Seeding is not API traffic: Launch takes no token from the
		// buckets an emulator with --throttle has on.
		ids, err := f.Launch(g.Count, func(o *fake.LaunchOptions) {
			o.ImageID, o.InstanceType, o.Tags = image, types.InstanceType(g.InstanceType), g.Tags
			o.Stopped = g.State == "stopped"
			o.DetailedMonitoring = g.Monitoring == "detailed"
			if m := g.MetadataOptions; m != nil {
				o.MetadataOptions = &types.InstanceMetadataOptionsRequest{
					HttpTokens: types.HttpTokensState(m.HttpTokens), HttpPutResponseHopLimit: m.HttpPutResponseHopLimit,
					HttpEndpoint: types.InstanceMetadataEndpointState(m.HttpEndpoint), HttpProtocolIpv6: types.InstanceMetadataProtocolState(m.HttpProtocolIpv6),
					InstanceMetadataTags: types.InstanceMetadataTagsState(m.InstanceMetadataTags),
				}
			}
		})
		if err != nil {
			return fail(where, err)
		}
		if m := g.MetadataNoToken; m != nil {
			putMetric(ids, m)
		}
		if l := g.LateIMDSv1Calls; l != nil && g.State != "terminated" {
			if sum.late == nil {
				sum.late = map[string]float64{}
			}
			for _, id := range ids {
				sum.late[id] = l.PerMinute
			}
		}
		if g.State == "terminated" {
			for chunk := range slices.Chunk(ids, 1000) {
				if _, err := f.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: chunk}); err != nil {
					return fail(where, err)
				}
			}
		}
		sum.instances += len(ids)
		switch g.State {
		case "stopped":
			sum.stopped += len(ids)
		case "terminated":
			sum.terminated += len(ids)
		default:
			sum.running += len(ids)
		}
	}
	templateIDs := map[string]string{}
	for i, lt := range s.LaunchTemplates {
		where := fmt.Sprintf("LaunchTemplates[%d]", i)
		image := images[lt.Image]
		if lt.Image == "" {
			image = images[list[0].Name]
		}
		var id string
		for n, v := range lt.Versions {
			data := &types.RequestLaunchTemplateData{ImageId: aws.String(image), InstanceType: types.InstanceType(lt.InstanceType)}
			if v.UserData != "" {
				data.UserData = aws.String(base64.StdEncoding.EncodeToString([]byte(v.UserData)))
			}
			if len(v.Tags) > 0 {
				spec := types.LaunchTemplateTagSpecificationRequest{ResourceType: types.ResourceTypeInstance}
				for _, k := range slices.Sorted(maps.Keys(v.Tags)) {
					spec.Tags = append(spec.Tags, types.Tag{Key: aws.String(k), Value: aws.String(v.Tags[k])})
				}
				data.TagSpecifications = []types.LaunchTemplateTagSpecificationRequest{spec}
			}
			if m := v.MetadataOptions; m != nil {
				data.MetadataOptions = &types.LaunchTemplateInstanceMetadataOptionsRequest{
					HttpTokens: types.LaunchTemplateHttpTokensState(m.HttpTokens), HttpPutResponseHopLimit: m.HttpPutResponseHopLimit,
					HttpEndpoint: types.LaunchTemplateInstanceMetadataEndpointState(m.HttpEndpoint), HttpProtocolIpv6: types.LaunchTemplateInstanceMetadataProtocolIpv6(m.HttpProtocolIpv6),
					InstanceMetadataTags: types.LaunchTemplateInstanceMetadataTagsState(m.InstanceMetadataTags),
				}
			}
			if n == 0 {
				out, err := f.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String(lt.Name), LaunchTemplateData: data})
				if err != nil {
					return fail(where, err)
				}
				id = aws.ToString(out.LaunchTemplate.LaunchTemplateId)
				continue
			}
			if _, err := f.CreateLaunchTemplateVersion(ctx, &ec2.CreateLaunchTemplateVersionInput{LaunchTemplateId: aws.String(id), LaunchTemplateData: data}); err != nil {
				return fail(fmt.Sprintf("%s.Versions[%d]", where, n), err)
			}
		}
		if d := lt.DefaultVersion; d != nil && *d != 1 {
			if _, err := f.ModifyLaunchTemplate(ctx, &ec2.ModifyLaunchTemplateInput{LaunchTemplateId: aws.String(id), DefaultVersion: aws.String(strconv.Itoa(*d))}); err != nil {
				return fail(where+".DefaultVersion", err)
			}
		}
		templateIDs[lt.Name] = id
		sum.templates++
	}
	for i, g := range s.AutoScalingGroups {
		where := fmt.Sprintf("AutoScalingGroups[%d]", i)
		version := g.Version
		if version == "" {
			version = "$Default"
		}
		in := &autoscaling.CreateAutoScalingGroupInput{AutoScalingGroupName: aws.String(g.Name),
			MinSize: aws.Int32(0), MaxSize: aws.Int32(int32(g.DesiredCapacity)), DesiredCapacity: aws.Int32(int32(g.DesiredCapacity)),
			AvailabilityZones: []string{"us-east-1a"},
			LaunchTemplate:    &astypes.LaunchTemplateSpecification{LaunchTemplateId: aws.String(templateIDs[g.LaunchTemplate]), Version: aws.String(version)}}
		for _, k := range slices.Sorted(maps.Keys(g.Tags)) {
			in.Tags = append(in.Tags, astypes.Tag{Key: aws.String(k), Value: aws.String(g.Tags[k]), PropagateAtLaunch: aws.Bool(true)})
		}
		if len(g.ServiceTags) > 0 {
			// The service tags the group before it launches: made empty,
			// tagged, then scaled.
			in.DesiredCapacity = aws.Int32(0)
		}
		if _, err := as.CreateAutoScalingGroup(ctx, in); err != nil {
			return fail(where, err)
		}
		if len(g.ServiceTags) > 0 {
			if err := as.TagAsService(g.Name, g.ServiceTags); err != nil {
				return fail(where+".ServiceTags", err)
			}
			if _, err := as.SetDesiredCapacity(ctx, &autoscaling.SetDesiredCapacityInput{AutoScalingGroupName: aws.String(g.Name),
				DesiredCapacity: aws.Int32(int32(g.DesiredCapacity))}); err != nil {
				return fail(where, err)
			}
		}
		out, err := as.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{g.Name}})
		if err != nil {
			return fail(where, err)
		}
		var ids []string
		for _, grp := range out.AutoScalingGroups {
			for _, in := range grp.Instances {
				ids = append(ids, aws.ToString(in.InstanceId))
			}
		}
		if len(ids) != g.DesiredCapacity {
			return fail(where, fmt.Errorf("launched %d of %d instances (see its scaling activities)", len(ids), g.DesiredCapacity))
		}
		if m := g.MetadataNoToken; m != nil {
			putMetric(ids, m)
		}
		sum.groups++
		sum.instances += len(ids)
		sum.running += len(ids)
	}
	if d := s.AccountDefaults; d != nil {
		_, err := f.ModifyInstanceMetadataDefaults(ctx, &ec2.ModifyInstanceMetadataDefaultsInput{
			HttpTokens: types.MetadataDefaultHttpTokensState(d.HttpTokens), HttpPutResponseHopLimit: d.HttpPutResponseHopLimit,
			HttpEndpoint: types.DefaultInstanceMetadataEndpointState(d.HttpEndpoint), InstanceMetadataTags: types.DefaultInstanceMetadataTagsState(d.InstanceMetadataTags),
			HttpTokensEnforced: types.DefaultHttpTokensEnforcedState(d.HttpTokensEnforced),
		})
		if err != nil {
			return fail("AccountDefaults", err)
		}
	}
	if p := s.DeclarativePolicy; p != nil {
		err := f.SetDeclarativePolicy(&fake.DeclarativePolicy{HttpTokens: types.HttpTokensState(p.HttpTokens), HttpPutResponseHopLimit: p.HttpPutResponseHopLimit,
			HttpEndpoint: types.InstanceMetadataEndpointState(p.HttpEndpoint), InstanceMetadataTags: types.InstanceMetadataTagsState(p.InstanceMetadataTags),
			HttpTokensEnforced: types.HttpTokensEnforcedState(p.HttpTokensEnforced), ManagedExceptionMessage: p.ManagedExceptionMessage})
		if err != nil {
			return fail("DeclarativePolicy", err)
		}
	}
	return sum, nil
}

// lateCalls starts the IMDSv1 calls of the seed's LateIMDSv1Calls: the
// calls of instance ID start once a ModifyInstanceMetadataOptions that
// makes it require tokens is answered, and go on from then.
type lateCalls struct {
	ec2     *fake.EC2
	mu      sync.Mutex
	waiting map[string]float64 // the calls a minute, of the instances whose calls have not started
}

// maxInspectedBody bounds the request bodies lateCalls reads: the
// handler's own limit.
const maxInspectedBody = 1 << 20

// wrap returns h, serving each request as it does, and starting the late
// calls of the instances that requests make require tokens.
func (l *lateCalls) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := l.requiredBy(r)
		if id == "" {
			h.ServeHTTP(w, r)
			return
		}
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(rec, r)
		if rec.status != http.StatusOK {
			return
		}
		l.mu.Lock()
		perMinute, ok := l.waiting[id]
		delete(l.waiting, id)
		l.mu.Unlock()
		if ok {
			_ = l.ec2.CallIMDSv1(id, perMinute) // cannot fail: the instance was seeded, the rate checked
		}
	})
}

// requiredBy returns the instance r makes require tokens, when it is a
// ModifyInstanceMetadataOptions (EC2's Query protocol: a form, in the body
// or the URL) of an instance whose late calls have not started; else "".
// A body it reads is put back for the handler.
func (l *lateCalls) requiredBy(r *http.Request) string {
	l.mu.Lock()
	n := len(l.waiting)
	l.mu.Unlock()
	if n == 0 || strings.HasPrefix(r.URL.Path, "/service/") || r.Header.Get("X-Amz-Target") != "" {
		return ""
	}
	form := r.URL.Query()
	if r.Method == http.MethodPost && r.Body != nil {
		body, err := io.ReadAll(io.LimitReader(r.Body, maxInspectedBody+1))
		r.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(body), r.Body), r.Body}
		if err != nil || len(body) > maxInspectedBody {
			return ""
		}
		if form, err = url.ParseQuery(string(body)); err != nil {
			return ""
		}
	}
	if form.Get("Action") != "ModifyInstanceMetadataOptions" || form.Get("HttpTokens") != string(types.HttpTokensStateRequired) {
		return ""
	}
	id := form.Get("InstanceId")
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.waiting[id]; !ok {
		return ""
	}
	return id
}

// statusRecorder remembers the status of the answer it passes on.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

package main

import (
	"context"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/imdsopts/imdsopts/fake"
	"github.com/imdsopts/imdsopts/internal/check"
	"github.com/imdsopts/imdsopts/internal/userfile"
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

Seed file: JSON, every key optional and spelled exactly as documented, for example
  {"Images": [{"Name": "legacy"}],
   "Instances": [{"Count": 10, "MetadataOptions": {"HttpTokens": "optional"},
                  "MetadataNoToken": {"PerDay": 0, "Days": 14}}],
   "AccountDefaults": {"HttpTokens": "required"}}
The format (images, instances, their IMDSv1 history, launch templates, Auto Scaling groups,
account defaults, a declarative policy) is the Go type Seed of the package
github.com/imdsopts/imdsopts/fake, with which Go tests seed the same accounts; its
documentation describes every key: go doc github.com/imdsopts/imdsopts/fake.Seed, or
https://pkg.go.dev/github.com/imdsopts/imdsopts/fake#Seed. The built-in accounts of
--seed-account are seed files too (fake/seeds/ in the source), examples of every key.
From the start, CloudWatch publishes each instance's metrics as EC2 does: a datapoint per period
in which it runs (5 minutes, or 1 minute with "Monitoring": "detailed"), a --publish-delay after
the period ends, of CPUUtilization, StatusCheckFailed (every minute), MetadataNoToken (the IMDSv1
calls it answered) and MetadataNoTokenRejected (those it refused because it requires tokens), the
last two in the shape of --imds-metrics.
`

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
		if err != nil || n < 1 || n > fake.MaxSeedInstances {
			return fmt.Errorf("must be a whole number, 1..%d", fake.MaxSeedInstances)
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
	seed, err := emulatorSeed("--seed", f.seed, f.instances, f.account)
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
func startEmulator(addr string, seed *fake.Seed, opts emulatorOptions, logger *requestLog) (*runningEmulator, error) {
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
	summary, err := seedAccount(context.Background(), f, as, cw, seed)
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
	em := &runningEmulator{
		URL: "http://" + l.Addr().String(), ec2: f, as: as, cw: cw, summary: summary, listener: l,
		srv: &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute,
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
	seed, err := emulatorSeed("--emulator-seed", g.emulatorSeed, 0, g.emulatorAccount)
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

// The seed: its format, its checks and how it is made are fake.Seed's,
// shared with Go tests; here are only the flags that choose one.

// emulatorSeed returns the seed of a --seed file (given with flag), of
// --instances n, of the built-in account named by --seed-account, or the
// realistic account.
func emulatorSeed(flag, path string, n int, account string) (*fake.Seed, error) {
	switch {
	case path != "":
		return readSeedFile(flag, path)
	case n > 0:
		return &fake.Seed{Instances: []fake.SeedInstances{{Count: n, MetadataNoToken: &fake.SeedMetadataNoToken{}}}}, nil
	case account == "":
		account = seedRealistic
	}
	return fake.BuiltinSeed(account)
}

// seedRealistic is the built-in account the emulator starts with by
// default.
const seedRealistic = "realistic"

// seedAccountValue parses --seed-account and --emulator-seed-account.
func seedAccountValue(dst *string) func(string) error {
	return func(s string) error {
		names := fake.BuiltinSeeds()
		if !slices.Contains(names, s) {
			quoted := make([]string, len(names))
			for i, n := range names {
				quoted[i] = strconv.Quote(n)
			}
			return fmt.Errorf("must be %s", strings.Join(quoted, " or "))
		}
		*dst = s
		return nil
	}
}

// readSeedFile reads and checks the seed file of flag (--seed or
// --emulator-seed): a regular file, refused before it can block otherwise.
func readSeedFile(flag, path string) (*fake.Seed, error) {
	fh, err := userfile.Open(path)
	if err != nil {
		return nil, usageErrorf("%s %s: %v", flag, check.Quote(path), pathError(err))
	}
	defer fh.Close()
	seed, err := fake.ReadSeed(fh)
	if err != nil {
		return nil, usageErrorf("%s %s: seed file: %v", flag, check.Quote(path), err)
	}
	return seed, nil
}

// seedSummary is what a seed made, as the emulator tells it.
type seedSummary struct{ *fake.SeedResult }

func (s seedSummary) String() string {
	r := s.SeedResult
	if r == nil {
		return "seeded with nothing"
	}
	text := fmt.Sprintf("seeded with %d image(s) and %d instance(s): %d running, %d stopped, %d terminated; %d with IMDSv1 history in CloudWatch",
		len(r.Images), r.Running+r.Stopped+r.Terminated, r.Running, r.Stopped, r.Terminated, r.WithHistory)
	if len(r.LaunchTemplates)+len(r.AutoScalingGroups) > 0 {
		text += fmt.Sprintf("; %d launch template(s), %d Auto Scaling group(s)", len(r.LaunchTemplates), len(r.AutoScalingGroups))
	}
	if r.LateIMDSv1Calls > 0 {
		text += fmt.Sprintf("; %d with software that calls IMDSv1 once it requires tokens", r.LateIMDSv1Calls)
	}
	return text
}

// seedAccount makes s in the fakes of one account and Region; an error is
// the seed's, a usage error.
func seedAccount(ctx context.Context, f *fake.EC2, as *fake.AutoScaling, cw *fake.CloudWatch, s *fake.Seed) (seedSummary, error) {
	res, err := s.Apply(ctx, f, as, cw)
	if err != nil {
		return seedSummary{}, usageErrorf("%v", err)
	}
	return seedSummary{res}, nil
}

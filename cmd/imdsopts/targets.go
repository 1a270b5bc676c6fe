package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/imdsopts/imdsopts"
	"github.com/imdsopts/imdsopts/account"
	"github.com/imdsopts/imdsopts/fleet"
	"github.com/imdsopts/imdsopts/internal/awscli"
	"github.com/imdsopts/imdsopts/internal/check"
	"github.com/imdsopts/imdsopts/internal/userfile"
	"github.com/imdsopts/imdsopts/org"
)

// Every account and Region: the global target flags choose the accounts
// (roles to assume, or every active account of the organisation) and the
// Regions that plan, apply, posture, undo and the account-wide subcommands
// (get- and modify-instance-metadata-defaults, templates, images) work in,
// side by side; the library
// finds them (org.Discover) and runs the operation on each
// with its own clients and pacing. Without target flags, the commands work
// in one account and Region, as they always have.

// targetFlags are the global options that choose the targets.
type targetFlags struct {
	regions      []string
	allRegions   bool
	roleARNs     []string // of --role-arn
	roleARNsFile string
	orgRole      string
	externalID   optString
	sessionName  optString

	fileARNs []string // read from roleARNsFile by check
}

// acrossTargets are the subcommands that take the target flags.
var acrossTargets = map[string]bool{"plan": true, "apply": true, "posture": true, "undo": true,
	"get-instance-metadata-defaults": true, "modify-instance-metadata-defaults": true, "templates": true, "images": true}

// maxRoleARNsFile bounds --role-arns-file: many thousands of ARNs.
const maxRoleARNsFile = 1 << 20

func (t *targetFlags) register(fs *flag.FlagSet) {
	fs.Var(listFunc(func(s string) error {
		for r := range strings.SplitSeq(s, ",") {
			r = strings.TrimSpace(r)
			switch {
			case r == "all":
				t.allRegions = true
			case r == "":
				return errors.New(`must be Regions separated by commas, such as "us-east-1,eu-west-1", or "all"`)
			default:
				t.regions = append(t.regions, r)
			}
		}
		if t.allRegions && len(t.regions) > 0 {
			return errors.New(`"all" stands alone: every Region enabled for each account`)
		}
		return nil
	}), "regions", "`R1,R2|all` the Regions, the same in every account; \"all\": every Region enabled for each account "+
		"(DescribeRegions; opt-in Regions not enabled are left out). Default: --region")
	fs.Var(listFunc(func(s string) error {
		t.roleARNs = append(t.roleARNs, s)
		return nil
	}), "role-arn", "`ARN` assume this role and work in its account; repeat the flag for more accounts (one role an account)")
	fs.StringVar(&t.roleARNsFile, "role-arns-file", t.roleARNsFile, "`FILE` role ARNs, one a line (\"#\" begins a comment)")
	fs.StringVar(&t.orgRole, "organization-role", t.orgRole, "`NAME` assume the role NAME in every ACTIVE account of the organisation "+
		"(Organizations ListAccounts with the credentials given, from the management account; the management account needs the role too)")
	fs.Var(&t.externalID, "external-id", "`ID` the external ID the roles' trust policies require")
	fs.Var(&t.sessionName, "role-session-name", "`NAME` the roles' session name, as CloudTrail shows it (default imdsopts)")
}

// active reports whether any flag chooses targets.
func (t *targetFlags) active() bool {
	return len(t.regions) > 0 || t.allRegions || len(t.roleARNs) > 0 || t.roleARNsFile != "" || t.orgRole != ""
}

// roles reports whether any flag names roles to assume.
func (t *targetFlags) roles() bool {
	return len(t.roleARNs) > 0 || t.roleARNsFile != "" || t.orgRole != ""
}

// check reads --role-arns-file and checks every target flag, before any
// call: each problem on a line of its own, naming its flag.
func (t *targetFlags) check() error {
	if !t.roles() {
		for _, f := range []struct {
			name string
			set  bool
		}{{"--external-id", t.externalID.set}, {"--role-session-name", t.sessionName.set}} {
			if f.set {
				return usageErrorf("%s: only with --role-arn, --role-arns-file or --organization-role (no role is assumed without them)", f.name)
			}
		}
	}
	if !t.active() {
		return nil
	}
	if t.orgRole != "" && (len(t.roleARNs) > 0 || t.roleARNsFile != "") {
		return usageErrorf("--organization-role %s: give it, or --role-arn and --role-arns-file, not both", check.Quote(t.orgRole))
	}
	if t.roleARNsFile != "" {
		arns, err := readRoleARNsFile(t.roleARNsFile)
		if err != nil {
			return err
		}
		t.fileARNs = arns
	}
	o := t.options()
	if err := o.Validate(); err != nil {
		return t.flagErrors(err)
	}
	return nil
}

// options are the library's options of the flags.
func (t *targetFlags) options() org.DiscoverOptions {
	o := org.DiscoverOptions{
		Regions: t.regions, AllRegions: t.allRegions,
		RoleARNs:         slices.Concat(t.roleARNs, t.fileARNs),
		OrganizationRole: t.orgRole, ExternalID: t.externalID.value,
		RoleSessionName: org.DefaultRoleSessionName, MaxAccounts: org.DefaultMaxAccounts,
		Concurrency: fleet.DefaultConcurrency,
	}
	if t.sessionName.set {
		o.RoleSessionName = t.sessionName.value
	}
	return o
}

// flagErrors rewrites DiscoverOptions' validation errors with the flags
// that gave the values: a usage error of one line per problem.
func (t *targetFlags) flagErrors(err error) error {
	var lines []string
	for _, e := range leaves(err) {
		var ve *imdsopts.ValidationError
		if !errors.As(e, &ve) {
			lines = append(lines, e.Error())
			continue
		}
		field := strings.TrimPrefix(ve.Field, "DiscoverOptions.")
		name, index, _ := strings.Cut(strings.TrimSuffix(field, "]"), "[")
		flagName := map[string]string{"Regions": "--regions", "RoleARNs": "--role-arn", "OrganizationRole": "--organization-role",
			"ExternalID": "--external-id", "RoleSessionName": "--role-session-name"}[name]
		if flagName == "" {
			flagName = field
		}
		var i int
		if name == "RoleARNs" && index != "" {
			if _, err := fmt.Sscan(index, &i); err == nil && i >= len(t.roleARNs) {
				flagName = fmt.Sprintf("--role-arns-file %s line %d", check.Quote(t.roleARNsFile), t.fileLine(i-len(t.roleARNs)))
			}
		}
		lines = append(lines, valueError(flagName, ve.Value, ve.Rule))
	}
	return &exitError{code: exitUsage, err: errors.New(strings.Join(lines, moreErrors))}
}

// fileLine returns the line of --role-arns-file that held its n-th ARN.
func (t *targetFlags) fileLine(n int) int {
	lines, _ := roleARNLines(t.roleARNsFile)
	if n < len(lines) {
		return lines[n]
	}
	return 0
}

// readRoleARNsFile reads the role ARNs of a --role-arns-file.
func readRoleARNsFile(path string) ([]string, error) {
	b, err := readLimited(path, maxRoleARNsFile)
	if err != nil {
		return nil, usageErrorf("--role-arns-file %s: %v", check.Quote(path), err)
	}
	arns, _, err := parseRoleARNs(b)
	if err != nil {
		return nil, usageErrorf("--role-arns-file %s: %v", check.Quote(path), err)
	}
	if len(arns) == 0 {
		return nil, usageErrorf("--role-arns-file %s: holds no role ARN", check.Quote(path))
	}
	return arns, nil
}

// roleARNLines returns the line of each ARN of the file path.
func roleARNLines(path string) ([]int, error) {
	b, err := readLimited(path, maxRoleARNsFile)
	if err != nil {
		return nil, err
	}
	_, lines, err := parseRoleARNs(b)
	return lines, err
}

// parseRoleARNs parses a file of role ARNs: one a line, blank lines and
// lines that begin with "#" left out, spaces around each trimmed. It
// returns the ARNs and the line of each; the ARNs are checked later, with
// the library's rules. A line that is not text, or a NUL, is an error.
func parseRoleARNs(b []byte) (arns []string, lines []int, err error) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 4096), maxRoleARNsFile)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.ContainsRune(line, 0) {
			return nil, nil, fmt.Errorf("line %d: not text", n)
		}
		arns = append(arns, line)
		lines = append(lines, n)
	}
	return arns, lines, sc.Err()
}

// readLimited reads the file path, refusing one larger than limit bytes,
// and one that is not a regular file before it can block.
func readLimited(path string, limit int64) ([]byte, error) {
	b, err := userfile.ReadFile(path, limit)
	var pe *os.PathError
	if errors.As(err, &pe) {
		err = pe.Err // the path is echoed, shortened, by the caller
	}
	return b, err
}

// checkAcross refuses the target flags on a subcommand that does not take
// them.
func (t *targetFlags) checkAcross(name string) error {
	if t.active() && !acrossTargets[name] {
		names := slices.Sorted(maps.Keys(acrossTargets))
		return usageErrorf("--regions, --role-arn, --role-arns-file and --organization-role: only with %s, not %s", strings.Join(names, ", "), name)
	}
	return nil
}

// targetConfig returns the SDK configuration the targets are found and
// reached from: the run's, with --endpoint-url as every service's
// endpoint (STS, Organizations, EC2, Auto Scaling and CloudWatch).
func (a *app) targetConfig(ctx context.Context, g *globals) (aws.Config, error) {
	if a.newConfig != nil {
		return a.newConfig(ctx, g, a.stderr)
	}
	cfg, err := sdkConfig(ctx, g, a.stderr)
	if err != nil {
		return aws.Config{}, err
	}
	if g.endpointURL != "" {
		cfg = cfg.Copy()
		cfg.BaseEndpoint = aws.String(g.endpointURL)
	}
	return cfg, nil
}

// targetSet finds the targets of the flags.
func (a *app) targetSet(ctx context.Context, g *globals) (*org.TargetSet, error) {
	cfg, err := a.targetConfig(ctx, g)
	if err != nil {
		return nil, err
	}
	// Finding the targets calls STS, Organizations or EC2, unless roles
	// and Regions are all named; from here on a call may have been made.
	a.called.Store(true)
	o := g.targets.options()
	return org.Discover(ctx, cfg, func(d *org.DiscoverOptions) { *d = o })
}

// targetsOptions are the options of an operation across targets, with
// fleet's functions for every target: the progress line hears of each
// target, instance and call.
func (a *app) targetsOptions(fleetFns ...func(*fleet.Options)) func(*org.Options) {
	return func(o *org.Options) {
		o.Fleet = append(o.Fleet, fleetFns...)
		o.Fleet = append(o.Fleet, func(f *fleet.Options) { f.OnAttempt = a.prog.answered })
		o.OnProgress = a.prog.across
	}
}

// fleetAcross runs plan or apply on every target of the flags; r is the
// parsed command line.
func (a *app) fleetAcross(ctx context.Context, g *globals, name string, r *fleetRun) error {
	if r.flags.resume.set {
		return a.resumeAcross(ctx, g, r)
	}
	var journals *journalDir
	if r.flags.journal.set {
		var err error
		if journals, err = openNewJournalDir(r.flags.journal.value, a.rerun("apply", "--resume", r.flags.journal.value)); err != nil {
			return err
		}
		defer journals.close()
	}
	ts, err := a.targetSet(ctx, g)
	if err != nil {
		return err
	}
	opts := []func(*org.Options){a.targetsOptions(r.acrossFleet()), withJournals(journals)}
	start := time.Now()
	plans, err := org.Plan(ctx, *ts, r.sel, r.set, opts...)
	if plans == nil {
		return err
	}
	if matched := slices.ContainsFunc(plans.Targets, func(t org.TargetResult[*fleet.Plan]) bool {
		return t.Result == nil || len(t.Result.Items) > 0
	}); !matched {
		a.noteNoMatch(r, fmt.Sprintf(" in any of the %d target(s)", len(plans.Targets)))
	}
	irreversible, n := irreversibleAcross(plans.Targets)
	if refused := name == "apply" && n > 0 && !r.flags.acceptIrreversible; name == "plan" || refused {
		a.prog.finish(false)
		out := acrossOutput(r, "PlanTargets", plans.Targets, func(_ account.Target, p *fleet.Plan) ([]fleet.Item, map[string]int, *int) {
			return p.Items, p.Calls, nil
		}, time.Since(start))
		r.addAcrossPlans(out, plans.Targets)
		perr := a.print(r.printer, out)
		if refused {
			// Nothing was changed, and no journal written.
			return joinFailures(irreversibleAcrossError(irreversible, n), perr)
		}
		a.noteIrreversibleAcross(irreversible, n)
		return joinFailures(acrossOutcome(r, plans.Targets, func(p *fleet.Plan) []fleet.Item { return p.Items }), perr)
	}
	report, applyErr := org.Apply(ctx, *ts, plans, opts...)
	a.prog.finish(true)
	if report == nil {
		return applyErr
	}
	planCalls := map[account.Target]map[string]int{}
	planOf := map[account.Target]*fleet.Plan{}
	for _, p := range plans.Targets {
		if p.Result != nil {
			planCalls[p.Target] = p.Result.Calls
			planOf[p.Target] = p.Result
		}
	}
	out := acrossOutput(r, "ApplyTargets", report.Targets, func(t account.Target, rep *fleet.Report) ([]fleet.Item, map[string]int, *int) {
		// The calls of the plan count too, as they do for one account.
		calls := maps.Clone(planCalls[t])
		if calls == nil {
			calls = map[string]int{}
		}
		for op, n := range rep.Calls {
			calls[op] += n
		}
		return rep.Items, calls, &rep.Throttled
	}, time.Since(start))
	r.addAcrossReports(out, report.Targets, planOf)
	perr := a.print(r.printer, out)
	var items []fleet.Item
	for _, t := range report.Targets {
		if t.Result != nil {
			items = append(items, t.Result.Items...)
		}
	}
	a.noteKeptBack(items)
	a.noteRolloutsAcross(report.Targets)
	a.noteJournalDir(ctx, g, journals, report.Targets, applyErr)
	return joinFailures(acrossOutcome(r, report.Targets, func(p *fleet.Report) []fleet.Item { return p.Items }), perr)
}

// addCalls adds calls to the "Calls" of doc, when it has them.
func addCalls(doc map[string]any, calls map[string]int) {
	c, ok := doc["Calls"].(map[string]any)
	if !ok {
		return
	}
	for op, n := range calls {
		prev, _ := c[op].(float64)
		c[op] = prev + float64(n)
	}
}

// acrossOutput is the output of plan or apply across targets: one entry a
// target, by account then Region, each with its account, its Region, its
// error when it failed, and the output of one account (Items, Counts,
// Calls, Throttled, ElapsedSeconds) when it has a result; then the counts,
// the targets failed, the calls and the throttling answers of them all.
func acrossOutput[T any](r *fleetRun, title string, rs []org.TargetResult[T],
	parts func(account.Target, T) (items []fleet.Item, calls map[string]int, throttled *int), elapsed time.Duration) output {
	var targets []any
	counts := map[string]any{}
	for _, s := range fleet.Statuses() {
		counts[s.String()] = 0.0
	}
	all := map[string]any{}
	failed := 0
	var throttled *int
	for _, t := range rs {
		doc := map[string]any{"Account": t.Account}
		if t.Region != "" {
			doc["Region"] = t.Region
		}
		if t.Err != nil {
			failed++
			doc["Error"] = r.errText(t.Err)
		}
		if !isNilResult(t.Result) {
			items, calls, th := parts(t.Target, t.Result)
			one := r.output("", items, calls, th, elapsed, nil).doc.(map[string]any)
			delete(one, "ElapsedSeconds")
			maps.Copy(doc, one)
			for st, n := range one["Counts"].(map[string]any) {
				counts[st] = counts[st].(float64) + n.(float64)
			}
			addCalls(map[string]any{"Calls": all}, calls)
			if th != nil {
				if throttled == nil {
					throttled = new(int)
				}
				*throttled += *th
			}
		}
		targets = append(targets, doc)
	}
	if targets == nil {
		targets = []any{}
	}
	doc := map[string]any{
		"Targets":        targets,
		"Counts":         counts,
		"TargetsFailed":  float64(failed),
		"Calls":          all,
		"ElapsedSeconds": math.Round(elapsed.Seconds()*1000) / 1000,
	}
	if throttled != nil {
		doc["Throttled"] = float64(*throttled)
	}
	text := func() []byte {
		var b bytes.Buffer
		writeTargetsTable(&b, r, rs, func(t account.Target, v T) []fleet.Item { items, _, _ := parts(t, v); return items })
		return []byte(awscli.Sanitize(b.String()))
	}
	return output{title: title, doc: doc, text: text}
}

// isNilResult reports whether a result is a nil pointer.
func isNilResult(v any) bool {
	switch p := v.(type) {
	case *fleet.Plan:
		return p == nil
	case *fleet.Report:
		return p == nil
	}
	return v == nil
}

// writeTargetsTable writes the text output across targets: one line an
// instance, with its account and Region first, and a line for each target
// that failed, with its error.
func writeTargetsTable[T any](out io.Writer, r *fleetRun, rs []org.TargetResult[T], items func(account.Target, T) []fleet.Item) {
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ACCOUNT\tREGION\tINSTANCE\tSTATE\tSTATUS\tCHANGES\tNOTE")
	for _, t := range rs {
		region := t.Region
		if region == "" {
			region = "-"
		}
		if !isNilResult(t.Result) {
			for _, it := range items(t.Target, t.Result) {
				note, changes := "", ""
				if it.Err != nil {
					note = strings.TrimPrefix(r.errText(it.Err), it.InstanceID+": ")
				}
				if !it.Changes.IsZero() {
					changes = it.Changes.String()
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.Account, region, it.InstanceID, it.InstanceState, it.Status, changes, oneLine(note))
			}
		}
		if t.Err != nil {
			fmt.Fprintf(w, "%s\t%s\t-\t-\ttarget-failed\t-\t%s\n", t.Account, region, oneLine(r.errText(t.Err)))
		}
	}
	w.Flush()
}

// oneLine keeps a note on one line of the table.
func oneLine(s string) string { return strings.ReplaceAll(s, "\n", " ") }

// acrossOutcome is the exit rule across targets: that of one account for
// every instance of every target (see fleetRun.outcome), and a target that
// failed is a failure too. Then 254 when any of them is an answer of the
// service, else 255.
func acrossOutcome[T any](r *fleetRun, rs []org.TargetResult[T], items func(T) []fleet.Item) error {
	var all []fleet.Item
	var failed []org.TargetResult[T]
	for _, t := range rs {
		if !isNilResult(t.Result) {
			all = append(all, items(t.Result)...)
		}
		if t.Err != nil {
			failed = append(failed, t)
		}
	}
	instances := r.outcome(all)
	if len(failed) == 0 {
		return instances
	}
	service := false
	for _, t := range failed {
		service = service || failedTargetService(t.Err, isNilResult(t.Result))
	}
	var ee *exitError
	if errors.As(instances, &ee) && ee.code == exitService {
		service = true
	}
	msg := fmt.Sprintf("%d of %d target(s) failed; first: %s: %s", len(failed), len(rs), failed[0].Target, r.errText(failed[0].Err))
	if instances != nil {
		msg = instances.Error() + "\nimdsopts: error: " + msg
	}
	code := exitOther
	if service {
		code = exitService
	}
	return &exitError{code: code, err: errors.New(msg)}
}

// acrossSkeleton is the output of plan (or apply) across targets with every
// field present, for checkQuery.
func (r *fleetRun) acrossSkeleton(apply bool) any {
	one := r.skeleton(apply).(map[string]any)
	target := maps.Clone(one)
	delete(target, "ElapsedSeconds")
	target["Account"], target["Region"], target["Error"] = "111111111111", "us-east-1", "the reason"
	doc := map[string]any{"Targets": []any{target}, "Counts": one["Counts"], "TargetsFailed": 0.0, "Calls": one["Calls"],
		"ElapsedSeconds": 1.0}
	if apply {
		doc["Throttled"] = 0.0
	}
	return doc
}

// accountAcross is an account-wide subcommand (get- and
// modify-instance-metadata-defaults, templates, images) as it runs across
// the targets of the target flags: its operation for one account and
// Region, and how a target's result shows in the output and the exit
// status. runAccountAcross runs it on every target with org.Run.
type accountAcross[T any] struct {
	// title is the output's title in the table format.
	title string
	// op is the subcommand's operation in one account and Region.
	op func(context.Context, account.Clients) (T, error)
	// doc is the output of one account of a target's result and error,
	// whose members the target's entry holds; nil when there is none to
	// show (the entry then has only the target and its "Error").
	doc func(T, error) map[string]any
	// text, when set, is --output text of one account without --query;
	// otherwise the AWS CLI's text of doc.
	text func(T) string
	// outcome is the exit rule of one account of a target's result and
	// error: nil when the target is done. Nil: the error itself.
	outcome func(T, error) error
	// note, when set, writes on stderr what one account notes of a
	// target's result once the output is printed.
	note func(account.Target, T, error)
}

// acrossSums are the members of one account's output that the output
// across targets adds up over the targets, when the targets have them.
var acrossSums = []string{"Counts", "Calls", "Throttled"}

// runAccountAcross runs c on every target of the flags (org.Run), with
// the progress of the targets done on stderr, and prints one entry a
// target, by account then Region: its "Account", its "Region", the members
// of its output in one account, and its "Error" when it failed; then
// "TargetsFailed" (the targets with an "Error"), the sums of the members
// of acrossSums, and "ElapsedSeconds". --output text without --query
// prints the lines of one account's text, each after its target's account
// and Region, and a line "target-failed" for each target that failed. p is
// the checked printer; every value was checked before, as no target is
// reached before this.
func runAccountAcross[T any](ctx context.Context, a *app, g *globals, p *awscli.Printer, c accountAcross[T]) error {
	ts, err := a.targetSet(ctx, g)
	if err != nil {
		return err
	}
	a.prog.across(org.Progress{Targets: len(ts.Targets) + len(ts.Unreached)})
	start := time.Now()
	res, err := org.Run(ctx, *ts, c.op, a.targetsOptions())
	if res == nil {
		return err
	}
	a.prog.finish(false)
	// Every message the service or the SDK wrote is cleared of the run's
	// secrets before it is printed, in every format.
	errText := func(err error) string { return redact(trim(err), a.secrets.list()) }
	docs := make([]map[string]any, len(res.Targets))
	for i, t := range res.Targets {
		docs[i] = c.doc(t.Result, t.Err)
	}
	doc := accountAcrossDoc(res.Targets, docs, errText, time.Since(start))
	p.KeyOrder = append(append([]string{"Targets", "Account", "Region", "Error"}, p.KeyOrder...), "TargetsFailed", "ElapsedSeconds")
	pp, out := ownFormat(p, output{title: c.title, doc: doc}, func(f awscli.Format) []byte {
		if f != awscli.Text {
			return nil
		}
		var b strings.Builder
		for i, t := range res.Targets {
			prefix := t.Account + "\t" + orDash(t.Region) + "\t"
			if docs[i] != nil {
				var one []byte
				if c.text != nil {
					one = []byte(c.text(t.Result))
				} else {
					text := *p
					text.Format, text.Query = awscli.Text, nil
					one, _ = text.Render(c.title, docs[i]) // without a query, rendering cannot fail
				}
				for line := range strings.Lines(string(one)) {
					if line = strings.TrimRight(line, "\n"); line != "" {
						b.WriteString(prefix + line + "\n")
					}
				}
			}
			if t.Err != nil {
				b.WriteString(prefix + "target-failed\t" + oneLine(errText(t.Err)) + "\n")
			}
		}
		return []byte(awscli.Sanitize(b.String()))
	})
	perr := a.print(pp, out)
	if c.note != nil {
		for _, t := range res.Targets {
			c.note(t.Target, t.Result, t.Err)
		}
	}
	outcome := c.outcome
	if outcome == nil {
		outcome = func(_ T, err error) error { return err }
	}
	return joinFailures(accountAcrossOutcome(ctx, res.Targets, outcome, errText), perr)
}

// accountAcrossDoc is the document of runAccountAcross: docs are the
// outputs of one account of the targets rs, nil for a target that has
// none.
func accountAcrossDoc[T any](rs []org.TargetResult[T], docs []map[string]any, errText func(error) string, elapsed time.Duration) map[string]any {
	targets := []any{}
	failed := 0
	sums := map[string]any{}
	for i, t := range rs {
		entry := map[string]any{}
		if one := docs[i]; one != nil {
			maps.Copy(entry, one)
			delete(entry, "ElapsedSeconds")
			for _, k := range acrossSums {
				sums[k] = addNumbers(sums[k], one[k])
			}
		}
		entry["Account"] = t.Account
		if t.Region != "" {
			entry["Region"] = t.Region
		}
		if t.Err != nil {
			failed++
			entry["Error"] = errText(t.Err)
		}
		targets = append(targets, entry)
	}
	doc := map[string]any{"Targets": targets, "TargetsFailed": float64(failed), "ElapsedSeconds": math.Round(elapsed.Seconds()*1000) / 1000}
	for k, v := range sums {
		if v != nil {
			doc[k] = v
		}
	}
	return doc
}

// addNumbers adds b to a: numbers, or maps of numbers by key (counts by
// status, calls by operation); nil is nothing.
func addNumbers(a, b any) any {
	switch b := b.(type) {
	case float64:
		n, _ := a.(float64)
		return n + b
	case map[string]any:
		sum, _ := a.(map[string]any)
		if sum == nil {
			sum = map[string]any{}
		}
		for k, v := range b {
			sum[k] = addNumbers(sum[k], v)
		}
		return sum
	}
	return a
}

// accountAcrossSkeleton is the output across targets of a subcommand whose
// output in one account, every field present, is one: for checkQuery.
func accountAcrossSkeleton(one map[string]any) map[string]any {
	target := maps.Clone(one)
	delete(target, "ElapsedSeconds")
	target["Account"], target["Region"], target["Error"] = "111111111111", "us-east-1", "the reason"
	doc := map[string]any{"Targets": []any{target}, "TargetsFailed": 0.0, "ElapsedSeconds": 1.0}
	for _, k := range acrossSums {
		if v, ok := one[k]; ok {
			doc[k] = v
		}
	}
	return doc
}

// skeletonOf is the skeleton of an account-wide subcommand's output for
// checkQuery: one, its output in one account, or, with the target flags,
// its output across targets.
func skeletonOf(g *globals, one map[string]any) any {
	if g.targets.active() {
		return accountAcrossSkeleton(one)
	}
	return one
}

// accountAcrossOutcome is the exit rule of an account-wide subcommand
// across targets: each target's is that of one account (outcome), and a
// target that failed is a failure too. A failure of any target decides:
// 254 when any is an answer of the service, else 255; otherwise a target
// refused as not ready to enforce IMDSv2 exits 1. The message names the
// targets, with why, as many as maxNamed.
func accountAcrossOutcome[T any](ctx context.Context, rs []org.TargetResult[T], outcome func(T, error) error, errText func(error) string) error {
	if len(rs) == 0 {
		return &exitError{code: exitOther, err: errors.New("the target flags reached no account and Region: nothing was done")}
	}
	var failed, notReady []string
	service := false
	for _, t := range rs {
		err := outcome(t.Result, t.Err)
		if err == nil {
			err = t.Err
		}
		if err == nil {
			continue
		}
		line := "  " + t.Target.String() + ": " + oneLine(errText(err))
		switch code := exitCode(ctx, err); code {
		case exitNotReady:
			notReady = append(notReady, line)
		default:
			failed = append(failed, line)
			service = service || code == exitService
		}
	}
	named := func(lines []string) string {
		if n := len(lines); n > maxNamed {
			lines = append(lines[:maxNamed:maxNamed], fmt.Sprintf("  and %d more (see the output's Targets)", n-maxNamed))
		}
		return strings.Join(lines, "\n")
	}
	var errs []error
	if len(failed) > 0 {
		code := exitOther
		if service {
			code = exitService
		}
		errs = append(errs, &exitError{code: code, err: fmt.Errorf("%d of %d target(s) failed:\n%s", len(failed), len(rs), named(failed))})
	}
	if len(notReady) > 0 {
		errs = append(errs, &exitError{code: exitNotReady, err: fmt.Errorf("not ready to enforce IMDSv2 in %d of %d target(s):\n%s",
			len(notReady), len(rs), named(notReady))})
	}
	return joinFailures(errs...)
}

// observeCalls makes an account operation across targets tell the
// progress line of every call, as the observed clients of one account do.
func (a *app) observeCalls(o *account.Options) { o.OnAttempt = a.prog.answered }

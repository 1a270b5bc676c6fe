package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"

	"github.com/imdsopts/imdsopts"
	"github.com/imdsopts/imdsopts/fleet"
	"github.com/imdsopts/imdsopts/internal/awscli"
	"github.com/imdsopts/imdsopts/internal/check"
)

// The default of --min-imdsv1-free-days, the library's default window, and
// the largest value: CloudWatch keeps hourly datapoints for 455 days, so a
// longer window would pass on missing data.
const (
	defaultIMDSv1FreeDays = 14
	maxIMDSv1FreeDays     = 455
)

// fleetFlags are the options of plan and apply.
type fleetFlags struct {
	instanceIDs    []string
	filters        []types.Filter
	tags           map[string]string
	options        optionFlags
	freeDays       int64
	allowDowngrade bool
	// containerHopLimit is --container-hop-limit: 0 (off) or 2..64.
	containerHopLimit int32
	rollout           *rolloutFlags
	// apply only: --accept-irreversible, --journal FILE, --resume FILE.
	acceptIrreversible bool
	journal, resume    optString
}

// fleetListFlags take several values after the flag.
var fleetListFlags = map[string]bool{"instance-ids": true, "filters": true, "tags": true, "canary-tags": true}

func newFleetFlags() *fleetFlags {
	return &fleetFlags{tags: map[string]string{}, freeDays: defaultIMDSv1FreeDays, rollout: newRolloutFlags()}
}

// registerJournal registers the flags of apply's journal.
func (f *fleetFlags) registerJournal(fs *flag.FlagSet) {
	fs.BoolVar(&f.acceptIrreversible, "accept-irreversible", false, "change instances whose change could not be undone "+
		"(see Rollout); with --resume, go on when the account enforces IMDSv2 since")
	fs.Var(&f.journal, "journal", "`FILE` record the run in FILE, which must not exist yet (or be empty): one JSON object a line, "+
		"each written and synced before the run goes on: a header with the account, Region, options and waves; before each call the "+
		"instance's five options and the change; after it, the outcome. A record that cannot be written stops the run before its next "+
		"call (exit 255): nothing is changed that FILE does not record. FILE is locked while the run writes it. jq reads it: "+
		"jq -r 'select(.record == \"intent\") | .instance' FILE")
	fs.Var(&f.resume, "resume", "`FILE` finish the run FILE records, after it was interrupted (killed, Ctrl-C, a failed journal "+
		"write): the same instances, options, waves and rollout, with no instance changed twice (what EC2 reports of an instance "+
		"whose outcome FILE lacks decides), appending to FILE. The selection, option, rollout and --journal flags are refused with "+
		"it. A rollout that halted is not resumed: undo it, or plan again")
}

// register registers the flags of plan, and with apply those of apply.
func (f *fleetFlags) register(fs *flag.FlagSet, apply bool) {
	f.rollout.register(fs)
	if apply {
		f.registerJournal(fs)
	}
	f.registerSelection(fs)
	f.options.register(fs)
	f.registerSafety(fs)
}

// registerSelection registers the flags that select instances.
func (f *fleetFlags) registerSelection(fs *flag.FlagSet) {
	fs.Var(listFunc(func(s string) error {
		ids, err := parseInstanceIDs(s)
		f.instanceIDs = append(f.instanceIDs, ids...)
		return err
	}), "instance-ids", "`ID [ID ...]` instances by ID; several after the flag, or separated by commas, or a JSON list")
	fs.Var(listFunc(func(s string) error {
		filters, err := awscli.ParseFilters(s)
		f.filters = append(f.filters, filters...)
		return err
	}), "filters", "`FILTER [FILTER ...]` DescribeInstances filters, as the AWS CLI takes them: Name=NAME,Values=V1,V2 "+
		"(one filter an argument; quote a value holding a comma: Values=\"a,b\"), or JSON: {\"Name\":..,\"Values\":[..]} or "+
		"[{\"Name\":..,\"Values\":[..]}, ...]. The flag may be repeated. Without --instance-ids, terminated and shutting-down "+
		"instances are left out unless a filter names instance-state-name.")
	fs.Var(listFunc(addTag(f.tags)), "tags", "`KEY=VALUE [KEY=VALUE ...]` instances with tag KEY set to VALUE (the filter tag:KEY); "+
		"split at the first \"=\"")
}

// registerSafety registers the flags that hold or refuse changes.
func (f *fleetFlags) registerSafety(fs *flag.FlagSet) {
	fs.Func("min-imdsv1-free-days", "`N` the IMDSv1 gate: before --http-tokens required is applied to an instance, CloudWatch must "+
		"show no IMDSv1 call (metric MetadataNoToken) in the last N days, else the instance is held. An instance whose history cannot "+
		"be read is held too (default 14, at most 455; 0 turns the gate off: no CloudWatch call is made). CloudWatch is called with "+
		"the same Region, profile and credentials, and at --endpoint-url when it is given", func(s string) error {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 || n > maxIMDSv1FreeDays {
			return fmt.Errorf("must be a whole number of days, 0..%d (0 turns the IMDSv1 gate off)", maxIMDSv1FreeDays)
		}
		f.freeDays = n
		return nil
	})
	fs.BoolVar(&f.allowDowngrade, "allow-downgrade", false, "let weakening changes through (HttpTokens required to optional, "+
		"the endpoint or instance tags turned on); without it they are refused, instance by instance")
	fs.Func("container-hop-limit", "`N` the hop limit of container hosts (2 fixes them; default 0: off). A container is one "+
		"network hop further from IMDS than its instance: with tokens required and hop limit 1, its token requests get no answer, its "+
		"SDKs fall back to IMDSv1, and that is refused. A container host (tagged by EKS, Kubernetes, Karpenter or ECS, or launched "+
		"with user data of the EKS bootstrap script, nodeadm or the ECS agent, read from its launch template version or its group's "+
		"launch configuration) that a change would leave requiring tokens with a lower hop limit is held; with N, it gets hop limit N "+
		"in the same change instead (accepted, not a downgrade; the IMDSv1 gate still applies)", func(s string) error {
		n, err := strconv.ParseInt(s, 10, 32)
		if err != nil || n != 0 && (n < 2 || n > imdsopts.MaxHopLimit) {
			return fmt.Errorf("must be 0 (off) or 2..%d: a container host needs a hop limit of at least 2", imdsopts.MaxHopLimit)
		}
		f.containerHopLimit = int32(n)
		return nil
	})
}

// parseInstanceIDs parses one argument of --instance-ids: an ID, several
// separated by commas, or a JSON list of strings.
func parseInstanceIDs(s string) ([]string, error) {
	if strings.HasPrefix(strings.TrimSpace(s), "[") {
		var ids []string
		if err := awscli.DecodeInput([]byte(s), &ids); err != nil {
			return nil, fmt.Errorf("a JSON list of instance IDs: %w", err)
		}
		return ids, nil
	}
	ids := strings.Split(s, ",")
	for i := range ids {
		ids[i] = strings.TrimSpace(ids[i])
	}
	return ids, nil
}

// addTag returns the parser of a tag flag (--tags, --canary-tags) that adds
// each argument to tags. An argument is KEY=VALUE, split at the first "="
// (the value may hold more; it may be empty, the key may not); a key given
// again must have the same value, as an instance has one value per key.
func addTag(tags map[string]string) func(string) error {
	return func(s string) error {
		k, v, ok := strings.Cut(s, "=")
		if !ok || k == "" {
			return errors.New("must be KEY=VALUE")
		}
		if old, ok := tags[k]; ok && old != v {
			return fmt.Errorf("tag %s given twice, with %s and %s (an instance has one value per key)", check.Quote(k), check.Quote(old), check.Quote(v))
		}
		tags[k] = v
		return nil
	}
}

// fleetRun is a parsed plan or apply command line.
type fleetRun struct {
	printer *awscli.Printer
	sel     fleet.Selection
	set     imdsopts.Set
	flags   *fleetFlags
	// reversible is true when the run reads the account's enforcement of
	// IMDSv2, to tell which changes cannot be undone. Every apply and plan
	// does, so that one rule holds with a journal or rollout and without:
	// a one-way change is made only with --accept-irreversible. Given that
	// flag, a run that neither rolls back nor journals has nothing to
	// tell, and skips the read (an emulator may not serve it).
	reversible bool
}

// gateOptions sets the IMDSv1 gate (--min-imdsv1-free-days),
// --allow-downgrade and --container-hop-limit, as every fleet operation of
// the command line takes them.
func (r *fleetRun) gateOptions(o *fleet.Options) {
	o.AllowDowngrade = r.flags.allowDowngrade
	o.AcceptIrreversible = r.flags.acceptIrreversible
	o.ContainerHopLimit = r.flags.containerHopLimit
	if r.flags.freeDays == 0 {
		o.SkipIMDSv1Gate = true
	} else {
		o.IMDSv1Window = r.window()
	}
}

// parseFleet parses and checks the command line of plan or apply; done is
// true when nothing else is to be done (help, version).
func (a *app) parseFleet(name string, g *globals, args []string) (run *fleetRun, done bool, err error) {
	f := newFleetFlags()
	apply := name == "apply"
	probe := newFlagSet(name)
	newGlobals().register(probe)
	newFleetFlags().register(probe, apply)
	if len(args) == 0 || args[0] != "help" {
		if args, err = awscli.ExpandListArgs(probe, args, fleetListFlags); err != nil {
			return nil, true, &exitError{code: exitUsage, err: err}
		}
	}
	fs := newFlagSet(name)
	f.register(fs, apply)
	if done, err := a.parseSubcommand(name, g, fs, args, nil); done || err != nil {
		return nil, true, err
	}
	p, err := a.newPrinter(g)
	if err != nil {
		return nil, true, err
	}
	if f.resume.set {
		if err := checkResumeFlags(fs); err != nil {
			return nil, true, err
		}
		run = &fleetRun{printer: p, flags: f, reversible: true}
		skeleton := run.skeleton(true)
		if g.targets.active() {
			skeleton = run.acrossSkeleton(true)
		}
		if err := checkQuery(p, skeleton); err != nil {
			return nil, true, err
		}
		return run, false, nil
	}
	// Every bad value at once, each naming its flag.
	var bad []string
	for _, id := range f.instanceIDs {
		var ve *imdsopts.ValidationError
		if err := imdsopts.ValidateInstanceID(id); errors.As(err, &ve) {
			bad = append(bad, valueError("--instance-ids", ve.Value, ve.Rule))
		}
	}
	set, err := f.options.values().set(nil)
	if err != nil {
		bad = append(bad, err.Error())
	}
	if len(bad) > 0 {
		return nil, true, &exitError{code: exitUsage, err: errors.New(strings.Join(bad, moreErrors))}
	}
	if len(f.instanceIDs) == 0 && len(f.filters) == 0 && len(f.tags) == 0 {
		return nil, true, usageErrorf("one of --instance-ids, --filters or --tags is required (to select every instance, use --filters Name=instance-state-name,Values=pending,running,stopping,stopped)")
	}
	if set.IsZero() {
		return nil, true, usageErrorf("at least one of %s is required", optionFlagList)
	}
	if err := f.rollout.check(); err != nil {
		return nil, true, err
	}
	reversible := f.rollout.on() || f.journal.set || !f.acceptIrreversible
	run = &fleetRun{printer: p, set: set, flags: f, reversible: reversible,
		sel: fleet.Selection{InstanceIDs: f.instanceIDs, Filters: f.filters, Tags: f.tags}}
	skeleton := run.skeleton(apply)
	if g.targets.active() {
		skeleton = run.acrossSkeleton(apply)
	}
	if err := checkQuery(p, skeleton); err != nil {
		return nil, true, err
	}
	return run, false, nil
}

// checkResumeFlags refuses, with --resume, the flags that say what to
// change and how: a resumed run goes on with its journal's.
func checkResumeFlags(fs *flag.FlagSet) error {
	var err error
	fs.Visit(func(fl *flag.Flag) {
		switch fl.Name {
		case "instance-ids", "filters", "tags", "http-tokens", "http-put-response-hop-limit", "http-endpoint", "http-protocol-ipv6",
			"instance-metadata-tags", "canary", "canary-tags", "wave-growth", "max-wave", "bake", "check-every", "max-data-delay", "rollback", "journal":
			if err == nil {
				err = usageErrorf("--resume and --%s: a resumed run goes on with the selection, options and rollout its journal records, "+
					"appending to that journal; give only --resume FILE and the safety and output options", fl.Name)
			}
		}
	})
	return err
}

// gateOn reports whether the IMDSv1 gate reads CloudWatch: for a set that
// requires tokens, unless --min-imdsv1-free-days 0.
func (r *fleetRun) gateOn() bool {
	return r.flags.freeDays > 0 && r.set.HTTPTokens() == types.HttpTokensStateRequired
}

// watched reports whether a rollout watches the rejected IMDSv1 calls of
// the instances it changes: those of a set that requires tokens.
func (r *fleetRun) watched() bool {
	return r.flags.rollout.on() && r.set.HTTPTokens() == types.HttpTokensStateRequired
}

// window is the gate's window, as the library takes it.
func (r *fleetRun) window() time.Duration {
	return time.Duration(r.flags.freeDays) * 24 * time.Hour
}

// fleetClients builds the EC2 client, and the CloudWatch client when the
// IMDSv1 gate or a rollout's watch reads it (watched: a change requiring
// tokens is rolled out). With reversible, the EC2 client reads the account's
// enforcement too.
func (a *app) fleetClients(ctx context.Context, g *globals, r *fleetRun, watched bool) (API, []func(*fleet.Options), error) {
	api, err := a.client(ctx, g)
	if err != nil {
		return nil, nil, err
	}
	as := a.lazyAutoScaling(ctx, g)
	opts := []func(*fleet.Options){func(o *fleet.Options) {
		r.gateOptions(o)
		o.AutoScaling = as
		if r.reversible {
			o.Enforcement = api
		}
	}}
	if r.gateOn() || watched {
		metrics, err := a.metrics(ctx, g)
		if err != nil {
			return nil, nil, err
		}
		opts = append(opts, func(o *fleet.Options) { o.Metrics = metrics })
	}
	return api, opts, nil
}

// plan prints what apply would do, changing nothing.
func (a *app) plan(ctx context.Context, g *globals, args []string) error {
	return a.fleet(ctx, g, "plan", args)
}

// apply plans, then applies the plan, and prints the report. When ctx ends
// (Ctrl-C), the report so far is printed before the command exits 130.
func (a *app) apply(ctx context.Context, g *globals, args []string) error {
	return a.fleet(ctx, g, "apply", args)
}

// fleet runs the subcommand name, "plan" or "apply": both make the plan.
// Once the plan is made, it or the report is printed whatever happens next;
// the failure that ends the run comes first in the error it returns, as it
// decides the exit status.
func (a *app) fleet(ctx context.Context, g *globals, name string, args []string) error {
	r, done, err := a.parseFleet(name, g, args)
	if done || err != nil {
		return err
	}
	if g.targets.active() {
		return a.fleetAcross(ctx, g, name, r)
	}
	if r.flags.resume.set {
		return a.resume(ctx, g, r)
	}
	var jf *journalFile
	if r.flags.journal.set {
		if jf, err = a.openNewJournal(r.flags.journal.value); err != nil {
			return err
		}
		defer jf.close()
	}
	api, opts, err := a.fleetClients(ctx, g, r, r.watched())
	if err != nil {
		return err
	}
	if jf != nil {
		region, err := a.region(ctx, g, a.stderr)
		if err != nil {
			return err
		}
		a.runRegion = region
		opts = append(opts, func(o *fleet.Options) { o.Journal, o.Region = jf.w, region })
	}
	rollout := r.flags.rollout.rollout(a.prog.wave)
	opts = append(opts, func(o *fleet.Options) { o.Rollout = rollout })
	start := time.Now()
	plan, err := fleet.NewPlan(ctx, api, r.sel, r.set, opts...)
	if err != nil {
		return err
	}
	if len(plan.Items) == 0 {
		a.noteNoMatch(r, "")
	}
	if name == "plan" || len(plan.Irreversible) > 0 && !r.flags.acceptIrreversible {
		out := r.output("fleet.NewPlan", plan.Items, plan.Calls, nil, time.Since(start), r.planTable(plan))
		r.addPlan(out, plan)
		perr := a.print(r.printer, out)
		if name == "apply" {
			// Nothing was changed, and the journal holds nothing.
			return joinFailures(irreversibleError(plan.Irreversible, "--accept-irreversible"), perr)
		}
		a.noteIrreversible(plan.Irreversible)
		return joinFailures(r.outcome(plan.Items), perr)
	}
	a.prog.fleet(len(plan.Items))
	if rollout != nil {
		a.prog.rollout(waveSizes(plan.Items), rollout.Bake)
	}
	opts = append(opts, func(o *fleet.Options) { o.OnProgress = a.prog.item })
	report, applyErr := fleet.Apply(ctx, api, plan, opts...)
	a.prog.finish(true)
	if report == nil {
		return applyErr
	}
	calls := map[string]int{}
	for _, m := range []map[string]int{plan.Calls, report.Calls} {
		for op, n := range m {
			calls[op] += n
		}
	}
	out := r.reportOutput("fleet.Apply", report, calls, time.Since(start))
	if r.reversible {
		r.addIrreversible(out, plan.Irreversible)
	}
	perr := a.print(r.printer, out)
	return a.finishRun(ctx, r, jf, report, applyErr, perr)
}

// finishRun tells stderr what a run of apply or apply --resume left to do,
// and returns the error that ends it: the run's own, else the outcome of
// its instances, then perr (the output could not be printed as asked).
func (a *app) finishRun(ctx context.Context, r *fleetRun, jf *journalFile, report *fleet.Report, runErr, perr error) error {
	a.noteRollout(report)
	a.noteJournal(ctx, jf, runErr)
	if runErr != nil {
		return joinFailures(runError(runErr), perr)
	}
	a.noteKeptBack(report.Items)
	return joinFailures(r.outcome(report.Items), perr)
}

// runError gives the error that stopped a run its exit status: a rollout
// that halted because instances rejected IMDSv1 calls exits 254, as
// CloudWatch's answer (MetadataNoTokenRejected) says the change broke
// them; one halted because those calls could not be measured exits as the
// measurement's failure does (254 for an error of the service, else 255).
// Other errors keep theirs.
func runError(err error) error {
	if !errors.Is(err, fleet.ErrRolloutHalted) {
		return err
	}
	code := exitService
	if errors.Is(err, fleet.ErrIMDSv1Unknown) && !serviceFailure(err) {
		code = exitOther
	}
	return &exitError{code: code, err: err}
}

// irreversibleError refuses to change instances whose change the account's
// enforcement of IMDSv2 makes one-way (exit 254: the account's setting, as
// EC2 answers it, stops the run). flagName is the flag that accepts them.
func irreversibleError(ids []string, flagName string) error {
	return &exitError{code: exitService, err: fmt.Errorf("%d instance(s) would be changed for good (%s): the account enforces IMDSv2 "+
		"(HttpTokensEnforced enabled), so EC2 refuses to make HttpTokens optional again, and neither a rollback nor undo could restore them; "+
		"nothing was changed: give %s to change them anyway", len(ids), idList(ids), flagName)}
}

// noteNoMatch tells stderr that the selection matched no instance, where
// (" in any of 3 targets"): the output's header alone, and exit 0, would
// read as work done.
func (a *app) noteNoMatch(r *fleetRun, where string) {
	var given []string
	if len(r.flags.instanceIDs) > 0 {
		given = append(given, "--instance-ids")
	}
	if len(r.flags.filters) > 0 {
		given = append(given, "--filters")
	}
	if len(r.flags.tags) > 0 {
		given = append(given, "--tags")
	}
	a.note("imdsopts: note: no instance matches %s%s: nothing to change", strings.Join(given, " and "), where)
}

// noteIrreversible tells stderr of the changes a plan lists as one-way.
func (a *app) noteIrreversible(ids []string) {
	if len(ids) > 0 {
		a.note("imdsopts: note: %d instance(s) could not be changed back once changed (%s): the account enforces IMDSv2; "+
			"apply changes them only with --accept-irreversible", len(ids), idList(ids))
	}
}

// noteRollout tells stderr what a rollout that halted did about it.
func (a *app) noteRollout(report *fleet.Report) {
	n := len(report.Waves)
	if n == 0 || report.Waves[n-1].Err == nil || !errors.Is(report.Waves[n-1].Err, fleet.ErrRolloutHalted) {
		return
	}
	counts := report.Counts()
	a.note("imdsopts: the rollout halted at wave %d: %d instance(s) rolled back, %d left to a person (see %s), %d not attempted",
		report.Waves[n-1].Wave, counts[fleet.StatusRolledBack], counts[fleet.StatusNeedsPerson], a.field("Error", "the NOTE column"), counts[fleet.StatusNotAttempted])
}

// idList names up to 5 instances.
func idList(ids []string) string {
	if len(ids) > 5 {
		return strings.Join(ids[:5], ", ") + ", ..."
	}
	return strings.Join(ids, ", ")
}

// noteKeptBack tells stderr about instances left unchanged on purpose, and
// those whose change applies when they start.
func (a *app) noteKeptBack(items []fleet.Item) {
	var held, containers, refused, cannot int
	var stopped []string
	for _, it := range items {
		switch {
		case it.Status == fleet.StatusHeld && errors.Is(it.Err, fleet.ErrContainerHopLimit):
			containers++
		case it.Status == fleet.StatusHeld && !heldUnknown(it):
			held++
		case it.Status == fleet.StatusRefused:
			refused++
		case it.Status == fleet.StatusCannotApply:
			cannot++
		case it.Status == fleet.StatusPendingStart:
			stopped = append(stopped, it.InstanceID)
		}
	}
	if held > 0 {
		a.note("imdsopts: %d instance(s) held by the IMDSv1 gate, not changed (see %s)", held, a.field("Error", "the NOTE column"))
	}
	if containers > 0 {
		a.note("imdsopts: %d container host(s) held, not changed: with tokens required and hop limit 1 their containers cannot reach IMDS; "+
			"--container-hop-limit 2 gives them hop limit 2 in the same change (see their Container and Error)", containers)
	}
	if cannot > 0 {
		a.note("imdsopts: %d instance(s) not changed: EC2 would refuse the change as it is (see %s)", cannot, a.field("Error", "the NOTE column"))
	}
	if refused > 0 {
		a.note("imdsopts: %d instance(s) not downgraded without --allow-downgrade (see %s)", refused, a.field("Downgrade", "the NOTE column"))
	}
	if len(stopped) > 0 {
		a.note("%s", stoppedNote(stopped))
	}
}

// heldUnknown reports whether the IMDSv1 gate held the instance because its
// IMDSv1 use could not be read, rather than because it used IMDSv1.
func heldUnknown(it fleet.Item) bool {
	return it.Status == fleet.StatusHeld && errors.Is(it.Err, fleet.ErrIMDSv1Unknown)
}

// outcome is the exit rule of plan, apply and undo, after the output is
// printed. An instance is not done when its status is failed,
// not-attempted or needs-person, or when the IMDSv1 gate held it because
// its IMDSv1 use could not be read (not because it used IMDSv1). All done:
// nil, exit 0 (applied, satisfied, pending-until-start, refused-downgrade,
// held for IMDSv1 use and rolled-back are outcomes, reported in the
// output). Otherwise an error that counts each kind, exit 254 when any of
// them is an answer of the service (an API error, an instance EC2 does not
// know or that is terminated) or needs a person (EC2 reports options that
// must not be overwritten, or refuses the restore), else 255 (timed out
// waiting, connection failed).
func (r *fleetRun) outcome(items []fleet.Item) error {
	kinds := []struct {
		what string
		is   func(fleet.Item) bool
		n    int
	}{
		{what: "failed", is: func(it fleet.Item) bool { return it.Status == fleet.StatusFailed }},
		{what: "changed, not yet seen applied", is: func(it fleet.Item) bool {
			return it.Status == fleet.StatusUnconfirmed
		}},
		{what: "not attempted", is: func(it fleet.Item) bool { return it.Status == fleet.StatusNotAttempted }},
		{what: "held: IMDSv1 use unknown", is: heldUnknown},
		{what: "cannot be changed as they are (EC2 would refuse it)", is: func(it fleet.Item) bool {
			return it.Status == fleet.StatusCannotApply
		}},
		{what: "left to a person", is: func(it fleet.Item) bool { return it.Status == fleet.StatusNeedsPerson }},
	}
	var first error
	service := false
	for _, it := range items {
		for i := range kinds {
			if !kinds[i].is(it) {
				continue
			}
			kinds[i].n++
			if first == nil {
				first = it.Err
			}
			// EC2's rules refuse a change that cannot be applied: exit as
			// their answer would.
			service = service || serviceFailure(it.Err) || it.Status == fleet.StatusNeedsPerson || it.Status == fleet.StatusCannotApply
		}
	}
	var parts []string
	for _, k := range kinds {
		if k.n > 0 {
			parts = append(parts, fmt.Sprintf("%d of %d instance(s) %s", k.n, len(items), k.what))
		}
	}
	if len(parts) == 0 {
		return nil
	}
	msg := strings.Join(parts, "; ")
	if first != nil {
		msg += "; first: " + r.errText(first)
	}
	code := exitOther
	if service {
		code = exitService
	}
	return &exitError{code: code, err: errors.New(msg)}
}

func serviceFailure(err error) bool {
	var apiErr smithy.APIError
	var status httpStatusError
	return errors.As(err, &apiErr) || errors.As(err, &status) && status.HTTPStatusCode() > 0 ||
		errors.Is(err, imdsopts.ErrInstanceNotFound) || errors.Is(err, imdsopts.ErrInstanceTerminated)
}

// errText is an item's error as the command prints it: without the
// library's prefixes (also of the errors it wraps), and with the gate's
// window in days, as it was given.
func (r *fleetRun) errText(err error) string {
	return r.inDays(optionFlagNames.Replace(strings.ReplaceAll(strings.TrimPrefix(err.Error(), "imdsopts: "), ": imdsopts: ", ": ")))
}

// optionFlagNames names the library's options and functions in its
// messages as the flags and subcommands that use them. (The longer of two
// phrases that begin alike comes first: it is the one replaced.)
var optionFlagNames = strings.NewReplacer("(fleet.Options.ContainerHopLimit)", "(--container-hop-limit 2)",
	"(ContainerHopLimit)", "(--container-hop-limit)", "(allow it with AllowDowngrade)", "(allow it with --allow-downgrade)",
	"needs AllowDowngrade", "needs --allow-downgrade", "(PlanTemplates, ApplyTemplates)", "(imdsopts templates plan, then templates apply)",
	"(PlanTemplates with MakeDefault)", "(imdsopts templates plan --make-default, then templates apply)",
	"(PlanTemplates)", "(imdsopts templates plan, then templates apply)", "(MakeDefault)", "(--make-default)")

// inDays writes the gate's window in s in days ("14 days"), as
// --min-imdsv1-free-days gives it, not as a Duration ("336h0m0s").
func (r *fleetRun) inDays(s string) string {
	if r.flags.freeDays == 0 {
		return s
	}
	days := fmt.Sprintf("%d days", r.flags.freeDays)
	if r.flags.freeDays == 1 {
		days = "1 day"
	}
	return strings.ReplaceAll(s, r.window().String(), days)
}

// output is the output of plan (throttled nil) and apply: the items, the
// count of each status (all of them, zeros included), the API calls by
// operation, and the time taken. Its text format without --query is the
// library's table, table().
func (r *fleetRun) output(title string, items []fleet.Item, calls map[string]int, throttled *int, elapsed time.Duration, table func() string) output {
	list := make([]any, 0, len(items))
	counts := map[string]any{}
	for _, s := range fleet.Statuses() {
		counts[s.String()] = 0.0
	}
	for _, it := range items {
		list = append(list, r.itemDoc(it))
		counts[it.Status.String()] = counts[it.Status.String()].(float64) + 1
	}
	callDoc := map[string]any{}
	for op, n := range calls {
		callDoc[op] = float64(n)
	}
	doc := map[string]any{
		"Items":          list,
		"Counts":         counts,
		"Calls":          callDoc,
		"ElapsedSeconds": math.Round(elapsed.Seconds()*1000) / 1000,
	}
	if throttled != nil {
		doc["Throttled"] = float64(*throttled)
	}
	text := func() []byte {
		// The table holds the service's messages: made safe for a terminal
		// as the other formats are.
		return []byte(awscli.Sanitize(r.inDays(optionFlagNames.Replace(table()))))
	}
	return output{title: title, doc: doc, text: text}
}

// itemDoc is one instance of the output; Downgrade, Error, InstanceState,
// MetadataOptions, IMDSv1Calls when the gate did not read it, Wave without
// a rollout and RejectedCalls when no rollout measured them, are left out.
func (r *fleetRun) itemDoc(it fleet.Item) map[string]any {
	doc := map[string]any{
		"InstanceId": it.InstanceID,
		"Status":     it.Status.String(),
		"Changes":    setDoc(it.Changes),
	}
	if it.IMDSv1Calls != nil { // left out when the gate did not measure it
		doc["IMDSv1Calls"] = *it.IMDSv1Calls
	}
	if it.Wave > 0 { // left out without a rollout
		doc["Wave"] = float64(it.Wave)
	}
	if it.RejectedCalls != nil { // left out when no rollout measured it
		doc["RejectedCalls"] = *it.RejectedCalls
	}
	if it.InstanceState != "" {
		doc["InstanceState"] = string(it.InstanceState)
	}
	if !it.Downgrade.IsZero() {
		doc["Downgrade"] = setDoc(it.Downgrade)
	}
	if it.Err != nil {
		doc["Error"] = r.errText(it.Err)
	}
	if it.Options != nil {
		doc["MetadataOptions"] = optionsDoc(nil, it.Options)["InstanceMetadataOptions"]
	}
	if it.Owner != nil {
		doc["Owner"] = map[string]any{"Kind": it.Owner.Kind, "Name": it.Owner.Name, "Fix": optionFlagNames.Replace(it.Owner.Fix)}
	}
	if it.Container != "" {
		doc["Container"] = it.Container
	}
	return doc
}

// ownersText lists the owners of items after a table of them, as the
// library's tables do: each with its instances and where the lasting fix
// goes; "" when none has an owner.
func ownersText(items []fleet.Item) string {
	count := map[fleet.Owner]int{}
	for _, it := range items {
		if it.Owner != nil {
			count[*it.Owner]++
		}
	}
	if len(count) == 0 {
		return ""
	}
	owners := slices.SortedFunc(maps.Keys(count), func(x, y fleet.Owner) int {
		return cmp.Or(strings.Compare(x.Kind, y.Kind), strings.Compare(x.Name, y.Name))
	})
	var b strings.Builder
	b.WriteString("\nOwners (a change made in place is undone when the owner replaces or updates the instance; the lasting fix goes where each says):\n")
	for _, o := range owners {
		fmt.Fprintf(&b, "  %s %s (%s): %s\n", o.Kind, o.Name, countOf(count[o], "instance"), optionFlagNames.Replace(o.Fix))
	}
	return b.String()
}

// table returns the table write writes, for --output text.
func table(write func(io.Writer) error) string {
	var b strings.Builder
	if err := write(&b); err != nil {
		return err.Error()
	}
	return b.String()
}

// skeleton is the output of plan (or apply) with every field present, for
// checkQuery.
func (r *fleetRun) skeleton(apply bool) any {
	changes, _ := imdsopts.New(imdsopts.HTTPTokens(types.HttpTokensStateRequired), imdsopts.HopLimit(2),
		imdsopts.HTTPEndpoint(types.InstanceMetadataEndpointStateEnabled), imdsopts.HTTPProtocolIPv6(types.InstanceMetadataProtocolStateEnabled),
		imdsopts.InstanceMetadataTags(types.InstanceMetadataTagsStateEnabled))
	item := fleet.Item{InstanceID: "i-0123456789abcdef0", InstanceState: types.InstanceStateNameRunning,
		Options: fullOptions, Changes: changes, Downgrade: changes, IMDSv1Calls: new(float64), Wave: 1, RejectedCalls: new(float64),
		Owner: &fleet.Owner{Kind: "auto-scaling", Name: "web", Fix: "the fix"}, Container: "tag eks:cluster-name",
		Status: fleet.StatusChange, Err: errors.New("the reason")}
	full := r.itemDoc(item)
	calls := map[string]int{"DescribeInstances": 1, "GetMetricData": 1, "GetInstanceMetadataDefaults": 1}
	var throttled *int
	if apply {
		calls["ModifyInstanceMetadataOptions"] = 1
		throttled = new(int)
	}
	out := r.output("", nil, calls, throttled, time.Second, nil)
	out.doc.(map[string]any)["Items"] = []any{full}
	r.addIrreversible(out, []string{item.InstanceID})
	if apply {
		now := time.Now()
		out.doc.(map[string]any)["Waves"] = wavesDoc([]fleet.WaveReport{{Wave: 1, Instances: 1, Started: now, Ended: now,
			Watched: 1, Rejected: 1, Err: fleet.ErrRolloutHalted}})
	} else {
		out.doc.(map[string]any)["Waves"] = planWavesDoc([]fleet.Item{item})
	}
	return out.doc
}

// reportOutput is the output of a run of apply, apply --resume or undo,
// with the rollout's columns and waves when it had one.
func (r *fleetRun) reportOutput(title string, report *fleet.Report, calls map[string]int, elapsed time.Duration) output {
	text := func() string { return table(report.WriteTable) }
	if rolledOut(report.Items) || report.Waves != nil {
		text = func() string {
			return table(func(w io.Writer) error { return writeRolloutTable(w, report.Items, report.Waves) })
		}
	}
	throttled := report.Throttled
	out := r.output(title, report.Items, calls, &throttled, elapsed, text)
	if report.Waves != nil || rolledOut(report.Items) {
		out.doc.(map[string]any)["Waves"] = wavesDoc(report.Waves)
	}
	return out
}

// planTable is the text of a plan: the library's table, with the waves of
// a rollout.
func (r *fleetRun) planTable(plan *fleet.Plan) func() string {
	if rolledOut(plan.Items) {
		return func() string {
			return table(func(w io.Writer) error { return writeRolloutTable(w, plan.Items, nil) })
		}
	}
	return func() string { return table(plan.WriteTable) }
}

// addPlan adds to a plan's output the sizes of a rollout's waves, and the
// instances whose change could not be undone when the run read the
// account's enforcement.
func (r *fleetRun) addPlan(out output, plan *fleet.Plan) {
	if rolledOut(plan.Items) {
		out.doc.(map[string]any)["Waves"] = planWavesDoc(plan.Items)
	}
	if r.reversible {
		r.addIrreversible(out, plan.Irreversible)
	}
}

// addIrreversible adds Irreversible to out: the instances whose change the
// account's enforcement of IMDSv2 makes one-way; an empty list when none.
func (r *fleetRun) addIrreversible(out output, ids []string) {
	list := make([]any, 0, len(ids))
	for _, id := range ids {
		list = append(list, id)
	}
	out.doc.(map[string]any)["Irreversible"] = list
}

// setDoc is a Set with EC2's field names, only the fields it holds.
func setDoc(s imdsopts.Set) map[string]any {
	doc := map[string]any{}
	put := func(k, v string) {
		if v != "" {
			doc[k] = v
		}
	}
	put("HttpTokens", string(s.HTTPTokens()))
	if s.HopLimit() != 0 {
		doc["HttpPutResponseHopLimit"] = float64(s.HopLimit())
	}
	put("HttpEndpoint", string(s.HTTPEndpoint()))
	put("HttpProtocolIpv6", string(s.HTTPProtocolIPv6()))
	put("InstanceMetadataTags", string(s.InstanceMetadataTags()))
	return doc
}

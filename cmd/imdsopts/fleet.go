package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"

	"github.com/imdsopts/imdsopts"
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
}

// fleetListFlags take several values after the flag.
var fleetListFlags = map[string]bool{"instance-ids": true, "filters": true, "tags": true}

func newFleetFlags() *fleetFlags {
	return &fleetFlags{tags: map[string]string{}, freeDays: defaultIMDSv1FreeDays}
}

func (f *fleetFlags) register(fs *flag.FlagSet) {
	fs.Func("instance-ids", "", func(s string) error {
		ids, err := parseInstanceIDs(s)
		f.instanceIDs = append(f.instanceIDs, ids...)
		return err
	})
	fs.Func("filters", "", func(s string) error {
		filters, err := parseFilters(s)
		f.filters = append(f.filters, filters...)
		return err
	})
	fs.Func("tags", "", func(s string) error {
		k, v, err := parseTag(s)
		if err != nil {
			return err
		}
		if old, ok := f.tags[k]; ok && old != v {
			return fmt.Errorf("tag %q given twice, with %q and %q (an instance has one value per key)", k, old, v)
		}
		f.tags[k] = v
		return nil
	})
	f.options.register(fs)
	fs.Func("min-imdsv1-free-days", "", func(s string) error {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 || n > maxIMDSv1FreeDays {
			return fmt.Errorf("must be a whole number of days, 0..%d (0 turns the IMDSv1 gate off)", maxIMDSv1FreeDays)
		}
		f.freeDays = n
		return nil
	})
	fs.BoolVar(&f.allowDowngrade, "allow-downgrade", false, "")
}

// fleetRun is a parsed plan or apply command line.
type fleetRun struct {
	printer *printer
	sel     imdsopts.Selection
	set     imdsopts.Set
	flags   *fleetFlags
}

// parseFleet parses and checks the command line of plan or apply; done is
// true when nothing else is to be done (help, version).
func (a *app) parseFleet(name string, g *globals, args []string) (run *fleetRun, done bool, err error) {
	f := newFleetFlags()
	probe := newFlagSet(name)
	newGlobals().register(probe)
	f.register(probe)
	if len(args) == 0 || args[0] != "help" {
		if args, err = expandListArgs(probe, args, fleetListFlags); err != nil {
			return nil, true, err
		}
	}
	fs := newFlagSet(name)
	f.register(fs)
	if done, err := a.parseSubcommand(name, g, fs, args, nil); done || err != nil {
		return nil, true, err
	}
	p, err := newPrinter(g, a.getenv, a.stdout)
	if err != nil {
		return nil, true, err
	}
	// Every bad value at once, each naming its flag.
	var bad []string
	for _, id := range f.instanceIDs {
		var ve *imdsopts.ValidationError
		if err := imdsopts.ValidateInstanceID(id); errors.As(err, &ve) {
			bad = append(bad, fmtValueError("--instance-ids", ve.Value, ve.Rule))
		}
	}
	o := &f.options
	req := &request{hop: optIntPtr(&o.hop), tokens: optStringPtr(&o.tokens), endpoint: optStringPtr(&o.endpoint),
		ipv6: optStringPtr(&o.ipv6), tags: optStringPtr(&o.tags)}
	set, err := req.optionSet()
	if err != nil {
		bad = append(bad, err.Error())
	}
	if len(bad) > 0 {
		return nil, true, &exitError{code: exitUsage, err: errors.New(strings.Join(bad, "\nimdsopts: error: "))}
	}
	if len(f.instanceIDs) == 0 && len(f.filters) == 0 && len(f.tags) == 0 {
		return nil, true, usageErrorf("one of --instance-ids, --filters or --tags is required (to select every instance, use --filters Name=instance-state-name,Values=pending,running,stopping,stopped)")
	}
	if set.IsZero() {
		return nil, true, usageErrorf("at least one of --http-tokens, --http-put-response-hop-limit, --http-endpoint, --http-protocol-ipv6, --instance-metadata-tags is required")
	}
	run = &fleetRun{printer: p, set: set, flags: f,
		sel: imdsopts.Selection{InstanceIDs: f.instanceIDs, Filters: f.filters, Tags: f.tags}}
	return run, false, nil
}

func optStringPtr(o *optString) *string {
	if !o.set {
		return nil
	}
	v := o.value
	return &v
}

func optIntPtr(o *optInt) *int64 {
	if !o.set {
		return nil
	}
	v := o.value
	return &v
}

// fleetClients builds the EC2 client, and the CloudWatch client when the IMDSv1
// gate will read it: the set requires tokens and the gate is on.
func (a *app) fleetClients(ctx context.Context, g *globals, r *fleetRun) (API, []func(*imdsopts.FleetOptions), error) {
	api, err := a.newAPI(ctx, g, a.stderr)
	if err != nil {
		return nil, nil, err
	}
	opts := []func(*imdsopts.FleetOptions){func(o *imdsopts.FleetOptions) {
		o.AllowDowngrade = r.flags.allowDowngrade
		if r.flags.freeDays == 0 {
			o.SkipIMDSv1Gate = true
		} else {
			o.IMDSv1Window = time.Duration(r.flags.freeDays) * 24 * time.Hour
		}
	}}
	if r.flags.freeDays > 0 && r.set.HTTPTokens() == types.HttpTokensStateRequired {
		metrics, err := a.newMetrics(ctx, g, a.stderr)
		if err != nil {
			return nil, nil, err
		}
		opts = append(opts, func(o *imdsopts.FleetOptions) { o.Metrics = metrics })
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
func (a *app) fleet(ctx context.Context, g *globals, name string, args []string) error {
	r, done, err := a.parseFleet(name, g, args)
	if done || err != nil {
		return err
	}
	api, opts, err := a.fleetClients(ctx, g, r)
	if err != nil {
		return err
	}
	start := time.Now()
	plan, err := imdsopts.PlanFleet(ctx, api, r.sel, r.set, opts...)
	if err != nil {
		return err
	}
	if name == "plan" {
		doc := fleetDoc(plan.Items, plan.Calls, nil, time.Since(start))
		if err := r.printer.printFleet(a.stdout, "PlanFleet", doc, plan.WriteTable); err != nil {
			return err
		}
		return fleetOutcome(plan.Items)
	}
	var prog *progress
	if a.stderrTTY {
		prog = newProgress(a.stderr, len(plan.Items))
		opts = append(opts, func(o *imdsopts.FleetOptions) { o.OnProgress = prog.item })
	}
	report, applyErr := imdsopts.ApplyFleet(ctx, api, plan, opts...)
	prog.finish()
	if report == nil {
		return applyErr
	}
	calls := map[string]int{}
	for _, m := range []map[string]int{plan.Calls, report.Calls} {
		for op, n := range m {
			calls[op] += n
		}
	}
	throttled := report.Throttled
	doc := fleetDoc(report.Items, calls, &throttled, time.Since(start))
	if err := r.printer.printFleet(a.stdout, "ApplyFleet", doc, report.WriteTable); err != nil {
		return err
	}
	if applyErr != nil {
		return applyErr
	}
	a.noteKeptBack(report.Items)
	return fleetOutcome(report.Items)
}

// noteKeptBack tells stderr about instances left unchanged on purpose.
func (a *app) noteKeptBack(items []imdsopts.FleetItem) {
	var held, refused int
	for _, it := range items {
		switch it.Status {
		case imdsopts.StatusHeld:
			held++
		case imdsopts.StatusRefused:
			refused++
		}
	}
	if held > 0 {
		fmt.Fprintf(a.stderr, "imdsopts: %d instance(s) held by the IMDSv1 gate, not changed (see their Error)\n", held)
	}
	if refused > 0 {
		fmt.Fprintf(a.stderr, "imdsopts: %d instance(s) not downgraded without --allow-downgrade (see their Downgrade)\n", refused)
	}
}

// fleetOutcome is the exit rule of plan and apply, after the output is
// printed. An instance counts as failed when its status is failed or
// not-attempted, or when the IMDSv1 gate held it because its IMDSv1 use
// could not be read (not because it used IMDSv1). No failure: exit 0
// (applied, satisfied, pending-until-start, refused-downgrade and held for
// IMDSv1 use are outcomes, reported in the output). Otherwise exit 254 when
// any failure is an answer of the service (an API error, an instance EC2
// does not know or that is terminated), else 255 (timed out waiting,
// connection failed).
func fleetOutcome(items []imdsopts.FleetItem) error {
	var failed, service int
	var first error
	for _, it := range items {
		if !failedItem(it) {
			continue
		}
		failed++
		if first == nil {
			first = it.Err
		}
		if serviceFailure(it.Err) {
			service++
		}
	}
	if failed == 0 {
		return nil
	}
	code := exitOther
	if service > 0 {
		code = exitService
	}
	msg := fmt.Sprintf("%d of %d instance(s) failed", failed, len(items))
	if first != nil {
		msg += "; first: " + strings.TrimPrefix(first.Error(), "imdsopts: ")
	}
	return &exitError{code: code, err: errors.New(msg)}
}

func failedItem(it imdsopts.FleetItem) bool {
	switch it.Status {
	case imdsopts.StatusFailed, imdsopts.StatusNotAttempted:
		return true
	case imdsopts.StatusHeld:
		return !errors.Is(it.Err, imdsopts.ErrIMDSv1InUse)
	}
	return false
}

func serviceFailure(err error) bool {
	var apiErr smithy.APIError
	var status httpStatusError
	return errors.As(err, &apiErr) || errors.As(err, &status) && status.HTTPStatusCode() > 0 ||
		errors.Is(err, imdsopts.ErrInstanceNotFound) || errors.Is(err, imdsopts.ErrInstanceTerminated)
}

// allStatuses are the statuses of fleet items, in the library's order.
var allStatuses = []imdsopts.Status{
	imdsopts.StatusChange, imdsopts.StatusApplied, imdsopts.StatusSatisfied, imdsopts.StatusHeld,
	imdsopts.StatusPendingStart, imdsopts.StatusRefused, imdsopts.StatusFailed, imdsopts.StatusNotAttempted,
}

// fleetDoc is the output of plan (throttled nil) and apply: the items, the
// count of each status (all of them, zeros included), the API calls by
// operation, and the time taken.
func fleetDoc(items []imdsopts.FleetItem, calls map[string]int, throttled *int, elapsed time.Duration) map[string]any {
	list := make([]any, 0, len(items))
	counts := map[string]any{}
	for _, s := range allStatuses {
		counts[s.String()] = 0.0
	}
	for _, it := range items {
		list = append(list, itemDoc(it))
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
	return doc
}

// itemDoc is one instance of the output; Downgrade, Error, InstanceState
// and MetadataOptions are left out when empty.
func itemDoc(it imdsopts.FleetItem) map[string]any {
	doc := map[string]any{
		"InstanceId": it.InstanceID,
		"Status":     it.Status.String(),
		"Changes":    setDoc(it.Changes),
	}
	if it.IMDSv1Calls != nil {
		doc["IMDSv1Calls"] = *it.IMDSv1Calls
	}
	if it.InstanceState != "" {
		doc["InstanceState"] = string(it.InstanceState)
	}
	if !it.Downgrade.IsZero() {
		doc["Downgrade"] = setDoc(it.Downgrade)
	}
	if it.Err != nil {
		doc["Error"] = strings.TrimPrefix(it.Err.Error(), "imdsopts: ")
	}
	if it.Options != nil {
		doc["MetadataOptions"] = optionsDoc(nil, it.Options)["InstanceMetadataOptions"]
	}
	return doc
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

// printFleet prints a plan or report: --output text without --query is the
// library's table, one instance a line; anything else goes through print.
func (p *printer) printFleet(w io.Writer, title string, doc map[string]any, table func(io.Writer) error) error {
	if p.format == "text" && p.query == nil {
		return table(w)
	}
	return p.print(w, title, doc)
}

// progress is the line apply keeps up to date on a terminal's stderr:
// instances done of all, and the count of each final status so far.
type progress struct {
	w      io.Writer
	total  int
	done   int
	counts map[imdsopts.Status]int
	last   time.Time
	wrote  bool
}

// progressEvery bounds how often the line is redrawn.
const progressEvery = 100 * time.Millisecond

func newProgress(w io.Writer, total int) *progress {
	return &progress{w: w, total: total, counts: map[imdsopts.Status]int{}}
}

// item takes one instance's final outcome; ApplyFleet calls it from one
// goroutine at a time.
func (p *progress) item(it imdsopts.FleetItem) {
	p.done++
	p.counts[it.Status]++
	if now := time.Now(); p.done == p.total || now.Sub(p.last) >= progressEvery {
		p.last = now
		p.draw()
	}
}

func (p *progress) draw() {
	var b strings.Builder
	width := len(strconv.Itoa(p.total))
	fmt.Fprintf(&b, "\r  %*d/%d", width, p.done, p.total)
	for _, s := range allStatuses {
		if n := p.counts[s]; n > 0 {
			fmt.Fprintf(&b, " %s %d", s, n)
		}
	}
	io.WriteString(p.w, b.String())
	p.wrote = true
}

// finish ends the line; a nil progress does nothing.
func (p *progress) finish() {
	if p == nil {
		return
	}
	if p.done < p.total || !p.wrote {
		p.draw()
	}
	io.WriteString(p.w, "\n")
}

package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/imdsopts/imdsopts/account"
	"github.com/imdsopts/imdsopts/fleet"
	"github.com/imdsopts/imdsopts/org"
)

// Rollouts and journals across targets. With the target flags, apply
// --journal DIR writes one journal a target in the directory DIR
// (org.JournalDir, files named ACCOUNT-REGION.jsonl), and apply
// --resume DIR and undo DIR go on from them, each target with its own
// journal, which the library checks against the target's account and
// Region: a journal that cannot be read, or is another target's, fails
// its own target only. The directory is locked while a run uses it. A
// rollout (--canary, --canary-tags) runs in each target on its own: one
// that halts halts its target's, not the others'. Without the target
// flags, --journal, --resume and undo take a file, as they always have.

// journalDir is the directory of the journals of a run across targets,
// open and locked while the run uses it.
type journalDir struct {
	path string // as given
	dir  org.JournalDir
	f    *os.File // the directory itself, for its lock
	// created is true when this run made the directory: it is removed
	// again if the run ends without writing a journal in it.
	created bool
	// targets are those that have a journal in it (resume and undo).
	targets []account.Target
}

// close unlocks the directory; one this run made and left empty is
// removed, as nothing was recorded in it (os.Remove refuses a directory
// that holds anything).
func (d *journalDir) close() {
	if d == nil {
		return
	}
	d.f.Close()
	if d.created {
		os.Remove(d.path)
	}
}

// badJournalDir is an error about the journal directory: a usage error
// (exit 252 when nothing was sent yet) that names the directory as given.
func badJournalDir(path, format string, args ...any) error {
	return usageErrorf("journal directory %s: %s", shellQuote(path), fmt.Sprintf(format, args...))
}

// lockDir opens the directory path and locks it against a second run.
func lockDir(path string, created bool) (*journalDir, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, badJournalDir(path, "%v", pathError(err))
	}
	switch err := lockFile(f); {
	case errors.Is(err, errLocked):
		f.Close()
		return nil, badJournalDir(path, "another imdsopts run is using it: wait for it to end (or stop it) first")
	case err != nil:
		f.Close()
		return nil, badJournalDir(path, "lock: %v", err)
	}
	return &journalDir{path: path, dir: org.JournalDir(path), f: f, created: created}, nil
}

// openNewJournalDir opens the journal directory of apply --journal DIR
// across targets, before any call: a directory that does not exist yet
// (made here, its parent must exist) or one that holds no journal. A
// directory records one run: one that holds a journal already is refused,
// whatever targets it is of.
func openNewJournalDir(path, resume string) (*journalDir, error) {
	if path == "" {
		return nil, usageErrorf(`--journal "": must name a directory, to hold one journal a target`)
	}
	created := false
	switch st, err := os.Stat(path); {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.Mkdir(path, 0o700); err != nil {
			return nil, badJournalDir(path, "%v", pathError(err))
		}
		created = true
		if err := syncDir(path); err != nil {
			os.Remove(path)
			return nil, badJournalDir(path, "sync its parent: %v", pathError(err))
		}
	case err != nil:
		return nil, badJournalDir(path, "%v", pathError(err))
	case !st.IsDir():
		return nil, badJournalDir(path, "not a directory: with the target flags (--regions, --role-arn, --role-arns-file, "+
			"--organization-role), --journal names a directory, which gets one journal a target")
	}
	d, err := lockDir(path, created)
	if err != nil {
		if created {
			os.Remove(path)
		}
		return nil, err
	}
	held, err := d.dir.Targets()
	switch {
	case err != nil:
		err = badJournalDir(path, "%v", pathError(errors.Unwrap(err)))
	case len(held) > 0:
		err = badJournalDir(path, "holds the journals of a run already (%s): a directory records one run; give a new one "+
			"(to go on with that run: %s)", targetList(held), resume)
	}
	if err != nil {
		d.close()
		return nil, err
	}
	return d, nil
}

// openJournalDir opens the journal directory of apply --resume DIR or undo
// DIR across targets, before any call: it must hold the journal of one
// target or more.
func openJournalDir(g *globals, path string) (*journalDir, error) {
	if g.emulator {
		return nil, usageErrorf("--emulator: the in-process emulator is new in every run, so it has none of the changes a journal " +
			"records; start one with imdsopts emulator, and give its URL with --endpoint-url")
	}
	if path == "" {
		return nil, usageErrorf(`the journal directory is required: it must not be ""`)
	}
	switch st, err := os.Stat(path); {
	case err != nil:
		return nil, badJournalDir(path, "%v", pathError(err))
	case !st.IsDir():
		return nil, badJournalDir(path, "not a directory: with the target flags (--regions, --role-arn, --role-arns-file, "+
			"--organization-role), apply --resume and undo take the directory apply --journal DIR wrote; without them, a journal file")
	}
	d, err := lockDir(path, false)
	if err != nil {
		return nil, err
	}
	d.targets, err = d.dir.Targets()
	switch {
	case err != nil:
		err = badJournalDir(path, "%v", pathError(errors.Unwrap(err)))
	case len(d.targets) == 0:
		err = badJournalDir(path, "holds no journal of imdsopts apply --journal DIR (files named ACCOUNT-REGION.jsonl)")
	}
	if err != nil {
		d.close()
		return nil, err
	}
	return d, nil
}

// empty reports whether the directory holds no journal.
func (d *journalDir) empty() bool {
	held, err := d.dir.Targets()
	return err == nil && len(held) == 0
}

// someOf joins the first 3 of names with sep, and says how many more
// there are ("and N more", then unit).
func someOf(names []string, sep, unit string) string {
	if len(names) > 3 {
		names = append(names[:3:3], fmt.Sprintf("and %d more%s", len(names)-3, unit))
	}
	return strings.Join(names, sep)
}

// targetList names up to 3 targets, and how many more there are.
func targetList(ts []account.Target) string {
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = t.String()
	}
	return someOf(names, ", ", "")
}

// errNotReached: a journal of the directory is of a target that the
// target flags do not reach.
var errNotReached = errors.New("not a target of the target flags")

// restrict makes ts the targets of the directory's journals: those of the
// flags that have a journal there are worked on; those that have none are
// returned, as nothing was recorded for them; a journal of a target the
// flags do not reach (an account no longer in the organisation, a Region
// not named) fails its target, never left out unnoticed.
func (d *journalDir) restrict(ts *org.TargetSet) (unjournaled []account.Target) {
	has := map[account.Target]bool{}
	for _, t := range d.targets {
		has[t] = true
	}
	known := map[account.Target]bool{}
	var keep []account.Target
	for _, t := range ts.Targets {
		known[t] = true
		if has[t] {
			keep = append(keep, t)
		} else {
			unjournaled = append(unjournaled, t)
		}
	}
	for _, u := range ts.Unreached {
		known[u.Target] = true // an account, or a target, that failed already
	}
	for _, t := range d.targets {
		if known[t] || known[account.Target{Account: t.Account}] {
			continue
		}
		ts.Unreached = append(ts.Unreached, &org.TargetError{Target: t, Err: fmt.Errorf("its journal %s is in the directory, but %w "+
			"(an account no longer in the organisation, or whose role is not given; a Region not in --regions): give the target flags of the run that wrote it",
			d.dir.Path(t), errNotReached)})
	}
	ts.Targets = keep
	return unjournaled
}

// acrossFleet is the fleet.Options function of plan and apply across
// targets: the gate, downgrades, and a rollout of each target's own.
func (r *fleetRun) acrossFleet() func(*fleet.Options) {
	return func(o *fleet.Options) {
		r.gateOptions(o)
		// Made for every target: each rolls out on its own.
		o.Rollout = r.flags.rollout.rollout(nil)
	}
}

// withJournals sets the journal directory of an operation across targets;
// "" without one.
func withJournals(d *journalDir) func(*org.Options) {
	return func(o *org.Options) {
		if d != nil {
			o.Journals = d.dir
		}
	}
}

// targetIDs are the instances of one target.
type targetIDs struct {
	account.Target
	ids []string
}

// irreversibleAcross returns, target by target, the instances whose change
// the account's enforcement of IMDSv2 makes one-way.
func irreversibleAcross(plans []org.TargetResult[*fleet.Plan]) (list []targetIDs, n int) {
	for _, p := range plans {
		if p.Result != nil && len(p.Result.Irreversible) > 0 {
			list = append(list, targetIDs{p.Target, p.Result.Irreversible})
			n += len(p.Result.Irreversible)
		}
	}
	return list, n
}

// irreversibleText names the targets and some of their instances.
func irreversibleText(list []targetIDs) string {
	parts := make([]string, len(list))
	for i, t := range list {
		parts[i] = t.String() + ": " + idList(t.ids)
	}
	return someOf(parts, "; ", " target(s)")
}

// irreversibleAcrossError refuses, before any change in any target, to
// change instances whose change their account's enforcement of IMDSv2
// makes one-way (exit 254, as for one account).
func irreversibleAcrossError(list []targetIDs, n int) error {
	return &exitError{code: exitService, err: fmt.Errorf("%d instance(s) in %d target(s) would be changed for good (%s): their accounts enforce IMDSv2 "+
		"(HttpTokensEnforced enabled), so EC2 refuses to make HttpTokens optional again, and neither a rollback nor undo could restore them; "+
		"nothing was changed in any target: give --accept-irreversible to change them anyway", n, len(list), irreversibleText(list))}
}

// noteIrreversibleAcross tells stderr of the changes plans list as one-way.
func (a *app) noteIrreversibleAcross(list []targetIDs, n int) {
	if n > 0 {
		a.note("imdsopts: note: %d instance(s) in %d target(s) could not be changed back once changed (%s): their accounts enforce IMDSv2; "+
			"apply changes them only with --accept-irreversible", n, len(list), irreversibleText(list))
	}
}

// addTargets adds to each target of an output across targets what add
// puts in, for the targets that have a result; the output's targets are
// those of rs, in order (see acrossOutput).
func addTargets[T any](out output, rs []org.TargetResult[T], add func(doc map[string]any, t org.TargetResult[T])) {
	docs, _ := out.doc.(map[string]any)["Targets"].([]any)
	for i, t := range rs {
		if i < len(docs) && !isNilResult(t.Result) {
			add(docs[i].(map[string]any), t)
		}
	}
}

// addAcrossPlans adds to a plan's output across targets, target by target,
// the sizes of a rollout's waves, and Irreversible when the run read the
// accounts' enforcement, as for one account.
func (r *fleetRun) addAcrossPlans(out output, plans []org.TargetResult[*fleet.Plan]) {
	addTargets(out, plans, func(doc map[string]any, p org.TargetResult[*fleet.Plan]) {
		one := output{doc: doc}
		r.addPlan(one, p.Result)
	})
}

// addAcrossReports adds to a report's output across targets, target by
// target, the waves of its rollout, and the plan's Irreversible when the
// run read the accounts' enforcement (plans nil: a resume or an undo,
// which report none).
func (r *fleetRun) addAcrossReports(out output, reports []org.TargetResult[*fleet.Report], plans map[account.Target]*fleet.Plan) {
	addTargets(out, reports, func(doc map[string]any, t org.TargetResult[*fleet.Report]) {
		if t.Result.Waves != nil || rolledOut(t.Result.Items) {
			doc["Waves"] = wavesDoc(t.Result.Waves)
		}
		if p := plans[t.Target]; r.reversible && p != nil {
			r.addIrreversible(output{doc: doc}, p.Irreversible)
		}
	})
}

// noteRolloutsAcross tells stderr what each rollout that halted did about
// it, target by target.
func (a *app) noteRolloutsAcross(reports []org.TargetResult[*fleet.Report]) {
	for _, t := range reports {
		if t.Result == nil || len(t.Result.Waves) == 0 {
			continue
		}
		last := t.Result.Waves[len(t.Result.Waves)-1]
		if last.Err == nil || !errors.Is(last.Err, fleet.ErrRolloutHalted) {
			continue
		}
		counts := t.Result.Counts()
		a.note("imdsopts: %s: the rollout halted at wave %d: %d instance(s) rolled back, %d left to a person (see %s), %d not attempted; "+
			"the other targets' rollouts went on", t.Target, last.Wave, counts[fleet.StatusRolledBack], counts[fleet.StatusNeedsPerson],
			a.field("Error", "the NOTE column"), counts[fleet.StatusNotAttempted])
	}
}

// targetFlagsText writes the target flags of the run as a command line
// takes them, for the notes that say what to run next; the external ID is
// left for the user to give again.
func targetFlagsText(t *targetFlags) string {
	var parts []string
	switch {
	case t.allRegions:
		parts = append(parts, "--regions all")
	case len(t.regions) > 0:
		parts = append(parts, "--regions "+shellQuote(strings.Join(t.regions, ",")))
	}
	for _, arn := range t.roleARNs {
		parts = append(parts, "--role-arn "+shellQuote(arn))
	}
	if t.roleARNsFile != "" {
		parts = append(parts, "--role-arns-file "+shellQuote(t.roleARNsFile))
	}
	if t.orgRole != "" {
		parts = append(parts, "--organization-role "+shellQuote(t.orgRole))
	}
	if t.externalID.set {
		parts = append(parts, "--external-id ...")
	}
	if t.sessionName.set {
		parts = append(parts, "--role-session-name "+shellQuote(t.sessionName.value))
	}
	return strings.Join(parts, " ")
}

// noteJournalDir tells stderr what the journals of an apply across targets
// are now good for.
func (a *app) noteJournalDir(ctx context.Context, g *globals, d *journalDir, reports []org.TargetResult[*fleet.Report], runErr error) {
	if d == nil {
		return
	}
	path := shellQuote(d.path)
	resume, undo := a.rerun("apply", "--resume", d.path), a.rerun("undo", d.path)
	halted := slices.ContainsFunc(reports, func(t org.TargetResult[*fleet.Report]) bool {
		return errors.Is(t.Err, fleet.ErrRolloutHalted)
	})
	switch {
	case d.empty():
		a.note("imdsopts: the journal directory %s holds nothing: nothing was changed", path)
	case halted:
		a.note("imdsopts: the journals in %s record the rollouts: %s restores every instance they changed", path, undo)
	case runErr != nil || ctx.Err() != nil:
		a.note("imdsopts: the journals in %s record what was done: finish the run with %s, or undo it with %s", path, resume, undo)
	default:
		a.note("imdsopts: the journals in %s record the run: %s restores every instance it changed", path, undo)
	}
}

// failedTargetService reports whether the failure of a target is an answer
// of the service (exit 254), by the rules of one account: a rollout that
// halted as runError says, a one-way change not accepted; a journal the
// library would not go on with (no report) is not. noReport is true when
// the target has no plan or report.
func failedTargetService(err error, noReport bool) bool {
	switch {
	case errors.Is(err, fleet.ErrIrreversible):
		return true
	case errors.Is(err, fleet.ErrRolloutHalted):
		var ee *exitError
		return !noReport && errors.As(runError(err), &ee) && ee.code == exitService
	}
	return serviceFailure(err)
}

// errNotAcceptedTarget is fleet.ErrIrreversible as a target's error says it.
func errNotAcceptedTarget() error {
	return fmt.Errorf("the account enforces IMDSv2 (HttpTokensEnforced enabled), and instances left to change would go from HttpTokens "+
		"optional to required, which EC2 would not let be undone; nothing was changed in this target: give --accept-irreversible to go on: %w", fleet.ErrIrreversible)
}

// resumeAcross runs apply --resume DIR with the target flags.
func (a *app) resumeAcross(ctx context.Context, g *globals, r *fleetRun) error {
	return a.journalAcross(ctx, g, r, r.flags.resume.value, false)
}

// undoAcross runs undo DIR with the target flags.
func (a *app) undoAcross(ctx context.Context, g *globals, r *fleetRun, path string) error {
	return a.journalAcross(ctx, g, r, path, true)
}

// journalAcross runs apply --resume DIR (undo false) or undo DIR (undo
// true) on every target of the flags that has a journal in DIR, and
// prints the report as apply across targets does.
func (a *app) journalAcross(ctx context.Context, g *globals, r *fleetRun, path string, undo bool) error {
	d, err := openJournalDir(g, path)
	if err != nil {
		return err
	}
	defer d.close()
	ts, err := a.targetSet(ctx, g)
	if err != nil {
		return err
	}
	what, title, op := "resume", "ResumeTargets", org.Resume
	if undo {
		what, title, op = "undo", "UndoTargets", org.Undo
	}
	if none := d.restrict(ts); len(none) > 0 {
		a.note("imdsopts: note: %d target(s) of the target flags have no journal in %s, so nothing to %s there (%s)",
			len(none), shellQuote(d.path), what, targetList(none))
	}
	start := time.Now()
	rep, runErr := op(ctx, *ts, d.dir, a.targetsOptions(r.gateOptions))
	a.prog.finish(true)
	if rep == nil {
		return runErr
	}
	for i, t := range rep.Targets {
		if t.Result == nil && errors.Is(t.Err, fleet.ErrIrreversible) {
			rep.Targets[i].Err = errNotAcceptedTarget()
		}
	}
	out := acrossOutput(r, title, rep.Targets, func(_ account.Target, fr *fleet.Report) ([]fleet.Item, map[string]int, *int) {
		return fr.Items, fr.Calls, &fr.Throttled
	}, time.Since(start))
	r.addAcrossReports(out, rep.Targets, nil)
	perr := a.print(r.printer, out)
	a.noteRolloutsAcross(rep.Targets)
	var items []fleet.Item
	for _, t := range rep.Targets {
		if t.Result != nil {
			items = append(items, t.Result.Items...)
		}
	}
	p, resumeCmd, undoCmd := shellQuote(d.path), a.rerun("apply", "--resume", d.path), a.rerun("undo", d.path)
	if undo {
		counts := map[fleet.Status]int{}
		for _, it := range items {
			counts[it.Status]++
		}
		a.note("imdsopts: undo: %d instance(s) restored, %d had their options before already, %d left to a person, %d failed, %d not attempted, "+
			"in %d target(s); %d target(s) failed", counts[fleet.StatusRolledBack], counts[fleet.StatusSatisfied], counts[fleet.StatusNeedsPerson],
			counts[fleet.StatusFailed], counts[fleet.StatusNotAttempted], len(rep.Targets), len(rep.Failed()))
		if runErr != nil {
			a.note("imdsopts: the journals in %s record what the undo did: run %s again to finish it", p, undoCmd)
		}
	} else {
		a.noteKeptBack(items)
		if runErr != nil {
			a.note("imdsopts: the journals in %s record what was done: run %s again to finish it, "+
				"or %s to restore what it changed", p, resumeCmd, undoCmd)
		}
	}
	return joinFailures(acrossOutcome(r, rep.Targets, func(fr *fleet.Report) []fleet.Item { return fr.Items }), perr)
}

package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imdsopts/imdsopts/fleet"
	"github.com/imdsopts/imdsopts/internal/awsid"
	"github.com/imdsopts/imdsopts/internal/check"
)

// apply --resume FILE and undo FILE: both read a journal that apply
// --journal wrote, check it against the account and Region of the run
// before anything is sent, and append their own records to it.

// openNewJournal opens the journal of apply --journal (see openNewJournal),
// wrapped as the run's tests ask.
func (a *app) openNewJournal(path string) (*journalFile, error) {
	j, err := openNewJournal(path, a.rerun("apply", "--resume", path))
	if err == nil && a.journalWriter != nil {
		j.w = a.journalWriter(j.f)
	}
	return j, err
}

// journalRun is a journal read for apply --resume or undo, with the EC2
// client of the run and the Region it calls.
type journalRun struct {
	file    *journalFile
	journal *fleet.Journal
	head    journalHead
	api     API
	region  string
}

// openJournalRun opens the journal at path and checks it before anything
// is sent: every record as the library reads them (a journal it refuses is
// exit 252, naming the line), then the Region of the run's configuration
// and the account of its credentials against the journal's (exit 253).
func (a *app) openJournalRun(ctx context.Context, g *globals, path string) (*journalRun, error) {
	if g.emulator {
		return nil, usageErrorf("--emulator: the in-process emulator is new in every run, so it has none of the changes a journal " +
			"records; start one with imdsopts emulator, and give its URL with --endpoint-url")
	}
	jf, err := openJournal(path)
	if err != nil {
		return nil, err
	}
	if a.journalWriter != nil {
		jf.w = a.journalWriter(jf.f)
	}
	ok := false
	defer func() {
		if !ok {
			jf.close()
		}
	}()
	// The records are checked with the account and Region the journal
	// names, before either of the run's is known: a journal refused here
	// is refused whoever reads it.
	head := jf.head()
	account, region := "000000000000", "us-east-1"
	if head.Account != nil && awsid.IsAccountID(*head.Account) {
		account = *head.Account
	}
	if awsid.IsRegion(head.Region) {
		region = head.Region
	}
	if _, err := jf.read(account, region); err != nil {
		return nil, err
	}
	api, err := a.client(ctx, g)
	if err != nil {
		return nil, err
	}
	if region, err = a.region(ctx, g, a.stderr); err != nil {
		return nil, err
	}
	a.runRegion = region
	if region != head.Region {
		return nil, configError(fmt.Errorf("journal %s was written in Region %s, but this run calls Region %s (from --region, AWS_REGION, "+
			"AWS_DEFAULT_REGION or the profile): its instance IDs mean nothing there; run it with --region %s",
			shellQuote(path), head.Region, check.Quote(region), head.Region))
	}
	raw := api
	if o, isObserved := api.(observedAPI); isObserved {
		raw = o.API // learning the account is configuration, not the run's work
	}
	account, note, err := a.account(ctx, g, raw, a.stderr)
	if err != nil {
		return nil, err
	}
	if note != "" {
		a.note("%s", note)
	}
	if want := head.Account; want != nil && *want != "" && *want != account {
		return nil, configError(fmt.Errorf("journal %s was written in account %s, but the credentials are account %s's: its instance IDs "+
			"mean nothing there; use the credentials (--profile) of account %s", shellQuote(path), *want, account, *want))
	}
	j, err := jf.read(account, region)
	if err != nil {
		return nil, err
	}
	for _, n := range j.Truncated {
		a.note("imdsopts: note: journal %s: line %d was cut short (the run writing it was killed, or its write failed: a full disk, "+
			"a file size limit): ignored; a call is recorded before it is made, so none was made that the journal does not show", shellQuote(path), n)
	}
	ok = true
	return &journalRun{file: jf, journal: j, head: head, api: api, region: region}, nil
}

// bake is the bake of the journal's rollout, 0 without one.
func (h journalHead) bake() time.Duration {
	if h.Rollout == nil {
		return 0
	}
	d, _ := time.ParseDuration(h.Rollout.Bake)
	return d
}

// planned counts the instances of the journal's plan.
func (h journalHead) planned() int {
	n := 0
	for _, w := range h.Waves {
		n += len(w)
	}
	return n
}

// resume runs apply --resume FILE: it finishes the run the journal records
// (fleet.Resume), appending to the journal, and prints the report
// as apply does.
func (a *app) resume(ctx context.Context, g *globals, r *fleetRun) error {
	jr, err := a.openJournalRun(ctx, g, r.flags.resume.value)
	if err != nil {
		return err
	}
	defer jr.file.close()
	r.set = jr.journal.Set
	watched := r.set.HTTPTokens() == types.HttpTokensStateRequired && jr.head.Rollout != nil
	as := a.lazyAutoScaling(ctx, g)
	opts := []func(*fleet.Options){func(o *fleet.Options) {
		r.gateOptions(o)
		o.AutoScaling = as
		o.Enforcement, o.AcceptIrreversible = jr.api, r.flags.acceptIrreversible
		o.Journal, o.Region = jr.file.w, jr.region
		// Of a Rollout, fleet.Resume takes only OnWave: the rest is the
		// journal's.
		o.Rollout = fleet.NewRollout(func(ro *fleet.Rollout) { ro.OnWave = a.prog.wave })
		o.OnProgress = a.prog.item
	}}
	if r.gateOn() || watched {
		metrics, err := a.metrics(ctx, g)
		if err != nil {
			return err
		}
		opts = append(opts, func(o *fleet.Options) { o.Metrics = metrics })
	}
	a.prog.fleet(jr.head.planned())
	if jr.head.Rollout != nil {
		a.prog.rollout(nil, jr.head.bake())
	}
	start := time.Now()
	report, runErr := fleet.Resume(ctx, jr.api, jr.journal, opts...)
	a.prog.finish(true)
	if report == nil {
		return a.notRun(jr.file.path, runErr)
	}
	out := r.reportOutput("fleet.Resume", report, report.Calls, time.Since(start))
	perr := a.print(r.printer, out)
	return a.finishRun(ctx, r, jr.file, report, runErr, perr)
}

// notRun is the error of a resume or undo that the library refused before
// changing anything: a journal it will not go on with is the journal's
// fault (exit 252, unless a call was made already), and a change the
// account's enforcement makes one-way is refused as apply refuses it.
func (a *app) notRun(path string, err error) error {
	switch {
	case errors.Is(err, fleet.ErrIrreversible):
		return &exitError{code: exitService, err: errors.New("the account enforces IMDSv2 (HttpTokensEnforced enabled), and instances left to change " +
			"would go from HttpTokens optional to required, which EC2 would not let be undone (neither a rollback nor undo could restore them); " +
			"nothing was changed: give --accept-irreversible to go on")}
	case errors.Is(err, fleet.ErrRolloutHalted):
		return badJournal(path, "%s; to restore what it changed: %s", trim(err), a.rerun("undo", path))
	case errors.Is(err, fleet.ErrBadJournal):
		return badJournal(path, "%s", trim(err))
	}
	return err
}

const undoUsage = `Usage: imdsopts undo FILE [global options]
       imdsopts undo DIR TARGET FLAGS [global options]

Restores every instance that the runs journal FILE records (imdsopts apply --journal FILE, and
apply --resume FILE) may have changed to exactly the five metadata options it had before them,
as a fleet operation of its own: paced to EC2's request limits, waited for until EC2 reports each
restore applied, reported instance by instance, and journaled in FILE. It can be run again: what
is restored stays so.

Before anything is sent, the journal is read and checked: a journal that is not one of imdsopts
apply (the message names the line), or that was written in another Region (--region) or account
(the credentials, as STS GetCallerIdentity tells), is refused. A last line cut short (the run was
killed while writing it, or the write failed) is ignored, with a note.

Statuses: rolled-back (restored), satisfied (already had its options before: no call),
needs-person (its options are neither those before the run nor any the run set: someone changed
them since, so they are left alone; or the restore needs HttpTokens optional while the account
enforces IMDSv2, which EC2 refuses), failed (EC2 no longer returns it, or the restore failed),
not-attempted (interrupted first).

Output: as apply's ("imdsopts help apply"), titled fleet.Undo. Exit status: 0 when every instance
is rolled-back or satisfied; 254 when any needs a person or failed with an answer of the
service; 255 for other failures; 252 or 253 as below.

With the target flags (see "imdsopts help apply"), undo takes the directory DIR that apply
--journal DIR wrote across targets, and undoes the journal of every target the flags reach, side by
side; its output is that of apply across targets, titled UndoTargets.
`

// undo runs "imdsopts undo FILE": it restores what the journal's runs
// changed (fleet.Undo), appending to the journal, and prints the
// report.
func (a *app) undo(ctx context.Context, g *globals, args []string) error {
	path, args, err := journalArg(args)
	if err != nil {
		return err
	}
	fs := newFlagSet("undo")
	if done, err := a.parseSubcommand("undo", g, fs, args, nil); done || err != nil {
		return err
	}
	p, err := a.newPrinter(g)
	if err != nil {
		return err
	}
	if path == "" {
		return usageErrorf("the journal is required: imdsopts undo FILE")
	}
	r := &fleetRun{printer: p, flags: newFleetFlags(), reversible: true}
	skeleton := r.skeleton(true)
	if g.targets.active() {
		skeleton = r.acrossSkeleton(true)
	}
	if err := checkQuery(p, skeleton); err != nil {
		return err
	}
	if g.targets.active() {
		return a.undoAcross(ctx, g, r, path)
	}
	jr, err := a.openJournalRun(ctx, g, path)
	if err != nil {
		return err
	}
	defer jr.file.close()
	a.prog.fleet(0)
	start := time.Now()
	report, runErr := fleet.Undo(ctx, jr.api, jr.journal, func(o *fleet.Options) {
		o.Enforcement = jr.api
		o.Journal, o.Region = jr.file.w, jr.region
		o.OnProgress = a.prog.item
	})
	a.prog.finish(true)
	if report == nil {
		return a.notRun(path, runErr)
	}
	out := r.reportOutput("fleet.Undo", report, report.Calls, time.Since(start))
	perr := a.print(r.printer, out)
	counts := report.Counts()
	a.note("imdsopts: undo: %d instance(s) restored, %d had their options before already, %d left to a person, %d failed, %d not attempted",
		counts[fleet.StatusRolledBack], counts[fleet.StatusSatisfied], counts[fleet.StatusNeedsPerson],
		counts[fleet.StatusFailed], counts[fleet.StatusNotAttempted])
	if runErr != nil {
		a.note("imdsopts: the journal %s records what the undo did: run %s again to finish it", shellQuote(path), a.rerun("undo", path))
		return joinFailures(runErr, perr)
	}
	return joinFailures(r.outcome(report.Items), perr)
}

// journalArg takes the journal FILE out of the arguments of undo: the
// first one that is neither an option nor an option's value.
func journalArg(args []string) (path string, rest []string, err error) {
	if len(args) > 0 && args[0] == "help" {
		return "", args, nil
	}
	probe := newFlagSet("undo")
	newGlobals().register(probe)
	after, err := parseArgs(probe, args, nil)
	if err != nil || len(after) == 0 {
		return "", args, nil // parseSubcommand reports the error
	}
	i := len(args) - len(after)
	rest = append(append([]string{}, args[:i]...), args[i+1:]...)
	return args[i], rest, nil
}

// noteJournal tells stderr what the journal of a run is now good for.
func (a *app) noteJournal(ctx context.Context, jf *journalFile, runErr error) {
	if jf == nil {
		return
	}
	path := shellQuote(jf.path)
	resume, undo := a.rerun("apply", "--resume", jf.path), a.rerun("undo", jf.path)
	empty := false
	if st, err := jf.f.Stat(); err == nil && st.Size() == 0 {
		empty = true
	}
	switch {
	case empty:
		a.note("imdsopts: the journal %s holds nothing: nothing was changed", path)
	case errors.Is(runErr, fleet.ErrJournalWrite):
		a.note("imdsopts: the journal %s could not be written, so the run stopped before its next call; it records every change made: "+
			"once it can be written, finish the run with %s, or undo it with %s", path, resume, undo)
	case errors.Is(runErr, fleet.ErrRolloutHalted):
		a.note("imdsopts: the journal %s records the rollout: %s restores every instance it changed", path, undo)
	case runErr != nil || ctx.Err() != nil:
		a.note("imdsopts: the journal %s records what was done: finish the run with %s, or undo it with %s", path, resume, undo)
	default:
		a.note("imdsopts: the journal %s records the run: %s restores every instance it changed", path, undo)
	}
}

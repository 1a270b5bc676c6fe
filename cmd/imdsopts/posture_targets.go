package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/imdsopts/imdsopts/account"
	"github.com/imdsopts/imdsopts/internal/awscli"
	"github.com/imdsopts/imdsopts/org"
)

// The posture of every target of the target flags (org.Postures):
// posture with --regions, --role-arn, --role-arns-file or
// --organization-role. Each target's posture is that of one account and
// Region; a target whose posture could not be taken is reported with its
// error, and is never counted ready.

// posturesKeyOrder orders the keys of the output across targets: each
// target's account, Region and error first, then its posture in the order
// posture orders one; the totals after the targets.
var posturesKeyOrder = append(append([]string{"Targets", "Account", "Region", "Error"}, postureKeyOrder...),
	"TargetsReady", "TargetsNotReady", "TargetsFailed")

// posturesUsage is the part of posture's usage about the output across
// targets.
const posturesUsage = `
Posture across targets: the posture of every account/Region, side by side.
--output json is {"Targets": [{"Account", "Region", "Error", "Time", "Defaults", ..., "Ready",
"Blockers"}, ...], "Ready", "TargetsReady", "TargetsNotReady", "TargetsFailed"}: one entry a
target, by account then Region, with the posture of one account, or the "Error" that kept it from
being taken. "Ready" is true only when every target is ready. --output text and table print a line
a target with its verdict, then the blockers of each. A target whose posture could not be taken is
not ready: the exit status is 0 when every target is ready, 1 when every target was reported and
some are not ready, 254 or 255 when some could not be reported (the message names them, with
why, and the others are reported all the same). On a terminal, stderr shows the targets done.
`

// maxNamed bounds the targets an error message names; the output has them
// all.
const maxNamed = 10

// postureAcross prints the posture of every target of the flags, taken with
// the IMDSv1 window; p is the checked printer.
//
// --output json is {"Targets": [...], "Ready", "TargetsReady",
// "TargetsNotReady", "TargetsFailed"}: one entry a target, by account then
// Region, holding its "Account", its "Region", and either the posture of
// one account (its fields in the entry itself) or the "Error" that kept it
// from being taken. "Ready" is true only when every target is ready: a
// target that failed is not. Text and table, without --query, are a report
// for a person: a line a target with its verdict, then the blockers of
// each, in the order to fix them.
//
// The exit rule is posture's: 0 when every target is ready; exitNotReady
// when every target was reported and some are not ready; 254 (an answer of
// the service) or 255 when a target could not be reported. The message
// names the targets that failed, with why, and those not ready.
func (a *app) postureAcross(ctx context.Context, g *globals, p *awscli.Printer, window time.Duration) error {
	ts, err := a.targetSet(ctx, g)
	if err != nil {
		return err
	}
	// The line counts the targets from the start, not from the first
	// one done.
	a.prog.across(org.Progress{Targets: len(ts.Targets) + len(ts.Unreached)})
	res, err := org.Postures(ctx, *ts, a.targetsOptions(), func(o *org.Options) {
		o.Posture = append(o.Posture, func(po *account.PostureOptions) {
			po.IMDSv1Window = window
			po.Options.OnAttempt = a.prog.answered
		})
	})
	if res == nil {
		return err
	}
	a.prog.finish(false)
	// Every message the service or the SDK wrote is cleared of the run's
	// secrets before it is printed, in every format.
	errText := func(err error) string { return redact(trim(err), a.secrets.list()) }
	for _, t := range res.Targets {
		if t.Result != nil && t.Result.Blockers == nil {
			t.Result.Blockers = []account.Blocker{} // a list, for --query
		}
	}
	p.KeyOrder = posturesKeyOrder
	pp, out := ownFormat(p, output{title: "GetPostures", doc: posturesDoc(res.Targets, errText)}, func(f awscli.Format) []byte {
		switch f {
		case awscli.Text:
			return []byte(posturesText(res.Targets, errText))
		case awscli.Table:
			return []byte(posturesTable(res.Targets, errText))
		}
		return nil
	})
	perr := a.print(pp, out)
	return joinFailures(posturesFailed(res.Targets, errText), posturesNotReady(res.Targets, a.field("Blockers", "the blockers of each")), perr)
}

// posturesDoc is the document of the output across targets (see
// postureAcross).
func posturesDoc(rs []org.TargetResult[*account.Posture], errText func(error) string) map[string]any {
	targets := []any{}
	for _, t := range rs {
		doc := map[string]any{}
		if t.Result != nil {
			doc = jsonDoc(t.Result).(map[string]any)
		}
		doc["Account"] = t.Account
		if t.Region != "" {
			doc["Region"] = t.Region
		}
		if t.Err != nil {
			doc["Error"] = errText(t.Err)
		}
		targets = append(targets, doc)
	}
	ready, notReady, failed := postureCounts(rs)
	return map[string]any{"Targets": targets, "Ready": len(rs) > 0 && ready == len(rs),
		"TargetsReady": float64(ready), "TargetsNotReady": float64(notReady), "TargetsFailed": float64(failed)}
}

// posturesSkeleton is the output across targets with every field present,
// for checkQuery.
func posturesSkeleton() any {
	target := maps.Clone(jsonDoc(postureSkeleton()).(map[string]any))
	target["Error"] = "the reason"
	return map[string]any{"Targets": []any{target}, "Ready": true, "TargetsReady": 1.0, "TargetsNotReady": 0.0, "TargetsFailed": 0.0}
}

// failedTarget reports whether t's posture could not be taken.
func failedTarget(t org.TargetResult[*account.Posture]) bool {
	return t.Err != nil || t.Result == nil
}

// postureCounts counts the targets ready, not ready, and failed.
func postureCounts(rs []org.TargetResult[*account.Posture]) (ready, notReady, failed int) {
	for _, t := range rs {
		switch {
		case failedTarget(t):
			failed++
		case t.Result.Ready:
			ready++
		default:
			notReady++
		}
	}
	return ready, notReady, failed
}

// posturesFailed is the failure of the targets whose posture could not be
// taken, each named with why; nil when there is none. It exits 254 when
// any of them is an answer of the service, else 255; no target at all
// exits 255 too.
func posturesFailed(rs []org.TargetResult[*account.Posture], errText func(error) string) error {
	if len(rs) == 0 {
		// Nothing reported on is never "every target ready".
		return &exitError{code: exitOther, err: errors.New("the target flags reached no account and Region: no posture was taken, so none is ready")}
	}
	var lines []string
	service := false
	failed := 0
	for _, t := range rs {
		if !failedTarget(t) {
			continue
		}
		failed++
		why := "no posture"
		if t.Err != nil {
			why = errText(t.Err)
			service = service || serviceFailure(t.Err)
		}
		if failed <= maxNamed {
			lines = append(lines, "  "+t.Target.String()+": "+oneLine(why))
		}
	}
	if failed == 0 {
		return nil
	}
	if failed > maxNamed {
		lines = append(lines, fmt.Sprintf("  and %d more (see the output's Targets)", failed-maxNamed))
	}
	code := exitOther
	if service {
		code = exitService
	}
	return &exitError{code: code, err: fmt.Errorf("the posture of %d of %d target(s) could not be taken, and they are not ready:\n%s",
		failed, len(rs), strings.Join(lines, "\n"))}
}

// posturesNotReady is the verdict of the targets reported not ready, each
// named with its count of blockers; nil when there is none.
func posturesNotReady(rs []org.TargetResult[*account.Posture], see string) error {
	var names []string
	notReady := 0
	for _, t := range rs {
		if failedTarget(t) || t.Result.Ready {
			continue
		}
		notReady++
		if notReady <= maxNamed {
			names = append(names, fmt.Sprintf("%s (%s)", t.Target, countOf(len(t.Result.Blockers), "blocker")))
		}
	}
	if notReady == 0 {
		return nil
	}
	if notReady > maxNamed {
		names = append(names, fmt.Sprintf("and %d more", notReady-maxNamed))
	}
	return &exitError{code: exitNotReady, err: fmt.Errorf("not ready to enforce IMDSv2 in %d of %d target(s): %s (see %s)",
		notReady, len(rs), strings.Join(names, ", "), see)}
}

// shortVerdict is a target's verdict in a few words.
func shortVerdict(t org.TargetResult[*account.Posture]) string {
	if failedTarget(t) {
		return "FAILED"
	}
	switch p := t.Result; {
	case p.Enforced && p.Ready:
		return "enforced"
	case p.Enforced:
		return "enforced, NOT READY: " + countOf(len(p.Blockers), "blocker")
	case p.Ready:
		return "READY to enforce"
	default:
		return "NOT READY: " + countOf(len(p.Blockers), "blocker")
	}
}

// postureRows are the lines of the summary: a target each.
func postureRows(rs []org.TargetResult[*account.Posture], errText func(error) string) [][]string {
	var rows [][]string
	for _, t := range rs {
		account, region := cell(t.Account), cell(orDash(t.Region))
		if failedTarget(t) {
			why := "no posture"
			if t.Err != nil {
				why = errText(t.Err)
			}
			rows = append(rows, []string{account, region, shortVerdict(t), "-", cell(why)})
			continue
		}
		p := t.Result
		use := "unknown: " + p.IMDSv1.Reason
		if p.IMDSv1.Reason == "" {
			use = fmt.Sprintf("%d used IMDSv1, %d unknown", p.IMDSv1.UsedIMDSv1, p.IMDSv1.Unknown)
		}
		rows = append(rows, []string{account, region, shortVerdict(t),
			fmt.Sprintf("%d: %d require IMDSv2, %d allow IMDSv1", p.Instances.Total, p.Instances.Required, p.Instances.Optional), cell(use)})
	}
	return rows
}

// posturesHeader is the first line of the reports across targets.
func posturesHeader(rs []org.TargetResult[*account.Posture]) string {
	ready, notReady, failed := postureCounts(rs)
	return fmt.Sprintf("IMDSv2 posture of %s: %d ready, %d NOT READY, %d failed", countOf(len(rs), "target"), ready, notReady, failed)
}

// posturesText is the report across targets of --output text without
// --query: the summary, a line a target, then the blockers of each target
// that has them, with why and the fix.
func posturesText(rs []org.TargetResult[*account.Posture], errText func(error) string) string {
	var b strings.Builder
	b.WriteString(posturesHeader(rs) + "\n\n")
	w := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ACCOUNT\tREGION\tVERDICT\tINSTANCES\tIMDSv1 USE (OR ERROR)")
	for _, r := range postureRows(rs, errText) {
		fmt.Fprintln(w, strings.Join(r, "\t"))
	}
	w.Flush()
	for _, t := range rs {
		if failedTarget(t) || len(t.Result.Blockers) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\nBlockers of %s, in the order to fix them:\n", cell(t.Target.String()))
		for i, bl := range t.Result.Blockers {
			fmt.Fprintf(&b, "  %d. %s: %s\n", i+1, bl.Kind, cell(bl.Subject()))
			fmt.Fprintf(&b, "     why: %s\n", cell(bl.Reason))
			fmt.Fprintf(&b, "     fix: %s\n", cell(optionFlagNames.Replace(bl.Fix)))
		}
	}
	return b.String()
}

// posturesTable is the report across targets of --output table without
// --query: the same, boxed, the blockers without why and the fix.
func posturesTable(rs []org.TargetResult[*account.Posture], errText func(error) string) string {
	var b strings.Builder
	writeBox(&b, posturesHeader(rs), []string{"Account", "Region", "Verdict", "Instances", "IMDSv1 use (or error)"}, postureRows(rs, errText))
	for _, t := range rs {
		if failedTarget(t) || len(t.Result.Blockers) == 0 {
			continue
		}
		var rows [][]string
		for i, bl := range t.Result.Blockers {
			rows = append(rows, []string{strconv.Itoa(i + 1), string(bl.Kind), cell(bl.Subject())})
		}
		writeBox(&b, "Blockers of "+cell(t.Target.String())+", in the order to fix them (--output text says why, and the fix)",
			[]string{"#", "Kind", "About"}, rows)
	}
	return b.String()
}

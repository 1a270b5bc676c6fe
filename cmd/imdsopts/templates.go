package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imdsopts/imdsopts"
	"github.com/imdsopts/imdsopts/account"
	"github.com/imdsopts/imdsopts/fleet"
	"github.com/imdsopts/imdsopts/internal/awscli"
	"github.com/imdsopts/imdsopts/internal/check"
)

// templates plan and templates apply give each launch template whose
// version in use launches without the options asked for a new version,
// copied from it with only MetadataOptions changed (the library's
// PlanTemplates and ApplyTemplates), and say which Auto Scaling groups will
// not pick it up and which launch configurations must be replaced.

// templateFlags are the options of templates plan and templates apply.
type templateFlags struct {
	options        optionFlags
	makeDefault    bool
	allowDowngrade bool
	description    optString
}

func (f *templateFlags) register(fs *flag.FlagSet) {
	f.options.register(fs)
	fs.BoolVar(&f.makeDefault, "make-default", false, "make each new version its template's default version")
	fs.BoolVar(&f.allowDowngrade, "allow-downgrade", false, "let weakening changes through (HttpTokens required to optional, "+
		"a higher hop limit, the endpoint or instance tags turned on); without it such templates are refused")
	fs.Var(&f.description, "version-description", "`TEXT` the new versions' description, 1..255 characters "+
		"(default \"imdsopts: \" and the options)")
}

// maxVersionDescription is the longest VersionDescription EC2 takes.
const maxVersionDescription = 255

// templatesRun is a parsed templates plan or apply command line.
type templatesRun struct {
	printer *awscli.Printer
	set     imdsopts.Set
	flags   *templateFlags
	apply   bool
}

// templates runs "imdsopts templates plan|apply".
func (a *app) templates(ctx context.Context, g *globals, args []string) error {
	const name = "templates"
	verb, args, help, err := verbOf(name, args, []string{"plan", "apply"}, "imdsopts templates plan|apply OPTIONS")
	switch {
	case help:
		args = []string{"--help"} // parseTemplates prints it
	case err != nil:
		return err
	}
	r, done, err := a.parseTemplates(g, name, args)
	if done || err != nil {
		return err
	}
	r.apply = verb == "apply"
	return a.runTemplates(ctx, g, r)
}

// parseTemplates parses and checks the command line of templates plan or
// apply; done is true when nothing else is to be done (help, version).
func (a *app) parseTemplates(g *globals, name string, args []string) (*templatesRun, bool, error) {
	f := &templateFlags{}
	fs := newFlagSet(name)
	f.register(fs)
	if done, err := a.parseSubcommand(name, g, fs, args, nil); done || err != nil {
		return nil, true, err
	}
	p, err := a.newPrinter(g)
	if err != nil {
		return nil, true, err
	}
	p.KeyOrder = templatesKeyOrder
	set, err := f.options.values().set(nil)
	var bad []string
	if err != nil {
		bad = append(bad, err.Error())
	}
	if d := f.description; d.set && (d.value == "" || len(d.value) > maxVersionDescription) {
		bad = append(bad, fmt.Sprintf("--version-description %s: must be 1..%d characters", check.Quote(d.value), maxVersionDescription))
	}
	if len(bad) > 0 {
		return nil, true, &exitError{code: exitUsage, err: errors.New(strings.Join(bad, moreErrors))}
	}
	if set.IsZero() {
		return nil, true, usageErrorf("at least one of %s is required: the options every template's version in use must launch with", optionFlagList)
	}
	r := &templatesRun{printer: p, set: set, flags: f}
	if err := checkQuery(p, skeletonOf(g, templatesSkeleton())); err != nil {
		return nil, true, err
	}
	return r, false, nil
}

// options are the library's options of the run.
func (r *templatesRun) options(o *account.TemplateOptions) {
	o.MakeDefault = r.flags.makeDefault
	o.AllowDowngrade = r.flags.allowDowngrade
	if r.flags.description.set {
		o.VersionDescription = r.flags.description.value
	}
}

// runTemplates makes the plan, and for apply carries it out; once the plan
// is made, it or the report is printed whatever happens next, and the
// failure that ends the run comes first in the error it returns.
func (a *app) runTemplates(ctx context.Context, g *globals, r *templatesRun) error {
	if g.targets.active() {
		return runAccountAcross(ctx, a, g, r.printer, r.across(a))
	}
	c, err := a.accountClients(ctx, g, clientNeeds{autoScaling: true})
	if err != nil {
		return err
	}
	start := time.Now()
	plan, err := account.PlanTemplates(ctx, c, r.set, r.options)
	if err != nil {
		return err
	}
	if !r.apply {
		perr := a.print(r.printer, r.output("PlanTemplates", plan, plan.Templates, plan.Calls, nil, time.Since(start)))
		a.noteTemplates(plan, plan.Templates)
		return joinFailures(templatesOutcome(plan.Templates), perr)
	}
	report, applyErr := account.ApplyTemplates(ctx, c, plan)
	a.prog.finish(true)
	if report == nil {
		return applyErr
	}
	throttled := report.Throttled
	perr := a.print(r.printer, r.output("ApplyTemplates", plan, report.Templates, callsOf(plan.Calls, report.Calls), &throttled, time.Since(start)))
	if applyErr != nil {
		return joinFailures(applyErr, perr)
	}
	a.noteTemplates(plan, report.Templates)
	return joinFailures(templatesOutcome(report.Templates), perr)
}

// templatesResult is what templates plan or apply made in one target:
// the plan, and for apply the report (nil when it was not carried out).
type templatesResult struct {
	plan   *account.TemplatePlan
	report *account.TemplateReport
}

// templates returns the templates of the report, or else of the plan.
func (t templatesResult) templates() []account.TemplateChange {
	switch {
	case t.report != nil:
		return t.report.Templates
	case t.plan != nil:
		return t.plan.Templates
	}
	return nil
}

// across is templates plan or apply in every target of the target flags:
// in each, the plan, then for apply the report, as in one account.
func (r *templatesRun) across(a *app) accountAcross[templatesResult] {
	observe := func(o *account.TemplateOptions) { a.observeCalls(&o.Options) }
	title := "PlanTemplates"
	if r.apply {
		title = "ApplyTemplates"
	}
	return accountAcross[templatesResult]{
		title: title,
		op: func(ctx context.Context, c account.Clients) (templatesResult, error) {
			plan, err := account.PlanTemplates(ctx, c, r.set, r.options, observe)
			if err != nil || !r.apply {
				return templatesResult{plan: plan}, err
			}
			report, err := account.ApplyTemplates(ctx, c, plan, observe)
			return templatesResult{plan: plan, report: report}, err
		},
		doc: func(t templatesResult, _ error) map[string]any {
			if t.plan == nil || r.apply && t.report == nil {
				return nil
			}
			if t.report == nil {
				return r.output("", t.plan, t.plan.Templates, t.plan.Calls, nil, 0).doc.(map[string]any)
			}
			throttled := t.report.Throttled
			return r.output("", t.plan, t.report.Templates, callsOf(t.plan.Calls, t.report.Calls), &throttled, 0).doc.(map[string]any)
		},
		text: func(t templatesResult) string { return templatesText(t.plan, t.templates()) },
		outcome: func(t templatesResult, err error) error {
			return joinFailures(err, templatesOutcome(t.templates()))
		},
	}
}

// callsOf adds up call counts by operation.
func callsOf(ms ...map[string]int) map[string]int {
	sum := map[string]int{}
	for _, m := range ms {
		for op, n := range m {
			sum[op] += n
		}
	}
	return sum
}

// noteTemplates tells stderr about templates left as they are on purpose,
// the groups that will not launch the new versions, and the launch
// configurations to replace.
func (a *app) noteTemplates(plan *account.TemplatePlan, ts []account.TemplateChange) {
	refused := 0
	for _, t := range ts {
		if t.Status == fleet.StatusRefused {
			refused++
		}
	}
	if refused > 0 {
		a.note("imdsopts: %s not given a weaker version without --allow-downgrade (see %s)", countOf(refused, "template"), a.field("Downgrade", "the ERROR column"))
	}
	if n := len(plan.Groups); n > 0 {
		a.note("imdsopts: %s will still launch instances without %s (see %s)", countOf(n, "Auto Scaling group"), plan.Set,
			a.field("Groups", "the groups after the templates"))
	}
	if n := len(plan.LaunchConfigurations); n > 0 {
		a.note("imdsopts: %s must be replaced: launch configurations cannot change (see %s)", countOf(n, "launch configuration"),
			a.field("LaunchConfigurations", "the launch configurations after the templates"))
	}
}

// templatesOutcome is the exit rule of templates plan and apply, the fleet
// commands' rule: every template is done when none failed or was not
// attempted (applied, satisfied, change and refused-downgrade are outcomes,
// in the output); otherwise exit 254 when any failure is an answer of the
// service (an API error, a template or version not found, a plan gone
// stale), else 255.
func templatesOutcome(ts []account.TemplateChange) error {
	var failed, notAttempted int
	var first error
	service := false
	for _, t := range ts {
		switch t.Status {
		case fleet.StatusFailed:
			failed++
		case fleet.StatusNotAttempted:
			notAttempted++
		default:
			continue
		}
		if first == nil {
			first = t.Err
		}
		service = service || templateServiceFailure(t.Err)
	}
	var parts []string
	if failed > 0 {
		parts = append(parts, fmt.Sprintf("%d of %d template(s) failed", failed, len(ts)))
	}
	if notAttempted > 0 {
		parts = append(parts, fmt.Sprintf("%d of %d template(s) not attempted", notAttempted, len(ts)))
	}
	if len(parts) == 0 {
		return nil
	}
	msg := strings.Join(parts, "; ")
	if first != nil {
		msg += "; first: " + trim(first)
	}
	code := exitOther
	if service {
		code = exitService
	}
	return &exitError{code: code, err: errors.New(msg)}
}

func templateServiceFailure(err error) bool {
	return answered(err) || errors.Is(err, account.ErrTemplateNotFound) || errors.Is(err, account.ErrStalePlan) ||
		errors.Is(err, imdsopts.ErrUnauthorized)
}

// templatesKeyOrder orders the keys of the output: the templates with, for
// each, what its version in use launches and the version that fixes it;
// the groups and launch configurations the plan cannot fix; the counts.
var templatesKeyOrder = []string{
	"Templates", "Groups", "LaunchConfigurations", "Counts", "Calls", "Throttled", "ElapsedSeconds",
	"AutoScalingGroupName", "LaunchTemplateId", "LaunchTemplateName", "LaunchConfigurationName", "AutoScalingGroupNames",
	"SourceVersion", "Version", "VersionNumber", "ImageId", "Launches", "ImageUnknown", "Status", "Changes", "Downgrade",
	"MetadataOptions", "NewVersion", "MadeDefault", "Error", "Reason",
	"HttpTokens", "HttpPutResponseHopLimit", "HttpEndpoint", "HttpProtocolIpv6", "InstanceMetadataTags", "Value", "Source",
	"change", "applied", "satisfied", "held", "pending-until-start", "refused-downgrade", "failed", "not-attempted", "excluded",
}

// output is the output of templates plan (throttled nil) and apply.
func (r *templatesRun) output(title string, plan *account.TemplatePlan, ts []account.TemplateChange, calls map[string]int, throttled *int, elapsed time.Duration) output {
	list := make([]any, 0, len(ts))
	counts := map[fleet.Status]int{}
	for _, t := range ts {
		list = append(list, templateDoc(t))
		counts[t.Status]++
	}
	doc := map[string]any{
		"Templates":            list,
		"Groups":               jsonDoc(plan.Groups),
		"LaunchConfigurations": jsonDoc(plan.LaunchConfigurations),
		"Counts":               statusDoc(counts),
		"Calls":                callsDoc(calls),
		"ElapsedSeconds":       math.Round(elapsed.Seconds()*1000) / 1000,
	}
	if throttled != nil {
		doc["Throttled"] = float64(*throttled)
	}
	text := func() []byte { return []byte(awscli.Sanitize(templatesText(plan, ts))) }
	return output{title: title, doc: doc, text: text}
}

// templateDoc is one template of the output. Launches (what the version in
// use gives a new instance today, each value with its source) is left out
// when it cannot be told, MetadataOptions when no version is needed, and
// Downgrade, NewVersion, MadeDefault and Error when they are empty.
func templateDoc(t account.TemplateChange) map[string]any {
	doc := map[string]any{
		"LaunchTemplateId":   t.LaunchTemplateID,
		"LaunchTemplateName": t.LaunchTemplateName,
		"SourceVersion":      float64(t.SourceVersion),
		"Status":             t.Status.String(),
		"Changes":            setDoc(t.Changes),
	}
	if t.ImageID != "" {
		doc["ImageId"] = t.ImageID
	}
	if t.Effective != nil {
		doc["Launches"] = effectiveDoc(*t.Effective)
	}
	if t.ImageUnknown != "" {
		doc["ImageUnknown"] = t.ImageUnknown
	}
	if !t.Downgrade.IsZero() {
		doc["Downgrade"] = setDoc(t.Downgrade)
	}
	if t.MetadataOptions != nil {
		doc["MetadataOptions"] = templateOptionsDoc(t.MetadataOptions)
	}
	if t.NewVersion != 0 {
		doc["NewVersion"] = float64(t.NewVersion)
	}
	if t.MadeDefault {
		doc["MadeDefault"] = true
	}
	if t.Err != nil {
		doc["Error"] = trim(t.Err)
	}
	return doc
}

// templateOptionsDoc is a template version's MetadataOptions with EC2's
// field names, only the fields it holds.
func templateOptionsDoc(m *types.LaunchTemplateInstanceMetadataOptionsRequest) map[string]any {
	doc := map[string]any{}
	put := func(k, v string) {
		if v != "" {
			doc[k] = v
		}
	}
	put("HttpTokens", string(m.HttpTokens))
	if m.HttpPutResponseHopLimit != nil {
		doc["HttpPutResponseHopLimit"] = float64(aws.ToInt32(m.HttpPutResponseHopLimit))
	}
	put("HttpEndpoint", string(m.HttpEndpoint))
	put("HttpProtocolIpv6", string(m.HttpProtocolIpv6))
	put("InstanceMetadataTags", string(m.InstanceMetadataTags))
	return doc
}

// templateOptionsText formats a version's MetadataOptions on one line.
func templateOptionsText(m *types.LaunchTemplateInstanceMetadataOptionsRequest) string {
	if m == nil {
		return "-"
	}
	var parts []string
	for _, k := range []string{"HttpTokens", "HttpPutResponseHopLimit", "HttpEndpoint", "HttpProtocolIpv6", "InstanceMetadataTags"} {
		switch v := templateOptionsDoc(m)[k].(type) {
		case string:
			parts = append(parts, k+"="+v)
		case float64:
			parts = append(parts, k+"="+strconv.Itoa(int(v)))
		}
	}
	return strings.Join(parts, " ")
}

// templatesText is the text output without --query: one template a line,
// then the groups and launch configurations the plan leaves.
func templatesText(plan *account.TemplatePlan, ts []account.TemplateChange) string {
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "TEMPLATE\tID\tIN USE\tLAUNCHES HttpTokens\tSTATUS\tNEW VERSION\tNEW MetadataOptions\tERROR")
	for _, t := range ts {
		launches := "unknown"
		if t.Effective != nil {
			launches = t.Effective.HTTPTokens.String()
		}
		newVersion := "-"
		if t.NewVersion != 0 {
			newVersion = strconv.FormatInt(t.NewVersion, 10)
			if t.MadeDefault {
				newVersion += " (default)"
			}
		}
		errText := "-"
		if t.Err != nil {
			errText = trim(t.Err)
		}
		fmt.Fprintf(w, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\n", t.LaunchTemplateName, t.LaunchTemplateID, t.SourceVersion, launches,
			t.Status, newVersion, templateOptionsText(t.MetadataOptions), errText)
	}
	w.Flush()
	if len(plan.Groups) > 0 {
		fmt.Fprintf(&b, "\nAuto Scaling groups that will not launch %s:\n", plan.Set)
		w = tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
		for _, n := range plan.Groups {
			fmt.Fprintf(w, "  %s\t%s %s\t%s\n", n.AutoScalingGroupName, n.LaunchTemplateName, n.Version, optionFlagNames.Replace(n.Reason))
		}
		w.Flush()
	}
	if len(plan.LaunchConfigurations) > 0 {
		b.WriteString("\nLaunch configurations to replace:\n")
		w = tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
		for _, n := range plan.LaunchConfigurations {
			groups := "no group"
			if len(n.AutoScalingGroupNames) > 0 {
				groups = "groups " + strings.Join(n.AutoScalingGroupNames, ", ")
			}
			fmt.Fprintf(w, "  %s\t%s\t%s\n", n.LaunchConfigurationName, groups, n.Reason)
		}
		w.Flush()
	}
	return b.String()
}

// templatesSkeleton is the output with every field present, for
// checkQuery.
func templatesSkeleton() map[string]any {
	changes, _ := imdsopts.New(imdsopts.HTTPTokens(types.HttpTokensStateRequired), imdsopts.HopLimit(2),
		imdsopts.HTTPEndpoint(types.InstanceMetadataEndpointStateEnabled), imdsopts.HTTPProtocolIPv6(types.InstanceMetadataProtocolStateEnabled),
		imdsopts.InstanceMetadataTags(types.InstanceMetadataTagsStateEnabled))
	eff := fullEffective
	t := account.TemplateChange{LaunchTemplateID: "lt-0123456789abcdef0", LaunchTemplateName: "web", SourceVersion: 1,
		ImageID: "ami-0123456789abcdef0", Effective: &eff, ImageUnknown: "the reason", MetadataOptions: changes.LaunchTemplateOptions(),
		Changes: changes, Downgrade: changes, Status: fleet.StatusApplied, Err: errors.New("the reason"), NewVersion: 2, MadeDefault: true}
	plan := &account.TemplatePlan{
		Groups: []account.GroupNote{{AutoScalingGroupName: "web", LaunchTemplateID: "lt-0123456789abcdef0", LaunchTemplateName: "web",
			Version: "1", VersionNumber: 1, Reason: "the reason"}},
		LaunchConfigurations: []account.LaunchConfigurationNote{{LaunchConfigurationName: "web", AutoScalingGroupNames: []string{"web"}, Reason: "the reason"}},
	}
	throttled := 0
	calls := map[string]int{"DescribeLaunchTemplates": 1, "CreateLaunchTemplateVersion": 1}
	return (&templatesRun{}).output("", plan, []account.TemplateChange{t}, calls, &throttled, time.Second).doc.(map[string]any)
}

const templatesUsage = `Usage: imdsopts templates plan|apply OPTIONS [options]

Launch templates cannot change: each template whose version in use (its default version) launches
instances without the options given gets a new version, copied from that version with only its
MetadataOptions changed. What a version launches is resolved as EC2 resolves it, with the
account's defaults and the AMI's ImdsSupport. plan prints what apply would do and changes nothing;
apply makes the plan, then creates the versions (CreateLaunchTemplateVersion) and, with
--make-default, makes each the default (ModifyLaunchTemplate), paced to EC2's request limits and
retried on throttling. A template that changed since the plan is not touched: plan again.

Auto Scaling groups launch the version they select: a group on $Latest picks the new version up at
once, one on $Default once it is made the default, one pinned to a number not until the group is
updated. The output names the groups that will not launch the new options, and why, and the launch
configurations that must be replaced by templates (they cannot change either).
`

// templatesNotes are the output, statuses and exit status of templates.
const templatesNotes = `Output (--output json): {"Templates": [{"LaunchTemplateId", "LaunchTemplateName", "SourceVersion"
(the version in use), "ImageId", "Launches" (what it gives a new instance today, each value with its
source), "Status", "Changes", "Downgrade", "MetadataOptions" (the new version's, complete),
"NewVersion", "MadeDefault", "Error"}, ...], "Groups": [{"AutoScalingGroupName", "LaunchTemplateId",
"LaunchTemplateName", "Version", "VersionNumber", "Reason"}, ...], "LaunchConfigurations":
[{"LaunchConfigurationName", "AutoScalingGroupNames", "Reason"}, ...], "Counts", "Calls",
"Throttled" (apply only), "ElapsedSeconds"}. --output text without --query prints one template a
line, then the groups and launch configurations.

Statuses: change (plan: needs a version), applied, satisfied (already launches the options: no
version), refused-downgrade, failed, not-attempted (interrupted first).

Exit status: 0 when every template is done (applied, satisfied, change, refused-downgrade); else
254 when a failure is an answer of the service (an API error, a template or version deleted, a
template changed since the plan), or 255. 130 on Ctrl-C, after printing the report so far. On a
terminal, stderr shows a progress line of the calls.
`

package main

import (
	"context"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imdsopts/imdsopts"
	"github.com/imdsopts/imdsopts/account"
	"github.com/imdsopts/imdsopts/fleet"
	"github.com/imdsopts/imdsopts/internal/awscli"
)

// posture prints where the account's move to IMDSv2 stands in the Region
// (the library's GetPosture): its defaults, enforcement, instances by
// HttpTokens, the templates, groups and AMIs that launch with IMDSv1, IMDSv1
// use attributed to groups and templates, and the verdict. --output json is
// the library's JSON; text and table, without --query, are a report for a
// person. It exits 0 when the account is ready to enforce IMDSv2, 1
// (exitNotReady) when the report is complete and says it is not, and 254 or
// 255 when the report could not be made.

const opPosture = "GetPosture"

// postureFlags are the options of posture.
type postureFlags struct {
	freeDays int64
}

func (f *postureFlags) register(fs *flag.FlagSet) {
	fs.Func("min-imdsv1-free-days", "`N` how far back IMDSv1 use is read, in days (default 14, 1..455)", func(s string) error {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 1 || n > maxIMDSv1FreeDays {
			return fmt.Errorf("must be a whole number of days, 1..%d (posture always reads IMDSv1 use: unread, it is unknown, never ready)", maxIMDSv1FreeDays)
		}
		f.freeDays = n
		return nil
	})
}

// postureKeyOrder orders the keys of the JSON output as the library's
// JSON has them, as far as one order can serve every object.
var postureKeyOrder = []string{
	"Account", "Region", "Time", "Defaults", "Enforced", "Instances", "LaunchTemplates", "AutoScalingGroups", "Images",
	"IMDSv1", "ContainerHosts", "Owners", "Ready", "Blockers",
	// Defaults
	"HttpTokens", "HttpPutResponseHopLimit", "HttpEndpoint", "InstanceMetadataTags", "HttpTokensEnforced", "ManagedBy", "ManagedExceptionMessage",
	// Instances, IMDSv1
	"Total", "Required", "Optional", "AllowIMDSv1", "WindowStart", "WindowEnd", "Known", "Reason", "Measured", "UsedIMDSv1", "Unknown",
	"IMDSv1Calls", "Clean",
	// templates, groups, images, uses, blockers
	"Kind", "AutoScalingGroupName", "AutoScalingGroupNames", "LaunchTemplateId", "LaunchTemplateName", "LaunchTemplateVersion",
	"LaunchConfigurationName", "Version", "Default", "Latest", "Launch", "LaunchesIMDSv1", "VersionNumber", "HttpTokensSource",
	"ImageId", "Name", "OwnerId", "Found", "Owned", "InstanceId", "InstanceIds", "LaunchTemplateIds", "LaunchConfigurationNames",
	// container hosts, owners
	"Signal", "CutOff", "TagKeys", "Fix",
}

// posture runs "imdsopts posture".
func (a *app) posture(ctx context.Context, g *globals, args []string) error {
	const name = "posture"
	f := postureFlags{freeDays: defaultIMDSv1FreeDays}
	fs := newFlagSet(name)
	f.register(fs)
	if done, err := a.parseSubcommand(name, g, fs, args, nil); done || err != nil {
		return err
	}
	p, err := a.newPrinter(g)
	if err != nil {
		return err
	}
	p.KeyOrder = postureKeyOrder
	skeleton := jsonDoc(postureSkeleton())
	if g.targets.active() {
		skeleton = posturesSkeleton()
	}
	if err := checkQuery(p, skeleton); err != nil {
		return err
	}
	window := time.Duration(f.freeDays) * 24 * time.Hour
	if g.targets.active() {
		return a.postureAcross(ctx, g, p, window)
	}
	c, err := a.accountClients(ctx, g, clientNeeds{autoScaling: true, cloudWatch: true})
	if err != nil {
		return err
	}
	pos, err := account.GetPosture(ctx, c, func(o *account.PostureOptions) { o.IMDSv1Window = window })
	if err != nil {
		return err
	}
	if pos.Blockers == nil {
		pos.Blockers = []account.Blocker{} // a list, for --query
	}
	pp, out := ownFormat(p, output{title: opPosture, doc: jsonDoc(pos)}, func(f awscli.Format) []byte {
		switch f {
		case awscli.Text:
			return []byte(postureText(pos, a.whereFlags()))
		case awscli.Table:
			return []byte(postureTable(pos))
		}
		return libraryJSON(pos)
	})
	perr := a.print(pp, out)
	if !pos.Ready {
		return joinFailures(&exitError{code: exitNotReady, err: fmt.Errorf("not ready to enforce IMDSv2: %s, in the order to fix them (see %s)",
			countOf(len(pos.Blockers), "blocker"), a.field("Blockers", "the list under the verdict"))}, perr)
	}
	return perr
}

// cell makes a value from the service fit one cell of a report: control
// characters escaped, tabs and line feeds too, so that nothing breaks a
// column or a line.
func cell(s string) string {
	s = awscli.Sanitize(s)
	return strings.NewReplacer("\t", `\t`, "\n", `\n`).Replace(s)
}

// days formats a window of whole days, as --min-imdsv1-free-days gives it.
func days(d time.Duration) string {
	n := int(d / (24 * time.Hour))
	if d%(24*time.Hour) != 0 {
		return d.String()
	}
	return countOf(n, "day")
}

// verdict is the verdict of a posture in a few words.
func verdict(p *account.Posture) string {
	switch {
	case p.Enforced && p.Ready:
		return "IMDSv2 is enforced, and no launch fails"
	case p.Enforced:
		return fmt.Sprintf("IMDSv2 is enforced, but NOT READY: %s, in the order to fix them", countOf(len(p.Blockers), "blocker"))
	case p.Ready:
		return "READY to enforce IMDSv2: no launch would fail, and nothing that launches unattended uses IMDSv1"
	}
	return fmt.Sprintf("NOT READY to enforce IMDSv2: %s, in the order to fix them", countOf(len(p.Blockers), "blocker"))
}

// defaultsText formats the account defaults on one line.
func defaultsText(d account.State) string {
	v := func(s string) string {
		if s == "" {
			return "no-preference"
		}
		return s
	}
	hop := "no-preference"
	if d.HopLimit > 0 {
		hop = strconv.Itoa(int(d.HopLimit))
	}
	return fmt.Sprintf("HttpTokens %s, HttpPutResponseHopLimit %s, HttpEndpoint %s, InstanceMetadataTags %s, HttpTokensEnforced %s",
		v(string(d.HTTPTokens)), hop, v(string(d.HTTPEndpoint)), v(string(d.InstanceMetadataTags)), v(string(d.HTTPTokensEnforced)))
}

// managedText says who manages the defaults.
func managedText(d account.State) string {
	if d.ManagedByPolicy() {
		msg := "a declarative policy: the account cannot change them"
		if d.ManagedExceptionMessage != "" {
			msg += " (" + d.ManagedExceptionMessage + ")"
		}
		return msg
	}
	if d.ManagedBy == "" {
		return "the account"
	}
	return "the " + string(d.ManagedBy)
}

// launchText formats what one launch gives: "v3 optional (ami)".
func launchText(v account.VersionPosture) string {
	var b strings.Builder
	if v.VersionNumber > 0 {
		fmt.Fprintf(&b, "v%d ", v.VersionNumber)
	}
	if v.Unknown != "" {
		b.WriteString("unknown: " + v.Unknown)
		return b.String()
	}
	fmt.Fprintf(&b, "%s (%v)", v.HTTPTokens, v.HTTPTokensSource)
	return b.String()
}

// useText says what the IMDSv1 use of a group's or template's instances
// means: clean (its launches can require IMDSv2), or what is in the way.
func useText(u account.UseSummary) string {
	switch {
	case u.Instances == 0:
		return "no instances: nothing to measure"
	case u.Clean && u.AllowIMDSv1 == 0:
		return "clean: every instance requires IMDSv2"
	case u.Clean:
		return fmt.Sprintf("clean: no IMDSv1 call from its %s allowing it", countOf(u.AllowIMDSv1, "instance"))
	}
	var parts []string
	if u.UsedIMDSv1 > 0 {
		parts = append(parts, fmt.Sprintf("%d used IMDSv1 (%s calls)", u.UsedIMDSv1, strconv.FormatFloat(u.IMDSv1Calls, 'f', -1, 64)))
	}
	if u.Unknown > 0 {
		parts = append(parts, fmt.Sprintf("%d unknown", u.Unknown))
	}
	return fmt.Sprintf("NOT clean: of %s, %s", countOf(u.Instances, "instance"), strings.Join(parts, ", "))
}

// imdsv1Text summarises the IMDSv1 use of the instances that allow it.
func imdsv1Text(p *account.Posture) string {
	u := p.IMDSv1
	window := days(u.WindowEnd.Sub(u.WindowStart))
	if u.Reason != "" {
		return fmt.Sprintf("UNKNOWN over the last %s: %s", window, u.Reason)
	}
	text := fmt.Sprintf("over the last %s, of %s allowing IMDSv1: %d measured, %d used IMDSv1 (%s calls), %d unknown",
		window, countOf(p.Instances.Optional, "instance"), u.Measured, u.UsedIMDSv1, strconv.FormatFloat(u.IMDSv1Calls, 'f', -1, 64), u.Unknown)
	return text
}

// handLaunched counts the instances of the IMDSv1 use that came from
// neither a group nor a template: listed, but not blockers.
func handLaunched(p *account.Posture) (used, unknown int) {
	for _, u := range p.IMDSv1.Instances {
		if u.AutoScalingGroupName != "" || u.LaunchTemplateID != "" {
			continue
		}
		if u.IMDSv1Calls != nil {
			used++
		} else {
			unknown++
		}
	}
	return used, unknown
}

// postureText is the report of --output text without --query.
func postureText(p *account.Posture, place string) string {
	var b strings.Builder
	where := "Region " + cell(p.Target.Region)
	if p.Target.Region == "" {
		where = "the client's Region"
	}
	if p.Target.Account != "" {
		where = "account " + cell(p.Target.Account) + ", " + where
	}
	fmt.Fprintf(&b, "IMDSv2 posture of %s, at %s\n", where, p.Time.Format(time.RFC3339))
	fmt.Fprintf(&b, "Verdict: %s\n", verdict(p))
	for i, bl := range p.Blockers {
		fmt.Fprintf(&b, "  %d. %s: %s\n", i+1, bl.Kind, cell(bl.Subject()))
		fmt.Fprintf(&b, "     why: %s\n", cell(bl.Reason))
		fmt.Fprintf(&b, "     fix: %s\n", cell(optionFlagNames.Replace(bl.Fix)))
		if cmd := blockerCommand(bl.Kind, place); cmd != "" {
			fmt.Fprintf(&b, "     run: %s\n", cmd)
		}
	}
	b.WriteString("\n")
	w := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "Account defaults:\t%s\n", defaultsText(p.Defaults))
	fmt.Fprintf(w, "Managed by:\t%s\n", cell(managedText(p.Defaults)))
	enforced := "no: launches with IMDSv1 are allowed"
	if p.Enforced {
		enforced = "yes: EC2 refuses launches that do not require IMDSv2"
	}
	fmt.Fprintf(w, "Enforcement:\t%s\n", enforced)
	fmt.Fprintf(w, "Instances:\t%d not terminated: %d require IMDSv2, %d allow IMDSv1\n", p.Instances.Total, p.Instances.Required, p.Instances.Optional)
	fmt.Fprintf(w, "IMDSv1 use:\t%s\n", cell(imdsv1Text(p)))
	if used, unknown := handLaunched(p); used+unknown > 0 {
		fmt.Fprintf(w, "\tof them launched by neither a group nor a template: %d used IMDSv1, %d unknown (not blockers: enforcement leaves running instances alone)\n", used, unknown)
	}
	w.Flush()

	section := func(title string, header string, rows [][]string) {
		fmt.Fprintf(&b, "\n%s\n", title)
		if len(rows) == 0 {
			b.WriteString("  none\n")
			return
		}
		w := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "  "+header)
		for _, r := range rows {
			fmt.Fprintln(w, "  "+strings.Join(r, "\t"))
		}
		w.Flush()
	}
	section("Launch templates that launch with IMDSv1, or whose instances use it:",
		"NAME\tID\t$Default\t$Latest\tGROUPS\tIMDSv1 USE OF ITS INSTANCES", templateRows(p))
	section("Auto Scaling groups that launch with IMDSv1, or whose instances use it:",
		"NAME\tLAUNCHES\tHttpTokens\tIMDSv1 USE OF ITS INSTANCES", groupRows(p))
	section("AMIs without ImdsSupport v2.0:",
		"IMAGE\tNAME\tOWNER\tINSTANCES\tLAUNCH TEMPLATES\tLAUNCH CONFIGURATIONS", imageRows(p))
	section("Container hosts (a container is one network hop further from IMDS: with IMDSv2 required, they need hop limit 2):",
		"INSTANCE\tHttpTokens\tHOP LIMIT\tGROUP\tSHOWN BY", containerRows(p))
	section("Owners of the instances, by what launched them (a change made to an instance in place is undone when its owner "+
		"replaces or updates it: the lasting fix goes where each says):",
		"KIND\tNAME\tINSTANCES\tALLOW IMDSv1\tWHERE THE FIX GOES", ownerRows(p))
	return b.String()
}

func containerRows(p *account.Posture) [][]string {
	var rows [][]string
	for _, h := range p.ContainerHosts {
		hop := strconv.Itoa(int(h.HopLimit))
		if h.CutOff {
			hop += " (its containers cannot reach IMDS now)"
		} else if h.HopLimit < 2 {
			hop += " (requiring IMDSv2 cuts its containers off)"
		}
		rows = append(rows, []string{cell(h.InstanceID), cell(orDash(string(h.HTTPTokens))), hop, cell(orDash(h.AutoScalingGroupName)), cell(h.Signal)})
	}
	return rows
}

func ownerRows(p *account.Posture) [][]string {
	var rows [][]string
	for _, o := range p.Owners {
		rows = append(rows, []string{cell(o.Kind), cell(o.Name), cell(fmt.Sprintf("%d: %s", len(o.InstanceIDs), idList(o.InstanceIDs))),
			strconv.Itoa(o.AllowIMDSv1), cell(optionFlagNames.Replace(o.Fix))})
	}
	return rows
}

func templateRows(p *account.Posture) [][]string {
	var rows [][]string
	for _, t := range p.LaunchTemplates {
		rows = append(rows, []string{cell(t.LaunchTemplateName), cell(t.LaunchTemplateID), cell(launchText(t.Default)), cell(launchText(t.Latest)),
			cell(listText(t.AutoScalingGroupNames)), cell(useText(t.IMDSv1))})
	}
	return rows
}

func groupRows(p *account.Posture) [][]string {
	var rows [][]string
	for _, g := range p.AutoScalingGroups {
		launches := "launch configuration " + g.LaunchConfigurationName
		if g.LaunchConfigurationName == "" {
			launches = fmt.Sprintf("template %s %s", g.LaunchTemplateName, g.Version)
			if g.LaunchTemplateName == "" {
				launches = fmt.Sprintf("template %s %s", g.LaunchTemplateID, g.Version)
			}
		}
		tokens := launchText(g.Launch)
		if g.LaunchesIMDSv1 && !g.Launch.LaunchesIMDSv1() {
			tokens += "; another way it launches allows IMDSv1"
		}
		rows = append(rows, []string{cell(g.AutoScalingGroupName), cell(launches), cell(tokens), cell(useText(g.IMDSv1))})
	}
	return rows
}

func imageRows(p *account.Posture) [][]string {
	var rows [][]string
	for _, im := range p.Images {
		owner := "another account"
		switch {
		case !im.Found:
			owner = "unknown: not returned by DescribeImages"
		case im.Owned:
			owner = "this account: images set-imdsv2 can set v2.0"
		case im.OwnerID != "":
			owner = "account " + im.OwnerID
		}
		rows = append(rows, []string{cell(im.ImageID), cell(orDash(im.Name)), cell(owner), strconv.Itoa(im.Instances),
			cell(listText(im.LaunchTemplateIDs)), cell(listText(im.LaunchConfigurationNames))})
	}
	return rows
}

func listText(s []string) string {
	if len(s) == 0 {
		return "-"
	}
	return strings.Join(s, ", ")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// postureTable is the report of --output table without --query: the
// same, boxed.
func postureTable(p *account.Posture) string {
	var b strings.Builder
	summary := [][]string{
		{"Region", cell(orDash(p.Target.Region))},
		{"Time", p.Time.Format(time.RFC3339)},
		{"Verdict", verdict(p)},
		{"Account defaults", defaultsText(p.Defaults)},
		{"Managed by", cell(managedText(p.Defaults))},
		{"Enforced", strconv.FormatBool(p.Enforced)},
		{"Instances", fmt.Sprintf("%d: %d require IMDSv2, %d allow IMDSv1", p.Instances.Total, p.Instances.Required, p.Instances.Optional)},
		{"IMDSv1 use", cell(imdsv1Text(p))},
	}
	if p.Target.Account != "" {
		summary = append([][]string{{"Account", cell(p.Target.Account)}}, summary...)
	}
	writeBox(&b, "IMDSv2 posture", nil, summary)
	var blockers [][]string
	for i, bl := range p.Blockers {
		blockers = append(blockers, []string{strconv.Itoa(i + 1), string(bl.Kind), cell(bl.Subject())})
	}
	if len(blockers) > 0 {
		writeBox(&b, "Blockers, in the order to fix them (--output text says why, and the fix)", []string{"#", "Kind", "About"}, blockers)
	}
	if rows := templateRows(p); len(rows) > 0 {
		writeBox(&b, "Launch templates that launch with IMDSv1, or whose instances use it",
			[]string{"Name", "ID", "$Default", "$Latest", "Groups", "IMDSv1 use of its instances"}, rows)
	}
	if rows := groupRows(p); len(rows) > 0 {
		writeBox(&b, "Auto Scaling groups that launch with IMDSv1, or whose instances use it",
			[]string{"Name", "Launches", "HttpTokens", "IMDSv1 use of its instances"}, rows)
	}
	if rows := imageRows(p); len(rows) > 0 {
		writeBox(&b, "AMIs without ImdsSupport v2.0", []string{"Image", "Name", "Owner", "Instances", "Launch templates", "Launch configurations"}, rows)
	}
	if rows := containerRows(p); len(rows) > 0 {
		writeBox(&b, "Container hosts (with IMDSv2 required, they need hop limit 2)", []string{"Instance", "HttpTokens", "Hop limit", "Group", "Shown by"}, rows)
	}
	if rows := ownerRows(p); len(rows) > 0 {
		writeBox(&b, "Owners of the instances (a change in place is undone when they replace or update it)",
			[]string{"Kind", "Name", "Instances", "Allow IMDSv1", "Where the fix goes"}, rows)
	}
	return b.String()
}

// writeBox writes a table with a title, an optional header and rows, each
// cell padded, in the AWS CLI's style of borders.
func writeBox(b *strings.Builder, title string, header []string, rows [][]string) {
	cols := len(header)
	for _, r := range rows {
		cols = max(cols, len(r))
	}
	widths := make([]int, cols)
	measure := func(r []string) {
		for i, c := range r {
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
		}
	}
	measure(header)
	for _, r := range rows {
		measure(r)
	}
	inner := 0
	for _, w := range widths {
		inner += w + 3 // " c |"
	}
	inner-- // the last border is the box's
	if t := utf8.RuneCountInString(title) + 2; t > inner {
		widths[cols-1] += t - inner
		inner = t
	}
	rule := func() {
		b.WriteString("+")
		for _, w := range widths {
			b.WriteString(strings.Repeat("-", w+2) + "+")
		}
		b.WriteString("\n")
	}
	line := func(r []string) {
		b.WriteString("|")
		for i, w := range widths {
			c := ""
			if i < len(r) {
				c = r[i]
			}
			b.WriteString(" " + c + strings.Repeat(" ", w-utf8.RuneCountInString(c)) + " |")
		}
		b.WriteString("\n")
	}
	b.WriteString("+" + strings.Repeat("-", inner) + "+\n")
	pad := inner - utf8.RuneCountInString(title)
	b.WriteString("|" + strings.Repeat(" ", pad/2) + title + strings.Repeat(" ", pad-pad/2) + "|\n")
	rule()
	if header != nil {
		line(header)
		rule()
	}
	for _, r := range rows {
		line(r)
	}
	rule()
}

// postureSkeleton is a posture with every field present, for checkQuery.
func postureSkeleton() *account.Posture {
	calls := 1.0
	vp := account.VersionPosture{VersionNumber: 1, HTTPTokens: types.HttpTokensStateOptional, HTTPTokensSource: imdsopts.SourceDefault,
		ImageID: "ami-0123456789abcdef0", Unknown: "the reason"}
	use := account.UseSummary{Instances: 1, AllowIMDSv1: 1, UsedIMDSv1: 1, IMDSv1Calls: 1, Unknown: 1, Clean: true}
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	return &account.Posture{
		Target: account.Target{Account: "123456789012", Region: "us-east-1"}, Time: now, Defaults: fullAccountDefaults, Enforced: true,
		Instances: account.InstanceCounts{Total: 1, Required: 1, Optional: 1, AllowIMDSv1: []string{"i-0123456789abcdef0"}},
		LaunchTemplates: []account.TemplatePosture{{LaunchTemplateID: "lt-0123456789abcdef0", LaunchTemplateName: "web", Default: vp, Latest: vp,
			AutoScalingGroupNames: []string{"web"}, IMDSv1: use}},
		AutoScalingGroups: []account.GroupPosture{{AutoScalingGroupName: "web", LaunchTemplateID: "lt-0123456789abcdef0", LaunchTemplateName: "web",
			LaunchConfigurationName: "web", Version: "$Default", Launch: vp, LaunchesIMDSv1: true, IMDSv1: use}},
		Images: []account.ImagePosture{{ImageID: "ami-0123456789abcdef0", Name: "app", OwnerID: "123456789012", Found: true, Owned: true,
			Instances: 1, LaunchTemplateIDs: []string{"lt-0123456789abcdef0"}, LaunchConfigurationNames: []string{"web"}}},
		IMDSv1: account.IMDSv1Use{WindowStart: now.Add(-time.Hour), WindowEnd: now, Known: true, Reason: "the reason", Measured: 1, UsedIMDSv1: 1,
			Unknown: 1, IMDSv1Calls: 1, Instances: []account.InstanceUse{{InstanceID: "i-0123456789abcdef0", AutoScalingGroupName: "web",
				LaunchTemplateID: "lt-0123456789abcdef0", LaunchTemplateVersion: "1", IMDSv1Calls: &calls, Unknown: "the reason"}}},
		ContainerHosts: []account.ContainerHost{{InstanceID: "i-0123456789abcdef0", Signal: "tag eks:cluster-name", HTTPTokens: types.HttpTokensStateOptional,
			HopLimit: 1, CutOff: true, AutoScalingGroupName: "web", LaunchTemplateID: "lt-0123456789abcdef0"}},
		Owners: []account.OwnerPosture{{Owner: fleet.Owner{Kind: "auto-scaling", Name: "web", Fix: "the fix"},
			InstanceIDs: []string{"i-0123456789abcdef0"}, AllowIMDSv1: 1}},
		Ready: true,
		Blockers: []account.Blocker{{Kind: account.BlockerGroupTemplate, AutoScalingGroupNames: []string{"web"}, LaunchTemplateID: "lt-0123456789abcdef0",
			LaunchTemplateName: "web", VersionNumber: 1, LaunchConfigurationName: "web", ImageID: "ami-0123456789abcdef0",
			InstanceIDs: []string{"i-0123456789abcdef0"}, TagKeys: []string{"kubernetes.io/cluster/prod"}, HTTPTokens: types.HttpTokensStateOptional,
			HTTPTokensSource: imdsopts.SourceDefault, Reason: "the reason", Fix: "the fix"}},
	}
}

const postureUsage = `Usage: imdsopts posture [--min-imdsv1-free-days N] [options]

Reports where the account's move to IMDSv2 stands in the Region, changing nothing: its default
metadata options (and whether a declarative policy manages them), whether it enforces IMDSv2, its
instances by HttpTokens, the launch templates and Auto Scaling groups that launch with IMDSv1,
the AMIs without ImdsSupport v2.0, and the IMDSv1 use (CloudWatch MetadataNoToken) of every
instance that allows IMDSv1, attributed to the group and template it came from: a group whose
instances are all clean can have its template require IMDSv2. Then the verdict: ready to enforce
IMDSv2, or the blockers in the order to fix them.

IMDSv1 use is read as the IMDSv1 gate of plan reads it: only a complete measurement counts. When
CloudWatch cannot be read, the use is "unknown", and the account is never ready; so is one whose
Auto Scaling groups cannot be listed. Instances launched by neither a group nor a template are
listed, but do not block: enforcement leaves running instances alone.

Beyond HttpTokens, it reports what breaks teams moving to IMDSv2: container hosts (tagged by EKS,
Kubernetes, Karpenter or ECS, or launched with the user data of the EKS bootstrap script, nodeadm
or the ECS agent), whose containers, one network hop further, cannot reach IMDS when tokens are
required with hop limit 1: a group, template or launch configuration that launches them with a hop
limit below 2 is a blocker (container-hop-limit), as enforcement makes every launch require tokens;
launches that turn instance tags in the metadata on (the account default, or a template) for
instances with tag keys EC2 refuses there, such as kubernetes.io/cluster/NAME: EC2 refuses those
launches (imds-tag-keys, with the keys); and the owners of the instances (an Elastic Beanstalk
environment, an EKS managed node group, Karpenter, a CloudFormation stack, an Auto Scaling group),
which undo a change made in place when they replace or update the instance: the report groups the
instances by owner, with where the lasting fix goes.

`

// postureNotes are posture's output and exit status.
const postureNotes = `Output: --output json is the library's posture, the same for the same account at the same time:
{"Region", "Time", "Defaults", "Enforced", "Instances", "LaunchTemplates", "AutoScalingGroups",
"Images", "IMDSv1", "ContainerHosts", "Owners", "Ready", "Blockers"}. --output text and table
without --query print a report for a person: the verdict and its blockers first, then the rest,
the container hosts and the owners last.

Exit status: 0 when the account is ready to enforce IMDSv2 (or enforces it, and no launch fails);
1 when the report is complete and says it is not (the blockers are printed): a script gating on
readiness runs "imdsopts posture >/dev/null && ..."; 254 or 255 when the report could not be made
(a listing failed: the service's error, or no answer).
`

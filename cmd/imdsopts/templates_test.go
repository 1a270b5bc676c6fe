package main

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/imdsopts/imdsopts/fake"
)

// templatesAccount has template web (HttpTokens optional, version 1, with
// groups on $Default, $Latest and pinned to 1), template api (already
// required), template old (version 2 the default, hop limit 3), and a
// launch configuration that launches with IMDSv1.
func templatesAccount(t *testing.T) (e *acct, web, api, old string) {
	t.Helper()
	e = newAcct(t)
	web = e.template(t, "web", types.LaunchTemplateHttpTokensStateOptional)
	e.group(t, "web-default", web, "$Default", 1)
	e.group(t, "web-latest", web, "$Latest", 1)
	e.group(t, "web-pinned", web, "1", 1)
	api = e.template(t, "api", types.LaunchTemplateHttpTokensStateRequired)
	old = e.template(t, "old", "", "")
	if _, err := e.ec2.EC2.ModifyLaunchTemplate(context.Background(), &ec2.ModifyLaunchTemplateInput{LaunchTemplateId: aws.String(old), DefaultVersion: aws.String("2")}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.as.CreateLaunchConfiguration(context.Background(), &autoscaling.CreateLaunchConfigurationInput{
		LaunchConfigurationName: aws.String("legacy-lc"), ImageId: aws.String(e.image), InstanceType: aws.String("t3.micro"),
		MetadataOptions: &astypes.InstanceMetadataOptions{HttpTokens: astypes.InstanceMetadataHttpTokensStateOptional}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.as.CreateAutoScalingGroup(context.Background(), &autoscaling.CreateAutoScalingGroupInput{AutoScalingGroupName: aws.String("legacy"),
		MinSize: aws.Int32(0), MaxSize: aws.Int32(2), DesiredCapacity: aws.Int32(1), AvailabilityZones: []string{"us-east-1a"},
		LaunchConfigurationName: aws.String("legacy-lc")}); err != nil {
		t.Fatal(err)
	}
	return e, web, api, old
}

// templateItems returns the Templates of an output by name.
func templateItems(t *testing.T, out string) map[string]map[string]any {
	t.Helper()
	m := map[string]map[string]any{}
	for _, it := range parseJSON(t, out).(map[string]any)["Templates"].([]any) {
		item := it.(map[string]any)
		m[item["LaunchTemplateName"].(string)] = item
	}
	return m
}

// plan says, template by template, the version in use, what it launches,
// and the complete MetadataOptions of the version that fixes it; the groups
// that will not pick it up and why; the launch configurations to replace.
// It changes nothing.
func TestTemplatesPlan(t *testing.T) {
	e, web, _, _ := templatesAccount(t)
	r := e.run(t, t.Context(), "templates", "plan", "--http-tokens", "required", "--http-put-response-hop-limit", "2")
	wantCode(t, r, exitOK)
	if sent := e.ec2.sent(); len(sent) != 0 {
		t.Fatalf("plan sent %v", sent)
	}
	items := templateItems(t, r.stdout)
	want := map[string]map[string]any{
		"web": {"LaunchTemplateId": web, "LaunchTemplateName": "web", "SourceVersion": 1.0, "ImageId": e.image, "Status": "change",
			"Launches": map[string]any{
				"HttpTokens":              map[string]any{"Value": "optional", "Source": "template"},
				"HttpPutResponseHopLimit": map[string]any{"Value": 1.0, "Source": "default"},
				"HttpEndpoint":            map[string]any{"Value": "enabled", "Source": "default"},
				"HttpProtocolIpv6":        map[string]any{"Value": "disabled", "Source": "default"},
				"InstanceMetadataTags":    map[string]any{"Value": "disabled", "Source": "default"},
			},
			"Changes":         map[string]any{"HttpTokens": "required", "HttpPutResponseHopLimit": 2.0},
			"Downgrade":       map[string]any{"HttpPutResponseHopLimit": 2.0},
			"MetadataOptions": map[string]any{"HttpTokens": "required", "HttpPutResponseHopLimit": 2.0},
			"Error":           "launch template " + web + ": HttpPutResponseHopLimit=2: change weakens the instance (allow it with AllowDowngrade)"},
	}
	// A higher hop limit weakens: refused without --allow-downgrade.
	want["web"]["Status"] = "refused-downgrade"
	if diff := cmp.Diff(want["web"], items["web"]); diff != "" {
		t.Errorf("web (-want +got):\n%s", diff)
	}
	if items["old"]["SourceVersion"] != 2.0 || items["api"]["Status"] != "refused-downgrade" {
		t.Errorf("old %v\napi %v", items["old"], items["api"])
	}
	if !strings.Contains(r.stderr, "imdsopts: 3 templates not given a weaker version without --allow-downgrade (see \"Downgrade\" in the output)") {
		t.Errorf("stderr %s", r.stderr)
	}

	// Only HttpTokens: nothing weakens.
	r = e.run(t, t.Context(), "templates", "plan", "--http-tokens", "required")
	wantCode(t, r, exitOK)
	items = templateItems(t, r.stdout)
	got := map[string]string{}
	for name, it := range items {
		got[name] = it["Status"].(string)
	}
	if diff := cmp.Diff(map[string]string{"web": "change", "api": "satisfied", "old": "change"}, got); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]any{"HttpTokens": "required"}, items["web"]["MetadataOptions"]); diff != "" {
		t.Errorf("web's new MetadataOptions (-want +got):\n%s", diff)
	}
	if _, ok := items["api"]["MetadataOptions"]; ok {
		t.Errorf("a satisfied template gets MetadataOptions: %v", items["api"])
	}
	doc := parseJSON(t, r.stdout).(map[string]any)
	var groups []string
	for _, g := range doc["Groups"].([]any) {
		g := g.(map[string]any)
		groups = append(groups, g["AutoScalingGroupName"].(string)+": "+g["Reason"].(string))
	}
	wantGroups := []string{
		"web-default: on $Default (version 1), and the new version is not made the default (MakeDefault): it launches without HttpTokens=required",
		"web-pinned: pinned to version 1: it launches without HttpTokens=required; point the group at the new version, $Default or $Latest",
	}
	if diff := cmp.Diff(wantGroups, groups); diff != "" {
		t.Errorf("groups (-want +got):\n%s", diff)
	}
	lcs := doc["LaunchConfigurations"].([]any)
	if len(lcs) != 1 || lcs[0].(map[string]any)["LaunchConfigurationName"] != "legacy-lc" ||
		!strings.Contains(lcs[0].(map[string]any)["Reason"].(string), "launch configurations cannot change") {
		t.Errorf("launch configurations %v", lcs)
	}
	for _, want := range []string{
		"imdsopts: 2 Auto Scaling groups will still launch instances without HttpTokens=required (see \"Groups\" in the output)",
		"imdsopts: 1 launch configuration must be replaced: launch configurations cannot change (see \"LaunchConfigurations\" in the output)",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	if counts := doc["Counts"].(map[string]any); counts["change"] != 2.0 || counts["satisfied"] != 1.0 {
		t.Errorf("counts %v", counts)
	}

	// With --make-default, the group on $Default picks it up.
	r = e.run(t, t.Context(), "templates", "plan", "--http-tokens", "required", "--make-default", "--query", "Groups[].AutoScalingGroupName", "--output", "text")
	wantCode(t, r, exitOK)
	if r.stdout != "web-pinned\n" {
		t.Errorf("groups with --make-default: %q", r.stdout)
	}
}

// apply creates the versions (copied from the version in use, only
// MetadataOptions given) and with --make-default makes them the default.
func TestTemplatesApply(t *testing.T) {
	e, web, _, old := templatesAccount(t)
	r := e.run(t, t.Context(), "templates", "apply", "--http-tokens", "required", "--make-default", "--version-description", "require IMDSv2")
	wantCode(t, r, exitOK)
	items := templateItems(t, r.stdout)
	for name, want := range map[string]map[string]any{
		"web": {"Status": "applied", "NewVersion": 2.0, "MadeDefault": true},
		"old": {"Status": "applied", "NewVersion": 3.0, "MadeDefault": true},
		"api": {"Status": "satisfied"},
	} {
		for k, v := range want {
			if items[name][k] != v {
				t.Errorf("%s: %s = %v, want %v", name, k, items[name][k], v)
			}
		}
	}
	var sent []string
	for _, in := range e.ec2.sent() {
		switch in := in.(type) {
		case *ec2.CreateLaunchTemplateVersionInput:
			md := in.LaunchTemplateData.MetadataOptions
			sent = append(sent, "create "+aws.ToString(in.LaunchTemplateId)+" from "+aws.ToString(in.SourceVersion)+" "+string(md.HttpTokens)+" "+aws.ToString(in.VersionDescription))
			if in.LaunchTemplateData.ImageId != nil || in.LaunchTemplateData.InstanceType != "" {
				t.Errorf("more than MetadataOptions sent: %+v", in.LaunchTemplateData)
			}
		case *ec2.ModifyLaunchTemplateInput:
			sent = append(sent, "default "+aws.ToString(in.LaunchTemplateId)+" "+aws.ToString(in.DefaultVersion))
		}
	}
	want := []string{"create " + old + " from 2 required require IMDSv2", "default " + old + " 3", "create " + web + " from 1 required require IMDSv2", "default " + web + " 2"}
	if diff := cmp.Diff(want, sent, cmpSorted); diff != "" {
		t.Errorf("sent (-want +got):\n%s", diff)
	}
	// The new default version keeps what version 1 launched, and requires
	// IMDSv2.
	out, err := e.ec2.EC2.DescribeLaunchTemplateVersions(t.Context(), &ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateId: aws.String(web), Versions: []string{"$Default"}})
	if err != nil {
		t.Fatal(err)
	}
	v := out.LaunchTemplateVersions[0]
	if aws.ToInt64(v.VersionNumber) != 2 || v.LaunchTemplateData.MetadataOptions.HttpTokens != "required" || aws.ToString(v.LaunchTemplateData.ImageId) != e.image {
		t.Errorf("web's default version %d: %+v", aws.ToInt64(v.VersionNumber), v.LaunchTemplateData)
	}
	if !strings.Contains(r.stderr, "imdsopts: 1 Auto Scaling group will still launch instances without HttpTokens=required (see \"Groups\" in the output)") {
		t.Errorf("stderr %s", r.stderr)
	}
	// Applied again: every template satisfied, nothing sent.
	before := len(e.ec2.sent())
	r = e.run(t, t.Context(), "templates", "apply", "--http-tokens", "required", "--make-default", "--query", "Counts.satisfied")
	wantCode(t, r, exitOK)
	if r.stdout != "3\n" || len(e.ec2.sent()) != before {
		t.Errorf("again: %q, %d sent", r.stdout, len(e.ec2.sent())-before)
	}

	r = e.run(t, t.Context(), "templates", "apply", "--http-tokens", "required", "--output", "text")
	wantCode(t, r, exitOK)
	for _, want := range []string{
		"TEMPLATE  ID                    IN USE  LAUNCHES HttpTokens  STATUS     NEW VERSION  NEW MetadataOptions  ERROR\n",
		"web       " + web + "  2       required (template)  satisfied  -            -                    -\n",
		"\nAuto Scaling groups that will not launch HttpTokens=required:\n  web-pinned  web 1  pinned to version 1",
		"\nLaunch configurations to replace:\n  legacy-lc  groups legacy  it launches without HttpTokens=required; launch configurations cannot change",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("text lacks %q:\n%s", want, r.stdout)
		}
	}
}

// cmpSorted compares lists of strings in any order.
var cmpSorted = cmpopts.SortSlices(func(a, b string) bool { return a < b })

// --allow-downgrade lets a weaker version through.
func TestTemplatesDowngrade(t *testing.T) {
	e, _, _, _ := templatesAccount(t)
	r := e.run(t, t.Context(), "templates", "apply", "--http-tokens", "optional", "--query", "Templates[?LaunchTemplateName=='api'].Status", "--output", "text")
	wantCode(t, r, exitOK)
	if r.stdout != "refused-downgrade\n" {
		t.Errorf("without --allow-downgrade: %q", r.stdout)
	}
	r = e.run(t, t.Context(), "templates", "apply", "--http-tokens", "optional", "--allow-downgrade", "--query", "Templates[?LaunchTemplateName=='api'].[Status, NewVersion]", "--output", "text")
	wantCode(t, r, exitOK)
	if r.stdout != "applied\t2\n" {
		t.Errorf("with --allow-downgrade: %q", r.stdout)
	}
}

// Faults end in a defined outcome: a template deleted between the plan and
// its apply fails, the others are applied, exit 254; throttling is retried
// and counted; a call without an answer is 255.
func TestTemplatesFaults(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e, web, _, _ := templatesAccount(t)
		e.ec2.beforeListTemplates = func(n int) {
			if n == 2 { // ApplyTemplates lists again: web is gone
				if _, err := e.ec2.EC2.DeleteLaunchTemplate(context.Background(), &ec2.DeleteLaunchTemplateInput{LaunchTemplateId: aws.String(web)}); err != nil {
					t.Error(err)
				}
			}
		}
		r := e.run(t, t.Context(), "templates", "apply", "--http-tokens", "required", "--make-default")
		wantCode(t, r, exitService)
		items := templateItems(t, r.stdout)
		if items["web"]["Status"] != "failed" || !strings.Contains(items["web"]["Error"].(string), "deleted since the plan") || items["old"]["Status"] != "applied" {
			t.Errorf("web %v\nold %v", items["web"], items["old"])
		}
		if !strings.Contains(r.stderr, "imdsopts: error: 1 of 3 template(s) failed; first: launch template "+web+": deleted since the plan") {
			t.Errorf("stderr %s", r.stderr)
		}
		e.ec2.beforeListTemplates = nil

		e, _, _, _ = templatesAccount(t)
		e.ec2.FailNext("CreateLaunchTemplateVersion", 3, fake.NewAPIError(503, "RequestLimitExceeded", "Request limit exceeded."))
		r = e.run(t, t.Context(), "templates", "apply", "--http-tokens", "required", "--query", "[Counts.applied, Throttled]", "--output", "text")
		wantCode(t, r, exitOK)
		if r.stdout != "2\t3\n" {
			t.Errorf("throttled: %q", r.stdout)
		}

		e, _, _, _ = templatesAccount(t)
		e.ec2.FailNext("CreateLaunchTemplateVersion", 10, errors.New("dial tcp 127.0.0.1:443: connect: connection refused"))
		r = e.run(t, t.Context(), "templates", "apply", "--http-tokens", "required")
		wantCode(t, r, exitOther)
		if items := templateItems(t, r.stdout); items["web"]["Status"] != "failed" {
			t.Errorf("no answer: %v", items["web"])
		}
	})
}

// Ctrl-C during apply: the report so far, exit 130.
func TestTemplatesInterrupted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e, _, _, _ := templatesAccount(t)
		e.ec2.FailNext("CreateLaunchTemplateVersion", 1000, fake.NewAPIError(503, "RequestLimitExceeded", "Request limit exceeded."))
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan result)
		go func() { done <- e.run(t, ctx, "templates", "apply", "--http-tokens", "required") }()
		time.Sleep(30 * time.Second)
		cancel()
		r := <-done
		wantCode(t, r, exitInterrupted)
		items := templateItems(t, r.stdout)
		if items["api"]["Status"] != "satisfied" || items["web"]["Status"] == "applied" {
			t.Errorf("report so far: %s", r.stdout)
		}
		if !strings.Contains(r.stderr, "interrupted") {
			t.Errorf("stderr %s", r.stderr)
		}
	})
}

// On a terminal, a run that lasts shows a progress line of its calls,
// kept once the report is printed.
func TestTemplatesProgress(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e, _, _, _ := templatesAccount(t)
		e.ec2.FailNext("CreateLaunchTemplateVersion", 4, fake.NewAPIError(503, "RequestLimitExceeded", "Request limit exceeded."))
		r := e.runIO(t, t.Context(), true, "", "templates", "apply", "--http-tokens", "required")
		wantCode(t, r, exitOK)
		if !strings.Contains(r.stderr, "\r  ") || !strings.Contains(r.stderr, "CreateLaunchTemplateVersion") || !strings.Contains(r.stderr, "failed") {
			t.Errorf("stderr %q", r.stderr)
		}
		r = e.runIO(t, t.Context(), false, "", "templates", "apply", "--http-tokens", "required")
		wantCode(t, r, exitOK)
		if strings.Contains(r.stderr, "\r") {
			t.Errorf("a progress line on a file: %q", r.stderr)
		}
	})
}

// Bad command lines: exit 252 before any client is built.
func TestTemplatesInvalidCommandLines(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"templates"}, "templates: plan or apply is required"},
		{[]string{"templates", "aply", "--http-tokens", "required"}, `templates: unknown verb "aply"; did you mean apply?`},
		{[]string{"templates", "--http-tokens", "required", "plan"}, `templates: unknown verb "--http-tokens"`},
		{[]string{"templates", "plan"}, "at least one of --http-tokens"},
		{[]string{"templates", "plan", "--http-tokens", "Required"}, `--http-tokens "Required": must be one of "optional", "required"`},
		{[]string{"templates", "apply", "--http-put-response-hop-limit", "65"}, "--http-put-response-hop-limit 65: must be 1..64"},
		{[]string{"templates", "apply", "--http-endpoint", "disabled", "--http-protocol-ipv6", "enabled"}, "--http-protocol-ipv6"},
		{[]string{"templates", "apply", "--http-tokens", "required", "--version-description", strings.Repeat("x", 256)}, "--version-description \"xxx"},
		{[]string{"templates", "apply", "--http-tokens", "required", "--version-description", ""}, `--version-description "": must be 1..255 characters`},
		{[]string{"templates", "apply", "--http-tokens", "required", "--make-defualt"}, "unknown option --make-defualt; did you mean --make-default?"},
		{[]string{"templates", "apply", "--http-tokens", "required", "--query", "Templates[0].NewVersion | abs(@) | length(@)"}, "nothing was sent"},
		{[]string{"templates", "apply", "--http-tokens", "required", "extra"}, `unexpected argument "extra"`},
	}
	for _, tt := range tests {
		r := (*acct)(nil).run(t, t.Context(), tt.args...)
		wantCode(t, r, exitUsage)
		if !strings.Contains(r.stderr, tt.want) || r.stdout != "" {
			t.Errorf("%q: stdout %q stderr %q, want %q", tt.args, r.stdout, r.stderr, tt.want)
		}
	}
}

package main

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imdsopts/imdsopts/fake"
)

// The account-wide subcommands with the target flags: each runs its
// operation of one account in every target, and prints one entry a target
// keyed by account and Region.

// orgTargets are the target flags of every account of the organisation of
// newOrgEnv(t, memberA) in us-east-1 and eu-west-1: everyTarget.
var orgTargets = []string{"--organization-role", testRole, "--regions", "us-east-1,eu-west-1"}

// roleTargets are the target flags of memberA and noRoleID, whose role
// cannot be assumed, in us-east-1 and eu-west-1.
var roleTargets = []string{"--role-arn", "arn:aws:iam::" + memberA + ":role/" + testRole,
	"--role-arn", "arn:aws:iam::" + noRoleID + ":role/" + testRole, "--regions", "us-east-1,eu-west-1"}

// failedTargets are the targets of roleTargets that fail.
var failedTargets = []string{noRoleID + "/eu-west-1", noRoleID + "/us-east-1"}

// splitTarget splits ACCOUNT/REGION.
func splitTarget(k string) (account, region string) {
	account, region, _ = strings.Cut(k, "/")
	return account, region
}

// checkFailedTargets checks the entries, the count and the text lines of
// targets that failed because their role could not be assumed.
func checkFailedTargets(t *testing.T, doc map[string]any, failed []string) {
	t.Helper()
	for _, k := range failed {
		account, region := splitTarget(k)
		d := target(t, doc, account, region)
		if msg, _ := d["Error"].(string); !strings.Contains(msg, "AccessDenied") {
			t.Errorf("%s: error %q, want AccessDenied", k, msg)
		}
	}
	if doc["TargetsFailed"] != float64(len(failed)) {
		t.Errorf("TargetsFailed %v, want %d", doc["TargetsFailed"], len(failed))
	}
}

// checkTextLines checks that every line of a text output begins with the
// account and Region of one of targets, each of which has a line, and that
// each of failed has a "target-failed" line with its error (after what it
// did, when it did some).
func checkTextLines(t *testing.T, out string, targets, failed []string) {
	t.Helper()
	seen := map[string]bool{}
	for line := range strings.Lines(out) {
		f := strings.SplitN(line, "\t", 3)
		if len(f) < 3 || !slices.Contains(targets, f[0]+"/"+f[1]) {
			t.Errorf("line %q does not begin with a target's account and Region", line)
			continue
		}
		seen[f[0]+"/"+f[1]] = true
	}
	for _, k := range targets {
		if !seen[k] {
			t.Errorf("no line of %s:\n%s", k, out)
		}
	}
	for _, k := range failed {
		account, region := splitTarget(k)
		if !strings.Contains(out, account+"\t"+region+"\ttarget-failed\t") || !strings.Contains(out, "AccessDenied") {
			t.Errorf("no target-failed line of %s with its error:\n%s", k, out)
		}
	}
}

// defaultsOf returns the account defaults of a target as its fake has them.
func (e *orgEnv) defaultsOf(t *testing.T, account, region string) *types.InstanceMetadataDefaultsResponse {
	t.Helper()
	out, err := e.ec2(t, account, region).GetInstanceMetadataDefaults(t.Context(), &ec2.GetInstanceMetadataDefaultsInput{})
	if err != nil {
		t.Fatal(err)
	}
	return out.AccountLevel
}

// get- and modify-instance-metadata-defaults across two accounts and two
// Regions: each target with its own defaults, keyed by account and
// Region, in JSON and in text; modify sets them in every target.
func TestDefaultsAcross(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newOrgEnv(t, memberA)
		for i, k := range everyTarget {
			account, region := splitTarget(k)
			if _, err := e.ec2(t, account, region).ModifyInstanceMetadataDefaults(t.Context(),
				&ec2.ModifyInstanceMetadataDefaultsInput{HttpPutResponseHopLimit: aws.Int32(int32(i + 1))}); err != nil {
				t.Fatal(err)
			}
		}
		r := e.run(t, t.Context(), append([]string{"get-instance-metadata-defaults"}, orgTargets...)...)
		wantCode(t, r, exitOK)
		doc := parseJSON(t, r.stdout).(map[string]any)
		if got := docTargets(t, doc); !slices.Equal(got, everyTarget) {
			t.Errorf("targets %v, want %v", got, everyTarget)
		}
		for i, k := range everyTarget {
			account, region := splitTarget(k)
			d := target(t, doc, account, region)
			if hop := d["AccountLevel"].(map[string]any)["HttpPutResponseHopLimit"]; hop != float64(i+1) || d["Error"] != nil {
				t.Errorf("%s: hop limit %v, error %v; want %d", k, hop, d["Error"], i+1)
			}
		}
		if doc["TargetsFailed"] != 0.0 {
			t.Errorf("TargetsFailed %v", doc["TargetsFailed"])
		}

		r = e.run(t, t.Context(), append([]string{"get-instance-metadata-defaults", "--output", "text"}, orgTargets...)...)
		wantCode(t, r, exitOK)
		checkTextLines(t, r.stdout, everyTarget, nil)
		for i, k := range everyTarget {
			account, region := splitTarget(k)
			if !strings.Contains(r.stdout, fmt.Sprintf("%s\t%s\tACCOUNTLEVEL\t", account, region)) ||
				!strings.Contains(r.stdout, fmt.Sprintf("\t%d\t", i+1)) {
				t.Errorf("text of %s lacks its hop limit %d:\n%s", k, i+1, r.stdout)
			}
		}

		r = e.run(t, t.Context(), append([]string{"modify-instance-metadata-defaults", "--http-tokens", "required"}, orgTargets...)...)
		wantCode(t, r, exitOK)
		doc = parseJSON(t, r.stdout).(map[string]any)
		for i, k := range everyTarget {
			account, region := splitTarget(k)
			if d := target(t, doc, account, region); d["Return"] != true || d["Error"] != nil {
				t.Errorf("%s: %v", k, d)
			}
			if got := e.defaultsOf(t, account, region); got.HttpTokens != types.HttpTokensStateRequired || aws.ToInt32(got.HttpPutResponseHopLimit) != int32(i+1) {
				t.Errorf("%s: defaults HttpTokens %s, hop limit %d", k, got.HttpTokens, aws.ToInt32(got.HttpPutResponseHopLimit))
			}
		}
	})
}

// A target whose role cannot be assumed is reported with its error, in
// JSON and in text, while the others are read and set; exit 254.
func TestDefaultsAcrossFailures(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newOrgEnv(t, memberA, noRoleID)
		good := []string{memberA + "/eu-west-1", memberA + "/us-east-1"}
		all := slices.Concat(good, failedTargets)
		r := e.run(t, t.Context(), append([]string{"get-instance-metadata-defaults"}, roleTargets...)...)
		wantCode(t, r, exitService)
		doc := parseJSON(t, r.stdout).(map[string]any)
		checkFailedTargets(t, doc, failedTargets)
		for _, k := range good {
			account, region := splitTarget(k)
			if d := target(t, doc, account, region); d["AccountLevel"] == nil || d["Error"] != nil {
				t.Errorf("%s: %v", k, d)
			}
		}
		if !strings.Contains(r.stderr, "2 of 4 target(s) failed:\n  "+noRoleID+"/eu-west-1: ") {
			t.Errorf("stderr does not name the failed targets:\n%s", r.stderr)
		}

		r = e.run(t, t.Context(), append([]string{"get-instance-metadata-defaults", "--output", "text"}, roleTargets...)...)
		wantCode(t, r, exitService)
		checkTextLines(t, r.stdout, all, failedTargets)

		r = e.run(t, t.Context(), append([]string{"modify-instance-metadata-defaults", "--http-put-response-hop-limit", "3"}, roleTargets...)...)
		wantCode(t, r, exitService)
		checkFailedTargets(t, parseJSON(t, r.stdout).(map[string]any), failedTargets)
		for _, k := range all {
			account, region := splitTarget(k)
			want := int32(3)
			if slices.Contains(failedTargets, k) {
				want = 0
			}
			if got := aws.ToInt32(e.defaultsOf(t, account, region).HttpPutResponseHopLimit); got != want {
				t.Errorf("%s: hop limit %d, want %d", k, got, want)
			}
		}
	})
}

// Enabling enforcement checks each target's readiness in that target: the
// one with a template that launches with IMDSv1 is refused, with its
// blockers, nothing sent there; the others are enforced; exit 1.
func TestModifyDefaultsAcrossNotReady(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newOrgEnv(t, memberA)
		notReady := memberA + "/eu-west-1"
		account, region := splitTarget(notReady)
		e.orgTemplates(t, account, region, 1)
		r := e.run(t, t.Context(), append([]string{"modify-instance-metadata-defaults", "--http-tokens", "required",
			"--http-tokens-enforced", "enabled"}, orgTargets...)...)
		wantCode(t, r, exitNotReady)
		doc := parseJSON(t, r.stdout).(map[string]any)
		for _, k := range everyTarget {
			account, region := splitTarget(k)
			d := target(t, doc, account, region)
			enforced := e.defaultsOf(t, account, region).HttpTokensEnforced
			if k == notReady {
				if len(d["Blockers"].([]any)) == 0 || d["Error"] == nil || d["Return"] != nil || enforced == types.HttpTokensEnforcedStateEnabled {
					t.Errorf("%s, not ready: %v; enforcement %s", k, d, enforced)
				}
				continue
			}
			if d["Return"] != true || d["Error"] != nil || enforced != types.HttpTokensEnforcedStateEnabled {
				t.Errorf("%s, ready: %v; enforcement %s", k, d, enforced)
			}
		}
		if !strings.Contains(r.stderr, "not ready to enforce IMDSv2 in 1 of 4 target(s):\n  "+notReady+": 1 blocker, listed in the output; nothing was sent") {
			t.Errorf("stderr does not name the target not ready:\n%s", r.stderr)
		}
	})
}

// orgTemplates registers an image in a target, and makes n launch
// templates of it that launch with HttpTokens optional, named after the
// target; it returns their names.
func (e *orgEnv) orgTemplates(t *testing.T, account, region string, n int) []string {
	t.Helper()
	f := e.ec2(t, account, region)
	img, err := f.RegisterImage(t.Context(), &ec2.RegisterImageInput{Name: aws.String("base")})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for i := range n {
		name := fmt.Sprintf("%s-%s-%d", account, region, i)
		if _, err := f.CreateLaunchTemplate(t.Context(), &ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String(name),
			LaunchTemplateData: &types.RequestLaunchTemplateData{ImageId: img.ImageId, InstanceType: types.InstanceTypeT3Micro,
				MetadataOptions: &types.LaunchTemplateInstanceMetadataOptionsRequest{HttpTokens: types.LaunchTemplateHttpTokensStateOptional}}}); err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
	}
	return names
}

// entryTemplates returns the names of the templates of a target's entry.
func entryTemplates(d map[string]any) []string {
	var names []string
	for _, v := range d["Templates"].([]any) {
		names = append(names, v.(map[string]any)["LaunchTemplateName"].(string))
	}
	slices.Sort(names)
	return names
}

// templates plan and apply across two accounts and two Regions: each
// target's entry holds its own templates, the counts add up, and apply
// gives every template of every target its new version.
func TestTemplatesAcross(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newOrgEnv(t, memberA)
		names := map[string][]string{}
		for i, k := range everyTarget {
			account, region := splitTarget(k)
			names[k] = e.orgTemplates(t, account, region, i+1)
		}
		for _, verb := range []string{"plan", "apply"} {
			r := e.run(t, t.Context(), append([]string{"templates", verb, "--http-tokens", "required"}, orgTargets...)...)
			wantCode(t, r, exitOK)
			doc := parseJSON(t, r.stdout).(map[string]any)
			if got := docTargets(t, doc); !slices.Equal(got, everyTarget) {
				t.Errorf("%s: targets %v, want %v", verb, got, everyTarget)
			}
			status := map[string]string{"plan": "change", "apply": "applied"}[verb]
			for _, k := range everyTarget {
				account, region := splitTarget(k)
				d := target(t, doc, account, region)
				if got := entryTemplates(d); !slices.Equal(got, names[k]) {
					t.Errorf("%s %s: templates %v, want %v", verb, k, got, names[k])
				}
				if n := d["Counts"].(map[string]any)[status]; n != float64(len(names[k])) {
					t.Errorf("%s %s: %v %s", verb, k, n, status)
				}
			}
			if n := doc["Counts"].(map[string]any)[status]; n != 10.0 || doc["TargetsFailed"] != 0.0 {
				t.Errorf("%s: %v %s in all, %v targets failed; want 10, 0", verb, n, status, doc["TargetsFailed"])
			}
		}
		for _, k := range everyTarget {
			account, region := splitTarget(k)
			out, err := e.ec2(t, account, region).DescribeLaunchTemplates(t.Context(), &ec2.DescribeLaunchTemplatesInput{})
			if err != nil {
				t.Fatal(err)
			}
			for _, lt := range out.LaunchTemplates {
				if aws.ToInt64(lt.LatestVersionNumber) != 2 {
					t.Errorf("%s: template %s has no new version", k, aws.ToString(lt.LaunchTemplateName))
				}
			}
		}
		r := e.run(t, t.Context(), append([]string{"templates", "plan", "--http-tokens", "required", "--output", "text"}, orgTargets...)...)
		wantCode(t, r, exitOK)
		checkTextLines(t, r.stdout, everyTarget, nil)
	})
}

// A template plan or apply in a target whose role cannot be assumed fails
// there, reported with its error; the others are done; exit 254.
func TestTemplatesAcrossFailures(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newOrgEnv(t, memberA, noRoleID)
		all := slices.Concat([]string{memberA + "/eu-west-1", memberA + "/us-east-1"}, failedTargets)
		for _, k := range all {
			account, region := splitTarget(k)
			e.orgTemplates(t, account, region, 1)
		}
		r := e.run(t, t.Context(), append([]string{"templates", "apply", "--http-tokens", "required"}, roleTargets...)...)
		wantCode(t, r, exitService)
		doc := parseJSON(t, r.stdout).(map[string]any)
		checkFailedTargets(t, doc, failedTargets)
		if n := doc["Counts"].(map[string]any)["applied"]; n != 2.0 {
			t.Errorf("%v applied, want the 2 of the good targets", n)
		}
		r = e.run(t, t.Context(), append([]string{"templates", "plan", "--http-tokens", "required", "--output", "text"}, roleTargets...)...)
		wantCode(t, r, exitService)
		checkTextLines(t, r.stdout, all, failedTargets)
	})
}

// images set-imdsv2 across two accounts and two Regions: the same AMI ID
// names an image of each target's own, each entry has its own, and each
// gets v2.0; a target whose role cannot be assumed fails, the others are
// done, exit 254.
func TestImagesAcross(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newOrgEnv(t, memberA, noRoleID)
		all := slices.Concat(everyTarget, failedTargets)
		id := ""
		for _, k := range all {
			account, region := splitTarget(k)
			out, err := e.ec2(t, account, region).RegisterImage(t.Context(), &ec2.RegisterImageInput{Name: aws.String("app-" + account + "-" + region)})
			if err != nil {
				t.Fatal(err)
			}
			if id == "" {
				id = aws.ToString(out.ImageId)
			} else if aws.ToString(out.ImageId) != id {
				t.Fatalf("%s: image %s, not %s", k, aws.ToString(out.ImageId), id)
			}
		}
		// The organisation has noRoleID: its two good accounts by their roles.
		good := []string{"--role-arn", "arn:aws:iam::" + mgmtID + ":role/" + testRole, "--role-arn", "arn:aws:iam::" + memberA + ":role/" + testRole,
			"--regions", "us-east-1,eu-west-1"}
		r := e.run(t, t.Context(), append([]string{"images", "set-imdsv2", "--image-ids", id, confirm}, good...)...)
		wantCode(t, r, exitOK)
		doc := parseJSON(t, r.stdout).(map[string]any)
		if got := docTargets(t, doc); !slices.Equal(got, everyTarget) {
			t.Errorf("targets %v, want %v", got, everyTarget)
		}
		for _, k := range everyTarget {
			account, region := splitTarget(k)
			im := target(t, doc, account, region)["Images"].([]any)[0].(map[string]any)
			if im["Name"] != "app-"+account+"-"+region || im["Status"] != "applied" {
				t.Errorf("%s: image %v", k, im)
			}
		}
		if doc["Counts"].(map[string]any)["applied"] != 4.0 || !strings.Contains(r.stderr, "imdsopts: warning: ImdsSupport v2.0 cannot be undone") {
			t.Errorf("counts %v; stderr %s", doc["Counts"], r.stderr)
		}

		r = e.run(t, t.Context(), append([]string{"images", "set-imdsv2", "--image-ids", id, confirm, "--output", "text"}, roleTargets...)...)
		wantCode(t, r, exitService)
		checkTextLines(t, r.stdout, slices.Concat([]string{memberA + "/eu-west-1", memberA + "/us-east-1"}, failedTargets), failedTargets)
		for _, k := range failedTargets {
			account, region := splitTarget(k)
			out, err := e.ec2(t, account, region).DescribeImageAttribute(context.Background(),
				&ec2.DescribeImageAttributeInput{ImageId: aws.String(id), Attribute: "imdsSupport"})
			if err != nil {
				t.Fatal(err)
			}
			if out.ImdsSupport != nil && aws.ToString(out.ImdsSupport.Value) != "" {
				t.Errorf("%s, whose role cannot be assumed, was changed", k)
			}
		}
	})
}

// A bad value, a missing confirmation or a dry run with the target flags
// is refused before any call in any target: exit 252, no request.
func TestAccountAcrossRefusedBeforeAnyCall(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"get-instance-metadata-defaults", "--dry-run"}, "--dry-run (or DryRun in --cli-input-json): not with the target flags"},
		{[]string{"modify-instance-metadata-defaults", "--http-tokens", "maybe"}, `--http-tokens "maybe"`},
		{[]string{"modify-instance-metadata-defaults", "--http-put-response-hop-limit", "65"}, "--http-put-response-hop-limit"},
		{[]string{"modify-instance-metadata-defaults", "--http-tokens", "required", "--dry-run"}, "not with the target flags"},
		{[]string{"templates", "plan", "--http-tokens", "maybe"}, `--http-tokens "maybe"`},
		{[]string{"templates", "apply", "--http-tokens", "required", "--version-description", ""}, "--version-description"},
		{[]string{"images", "set-imdsv2", "--image-ids", "ami-0123456789abcdef0"}, "--i-understand-this-cannot-be-undone is required"},
		{[]string{"images", "set-imdsv2", "--image-ids", "ami-123", confirm}, `--image-ids "ami-123"`},
		{[]string{"templates", "plan", "--http-tokens", "required", "--query", "abs(Targets[0].Templates[0].Status)"}, "nothing was sent"},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := newOrgEnv(t, memberA)
				r := e.run(t, t.Context(), append(tt.args, orgTargets...)...)
				wantCode(t, r, exitUsage)
				if !strings.Contains(r.stderr, tt.want) {
					t.Errorf("stderr %q lacks %q", r.stderr, tt.want)
				}
				if n := e.requestCount(); n != 0 {
					t.Errorf("%d requests before the error", n)
				}
			})
		})
	}
}

// On a terminal, the progress line of an account-wide subcommand across
// targets counts the targets done, as posture's does.
func TestAccountAcrossProgress(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newOrgEnv(t, memberA)
		for i, k := range everyTarget {
			account, region := splitTarget(k)
			e.orgTemplates(t, account, region, 10*(i+1))
		}
		// Every answer takes a second of the bubble's clock, and those of
		// us-east-1 a minute, so that the targets in eu-west-1 are done
		// while the others are under way.
		home, _ := e.org.Management().Region("us-east-1")
		h := fake.NewHandler(home.EC2(), func(o *fake.HandlerOptions) { o.Organization = e.org })
		cfg := fake.InMemoryConfig(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.Contains(r.Header.Get("Authorization"), "/us-east-1/ec2/") {
				time.Sleep(time.Minute)
			}
			time.Sleep(time.Second)
			h.ServeHTTP(w, r)
		}))
		var stdout, stderr strings.Builder
		args := append([]string{"templates", "plan", "--http-tokens", "required"}, orgTargets...)
		if code := runWith(t.Context(), args, strings.NewReader(""), &stdout, &stderr, noEnv, nil, withConfig(cfg), withTerminal(true)); code != exitOK {
			t.Fatalf("exit %d\n%s", code, stderr.String())
		}
		lines := strings.Split(strings.ReplaceAll(stderr.String(), "\r", "\n"), "\n")
		for _, want := range []string{"targets 0/4", "targets 2/4"} {
			if !slices.ContainsFunc(lines, func(l string) bool { return strings.Contains(l, want) }) {
				t.Errorf("no progress line %q...:\n%s", want, stderr.String())
			}
		}
	})
}

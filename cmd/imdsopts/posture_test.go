package main

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/google/go-cmp/cmp"

	"github.com/imdsopts/imdsopts/account"
	"github.com/imdsopts/imdsopts/fake"
)

// midMigration is an account in the middle of its migration: group web-asg
// launches template web, which asks for HttpTokens optional, and its
// instances are clean; group batch-asg launches template batch (no
// HttpTokens: the account default decides), and one of its instances
// still calls IMDSv1; a hand-launched instance calls IMDSv1 too; template
// api already requires IMDSv2. Two hours of history are in CloudWatch.
// Call it inside a synctest bubble.
func midMigration(t *testing.T) (e *acct, byHand string) {
	t.Helper()
	e = newAcct(t)
	web := e.template(t, "web", types.LaunchTemplateHttpTokensStateOptional)
	e.group(t, "web-asg", web, "$Default", 2)
	batch := e.template(t, "batch", "")
	e.group(t, "batch-asg", batch, "$Latest", 2)
	e.template(t, "api", types.LaunchTemplateHttpTokensStateRequired)
	ids, err := e.ec2.Launch(1, func(o *fake.LaunchOptions) { o.ImageID = e.image })
	if err != nil {
		t.Fatal(err)
	}
	byHand = ids[0]
	if err := e.ec2.CallIMDSv1(byHand, 3); err != nil {
		t.Fatal(err)
	}
	out, err := e.as.DescribeAutoScalingGroups(context.Background(), &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{"batch-asg"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.ec2.CallIMDSv1(aws.ToString(out.AutoScalingGroups[0].Instances[0].InstanceId), 1); err != nil {
		t.Fatal(err)
	}
	// Two hours; CloudWatch has published all but the last 5-minute
	// period (it comes a minute after it ends): 115 minutes of calls.
	time.Sleep(2 * time.Hour)
	return e, byHand
}

// posture's JSON is the library's, field for field; the verdict decides
// the exit status: 1 while not ready, with the blockers in the order to
// fix them.
func TestPostureJSONIsTheLibrarys(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e, _ := midMigration(t)
		r := e.run(t, t.Context(), "posture")
		wantCode(t, r, exitNotReady)
		want, err := account.GetPosture(t.Context(), account.Clients{EC2: e.ec2.EC2, AutoScaling: e.as, CloudWatch: e.cw})
		if err != nil {
			t.Fatal(err)
		}
		b, err := json.MarshalIndent(want, "", "    ")
		if err != nil {
			t.Fatal(err)
		}
		if r.stdout != string(b)+"\n" {
			t.Errorf("stdout is not the library's JSON:\n%s", cmp.Diff(string(b)+"\n", r.stdout))
		}
		var kinds []string
		for _, b := range want.Blockers {
			kinds = append(kinds, string(b.Kind)+" "+b.Subject())
		}
		wantKinds := []string{
			"imdsv1-in-use group batch-asg, instance " + want.Blockers[0].InstanceIDs[0],
			"group-launch-template launch template batch (lt-00000000000000002) version 1, with AMI ami-00000000000000001, group batch-asg",
			"group-launch-template launch template web (lt-00000000000000001) version 1, group web-asg",
			"account-default the account",
		}
		if diff := cmp.Diff(wantKinds, kinds); diff != "" {
			t.Errorf("blockers (-want +got):\n%s", diff)
		}
		if !strings.Contains(r.stderr, "imdsopts: error: not ready to enforce IMDSv2: 4 blockers, in the order to fix them (see \"Blockers\" in the output)") {
			t.Errorf("stderr %q", r.stderr)
		}
		// --query works on the same document, and on lists when ready too.
		r = e.run(t, t.Context(), "posture", "--query", "[Ready, length(Blockers), AutoScalingGroups[?IMDSv1.Clean].AutoScalingGroupName]", "--output", "text")
		wantCode(t, r, exitNotReady)
		if r.stdout != "False\t4\nweb-asg\n" {
			t.Errorf("query: %q", r.stdout)
		}
	})
}

// The text report reads at a glance: the verdict and its blockers first,
// then the defaults, instances, IMDSv1 use, and the templates, groups and
// AMIs, with which groups are clean and can require IMDSv2.
func TestPostureText(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e, byHand := midMigration(t)
		r := e.run(t, t.Context(), "posture", "--output", "text")
		wantCode(t, r, exitNotReady)
		if names := libraryNames.FindAllString(r.stdout+r.stderr, -1); len(names) > 0 {
			t.Errorf("the report names the library's %q, not the command's:\n%s", names, r.stdout)
		}
		lines := strings.Split(r.stdout, "\n")
		if !strings.HasPrefix(lines[0], "IMDSv2 posture of the client's Region, at 2000-01-01T02:00:00Z") ||
			lines[1] != "Verdict: NOT READY to enforce IMDSv2: 4 blockers, in the order to fix them" ||
			!strings.HasPrefix(lines[2], "  1. imdsv1-in-use: group batch-asg, instance i-") {
			t.Errorf("the verdict first:\n%s", r.stdout)
		}
		// The blockers in order, each with why, the fix, and the command
		// that fixes it where there is one.
		last := 0
		for _, want := range []string{
			"  1. imdsv1-in-use: group batch-asg, instance i-",
			"     why: 1 instance made 115 IMDSv1 calls over the last 14 days",
			"  2. group-launch-template: launch template batch (lt-00000000000000002) version 1, with AMI ami-00000000000000001, group batch-asg\n",
			"     run: imdsopts templates plan --http-tokens required --make-default, then templates apply with the same options\n",
			"  3. group-launch-template: launch template web (lt-00000000000000001) version 1, group web-asg\n",
			"     why: it launches with HttpTokens \"optional\" (from the launch template), so EC2 would refuse the launch",
			"  4. account-default: the account\n",
			"     run: imdsopts modify-instance-metadata-defaults --http-tokens required --http-tokens-enforced enabled\n",
			"\nAccount defaults:",
		} {
			i := strings.Index(r.stdout[last:], want)
			if i < 0 {
				t.Errorf("text lacks %q after byte %d:\n%s", want, last, r.stdout)
				continue
			}
			last += i
		}
		for _, want := range []string{
			"Account defaults:  HttpTokens no-preference, HttpPutResponseHopLimit no-preference, HttpEndpoint no-preference, InstanceMetadataTags no-preference, HttpTokensEnforced no-preference\n",
			"Managed by:        the account\n",
			"Enforcement:       no: launches with IMDSv1 are allowed\n",
			"Instances:         5 not terminated: 0 require IMDSv2, 5 allow IMDSv1\n",
			"IMDSv1 use:        over the last 14 days, of 5 instances allowing IMDSv1: 5 measured, 2 used IMDSv1 (460 calls), 0 unknown\n",
			"of them launched by neither a group nor a template: 1 used IMDSv1, 0 unknown (not blockers: enforcement leaves running instances alone)",
			"  batch  lt-00000000000000002  v1 optional (default)   v1 optional (default)   batch-asg  NOT clean: of 2 instances, 1 used IMDSv1 (115 calls)\n",
			"  web    lt-00000000000000001  v1 optional (template)  v1 optional (template)  web-asg    clean: no IMDSv1 call from its 2 instances allowing it\n",
			"  batch-asg  template batch $Latest  v1 optional (default)   NOT clean: of 2 instances, 1 used IMDSv1 (115 calls)\n",
			"  web-asg    template web $Default   v1 optional (template)  clean: no IMDSv1 call from its 2 instances allowing it\n",
			"  ami-00000000000000001  app   this account: images set-imdsv2 can set v2.0  5          lt-00000000000000001, lt-00000000000000002, lt-00000000000000003  -\n",
		} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("text lacks %q:\n%s", want, r.stdout)
			}
		}
		if strings.Contains(r.stdout, byHand) {
			t.Errorf("the hand-launched instance is a blocker:\n%s", r.stdout)
		}

		r = e.run(t, t.Context(), "posture", "--output", "table")
		wantCode(t, r, exitNotReady)
		for _, want := range []string{
			" IMDSv2 posture ",
			"| Verdict          | NOT READY to enforce IMDSv2: 4 blockers, in the order to fix them",
			"| # | Kind                  | About ",
			"| 3 | group-launch-template | launch template web (lt-00000000000000001) version 1, group web-asg ",
			"| web-asg   | template web $Default  | v1 optional (template) | clean: no IMDSv1 call from its 2 instances allowing it |",
		} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("table lacks %q:\n%s", want, r.stdout)
			}
		}
	})
}

// Ready, and enforced: exit 0, with the verdict said so.
func TestPostureReady(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newAcct(t)
		lt := e.template(t, "web", types.LaunchTemplateHttpTokensStateRequired)
		e.group(t, "web-asg", lt, "$Default", 2)
		e.setDefaults(t, &ec2.ModifyInstanceMetadataDefaultsInput{HttpTokens: "required"})
		time.Sleep(time.Hour)
		r := e.run(t, t.Context(), "posture", "--output", "text")
		wantCode(t, r, exitOK)
		if !strings.Contains(r.stdout, "\nVerdict: READY to enforce IMDSv2: no launch would fail, and nothing that launches unattended uses IMDSv1\n\n") {
			t.Errorf("stdout:\n%s", r.stdout)
		}
		r = e.run(t, t.Context(), "posture", "--query", "Blockers")
		wantCode(t, r, exitOK)
		if r.stdout != "[]\n" {
			t.Errorf("Blockers of a ready account: %q", r.stdout)
		}
		e.setDefaults(t, &ec2.ModifyInstanceMetadataDefaultsInput{HttpTokensEnforced: "enabled"})
		r = e.run(t, t.Context(), "posture", "--output", "text")
		wantCode(t, r, exitOK)
		if !strings.Contains(r.stdout, "Verdict: IMDSv2 is enforced, and no launch fails\n") ||
			!strings.Contains(r.stdout, "Enforcement:       yes: EC2 refuses launches that do not require IMDSv2\n") {
			t.Errorf("stdout:\n%s", r.stdout)
		}
	})
}

// CloudWatch failing: IMDSv1 use is unknown, and the account never ready,
// in every format.
func TestPostureCloudWatchFailing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newAcct(t)
		lt := e.template(t, "web", types.LaunchTemplateHttpTokensStateRequired)
		e.group(t, "web-asg", lt, "$Default", 1)
		if _, err := e.ec2.Launch(1, func(o *fake.LaunchOptions) { o.ImageID = e.image }); err != nil {
			t.Fatal(err)
		}
		e.setDefaults(t, &ec2.ModifyInstanceMetadataDefaultsInput{HttpTokens: "required"})
		time.Sleep(time.Hour)
		e.cw.FailNext(1000, fake.NewAPIError(403, "AccessDenied", "User is not authorized to perform: cloudwatch:GetMetricData"))
		r := e.run(t, t.Context(), "posture", "--output", "text")
		wantCode(t, r, exitNotReady)
		for _, want := range []string{
			"Verdict: NOT READY to enforce IMDSv2: 1 blocker, in the order to fix them\n",
			"  1. imdsv1-use-unknown: the account\n",
			"IMDSv1 use:        UNKNOWN over the last 14 days: reading CloudWatch failed: ",
			"AccessDenied",
		} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("text lacks %q:\n%s", want, r.stdout)
			}
		}
		if strings.Contains(r.stdout, "READY to") && !strings.Contains(r.stdout, "NOT READY") {
			t.Errorf("ready while CloudWatch fails:\n%s", r.stdout)
		}
		e.cw.FailNext(1000, fake.NewAPIError(500, "InternalServiceError", "try later"))
		r = e.run(t, t.Context(), "posture", "--query", "[Ready, IMDSv1.Known, Blockers[0].Kind]", "--output", "text")
		wantCode(t, r, exitNotReady)
		if r.stdout != "False\tFalse\timdsv1-use-unknown\n" {
			t.Errorf("json: %q", r.stdout)
		}
	})
}

// A listing that fails is no report: the service's error, exit 254,
// nothing printed; a call that gets no answer, 255.
func TestPostureListingFails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newAcct(t)
		e.ec2.Deny("DescribeLaunchTemplates")
		r := e.run(t, t.Context(), "posture")
		wantCode(t, r, exitService)
		if r.stdout != "" || !strings.Contains(r.stderr, "UnauthorizedOperation") {
			t.Errorf("stdout %q stderr %q", r.stdout, r.stderr)
		}
	})
}

// --min-imdsv1-free-days sets the window; 0 and beyond 455 are refused
// before any client is built.
func TestPostureWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newAcct(t)
		r := e.run(t, t.Context(), "posture", "--min-imdsv1-free-days", "30", "--query", "IMDSv1.[WindowStart, WindowEnd]", "--output", "text")
		if r.stdout != "1999-12-02T00:00:00Z\t2000-01-01T00:00:00Z\n" {
			t.Errorf("window: %q (exit %d, %s)", r.stdout, r.code, r.stderr)
		}
	})
	for _, v := range []string{"0", "456", "-1", "1.5", "two"} {
		r := (*acct)(nil).run(t, t.Context(), "posture", "--min-imdsv1-free-days", v)
		wantCode(t, r, exitUsage)
		if !strings.Contains(r.stderr, "--min-imdsv1-free-days") || !strings.Contains(r.stderr, "1..455") {
			t.Errorf("%s: %q", v, r.stderr)
		}
	}
	r := (*acct)(nil).run(t, t.Context(), "posture", "--query", "Blockers[0].Kind.Nope | abs(@)")
	wantCode(t, r, exitUsage)
}

// A policy-managed account: the posture says who manages the defaults, with
// the policy's message.
func TestPosturePolicyManaged(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newAcct(t)
		if err := e.ec2.SetDeclarativePolicy(&fake.DeclarativePolicy{HttpTokens: "required", HttpTokensEnforced: "enabled",
			ManagedExceptionMessage: "Managed by the platform team."}); err != nil {
			t.Fatal(err)
		}
		r := e.run(t, t.Context(), "posture", "--output", "text")
		wantCode(t, r, exitOK)
		if !strings.Contains(r.stdout, "Managed by:        a declarative policy: the account cannot change them (Managed by the platform team.)\n") {
			t.Errorf("stdout:\n%s", r.stdout)
		}
	})
}

// What the service says cannot drive the terminal, nor break the report's
// columns: here a policy's message.
func TestPostureEscapesServiceText(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newAcct(t)
		if err := e.ec2.SetDeclarativePolicy(&fake.DeclarativePolicy{HttpTokens: "required",
			ManagedExceptionMessage: "evil\x1b[2J\u202e\tmessage\u0085"}); err != nil {
			t.Fatal(err)
		}
		for _, format := range []string{"json", "text", "table"} {
			r := e.run(t, t.Context(), "posture", "--output", format)
			wantCode(t, r, exitOK)
			if strings.ContainsAny(r.stdout, "\x1b\u202e\u0085") {
				t.Errorf("%s: control characters in the output:\n%q", format, r.stdout)
			}
			want := `evil\x1b[2J\u202e\tmessage\u0085`
			if format == "json" {
				want = `evil\u001b[2J\u202e\tmessage\u0085`
			}
			if !strings.Contains(r.stdout, want) {
				t.Errorf("%s: the message is not shown escaped:\n%s", format, r.stdout)
			}
		}
	})
}

// libraryNames are identifiers of the library that a message of the
// command must name as its flags, subcommands or output fields.
var libraryNames = regexp.MustCompile(`\b(PlanTemplates|ApplyTemplates|MakeDefault|AllowDowngrade|ContainerHopLimit|fleet.Options|DiscoverOptions|PostureOptions|SetImageIMDSv2|see their)\b`)

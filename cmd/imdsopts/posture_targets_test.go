package main

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imdsopts/imdsopts/account"
	"github.com/imdsopts/imdsopts/fake"
	"github.com/imdsopts/imdsopts/org"
)

// requireByDefault makes the account defaults of account's region require
// IMDSv2, and launches n instances that require it: a target ready to
// enforce IMDSv2.
func (e *orgEnv) requireByDefault(t *testing.T, account, region string, n int) {
	t.Helper()
	f := e.ec2(t, account, region)
	if _, err := f.ModifyInstanceMetadataDefaults(t.Context(), &ec2.ModifyInstanceMetadataDefaultsInput{HttpTokens: "required"}); err != nil {
		t.Fatal(err)
	}
	if n > 0 {
		if _, err := f.Launch(n, func(o *fake.LaunchOptions) {
			o.MetadataOptions = &types.InstanceMetadataOptionsRequest{HttpTokens: types.HttpTokensStateRequired}
		}); err != nil {
			t.Fatal(err)
		}
	}
}

// postureArgs are the arguments of a posture across every account of the
// organisation in us-east-1 and eu-west-1, followed by more.
func postureArgs(more ...string) []string {
	return append([]string{"posture", "--organization-role", testRole, "--regions", "us-east-1,eu-west-1"}, more...)
}

// everyTarget are the targets of postureArgs for an organisation of the
// management account and memberA, by account then Region.
var everyTarget = []string{memberA + "/eu-west-1", memberA + "/us-east-1", mgmtID + "/eu-west-1", mgmtID + "/us-east-1"}

// Every target ready: exit 0, one entry a target by account then Region,
// each with its posture, and the totals say so.
func TestPostureAcrossReady(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newOrgEnv(t, memberA)
		for i, k := range everyTarget {
			account, region, _ := strings.Cut(k, "/")
			e.requireByDefault(t, account, region, i)
		}
		r := e.run(t, t.Context(), postureArgs()...)
		wantCode(t, r, exitOK)
		doc := parseJSON(t, r.stdout).(map[string]any)
		if got := docTargets(t, doc); !slices.Equal(got, everyTarget) {
			t.Errorf("targets %v, want %v (by account, then Region)", got, everyTarget)
		}
		for i, k := range everyTarget {
			account, region, _ := strings.Cut(k, "/")
			d := target(t, doc, account, region)
			if d["Ready"] != true || d["Error"] != nil || d["Instances"].(map[string]any)["Required"] != float64(i) {
				t.Errorf("%s: Ready %v, Error %v, Instances %v; want ready with %d instances requiring IMDSv2", k, d["Ready"], d["Error"], d["Instances"], i)
			}
		}
		if doc["Ready"] != true || doc["TargetsReady"] != 4.0 || doc["TargetsNotReady"] != 0.0 || doc["TargetsFailed"] != 0.0 {
			t.Errorf("totals: Ready %v, %v ready, %v not ready, %v failed", doc["Ready"], doc["TargetsReady"], doc["TargetsNotReady"], doc["TargetsFailed"])
		}
		if r.stderr != "" {
			t.Errorf("stderr of a ready organisation: %q", r.stderr)
		}
	})
}

// One target not ready: exit 1, the target named on stderr with its
// blockers; the others are reported ready.
func TestPostureAcrossNotReady(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newOrgEnv(t, memberA)
		for _, k := range everyTarget {
			account, region, _ := strings.Cut(k, "/")
			if k != memberA+"/eu-west-1" {
				e.requireByDefault(t, account, region, 1)
			}
		}
		r := e.run(t, t.Context(), postureArgs()...)
		wantCode(t, r, exitNotReady)
		if !strings.Contains(r.stderr, "imdsopts: error: not ready to enforce IMDSv2 in 1 of 4 target(s): "+memberA+"/eu-west-1 (1 blocker)") {
			t.Errorf("stderr does not name the target not ready:\n%s", r.stderr)
		}
		doc := parseJSON(t, r.stdout).(map[string]any)
		for _, k := range everyTarget {
			account, region, _ := strings.Cut(k, "/")
			d := target(t, doc, account, region)
			want := k != memberA+"/eu-west-1"
			if d["Ready"] != want || (len(d["Blockers"].([]any)) == 0) != want {
				t.Errorf("%s: Ready %v, Blockers %v; want ready %v", k, d["Ready"], d["Blockers"], want)
			}
		}
		if doc["Ready"] != false || doc["TargetsReady"] != 3.0 || doc["TargetsNotReady"] != 1.0 || doc["TargetsFailed"] != 0.0 {
			t.Errorf("totals: Ready %v, %v ready, %v not ready, %v failed", doc["Ready"], doc["TargetsReady"], doc["TargetsNotReady"], doc["TargetsFailed"])
		}
	})
}

// Targets that fail (a role missing from its account, a Region not
// enabled for the account) are reported with their error and named on
// stderr with it; the others are reported all the same. A failed target is
// not ready: the organisation is not, though every posture taken is, and
// the exit status is the service's (254).
func TestPostureAcrossFailures(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newOrgEnv(t, memberA, noRoleID)
		e.requireByDefault(t, memberA, "eu-west-1", 2)
		r := e.run(t, t.Context(), "posture", "--role-arn", "arn:aws:iam::"+memberA+":role/"+testRole,
			"--role-arn", "arn:aws:iam::"+noRoleID+":role/"+testRole, "--regions", "eu-west-1,af-south-1")
		wantCode(t, r, exitService)
		doc := parseJSON(t, r.stdout).(map[string]any)
		if d := target(t, doc, memberA, "eu-west-1"); d["Ready"] != true || d["Error"] != nil {
			t.Errorf("the good target: %v", d)
		}
		if !strings.Contains(r.stderr, "imdsopts: error: the posture of 3 of 4 target(s) could not be taken, and they are not ready:\n") {
			t.Errorf("stderr does not count the failed targets:\n%s", r.stderr)
		}
		// A Region not enabled: EC2 answers AuthFailure, Auto Scaling
		// InvalidClientTokenId; the posture calls both at once.
		notEnabled := regexp.MustCompile(`AuthFailure|InvalidClientTokenId`)
		for _, tc := range []struct {
			account, region string
			code            *regexp.Regexp
		}{
			{memberA, "af-south-1", notEnabled}, {noRoleID, "eu-west-1", regexp.MustCompile("AccessDenied")}, {noRoleID, "af-south-1", regexp.MustCompile("AccessDenied")},
		} {
			d := target(t, doc, tc.account, tc.region)
			if msg, _ := d["Error"].(string); !tc.code.MatchString(msg) {
				t.Errorf("%s/%s: error %q, want %s", tc.account, tc.region, msg, tc.code)
			}
			if _, ok := d["Ready"]; ok {
				t.Errorf("%s/%s: a verdict of a target that has no posture", tc.account, tc.region)
			}
			named := false
			for line := range strings.Lines(r.stderr) {
				named = named || strings.HasPrefix(line, "  "+tc.account+"/"+tc.region+": ") && tc.code.MatchString(line)
			}
			if !named {
				t.Errorf("stderr does not name %s/%s with its cause %s:\n%s", tc.account, tc.region, tc.code, r.stderr)
			}
		}
		if doc["Ready"] != false || doc["TargetsReady"] != 1.0 || doc["TargetsFailed"] != 3.0 {
			t.Errorf("totals: Ready %v, %v ready, %v failed", doc["Ready"], doc["TargetsReady"], doc["TargetsFailed"])
		}
	})
}

// The exit rule across targets: a failure decides over "not ready", an
// answer of the service (254) over none (255); each failed target is
// named, and a long list is cut short.
func TestPostureAcrossExitRule(t *testing.T) {
	ready := &account.Posture{Ready: true}
	notReady := &account.Posture{Blockers: []account.Blocker{{Kind: account.BlockerAccountDefault}}}
	denied := fake.NewAPIError(403, "AccessDenied", "not authorized")
	res := func(region string, p *account.Posture, err error) org.TargetResult[*account.Posture] {
		return org.TargetResult[*account.Posture]{Target: account.Target{Account: memberA, Region: region}, Result: p, Err: err}
	}
	for _, tt := range []struct {
		name string
		rs   []org.TargetResult[*account.Posture]
		code int
		want []string
	}{
		{"ready", []org.TargetResult[*account.Posture]{res("eu-west-1", ready, nil), res("us-east-1", ready, nil)}, exitOK, nil},
		{"not ready", []org.TargetResult[*account.Posture]{res("eu-west-1", ready, nil), res("us-east-1", notReady, nil)}, exitNotReady,
			[]string{"in 1 of 2 target(s): 111111111111/us-east-1 (1 blocker)"}},
		{"service", []org.TargetResult[*account.Posture]{res("eu-west-1", ready, nil), res("us-east-1", nil, denied)}, exitService,
			[]string{"1 of 2 target(s)", "  111111111111/us-east-1: ", "AccessDenied: not authorized"}},
		{"no answer", []org.TargetResult[*account.Posture]{res("eu-west-1", notReady, nil), res("us-east-1", nil, errors.New("connection reset"))},
			exitOther, []string{"  111111111111/us-east-1: connection reset", "not ready to enforce IMDSv2 in 1 of 2 target(s): 111111111111/eu-west-1"}},
		{"either", []org.TargetResult[*account.Posture]{res("eu-west-1", nil, errors.New("connection reset")), res("us-east-1", nil, denied)},
			exitService, []string{"2 of 2 target(s)"}},
		{"no posture, no error", []org.TargetResult[*account.Posture]{res("eu-west-1", nil, nil)}, exitOther, []string{"  111111111111/eu-west-1: no posture"}},
		{"no target", nil, exitOther, []string{"reached no account and Region"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			errText := func(err error) string { return trim(err) }
			err := joinFailures(posturesFailed(tt.rs, errText), posturesNotReady(tt.rs, `"Blockers" in the output`))
			if got := exitCode(t.Context(), err); got != tt.code {
				t.Errorf("exit %d, want %d (%v)", got, tt.code, err)
			}
			for _, w := range tt.want {
				if !strings.Contains(fmt.Sprint(err), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if doc := posturesDoc(tt.rs, errText); doc["Ready"] != (tt.code == exitOK) {
				t.Errorf("Ready %v with exit %d", doc["Ready"], tt.code)
			}
		})
	}
	t.Run("many", func(t *testing.T) {
		var rs []org.TargetResult[*account.Posture]
		for i := range 25 {
			rs = append(rs, org.TargetResult[*account.Posture]{Target: account.Target{Account: fmt.Sprintf("1000000000%02d", i), Region: "eu-west-1"}, Err: denied})
		}
		msg := posturesFailed(rs, trim).Error()
		if n := strings.Count(msg, "\n  "); n != maxNamed+1 || !strings.HasSuffix(msg, "\n  and 15 more (see the output's Targets)") {
			t.Errorf("%d lines:\n%s", n, msg)
		}
	})
}

// --query is tried on the shape of the output across targets before any
// call: one that fails on it is refused (252) with nothing sent, one that
// needs its fields (a list of targets, an error that is a string) is not.
func TestPostureAcrossQueryChecked(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		for _, q := range []string{"abs(Targets[0].Blockers[0].Kind)", "abs(Targets[0].Error)", "length(TargetsFailed)", "Targets[?"} {
			e := newOrgEnv(t, memberA)
			r := e.run(t, t.Context(), postureArgs("--query", q)...)
			wantCode(t, r, exitUsage)
			if n := e.requestCount(); n != 0 {
				t.Errorf("--query %s: %d requests before the error", q, n)
			}
		}
		e := newOrgEnv(t, memberA)
		e.requireByDefault(t, memberA, "eu-west-1", 0)
		r := e.run(t, t.Context(), postureArgs("--query", "[length(Targets), length(Targets[?Error].Error), Targets[?!Ready] | length(@), TargetsFailed]", "--output", "text")...)
		wantCode(t, r, exitNotReady)
		if r.stdout != "4\t0\t3\t0\n" {
			t.Errorf("query across targets: %q", r.stdout)
		}
		// A target's Error is a string: length() takes it.
		e = newOrgEnv(t, memberA, noRoleID)
		r = e.run(t, t.Context(), postureArgs("--query", "length(Targets[-1].Error) > `0`", "--output", "text")...)
		wantCode(t, r, exitService)
		if r.stdout != "True\n" {
			t.Errorf("the error of the last target: %q", r.stdout)
		}
	})
}

// The text and table reports have a line a target, keyed by account and
// Region, with its verdict (or FAILED and why), then the blockers of each
// target not ready.
func TestPostureAcrossTextAndTable(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newOrgEnv(t, memberA, noRoleID)
		e.requireByDefault(t, memberA, "eu-west-1", 2)
		args := []string{"posture", "--role-arn", "arn:aws:iam::" + memberA + ":role/" + testRole,
			"--role-arn", "arn:aws:iam::" + noRoleID + ":role/" + testRole, "--regions", "eu-west-1,us-east-1"}

		r := e.run(t, t.Context(), append(args, "--output", "text")...)
		wantCode(t, r, exitService)
		lines := strings.Split(r.stdout, "\n")
		want := []string{
			"IMDSv2 posture of 4 targets: 1 ready, 1 NOT READY, 2 failed",
			"",
			"ACCOUNT       REGION     VERDICT               INSTANCES                            IMDSv1 USE (OR ERROR)",
			"111111111111  eu-west-1  READY to enforce      2: 2 require IMDSv2, 0 allow IMDSv1  0 used IMDSv1, 0 unknown",
			"111111111111  us-east-1  NOT READY: 1 blocker  0: 0 require IMDSv2, 0 allow IMDSv1  0 used IMDSv1, 0 unknown",
		}
		if len(lines) < 8 || !slices.Equal(lines[:5], want) {
			t.Fatalf("text report:\n%s\nwant it to begin:\n%s", r.stdout, strings.Join(want, "\n"))
		}
		for i, region := range []string{"eu-west-1", "us-east-1"} {
			if l := lines[5+i]; !strings.HasPrefix(l, noRoleID+"  "+region+"  FAILED   ") || !strings.Contains(l, "AccessDenied") {
				t.Errorf("the line of %s/%s: %q", noRoleID, region, l)
			}
		}
		if !strings.Contains(r.stdout, "\nBlockers of 111111111111/us-east-1, in the order to fix them:\n  1. account-default: the account\n     why: ") ||
			strings.Contains(r.stdout, "Blockers of 111111111111/eu-west-1") {
			t.Errorf("blockers of the targets not ready:\n%s", r.stdout)
		}

		r = e.run(t, t.Context(), append(args, "--output", "table")...)
		wantCode(t, r, exitService)
		for _, w := range []string{
			"IMDSv2 posture of 4 targets: 1 ready, 1 NOT READY, 2 failed",
			"| Account      | Region    | Verdict              |",
			"| 111111111111 | eu-west-1 | READY to enforce     |",
			"| 111111111111 | us-east-1 | NOT READY: 1 blocker |",
			"| 333333333333 | eu-west-1 | FAILED               | -  ",
			"| 333333333333 | us-east-1 | FAILED               | -  ",
			"Blockers of 111111111111/us-east-1, in the order to fix them",
			"| 1 | account-default | the account ",
		} {
			if !strings.Contains(r.stdout, w) {
				t.Errorf("table lacks %q:\n%s", w, r.stdout)
			}
		}
	})
}

// No credential of an assumed role is printed: not in the output of any
// format, not in the errors, not in the debug log.
func TestPostureAcrossPrintNoCredential(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newOrgEnv(t, memberA, noRoleID)
		e.launch(t, memberA, "eu-west-1", 2)
		for _, more := range [][]string{{"--output", "json"}, {"--output", "text"}, {"--output", "table"}, {"--debug", "--output", "text"}} {
			args := append([]string{"posture", "--organization-role", testRole, "--regions", "eu-west-1"}, more...)
			r := e.run(t, t.Context(), args...)
			if r.code != exitService {
				t.Errorf("%s: exit %d, want 254 (the account without the role)", strings.Join(args, " "), r.code)
			}
			e.checkNoCredential(t, strings.Join(args, " "), r.stdout+r.stderr)
			if slices.Contains(args, "--debug") && !strings.Contains(r.stderr, "AssumeRole") {
				t.Error("the debug log does not show the AssumeRole call")
			}
		}
	})
}

// On a terminal, the progress line counts the targets done, while the
// largest target is still under way.
func TestPostureAcrossProgress(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		e := newOrgEnv(t, memberA)
		e.launch(t, memberA, "us-east-1", 3000)
		// Every answer takes a second, so that the posture of the large
		// target lasts long enough for a progress line.
		home, _ := e.org.Management().Region("us-east-1")
		h := fake.NewHandler(home.EC2(), func(o *fake.HandlerOptions) { o.Organization = e.org })
		cfg := fake.InMemoryConfig(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			time.Sleep(time.Second)
			h.ServeHTTP(w, r)
		}))
		var stdout, stderr strings.Builder
		code := runWith(t.Context(), postureArgs(), strings.NewReader(""), &stdout, &stderr, noEnv, nil, withConfig(cfg), withTerminal(true))
		if code != exitNotReady {
			t.Fatalf("exit %d\n%s", code, stderr.String())
		}
		lines := strings.Split(strings.ReplaceAll(stderr.String(), "\r", "\n"), "\n")
		for _, want := range []string{"targets 0/4, instances ", "targets 3/4, instances 0/0"} {
			if !slices.ContainsFunc(lines, func(l string) bool { return strings.Contains(l, want) }) {
				t.Errorf("no progress line %q...:\n%s", want, stderr.String())
			}
		}
	})
}

package main

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imdsopts/imdsopts"
	"github.com/imdsopts/imdsopts/fake"
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
		for _, tc := range []struct{ account, region, code string }{
			{memberA, "af-south-1", "AuthFailure"}, {noRoleID, "eu-west-1", "AccessDenied"}, {noRoleID, "af-south-1", "AccessDenied"},
		} {
			d := target(t, doc, tc.account, tc.region)
			if msg, _ := d["Error"].(string); !strings.Contains(msg, tc.code) {
				t.Errorf("%s/%s: error %q, want %s", tc.account, tc.region, msg, tc.code)
			}
			if _, ok := d["Ready"]; ok {
				t.Errorf("%s/%s: a verdict of a target that has no posture", tc.account, tc.region)
			}
			named := false
			for line := range strings.Lines(r.stderr) {
				named = named || strings.HasPrefix(line, "  "+tc.account+"/"+tc.region+": ") && strings.Contains(line, tc.code)
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
	ready := &imdsopts.Posture{Ready: true}
	notReady := &imdsopts.Posture{Blockers: []imdsopts.Blocker{{Kind: imdsopts.BlockerAccountDefault}}}
	denied := fake.NewAPIError(403, "AccessDenied", "not authorized")
	res := func(region string, p *imdsopts.Posture, err error) imdsopts.TargetResult[*imdsopts.Posture] {
		return imdsopts.TargetResult[*imdsopts.Posture]{Target: imdsopts.Target{Account: memberA, Region: region}, Result: p, Err: err}
	}
	for _, tt := range []struct {
		name string
		rs   []imdsopts.TargetResult[*imdsopts.Posture]
		code int
		want []string
	}{
		{"ready", []imdsopts.TargetResult[*imdsopts.Posture]{res("eu-west-1", ready, nil), res("us-east-1", ready, nil)}, exitOK, nil},
		{"not ready", []imdsopts.TargetResult[*imdsopts.Posture]{res("eu-west-1", ready, nil), res("us-east-1", notReady, nil)}, exitNotReady,
			[]string{"in 1 of 2 target(s): 111111111111/us-east-1 (1 blocker)"}},
		{"service", []imdsopts.TargetResult[*imdsopts.Posture]{res("eu-west-1", ready, nil), res("us-east-1", nil, denied)}, exitService,
			[]string{"1 of 2 target(s)", "  111111111111/us-east-1: ", "AccessDenied: not authorized"}},
		{"no answer", []imdsopts.TargetResult[*imdsopts.Posture]{res("eu-west-1", notReady, nil), res("us-east-1", nil, errors.New("connection reset"))},
			exitOther, []string{"  111111111111/us-east-1: connection reset", "not ready to enforce IMDSv2 in 1 of 2 target(s): 111111111111/eu-west-1"}},
		{"either", []imdsopts.TargetResult[*imdsopts.Posture]{res("eu-west-1", nil, errors.New("connection reset")), res("us-east-1", nil, denied)},
			exitService, []string{"2 of 2 target(s)"}},
		{"no posture, no error", []imdsopts.TargetResult[*imdsopts.Posture]{res("eu-west-1", nil, nil)}, exitOther, []string{"  111111111111/eu-west-1: no posture"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			errText := func(err error) string { return trim(err) }
			err := joinFailures(posturesFailed(tt.rs, errText), posturesNotReady(tt.rs))
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
		var rs []imdsopts.TargetResult[*imdsopts.Posture]
		for i := range 25 {
			rs = append(rs, imdsopts.TargetResult[*imdsopts.Posture]{Target: imdsopts.Target{Account: fmt.Sprintf("1000000000%02d", i), Region: "eu-west-1"}, Err: denied})
		}
		msg := posturesFailed(rs, trim).Error()
		if n := strings.Count(msg, "\n  "); n != maxNamed+1 || !strings.HasSuffix(msg, "\n  and 15 more (see the output's Targets)") {
			t.Errorf("%d lines:\n%s", n, msg)
		}
	})
}

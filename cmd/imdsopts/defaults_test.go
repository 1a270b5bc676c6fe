package main

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/google/go-cmp/cmp"

	"github.com/imdsopts/imdsopts/fake"
)

// get-instance-metadata-defaults prints what the AWS CLI prints, in every
// format.
func TestGetDefaultsOutput(t *testing.T) {
	e := newAcct(t)
	r := e.run(t, t.Context(), "get-instance-metadata-defaults")
	wantCode(t, r, exitOK)
	if want := "{\n    \"AccountLevel\": {\n        \"ManagedBy\": \"account\"\n    }\n}\n"; r.stdout != want {
		t.Errorf("no defaults: stdout\n%s\nwant\n%s", r.stdout, want)
	}
	e.setDefaults(t, &ec2.ModifyInstanceMetadataDefaultsInput{HttpTokens: "required", HttpPutResponseHopLimit: aws.Int32(2),
		HttpEndpoint: "enabled", InstanceMetadataTags: "disabled", HttpTokensEnforced: "enabled"})
	for _, tt := range []struct {
		args []string
		want string
	}{
		{nil, `{
    "AccountLevel": {
        "HttpTokens": "required",
        "HttpPutResponseHopLimit": 2,
        "HttpEndpoint": "enabled",
        "InstanceMetadataTags": "disabled",
        "ManagedBy": "account",
        "HttpTokensEnforced": "enabled"
    }
}
`},
		{[]string{"--output", "text"}, "ACCOUNTLEVEL\tenabled\t2\trequired\tenabled\tdisabled\taccount\n"},
		{[]string{"--query", "AccountLevel.HttpTokensEnforced", "--output", "text"}, "enabled\n"},
		{[]string{"--output", "table", "--color", "off", "--query", "AccountLevel.{HttpTokens: HttpTokens, ManagedBy: ManagedBy}"}, `-----------------------------
|GetInstanceMetadataDefaults|
+-------------+-------------+
| HttpTokens  |  ManagedBy  |
+-------------+-------------+
|  required   |  account    |
+-------------+-------------+
`},
	} {
		r := e.run(t, t.Context(), append([]string{"get-instance-metadata-defaults"}, tt.args...)...)
		wantCode(t, r, exitOK)
		if r.stdout != tt.want {
			t.Errorf("%v: stdout\n%s\nwant\n%s", tt.args, r.stdout, tt.want)
		}
	}
	// A declarative policy: ManagedBy and its message, as EC2 answers.
	if err := e.ec2.SetDeclarativePolicy(&fake.DeclarativePolicy{HttpTokens: "required", ManagedExceptionMessage: "Ask the cloud team."}); err != nil {
		t.Fatal(err)
	}
	r = e.run(t, t.Context(), "get-instance-metadata-defaults", "--query", "AccountLevel.[ManagedBy, ManagedExceptionMessage]", "--output", "text")
	wantCode(t, r, exitOK)
	if r.stdout != "declarative-policy\tAsk the cloud team.\n" {
		t.Errorf("policy: stdout %q", r.stdout)
	}
}

// modify sends only the fields that differ from the account's defaults,
// prints the AWS CLI's output, and says on stderr what it did not send.
func TestModifyDefaultsSendsOnlyChanges(t *testing.T) {
	e := newAcct(t)
	e.setDefaults(t, &ec2.ModifyInstanceMetadataDefaultsInput{HttpTokens: "required", HttpPutResponseHopLimit: aws.Int32(2)})
	tests := []struct {
		args       []string
		sent       string // "" when nothing is sent
		stderr     string
		defaultsOf func(*types.InstanceMetadataDefaultsResponse) string
	}{
		{[]string{"--http-tokens", "required", "--http-put-response-hop-limit", "3"}, "HttpPutResponseHopLimit=3",
			"imdsopts: note: sent HttpPutResponseHopLimit=3; already set, not sent: HttpTokens=required\n", nil},
		{[]string{"--http-tokens", "required", "--http-put-response-hop-limit", "3"}, "",
			"imdsopts: note: the account defaults already are HttpTokens=required HttpPutResponseHopLimit=3: nothing was sent\n", nil},
		{[]string{"--http-put-response-hop-limit", "-1", "--instance-metadata-tags", "no-preference"}, "HttpPutResponseHopLimit=-1",
			"imdsopts: note: sent HttpPutResponseHopLimit=-1; already set, not sent: InstanceMetadataTags=no-preference\n", nil},
		{[]string{"--http-endpoint", "disabled", "--http-tokens", "no-preference"}, "HttpTokens=no-preference HttpEndpoint=disabled", "", nil},
	}
	for _, tt := range tests {
		before := len(e.ec2.sent())
		r := e.run(t, t.Context(), append([]string{"modify-instance-metadata-defaults"}, tt.args...)...)
		wantCode(t, r, exitOK)
		if r.stdout != "{\n    \"Return\": true\n}\n" || r.stderr != tt.stderr {
			t.Errorf("%v: stdout %q\nstderr %q, want %q", tt.args, r.stdout, r.stderr, tt.stderr)
		}
		var got []string
		for _, in := range e.ec2.sent()[before:] {
			got = append(got, describeDefaults(in.(*ec2.ModifyInstanceMetadataDefaultsInput)))
		}
		var want []string
		if tt.sent != "" {
			want = []string{tt.sent}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%v: sent (-want +got):\n%s", tt.args, diff)
		}
	}
	d := e.defaults(t)
	if d.HttpTokens != "" || d.HttpPutResponseHopLimit != nil || d.HttpEndpoint != "disabled" {
		t.Errorf("defaults after the changes: %+v", d)
	}
	// --output text prints the AWS CLI's Python boolean.
	r := e.run(t, t.Context(), "modify-instance-metadata-defaults", "--http-endpoint", "enabled", "--output", "text")
	wantCode(t, r, exitOK)
	if r.stdout != "True\n" {
		t.Errorf("text: %q", r.stdout)
	}
}

// notReadyAccount is an account whose group launches a template version
// that asks for HttpTokens optional: enforcement would make its launches
// fail, whatever the account default.
func notReadyAccount(t *testing.T) (e *acct, templateID string) {
	t.Helper()
	e = newAcct(t)
	templateID = e.template(t, "web", types.LaunchTemplateHttpTokensStateOptional)
	e.group(t, "web-asg", templateID, "$Default", 2)
	e.template(t, "api", types.LaunchTemplateHttpTokensStateRequired)
	return e, templateID
}

// Enabling enforcement runs the readiness check first: while launches
// would fail it sends nothing, lists the blockers in the order to fix
// them on stderr and under Blockers in the output, and exits 1; with
// --force it sends the change and says what will fail.
func TestModifyDefaultsEnforcementReadiness(t *testing.T) {
	e, id := notReadyAccount(t)
	r := e.run(t, t.Context(), "modify-instance-metadata-defaults", "--http-tokens-enforced", "enabled")
	wantCode(t, r, exitNotReady)
	if n := e.modifyCalls(); n != 0 {
		t.Fatalf("%d ModifyInstanceMetadataDefaults calls, want none", n)
	}
	doc := parseJSON(t, r.stdout).(map[string]any)
	var kinds []string
	for _, b := range doc["Blockers"].([]any) {
		kinds = append(kinds, b.(map[string]any)["Kind"].(string))
	}
	if _, ok := doc["Return"]; ok {
		t.Errorf("Return in the output of a refusal: %s", r.stdout)
	}
	if diff := cmp.Diff([]string{"group-launch-template", "account-default"}, kinds); diff != "" {
		t.Errorf("blockers (-want +got):\n%s\n%s", diff, r.stdout)
	}
	for _, want := range []string{
		"imdsopts: not ready to enforce IMDSv2: 2 blockers, in the order to fix them:\n",
		"  1. group-launch-template: launch template web (" + id + ") version 1, group web-asg\n",
		"     why: it launches with HttpTokens \"optional\" (from the launch template), so EC2 would refuse the launch",
		"     fix: create a version of the template with HttpTokens \"required\"",
		"     run: imdsopts templates plan --http-tokens required --make-default, then templates apply with the same options\n",
		"  2. account-default: the account\n",
		"     run: imdsopts modify-instance-metadata-defaults --http-tokens required --http-tokens-enforced enabled\n",
		"imdsopts: error: not ready to enforce IMDSv2 (2 blockers above); nothing was sent",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	if strings.Index(r.stderr, "  1. ") > strings.Index(r.stderr, "  2. ") {
		t.Errorf("blockers out of order:\n%s", r.stderr)
	}
	if e.defaults(t).HttpTokensEnforced != "" {
		t.Fatal("enforcement was set")
	}

	// --force: sent, and said.
	r = e.run(t, t.Context(), "modify-instance-metadata-defaults", "--http-tokens-enforced", "enabled", "--force")
	wantCode(t, r, exitOK)
	doc = parseJSON(t, r.stdout).(map[string]any)
	if doc["Return"] != true || doc["Forced"] != true || len(doc["Blockers"].([]any)) != 2 {
		t.Errorf("forced: stdout %s", r.stdout)
	}
	if !strings.Contains(r.stderr, "imdsopts: warning: IMDSv2 enforced with --force despite 2 blockers; launches like these now fail:") {
		t.Errorf("forced: stderr %s", r.stderr)
	}
	if e.defaults(t).HttpTokensEnforced != "enabled" || e.modifyCalls() != 1 {
		t.Errorf("forced: defaults %+v after %d calls", e.defaults(t), e.modifyCalls())
	}
}

// Once nothing would fail, enforcement is sent: Return true, and the
// readiness check's empty Blockers.
func TestModifyDefaultsEnforcesWhenReady(t *testing.T) {
	e := newAcct(t)
	id := e.template(t, "web", "") // no HttpTokens: the account default decides
	e.group(t, "web-asg", id, "$Latest", 1)
	r := e.run(t, t.Context(), "modify-instance-metadata-defaults", "--http-tokens", "required", "--http-tokens-enforced", "enabled")
	wantCode(t, r, exitOK)
	if want := "{\n    \"Return\": true,\n    \"Blockers\": []\n}\n"; r.stdout != want {
		t.Errorf("stdout %s", r.stdout)
	}
	if sent := e.ec2.sent(); len(sent) != 1 || describeDefaults(sent[0].(*ec2.ModifyInstanceMetadataDefaultsInput)) != "HttpTokens=required HttpTokensEnforced=enabled" {
		t.Errorf("sent %v", sent)
	}
	if !strings.Contains(r.stderr, "1 instance still allow IMDSv1: enforcement leaves running instances alone") {
		t.Errorf("stderr %s", r.stderr)
	}
}

// A declarative policy manages the defaults: its own message, exit 254,
// and no ModifyInstanceMetadataDefaults call.
func TestModifyDefaultsPolicyManaged(t *testing.T) {
	e := newAcct(t)
	if err := e.ec2.SetDeclarativePolicy(&fake.DeclarativePolicy{HttpTokens: "optional", ManagedExceptionMessage: "IMDS settings belong to the platform team: #ask-platform"}); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"--http-tokens", "required"},
		{"--http-tokens", "required", "--http-tokens-enforced", "enabled", "--force"},
	} {
		r := e.run(t, t.Context(), append([]string{"modify-instance-metadata-defaults"}, args...)...)
		wantCode(t, r, exitService)
		if !strings.Contains(r.stderr, "IMDS settings belong to the platform team: #ask-platform") || !strings.Contains(r.stderr, "nothing was sent") || r.stdout != "" {
			t.Errorf("%v: stdout %q stderr %q", args, r.stdout, r.stderr)
		}
	}
	if n := e.modifyCalls(); n != 0 {
		t.Errorf("%d ModifyInstanceMetadataDefaults calls, want none", n)
	}
	// Without a message of its own: EC2's description of such defaults.
	if err := e.ec2.SetDeclarativePolicy(&fake.DeclarativePolicy{HttpTokens: "optional"}); err != nil {
		t.Fatal(err)
	}
	r := e.run(t, t.Context(), "modify-instance-metadata-defaults", "--http-tokens", "required")
	wantCode(t, r, exitService)
	if !strings.Contains(r.stderr, "managed by a declarative policy and can't be modified by the account") {
		t.Errorf("stderr %q", r.stderr)
	}
}

// --dry-run asks EC2, as the AWS CLI does: the DryRunOperation message and
// exit 254 when permitted, UnauthorizedOperation when not; the defaults
// stay as they are, and nothing is read first.
func TestDefaultsDryRun(t *testing.T) {
	e := newAcct(t)
	for _, args := range [][]string{
		{"modify-instance-metadata-defaults", "--http-tokens", "required", "--http-tokens-enforced", "enabled", "--dry-run"},
		{"modify-instance-metadata-defaults", "--cli-input-json", `{"HttpTokens": "required", "DryRun": true}`},
		{"get-instance-metadata-defaults", "--dry-run"},
		{"get-instance-metadata-defaults", "--cli-input-json", `{"DryRun": true}`},
	} {
		r := e.run(t, t.Context(), args...)
		wantCode(t, r, exitService)
		op := "ModifyInstanceMetadataDefaults"
		if args[0] == "get-instance-metadata-defaults" {
			op = "GetInstanceMetadataDefaults"
		}
		if want := "\nAn error occurred (DryRunOperation) when calling the " + op + " operation: Request would have succeeded, but DryRun flag is set.\n"; r.stderr != want || r.stdout != "" {
			t.Errorf("%v: stdout %q stderr %q", args, r.stdout, r.stderr)
		}
	}
	if d := e.defaults(t); d.HttpTokens != "" || d.HttpTokensEnforced != "" {
		t.Errorf("a dry run changed the defaults: %+v", d)
	}
	if n := e.ec2.Calls("GetInstanceMetadataDefaults"); n != 3 { // two dry runs and the check above
		t.Errorf("%d GetInstanceMetadataDefaults calls, want 3", n)
	}
	e.ec2.Deny("ModifyInstanceMetadataDefaults")
	r := e.run(t, t.Context(), "modify-instance-metadata-defaults", "--http-tokens", "required", "--dry-run")
	wantCode(t, r, exitService)
	if !strings.Contains(r.stderr, "An error occurred (UnauthorizedOperation) when calling the ModifyInstanceMetadataDefaults operation") {
		t.Errorf("denied: stderr %q", r.stderr)
	}
}

// Every bad value is refused before any client is built, exit 252, naming
// the flag (or the --cli-input-json member), the value and the rule.
func TestDefaultsInvalidCommandLines(t *testing.T) {
	modify := func(args ...string) []string { return append([]string{"modify-instance-metadata-defaults"}, args...) }
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"tokens bogus", modify("--http-tokens", "bogus"), []string{`--http-tokens "bogus": must be one of "optional", "required", "no-preference"`}},
		{"hop 0", modify("--http-put-response-hop-limit", "0"), []string{"--http-put-response-hop-limit 0: must be 1..64, or -1 for no preference"}},
		{"hop 65", modify("--http-put-response-hop-limit", "65"), []string{"--http-put-response-hop-limit 65: must be 1..64, or -1 for no preference"}},
		{"hop -2", modify("--http-put-response-hop-limit", "-2"), []string{"--http-put-response-hop-limit -2"}},
		{"hop beyond int32", modify("--http-put-response-hop-limit", "4294967297"), []string{"--http-put-response-hop-limit 4294967297: must be 1..64, or -1"}},
		{"hop not a number", modify("--http-put-response-hop-limit", "two"), []string{`invalid value "two" for flag --http-put-response-hop-limit: must be an integer`}},
		{"endpoint", modify("--http-endpoint", "on"), []string{`--http-endpoint "on": must be one of "disabled", "enabled", "no-preference"`}},
		{"tags", modify("--instance-metadata-tags", "Enabled"), []string{`--instance-metadata-tags "Enabled"`}},
		{"enforced", modify("--http-tokens-enforced", "true"), []string{`--http-tokens-enforced "true": must be one of "disabled", "enabled", "no-preference"`}},
		{"every problem at once", modify("--http-tokens", "x", "--http-tokens-enforced", "y", "--http-put-response-hop-limit", "99"),
			[]string{`--http-tokens "x"`, `--http-tokens-enforced "y"`, "--http-put-response-hop-limit 99"}},
		{"nothing to set", modify(), []string{"at least one of --http-tokens, --http-put-response-hop-limit, --http-endpoint, --instance-metadata-tags, --http-tokens-enforced is required"}},
		{"dry run only", modify("--dry-run"), []string{"at least one of"}},
		{"force and dry run", modify("--http-tokens-enforced", "enabled", "--force", "--dry-run"), []string{"--force: cannot be combined with --dry-run"}},
		{"instance option", modify("--http-protocol-ipv6", "enabled"), []string{"unknown option --http-protocol-ipv6"}},
		{"json member", modify("--cli-input-json", `{"HttpTokensEnforced": "on"}`), []string{`--cli-input-json HttpTokensEnforced "on": must be one of`}},
		{"json hop", modify("--cli-input-json", `{"HttpPutResponseHopLimit": 0}`), []string{"--cli-input-json HttpPutResponseHopLimit 0: must be 1..64, or -1 for no preference"}},
		{"json case", modify("--cli-input-json", `{"httpTokens": "required"}`), []string{"--cli-input-json", `"httpTokens"`}},
		{"json type", modify("--cli-input-json", `{"HttpTokens": true}`), []string{"--cli-input-json", "HttpTokens"}},
		{"json flag wins", modify("--cli-input-json", `{"HttpTokens": "bogus"}`, "--http-tokens", "bogus2"), []string{`--http-tokens "bogus2"`}},
		{"query", modify("--http-tokens", "required", "--query", "Return[?"), []string{"--query"}},
		{"query on the shape", modify("--http-tokens", "required", "--query", "abs(Return)"), []string{"nothing was sent"}},
		{"get: unknown flag", []string{"get-instance-metadata-defaults", "--http-tokens", "required"}, []string{"unknown option --http-tokens"}},
		{"get: json member", []string{"get-instance-metadata-defaults", "--cli-input-json", `{"AccountLevel": {}}`}, []string{"--cli-input-json", "AccountLevel"}},
		{"get: bad skeleton", []string{"get-instance-metadata-defaults", "--generate-cli-skeleton", "yaml"}, []string{"--generate-cli-skeleton"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := (*acct)(nil).run(t, t.Context(), tt.args...)
			wantCode(t, r, exitUsage)
			for _, w := range tt.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, r.stderr)
				}
			}
			if r.stdout != "" {
				t.Errorf("stdout %q", r.stdout)
			}
		})
	}
}

// The skeletons are the AWS CLI's, enums aside (it picks them at random).
func TestDefaultsSkeletons(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"get-instance-metadata-defaults", "--generate-cli-skeleton"}, getDefaultsInputSkeleton},
		{[]string{"get-instance-metadata-defaults", "--generate-cli-skeleton", "output"}, getDefaultsOutputSkeleton},
		{[]string{"modify-instance-metadata-defaults", "--generate-cli-skeleton", "input"}, modifyDefaultsInputSkeleton},
		{[]string{"modify-instance-metadata-defaults", "--generate-cli-skeleton=output"}, modifyDefaultsOutputSkeleton},
	} {
		r := (*acct)(nil).run(t, t.Context(), tt.args...)
		wantCode(t, r, exitOK)
		if r.stdout != tt.want {
			t.Errorf("%v: %s", tt.args, r.stdout)
		}
	}
	// The input skeleton, filled in, is an input.
	e := newAcct(t)
	in := strings.ReplaceAll(modifyDefaultsInputSkeleton, `"HttpPutResponseHopLimit": 0`, `"HttpPutResponseHopLimit": 2`)
	in = strings.ReplaceAll(in, `"DryRun": true`, `"DryRun": false`)
	r := e.runIO(t, t.Context(), false, in, "modify-instance-metadata-defaults", "--cli-input-json", "-")
	wantCode(t, r, exitOK)
	d := e.defaults(t)
	if d.HttpTokens != "optional" || aws.ToInt32(d.HttpPutResponseHopLimit) != 2 || d.HttpEndpoint != "disabled" || d.HttpTokensEnforced != "disabled" {
		t.Errorf("defaults %+v", d)
	}
}

// The readiness check cannot complete (Auto Scaling fails): an error, never
// "ready", and nothing sent.
func TestModifyDefaultsReadinessFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e, _ := notReadyAccount(t)
		e.as.FailNext("DescribeAutoScalingGroups", 1000, fake.NewAPIError(500, "InternalFailure", "try later"))
		r := e.run(t, t.Context(), "modify-instance-metadata-defaults", "--http-tokens", "required", "--http-tokens-enforced", "enabled", "--force")
		wantCode(t, r, exitService)
		if e.modifyCalls() != 0 || r.stdout != "" || !strings.Contains(r.stderr, "InternalFailure") {
			t.Errorf("%d calls; stdout %q stderr %q", e.modifyCalls(), r.stdout, r.stderr)
		}
	})
}

// Throttled, the change is retried within the bucket's pace: one change,
// exit 0. A refusal says what EC2 answered and nothing more (nothing was
// changed); only an answer that leaves it unknown (EC2's own failure, every
// time) says that the change may have been made.
func TestModifyDefaultsRetries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newAcct(t)
		e.ec2.FailNext("ModifyInstanceMetadataDefaults", 2, fake.NewAPIError(503, "RequestLimitExceeded", "Request limit exceeded."))
		start := time.Now()
		r := e.run(t, t.Context(), "modify-instance-metadata-defaults", "--http-tokens", "required")
		wantCode(t, r, exitOK)
		if e.defaults(t).HttpTokens != "required" || e.modifyCalls() != 3 || time.Since(start) < time.Second {
			t.Errorf("%d calls in %v; stderr %s", e.modifyCalls(), time.Since(start), r.stderr)
		}
		e.ec2.FailNext("ModifyInstanceMetadataDefaults", 1, fake.NewAPIError(400, "InvalidParameterCombination", "no"))
		r = e.run(t, t.Context(), "modify-instance-metadata-defaults", "--http-tokens", "optional")
		wantCode(t, r, exitService)
		if !strings.Contains(r.stderr, "InvalidParameterCombination") || strings.Contains(r.stderr, "may have been made") {
			t.Errorf("a refusal: stderr %s", r.stderr)
		}
		e.ec2.FailNext("ModifyInstanceMetadataDefaults", 1000, fake.NewAPIError(500, "InternalError", "An internal error has occurred."))
		r = e.run(t, t.Context(), "modify-instance-metadata-defaults", "--http-tokens", "optional")
		wantCode(t, r, exitService)
		if !strings.Contains(r.stderr, "InternalError") || !strings.Contains(r.stderr, "the change was sent and may have been made") {
			t.Errorf("EC2's own failure: stderr %s", r.stderr)
		}
	})
}

// Ctrl-C while enforcement's readiness check runs: 130, nothing sent.
func TestModifyDefaultsInterrupted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e, _ := notReadyAccount(t)
		// Every listing is throttled: the check waits, and is interrupted.
		e.ec2.FailNext("DescribeLaunchTemplates", 1000, fake.NewAPIError(503, "RequestLimitExceeded", "Request limit exceeded."))
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan result)
		go func() {
			done <- e.run(t, ctx, "modify-instance-metadata-defaults", "--http-tokens-enforced", "enabled", "--force")
		}()
		time.Sleep(10 * time.Second)
		cancel()
		r := <-done
		wantCode(t, r, exitInterrupted)
		if e.modifyCalls() != 0 || !strings.Contains(r.stderr, "interrupted") {
			t.Errorf("%d calls; stderr %s", e.modifyCalls(), r.stderr)
		}
		if !errors.Is(ctx.Err(), context.Canceled) {
			t.Fatal(ctx.Err())
		}
	})
}

// The defaults cannot be read: no change is sent, whatever the failure.
func TestModifyDefaultsReadFails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newAcct(t)
		e.ec2.FailNext("GetInstanceMetadataDefaults", 10, fake.NewAPIError(500, "InternalError", "try later"))
		r := e.run(t, t.Context(), "modify-instance-metadata-defaults", "--http-tokens", "required")
		wantCode(t, r, exitService)
		if e.modifyCalls() != 0 || r.stdout != "" || !strings.Contains(r.stderr, "An error occurred (InternalError) when calling the GetInstanceMetadataDefaults operation: try later") {
			t.Errorf("%d calls; stdout %q stderr %q", e.modifyCalls(), r.stdout, r.stderr)
		}
		e.ec2.Deny("GetInstanceMetadataDefaults")
		r = e.run(t, t.Context(), "get-instance-metadata-defaults")
		wantCode(t, r, exitService)
		if !strings.Contains(r.stderr, "UnauthorizedOperation") {
			t.Errorf("stderr %q", r.stderr)
		}
	})
}

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/google/go-cmp/cmp"

	"github.com/imdsopts/imdsopts"
	"github.com/imdsopts/imdsopts/fake"
	"github.com/imdsopts/imdsopts/fleet"
)

// fleetEnv is a fake EC2 and CloudWatch with a few instances. Create it
// inside a synctest bubble: the fake's clocks are the bubble's.
type fleetEnv struct {
	ec2   *fake.EC2
	cw    *fake.CloudWatch
	image string
}

func newFleetEnv(t *testing.T, optFns ...func(*fake.Options)) *fleetEnv {
	t.Helper()
	f := fake.New(optFns...)
	img, err := f.RegisterImage(context.Background(), &ec2.RegisterImageInput{Name: aws.String("base")})
	if err != nil {
		t.Fatal(err)
	}
	return &fleetEnv{ec2: f, cw: fake.NewCloudWatch(), image: aws.ToString(img.ImageId)}
}

// launch starts one instance with tags (KEY=VALUE) and launch options. Its
// MetadataNoToken has a measured zero an hour ago, as CloudWatch has for an
// instance that ran without IMDSv1 calls: the gate holds one with no data.
func (e *fleetEnv) launch(t *testing.T, opts *types.InstanceMetadataOptionsRequest, tags ...string) string {
	t.Helper()
	m := map[string]string{}
	for _, kv := range tags {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	ids, err := e.ec2.Launch(1, func(o *fake.LaunchOptions) { o.ImageID, o.MetadataOptions, o.Tags = e.image, opts, m })
	if err != nil {
		t.Fatal(err)
	}
	if e.cw != nil {
		e.cw.PutMetadataNoToken(ids[0], time.Now().Add(-time.Hour), 0)
	}
	return ids[0]
}

// run runs the command in-process against the fakes. A nil e fails the
// test when the command builds a client; so does a CloudWatch client built
// when e.cw is nil.
func (e *fleetEnv) run(t *testing.T, ctx context.Context, tty bool, args ...string) result {
	t.Helper()
	newAPI := func(context.Context, *globals, io.Writer) (API, error) {
		if e == nil {
			t.Errorf("imdsopts %s: built an EC2 client, but should have stopped before", strings.Join(args, " "))
			return nil, io.EOF
		}
		return e.ec2, nil
	}
	newMetrics := func(context.Context, *globals, io.Writer) (fleet.MetricsAPI, error) {
		if e == nil || e.cw == nil {
			t.Errorf("imdsopts %s: built a CloudWatch client, but should not have", strings.Join(args, " "))
			return nil, io.EOF
		}
		return e.cw, nil
	}
	var stdout, stderr bytes.Buffer
	code := runWith(ctx, args, strings.NewReader(""), &stdout, &stderr, noEnv, newAPI, withMetrics(newMetrics), withTerminal(tty))
	return result{code, stdout.String(), stderr.String()}
}

// items returns the Items of a JSON plan or report by instance ID.
func items(t *testing.T, out string) map[string]map[string]any {
	t.Helper()
	doc := parseJSON(t, out).(map[string]any)
	m := map[string]map[string]any{}
	for _, it := range doc["Items"].([]any) {
		item := it.(map[string]any)
		m[item["InstanceId"].(string)] = item
	}
	return m
}

func statuses(t *testing.T, out string) map[string]string {
	t.Helper()
	m := map[string]string{}
	for id, it := range items(t, out) {
		m[id] = it["Status"].(string)
	}
	return m
}

var (
	required = &types.InstanceMetadataOptionsRequest{HttpTokens: types.HttpTokensStateRequired}
	optional = &types.InstanceMetadataOptionsRequest{HttpTokens: types.HttpTokensStateOptional}
)

func TestPlanChangesNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newFleetEnv(t)
		change := e.launch(t, optional, "env=prod")
		satisfied := e.launch(t, required, "env=prod")
		stopped := e.launch(t, optional, "env=prod")
		e.launch(t, optional, "env=dev") // not selected
		if _, err := e.ec2.StopInstances(context.Background(), &ec2.StopInstancesInput{InstanceIds: []string{stopped}}); err != nil {
			t.Fatal(err)
		}
		r := e.run(t, t.Context(), false, "plan", "--tags", "env=prod", "--http-tokens", "required")
		wantCode(t, r, exitOK)
		want := map[string]string{change: "change", satisfied: "satisfied", stopped: "pending-until-start"}
		if diff := cmp.Diff(want, statuses(t, r.stdout)); diff != "" {
			t.Errorf("statuses (-want +got):\n%s", diff)
		}
		if n := e.ec2.Calls("ModifyInstanceMetadataOptions"); n != 0 {
			t.Errorf("plan made %d ModifyInstanceMetadataOptions calls", n)
		}
		if e.cw.Calls() != 1 {
			t.Errorf("the gate made %d GetMetricData calls, want 1", e.cw.Calls())
		}
		if got := currentOptions(t, e.ec2, change); got.HttpTokens != "optional" {
			t.Errorf("plan changed %s: %+v", change, got)
		}
		// --output text: the library's table.
		r = e.run(t, t.Context(), false, "plan", "--tags", "env=prod", "--http-tokens", "required", "--output", "text")
		wantCode(t, r, exitOK)
		if !strings.HasPrefix(r.stdout, "INSTANCE ") || !strings.Contains(r.stdout, change) || !strings.Contains(r.stdout, "pending-until-start") {
			t.Errorf("text:\n%s", r.stdout)
		}
		// --query and --output table.
		r = e.run(t, t.Context(), false, "plan", "--tags", "env=prod", "--http-tokens", "required", "--query", "Counts.change", "--output", "text")
		wantCode(t, r, exitOK)
		if r.stdout != "1\n" {
			t.Errorf("query: %q", r.stdout)
		}
		r = e.run(t, t.Context(), false, "plan", "--tags", "env=prod", "--http-tokens", "required", "--output", "table", "--color", "off")
		wantCode(t, r, exitOK)
		if !strings.Contains(r.stdout, "fleet.NewPlan") || !strings.Contains(r.stdout, "pending-until-start") {
			t.Errorf("table:\n%s", r.stdout)
		}
	})
}

// The JSON shape of a plan and a report.
func TestFleetJSONShape(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newFleetEnv(t, func(o *fake.Options) { o.ApplyDelay = 0 })
		id := e.launch(t, nil)
		r := e.run(t, t.Context(), false, "plan", "--instance-ids", id, "--http-tokens", "required", "--http-put-response-hop-limit", "1")
		wantCode(t, r, exitOK)
		want := `{
    "Items": [
        {
            "InstanceId": "ID",
            "InstanceState": "running",
            "Status": "change",
            "Changes": {
                "HttpTokens": "required"
            },
            "IMDSv1Calls": 0,
            "MetadataOptions": {
                "State": "applied",
                "HttpTokens": "optional",
                "HttpPutResponseHopLimit": 1,
                "HttpEndpoint": "enabled",
                "HttpProtocolIpv6": "disabled",
                "InstanceMetadataTags": "disabled"
            }
        }
    ],
    "Irreversible": [],
    "Counts": {
        "change": 1,
        "applied": 0,
        "satisfied": 0,
        "held": 0,
        "pending-until-start": 0,
        "refused-downgrade": 0,
        "failed": 0,
        "not-attempted": 0,
        "excluded": 0,
        "rolled-back": 0,
        "needs-person": 0,
        "unconfirmed": 0,
        "cannot-apply": 0
    },
    "Calls": {
        "DescribeInstances": 1,
        "GetInstanceMetadataDefaults": 1,
        "GetMetricData": 1
    },
    "ElapsedSeconds": 0
}
`
		if want = strings.ReplaceAll(want, "ID", id); r.stdout != want {
			t.Errorf("plan:\n%s\nwant:\n%s", r.stdout, want)
		}
		r = e.run(t, t.Context(), false, "apply", "--instance-ids", id, "--http-tokens", "required", "--http-put-response-hop-limit", "1",
			"--query", "{s: Items[0].Status, m: Items[0].MetadataOptions.HttpTokens, c: Calls, t: Throttled, a: Counts.applied}")
		wantCode(t, r, exitOK)
		// EC2 answers the call "pending", even when it applies at once: one
		// poll sees it applied.
		want = `{
    "s": "applied",
    "m": "required",
    "c": {
        "DescribeInstances": 2,
        "GetInstanceMetadataDefaults": 1,
        "GetMetricData": 1,
        "ModifyInstanceMetadataOptions": 1
    },
    "t": 0,
    "a": 1
}
`
		if r.stdout != want {
			t.Errorf("apply:\n%s\nwant:\n%s", r.stdout, want)
		}
	})
}

func TestApplyChangesAndReports(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newFleetEnv(t) // changes apply 2 s after the call
		a := e.launch(t, optional, "env=prod", "team=x")
		b := e.launch(t, optional, "env=prod", "team=x")
		c := e.launch(t, &types.InstanceMetadataOptionsRequest{HttpTokens: types.HttpTokensStateRequired, HttpPutResponseHopLimit: aws.Int32(3)},
			"env=prod", "team=x")
		d := e.launch(t, optional, "env=prod", "team=y")
		start := time.Now()
		// A lower hop limit is a stronger setting: no --allow-downgrade.
		r := e.run(t, t.Context(), false, "apply", "--tags", "env=prod", "team=x", "--http-tokens", "required", "--http-put-response-hop-limit", "1")
		wantCode(t, r, exitOK)
		want := map[string]string{a: "applied", b: "applied", c: "applied"}
		if diff := cmp.Diff(want, statuses(t, r.stdout)); diff != "" {
			t.Errorf("statuses (-want +got):\n%s", diff)
		}
		for _, id := range []string{a, b, c} {
			if got := currentOptions(t, e.ec2, id); got.HttpTokens != "required" || aws.ToInt32(got.HttpPutResponseHopLimit) != 1 || got.State != "applied" {
				t.Errorf("%s: %+v", id, got)
			}
		}
		if got := currentOptions(t, e.ec2, d); got.HttpTokens != "optional" {
			t.Errorf("%s, not selected, changed: %+v", d, got)
		}
		// c only needed the hop limit: only that is sent.
		if ch := items(t, r.stdout)[c]["Changes"]; !cmp.Equal(ch, map[string]any{"HttpPutResponseHopLimit": 1.0}) {
			t.Errorf("changes of %s: %v", c, ch)
		}
		if n := e.ec2.Calls("ModifyInstanceMetadataOptions"); n != 3 {
			t.Errorf("%d ModifyInstanceMetadataOptions calls, want 3", n)
		}
		if r.stderr != "" {
			t.Errorf("stderr (not a terminal): %q", r.stderr)
		}
		if el := parseJSON(t, r.stdout).(map[string]any)["ElapsedSeconds"].(float64); el < 2 || el > time.Since(start).Seconds() {
			t.Errorf("ElapsedSeconds %v", el)
		}
		// Again: nothing to do.
		r = e.run(t, t.Context(), false, "apply", "--tags", "env=prod", "team=x", "--http-tokens", "required", "--http-put-response-hop-limit", "1", "--query", "Counts.satisfied")
		wantCode(t, r, exitOK)
		if r.stdout != "3\n" || e.ec2.Calls("ModifyInstanceMetadataOptions") != 3 {
			t.Errorf("second apply: %q, %d calls", r.stdout, e.ec2.Calls("ModifyInstanceMetadataOptions"))
		}
	})
}

// The progress line is drawn on a terminal only, and ends with a newline.
func TestApplyProgress(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newFleetEnv(t)
		for range 3 {
			e.launch(t, optional, "env=prod")
		}
		e.launch(t, required, "env=prod")
		r := e.run(t, t.Context(), true, "apply", "--tags", "env=prod", "--http-tokens", "required")
		wantCode(t, r, exitOK)
		// Drawn from 2 s on, once a second while the changes apply; the
		// last state stays.
		// (A line shorter than the one before is padded with blanks.)
		lines := strings.Split(strings.TrimPrefix(r.stderr, "\r"), "\r")
		last := lines[len(lines)-1]
		if len(lines) < 2 || lines[0] != "  1/4 satisfied 1, 7 calls (DescribeInstances 2, GetInstanceMetadataDefaults 1, GetMetricData 1, ModifyInstanceMetadataOptions 3), 2s" ||
			!strings.HasSuffix(last, "\n") ||
			strings.TrimRight(strings.TrimSuffix(last, "\n"), " ") != "  4/4 applied 3 satisfied 1, 8 calls (DescribeInstances 3, GetInstanceMetadataDefaults 1, GetMetricData 1, ModifyInstanceMetadataOptions 3), 6s" {
			t.Errorf("stderr %q", r.stderr)
		}
		r = e.run(t, t.Context(), false, "apply", "--tags", "env=prod", "--http-tokens", "required")
		wantCode(t, r, exitOK)
		if r.stderr != "" {
			t.Errorf("stderr %q", r.stderr)
		}
	})
}

// The IMDSv1 gate holds an instance that answered IMDSv1 calls within the
// window, and only within it.
func TestApplyGateHolds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newFleetEnv(t, func(o *fake.Options) { o.ApplyDelay = 0 })
		used := e.launch(t, optional, "env=prod")
		clean := e.launch(t, optional, "env=prod")
		e.cw.PutMetadataNoToken(used, time.Now().Add(-50*time.Hour), 7)
		e.cw.PutMetadataNoToken(used, time.Now().Add(-30*time.Hour), 3)
		r := e.run(t, t.Context(), false, "apply", "--tags", "env=prod", "--http-tokens", "required")
		wantCode(t, r, exitOK)
		it := items(t, r.stdout)
		if it[used]["Status"] != "held" || it[used]["IMDSv1Calls"] != 10.0 || !strings.Contains(it[used]["Error"].(string), "instance used IMDSv1") {
			t.Errorf("used: %v", it[used])
		}
		if it[clean]["Status"] != "applied" {
			t.Errorf("clean: %v", it[clean])
		}
		if got := currentOptions(t, e.ec2, used); got.HttpTokens != "optional" {
			t.Errorf("held instance changed: %+v", got)
		}
		if !strings.Contains(r.stderr, "1 instance(s) held by the IMDSv1 gate") {
			t.Errorf("stderr %q", r.stderr)
		}
		// A window of 1 day no longer sees the calls.
		r = e.run(t, t.Context(), false, "apply", "--tags", "env=prod", "--http-tokens", "required", "--min-imdsv1-free-days", "1")
		wantCode(t, r, exitOK)
		if st := statuses(t, r.stdout); st[used] != "applied" || st[clean] != "satisfied" {
			t.Errorf("statuses %v", st)
		}
	})
}

// A CloudWatch failure holds every gated instance (fail closed): nothing is
// changed, the report is printed, and the exit is 254.
func TestApplyCloudWatchFailureHoldsAll(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newFleetEnv(t, func(o *fake.Options) { o.ApplyDelay = 0 })
		a := e.launch(t, optional, "env=prod")
		b := e.launch(t, optional, "env=prod")
		sat := e.launch(t, required, "env=prod")
		e.cw.FailNext(1, fake.NewAPIError(403, "AccessDenied", "User is not authorized to perform: cloudwatch:GetMetricData"))
		r := e.run(t, t.Context(), false, "apply", "--tags", "env=prod", "--http-tokens", "required")
		wantCode(t, r, exitService)
		it := items(t, r.stdout)
		for _, id := range []string{a, b} {
			if it[id]["Status"] != "held" || !strings.Contains(it[id]["Error"].(string), "AccessDenied") {
				t.Errorf("%s: %v", id, it[id])
			}
		}
		if it[sat]["Status"] != "satisfied" {
			t.Errorf("%s: %v", sat, it[sat])
		}
		if n := e.ec2.Calls("ModifyInstanceMetadataOptions"); n != 0 {
			t.Errorf("%d ModifyInstanceMetadataOptions calls, want 0", n)
		}
		if !strings.Contains(r.stderr, "2 of 3 instance(s) held: IMDSv1 use unknown; first: ") || !strings.Contains(r.stderr, "AccessDenied") ||
			strings.Contains(r.stderr, "instance(s) failed") || !strings.Contains(r.stderr, "over the last 14 days") {
			t.Errorf("stderr %q", r.stderr)
		}
		// plan says the same, with the same exit.
		e.cw.FailNext(1, fake.NewAPIError(403, "AccessDenied", "denied"))
		r = e.run(t, t.Context(), false, "plan", "--tags", "env=prod", "--http-tokens", "required", "--query", "Counts.held")
		wantCode(t, r, exitService)
		if r.stdout != "2\n" {
			t.Errorf("plan: %q", r.stdout)
		}
		// With the gate off, CloudWatch is not asked.
		calls := e.cw.Calls()
		e.cw.FailNext(1, fake.NewAPIError(403, "AccessDenied", "denied"))
		r = e.run(t, t.Context(), false, "apply", "--tags", "env=prod", "--http-tokens", "required", "--min-imdsv1-free-days", "0", "--query", "Counts.applied")
		wantCode(t, r, exitOK)
		if r.stdout != "2\n" || e.cw.Calls() != calls {
			t.Errorf("gate off: %q, %d GetMetricData calls", r.stdout, e.cw.Calls()-calls)
		}
	})
}

func TestApplyDowngrade(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newFleetEnv(t, func(o *fake.Options) { o.ApplyDelay = 0 })
		id := e.launch(t, required, "env=prod")
		e.cw = nil // no gate for optional: CloudWatch must not be built
		r := e.run(t, t.Context(), false, "apply", "--tags", "env=prod", "--http-tokens", "optional")
		wantCode(t, r, exitOK)
		it := items(t, r.stdout)[id]
		if it["Status"] != "refused-downgrade" || !cmp.Equal(it["Downgrade"], map[string]any{"HttpTokens": "optional"}) {
			t.Errorf("item: %v", it)
		}
		if e.ec2.Calls("ModifyInstanceMetadataOptions") != 0 ||
			!strings.Contains(r.stderr, "not downgraded without --allow-downgrade (see \"Downgrade\" in the output)") {
			t.Errorf("calls %d, stderr %q", e.ec2.Calls("ModifyInstanceMetadataOptions"), r.stderr)
		}
		// In text, the downgrade is in the NOTE column.
		r = e.run(t, t.Context(), false, "apply", "--tags", "env=prod", "--http-tokens", "optional", "--output", "text")
		wantCode(t, r, exitOK)
		if !strings.Contains(r.stderr, "not downgraded without --allow-downgrade (see the NOTE column)") || libraryNames.MatchString(r.stdout+r.stderr) {
			t.Errorf("stdout %q\nstderr %q", r.stdout, r.stderr)
		}
		r = e.run(t, t.Context(), false, "apply", "--tags", "env=prod", "--http-tokens", "optional", "--allow-downgrade")
		wantCode(t, r, exitOK)
		if st := statuses(t, r.stdout)[id]; st != "applied" {
			t.Errorf("status %s", st)
		}
		if got := currentOptions(t, e.ec2, id); got.HttpTokens != "optional" {
			t.Errorf("not downgraded: %+v", got)
		}
	})
}

// --filters in shorthand and JSON, and several --instance-ids.
func TestFleetSelection(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newFleetEnv(t, func(o *fake.Options) { o.ApplyDelay = 0 })
		a := e.launch(t, optional, "env=prod", "team=x")
		b := e.launch(t, optional, "env=prod", "team=y")
		c := e.launch(t, optional, "env=dev", "team=x")
		plan := func(sel ...string) []string {
			t.Helper()
			args := append(append([]string{"plan"}, sel...), "--http-endpoint", "enabled", "--query", "Items[].InstanceId", "--output", "text")
			r := e.run(t, t.Context(), false, args...)
			wantCode(t, r, exitOK)
			return strings.Fields(r.stdout)
		}
		for _, tt := range []struct {
			sel  []string
			want []string
		}{
			{[]string{"--filters", "Name=tag:env,Values=prod"}, []string{a, b}},
			{[]string{"--filters", "Name=tag:env,Values=prod,dev", "Name=tag:team,Values=x"}, []string{a, c}},
			{[]string{"--filters", "Name=tag:env,Values=prod,dev", "--filters", "Name=tag:team,Values=x"}, []string{a, c}},
			{[]string{"--filters", `[{"Name":"tag:env","Values":["prod"]},{"Name":"tag:team","Values":["y"]}]`}, []string{b}},
			{[]string{"--filters", `{"Name":"tag:team","Values":["x"]}`}, []string{a, c}},
			{[]string{"--filters", "Name=tag:team,Values=x", "--tags", "env=dev"}, []string{c}},
			{[]string{"--tags", "env=prod", "team=y"}, []string{b}},
			{[]string{"--instance-ids", a, c}, []string{a, c}},
			{[]string{"--instance-ids", a + "," + b}, []string{a, b}},
			{[]string{"--instance-ids", a, "--instance-ids", b}, []string{a, b}},
			{[]string{"--instance-ids=" + c, "--tags", "team=x"}, []string{c}},
		} {
			if got := plan(tt.sel...); !cmp.Equal(got, tt.want) {
				t.Errorf("%q: %v, want %v", tt.sel, got, tt.want)
			}
		}
		// A named instance EC2 does not know is reported failed, exit 254
		// (the library looks for it again for a minute first).
		r := e.run(t, t.Context(), false, "plan", "--instance-ids", a, "i-0000000000000dead", "--http-endpoint", "enabled")
		wantCode(t, r, exitService)
		if st := statuses(t, r.stdout); st["i-0000000000000dead"] != "failed" || st[a] != "satisfied" {
			t.Errorf("statuses %v", st)
		}
	})
}

// Ctrl-C during apply prints the report so far and exits 130.
func TestApplyInterrupted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newFleetEnv(t, func(o *fake.Options) { o.ApplyDelay = time.Hour })
		for range 3 {
			e.launch(t, optional, "env=prod")
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan result)
		go func() {
			done <- e.run(t, ctx, false, "apply", "--tags", "env=prod", "--http-tokens", "required")
		}()
		synctest.Wait() // the changes are sent, and apply polls for them
		cancel()
		r := <-done
		wantCode(t, r, exitInterrupted)
		doc := parseJSON(t, r.stdout).(map[string]any)
		// Sent and accepted, not yet seen applied: unconfirmed, not failed.
		if n := doc["Counts"].(map[string]any)["unconfirmed"]; n != 3.0 {
			t.Errorf("report: %s", r.stdout)
		}
		if !strings.Contains(r.stdout, "not yet seen applied") || !strings.Contains(r.stderr, "interrupted") {
			t.Errorf("stdout %s\nstderr %s", r.stdout, r.stderr)
		}
	})
}

// Invalid command lines end with exit 252 before any client is built.
func TestFleetInvalidCommandLines(t *testing.T) {
	sel := []string{"--tags", "env=prod"}
	cmd := func(args ...string) []string { return append([]string{"apply"}, args...) }
	withSel := func(args ...string) []string { return cmd(append(append([]string{}, sel...), args...)...) }
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"hop 65", withSel("--http-put-response-hop-limit", "65"), []string{"--http-put-response-hop-limit 65", "must be 1..64"}},
		{"tokens bogus", withSel("--http-tokens", "bogus"), []string{`--http-tokens "bogus"`, `must be one of "optional", "required"`}},
		{"several bad values", cmd("--instance-ids", "i-1", "i-0123456789abcdef0", "--http-tokens", "bogus", "--http-endpoint", "on"),
			[]string{`--instance-ids "i-1"`, `--http-tokens "bogus"`, `--http-endpoint "on"`}},
		{"ipv6 with endpoint disabled", withSel("--http-endpoint", "disabled", "--http-protocol-ipv6", "enabled"), []string{`--http-protocol-ipv6 "enabled"`, "--http-endpoint"}},
		{"no selection", cmd("--http-tokens", "required"), []string{"one of --instance-ids, --filters or --tags is required"}},
		{"no option", withSel(), []string{"at least one of --http-tokens"}},
		{"ids without value", cmd("--instance-ids", "--http-tokens", "required"), []string{"flag needs an argument: --instance-ids"}},
		{"ids at the end", cmd("--http-tokens", "required", "--instance-ids"), []string{"flag needs an argument: --instance-ids"}},
		{"filter without values", cmd("--filters", "Name=tag:env", "--http-tokens", "required"), []string{"--filters", "missing Values"}},
		{"filter unknown key", cmd("--filters", "Name=tag:env,Value=prod", "--http-tokens", "required"), []string{"--filters", `unknown parameter "Value"`}},
		{"filter bad JSON", cmd("--filters", `[{"Name":"x","Values":"y"}]`, "--http-tokens", "required"), []string{"--filters", "invalid type for parameter [0].Values"}},
		{"tag without =", cmd("--tags", "env", "--http-tokens", "required"), []string{"--tags", "KEY=VALUE"}},
		{"tag twice", cmd("--tags", "env=a", "env=b", "--http-tokens", "required"), []string{"--tags", `"env" given twice`}},
		{"days negative", withSel("--http-tokens", "required", "--min-imdsv1-free-days", "-1"), []string{"--min-imdsv1-free-days", "0..455"}},
		{"days too many", withSel("--http-tokens", "required", "--min-imdsv1-free-days", "456"), []string{"--min-imdsv1-free-days", "0..455"}},
		{"days not a number", withSel("--http-tokens", "required", "--min-imdsv1-free-days", "2w"), []string{"--min-imdsv1-free-days"}},
		{"unknown flag", withSel("--http-tokens", "required", "--instance-id", "i-0123456789abcdef0"), []string{"unknown option --instance-id; did you mean --instance-ids?"}},
		{"plan too", []string{"plan", "--instance-ids", "i-XYZ", "--http-tokens", "required"}, []string{`--instance-ids "i-XYZ"`}},
		{"bad query", withSel("--http-tokens", "required", "--query", "Items[?"), []string{"--query"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var e *fleetEnv
			r := e.run(t, t.Context(), false, tt.args...)
			wantCode(t, r, exitUsage)
			if r.stdout != "" {
				t.Errorf("stdout: %s", r.stdout)
			}
			for _, w := range tt.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, r.stderr)
				}
			}
		})
	}
}

// A failing ModifyInstanceMetadataOptions fails that instance only; the exit
// is 254.
func TestApplyAPIFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newFleetEnv(t, func(o *fake.Options) { o.ApplyDelay = 0 })
		e.launch(t, optional, "env=prod")
		e.launch(t, optional, "env=prod")
		e.ec2.FailNext("ModifyInstanceMetadataOptions", 1, fake.NewAPIError(400, "InvalidParameterCombination", "nope"))
		r := e.run(t, t.Context(), false, "apply", "--tags", "env=prod", "--http-endpoint", "disabled", "--query", "Counts.[applied, failed]", "--output", "text")
		wantCode(t, r, exitService)
		if r.stdout != "1\t1\n" || !strings.Contains(r.stderr, "1 of 2 instance(s) failed") || !strings.Contains(r.stderr, "InvalidParameterCombination") {
			t.Errorf("stdout %q stderr %q", r.stdout, r.stderr)
		}
	})
}

func TestFleetOutcome(t *testing.T) {
	apiErr := fake.NewAPIError(500, "InternalError", "x")
	unknown := fmt.Errorf("imdsopts: i-1: %w over the last 14 days: the measurement failed: %w", fleet.ErrIMDSv1Unknown, apiErr)
	for _, tt := range []struct {
		name  string
		items []fleet.Item
		want  int
		msg   string
	}{
		{"none", nil, exitOK, ""},
		{"kept back", []fleet.Item{{Status: fleet.StatusApplied}, {Status: fleet.StatusRefused},
			{Status: fleet.StatusHeld, Err: fleet.ErrIMDSv1InUse}, {Status: fleet.StatusPendingStart}}, exitOK, ""},
		{"held unknown", []fleet.Item{{Status: fleet.StatusHeld, Err: unknown}}, exitService,
			"1 of 1 instance(s) held: IMDSv1 use unknown; first: i-1: IMDSv1 use unknown over the last 14 days: "},
		{"timeout", []fleet.Item{{Status: fleet.StatusFailed, Err: imdsopts.ErrTimeout}}, exitOther,
			"1 of 1 instance(s) failed; first: timed out"},
		{"not found", []fleet.Item{{Status: fleet.StatusFailed, Err: imdsopts.ErrInstanceNotFound}}, exitService, ""},
		{"service wins", []fleet.Item{{Status: fleet.StatusFailed, Err: imdsopts.ErrTimeout},
			{Status: fleet.StatusFailed, Err: errors.Join(errors.New("x"), apiErr)}}, exitService, "2 of 2 instance(s) failed; first: timed out"},
		{"every kind", []fleet.Item{{Status: fleet.StatusApplied}, {Status: fleet.StatusNotAttempted, Err: context.Canceled},
			{Status: fleet.StatusHeld, Err: unknown}, {Status: fleet.StatusFailed, Err: imdsopts.ErrTimeout}}, exitService,
			"1 of 4 instance(s) failed; 1 of 4 instance(s) not attempted; 1 of 4 instance(s) held: IMDSv1 use unknown; first: context canceled"},
	} {
		r := &fleetRun{flags: newFleetFlags()}
		err := r.outcome(tt.items)
		if got := exitCode(context.Background(), err); got != tt.want {
			t.Errorf("%s: exit %d, want %d", tt.name, got, tt.want)
		}
		if tt.msg != "" && (err == nil || !strings.HasPrefix(err.Error(), tt.msg)) {
			t.Errorf("%s: %v, want %q...", tt.name, err, tt.msg)
		}
	}
}

// A selection that matches no instance says so on stderr, naming the flags
// that selected; the exit is still 0, as nothing failed.
func TestSelectionMatchingNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newFleetEnv(t)
		e.launch(t, optional, "env=prod")
		for _, name := range []string{"plan", "apply"} {
			r := e.run(t, t.Context(), false, name, "--tags", "env=staging", "--filters", "Name=instance-state-name,Values=running",
				"--http-tokens", "required", "--query", "Counts.change")
			wantCode(t, r, exitOK)
			if r.stdout != "0\n" || r.stderr != "imdsopts: note: no instance matches --filters and --tags: nothing to change\n" {
				t.Errorf("%s: stdout %q, stderr %q", name, r.stdout, r.stderr)
			}
		}
		if n := e.ec2.Calls("ModifyInstanceMetadataOptions"); n != 0 {
			t.Errorf("%d changes", n)
		}
	})
}

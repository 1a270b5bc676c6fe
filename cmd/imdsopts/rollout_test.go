package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/google/go-cmp/cmp"

	"github.com/imdsopts/imdsopts"
	"github.com/imdsopts/imdsopts/fake"
	"github.com/imdsopts/imdsopts/fleet"
)

// newRolloutEnv is a fleetEnv whose CloudWatch is tied to its EC2: it
// counts each instance's IMDSv1 calls (fake.EC2.CallIMDSv1) per minute,
// MetadataNoTokenRejected included. Create it inside a synctest bubble.
func newRolloutEnv(t *testing.T, optFns ...func(*fake.Options)) *fleetEnv {
	t.Helper()
	e := newFleetEnv(t, optFns...)
	e.cw = fake.NewCloudWatch(func(o *fake.CloudWatchOptions) { o.EC2 = e.ec2 })
	return e
}

// fixedIdentity makes the run act in region, with credentials of account.
func fixedIdentity(region, account string) appOption {
	return withIdentity(func(context.Context, *globals, io.Writer) (string, error) { return region, nil },
		func(context.Context, *globals, API, io.Writer) (string, string, error) { return account, "", nil })
}

// runIn runs the command in-process against the fakes, in us-east-1 of
// the fake's account, with opts.
func (e *fleetEnv) runIn(t *testing.T, ctx context.Context, tty bool, opts []appOption, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	all := append([]appOption{
		withMetrics(func(context.Context, *globals, io.Writer) (fleet.MetricsAPI, error) { return e.cw, nil }),
		withTerminal(tty), fixedIdentity("us-east-1", fake.AccountID)}, opts...)
	code := runWith(ctx, args, strings.NewReader(""), &stdout, &stderr, noEnv, fakeAPI(e.ec2), all...)
	return result{code, stdout.String(), stderr.String()}
}

// launchN launches n instances that allow IMDSv1, tagged env=prod, with a
// measured zero of IMDSv1 use an hour ago.
func (e *fleetEnv) launchN(t *testing.T, n int) []string {
	t.Helper()
	ids := make([]string, n)
	for i := range ids {
		ids[i] = e.launch(t, optional, "env=prod")
	}
	return ids
}

// The rollout of the story: the canary passes its bake, the second
// wave holds an instance whose software still calls IMDSv1, which now
// rejects them. The wave fails: that instance is rolled back to the options
// it had, the rollout halts, the later waves are not attempted, and the
// exit is 254, CloudWatch's answer.
func haltingRollout(t *testing.T, format ...string) (*fleetEnv, []string, result) {
	t.Helper()
	e := newRolloutEnv(t)
	ids := e.launchN(t, 6)
	// Its software calls IMDSv1 all along: the gate, were it on, would
	// hold it; here it is off, as for software that calls too rarely for
	// the gate's window to see.
	if err := e.ec2.CallIMDSv1(ids[2], 3); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"apply", "--tags", "env=prod", "--http-tokens", "required", "--min-imdsv1-free-days", "0",
		"--canary", "1", "--max-wave", "2", "--bake", "10m"}, format...)
	r := e.runIn(t, t.Context(), false, nil, args...)
	wantCode(t, r, exitService)
	return e, ids, r
}

func TestRolloutHaltsAndRollsBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		e, ids, r := haltingRollout(t)
		doc := parseJSON(t, r.stdout).(map[string]any)
		type row struct {
			Wave     float64
			Status   string
			Rejected bool
		}
		got := map[string]row{}
		for _, it := range doc["Items"].([]any) {
			it := it.(map[string]any)
			rej, ok := it["RejectedCalls"].(float64)
			got[it["InstanceId"].(string)] = row{it["Wave"].(float64), it["Status"].(string), ok && rej > 0}
			if _, ok := it["RejectedCalls"]; ok != (it["Wave"].(float64) <= 2) {
				t.Errorf("%s: RejectedCalls %v: only the instances watched have it", it["InstanceId"], it["RejectedCalls"])
			}
		}
		want := map[string]row{
			ids[0]: {1, "applied", false},
			ids[1]: {2, "applied", false}, ids[2]: {2, "rolled-back", true},
			ids[3]: {3, "not-attempted", false}, ids[4]: {3, "not-attempted", false},
			ids[5]: {4, "not-attempted", false},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("items (-want +got):\n%s", diff)
		}
		waves := doc["Waves"].([]any)
		if len(waves) != 2 {
			t.Fatalf("waves %v", waves)
		}
		w1, w2 := waves[0].(map[string]any), waves[1].(map[string]any)
		if w1["Result"] != "passed" || w1["Instances"] != 1.0 || w1["Rejected"] != 0.0 || w1["Watched"] != 1.0 || w1["Error"] != nil {
			t.Errorf("wave 1: %v", w1)
		}
		if w2["Result"] != "failed" || w2["Instances"] != 2.0 || w2["Rejected"] != 1.0 || w2["Watched"] != 3.0 ||
			!strings.Contains(w2["Error"].(string), "rollout halted at wave 2 of 4: 1 instance(s) rejected IMDSv1 calls ("+ids[2]+")") {
			t.Errorf("wave 2: %v", w2)
		}
		// Each bake is 10 minutes of the bubble's clock, from the time EC2
		// reported the wave applied, and then until CloudWatch has the data
		// of its end: the 5-minute period that holds it, published a
		// minute after it ends.
		started, _ := time.Parse(time.RFC3339, w1["Started"].(string))
		ended, _ := time.Parse(time.RFC3339, w1["Ended"].(string))
		if d := ended.Sub(started); d < 10*time.Minute || d > 17*time.Minute || started.Before(start.Truncate(time.Second)) {
			t.Errorf("wave 1 from %v to %v", started, ended)
		}
		if counts := doc["Counts"].(map[string]any); counts["rolled-back"] != 1.0 || counts["not-attempted"] != 3.0 || counts["applied"] != 2.0 {
			t.Errorf("counts %v", counts)
		}
		if _, ok := doc["Irreversible"].([]any); !ok {
			t.Errorf("no Irreversible list: %v", doc["Irreversible"])
		}
		// EC2: the rolled back instance allows IMDSv1 again, the others
		// keep the change; 3 changes and 1 rollback were sent.
		for i, wantTokens := range []types.HttpTokensState{"required", "required", "optional", "optional", "optional", "optional"} {
			if got := currentOptions(t, e.ec2, ids[i]); got.HttpTokens != wantTokens {
				t.Errorf("%s: %s, want %s", ids[i], got.HttpTokens, wantTokens)
			}
		}
		if n := e.ec2.Calls("ModifyInstanceMetadataOptions"); n != 4 {
			t.Errorf("%d ModifyInstanceMetadataOptions calls, want 4", n)
		}
		for _, w := range []string{
			"imdsopts: the rollout halted at wave 2: 1 instance(s) rolled back, 0 left to a person (see \"Error\" in the output), 3 not attempted\n",
			"imdsopts: error: rollout halted at wave 2 of 4: 1 instance(s) rejected IMDSv1 calls (" + ids[2] + ")\n",
		} {
			if !strings.Contains(r.stderr, w) {
				t.Errorf("stderr lacks %q:\n%s", w, r.stderr)
			}
		}
		// The keys in the documented order.
		order := regexp.MustCompile(`(?s)"Items".*"InstanceId".*"InstanceState".*"Status".*"Wave".*"Changes".*"RejectedCalls".*"Error".*"MetadataOptions".*` +
			`"Irreversible".*"Waves".*"Wave".*"Instances".*"Started".*"Ended".*"Watched".*"Rejected".*"Result".*"Counts".*"Calls".*"Throttled".*"ElapsedSeconds"`)
		if !order.MatchString(r.stdout) {
			t.Errorf("keys out of order:\n%s", r.stdout)
		}
	})
}

// --output text: the instances with their wave and rejected calls, then
// the waves; --output table renders the whole document.
func TestRolloutTextAndTable(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, ids, r := haltingRollout(t, "--output", "text")
		lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
		if len(lines) != 11 {
			t.Fatalf("text:\n%s", r.stdout)
		}
		head := regexp.MustCompile(`^INSTANCE +STATE +WAVE +STATUS +REJECTED +CHANGES +NOTE$`)
		if !head.MatchString(lines[0]) {
			t.Errorf("header %q", lines[0])
		}
		rows := []*regexp.Regexp{
			regexp.MustCompile(`^` + ids[0] + ` +running +1 +applied +0 +HttpTokens=required *$`),
			regexp.MustCompile(`^` + ids[1] + ` +running +2 +applied +0 +HttpTokens=required *$`),
			regexp.MustCompile(`^` + ids[2] + ` +running +2 +rolled-back +[0-9.]+ +HttpTokens=required +[0-9.]+ IMDSv1 calls rejected since its wave began: instance rejected IMDSv1 calls$`),
			regexp.MustCompile(`^` + ids[3] + ` +running +3 +not-attempted +- +HttpTokens=required +not attempted: rollout halted at wave 2 of 4: `),
		}
		for i, re := range rows {
			if !re.MatchString(lines[i+1]) {
				t.Errorf("line %d %q does not match %s", i+1, lines[i+1], re)
			}
		}
		if lines[7] != "" || !regexp.MustCompile(`^WAVE +INSTANCES +STARTED +ENDED +WATCHED +REJECTED +RESULT$`).MatchString(lines[8]) ||
			!regexp.MustCompile(`^1 +1 +2000-01-01T00:\d\d:\d\dZ +2000-01-01T00:\d\d:\d\dZ +1 +0 +passed$`).MatchString(lines[9]) ||
			!regexp.MustCompile(`^2 +2 +\S+ +\S+ +3 +1 +failed: rollout halted at wave 2 of 4: 1 instance\(s\) rejected IMDSv1 calls \(`+ids[2]+`\)$`).MatchString(lines[10]) {
			t.Errorf("waves:\n%s", strings.Join(lines[7:], "\n"))
		}
	})
	synctest.Test(t, func(t *testing.T) {
		_, _, r := haltingRollout(t, "--output", "table", "--color", "off")
		for _, w := range []string{"fleet.Apply", "Waves", "RejectedCalls", "rolled-back", "failed", "passed", "Watched"} {
			if !strings.Contains(r.stdout, w) {
				t.Errorf("table lacks %q:\n%s", w, r.stdout)
			}
		}
	})
	synctest.Test(t, func(t *testing.T) {
		_, ids, r := haltingRollout(t, "--query", "Items[?Status=='rolled-back'].[InstanceId, Wave]", "--output", "text")
		if r.stdout != ids[2]+"\t2\n" {
			t.Errorf("query: %q", r.stdout)
		}
	})
}

// On a terminal, the progress line says the wave, its size, the time left
// of its bake, and the instances that rejected IMDSv1 calls.
func TestRolloutProgress(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newRolloutEnv(t)
		ids := e.launchN(t, 6)
		if err := e.ec2.CallIMDSv1(ids[2], 3); err != nil {
			t.Fatal(err)
		}
		r := e.runIn(t, t.Context(), true, nil, "apply", "--tags", "env=prod", "--http-tokens", "required", "--min-imdsv1-free-days", "0",
			"--canary", "1", "--max-wave", "2", "--bake", "10m", "--query", "Counts.applied")
		wantCode(t, r, exitService)
		for _, re := range []string{
			`wave 1 of 4 \(1 instances\): baking, 9m5\ds left; no rejected IMDSv1 calls so far; 1/6 applied 1, `,
			`wave 1 of 4 \(1 instances\): baking, 0s left; `,
			// The first reading after a whole minute sees the rejected calls.
			`wave 2 of 4 \(2 instances\): baking, 9m\d+s left; no rejected IMDSv1 calls so far; 3/6 applied 3, `,
			`rollout halted at wave 2 of 4: rolling back; 1 instance\(s\) rejected IMDSv1 calls; 3/6 applied 3, `,
			`rollout halted at wave 2 of 4: rolling back; 1 instance\(s\) rejected [0-9.]+ IMDSv1 calls; 6/6 applied 2 not-attempted 3 rolled-back 1, `,
		} {
			if !regexp.MustCompile(re).MatchString(r.stderr) {
				t.Errorf("progress lacks %s", re)
			}
		}
		if t.Failed() {
			t.Logf("%q", r.stderr[max(0, len(r.stderr)-3000):])
		}
		lines := strings.Split(r.stderr, "\r")
		if last := lines[len(lines)-1]; !strings.Contains(last, "rolled-back 1") || !strings.Contains(last, "\n") {
			t.Errorf("last line %q", last)
		}
	})
}

// A rollout of a change that does not require tokens goes in waves with
// their bakes, and nothing reads CloudWatch.
func TestRolloutWithoutWatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newRolloutEnv(t, func(o *fake.Options) { o.ApplyDelay = 0 })
		ids := e.launchN(t, 3)
		e.cw = nil // must not be built
		start := time.Now()
		r := e.runIn(t, t.Context(), false, nil, "apply", "--tags", "env=prod", "--http-put-response-hop-limit", "2", "--allow-downgrade",
			"--canary", "1", "--max-wave", "100%", "--bake", "1m", "--query", "[Items[].[InstanceId, Wave, Status], length(Waves)]", "--output", "json")
		wantCode(t, r, exitOK)
		var got []any
		if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
			t.Fatal(err, r.stdout)
		}
		want := []any{[]any{[]any{ids[0], 1.0, "applied"}, []any{ids[1], 2.0, "applied"}, []any{ids[2], 2.0, "applied"}}, 2.0}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
		if d := time.Since(start); d < 2*time.Minute {
			t.Errorf("two bakes of 1m took %v", d)
		}
	})
}

// plan numbers the waves of a rollout, and with the canary's tags picks
// those instances first.
func TestPlanRolloutWaves(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newRolloutEnv(t)
		var ids []string
		for i := range 7 {
			role := "web"
			if i == 4 || i == 5 {
				role = "canary"
			}
			ids = append(ids, e.launch(t, optional, "env=prod", "role="+role))
		}
		r := e.runIn(t, t.Context(), false, nil, "plan", "--tags", "env=prod", "--http-tokens", "required",
			"--canary-tags", "role=canary", "--wave-growth", "1.5", "--max-wave", "40%", "--query", "{w: Items[].Wave, s: Waves, i: Irreversible}")
		wantCode(t, r, exitOK)
		// Canary: both tagged; then 3 (2*1.5), then 3 capped at 40% of 7
		// (3), then the last.
		want := map[string]any{"w": []any{2.0, 2.0, 2.0, 3.0, 1.0, 1.0, 3.0}, "i": []any{},
			"s": []any{map[string]any{"Wave": 1.0, "Instances": 2.0}, map[string]any{"Wave": 2.0, "Instances": 3.0}, map[string]any{"Wave": 3.0, "Instances": 2.0}}}
		if diff := cmp.Diff(want, parseJSON(t, r.stdout)); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
		if e.ec2.Calls("ModifyInstanceMetadataOptions") != 0 {
			t.Error("plan changed something")
		}
		// The text table has the waves.
		r = e.runIn(t, t.Context(), false, nil, "plan", "--tags", "env=prod", "--http-tokens", "required", "--canary", "1", "--output", "text")
		wantCode(t, r, exitOK)
		if !regexp.MustCompile(`(?m)^` + ids[0] + ` +running +1 +change +- +HttpTokens=required`).MatchString(r.stdout) {
			t.Errorf("text:\n%s", r.stdout)
		}
		// Canary tags no instance to change has: refused, with the plan's
		// message, nothing changed.
		r = e.runIn(t, t.Context(), false, nil, "apply", "--tags", "env=prod", "--http-tokens", "required", "--canary-tags", "role=none")
		wantCode(t, r, exitOther) // after the listing
		if !strings.Contains(r.stderr, `Rollout.CanaryTags`) || e.ec2.Calls("ModifyInstanceMetadataOptions") != 0 {
			t.Errorf("stderr %q", r.stderr)
		}
	})
}

// enforceIMDSv2 makes the fake's account enforce IMDSv2.
func enforceIMDSv2(t *testing.T, f *fake.EC2) {
	t.Helper()
	if _, err := f.ModifyInstanceMetadataDefaults(context.Background(), &ec2.ModifyInstanceMetadataDefaultsInput{
		HttpTokensEnforced: types.DefaultHttpTokensEnforcedStateEnabled}); err != nil {
		t.Fatal(err)
	}
}

// Where the account enforces IMDSv2, a change from optional to required
// cannot be rolled back or undone: plan says so, and apply, with a rollout,
// a journal or neither (one rule), refuses to change anything without
// --accept-irreversible.
func TestApplyRefusesIrreversible(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newRolloutEnv(t, func(o *fake.Options) { o.ApplyDelay = 0 })
		ids := e.launchN(t, 2)
		sat := e.launch(t, required, "env=prod")
		other := e.launch(t, optional, "env=stage")
		enforceIMDSv2(t, e.ec2)
		journal := filepath.Join(t.TempDir(), "run.jsonl")

		r := e.runIn(t, t.Context(), false, nil, "plan", "--tags", "env=prod", "--http-tokens", "required", "--canary", "1", "--query", "Irreversible")
		wantCode(t, r, exitOK)
		if diff := cmp.Diff([]any{ids[0], ids[1]}, parseJSON(t, r.stdout)); diff != "" {
			t.Errorf("plan's Irreversible (-want +got):\n%s", diff)
		}
		if !strings.Contains(r.stderr, "imdsopts: note: 2 instance(s) could not be changed back once changed") {
			t.Errorf("plan's stderr %q", r.stderr)
		}
		for _, args := range [][]string{
			{"--canary", "1", "--bake", "1m"},
			{"--journal", journal},
			{},
		} {
			r = e.runIn(t, t.Context(), false, nil, append([]string{"apply", "--tags", "env=prod", "--http-tokens", "required"}, args...)...)
			wantCode(t, r, exitService)
			doc := parseJSON(t, r.stdout).(map[string]any)
			if st := statuses(t, r.stdout); st[ids[0]] != "change" || st[sat] != "satisfied" || len(doc["Irreversible"].([]any)) != 2 {
				t.Errorf("%v: the plan is not printed: %s", args, r.stdout)
			}
			if !strings.Contains(r.stderr, "2 instance(s) would be changed for good") || !strings.Contains(r.stderr, "nothing was changed: give --accept-irreversible") {
				t.Errorf("%v: stderr %q", args, r.stderr)
			}
			if n := e.ec2.Calls("ModifyInstanceMetadataOptions"); n != 0 {
				t.Fatalf("%v: %d changes made", args, n)
			}
			if _, err := os.Stat(journal); !os.IsNotExist(err) {
				t.Errorf("%v: the journal of a run that changed nothing is left: %v", args, err)
			}
		}
		r = e.runIn(t, t.Context(), false, nil, "apply", "--tags", "env=prod", "--http-tokens", "required", "--journal", journal,
			"--accept-irreversible", "--query", "Counts.applied")
		wantCode(t, r, exitOK)
		if r.stdout != "2\n" {
			t.Errorf("accepted: %q", r.stdout)
		}
		// Undo cannot make them optional again: a person must.
		defer func() {
			// Accepted up front, a run that neither rolls back nor
			// journals has nothing to tell, and does not ask.
			reads := e.ec2.Calls("GetInstanceMetadataDefaults")
			r := e.runIn(t, t.Context(), false, nil, "apply", "--tags", "env=stage", "--http-tokens", "required", "--accept-irreversible",
				"--query", "Counts.applied")
			wantCode(t, r, exitOK)
			if r.stdout != "1\n" || e.ec2.Calls("GetInstanceMetadataDefaults") != reads || currentOptions(t, e.ec2, other).HttpTokens != "required" {
				t.Errorf("accepted without a journal: %q, %d reads of the defaults", r.stdout, e.ec2.Calls("GetInstanceMetadataDefaults")-reads)
			}
		}()
		r = e.runIn(t, t.Context(), false, nil, "undo", journal, "--query", "Items[].[InstanceId, Status]", "--output", "text")
		wantCode(t, r, exitService)
		if r.stdout != ids[0]+"\tneeds-person\n"+ids[1]+"\tneeds-person\n" || e.ec2.Calls("ModifyInstanceMetadataOptions") != 2 {
			t.Errorf("undo: %q, %d calls", r.stdout, e.ec2.Calls("ModifyInstanceMetadataOptions"))
		}
		if !strings.Contains(r.stderr, "2 of 2 instance(s) left to a person; first: ") || !strings.Contains(r.stderr, "account enforces IMDSv2") {
			t.Errorf("undo stderr %q", r.stderr)
		}
	})
}

// A rollout that halts because the rejected calls could not be measured
// (CloudWatch refuses) exits 254; one with no datapoint at all, 255.
func TestRolloutHaltsOnUnknown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newRolloutEnv(t)
		ids := e.launchN(t, 2)
		e.cw.FailNext(100, fake.NewAPIError(403, "AccessDenied", "not authorized to perform: cloudwatch:GetMetricData"))
		r := e.runIn(t, t.Context(), false, nil, "apply", "--tags", "env=prod", "--http-tokens", "required", "--min-imdsv1-free-days", "0",
			"--canary", "1", "--bake", "1m", "--query", "Items[].Status", "--output", "text")
		wantCode(t, r, exitService)
		// Nothing was measured to reject calls: nothing is rolled back.
		if r.stdout != "applied\tnot-attempted\n" {
			t.Errorf("statuses %q", r.stdout)
		}
		if !strings.Contains(r.stderr, "AccessDenied") || !strings.Contains(r.stderr, "could not be measured") {
			t.Errorf("stderr %q", r.stderr)
		}
		if got := currentOptions(t, e.ec2, ids[1]); got.HttpTokens != "optional" {
			t.Errorf("the second wave was changed: %+v", got)
		}
	})
	synctest.Test(t, func(t *testing.T) {
		e := newRolloutEnv(t)
		e.launchN(t, 2)
		e.cw = fake.NewCloudWatch() // not tied: no datapoint of MetadataNoTokenRejected
		r := e.runIn(t, t.Context(), false, nil, "apply", "--tags", "env=prod", "--http-tokens", "required", "--min-imdsv1-free-days", "0",
			"--canary", "1", "--bake", "1m", "--query", "Counts")
		wantCode(t, r, exitOther)
		if !strings.Contains(r.stderr, "rollout halted at wave 1 of 2") || !strings.Contains(r.stderr, "IMDSv1 use unknown") {
			t.Errorf("stderr %q", r.stderr)
		}
	})
}

// Every rollout flag is checked before anything is built or sent: exit
// 252, naming the flag, the value and the rule.
func TestRolloutFlagValidation(t *testing.T) {
	dir := t.TempDir()
	full := filepath.Join(dir, "full.jsonl")
	if err := os.WriteFile(full, []byte(`{"record":"header"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	apply := func(args ...string) []string {
		return append([]string{"apply", "--tags", "env=prod", "--http-tokens", "required"}, args...)
	}
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"canary 0", apply("--canary", "0"), []string{`invalid value "0" for flag --canary: must be a whole number of instances, at least 1, or a percentage such as 1%`}},
		{"canary negative", apply("--canary", "-3"), []string{`"-3" for flag --canary`}},
		{"canary fraction", apply("--canary", "1.5"), []string{`"1.5" for flag --canary: must be a whole number`}},
		{"canary word", apply("--canary", "one"), []string{`"one" for flag --canary`}},
		{"canary 0%", apply("--canary", "0%"), []string{`"0%" for flag --canary: must be a percentage above 0% and at most 100%`}},
		{"canary 101%", apply("--canary", "101%"), []string{`"101%" for flag --canary: must be a percentage above 0% and at most 100%`}},
		{"canary NaN%", apply("--canary", "NaN%"), []string{`"NaN%" for flag --canary`}},
		{"canary-tags without =", apply("--canary-tags", "role"), []string{`"role" for flag --canary-tags: must be KEY=VALUE`}},
		{"canary-tags twice", apply("--canary-tags", "a=1", "a=2"), []string{`--canary-tags: tag "a" given twice`}},
		{"canary-tags empty", apply("--canary-tags"), []string{"flag needs an argument: --canary-tags"}},
		{"growth below 1", apply("--canary", "1", "--wave-growth", "0.5"), []string{`"0.5" for flag --wave-growth: must be a number, at least 1`}},
		{"growth inf", apply("--canary", "1", "--wave-growth", "Inf"), []string{`"Inf" for flag --wave-growth`}},
		{"growth word", apply("--canary", "1", "--wave-growth", "double"), []string{`"double" for flag --wave-growth`}},
		{"max-wave 0", apply("--canary", "1", "--max-wave", "0"), []string{`"0" for flag --max-wave: must be a whole number`}},
		{"max-wave 200%", apply("--canary", "1", "--max-wave", "200%"), []string{`"200%" for flag --max-wave: must be a percentage`}},
		{"bake 30s", apply("--canary", "1", "--bake", "30s"), []string{`"30s" for flag --bake: must be a duration such as "10m", 1m0s..24h0m0s: EC2 counts rejected IMDSv1 calls per minute`}},
		{"bake 25h", apply("--canary", "1", "--bake", "25h"), []string{`"25h" for flag --bake`}},
		{"bake 0", apply("--canary", "1", "--bake", "0"), []string{`"0" for flag --bake`}},
		{"bake word", apply("--canary", "1", "--bake", "long"), []string{`"long" for flag --bake`}},
		{"check-every 5s", apply("--canary", "1", "--check-every", "5s"), []string{`"5s" for flag --check-every: must be a duration such as "1m", at least 10s, or 0`}},
		{"check-every negative", apply("--canary", "1", "--check-every", "-1m"), []string{`"-1m" for flag --check-every`}},
		{"rollback all", apply("--canary", "1", "--rollback", "all"), []string{`"all" for flag --rollback: must be one of "failed", "wave", "none"`}},
		{"bake without canary", apply("--bake", "10m"), []string{"--bake: only with a rollout: give --canary or --canary-tags too"}},
		{"rollback without canary", apply("--rollback", "wave"), []string{"--rollback: only with a rollout"}},
		{"journal in plan", []string{"plan", "--tags", "a=b", "--http-tokens", "required", "--journal", "x"}, []string{"unknown option --journal"}},
		{"journal empty", apply("--journal", ""), []string{`--journal "": must name a new file`}},
		{"journal exists", apply("--journal", full), []string{"journal " + full + ": the file exists and is not empty: a journal records one run"}},
		{"journal /dev/full", apply("--journal", "/dev/full"), []string{`journal /dev/full: must be a regular file, not a device`}},
		{"journal dir", apply("--journal", dir), []string{`journal ` + dir + `: `}},
		{"journal no dir", apply("--journal", filepath.Join(dir, "no", "j")), []string{"no such file or directory"}},
		{"resume with options", []string{"apply", "--resume", full, "--http-tokens", "required"}, []string{"--resume and --http-tokens: a resumed run goes on with"}},
		{"resume with selection", []string{"apply", "--tags", "a=b", "--resume", full}, []string{"--resume and --tags"}},
		{"resume with canary", []string{"apply", "--resume", full, "--canary", "1"}, []string{"--resume and --canary"}},
		{"resume with journal", []string{"apply", "--resume", full, "--journal", full}, []string{"--resume and --journal"}},
		{"resume missing", []string{"apply", "--resume", filepath.Join(dir, "none")}, []string{"none: no such file or directory"}},
		{"resume not a journal", []string{"apply", "--resume", full}, []string{`journal ` + full + `: line 1: `, "journal refused"}},
		{"resume bad query", []string{"apply", "--resume", full, "--query", "Waves[?"}, []string{"--query"}},
		{"undo without file", []string{"undo"}, []string{"the journal is required: imdsopts undo FILE"}},
		{"undo two files", []string{"undo", full, full}, []string{"unexpected argument"}},
		{"undo not a journal", []string{"undo", full}, []string{`journal ` + full + `: line 1: `}},
		{"undo unknown flag", []string{"undo", full, "--canary", "1"}, []string{"unknown option --canary"}},
		{"undo in the emulator", []string{"undo", full, "--emulator"}, []string{"--emulator: the in-process emulator is new in every run"}},
		{"resume in the emulator", []string{"apply", "--emulator", "--resume", full}, []string{"--emulator: the in-process emulator is new in every run"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
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
	if b, err := os.ReadFile(full); err != nil || string(b) != `{"record":"header"}`+"\n" {
		t.Errorf("the existing file was changed: %q, %v", b, err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("files left: %v", entries)
	}
}

// --check-every 0 reads CloudWatch only when each bake ends, and then
// while it waits for CloudWatch's data of the bake's end, once a minute:
// the 5-minute period that holds the end of this 10-minute bake is
// published 6 minutes after it.
func TestRolloutCheckEvery(t *testing.T) {
	for _, tt := range []struct {
		every string
		reads int
	}{{"0", 1 + 6}, {"0s", 1 + 6}, {"1m", 10 + 6}, {"3m", 4 + 2}} {
		synctest.Test(t, func(t *testing.T) {
			e := newRolloutEnv(t, func(o *fake.Options) { o.ApplyDelay = 0 })
			e.launchN(t, 1)
			r := e.runIn(t, t.Context(), false, nil, "apply", "--tags", "env=prod", "--http-tokens", "required", "--min-imdsv1-free-days", "0",
				"--canary", "1", "--bake", "10m", "--check-every", tt.every, "--query", "Calls.GetMetricData")
			wantCode(t, r, exitOK)
			if r.stdout != strconv.Itoa(tt.reads)+"\n" {
				t.Errorf("--check-every %s: %q GetMetricData calls, want %d", tt.every, r.stdout, tt.reads)
			}
		})
	}
}

// Whatever the values of the rollout flags, parsing them does not panic,
// and every rollout they make is one the library accepts.
func FuzzRolloutFlags(f *testing.F) {
	f.Add("1", "2", "20%", "10m", "1m", "failed")
	f.Add("0.5%", "1", "100%", "1m", "0", "wave")
	f.Add("x", "NaN", "0", "30s", "5s", "all")
	f.Add("100%", "1e308", "1", "24h", "0s", "none")
	f.Add("99999999999999999999", "1.0000001", "1e-300%", "600", "10.5", "")
	api := fake.New() // no instance: only the options are checked
	s, err := imdsopts.New(imdsopts.RequireIMDSv2())
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, canary, growth, maxWave, bake, every, rollback string) {
		rf := newRolloutFlags()
		fs := newFlagSet("fuzz")
		rf.register(fs)
		if _, err := parseArgs(fs, []string{"--canary=" + canary, "--wave-growth=" + growth, "--max-wave=" + maxWave, "--bake=" + bake,
			"--check-every=" + every, "--rollback=" + rollback}, givenFlags{}); err != nil {
			return
		}
		r := rf.rollout(nil)
		if r.Bake < minBake || r.Bake > maxBake || r.CheckEvery != 0 && r.CheckEvery < minCheckEvery {
			t.Fatalf("accepted bake %v, check every %v", r.Bake, r.CheckEvery)
		}
		_, err := fleet.NewPlan(context.Background(), api, fleet.Selection{}, s, func(o *fleet.Options) {
			o.Rollout, o.Metrics, o.Enforcement = r, fake.NewCloudWatch(), api
		})
		if err != nil {
			t.Fatalf("%+v: the library refuses what the flags accepted: %v", *r, err)
		}
	})
}

// A journal's path in a note is a shell word that stands for the path.
func TestShellQuote(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	for _, path := range []string{"run.jsonl", "/tmp/a b/run.jsonl", "it's", `$HOME/"x"`, "a\\b", "*", "-x", "a;b", "", "~/j"} {
		q := shellQuote(path)
		out, err := exec.Command(sh, "-c", "printf %s "+q).Output()
		if err != nil || string(out) != path {
			t.Errorf("%q quoted %s: the shell read %q, %v", path, q, out, err)
		}
	}
}

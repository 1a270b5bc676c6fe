package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imdsopts/imdsopts/account"
	"github.com/imdsopts/imdsopts/fake"
	"github.com/imdsopts/imdsopts/fleet"
	"github.com/imdsopts/imdsopts/org"
)

// Accounts of the organisation of the tests across targets.
const (
	mgmtID   = fake.AccountID
	memberA  = "111111111111"
	memberB  = "222222222222"
	noRoleID = "333333333333"
	testRole = "Ops"
)

// orgEnv is an organisation of the fakes served by one handler, which the
// command reaches through the real SDK (fake.InMemoryConfig): it counts
// the requests, and keeps the secrets of every credential STS answered.
type orgEnv struct {
	org *fake.Organization
	cfg aws.Config

	mu       sync.Mutex
	requests int
	secrets  []string
}

var stsSecret = regexp.MustCompile(`<(?:SecretAccessKey|SessionToken)>([^<]+)</`)

// newOrgEnv makes an organisation of the management account and members,
// each with testRole unless it is noRoleID, whose EC2s apply at once.
func newOrgEnv(t *testing.T, members ...string) *orgEnv {
	t.Helper()
	return newOrgEnvWith(t, func(o *fake.Options) { o.ApplyDelay = 0 }, members...)
}

// newOrgEnvWith is newOrgEnv with the EC2s' options set by ec2.
func newOrgEnvWith(t *testing.T, ec2 func(*fake.Options), members ...string) *orgEnv {
	t.Helper()
	org, err := fake.NewOrganization(func(o *fake.OrganizationOptions) { o.EC2 = ec2 })
	if err != nil {
		t.Fatal(err)
	}
	if err := org.Management().CreateRole(testRole); err != nil {
		t.Fatal(err)
	}
	for _, id := range members {
		a, err := org.AddAccount(id)
		if err != nil {
			t.Fatal(err)
		}
		if id != noRoleID {
			if err := a.CreateRole(testRole); err != nil {
				t.Fatal(err)
			}
		}
	}
	e := &orgEnv{org: org}
	home, _ := org.Management().Region("us-east-1")
	h := fake.NewHandler(home.EC2(), func(o *fake.HandlerOptions) {
		o.Organization = org
		o.OnRequest = func(fake.RequestRecord) { e.mu.Lock(); e.requests++; e.mu.Unlock() }
	})
	e.cfg = fake.InMemoryConfig(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := &capture{ResponseWriter: w}
		h.ServeHTTP(c, r)
		e.mu.Lock()
		defer e.mu.Unlock()
		for _, m := range stsSecret.FindAllStringSubmatch(c.body.String(), -1) {
			e.secrets = append(e.secrets, m[1])
		}
	}))
	return e
}

type capture struct {
	http.ResponseWriter
	body bytes.Buffer
}

func (c *capture) Write(p []byte) (int, error) {
	c.body.Write(p)
	return c.ResponseWriter.Write(p)
}

// ec2 returns the EC2 fake of account in region.
func (e *orgEnv) ec2(t *testing.T, account, region string) *fake.EC2 {
	t.Helper()
	r, err := e.org.Account(account).Region(region)
	if err != nil {
		t.Fatal(err)
	}
	return r.EC2()
}

// launch launches n instances allowing IMDSv1 in account's region.
func (e *orgEnv) launch(t *testing.T, account, region string, n int) []string {
	t.Helper()
	ids, err := e.ec2(t, account, region).Launch(n)
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// run runs the command in-process against the organisation.
func (e *orgEnv) run(t *testing.T, ctx context.Context, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	newAPI := func(context.Context, *globals, io.Writer) (API, error) {
		t.Errorf("imdsopts %s: built the client of one account", strings.Join(args, " "))
		return nil, io.EOF
	}
	code := runWith(ctx, args, strings.NewReader(""), &stdout, &stderr, noEnv, newAPI, withConfig(e.cfg))
	return result{code, stdout.String(), stderr.String()}
}

func (e *orgEnv) requestCount() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.requests
}

// acrossArgs are the arguments of a plan or apply of HttpTokens required on
// every running instance, without the IMDSv1 gate (the fakes have no
// CloudWatch history), followed by more.
func acrossArgs(cmd string, more ...string) []string {
	return append([]string{cmd, "--filters", "Name=instance-state-name,Values=running", "--http-tokens", "required",
		"--min-imdsv1-free-days", "0"}, more...)
}

// docTargets returns the targets of a JSON output, as ACCOUNT/REGION.
func docTargets(t *testing.T, doc map[string]any) []string {
	t.Helper()
	var out []string
	for _, v := range doc["Targets"].([]any) {
		d := v.(map[string]any)
		region, _ := d["Region"].(string)
		out = append(out, d["Account"].(string)+"/"+region)
	}
	return out
}

// target returns the entry of the target account/region of a JSON output.
func target(t *testing.T, doc map[string]any, account, region string) map[string]any {
	t.Helper()
	for _, v := range doc["Targets"].([]any) {
		d := v.(map[string]any)
		if d["Account"] == account && (d["Region"] == region || region == "" && d["Region"] == nil) {
			return d
		}
	}
	t.Fatalf("no target %s/%s in the output", account, region)
	return nil
}

// Plan, then apply, across every account of the organisation in two
// Regions: one report keyed by account and Region, every change in its own
// account/Region, exit 0; the text output has a line an instance with its
// account and Region.
func TestApplyAcrossOrganization(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newOrgEnv(t, memberA, memberB)
		sizes := map[string]int{memberA + "/eu-west-1": 3, memberA + "/us-east-1": 2, memberB + "/eu-west-1": 1,
			mgmtID + "/us-east-1": 2, memberB + "/us-east-1": 0, mgmtID + "/eu-west-1": 0}
		ids := map[string][]string{}
		for k, n := range sizes {
			if n > 0 {
				account, region, _ := strings.Cut(k, "/")
				ids[k] = e.launch(t, account, region, n)
			}
		}
		flags := []string{"--organization-role", testRole, "--regions", "us-east-1,eu-west-1"}

		r := e.run(t, t.Context(), acrossArgs("plan", append(flags, "--output", "text")...)...)
		wantCode(t, r, 0)
		if !strings.HasPrefix(r.stdout, "ACCOUNT ") || !strings.Contains(r.stdout, "111111111111  eu-west-1  i-00000000000000001  running  change  HttpTokens=required") {
			t.Errorf("plan's text output:\n%s", r.stdout)
		}
		for k := range ids {
			account, region, _ := strings.Cut(k, "/")
			if n := e.ec2(t, account, region).Calls("ModifyInstanceMetadataOptions"); n != 0 {
				t.Errorf("plan changed %d instances of %s", n, k)
			}
		}

		r = e.run(t, t.Context(), acrossArgs("apply", flags...)...)
		wantCode(t, r, 0)
		doc := parseJSON(t, r.stdout).(map[string]any)
		want := []string{mgmtID + "/eu-west-1", mgmtID + "/us-east-1", memberA + "/eu-west-1", memberA + "/us-east-1",
			memberB + "/eu-west-1", memberB + "/us-east-1"}
		slices.Sort(want)
		if got := docTargets(t, doc); !slices.Equal(got, want) {
			t.Errorf("targets %v, want %v (by account, then Region)", got, want)
		}
		total := 0
		for k, n := range sizes {
			account, region, _ := strings.Cut(k, "/")
			d := target(t, doc, account, region)
			if got := d["Counts"].(map[string]any)["applied"]; got != float64(n) || d["Error"] != nil {
				t.Errorf("%s: applied %v, error %v; want %d", k, got, d["Error"], n)
			}
			if calls := d["Calls"].(map[string]any); calls["DescribeInstances"] == nil || calls["ModifyInstanceMetadataOptions"] != float64(n) && n > 0 {
				t.Errorf("%s: calls %v; want the plan's listing and %d changes", k, calls, n)
			}
			if n := e.ec2(t, account, region).Calls("ModifyInstanceMetadataOptions"); n != sizes[k] {
				t.Errorf("%s's EC2 got %d changes, want %d", k, n, sizes[k])
			}
			for _, id := range ids[k] {
				if got := currentOptions(t, e.ec2(t, account, region), id).HttpTokens; got != types.HttpTokensStateRequired {
					t.Errorf("%s %s: %s", k, id, got)
				}
			}
			total += n
		}
		if doc["Counts"].(map[string]any)["applied"] != float64(total) || doc["TargetsFailed"] != 0.0 ||
			doc["Calls"].(map[string]any)["ModifyInstanceMetadataOptions"] != float64(total) {
			t.Errorf("totals: %v, %v failed, calls %v", doc["Counts"], doc["TargetsFailed"], doc["Calls"])
		}
	})
}

// A target that fails (a role missing from its account, a Region not
// enabled for the account) is in the report with its error; the others
// are done; the exit code is the service's (254), and stderr counts the
// failed targets.
func TestAcrossTargetsFailures(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newOrgEnv(t, memberA, noRoleID)
		e.launch(t, memberA, "eu-west-1", 2)
		e.launch(t, noRoleID, "eu-west-1", 2)
		r := e.run(t, t.Context(), acrossArgs("apply", "--role-arn", "arn:aws:iam::"+memberA+":role/"+testRole,
			"--role-arn", "arn:aws:iam::"+noRoleID+":role/"+testRole, "--regions", "eu-west-1,af-south-1")...)
		wantCode(t, r, exitService)
		doc := parseJSON(t, r.stdout).(map[string]any)
		if d := target(t, doc, memberA, "eu-west-1"); d["Counts"].(map[string]any)["applied"] != 2.0 || d["Error"] != nil {
			t.Errorf("the good target: %v", d)
		}
		for _, tc := range []struct{ account, region, code string }{
			{memberA, "af-south-1", "AuthFailure"}, {noRoleID, "eu-west-1", "AccessDenied"}, {noRoleID, "af-south-1", "AccessDenied"},
		} {
			d := target(t, doc, tc.account, tc.region)
			if msg, _ := d["Error"].(string); !strings.Contains(msg, tc.code) || !strings.Contains(msg, "the plan failed") {
				t.Errorf("%s/%s: error %q, want %s", tc.account, tc.region, msg, tc.code)
			}
			if _, ok := d["Items"]; ok {
				t.Errorf("%s/%s: items of a target that has no plan", tc.account, tc.region)
			}
		}
		if doc["TargetsFailed"] != 3.0 || !strings.Contains(r.stderr, "3 of 4 target(s) failed") {
			t.Errorf("TargetsFailed %v; stderr:\n%s", doc["TargetsFailed"], r.stderr)
		}
		if got := currentOptions(t, e.ec2(t, noRoleID, "eu-west-1"), "i-00000000000000001").HttpTokens; got != types.HttpTokensStateOptional {
			t.Errorf("the account without the role was changed: %s", got)
		}
	})
}

// Every target flag is checked before any call; the error names the flag,
// the value and the rule, and the exit code is 252.
func TestTargetFlagsChecked(t *testing.T) {
	dir := t.TempDir()
	rolesFile := filepath.Join(dir, "roles.txt")
	if err := os.WriteFile(rolesFile, []byte("# the roles\n\narn:aws:iam::111111111111:role/Ops\n  arn:aws:iam::22222222222:role/Ops  \n"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.txt")
	if err := os.WriteFile(empty, []byte("# nothing\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"Region", acrossArgs("plan", "--regions", "eu-west-1,EU-WEST-1"), `--regions "EU-WEST-1": must be an AWS Region`},
		{"Region twice", acrossArgs("plan", "--regions", "eu-west-1", "--regions", "eu-west-1"), `--regions "eu-west-1": must not be named twice`},
		{"all with others", acrossArgs("plan", "--regions", "all,eu-west-1"), `"all" stands alone`},
		{"empty Region", acrossArgs("plan", "--regions", "eu-west-1,"), "must be Regions separated by commas"},
		{"ARN", acrossArgs("plan", "--role-arn", "arn:aws:iam::111111111111:user/Ops"), `--role-arn "arn:aws:iam::111111111111:user/Ops": must be an IAM role's ARN`},
		{"ARN in a file", acrossArgs("plan", "--role-arns-file", rolesFile), `--role-arns-file "` + rolesFile + `" line 4 "arn:aws:iam::22222222222:role/Ops": must be an IAM role's ARN`},
		{"no file", acrossArgs("plan", "--role-arns-file", filepath.Join(dir, "none")), "no such file"},
		{"empty file", acrossArgs("plan", "--role-arns-file", empty), "holds no role ARN"},
		{"two roles of an account", acrossArgs("plan", "--role-arn", "arn:aws:iam::111111111111:role/A", "--role-arn", "arn:aws:iam::111111111111:role/B"),
			"must not be a second role of account 111111111111"},
		{"role name", acrossArgs("plan", "--organization-role", "a/b"), `--organization-role "a/b": must be 1 to 64 letters`},
		{"roles and organisation", acrossArgs("plan", "--organization-role", "Ops", "--role-arn", "arn:aws:iam::111111111111:role/Ops"),
			"--organization-role \"Ops\": give it, or --role-arn and --role-arns-file, not both"},
		{"external ID without roles", acrossArgs("plan", "--regions", "eu-west-1", "--external-id", "xyz123"), "--external-id: only with --role-arn"},
		{"external ID", acrossArgs("plan", "--organization-role", "Ops", "--external-id", "x"), "--external-id (1 characters): must be 2 to 1224"},
		{"session name", acrossArgs("plan", "--organization-role", "Ops", "--role-session-name", "a b"), `--role-session-name "a b": must be 2 to 64`},
		{"another subcommand", []string{"describe", "--instance-id", "i-00000000000000001", "--regions", "eu-west-1"},
			"--regions, --role-arn, --role-arns-file and --organization-role: only with apply, get-instance-metadata-defaults, images, modify-instance-metadata-defaults, plan, posture, templates, undo, not describe"},
		{"emulator of one account", acrossArgs("plan", "--emulator", "--regions", "eu-west-1"), "also give --emulator-organization N"},
		{"organisation without the emulator", acrossArgs("plan", "--emulator-organization", "2"), "--emulator-organization 2: only with --emulator"},
		{"organisation's size", acrossArgs("plan", "--emulator", "--emulator-organization", "0"), "must be a number of accounts, 1..100"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newOrgEnv(t, memberA)
			r := e.run(t, t.Context(), tt.args...)
			wantCode(t, r, exitUsage)
			if !strings.Contains(r.stderr, tt.want) {
				t.Errorf("stderr %q lacks %q", r.stderr, tt.want)
			}
			if n := e.requestCount(); n != 0 {
				t.Errorf("%d requests before the error", n)
			}
		})
	}
}

// checkNoCredential fails the test when what a run with args printed or
// wrote holds a credential of a role the run assumed.
func (e *orgEnv) checkNoCredential(t *testing.T, args, written string) {
	t.Helper()
	if len(e.secrets) < 2 {
		t.Fatalf("%d secrets seen from STS; the test needs them", len(e.secrets))
	}
	for _, s := range e.secrets {
		if strings.Contains(written, s) {
			t.Errorf("%s: a credential of an assumed role is printed or written (%s...)", args, s[:4])
		}
	}
}

// No credential of an assumed role is printed: not in the output, not in
// the errors, not in the debug log, which shows the requests and answers.
func TestAcrossTargetsPrintNoCredential(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newOrgEnv(t, memberA, noRoleID)
		e.launch(t, memberA, "eu-west-1", 2)
		for _, args := range [][]string{
			acrossArgs("apply", "--organization-role", testRole, "--regions", "eu-west-1"),
			acrossArgs("apply", "--organization-role", testRole, "--regions", "eu-west-1", "--debug", "--output", "text"),
		} {
			r := e.run(t, t.Context(), args...)
			if r.code != exitService {
				t.Errorf("exit %d, want 254 (the account without the role)", r.code)
			}
			e.checkNoCredential(t, strings.Join(args, " "), r.stdout+r.stderr)
			if slices.Contains(args, "--debug") && !strings.Contains(r.stderr, "AssumeRole") {
				t.Error("the debug log does not show the AssumeRole call")
			}
		}
	})
}

// On a terminal, the progress line counts the targets done and the
// instances done.
func TestAcrossTargetsProgress(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		e := newOrgEnv(t, memberA)
		for _, acct := range []string{mgmtID, memberA} {
			ids, err := e.org.Account(acct).Region("eu-west-1")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := ids.EC2().Launch(300); err != nil {
				t.Fatal(err)
			}
		}
		var stdout, stderr bytes.Buffer
		code := runWith(t.Context(), acrossArgs("apply", "--organization-role", testRole, "--regions", "eu-west-1"),
			strings.NewReader(""), &stdout, &stderr, noEnv, nil, withConfig(e.cfg), withTerminal(true))
		if code != 0 {
			t.Fatalf("exit %d\n%s", code, stderr.String())
		}
		lines := strings.Split(strings.TrimSpace(strings.ReplaceAll(stderr.String(), "\r", "\n")), "\n")
		last := lines[len(lines)-1]
		if !strings.Contains(last, "targets 2/2, instances 600/600 applied 600") {
			t.Errorf("the last progress line %q does not count 2 targets and 600 instances done", last)
		}
		if !slices.ContainsFunc(lines, func(l string) bool { return strings.Contains(l, "targets 0/2, instances ") }) {
			t.Errorf("no progress line while the targets were under way:\n%s", stderr.String())
		}
	})
}

// Ctrl-C during an apply across targets prints what was done, with the
// targets not started, and exits 130.
func TestAcrossTargetsInterrupted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		org, err := fake.NewOrganization(func(o *fake.OrganizationOptions) {
			o.EC2 = func(o *fake.Options) { o.ApplyDelay, o.Throttle = 0, true }
		})
		if err != nil {
			t.Fatal(err)
		}
		_ = org.Management().CreateRole(testRole)
		r, _ := org.Management().Region("us-east-1")
		if _, err := r.EC2().Launch(400); err != nil {
			t.Fatal(err)
		}
		e := &orgEnv{org: org, cfg: fake.InMemoryConfig(fake.NewHandler(r.EC2(), func(o *fake.HandlerOptions) { o.Organization = org }))}
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		time.AfterFunc(20*time.Second, cancel)
		res := e.run(t, ctx, acrossArgs("apply", "--organization-role", testRole, "--regions", "us-east-1")...)
		wantCode(t, res, exitInterrupted)
		doc := parseJSON(t, res.stdout).(map[string]any)
		c := target(t, doc, mgmtID, "us-east-1")["Counts"].(map[string]any)
		if c["applied"].(float64) == 0 || c["not-attempted"].(float64) == 0 {
			t.Errorf("counts after Ctrl-C: %v; want some applied and some not attempted", c)
		}
		if !strings.Contains(res.stderr, "interrupted") {
			t.Errorf("stderr:\n%s", res.stderr)
		}
	})
}

// The in-process emulator of an organisation serves the target flags:
// --emulator --emulator-organization N.
func TestEmbeddedEmulatorOrganization(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), []string{"plan", "--emulator", "--emulator-organization", "3", "--organization-role", organizationRole,
		"--regions", "us-east-1,eu-west-1", "--filters", "Name=instance-state-name,Values=running", "--http-tokens", "required",
		"--query", "{Targets: Targets[].[Account, Region, Counts.change], Failed: TargetsFailed}", "--output", "json"},
		strings.NewReader(""), &stdout, &stderr, noEnv)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr.String())
	}
	doc := parseJSON(t, stdout.String()).(map[string]any)
	if len(doc["Targets"].([]any)) != 6 || doc["Failed"] != 0.0 {
		t.Errorf("output %v", doc)
	}
	if !strings.Contains(stderr.String(), "an in-process organisation of 3 accounts (123456789012 (management), 100000000001, 100000000002, role OrganizationAccountAccessRole)") {
		t.Errorf("stderr:\n%s", stderr.String())
	}
}

// The progress line across targets counts each instance once, with its
// last status: instance IDs repeat across targets, and a rollout reports an
// instance again when it rolls it back.
func TestAcrossTargetsProgressCountsEachInstanceOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newProgress(io.Discard)
		defer p.finish(false)
		a := account.Target{Account: mgmtID, Region: "eu-west-1"}
		b := account.Target{Account: memberA, Region: "eu-west-1"}
		for _, u := range []struct {
			target account.Target
			status fleet.Status
		}{
			{a, fleet.StatusApplied},
			{b, fleet.StatusApplied},
			{a, fleet.StatusRolledBack},
		} {
			p.across(org.Progress{Target: u.target, Targets: 2, Instances: 2,
				Item: &fleet.Item{InstanceID: "i-00000000000000001", Status: u.status}})
		}
		p.mu.Lock()
		got := fmt.Sprint(p.st.counts)
		p.mu.Unlock()
		want := fmt.Sprint(map[fleet.Status]int{fleet.StatusApplied: 1, fleet.StatusRolledBack: 1})
		if got != want {
			t.Errorf("counts %s, want %s", got, want)
		}
	})
}

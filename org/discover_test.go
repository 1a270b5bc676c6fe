package org_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/google/go-cmp/cmp"

	"github.com/imdsopts/imdsopts"
	"github.com/imdsopts/imdsopts/account"
	"github.com/imdsopts/imdsopts/fake"
	"github.com/imdsopts/imdsopts/fleet"
	"github.com/imdsopts/imdsopts/internal/testenv"
	"github.com/imdsopts/imdsopts/org"
)

// The role the tests assume in the organisation's accounts.
const orgRole = "OrgAdmin"

// roleARN is the ARN of orgRole in account.
func roleARN(account string) string { return "arn:aws:iam::" + account + ":role/" + orgRole }

// wire is an organisation of the fakes served by one handler, reached by
// the real SDK through fake.InMemoryConfig: it records every request, the
// secrets of every credential STS answered, and can answer AssumeRole
// Throttling for chosen roles.
type wire struct {
	*orgWorld
	cfg aws.Config

	mu       sync.Mutex
	requests []fake.RequestRecord
	secrets  []string
	throttle map[string]int // AssumeRole of this role ARN: answers Throttling this many more times (-1: always)
}

var secretXML = regexp.MustCompile(`<(SecretAccessKey|SessionToken)>([^<]+)</`)

func newWire(t testing.TB, members []string, ec2 func(*fake.Options)) *wire {
	t.Helper()
	w := &wire{orgWorld: newOrgWorld(t, members, ec2), throttle: map[string]int{}}
	home := w.region(t, account.Target{Account: fake.AccountID, Region: "us-east-1"})
	h := fake.NewHandler(home.EC2(), func(o *fake.HandlerOptions) {
		o.Organization = w.org
		o.CloudWatch, o.AutoScaling = home.CloudWatch(), home.AutoScaling()
		o.OnRequest = func(r fake.RequestRecord) {
			w.mu.Lock()
			defer w.mu.Unlock()
			w.requests = append(w.requests, r)
		}
	})
	w.cfg = fake.InMemoryConfig(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		form, _ := url.ParseQuery(string(body))
		if form.Get("Action") == "AssumeRole" && w.throttled(form.Get("RoleArn")) {
			rw.WriteHeader(http.StatusBadRequest)
			io.WriteString(rw, `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>`+
				`<Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>x</RequestId></ErrorResponse>`)
			return
		}
		c := &capturing{ResponseWriter: rw}
		h.ServeHTTP(c, r)
		w.mu.Lock()
		defer w.mu.Unlock()
		for _, m := range secretXML.FindAllStringSubmatch(c.body.String(), -1) {
			w.secrets = append(w.secrets, m[2])
		}
	}))
	return w
}

// throttled reports whether AssumeRole of arn is answered Throttling now.
func (w *wire) throttled(arn string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := w.throttle[arn]
	if n > 0 {
		w.throttle[arn] = n - 1
	}
	return n != 0
}

type capturing struct {
	http.ResponseWriter
	body bytes.Buffer
}

func (c *capturing) Write(p []byte) (int, error) {
	c.body.Write(p)
	return c.ResponseWriter.Write(p)
}

// roles creates orgRole in the accounts.
func (w *wire) roles(t testing.TB, accounts ...string) {
	t.Helper()
	for _, a := range accounts {
		if err := w.org.Account(a).CreateRole(orgRole); err != nil {
			t.Fatal(err)
		}
	}
}

// calls returns the requests recorded, as "SERVICE ACTION ACCOUNT REGION",
// and forgets them.
func (w *wire) calls() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for _, r := range w.requests {
		out = append(out, fmt.Sprintf("%s %s %s %s", r.Service, r.Action, r.Account, r.Region))
	}
	w.requests = nil
	return out
}

// leaked returns the secrets of the credentials STS answered that text
// holds.
func (w *wire) leaked(text string) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var found []string
	for _, s := range w.secrets {
		if strings.Contains(text, s) {
			found = append(found, s[:4]+"...")
		}
	}
	return found
}

// discover runs Discover on the wire.
func (w *wire) discover(t testing.TB, fn func(*org.DiscoverOptions)) (*org.TargetSet, error) {
	t.Helper()
	if fn == nil {
		return org.Discover(t.Context(), w.cfg)
	}
	return org.Discover(t.Context(), w.cfg, fn)
}

// With OrganizationRole and AllRegions, the targets are the Regions
// enabled for each ACTIVE account of the organisation: its opt-in Regions
// for an account that enabled them, none of a suspended account; an
// account whose role cannot be assumed is unreached, with why; empty pages
// of the listing are gone through; each role is assumed once.
func TestDiscoverOrganizationAllRegions(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWire(t, []string{acctB, acctC}, nil)
		optIn, err := w.org.AddAccount(acctA, func(o *fake.AccountOptions) { o.OptInRegions = []string{"af-south-1"} })
		if err != nil {
			t.Fatal(err)
		}
		const suspended = "444444444444"
		if _, err := w.org.AddAccount(suspended); err != nil {
			t.Fatal(err)
		}
		w.roles(t, fake.AccountID, optIn.ID(), acctB, suspended) // not C
		if err := w.org.SuspendAccount(suspended); err != nil {
			t.Fatal(err)
		}
		w.org.Organizations().EmptyPages(2)

		ts, err := w.discover(t, func(o *org.DiscoverOptions) { o.OrganizationRole, o.AllRegions = orgRole, true })
		if err != nil {
			t.Fatal(err)
		}
		regions := map[string][]string{}
		for _, tg := range ts.Targets {
			regions[tg.Account] = append(regions[tg.Account], tg.Region)
		}
		if !slices.IsSortedFunc(ts.Targets, account.Target.Compare) {
			t.Error("targets not in order")
		}
		if got := slices.Sorted(func(yield func(string) bool) {
			for a := range regions {
				if !yield(a) {
					return
				}
			}
		}); !cmp.Equal(got, []string{acctA, fake.AccountID, acctB}) {
			t.Errorf("accounts %v, want A, the management account and B: not C (no role) nor the suspended one", got)
		}
		if n := len(regions[acctB]); n != 17 || slices.Contains(regions[acctB], "af-south-1") {
			t.Errorf("B's Regions: %v; want the 17 enabled in every account", regions[acctB])
		}
		if n := len(regions[acctA]); n != 18 || !slices.Contains(regions[acctA], "af-south-1") {
			t.Errorf("A's Regions: %v; want the 17 and af-south-1, which it opted into", regions[acctA])
		}
		if len(ts.Unreached) != 1 || ts.Unreached[0].Target != (account.Target{Account: acctC}) || testenv.APICode(ts.Unreached[0].Err) != "AccessDenied" {
			t.Errorf("unreached: %v; want C, AccessDenied", ts.Unreached)
		}
		if n := w.org.STS().Calls("AssumeRole"); n != 4 {
			t.Errorf("AssumeRole called %d times, want 4: once for each active account", n)
		}
		if n := w.org.Organizations().Calls("ListAccounts"); n != 3 {
			t.Errorf("ListAccounts called %d times, want 3 (two empty pages, then the accounts)", n)
		}
	})
}

// Named Regions and role ARNs need no call to find the targets.
func TestDiscoverNamedTargetsMakesNoCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWire(t, []string{acctA, acctB}, nil)
		ts, err := w.discover(t, func(o *org.DiscoverOptions) {
			o.RoleARNs = []string{roleARN(acctB), roleARN(acctA)}
			o.Regions = []string{"us-east-1", "eu-west-1"}
		})
		if err != nil {
			t.Fatal(err)
		}
		want := targets([]string{acctA, acctB}, []string{"eu-west-1", "us-east-1"})
		if !cmp.Equal(ts.Targets, want) || len(ts.Unreached) != 0 {
			t.Errorf("targets %v, unreached %v; want %v", ts.Targets, ts.Unreached, want)
		}
		if got := w.calls(); len(got) != 0 {
			t.Errorf("calls to find named targets: %v", got)
		}
	})
}

// Without roles, the one account is the caller's own.
func TestDiscoverCallersAccount(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWire(t, nil, nil)
		home := account.Target{Account: fake.AccountID, Region: "us-east-1"}
		w.launch(t, home, 2)
		ts, err := w.discover(t, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !cmp.Equal(ts.Targets, []account.Target{home}) {
			t.Fatalf("targets %v, want the caller's account in the configuration's Region", ts.Targets)
		}
		postures, err := org.Postures(t.Context(), *ts)
		if !errors.Is(err, org.ErrTargetFailed) && err != nil {
			t.Fatal(err)
		}
		if p := postures.Targets[0]; p.Err != nil || p.Result.Instances.Total != 2 {
			t.Errorf("posture of the caller's account: %+v", p)
		}
		if got := w.calls(); !slices.Contains(got, "STS GetCallerIdentity "+fake.AccountID+" us-east-1") {
			t.Errorf("calls %v", got)
		}
	})
}

// The whole path through the real SDK: roles assumed with stscreds,
// requests routed by their signatures to each account/Region, a plan,
// an apply journaled in a directory, and a posture. No credential is in
// any result, error, JSON or journal.
func TestTargetsEndToEnd(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWire(t, []string{acctA, acctB}, func(o *fake.Options) { o.ApplyDelay = 0 })
		w.roles(t, acctA, acctB)
		all := targets([]string{acctA, acctB}, []string{"eu-west-1", "us-east-1"})
		ids := map[account.Target][]string{}
		for i, tg := range all {
			ids[tg] = w.launch(t, tg, 2+i)
		}
		ts, err := w.discover(t, func(o *org.DiscoverOptions) {
			o.RoleARNs = []string{roleARN(acctA), roleARN(acctB)}
			o.Regions = []string{"eu-west-1", "us-east-1"}
			o.RoleSessionName = "imdsopts-test"
		})
		if err != nil {
			t.Fatal(err)
		}
		s := testenv.MustNew(t, imdsopts.RequireIMDSv2())
		plans, err := org.Plan(t.Context(), *ts, fleet.Selection{}, s, gateOnNoData)
		if err != nil {
			t.Fatal(err)
		}
		dir := org.JournalDir(filepath.Join(t.TempDir(), "run"))
		report, err := org.Apply(t.Context(), *ts, plans, func(o *org.Options) { o.Journals = dir })
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range report.Targets {
			if r.Err != nil || r.Result.Counts()[fleet.StatusApplied] != len(ids[r.Target]) {
				t.Errorf("%s: %v, %v", r.Target, r.Result.Counts(), r.Err)
			}
			f := w.region(t, r.Target).EC2()
			if n := f.Calls("ModifyInstanceMetadataOptions"); n != len(ids[r.Target]) {
				t.Errorf("%s's EC2 got %d changes, want %d", r.Target, n, len(ids[r.Target]))
			}
			for _, id := range ids[r.Target] {
				if got := testenv.CurrentOptions(t, f, id).HttpTokens; got != types.HttpTokensStateRequired {
					t.Errorf("%s %s: %s", r.Target, id, got)
				}
			}
		}
		postures, err := org.Postures(t.Context(), *ts)
		if err != nil && !errors.Is(err, org.ErrTargetFailed) {
			t.Fatal(err)
		}
		for _, p := range postures.Targets {
			if p.Err != nil || p.Result.Instances.Required != len(ids[p.Target]) {
				t.Errorf("posture of %s: %+v", p.Target, p)
			}
		}

		calls := w.calls()
		for _, want := range []string{
			"STS AssumeRole " + fake.AccountID + " us-east-1",
			"EC2 ModifyInstanceMetadataOptions " + acctA + " eu-west-1",
			"EC2 ModifyInstanceMetadataOptions " + acctB + " us-east-1",
			"CloudWatch GetMetricData " + acctB + " eu-west-1",
			"Auto Scaling DescribeAutoScalingGroups " + acctA + " us-east-1",
		} {
			if !slices.Contains(calls, want) {
				t.Errorf("no request %q", want)
			}
		}
		if n := w.org.STS().Calls("AssumeRole"); n != 2 {
			t.Errorf("AssumeRole called %d times, want 2: one a role, cached across its Regions and operations", n)
		}

		var everything strings.Builder
		for _, v := range []any{plans, report, postures} {
			data, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			everything.Write(data)
			fmt.Fprintf(&everything, "%+v %v", v, v)
		}
		for _, tg := range all {
			everything.WriteString(readFile(t, dir.Path(tg)))
		}
		entries, _ := os.ReadDir(string(dir))
		if len(entries) != len(all) {
			t.Errorf("%d files in the journal directory, want %d", len(entries), len(all))
		}
		if len(w.secrets) < 4 {
			t.Fatalf("%d secrets seen from STS; the test needs the keys and tokens of both roles", len(w.secrets))
		}
		if len(w.leaked("x"+w.secrets[0]+"x")) != 1 {
			t.Fatal("the search does not find a secret where there is one")
		}
		if leaked := w.leaked(everything.String()); len(leaked) > 0 {
			t.Errorf("credentials in the results or journals: %v", leaked)
		}
	})
}

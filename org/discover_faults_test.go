package org_test

import (
	"errors"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imdsopts/imdsopts"
	"github.com/imdsopts/imdsopts/account"
	"github.com/imdsopts/imdsopts/fake"
	"github.com/imdsopts/imdsopts/fleet"
	"github.com/imdsopts/imdsopts/internal/testenv"
	"github.com/imdsopts/imdsopts/org"
)

// byTarget returns the results by target.
func byTarget[T any](rs *org.TargetResults[T]) map[account.Target]org.TargetResult[T] {
	m := map[account.Target]org.TargetResult[T]{}
	for _, r := range rs.Targets {
		m[r.Target] = r
	}
	return m
}

// The faults of a target over the wire, each reported with its error
// while the other targets go on: a role that cannot be assumed, a Region
// not enabled for the account, STS throttling the role past the SDK's and
// the package's retries (and, briefly, another role, which is retried),
// and an account removed from the organisation between the plan and the
// apply.
func TestTargetFaultsOverTheWire(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const (
			throttled = "444444444444"
			removed   = "555555555555"
		)
		w := newWire(t, []string{acctA, acctB, acctC, throttled, removed}, func(o *fake.Options) { o.ApplyDelay = 0 })
		w.roles(t, acctA, acctB, throttled, removed) // not C
		ok := account.Target{Account: acctA, Region: "eu-west-1"}
		optIn := account.Target{Account: acctA, Region: "af-south-1"}
		noRole := account.Target{Account: acctC, Region: "eu-west-1"}
		brieflyThrottled := account.Target{Account: acctB, Region: "eu-west-1"}
		alwaysThrottled := account.Target{Account: throttled, Region: "eu-west-1"}
		gone := account.Target{Account: removed, Region: "eu-west-1"}
		var throttledIDs []string
		for _, tg := range []account.Target{ok, brieflyThrottled, alwaysThrottled} {
			throttledIDs = w.launch(t, tg, 3)
		}
		w.launch(t, gone, 12) // enough calls to trip the breaker once they all fail
		w.throttle[roleARN(throttled)] = -1
		w.throttle[roleARN(acctB)] = 2

		ts, err := w.discover(t, func(o *org.DiscoverOptions) {
			o.RoleARNs = []string{roleARN(acctA), roleARN(acctB), roleARN(acctC), roleARN(throttled), roleARN(removed)}
			o.Regions = []string{"eu-west-1"}
		})
		if err != nil {
			t.Fatal(err)
		}
		ts.Targets = append(ts.Targets, optIn)
		plans, err := org.Plan(t.Context(), *ts, fleet.Selection{}, testenv.MustNew(t, imdsopts.RequireIMDSv2()), gateOnNoData)
		if !errors.Is(err, org.ErrTargetFailed) {
			t.Fatalf("Plan: %v", err)
		}
		p := byTarget(plans)
		if r := p[noRole]; r.Result != nil || testenv.APICode(r.Err) != "AccessDenied" || !strings.Contains(r.Err.Error(), "AssumeRole") {
			t.Errorf("a role that cannot be assumed: %v", r.Err)
		}
		if r := p[optIn]; r.Result != nil || testenv.APICode(r.Err) != "AuthFailure" {
			t.Errorf("a Region not enabled for the account: %v", r.Err)
		}
		// Throttled throughout ThrottleBudget, it ends then, not after MaxWait.
		if r := p[alwaysThrottled]; r.Result != nil || !errors.Is(r.Err, imdsopts.ErrTooManyFailures) || testenv.APICode(r.Err) != "Throttling" ||
			!strings.Contains(r.Err.Error(), "ThrottleBudget") {
			t.Errorf("STS throttling past the retries: %v", r.Err)
		}
		if r := p[brieflyThrottled]; r.Err != nil || r.Result.Counts()[fleet.StatusChange] != 3 {
			t.Errorf("STS throttling twice, retried: %+v", r)
		}
		if r := p[ok]; r.Err != nil || r.Result.Counts()[fleet.StatusChange] != 3 {
			t.Errorf("%s: %+v", ok, r)
		}

		if err := w.org.RemoveAccount(removed); err != nil {
			t.Fatal(err)
		}
		report, err := org.Apply(t.Context(), *ts, plans)
		if !errors.Is(err, org.ErrTargetFailed) {
			t.Fatalf("Apply: %v", err)
		}
		a := byTarget(report)
		if r := a[gone]; r.Result == nil || !errors.Is(r.Err, imdsopts.ErrTooManyFailures) || testenv.APICode(r.Err) != "AuthFailure" ||
			r.Result.Counts()[fleet.StatusApplied] != 0 {
			t.Errorf("an account removed mid-run: %v, %v", r.Result.Counts(), r.Err)
		}
		for _, tg := range []account.Target{ok, brieflyThrottled} {
			if r := a[tg]; r.Err != nil || r.Result.Counts()[fleet.StatusApplied] != 3 {
				t.Errorf("%s: %v, %v", tg, r.Result.Counts(), r.Err)
			}
		}
		for _, tg := range []account.Target{noRole, optIn, alwaysThrottled} {
			if r := a[tg]; r.Result != nil || !strings.Contains(r.Err.Error(), "the plan failed") {
				t.Errorf("%s: %+v", tg, r)
			}
		}
		for _, id := range throttledIDs {
			if got := testenv.CurrentOptions(t, w.region(t, alwaysThrottled).EC2(), id).HttpTokens; got != types.HttpTokensStateOptional {
				t.Errorf("the throttled account's instance %s was changed: %s", id, got)
			}
		}
	})
}

// An organisation whose listing fails, or does not end, gives no targets:
// a partial list would leave accounts out unnoticed.
func TestDiscoverListingFails(t *testing.T) {
	for _, tt := range []struct {
		name  string
		setup func(*wire)
		opt   func(*org.DiscoverOptions)
		want  string
	}{
		{"refused", func(w *wire) {
			w.org.Organizations().FailNext("ListAccounts", 1, fake.NewAPIError(400, "AccessDeniedException", "no"))
		}, nil, "AccessDeniedException"},
		{"too many accounts", nil, func(o *org.DiscoverOptions) { o.MaxAccounts = 2 }, "more than 2 accounts"},
		{"endless empty pages", func(w *wire) { w.org.Organizations().EmptyPages(1000) }, nil, "more than 100 empty pages"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				w := newWire(t, []string{acctA, acctB}, nil)
				w.roles(t, fake.AccountID, acctA, acctB)
				if tt.setup != nil {
					tt.setup(w)
				}
				ts, err := w.discover(t, func(o *org.DiscoverOptions) {
					o.OrganizationRole = orgRole
					if tt.opt != nil {
						tt.opt(o)
					}
				})
				if ts != nil || err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Errorf("%v, %v; want no targets and an error with %q", ts, err, tt.want)
				}
				if n := w.org.STS().Calls("AssumeRole"); n != 0 {
					t.Errorf("%d roles assumed after the listing failed", n)
				}
			})
		})
	}
}

// Every option is checked before any call, and the error names the field,
// the value and the rule.
func TestDiscoverOptionsValidate(t *testing.T) {
	long := strings.Repeat("a", 65)
	for _, tt := range []struct {
		name string
		fn   func(*org.DiscoverOptions)
		want []string
	}{
		{"malformed Region", func(o *org.DiscoverOptions) { o.Regions = []string{"eu-west-1", "EU-WEST-1", "euwest1", ""} },
			[]string{`Regions[1] "EU-WEST-1": must be an AWS Region`, `Regions[2] "euwest1"`, `Regions[3] ""`}},
		{"Region twice", func(o *org.DiscoverOptions) { o.Regions = []string{"eu-west-1", "eu-west-1"} },
			[]string{`Regions[1] "eu-west-1": must not be named twice`}},
		{"Regions and all", func(o *org.DiscoverOptions) { o.Regions, o.AllRegions = []string{"eu-west-1"}, true },
			[]string{"must not be given with AllRegions"}},
		{"malformed ARNs", func(o *org.DiscoverOptions) {
			o.RoleARNs = []string{"arn:aws:iam::11111111111:role/R", "arn:aws:iam::111111111111:user/R", "role/R",
				"arn:aws:sts::111111111111:role/R", "arn:aws:iam::111111111111:role/" + long}
		}, []string{`RoleARNs[0] "arn:aws:iam::11111111111:role/R": must be an IAM role's ARN`, "RoleARNs[1]", "RoleARNs[2]", "RoleARNs[3]", "RoleARNs[4]"}},
		{"two roles of an account", func(o *org.DiscoverOptions) {
			o.RoleARNs = []string{roleARN(acctA), "arn:aws:iam::111111111111:role/Other"}
		}, []string{"RoleARNs[1]", "must not be a second role of account 111111111111"}},
		{"roles and organisation", func(o *org.DiscoverOptions) { o.RoleARNs, o.OrganizationRole = []string{roleARN(acctA)}, "R" },
			[]string{"must not be given with OrganizationRole"}},
		{"role name", func(o *org.DiscoverOptions) { o.OrganizationRole = "a/b" },
			[]string{`OrganizationRole "a/b": must be 1 to 64 letters`}},
		{"session name", func(o *org.DiscoverOptions) { o.RoleSessionName = "a b" },
			[]string{`RoleSessionName "a b": must be 2 to 64`}},
		{"external ID", func(o *org.DiscoverOptions) { o.OrganizationRole, o.ExternalID = "R", "x" },
			[]string{"ExternalID (1 characters): must be 2 to 1224"}},
		{"external ID without roles", func(o *org.DiscoverOptions) { o.ExternalID = "secret-id" },
			[]string{"ExternalID (set): must be given with RoleARNs or OrganizationRole"}},
		{"bounds", func(o *org.DiscoverOptions) { o.MaxAccounts, o.Concurrency = 0, 0 },
			[]string{"MaxAccounts 0: must be at least 1", "Concurrency 0: must be at least 1"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				w := newWire(t, []string{acctA}, nil)
				_, err := w.discover(t, tt.fn)
				if !errors.Is(err, imdsopts.ErrInvalid) {
					t.Fatalf("%v, want ErrInvalid", err)
				}
				for _, want := range tt.want {
					if !strings.Contains(err.Error(), "DiscoverOptions."+want) && !strings.Contains(err.Error(), want) {
						t.Errorf("error %q lacks %q", err, want)
					}
				}
				if strings.Contains(err.Error(), "secret-id") {
					t.Error("the external ID is repeated in the error")
				}
				if got := w.calls(); len(got) != 0 {
					t.Errorf("calls before the error: %v", got)
				}
			})
		})
	}
}

// ParseRoleARN takes role ARNs apart and refuses everything else.
func TestParseRoleARN(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want org.RoleARN
	}{
		{"arn:aws:iam::111111111111:role/Admin", org.RoleARN{Partition: "aws", Account: acctA, Path: "/", Name: "Admin"}},
		{"arn:aws-us-gov:iam::111111111111:role/ops/team/Deploy+1@x", org.RoleARN{Partition: "aws-us-gov", Account: acctA, Path: "/ops/team/", Name: "Deploy+1@x"}},
		{"arn:aws-cn:iam::111111111111:role/a", org.RoleARN{Partition: "aws-cn", Account: acctA, Path: "/", Name: "a"}},
	} {
		got, err := org.ParseRoleARN(tt.in)
		if err != nil || got != tt.want || got.String() != tt.in {
			t.Errorf("ParseRoleARN(%q) = %+v, %v", tt.in, got, err)
		}
	}
	for _, in := range []string{"", "arn:aws:iam::111111111111:role/", "arn:aws:iam::111111111111:role//R", "arn:AWS:iam::111111111111:role/R",
		"arn:aws:iam:us-east-1:111111111111:role/R", "arn:aws:iam::111111111111:role/a b", "arn:aws:iam::111111111111:roles/R",
		"arn:aws:iam::111111111111:role/" + strings.Repeat("p/", 300) + "R", "arn:aws:iam::111111111111:role/\x00/R"} {
		if _, err := org.ParseRoleARN(in); !errors.Is(err, imdsopts.ErrInvalid) {
			t.Errorf("ParseRoleARN(%q): %v, want ErrInvalid", in, err)
		}
	}
}

// FuzzParseRoleARN: what ParseRoleARN accepts prints back as it was given
// and holds parts that keep IAM's rules; everything else is ErrInvalid,
// never a panic.
func FuzzParseRoleARN(f *testing.F) {
	for _, s := range []string{"arn:aws:iam::111111111111:role/Admin", "arn:aws-us-gov:iam::111111111111:role/a/b/C",
		"arn:aws:iam::111111111111:role/", "arn:aws:iam::1:role/R", "arn::iam::111111111111:role/R"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := org.ParseRoleARN(s)
		if err != nil {
			if !errors.Is(err, imdsopts.ErrInvalid) {
				t.Fatalf("%q: %v, not ErrInvalid", s, err)
			}
			return
		}
		if r.String() != s {
			t.Errorf("%q prints back as %q", s, r.String())
		}
		if len(r.Account) != 12 || strings.Trim(r.Account, "0123456789") != "" || r.Name == "" || len(r.Name) > 64 ||
			!strings.HasPrefix(r.Path, "/") || !strings.HasSuffix(r.Path, "/") || strings.ContainsAny(r.Name, "/: ") ||
			len(s) > 2048 || !strings.HasPrefix(r.Partition, "aws") {
			t.Errorf("%q accepted as %+v", s, r)
		}
		if again, err := org.ParseRoleARN(r.String()); err != nil || again != r {
			t.Errorf("%q: parsed again %+v, %v", s, again, err)
		}
	})
}

// TestRepeatedValuesAreOneError: a value given many times is one error
// that says how often, not one error an entry: 10,000 identical Regions
// made 9,999 identical errors.
func TestRepeatedValuesAreOneError(t *testing.T) {
	many := func(v string, n int) []string {
		vs := make([]string, n)
		for i := range vs {
			vs[i] = v
		}
		return vs
	}
	for _, tt := range []struct {
		name string
		opts org.DiscoverOptions
		want []string
	}{
		{"a Region 10,000 times", org.DiscoverOptions{Regions: many("eu-west-1", 10000)},
			[]string{`DiscoverOptions.Regions[1] "eu-west-1": must not be named twice (given 10000 times)`}},
		{"two Regions, each repeated", org.DiscoverOptions{Regions: append(many("eu-west-1", 3), many("us-east-1", 2)...)},
			[]string{`Regions[1] "eu-west-1": must not be named twice (given 3 times)`, `Regions[4] "us-east-1": must not be named twice`}},
		{"a bad Region 10,000 times", org.DiscoverOptions{Regions: many("us-east1", 10000)},
			[]string{`DiscoverOptions.Regions[0] "us-east1": must be an AWS Region, such as "eu-west-1" (given 10000 times)`}},
		{"a role 1,000 times", org.DiscoverOptions{RoleARNs: many(roleARN(acctA), 1000)},
			[]string{`RoleARNs[1] "` + roleARN(acctA) + `": must not be named twice (given 1000 times)`}},
		{"a bad role 1,000 times", org.DiscoverOptions{RoleARNs: many("role/R", 1000)},
			[]string{`RoleARNs[0]`, `(given 1000 times)`}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			o := tt.opts
			o.RoleSessionName, o.MaxAccounts, o.Concurrency = org.DefaultRoleSessionName, 1, 1
			err := o.Validate()
			if !errors.Is(err, imdsopts.ErrInvalid) {
				t.Fatalf("Validate: %v", err)
			}
			if n, want := strings.Count(err.Error(), "\n")+1, strings.Count(strings.Join(tt.want, " "), "must"); n != max(want, 1) {
				t.Errorf("%d errors, want %d: %.500s", n, max(want, 1), err)
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %.500q lacks %q", err, want)
				}
			}
		})
	}
	w := newOrgWorld(t, []string{acctA}, nil)
	ts := w.set(make([]account.Target, 5000)...)
	for i := range ts.Targets {
		ts.Targets[i] = account.Target{Account: acctA, Region: "eu-west-1"}
	}
	_, err := org.Plan(t.Context(), ts, fleet.Selection{}, testenv.MustNew(t, imdsopts.HopLimit(2)))
	if err == nil || strings.Count(err.Error(), "must not be named twice") != 1 || !strings.Contains(err.Error(), "(given 5000 times)") {
		t.Errorf("PlanTargets of one target 5,000 times: %.500v", err)
	}
}

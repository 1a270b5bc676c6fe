package account_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imdsopts/imdsopts"
	"github.com/imdsopts/imdsopts/account"
	"github.com/imdsopts/imdsopts/fake"
	"github.com/imdsopts/imdsopts/internal/testenv"
)

// TestNewDefaultsRejects: every bad value is reported at once, each with
// its field, its value and the rule, and matches ErrInvalid.
func TestNewDefaultsRejects(t *testing.T) {
	_, err := account.NewDefaults(
		account.HTTPTokens("Required"),
		account.HopLimit(0),
		account.HTTPEndpoint("on"),
		account.InstanceMetadataTags("no preference"),
		account.HTTPTokensEnforced("true"),
		account.DefaultsOption{},
	)
	if !errors.Is(err, imdsopts.ErrInvalid) {
		t.Fatalf("error %v, want ErrInvalid", err)
	}
	want := []string{
		`imdsopts: DefaultsOption 6 DefaultsOption{}: must be made by an option function such as HTTPTokens`,
		`imdsopts: HttpTokens "Required": must be one of "optional", "required", "no-preference"`,
		`imdsopts: HttpPutResponseHopLimit 0: must be 1..64, or -1 for no preference`,
		`imdsopts: HttpEndpoint "on": must be one of "disabled", "enabled", "no-preference"`,
		`imdsopts: InstanceMetadataTags "no preference": must be one of "disabled", "enabled", "no-preference"`,
		`imdsopts: HttpTokensEnforced "true": must be one of "disabled", "enabled", "no-preference"`,
	}
	if got := strings.Split(err.Error(), "\n"); !slices.Equal(got, want) {
		t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	var ve *imdsopts.ValidationError
	if !errors.As(err, &ve) {
		t.Errorf("errors.As(*ValidationError) failed on %v", err)
	}
	for _, hop := range []int32{-2, 65, 1 << 30} {
		if _, err := account.NewDefaults(account.HopLimit(hop)); !errors.Is(err, imdsopts.ErrInvalid) {
			t.Errorf("hop limit %d: %v, want ErrInvalid", hop, err)
		}
	}
}

func TestNewDefaultsAccepts(t *testing.T) {
	for _, tt := range []struct {
		opts []account.DefaultsOption
		want string
	}{
		{[]account.DefaultsOption{account.EnforceIMDSv2()}, "HttpTokensEnforced=enabled"},
		{[]account.DefaultsOption{account.HTTPTokens("required"), account.HopLimit(2),
			account.HTTPEndpoint("enabled"), account.InstanceMetadataTags("disabled"), account.EnforceIMDSv2()},
			"HttpTokens=required HttpPutResponseHopLimit=2 HttpEndpoint=enabled InstanceMetadataTags=disabled HttpTokensEnforced=enabled"},
		{[]account.DefaultsOption{account.HTTPTokens("no-preference"), account.HopLimit(-1),
			account.HTTPEndpoint("no-preference"), account.InstanceMetadataTags("no-preference"),
			account.HTTPTokensEnforced("no-preference")},
			"HttpTokens=no-preference HttpPutResponseHopLimit=-1 HttpEndpoint=no-preference InstanceMetadataTags=no-preference HttpTokensEnforced=no-preference"},
		{[]account.DefaultsOption{account.HopLimit(64), account.HopLimit(1)}, "HttpPutResponseHopLimit=1"},
		{nil, "(no changes)"},
	} {
		d, err := account.NewDefaults(tt.opts...)
		if err != nil {
			t.Fatal(err)
		}
		if got := d.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
	}
	d := mustDefaults(t, account.HTTPTokens("required"), account.HopLimit(-1), account.EnforceIMDSv2())
	b, err := json.Marshal(d)
	if err != nil || string(b) != `{"HttpTokens":"required","HttpPutResponseHopLimit":-1,"HttpTokensEnforced":"enabled"}` {
		t.Errorf("json = %s, %v", b, err)
	}
	in := d.ModifyInput()
	if in.HttpTokens != "required" || aws.ToInt32(in.HttpPutResponseHopLimit) != -1 || in.HttpTokensEnforced != "enabled" ||
		in.HttpEndpoint != "" || in.InstanceMetadataTags != "" {
		t.Errorf("ModifyInput = %+v", in)
	}
}

// FuzzNewDefaults: NewDefaults accepts exactly the values
// ModifyInstanceMetadataDefaults takes, reports each bad one, and what it
// accepts turns into an input carrying the same values.
func FuzzNewDefaults(f *testing.F) {
	f.Add("required", int32(2), "enabled", "disabled", "enabled", uint8(0x1f))
	f.Add("Required", int32(-1), "no-preference", "bogus", "true", uint8(0x1f))
	f.Add("", int32(0), "", "", "", uint8(0))
	f.Fuzz(func(t *testing.T, tokens string, hop int32, endpoint, tags, enforced string, which uint8) {
		var opts []account.DefaultsOption
		bad := 0
		check := func(ok bool) {
			if !ok {
				bad++
			}
		}
		in := func(v string, allowed ...string) bool { return slices.Contains(allowed, v) }
		if which&1 != 0 {
			opts = append(opts, account.HTTPTokens(types.MetadataDefaultHttpTokensState(tokens)))
			check(in(tokens, "optional", "required", "no-preference"))
		}
		if which&2 != 0 {
			opts = append(opts, account.HopLimit(hop))
			check(hop == -1 || hop >= 1 && hop <= 64)
		}
		if which&4 != 0 {
			opts = append(opts, account.HTTPEndpoint(types.DefaultInstanceMetadataEndpointState(endpoint)))
			check(in(endpoint, "enabled", "disabled", "no-preference"))
		}
		if which&8 != 0 {
			opts = append(opts, account.InstanceMetadataTags(types.DefaultInstanceMetadataTagsState(tags)))
			check(in(tags, "enabled", "disabled", "no-preference"))
		}
		if which&16 != 0 {
			opts = append(opts, account.HTTPTokensEnforced(types.DefaultHttpTokensEnforcedState(enforced)))
			check(in(enforced, "enabled", "disabled", "no-preference"))
		}
		d, err := account.NewDefaults(opts...)
		if bad > 0 {
			var joined interface{ Unwrap() []error }
			if !errors.Is(err, imdsopts.ErrInvalid) || !d.IsZero() || !errors.As(err, &joined) || len(joined.Unwrap()) != bad {
				t.Fatalf("%d bad values: NewDefaults = %v, %v; want ErrInvalid listing each, and the zero Defaults", bad, d, err)
			}
			for _, e := range joined.Unwrap() {
				var ve *imdsopts.ValidationError
				if !errors.As(e, &ve) || ve.Field == "" || ve.Value == "" || ve.Rule == "" {
					t.Fatalf("problem %v does not name field, value and rule", e)
				}
			}
			return
		}
		if err != nil {
			t.Fatalf("valid values refused: %v", err)
		}
		mi := d.ModifyInput()
		if which&1 != 0 && string(mi.HttpTokens) != tokens || which&1 == 0 && mi.HttpTokens != "" ||
			which&2 != 0 && aws.ToInt32(mi.HttpPutResponseHopLimit) != hop || which&2 == 0 && mi.HttpPutResponseHopLimit != nil ||
			which&4 != 0 && string(mi.HttpEndpoint) != endpoint || which&8 != 0 && string(mi.InstanceMetadataTags) != tags ||
			which&16 != 0 && string(mi.HttpTokensEnforced) != enforced {
			t.Fatalf("Defaults %v made input %+v", d, mi)
		}
		// Set, then asked again, nothing changes.
		if c := d.Changes(d.Apply(account.State{})); !c.IsZero() {
			t.Fatalf("Defaults %v still change %v once applied", d, c)
		}
	})
}

// TestDefaultsChanges: only the fields that differ are sent; "no-preference"
// differs only from a value that is set.
func TestDefaultsChanges(t *testing.T) {
	current := account.State{HTTPTokens: "required", HopLimit: 2, HTTPTokensEnforced: "disabled"}
	tests := []struct {
		d    account.Defaults
		want string
	}{
		{mustDefaults(t, account.HTTPTokens("required"), account.HopLimit(2)), "(no changes)"},
		{mustDefaults(t, account.HTTPTokens("optional"), account.HopLimit(2)), "HttpTokens=optional"},
		{mustDefaults(t, account.HopLimit(-1)), "HttpPutResponseHopLimit=-1"},
		{mustDefaults(t, account.HTTPEndpoint("no-preference"), account.InstanceMetadataTags("no-preference")), "(no changes)"},
		{mustDefaults(t, account.HTTPEndpoint("enabled")), "HttpEndpoint=enabled"},
		{mustDefaults(t, account.EnforceIMDSv2()), "HttpTokensEnforced=enabled"},
		{mustDefaults(t, account.HTTPTokensEnforced("disabled")), "(no changes)"},
	}
	for _, tt := range tests {
		if got := tt.d.Changes(current).String(); got != tt.want {
			t.Errorf("%v.Changes = %q, want %q", tt.d, got, tt.want)
		}
	}
	after := mustDefaults(t, account.HTTPTokens("no-preference"), account.HopLimit(-1), account.EnforceIMDSv2()).Apply(current)
	if want := (account.State{HTTPTokensEnforced: "enabled"}); after != want {
		t.Errorf("Apply = %+v, want %+v", after, want)
	}
	if !after.Enforced() || current.Enforced() {
		t.Errorf("Enforced: %v after, %v before", after.Enforced(), current.Enforced())
	}
}

// TestSetDefaultsSendsOnlyWhatChanges, on the fake: the first call sends
// the two fields that differ, the second nothing at all.
func TestSetDefaultsSendsOnlyWhatChanges(t *testing.T) {
	w := newWorld(t)
	w.SetAccountDefaults(t, &ec2.ModifyInstanceMetadataDefaultsInput{HttpTokens: "required"})
	var sent []*ec2.ModifyInstanceMetadataDefaultsInput
	c := w.clients()
	c.EC2 = &recordDefaults{EC2: w.EC2, sent: &sent}
	d := mustDefaults(t, account.HTTPTokens("required"), account.HopLimit(2), account.InstanceMetadataTags("enabled"))

	r, err := account.SetDefaults(t.Context(), c, d)
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Changes.String(); got != "HttpPutResponseHopLimit=2 InstanceMetadataTags=enabled" || !r.Sent {
		t.Errorf("Changes = %q, Sent %v", got, r.Sent)
	}
	if r.Before.HTTPTokens != "required" || r.Before.HopLimit != 0 || r.After.HopLimit != 2 || r.After.InstanceMetadataTags != "enabled" {
		t.Errorf("Before %+v, After %+v", r.Before, r.After)
	}
	if r.Account != fake.AccountID || r.Region != "us-east-1" || r.Readiness != nil {
		t.Errorf("result = %+v", r)
	}
	if len(sent) != 1 || sent[0].HttpTokens != "" || aws.ToInt32(sent[0].HttpPutResponseHopLimit) != 2 || sent[0].InstanceMetadataTags != "enabled" {
		t.Fatalf("sent %v", sent)
	}
	got, err := account.GetDefaults(t.Context(), c)
	if err != nil || got != r.After {
		t.Errorf("GetDefaults = %+v, %v; want %+v", got, err, r.After)
	}

	r, err = account.SetDefaults(t.Context(), c, d)
	if err != nil || r.Sent || !r.Changes.IsZero() || len(sent) != 1 {
		t.Errorf("second SetDefaults = %+v, %v, %d calls; want nothing sent", r, err, len(sent))
	}
}

// recordDefaults records the ModifyInstanceMetadataDefaults calls that
// succeed.
type recordDefaults struct {
	*fake.EC2
	sent *[]*ec2.ModifyInstanceMetadataDefaultsInput
}

func (r *recordDefaults) ModifyInstanceMetadataDefaults(ctx context.Context, in *ec2.ModifyInstanceMetadataDefaultsInput, optFns ...func(*ec2.Options)) (*ec2.ModifyInstanceMetadataDefaultsOutput, error) {
	out, err := r.EC2.ModifyInstanceMetadataDefaults(ctx, in, optFns...)
	if err == nil {
		*r.sent = append(*r.sent, in)
	}
	return out, err
}

// TestSetDefaultsPolicyManaged: under a declarative policy SetDefaults
// refuses before any change is sent, with the policy's own message.
func TestSetDefaultsPolicyManaged(t *testing.T) {
	w := newWorld(t)
	const msg = "IMDS settings are set by the platform team: ask in #cloud-platform."
	if err := w.EC2.SetDeclarativePolicy(&fake.DeclarativePolicy{HttpTokens: "required", ManagedExceptionMessage: msg}); err != nil {
		t.Fatal(err)
	}
	r, err := account.SetDefaults(t.Context(), w.clients(), mustDefaults(t, account.HopLimit(2), account.EnforceIMDSv2()))
	if !errors.Is(err, account.ErrManagedByPolicy) || !strings.Contains(err.Error(), msg) {
		t.Fatalf("error %v, want ErrManagedByPolicy with the policy's message", err)
	}
	if n := w.EC2.Calls("ModifyInstanceMetadataDefaults"); n != 0 || r.Sent {
		t.Errorf("%d ModifyInstanceMetadataDefaults calls (Sent %v), want none", n, r.Sent)
	}
	if n := w.AS.Calls("DescribeAutoScalingGroups"); n != 0 {
		t.Errorf("%d readiness listings before refusing, want none", n)
	}
	if !r.Before.ManagedByPolicy() || r.Before.ManagedExceptionMessage != msg {
		t.Errorf("Before = %+v", r.Before)
	}
	// What the policy already sets is no change, and no refusal.
	if r, err := account.SetDefaults(t.Context(), w.clients(), mustDefaults(t, account.HTTPTokens("required"))); err != nil || r.Sent {
		t.Errorf("SetDefaults of what the policy sets = %+v, %v; want nothing to do", r, err)
	}
	// A policy without a message of its own gets EC2's description.
	if err := w.EC2.SetDeclarativePolicy(&fake.DeclarativePolicy{}); err != nil {
		t.Fatal(err)
	}
	_, err = account.SetDefaults(t.Context(), w.clients(), mustDefaults(t, account.HopLimit(2)))
	if !errors.Is(err, account.ErrManagedByPolicy) || !strings.Contains(err.Error(), "managed by a declarative policy and can't be modified") {
		t.Errorf("error %v", err)
	}
}

// TestSetDefaultsEnforcement: enabling enforcement runs the readiness
// check with the new defaults, refuses while launches would fail (the
// report in the error), goes through with Force, and without blockers.
func TestSetDefaultsEnforcement(t *testing.T) {
	w := newWorld(t)
	plain := w.Image(t, "plain", "")
	lt := w.Template(t, "web", plain, nil)
	w.Group(t, "web", lt, "$Default", 1)
	enforce := mustDefaults(t, account.EnforceIMDSv2())

	r, err := account.SetDefaults(t.Context(), w.clients(), enforce)
	var nre *account.NotReadyError
	if !errors.Is(err, account.ErrNotReady) || !errors.As(err, &nre) || nre.Readiness != r.Readiness {
		t.Fatalf("error %v, want a *NotReadyError carrying the result's readiness", err)
	}
	if r.Sent || w.EC2.Calls("ModifyInstanceMetadataDefaults") != 0 {
		t.Error("sent a change while not ready")
	}
	want := []string{"group-launch-template launch template web (lt-00000000000000001) version 1, with AMI ami-00000000000000001, group web", "account-default the account"}
	if got := kinds(r.Readiness.Blockers); !slices.Equal(got, want) {
		t.Errorf("blockers %q, want %q", got, want)
	}
	if !strings.Contains(err.Error(), "2 blocker(s), first: group-launch-template") {
		t.Errorf("error text %q", err)
	}
	if r.Readiness.Blockers[0].HTTPTokens != "optional" || r.Readiness.Blockers[0].HTTPTokensSource != imdsopts.SourceDefault {
		t.Errorf("blocker = %+v", r.Readiness.Blockers[0])
	}

	// With the account default required too, the template (which gives
	// no HttpTokens) resolves to required: ready.
	r, err = account.SetDefaults(t.Context(), w.clients(), mustDefaults(t, account.HTTPTokens("required"), account.EnforceIMDSv2()))
	if err != nil || !r.Sent || r.Readiness == nil || !r.Readiness.Ready || r.Forced {
		t.Fatalf("SetDefaults = %+v, %v; want sent after a clean readiness check", r, err)
	}
	if got, _ := account.GetDefaults(t.Context(), w.clients()); !got.Enforced() || got.HTTPTokens != "required" {
		t.Errorf("defaults after = %+v", got)
	}
}

func TestSetDefaultsForce(t *testing.T) {
	w := newWorld(t)
	lt := w.Template(t, "web", w.Image(t, "plain", ""), tokens("optional"))
	w.Group(t, "web", lt, "$Latest", 0)
	r, err := account.SetDefaults(t.Context(), w.clients(), mustDefaults(t, account.HTTPTokens("required"), account.EnforceIMDSv2()),
		func(o *account.DefaultsOptions) { o.Force = true })
	if err != nil || !r.Sent || !r.Forced || r.Readiness == nil || r.Readiness.Ready {
		t.Fatalf("forced SetDefaults = %+v, %v", r, err)
	}
	if got := kinds(r.Readiness.Blockers); !slices.Equal(got, []string{"group-launch-template launch template web (lt-00000000000000001) version 1, group web"}) {
		t.Errorf("blockers %q", got)
	}
	// EC2 now refuses the template's launches, as the readiness check said.
	_, err = w.EC2.RunInstances(t.Context(), &ec2.RunInstancesInput{MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		LaunchTemplate: &types.LaunchTemplateSpecification{LaunchTemplateId: aws.String(lt)}})
	if testenv.APICode(err) != "UnsupportedOperation" {
		t.Errorf("launch after forced enforcement: %v, want UnsupportedOperation", err)
	}
}

// TestSetDefaultsThrottled: throttling of both calls is retried through
// the retry core; the change is made once.
func TestSetDefaultsThrottled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t)
		throttle := fake.NewAPIError(503, "RequestLimitExceeded", "Request limit exceeded.")
		w.EC2.FailNext("GetInstanceMetadataDefaults", 3, throttle)
		w.EC2.FailNext("ModifyInstanceMetadataDefaults", 4, throttle)
		var attempts []string
		r, err := account.SetDefaults(t.Context(), w.clients(), mustDefaults(t, account.HopLimit(2)), func(o *account.DefaultsOptions) {
			o.Options.OnAttempt = func(a imdsopts.Attempt) { attempts = append(attempts, fmt.Sprintf("%s#%d", a.Operation, a.Number)) }
		})
		if err != nil || !r.Sent {
			t.Fatalf("SetDefaults = %+v, %v", r, err)
		}
		if n := w.EC2.Calls("ModifyInstanceMetadataDefaults"); n != 5 || r.Calls["ModifyInstanceMetadataDefaults"] != 5 {
			t.Errorf("%d Modify calls (counted %d), want 5", n, r.Calls["ModifyInstanceMetadataDefaults"])
		}
		if got, _ := account.GetDefaults(t.Context(), w.clients()); got.HopLimit != 2 {
			t.Errorf("hop limit %d, want 2", got.HopLimit)
		}
		if len(attempts) != 9 || attempts[8] != "ModifyInstanceMetadataDefaults#5" {
			t.Errorf("attempts %v", attempts)
		}
	})
}

// TestSetDefaultsFailures: a refusal that is not throttling ends at once;
// a 5xx answer after the call was sent says the change may have been made.
func TestSetDefaultsFailures(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t)
		w.EC2.Deny("ModifyInstanceMetadataDefaults")
		r, err := account.SetDefaults(t.Context(), w.clients(), mustDefaults(t, account.HopLimit(2)))
		if !errors.Is(err, imdsopts.ErrUnauthorized) || testenv.APICode(err) != "UnauthorizedOperation" || !r.Sent || w.EC2.Calls("ModifyInstanceMetadataDefaults") != 1 {
			t.Errorf("denied: %+v, %v", r, err)
		}
		w = newWorld(t)
		w.EC2.FailNext("ModifyInstanceMetadataDefaults", 1000, nil)
		r, err = account.SetDefaults(t.Context(), w.clients(), mustDefaults(t, account.HopLimit(2)),
			func(o *account.DefaultsOptions) { o.Options.MaxConsecutiveFailures = 3 })
		if !errors.Is(err, imdsopts.ErrTooManyFailures) || !strings.Contains(err.Error(), "may have been made") || !r.Sent {
			t.Errorf("failing endpoint: %+v, %v", r, err)
		}
		// A failed read is an error, never "no preference".
		w = newWorld(t)
		w.EC2.FailNext("GetInstanceMetadataDefaults", 1, fake.NewAPIError(400, "InvalidParameterValue", "bad"))
		if r, err := account.SetDefaults(t.Context(), w.clients(), mustDefaults(t, account.HopLimit(2))); err == nil || r != nil {
			t.Errorf("failed read: %+v, %v", r, err)
		}
	})
}

// TestDefaultsBadInputMakesNoCall: bad Defaults values, a zero Defaults,
// bad options and misuse are all reported at once, before any call.
func TestDefaultsBadInputMakesNoCall(t *testing.T) {
	w := newWorld(t)
	_, bad := account.NewDefaults(account.HTTPTokens("yes"), account.HopLimit(99))
	if !errors.Is(bad, imdsopts.ErrInvalid) || strings.Count(bad.Error(), "\n") != 1 {
		t.Fatalf("NewDefaults: %v, want two problems", bad)
	}
	var nilCtx context.Context
	_, err := account.SetDefaults(nilCtx, account.Clients{}, account.Defaults{}, func(o *account.DefaultsOptions) {
		o.Options.DefaultsRate, o.Options.Concurrency, o.Options.ThrottleBudget = 0, 0, -1e9
	})
	for _, want := range []string{"ctx nil", "Clients.EC2 nil", "Defaults \"(no changes)\"", "DefaultsOptions.DefaultsRate 0", "DefaultsOptions.Concurrency 0",
		"DefaultsOptions.ThrottleBudget -1s: must be positive"} {
		if !errors.Is(err, imdsopts.ErrInvalid) || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not say %q", err, want)
		}
	}
	if calls := w.Calls(); len(calls) != 0 {
		t.Errorf("calls made: %v", calls)
	}
}

// TestSetDefaultsTokensUnderEnforcement: under enforcement, making the
// default HttpTokens optional would make every launch that relies on it
// fail, so it is checked like enabling enforcement.
func TestSetDefaultsTokensUnderEnforcement(t *testing.T) {
	w := newWorld(t)
	w.SetAccountDefaults(t, &ec2.ModifyInstanceMetadataDefaultsInput{HttpTokens: "required", HttpTokensEnforced: "enabled"})
	lt := w.Template(t, "web", w.Image(t, "plain", ""), nil)
	w.Group(t, "web", lt, "$Default", 0)
	r, err := account.SetDefaults(t.Context(), w.clients(), mustDefaults(t, account.HTTPTokens("no-preference")))
	if !errors.Is(err, account.ErrNotReady) || r.Sent || r.Readiness == nil {
		t.Fatalf("SetDefaults = %+v, %v; want ErrNotReady, nothing sent", r, err)
	}
	// The hop limit does not matter to enforcement: no check.
	r, err = account.SetDefaults(t.Context(), w.clients(), mustDefaults(t, account.HopLimit(2)))
	if err != nil || !r.Sent || r.Readiness != nil {
		t.Errorf("hop limit under enforcement: %+v, %v", r, err)
	}
}

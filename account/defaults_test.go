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

// TestNewDefaultsRejects: each rule of NewDefaults refuses with the
// field, the value and the rule, matching ErrInvalid, and every problem is
// reported at once.
func TestNewDefaultsRejects(t *testing.T) {
	ipv6 := mustSet(t, imdsopts.HTTPProtocolIPv6("disabled"))
	// With makes a Set that New refuses: IPv6 on, the endpoint off.
	invalid := mustSet(t, imdsopts.HTTPProtocolIPv6("enabled")).With(mustSet(t, imdsopts.HTTPEndpoint("disabled")))
	const (
		noIPv6     = `: account defaults have no such field: ModifyInstanceMetadataDefaults does not take it`
		unknown    = `: must name a field of the account defaults: "HttpTokens", "HttpPutResponseHopLimit", "HttpEndpoint", "InstanceMetadataTags", "HttpTokensEnforced"`
		setCleared = `: cannot be both set (by the Set) and cleared (by NoPreference)`
	)
	for _, tt := range []struct {
		name string
		s    imdsopts.Set
		opts []account.DefaultsOption
		want []string
	}{
		{"Set holds HttpProtocolIpv6", ipv6, nil, []string{`imdsopts: HttpProtocolIpv6 "disabled"` + noIPv6}},
		{"Set invalid", invalid, nil, []string{
			`imdsopts: HttpProtocolIpv6 "enabled"` + noIPv6,
			`imdsopts: HttpProtocolIpv6 "enabled": cannot be enabled when HttpEndpoint is "disabled" in the same set`}},
		{"NoPreference unknown field", imdsopts.Set{}, []account.DefaultsOption{account.NoPreference("HttpProtocolIpv6", "httpTokens", "HttpTokens")},
			[]string{`imdsopts: NoPreference "HttpProtocolIpv6"` + unknown, `imdsopts: NoPreference "httpTokens"` + unknown}},
		{"NoPreference empty field", imdsopts.Set{}, []account.DefaultsOption{account.NoPreference("")},
			[]string{`imdsopts: NoPreference ""` + unknown}},
		{"set and cleared", mustSet(t, imdsopts.HTTPTokens("required"), imdsopts.HopLimit(2), imdsopts.HTTPEndpoint("enabled"), imdsopts.InstanceMetadataTags("disabled")),
			[]account.DefaultsOption{account.NoPreference("HttpTokens"), account.NoPreference("HttpPutResponseHopLimit", "HttpEndpoint", "InstanceMetadataTags")},
			[]string{`imdsopts: HttpTokens "required"` + setCleared, `imdsopts: HttpPutResponseHopLimit 2` + setCleared,
				`imdsopts: HttpEndpoint "enabled"` + setCleared, `imdsopts: InstanceMetadataTags "disabled"` + setCleared}},
		{"zero DefaultsOption", imdsopts.Set{}, []account.DefaultsOption{account.EnforceIMDSv2(), {}},
			[]string{`imdsopts: DefaultsOption 2 DefaultsOption{}: must be made by an option function such as NoPreference`}},
		{"bad HttpTokensEnforced", imdsopts.Set{}, []account.DefaultsOption{account.HTTPTokensEnforced("true")},
			[]string{`imdsopts: HttpTokensEnforced "true": must be one of "disabled", "enabled", "no-preference"`}},
		{"HttpTokensEnforced case", imdsopts.Set{}, []account.DefaultsOption{account.HTTPTokensEnforced("Enabled")},
			[]string{`imdsopts: HttpTokensEnforced "Enabled": must be one of "disabled", "enabled", "no-preference"`}},
		{"every problem at once", invalid.With(mustSet(t, imdsopts.HTTPTokens("optional"))),
			[]account.DefaultsOption{{}, account.NoPreference("HttpTokens", "Ipv6"), account.HTTPTokensEnforced("")},
			[]string{
				`imdsopts: DefaultsOption 1 DefaultsOption{}: must be made by an option function such as NoPreference`,
				`imdsopts: NoPreference "Ipv6"` + unknown,
				`imdsopts: HttpProtocolIpv6 "enabled"` + noIPv6,
				`imdsopts: HttpProtocolIpv6 "enabled": cannot be enabled when HttpEndpoint is "disabled" in the same set`,
				`imdsopts: HttpTokens "optional"` + setCleared,
				`imdsopts: HttpTokensEnforced "": must be one of "disabled", "enabled", "no-preference"`}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d, err := account.NewDefaults(tt.s, tt.opts...)
			if !errors.Is(err, imdsopts.ErrInvalid) || !d.IsZero() {
				t.Fatalf("NewDefaults = %v, %v; want the zero Defaults and ErrInvalid", d, err)
			}
			if got := strings.Split(err.Error(), "\n"); !slices.Equal(got, tt.want) {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			var joined interface{ Unwrap() []error }
			if !errors.As(err, &joined) {
				t.Fatalf("%v is not a joined error", err)
			}
			for _, e := range joined.Unwrap() {
				var ve *imdsopts.ValidationError
				if !errors.As(e, &ve) || !errors.Is(e, imdsopts.ErrInvalid) {
					t.Errorf("problem %v is not a *ValidationError matching ErrInvalid", e)
				}
			}
		})
	}
}

func TestNewDefaultsAccepts(t *testing.T) {
	all := mustSet(t, imdsopts.HTTPTokens("required"), imdsopts.HopLimit(2), imdsopts.HTTPEndpoint("enabled"), imdsopts.InstanceMetadataTags("disabled"))
	for _, tt := range []struct {
		s    imdsopts.Set
		opts []account.DefaultsOption
		want string
	}{
		{imdsopts.Set{}, []account.DefaultsOption{account.EnforceIMDSv2()}, "HttpTokensEnforced=enabled"},
		{all, []account.DefaultsOption{account.EnforceIMDSv2()},
			"HttpTokens=required HttpPutResponseHopLimit=2 HttpEndpoint=enabled InstanceMetadataTags=disabled HttpTokensEnforced=enabled"},
		{imdsopts.Set{}, []account.DefaultsOption{account.NoPreference("HttpTokens", "HttpPutResponseHopLimit",
			"HttpEndpoint", "InstanceMetadataTags", "HttpTokensEnforced")},
			"HttpTokens=no-preference HttpPutResponseHopLimit=-1 HttpEndpoint=no-preference InstanceMetadataTags=no-preference HttpTokensEnforced=no-preference"},
		{mustSet(t, imdsopts.HopLimit(64), imdsopts.HopLimit(1)), nil, "HttpPutResponseHopLimit=1"},
		{mustSet(t, imdsopts.HTTPEndpoint("enabled")), []account.DefaultsOption{account.NoPreference("HttpTokens", "HttpTokens"), account.NoPreference()},
			"HttpTokens=no-preference HttpEndpoint=enabled"},
		{imdsopts.Set{}, []account.DefaultsOption{account.EnforceIMDSv2(), account.HTTPTokensEnforced("disabled")}, "HttpTokensEnforced=disabled"},
		{imdsopts.Set{}, []account.DefaultsOption{account.EnforceIMDSv2(), account.NoPreference("HttpTokensEnforced")}, "HttpTokensEnforced=no-preference"},
		{imdsopts.Set{}, nil, "(no changes)"},
	} {
		d, err := account.NewDefaults(tt.s, tt.opts...)
		if err != nil {
			t.Fatal(err)
		}
		if got := d.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
		if d.Set() != tt.s {
			t.Errorf("Set() = %v, want %v", d.Set(), tt.s)
		}
	}
	// Two ways to spell no preference for HttpTokensEnforced make equal
	// Defaults.
	if a, b := mustDefaults(t, imdsopts.Set{}, account.NoPreference("HttpTokensEnforced")),
		mustDefaults(t, imdsopts.Set{}, account.HTTPTokensEnforced("no-preference")); a != b {
		t.Errorf("%v != %v", a, b)
	}
	d := mustDefaults(t, mustSet(t, imdsopts.HTTPTokens("required")), account.NoPreference("HttpPutResponseHopLimit"), account.EnforceIMDSv2())
	b, err := json.Marshal(d)
	if err != nil || string(b) != `{"HttpTokens":"required","HttpPutResponseHopLimit":-1,"HttpTokensEnforced":"enabled"}` {
		t.Errorf("json = %s, %v", b, err)
	}
	in := d.ModifyInput()
	if in.HttpTokens != "required" || aws.ToInt32(in.HttpPutResponseHopLimit) != -1 || in.HttpTokensEnforced != "enabled" ||
		in.HttpEndpoint != "" || in.InstanceMetadataTags != "" {
		t.Errorf("ModifyInput = %+v", in)
	}
	if d.HTTPTokens() != "required" || d.HopLimit() != -1 || d.HTTPEndpoint() != "" || d.InstanceMetadataTags() != "" ||
		d.HTTPTokensEnforced() != "enabled" || d.Set() != mustSet(t, imdsopts.HTTPTokens("required")) {
		t.Errorf("accessors of %v: %q %d %q %q %q %v", d, d.HTTPTokens(), d.HopLimit(), d.HTTPEndpoint(), d.InstanceMetadataTags(),
			d.HTTPTokensEnforced(), d.Set())
	}
}

// defaultsFieldNames are the fields NoPreference takes, in the order of
// the fuzz target's bits.
var defaultsFieldNames = []string{"HttpTokens", "HttpPutResponseHopLimit", "HttpEndpoint", "InstanceMetadataTags", "HttpTokensEnforced"}

// FuzzNewDefaults: NewDefaults accepts exactly the values
// ModifyInstanceMetadataDefaults takes, reports each bad one, and what it
// accepts turns into an input carrying the same values. The Set's own
// values are New's to check: a Set New refuses is not fed on.
func FuzzNewDefaults(f *testing.F) {
	f.Add("required", int32(2), "enabled", "disabled", "", "enabled", "", uint8(0x2f), uint8(0))
	f.Add("optional", int32(3), "disabled", "enabled", "enabled", "true", "HttpProtocolIpv6", uint8(0x3f), uint8(0x7f))
	f.Add("", int32(0), "", "", "", "", "", uint8(0), uint8(0x1f))
	f.Fuzz(func(t *testing.T, tokens string, hop int32, endpoint, tags, ipv6, enforced, name string, which, clear uint8) {
		in := func(v string, allowed ...string) bool { return slices.Contains(allowed, v) }
		var fields, extra []imdsopts.Option
		if which&1 != 0 {
			fields = append(fields, imdsopts.HTTPTokens(types.HttpTokensState(tokens)))
		}
		if which&2 != 0 {
			fields = append(fields, imdsopts.HopLimit(hop))
		}
		if which&4 != 0 {
			fields = append(fields, imdsopts.HTTPEndpoint(types.InstanceMetadataEndpointState(endpoint)))
		}
		if which&8 != 0 {
			fields = append(fields, imdsopts.InstanceMetadataTags(types.InstanceMetadataTagsState(tags)))
		}
		if which&16 != 0 {
			extra = append(extra, imdsopts.HTTPProtocolIPv6(types.InstanceMetadataProtocolState(ipv6)))
		}
		s1, err1 := imdsopts.New(fields...)
		s2, err2 := imdsopts.New(extra...)
		if err1 != nil || err2 != nil {
			return // New's rules, tested with New
		}
		s := s1.With(s2) // may break the IPv6 rule, which New would refuse

		bad := 0
		var opts []account.DefaultsOption
		if which&32 != 0 {
			opts = append(opts, account.HTTPTokensEnforced(types.DefaultHttpTokensEnforcedState(enforced)))
		}
		var cleared []string
		for i, f := range defaultsFieldNames {
			if clear&(1<<i) != 0 {
				cleared = append(cleared, f)
			}
		}
		if clear&32 != 0 {
			cleared = append(cleared, name)
			if !slices.Contains(defaultsFieldNames, name) {
				bad++
			}
		}
		if len(cleared) > 0 {
			opts = append(opts, account.NoPreference(cleared...))
		}
		if clear&64 != 0 {
			opts = append(opts, account.DefaultsOption{})
			bad++
		}
		isCleared := func(f string) bool { return slices.Contains(cleared, f) }
		if s.HTTPProtocolIPv6() != "" {
			bad++
		}
		if s.Validate() != nil {
			bad++
		}
		for _, c := range []struct {
			field string
			held  bool
		}{{"HttpTokens", s.HTTPTokens() != ""}, {"HttpPutResponseHopLimit", s.HopLimit() != 0},
			{"HttpEndpoint", s.HTTPEndpoint() != ""}, {"InstanceMetadataTags", s.InstanceMetadataTags() != ""}} {
			if c.held && isCleared(c.field) {
				bad++
			}
		}
		if which&32 != 0 && !isCleared("HttpTokensEnforced") && !in(enforced, "enabled", "disabled", "no-preference") {
			bad++
		}

		d, err := account.NewDefaults(s, opts...)
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
		if d.Set() != s {
			t.Fatalf("Defaults %v hold the Set %v, want %v", d, d.Set(), s)
		}
		want := func(f, v string) string {
			if isCleared(f) {
				return "no-preference"
			}
			return v
		}
		wantHop := s.HopLimit()
		if isCleared("HttpPutResponseHopLimit") {
			wantHop = -1
		}
		wantEnforced := ""
		if which&32 != 0 {
			wantEnforced = enforced
		}
		mi := d.ModifyInput()
		if string(mi.HttpTokens) != want("HttpTokens", string(s.HTTPTokens())) || aws.ToInt32(mi.HttpPutResponseHopLimit) != wantHop ||
			wantHop == 0 && mi.HttpPutResponseHopLimit != nil ||
			string(mi.HttpEndpoint) != want("HttpEndpoint", string(s.HTTPEndpoint())) ||
			string(mi.InstanceMetadataTags) != want("InstanceMetadataTags", string(s.InstanceMetadataTags())) ||
			string(mi.HttpTokensEnforced) != want("HttpTokensEnforced", wantEnforced) {
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
		{mustDefaults(t, mustSet(t, imdsopts.HTTPTokens("required"), imdsopts.HopLimit(2))), "(no changes)"},
		{mustDefaults(t, mustSet(t, imdsopts.HTTPTokens("optional"), imdsopts.HopLimit(2))), "HttpTokens=optional"},
		{mustDefaults(t, imdsopts.Set{}, account.NoPreference("HttpPutResponseHopLimit")), "HttpPutResponseHopLimit=-1"},
		{mustDefaults(t, imdsopts.Set{}, account.NoPreference("HttpEndpoint", "InstanceMetadataTags")), "(no changes)"},
		{mustDefaults(t, mustSet(t, imdsopts.HTTPEndpoint("enabled"))), "HttpEndpoint=enabled"},
		{mustDefaults(t, imdsopts.Set{}, account.EnforceIMDSv2()), "HttpTokensEnforced=enabled"},
		{mustDefaults(t, imdsopts.Set{}, account.HTTPTokensEnforced("disabled")), "(no changes)"},
	}
	for _, tt := range tests {
		if got := tt.d.Changes(current).String(); got != tt.want {
			t.Errorf("%v.Changes = %q, want %q", tt.d, got, tt.want)
		}
	}
	after := mustDefaults(t, imdsopts.Set{}, account.NoPreference("HttpTokens", "HttpPutResponseHopLimit"), account.EnforceIMDSv2()).Apply(current)
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
	d := mustDefaults(t, mustSet(t, imdsopts.HTTPTokens("required"), imdsopts.HopLimit(2), imdsopts.InstanceMetadataTags("enabled")))

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
	if r.Target.Account != fake.AccountID || r.Target.Region != "us-east-1" || r.Readiness != nil {
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
	r, err := account.SetDefaults(t.Context(), w.clients(), mustDefaults(t, mustSet(t, imdsopts.HopLimit(2)), account.EnforceIMDSv2()))
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
	if r, err := account.SetDefaults(t.Context(), w.clients(), mustDefaults(t, mustSet(t, imdsopts.HTTPTokens("required")))); err != nil || r.Sent {
		t.Errorf("SetDefaults of what the policy sets = %+v, %v; want nothing to do", r, err)
	}
	// A policy without a message of its own gets EC2's description.
	if err := w.EC2.SetDeclarativePolicy(&fake.DeclarativePolicy{}); err != nil {
		t.Fatal(err)
	}
	_, err = account.SetDefaults(t.Context(), w.clients(), mustDefaults(t, mustSet(t, imdsopts.HopLimit(2))))
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
	enforce := mustDefaults(t, imdsopts.Set{}, account.EnforceIMDSv2())

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
	r, err = account.SetDefaults(t.Context(), w.clients(), mustDefaults(t, mustSet(t, imdsopts.HTTPTokens("required")), account.EnforceIMDSv2()))
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
	r, err := account.SetDefaults(t.Context(), w.clients(), mustDefaults(t, mustSet(t, imdsopts.HTTPTokens("required")), account.EnforceIMDSv2()),
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
		r, err := account.SetDefaults(t.Context(), w.clients(), mustDefaults(t, mustSet(t, imdsopts.HopLimit(2))), func(o *account.DefaultsOptions) {
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
		r, err := account.SetDefaults(t.Context(), w.clients(), mustDefaults(t, mustSet(t, imdsopts.HopLimit(2))))
		if !errors.Is(err, imdsopts.ErrUnauthorized) || testenv.APICode(err) != "UnauthorizedOperation" || !r.Sent || w.EC2.Calls("ModifyInstanceMetadataDefaults") != 1 {
			t.Errorf("denied: %+v, %v", r, err)
		}
		w = newWorld(t)
		w.EC2.FailNext("ModifyInstanceMetadataDefaults", 1000, nil)
		r, err = account.SetDefaults(t.Context(), w.clients(), mustDefaults(t, mustSet(t, imdsopts.HopLimit(2))),
			func(o *account.DefaultsOptions) { o.Options.MaxConsecutiveFailures = 3 })
		if !errors.Is(err, imdsopts.ErrTooManyFailures) || !strings.Contains(err.Error(), "may have been made") || !r.Sent {
			t.Errorf("failing endpoint: %+v, %v", r, err)
		}
		// A failed read is an error, never "no preference".
		w = newWorld(t)
		w.EC2.FailNext("GetInstanceMetadataDefaults", 1, fake.NewAPIError(400, "InvalidParameterValue", "bad"))
		if r, err := account.SetDefaults(t.Context(), w.clients(), mustDefaults(t, mustSet(t, imdsopts.HopLimit(2)))); err == nil || r != nil {
			t.Errorf("failed read: %+v, %v", r, err)
		}
	})
}

// TestDefaultsBadInputMakesNoCall: bad Defaults values, a zero Defaults,
// bad options and misuse are all reported at once, before any call.
func TestDefaultsBadInputMakesNoCall(t *testing.T) {
	w := newWorld(t)
	_, bad := account.NewDefaults(imdsopts.Set{}, account.HTTPTokensEnforced("yes"), account.NoPreference("HttpHopLimit"))
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
	r, err := account.SetDefaults(t.Context(), w.clients(), mustDefaults(t, imdsopts.Set{}, account.NoPreference("HttpTokens")))
	if !errors.Is(err, account.ErrNotReady) || r.Sent || r.Readiness == nil {
		t.Fatalf("SetDefaults = %+v, %v; want ErrNotReady, nothing sent", r, err)
	}
	// The hop limit does not matter to enforcement: no check.
	r, err = account.SetDefaults(t.Context(), w.clients(), mustDefaults(t, mustSet(t, imdsopts.HopLimit(2))))
	if err != nil || !r.Sent || r.Readiness != nil {
		t.Errorf("hop limit under enforcement: %+v, %v", r, err)
	}
}

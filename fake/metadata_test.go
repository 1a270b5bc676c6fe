package fake_test

import (
	"errors"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"

	"github.com/imdsopts/imdsopts/fake"
)

func TestModifyKeepsOmittedFields(t *testing.T) {
	f := fake.New(func(o *fake.Options) { o.ApplyDelay = 0 })
	img := register(t, f, "img", "")
	id := aws.ToString(launch(t, f, img, 1, func(in *ec2.RunInstancesInput) {
		in.MetadataOptions = &types.InstanceMetadataOptionsRequest{
			HttpTokens:              "optional",
			HttpPutResponseHopLimit: aws.Int32(3),
			HttpEndpoint:            "enabled",
			HttpProtocolIpv6:        "enabled",
			InstanceMetadataTags:    "enabled",
		}
	})[0].InstanceId)

	steps := []struct {
		in   ec2.ModifyInstanceMetadataOptionsInput
		want types.InstanceMetadataOptionsResponse
	}{
		{ec2.ModifyInstanceMetadataOptionsInput{HttpTokens: "required"},
			types.InstanceMetadataOptionsResponse{HttpTokens: "required", HttpPutResponseHopLimit: aws.Int32(3), HttpEndpoint: "enabled", HttpProtocolIpv6: "enabled", InstanceMetadataTags: "enabled"}},
		{ec2.ModifyInstanceMetadataOptionsInput{HttpPutResponseHopLimit: aws.Int32(2)},
			types.InstanceMetadataOptionsResponse{HttpTokens: "required", HttpPutResponseHopLimit: aws.Int32(2), HttpEndpoint: "enabled", HttpProtocolIpv6: "enabled", InstanceMetadataTags: "enabled"}},
		{ec2.ModifyInstanceMetadataOptionsInput{InstanceMetadataTags: "disabled", HttpProtocolIpv6: "disabled"},
			types.InstanceMetadataOptionsResponse{HttpTokens: "required", HttpPutResponseHopLimit: aws.Int32(2), HttpEndpoint: "enabled", HttpProtocolIpv6: "disabled", InstanceMetadataTags: "disabled"}},
		{ec2.ModifyInstanceMetadataOptionsInput{HttpEndpoint: "disabled"},
			types.InstanceMetadataOptionsResponse{HttpTokens: "required", HttpPutResponseHopLimit: aws.Int32(2), HttpEndpoint: "disabled", HttpProtocolIpv6: "disabled", InstanceMetadataTags: "disabled"}},
		{ec2.ModifyInstanceMetadataOptionsInput{},
			types.InstanceMetadataOptionsResponse{HttpTokens: "required", HttpPutResponseHopLimit: aws.Int32(2), HttpEndpoint: "disabled", HttpProtocolIpv6: "disabled", InstanceMetadataTags: "disabled"}},
	}
	for n, s := range steps {
		s.in.InstanceId = aws.String(id)
		out, err := f.ModifyInstanceMetadataOptions(ctx, &s.in)
		if err != nil {
			t.Fatalf("step %d: %v", n, err)
		}
		if aws.ToString(out.InstanceId) != id {
			t.Errorf("step %d: InstanceId = %q, want %q", n, aws.ToString(out.InstanceId), id)
		}
		// The answer is "pending" even with ApplyDelay 0; DescribeInstances
		// says "applied" at once.
		s.want.State = "pending"
		checkOptions(t, "response", out.InstanceMetadataOptions, &s.want)
		s.want.State = "applied"
		checkOptions(t, "DescribeInstances", describe(t, f, id).MetadataOptions, &s.want)
	}
}

func checkOptions(t *testing.T, where string, got, want *types.InstanceMetadataOptionsResponse) {
	t.Helper()
	if got == nil {
		t.Fatalf("%s: no metadata options", where)
	}
	if got.HttpTokens != want.HttpTokens || aws.ToInt32(got.HttpPutResponseHopLimit) != aws.ToInt32(want.HttpPutResponseHopLimit) ||
		got.HttpEndpoint != want.HttpEndpoint || got.HttpProtocolIpv6 != want.HttpProtocolIpv6 ||
		got.InstanceMetadataTags != want.InstanceMetadataTags || got.State != want.State {
		t.Errorf("%s: got %s, want %s", where, show(got), show(want))
	}
}

func show(o *types.InstanceMetadataOptionsResponse) string {
	return fmt.Sprintf("tokens=%s hop=%d endpoint=%s ipv6=%s tags=%s state=%s", o.HttpTokens, aws.ToInt32(o.HttpPutResponseHopLimit),
		o.HttpEndpoint, o.HttpProtocolIpv6, o.InstanceMetadataTags, o.State)
}

func TestPendingUntilApplyDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := fake.New() // default ApplyDelay: 2s
		id := seedOne(t, f)
		if s := describe(t, f, id).MetadataOptions.State; s != "applied" {
			t.Fatalf("new instance: state %q, want applied", s)
		}
		out, err := f.ModifyInstanceMetadataOptions(ctx, &ec2.ModifyInstanceMetadataOptionsInput{InstanceId: aws.String(id), HttpTokens: "required"})
		if err != nil {
			t.Fatal(err)
		}
		if s := out.InstanceMetadataOptions.State; s != "pending" {
			t.Errorf("response: state %q, want pending", s)
		}
		md := describe(t, f, id).MetadataOptions
		if md.State != "pending" || md.HttpTokens != "required" {
			t.Errorf("at once: %s, want required and pending", show(md))
		}
		assertFilter(t, f, "metadata-options.state", "pending", id)
		time.Sleep(1999 * time.Millisecond)
		if s := describe(t, f, id).MetadataOptions.State; s != "pending" {
			t.Errorf("before ApplyDelay: state %q, want pending", s)
		}
		time.Sleep(time.Millisecond)
		if s := describe(t, f, id).MetadataOptions.State; s != "applied" {
			t.Errorf("after ApplyDelay: state %q, want applied", s)
		}
		assertFilter(t, f, "metadata-options.state", "applied", id)
	})
}

func TestStoppedStaysPendingUntilStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := fake.New(func(o *fake.Options) { o.ApplyDelay = time.Second })
		id := seedOne(t, f)
		stop, err := f.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{id}})
		if err != nil {
			t.Fatal(err)
		}
		if c := stop.StoppingInstances[0]; c.PreviousState.Name != "running" || aws.ToInt32(c.PreviousState.Code) != 16 ||
			c.CurrentState.Name != "stopped" || aws.ToInt32(c.CurrentState.Code) != 80 {
			t.Errorf("stop: %v -> %v, want running(16) -> stopped(80)", c.PreviousState, c.CurrentState)
		}
		out, err := f.ModifyInstanceMetadataOptions(ctx, &ec2.ModifyInstanceMetadataOptionsInput{InstanceId: aws.String(id), HttpPutResponseHopLimit: aws.Int32(2)})
		if err != nil {
			t.Fatal(err)
		}
		if s := out.InstanceMetadataOptions.State; s != "pending" {
			t.Errorf("response: state %q, want pending", s)
		}
		time.Sleep(time.Hour)
		if md := describe(t, f, id).MetadataOptions; md.State != "pending" || aws.ToInt32(md.HttpPutResponseHopLimit) != 2 {
			t.Errorf("stopped an hour: %s, want hop 2 pending", show(md))
		}
		start, err := f.StartInstances(ctx, &ec2.StartInstancesInput{InstanceIds: []string{id}})
		if err != nil {
			t.Fatal(err)
		}
		if c := start.StartingInstances[0]; c.PreviousState.Name != "stopped" || c.CurrentState.Name != "running" {
			t.Errorf("start: %v -> %v", c.PreviousState.Name, c.CurrentState.Name)
		}
		if md := describe(t, f, id).MetadataOptions; md.State != "applied" {
			t.Errorf("after start: %s, want applied", show(md))
		}

		// A change still pending when the instance stops waits for the start.
		if _, err := f.ModifyInstanceMetadataOptions(ctx, &ec2.ModifyInstanceMetadataOptionsInput{InstanceId: aws.String(id), HttpTokens: "required"}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{id}}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Minute)
		if s := describe(t, f, id).MetadataOptions.State; s != "pending" {
			t.Errorf("stopped while pending: state %q, want pending", s)
		}
	})
}

func TestPrecedenceAtLaunch(t *testing.T) {
	const (
		v2   = types.HttpTokensStateRequired
		v1v2 = types.HttpTokensStateOptional
	)
	// The HttpTokens table of "Order of precedence for instance metadata
	// options"; "any" account default is tested with both values.
	for _, tt := range []struct {
		ami     types.ImdsSupportValues
		launch  types.HttpTokensState
		account []types.MetadataDefaultHttpTokensState
		want    types.HttpTokensState
	}{
		{"v2.0", v2, []types.MetadataDefaultHttpTokensState{"no-preference", "required", "optional"}, v2},
		{"v2.0", v1v2, []types.MetadataDefaultHttpTokensState{"no-preference", "required", "optional"}, v1v2},
		{"v2.0", "", []types.MetadataDefaultHttpTokensState{"no-preference"}, v2},
		{"v2.0", "", []types.MetadataDefaultHttpTokensState{"required"}, v2},
		{"v2.0", "", []types.MetadataDefaultHttpTokensState{"optional"}, v1v2},
		{"", v2, []types.MetadataDefaultHttpTokensState{"no-preference", "required", "optional"}, v2},
		{"", v1v2, []types.MetadataDefaultHttpTokensState{"no-preference", "required", "optional"}, v1v2},
		{"", "", []types.MetadataDefaultHttpTokensState{"no-preference"}, v1v2},
		{"", "", []types.MetadataDefaultHttpTokensState{"required"}, v2},
		{"", "", []types.MetadataDefaultHttpTokensState{"optional"}, v1v2},
	} {
		for _, account := range tt.account {
			f := fake.New()
			img := register(t, f, "img", tt.ami)
			if _, err := f.ModifyInstanceMetadataDefaults(ctx, &ec2.ModifyInstanceMetadataDefaultsInput{HttpTokens: account}); err != nil {
				t.Fatal(err)
			}
			inst := launch(t, f, img, 1, func(in *ec2.RunInstancesInput) {
				if tt.launch != "" {
					in.MetadataOptions = &types.InstanceMetadataOptionsRequest{HttpTokens: tt.launch}
				}
			})[0]
			if got := inst.MetadataOptions.HttpTokens; got != tt.want {
				t.Errorf("AMI %q, launch %q, account %q: HttpTokens %q, want %q", tt.ami, tt.launch, account, got, tt.want)
			}
		}
	}
}

func TestPrecedenceHopLimitAndOthers(t *testing.T) {
	for _, tt := range []struct {
		name     string
		ami      types.ImdsSupportValues
		defaults ec2.ModifyInstanceMetadataDefaultsInput
		launch   *types.InstanceMetadataOptionsRequest
		want     types.InstanceMetadataOptionsResponse
	}{
		{"account hop 1 beats AMI v2.0", "v2.0",
			ec2.ModifyInstanceMetadataDefaultsInput{HttpPutResponseHopLimit: aws.Int32(1)}, nil,
			types.InstanceMetadataOptionsResponse{HttpTokens: "required", HttpPutResponseHopLimit: aws.Int32(1), HttpEndpoint: "enabled", HttpProtocolIpv6: "disabled", InstanceMetadataTags: "disabled"}},
		{"account hop no preference, AMI v2.0", "v2.0",
			ec2.ModifyInstanceMetadataDefaultsInput{HttpPutResponseHopLimit: aws.Int32(-1)}, nil,
			types.InstanceMetadataOptionsResponse{HttpTokens: "required", HttpPutResponseHopLimit: aws.Int32(2), HttpEndpoint: "enabled", HttpProtocolIpv6: "disabled", InstanceMetadataTags: "disabled"}},
		{"account hop no preference, plain AMI", "",
			ec2.ModifyInstanceMetadataDefaultsInput{HttpPutResponseHopLimit: aws.Int32(-1)}, nil,
			types.InstanceMetadataOptionsResponse{HttpTokens: "optional", HttpPutResponseHopLimit: aws.Int32(1), HttpEndpoint: "enabled", HttpProtocolIpv6: "disabled", InstanceMetadataTags: "disabled"}},
		{"launch beats account beats AMI, per option", "v2.0",
			ec2.ModifyInstanceMetadataDefaultsInput{HttpPutResponseHopLimit: aws.Int32(5), HttpEndpoint: "disabled", InstanceMetadataTags: "enabled"},
			&types.InstanceMetadataOptionsRequest{HttpEndpoint: "enabled", HttpProtocolIpv6: "enabled"},
			types.InstanceMetadataOptionsResponse{HttpTokens: "required", HttpPutResponseHopLimit: aws.Int32(5), HttpEndpoint: "enabled", HttpProtocolIpv6: "enabled", InstanceMetadataTags: "enabled"}},
		{"launch hop beats account", "",
			ec2.ModifyInstanceMetadataDefaultsInput{HttpPutResponseHopLimit: aws.Int32(5), HttpTokens: "required"},
			&types.InstanceMetadataOptionsRequest{HttpPutResponseHopLimit: aws.Int32(7)},
			types.InstanceMetadataOptionsResponse{HttpTokens: "required", HttpPutResponseHopLimit: aws.Int32(7), HttpEndpoint: "enabled", HttpProtocolIpv6: "disabled", InstanceMetadataTags: "disabled"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := fake.New()
			img := register(t, f, "img", tt.ami)
			if _, err := f.ModifyInstanceMetadataDefaults(ctx, &tt.defaults); err != nil {
				t.Fatal(err)
			}
			inst := launch(t, f, img, 1, func(in *ec2.RunInstancesInput) { in.MetadataOptions = tt.launch })[0]
			tt.want.State = "applied"
			checkOptions(t, "RunInstances", inst.MetadataOptions, &tt.want)
			checkOptions(t, "DescribeInstances", describe(t, f, aws.ToString(inst.InstanceId)).MetadataOptions, &tt.want)
		})
	}
}

func TestEnforcement(t *testing.T) {
	f := fake.New(func(o *fake.Options) { o.ApplyDelay = 0 })
	plain := register(t, f, "plain", "")
	v2 := register(t, f, "v2", "v2.0")
	old := aws.ToString(launch(t, f, plain, 1)[0].InstanceId)
	if _, err := f.ModifyInstanceMetadataDefaults(ctx, &ec2.ModifyInstanceMetadataDefaultsInput{HttpTokensEnforced: "enabled"}); err != nil {
		t.Fatal(err)
	}
	runs := func(img string, opts *types.InstanceMetadataOptionsRequest) error {
		_, err := f.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String(img), MinCount: aws.Int32(1), MaxCount: aws.Int32(1), MetadataOptions: opts})
		return err
	}
	wantCode(t, runs(plain, nil), "RunInstances", "UnsupportedOperation", 400)
	wantCode(t, runs(v2, &types.InstanceMetadataOptionsRequest{HttpTokens: "optional"}), "RunInstances", "UnsupportedOperation", 400)
	if err := runs(v2, nil); err != nil {
		t.Errorf("AMI v2.0 under enforcement: %v", err)
	}
	if err := runs(plain, &types.InstanceMetadataOptionsRequest{HttpTokens: "required"}); err != nil {
		t.Errorf("launch required under enforcement: %v", err)
	}
	if _, err := f.ModifyInstanceMetadataDefaults(ctx, &ec2.ModifyInstanceMetadataDefaultsInput{HttpTokens: "required"}); err != nil {
		t.Fatal(err)
	}
	if err := runs(plain, nil); err != nil {
		t.Errorf("account default required under enforcement: %v", err)
	}

	// Existing instances keep their options.
	if md := describe(t, f, old).MetadataOptions; md.HttpTokens != "optional" {
		t.Errorf("account defaults changed an existing instance: %s", show(md))
	}
	var apiErr smithy.APIError
	if errors.As(runs(plain, &types.InstanceMetadataOptionsRequest{HttpTokens: "optional"}), &apiErr); apiErr == nil ||
		apiErr.ErrorMessage() != documentedEnforcedMessage {
		t.Errorf("launch refused with %v, want the documented message", apiErr)
	}

	if _, err := f.ModifyInstanceMetadataDefaults(ctx, &ec2.ModifyInstanceMetadataDefaultsInput{HttpTokensEnforced: "disabled", HttpTokens: "no-preference"}); err != nil {
		t.Fatal(err)
	}
	if err := runs(plain, nil); err != nil {
		t.Errorf("enforcement disabled: %v", err)
	}
}

// TestModifyOnDisabledEndpoint: HttpTokens, the hop limit and
// HttpProtocolIpv6 need the endpoint enabled, by the instance or by the
// same request; by default the fake refuses them otherwise, and with
// Options.AcceptOptionsOnDisabledEndpoint it accepts them (but never IPv6
// enabled with the endpoint disabled in the same request).
func TestModifyOnDisabledEndpoint(t *testing.T) {
	const combination = "InvalidParameterCombination"
	for _, tt := range []struct {
		name     string
		endpoint types.InstanceMetadataEndpointState // the instance's
		req      ec2.ModifyInstanceMetadataOptionsInput
		// strict and lenient are the codes answered by default and with
		// AcceptOptionsOnDisabledEndpoint; empty for success.
		strict, lenient string
	}{
		{"tokens", "disabled", ec2.ModifyInstanceMetadataOptionsInput{HttpTokens: "required"}, combination, ""},
		{"hop limit", "disabled", ec2.ModifyInstanceMetadataOptionsInput{HttpPutResponseHopLimit: aws.Int32(2)}, combination, ""},
		{"IPv6 disabled", "disabled", ec2.ModifyInstanceMetadataOptionsInput{HttpProtocolIpv6: "disabled"}, combination, ""},
		{"tokens with the endpoint kept disabled", "disabled",
			ec2.ModifyInstanceMetadataOptionsInput{HttpTokens: "required", HttpEndpoint: "disabled"}, combination, ""},
		{"tokens with the endpoint enabled", "disabled",
			ec2.ModifyInstanceMetadataOptionsInput{HttpTokens: "required", HttpEndpoint: "enabled"}, "", ""},
		{"tags only", "disabled", ec2.ModifyInstanceMetadataOptionsInput{InstanceMetadataTags: "enabled"}, "", ""},
		{"endpoint only", "disabled", ec2.ModifyInstanceMetadataOptionsInput{HttpEndpoint: "disabled"}, "", ""},
		{"nothing", "disabled", ec2.ModifyInstanceMetadataOptionsInput{}, "", ""},
		{"tokens on an enabled endpoint", "enabled", ec2.ModifyInstanceMetadataOptionsInput{HttpTokens: "required"}, "", ""},
		{"tokens while disabling the endpoint", "enabled",
			ec2.ModifyInstanceMetadataOptionsInput{HttpTokens: "required", HttpEndpoint: "disabled"}, combination, ""},
		{"IPv6 enabled while disabling the endpoint", "enabled",
			ec2.ModifyInstanceMetadataOptionsInput{HttpProtocolIpv6: "enabled", HttpEndpoint: "disabled"}, combination, combination},
	} {
		for _, lenient := range []bool{false, true} {
			want := tt.strict
			if lenient {
				want = tt.lenient
			}
			t.Run(fmt.Sprintf("%s/lenient=%t", tt.name, lenient), func(t *testing.T) {
				f := fake.New(func(o *fake.Options) { o.ApplyDelay, o.AcceptOptionsOnDisabledEndpoint = 0, lenient })
				id := seedOne(t, f, func(o *fake.LaunchOptions) {
					o.MetadataOptions = &types.InstanceMetadataOptionsRequest{HttpEndpoint: tt.endpoint}
				})
				before := describe(t, f, id).MetadataOptions
				in := tt.req
				in.InstanceId = aws.String(id)
				_, err := f.ModifyInstanceMetadataOptions(ctx, &in)
				if want == "" {
					if err != nil {
						t.Fatalf("refused: %v", err)
					}
					return
				}
				wantCode(t, err, "ModifyInstanceMetadataOptions", want, 400)
				if after := describe(t, f, id).MetadataOptions; show(after) != show(before) {
					t.Errorf("refused call changed %s to %s", show(before), show(after))
				}
			})
		}
	}
}

// TestIPv6OnXen: the IPv6 endpoint cannot be enabled on a Xen instance
// type, at launch (from the request or a launch template) or on
// modification; Nitro types, the bare metal sizes of Xen families and
// p3dn.24xlarge can have it, and a Xen type can have it disabled.
func TestIPv6OnXen(t *testing.T) {
	const xenMessage = "The HttpProtocolIpv6 metadata option cannot be enabled for Xen-backed instance types."
	for _, tt := range []struct {
		typ  types.InstanceType
		ipv6 types.InstanceMetadataProtocolState
		xen  bool
	}{
		{"t2.micro", "enabled", true},
		{"m4.large", "enabled", true},
		{"c4.xlarge", "enabled", true},
		{"i3.large", "enabled", true},
		{"x1e.xlarge", "enabled", true},
		{"g3s.xlarge", "enabled", true},
		{"p3.2xlarge", "enabled", true},
		{"M4.LARGE", "enabled", true},
		{"i3.metal", "enabled", false},
		{"p3dn.24xlarge", "enabled", false},
		{"a1.large", "enabled", false},
		{"t3.micro", "enabled", false},
		{"m5.large", "enabled", false},
		{"", "enabled", false},
		{"t2.micro", "disabled", false},
	} {
		t.Run(fmt.Sprintf("%s/%s", tt.typ, tt.ipv6), func(t *testing.T) {
			f := fake.New()
			img := register(t, f, "img", "")
			check := func(what, op string, err error) {
				t.Helper()
				if !tt.xen {
					if err != nil {
						t.Errorf("%s: %v", what, err)
					}
					return
				}
				wantCode(t, err, op, "UnsupportedOperation", 400)
				if m := message(err); m != xenMessage {
					t.Errorf("%s: message %q", what, m)
				}
			}
			_, err := f.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String(img), MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
				InstanceType: tt.typ, MetadataOptions: &types.InstanceMetadataOptionsRequest{HttpProtocolIpv6: tt.ipv6}})
			check("RunInstances", "RunInstances", err)

			lt := createTemplate(t, f, "xen", &types.RequestLaunchTemplateData{ImageId: aws.String(img), InstanceType: tt.typ,
				MetadataOptions: &types.LaunchTemplateInstanceMetadataOptionsRequest{HttpProtocolIpv6: types.LaunchTemplateInstanceMetadataProtocolIpv6(tt.ipv6)}})
			_, err = f.RunInstances(ctx, &ec2.RunInstancesInput{MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
				LaunchTemplate: &types.LaunchTemplateSpecification{LaunchTemplateId: aws.String(lt)}})
			check("RunInstances from a template", "RunInstances", err)

			_, err = f.Launch(1, func(o *fake.LaunchOptions) {
				o.InstanceType = tt.typ
				o.MetadataOptions = &types.InstanceMetadataOptionsRequest{HttpProtocolIpv6: tt.ipv6}
			})
			check("Launch", "RunInstances", err)

			id := seedOne(t, f, func(o *fake.LaunchOptions) { o.InstanceType = tt.typ })
			_, err = f.ModifyInstanceMetadataOptions(ctx, &ec2.ModifyInstanceMetadataOptionsInput{InstanceId: aws.String(id), HttpProtocolIpv6: tt.ipv6})
			check("ModifyInstanceMetadataOptions", "ModifyInstanceMetadataOptions", err)
			if got := describe(t, f, id).MetadataOptions.HttpProtocolIpv6; tt.xen && got != "disabled" {
				t.Errorf("a refused modification left HttpProtocolIpv6 %s", got)
			}
		})
	}
}

// documentedEnforcedMessage is the message the User Guide documents for a
// launch refused by enforcement, and shows for a modification to optional.
const documentedEnforcedMessage = "You can't launch instances with IMDSv1 because httpTokensEnforced is enabled for this account. " +
	"Either launch the instance with httpTokens=required or contact your account owner to disable httpTokensEnforced " +
	"using the ModifyInstanceMetadataDefaults API or the account settings in the EC2 console."

// TestEnforcementMessages: launches refused by enforcement answer the
// documented message; modifications to optional answer it too, or, with
// Options.ReportedModifyEnforcedMessage, the wording reported elsewhere.
// The code is UnsupportedOperation either way.
func TestEnforcementMessages(t *testing.T) {
	for _, tt := range []struct {
		name           string
		reported       bool
		launch, modify string
	}{
		{"documented", false, documentedEnforcedMessage, documentedEnforcedMessage},
		{"reported", true, documentedEnforcedMessage,
			"You can't set httpTokens to 'optional' because httpTokensEnforced is enabled for this account."},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := fake.New(func(o *fake.Options) { o.ReportedModifyEnforcedMessage = tt.reported })
			id := seedOne(t, f, func(o *fake.LaunchOptions) {
				o.MetadataOptions = &types.InstanceMetadataOptionsRequest{HttpTokens: "required"}
			})
			if _, err := f.ModifyInstanceMetadataDefaults(ctx, &ec2.ModifyInstanceMetadataDefaultsInput{HttpTokensEnforced: "enabled"}); err != nil {
				t.Fatal(err)
			}
			_, err := f.Launch(1, func(o *fake.LaunchOptions) {
				o.MetadataOptions = &types.InstanceMetadataOptionsRequest{HttpTokens: "optional"}
			})
			wantCode(t, err, "RunInstances", "UnsupportedOperation", 400)
			if got := message(err); got != tt.launch {
				t.Errorf("launch: %q, want %q", got, tt.launch)
			}
			_, err = f.ModifyInstanceMetadataOptions(ctx, &ec2.ModifyInstanceMetadataOptionsInput{InstanceId: aws.String(id), HttpTokens: "optional"})
			wantCode(t, err, "ModifyInstanceMetadataOptions", "UnsupportedOperation", 400)
			if got := message(err); got != tt.modify {
				t.Errorf("modify: %q, want %q", got, tt.modify)
			}
		})
	}
}

// TestEnforcementOfModify: under enforcement, EC2 refuses only enabling
// IMDSv1 on an instance that has it disabled (required to optional); an
// instance that already allows IMDSv1 can still be modified in every way.
func TestEnforcementOfModify(t *testing.T) {
	hop := aws.Int32(3)
	for _, tt := range []struct {
		name    string
		current types.HttpTokensState
		req     ec2.ModifyInstanceMetadataOptionsInput
		refused bool
	}{
		{"required to optional", "required", ec2.ModifyInstanceMetadataOptionsInput{HttpTokens: "optional"}, true},
		{"required to optional with other options", "required",
			ec2.ModifyInstanceMetadataOptionsInput{HttpTokens: "optional", HttpPutResponseHopLimit: hop, HttpEndpoint: "enabled"}, true},
		{"required to required", "required", ec2.ModifyInstanceMetadataOptionsInput{HttpTokens: "required"}, false},
		{"required, hop limit only", "required", ec2.ModifyInstanceMetadataOptionsInput{HttpPutResponseHopLimit: hop}, false},
		{"required, endpoint disabled", "required", ec2.ModifyInstanceMetadataOptionsInput{HttpEndpoint: "disabled"}, false},
		{"optional to optional", "optional", ec2.ModifyInstanceMetadataOptionsInput{HttpTokens: "optional"}, false},
		{"optional to optional with hop limit", "optional",
			ec2.ModifyInstanceMetadataOptionsInput{HttpTokens: "optional", HttpPutResponseHopLimit: hop}, false},
		{"optional, tags only", "optional", ec2.ModifyInstanceMetadataOptionsInput{InstanceMetadataTags: "enabled"}, false},
		{"optional to required", "optional", ec2.ModifyInstanceMetadataOptionsInput{HttpTokens: "required"}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := fake.New()
			id := seedOne(t, f, func(o *fake.LaunchOptions) {
				o.MetadataOptions = &types.InstanceMetadataOptionsRequest{HttpTokens: tt.current}
			})
			if _, err := f.ModifyInstanceMetadataDefaults(ctx, &ec2.ModifyInstanceMetadataDefaultsInput{HttpTokensEnforced: "enabled"}); err != nil {
				t.Fatal(err)
			}
			before := describe(t, f, id).MetadataOptions
			in := tt.req
			in.InstanceId = aws.String(id)
			_, err := f.ModifyInstanceMetadataOptions(ctx, &in)
			if !tt.refused {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			wantCode(t, err, "ModifyInstanceMetadataOptions", "UnsupportedOperation", 400)
			var apiErr smithy.APIError
			if errors.As(err, &apiErr); apiErr.ErrorMessage() != documentedEnforcedMessage {
				t.Errorf("message %q, want the documented one", apiErr.ErrorMessage())
			}
			if after := describe(t, f, id).MetadataOptions; show(after) != show(before) {
				t.Errorf("refused call changed %s to %s", show(before), show(after))
			}
		})
	}

	// The stored value counts, even while pending: back to optional is
	// refused as soon as required was asked for.
	synctest.Test(t, func(t *testing.T) {
		f := fake.New(func(o *fake.Options) { o.ApplyDelay = time.Minute })
		id := seedOne(t, f)
		if _, err := f.ModifyInstanceMetadataDefaults(ctx, &ec2.ModifyInstanceMetadataDefaultsInput{HttpTokensEnforced: "enabled"}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.ModifyInstanceMetadataOptions(ctx, &ec2.ModifyInstanceMetadataOptionsInput{InstanceId: aws.String(id), HttpTokens: "required"}); err != nil {
			t.Fatal(err)
		}
		_, err := f.ModifyInstanceMetadataOptions(ctx, &ec2.ModifyInstanceMetadataOptionsInput{InstanceId: aws.String(id), HttpTokens: "optional"})
		wantCode(t, err, "ModifyInstanceMetadataOptions", "UnsupportedOperation", 400)
	})
}

func TestAccountDefaults(t *testing.T) {
	f := fake.New()
	get := func() *types.InstanceMetadataDefaultsResponse {
		t.Helper()
		out, err := f.GetInstanceMetadataDefaults(ctx, &ec2.GetInstanceMetadataDefaultsInput{})
		if err != nil {
			t.Fatal(err)
		}
		if out.AccountLevel.ManagedBy != "account" {
			t.Errorf("ManagedBy = %q, want account", out.AccountLevel.ManagedBy)
		}
		return out.AccountLevel
	}
	modify := func(in ec2.ModifyInstanceMetadataDefaultsInput) {
		t.Helper()
		out, err := f.ModifyInstanceMetadataDefaults(ctx, &in)
		if err != nil {
			t.Fatal(err)
		}
		if !aws.ToBool(out.Return) {
			t.Error("Return = false")
		}
	}

	if d := get(); d.HttpTokens != "" || d.HttpPutResponseHopLimit != nil || d.HttpEndpoint != "" || d.InstanceMetadataTags != "" || d.HttpTokensEnforced != "" {
		t.Errorf("initial defaults %+v, want none", d)
	}
	modify(ec2.ModifyInstanceMetadataDefaultsInput{HttpTokens: "required", HttpPutResponseHopLimit: aws.Int32(2),
		HttpEndpoint: "enabled", InstanceMetadataTags: "disabled", HttpTokensEnforced: "enabled"})
	modify(ec2.ModifyInstanceMetadataDefaultsInput{HttpEndpoint: "disabled"}) // the rest is kept
	d := get()
	if d.HttpTokens != "required" || aws.ToInt32(d.HttpPutResponseHopLimit) != 2 || d.HttpEndpoint != "disabled" ||
		d.InstanceMetadataTags != "disabled" || d.HttpTokensEnforced != "enabled" {
		t.Errorf("after modify: %+v", d)
	}
	modify(ec2.ModifyInstanceMetadataDefaultsInput{HttpTokens: "no-preference", HttpPutResponseHopLimit: aws.Int32(-1),
		HttpEndpoint: "no-preference", InstanceMetadataTags: "no-preference", HttpTokensEnforced: "no-preference"})
	if d := get(); d.HttpTokens != "" || d.HttpPutResponseHopLimit != nil || d.HttpEndpoint != "" || d.InstanceMetadataTags != "" || d.HttpTokensEnforced != "" {
		t.Errorf("after clearing: %+v, want none", d)
	}

	// The response is a copy.
	modify(ec2.ModifyInstanceMetadataDefaultsInput{HttpPutResponseHopLimit: aws.Int32(3)})
	*get().HttpPutResponseHopLimit = 9
	if h := aws.ToInt32(get().HttpPutResponseHopLimit); h != 3 {
		t.Errorf("hop limit %d after mutating a response, want 3", h)
	}
}

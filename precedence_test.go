package imdsopts_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/google/go-cmp/cmp"

	"github.com/imdsopts/imdsopts"
	"github.com/imdsopts/imdsopts/fake"
	"github.com/imdsopts/imdsopts/internal/testenv"
)

const (
	v2     = types.HttpTokensStateRequired
	v1orV2 = types.HttpTokensStateOptional
	amiV2  = types.ImdsSupportValuesV20
	noAMI  = types.ImdsSupportValues("")
	unset  = types.HttpTokensState("")
)

// TestResolveHTTPTokensTable is the HttpTokens table of the EC2 User Guide's
// "Order of precedence for instance metadata options", row for row. "any"
// account rows are tried with every account value.
func TestResolveHTTPTokensTable(t *testing.T) {
	any := []types.HttpTokensState{"", v2, v1orV2}
	rows := []struct {
		ami     types.ImdsSupportValues
		launch  types.HttpTokensState
		account []types.HttpTokensState // "" is no preference
		want    types.HttpTokensState
		source  imdsopts.Source
	}{
		{amiV2, v2, any, v2, imdsopts.SourceLaunch},
		{amiV2, v1orV2, any, v1orV2, imdsopts.SourceLaunch},
		{amiV2, unset, []types.HttpTokensState{""}, v2, imdsopts.SourceAMI},
		{amiV2, unset, []types.HttpTokensState{v2}, v2, imdsopts.SourceAccount},
		{amiV2, unset, []types.HttpTokensState{v1orV2}, v1orV2, imdsopts.SourceAccount},
		{noAMI, v2, any, v2, imdsopts.SourceLaunch},
		{noAMI, v1orV2, any, v1orV2, imdsopts.SourceLaunch},
		{noAMI, unset, []types.HttpTokensState{""}, v1orV2, imdsopts.SourceDefault},
		{noAMI, unset, []types.HttpTokensState{v2}, v2, imdsopts.SourceAccount},
		{noAMI, unset, []types.HttpTokensState{v1orV2}, v1orV2, imdsopts.SourceAccount},
	}
	for i, r := range rows {
		for _, acct := range r.account {
			t.Run(fmt.Sprintf("row%d/ami=%q/launch=%q/account=%q", i+1, r.ami, r.launch, acct), func(t *testing.T) {
				var opts []imdsopts.Option
				if r.launch != "" {
					opts = append(opts, imdsopts.HTTPTokens(r.launch))
				}
				s, err := imdsopts.New(opts...)
				if err != nil {
					t.Fatal(err)
				}
				e, err := imdsopts.Resolve(imdsopts.Launch{Options: s, ImdsSupport: r.ami,
					Account: &types.InstanceMetadataDefaultsResponse{HttpTokens: acct}})
				if err != nil {
					t.Fatal(err)
				}
				if e.HTTPTokens.Value != r.want || e.HTTPTokens.Source != r.source {
					t.Errorf("HttpTokens = %v, want %v (%v)", e.HTTPTokens, r.want, r.source)
				}
			})
		}
	}
}

// TestResolveTemplateLayer: the launch template sits between the launch
// parameters, which override it field by field, and the account default.
// Every row of the AWS table above holds with a template that gives no
// HttpTokens; these rows add the template's own.
func TestResolveTemplateLayer(t *testing.T) {
	any := []types.HttpTokensState{"", v2, v1orV2}
	rows := []struct {
		ami      types.ImdsSupportValues
		launch   types.HttpTokensState
		template types.LaunchTemplateHttpTokensState
		account  []types.HttpTokensState
		want     types.HttpTokensState
		source   imdsopts.Source
	}{
		{amiV2, unset, "required", any, v2, imdsopts.SourceTemplate},
		{amiV2, unset, "optional", any, v1orV2, imdsopts.SourceTemplate},
		{noAMI, unset, "required", any, v2, imdsopts.SourceTemplate},
		{noAMI, unset, "optional", any, v1orV2, imdsopts.SourceTemplate},
		{amiV2, v2, "optional", any, v2, imdsopts.SourceLaunch},
		{noAMI, v1orV2, "required", any, v1orV2, imdsopts.SourceLaunch},
		{amiV2, unset, "", []types.HttpTokensState{""}, v2, imdsopts.SourceAMI},
		{noAMI, unset, "", []types.HttpTokensState{""}, v1orV2, imdsopts.SourceDefault},
		{noAMI, unset, "", []types.HttpTokensState{v2}, v2, imdsopts.SourceAccount},
	}
	for i, r := range rows {
		for _, acct := range r.account {
			t.Run(fmt.Sprintf("row%d/ami=%q/launch=%q/template=%q/account=%q", i+1, r.ami, r.launch, r.template, acct), func(t *testing.T) {
				var opts []imdsopts.Option
				if r.launch != "" {
					opts = append(opts, imdsopts.HTTPTokens(r.launch))
				}
				e, err := imdsopts.Resolve(imdsopts.Launch{Options: testenv.MustNew(t, opts...), ImdsSupport: r.ami,
					Template: &types.LaunchTemplateInstanceMetadataOptions{HttpTokens: r.template},
					Account:  &types.InstanceMetadataDefaultsResponse{HttpTokens: acct}})
				if err != nil {
					t.Fatal(err)
				}
				if e.HTTPTokens.Value != r.want || e.HTTPTokens.Source != r.source {
					t.Errorf("HttpTokens = %v, want %v (%v)", e.HTTPTokens, r.want, r.source)
				}
			})
		}
	}

	// The other four fields, one by one: the launch beats the template,
	// which beats the account default and the AMI.
	tmpl := &types.LaunchTemplateInstanceMetadataOptions{HttpPutResponseHopLimit: aws.Int32(3), HttpEndpoint: "disabled",
		HttpProtocolIpv6: "disabled", InstanceMetadataTags: "enabled"}
	acct := &types.InstanceMetadataDefaultsResponse{HttpPutResponseHopLimit: aws.Int32(5), HttpEndpoint: "enabled", InstanceMetadataTags: "disabled"}
	e, err := imdsopts.Resolve(imdsopts.Launch{Template: tmpl, Account: acct, ImdsSupport: amiV2,
		Options: testenv.MustNew(t, imdsopts.InstanceMetadataTags(types.InstanceMetadataTagsStateDisabled))})
	if err != nil {
		t.Fatal(err)
	}
	want := imdsopts.Effective{
		HTTPTokens:           imdsopts.Value[types.HttpTokensState]{Value: v2, Source: imdsopts.SourceAMI},
		HopLimit:             imdsopts.Value[int32]{Value: 3, Source: imdsopts.SourceTemplate},
		HTTPEndpoint:         imdsopts.Value[types.InstanceMetadataEndpointState]{Value: "disabled", Source: imdsopts.SourceTemplate},
		HTTPProtocolIPv6:     imdsopts.Value[types.InstanceMetadataProtocolState]{Value: "disabled", Source: imdsopts.SourceTemplate},
		InstanceMetadataTags: imdsopts.Value[types.InstanceMetadataTagsState]{Value: "disabled", Source: imdsopts.SourceLaunch},
	}
	if diff := cmp.Diff(want, e); diff != "" {
		t.Errorf("Resolve (-want +got):\n%s", diff)
	}

	// Enforcement judges the result, whichever layer gave it.
	_, err = imdsopts.Resolve(imdsopts.Launch{Template: &types.LaunchTemplateInstanceMetadataOptions{HttpTokens: "optional"},
		ImdsSupport: amiV2, Account: &types.InstanceMetadataDefaultsResponse{HttpTokens: v2, HttpTokensEnforced: "enabled"}})
	if !errors.Is(err, imdsopts.ErrIMDSv2Enforced) {
		t.Errorf("template optional under enforcement: %v, want ErrIMDSv2Enforced", err)
	}

	// A template value EC2 does not define is invalid input, named as the
	// template's.
	_, err = imdsopts.Resolve(imdsopts.Launch{Template: &types.LaunchTemplateInstanceMetadataOptions{HttpTokens: "Required",
		HttpPutResponseHopLimit: aws.Int32(0)}})
	if !errors.Is(err, imdsopts.ErrInvalid) || !strings.Contains(err.Error(), "launch template") ||
		!strings.Contains(err.Error(), "HttpTokens") || !strings.Contains(err.Error(), "HttpPutResponseHopLimit 0") {
		t.Errorf("invalid template values: %v, want ErrInvalid naming both fields of the launch template", err)
	}
}

// TestResolveAgreesWithFakeTemplateLaunch checks Resolve's template layer
// against the fake's RunInstances with a launch template, whose
// MetadataOptions the request overrides field by field.
func TestResolveAgreesWithFakeTemplateLaunch(t *testing.T) {
	ctx := t.Context()
	n := 0
	for _, ami := range []types.ImdsSupportValues{"", amiV2} {
		for _, tmplTokens := range []types.LaunchTemplateHttpTokensState{"", "required", "optional"} {
			for _, tmplHop := range []int32{0, 4} {
				for _, launchTokens := range []types.HttpTokensState{"", v2, v1orV2} {
					for _, acctTokens := range []types.MetadataDefaultHttpTokensState{"no-preference", "required", "optional"} {
						for _, enforced := range []types.DefaultHttpTokensEnforcedState{"no-preference", "enabled"} {
							f := fake.New()
							img, err := f.RegisterImage(ctx, &ec2.RegisterImageInput{Name: aws.String("img"), ImdsSupport: ami})
							if err != nil {
								t.Fatal(err)
							}
							md := &types.LaunchTemplateInstanceMetadataOptionsRequest{HttpTokens: tmplTokens, HttpEndpoint: "enabled"}
							tmpl := &types.LaunchTemplateInstanceMetadataOptions{HttpTokens: tmplTokens, HttpEndpoint: "enabled"}
							if tmplHop != 0 {
								md.HttpPutResponseHopLimit, tmpl.HttpPutResponseHopLimit = aws.Int32(tmplHop), aws.Int32(tmplHop)
							}
							n++
							lt, err := f.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String(fmt.Sprintf("lt-%d", n)),
								LaunchTemplateData: &types.RequestLaunchTemplateData{ImageId: img.ImageId, MetadataOptions: md}})
							if err != nil {
								t.Fatal(err)
							}
							if _, err := f.ModifyInstanceMetadataDefaults(ctx, &ec2.ModifyInstanceMetadataDefaultsInput{
								HttpTokens: acctTokens, HttpTokensEnforced: enforced}); err != nil {
								t.Fatal(err)
							}
							var opts []imdsopts.Option
							if launchTokens != "" {
								opts = append(opts, imdsopts.HTTPTokens(launchTokens))
							}
							s := testenv.MustNew(t, opts...)
							l, err := imdsopts.LaunchForImage(ctx, f, aws.ToString(img.ImageId), s)
							if err != nil {
								t.Fatal(err)
							}
							l.Template = tmpl
							e, resolveErr := imdsopts.Resolve(l)
							in := &ec2.RunInstancesInput{MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
								LaunchTemplate: &types.LaunchTemplateSpecification{LaunchTemplateId: lt.LaunchTemplate.LaunchTemplateId}}
							if !s.IsZero() {
								in.MetadataOptions = s.LaunchOptions()
							}
							out, runErr := f.RunInstances(ctx, in)
							name := fmt.Sprintf("ami=%q template=%q/%d launch=%q account=%q enforced=%q", ami, tmplTokens, tmplHop, launchTokens, acctTokens, enforced)
							if (resolveErr != nil) != (runErr != nil) {
								t.Errorf("%s: Resolve error %v, launch error %v", name, resolveErr, runErr)
								continue
							}
							if runErr != nil {
								continue
							}
							if diff := cmp.Diff(out.Instances[0].MetadataOptions, e.Options(), testenv.IgnoreSerde); diff != "" {
								t.Errorf("%s: fake launch vs Resolve (-fake +Resolve):\n%s", name, diff)
							}
						}
					}
				}
			}
		}
	}
}

func TestResolveWorkedExamples(t *testing.T) {
	tests := []struct {
		name    string
		launch  imdsopts.Launch
		want    imdsopts.Effective
		wantErr error
	}{{
		name: "account hop limit 1 beats the AMI's 2",
		launch: imdsopts.Launch{ImdsSupport: amiV2,
			Account: &types.InstanceMetadataDefaultsResponse{HttpPutResponseHopLimit: aws.Int32(1)}},
		want: effective(v2, imdsopts.SourceAMI, 1, imdsopts.SourceAccount),
	}, {
		name: "hop limit no-preference (-1) with a v2.0 AMI is 2",
		launch: imdsopts.Launch{ImdsSupport: amiV2,
			Account: &types.InstanceMetadataDefaultsResponse{HttpPutResponseHopLimit: aws.Int32(-1)}},
		want: effective(v2, imdsopts.SourceAMI, 2, imdsopts.SourceAMI),
	}, {
		name: "hop limit no-preference (absent) without ImdsSupport is 1",
		launch: imdsopts.Launch{
			Account: &types.InstanceMetadataDefaultsResponse{}},
		want: effective(v1orV2, imdsopts.SourceDefault, 1, imdsopts.SourceDefault),
	}, {
		name:   "no account defaults at all",
		launch: imdsopts.Launch{ImdsSupport: amiV2},
		want:   effective(v2, imdsopts.SourceAMI, 2, imdsopts.SourceAMI),
	}, {
		name: "launch beats account for every field",
		launch: imdsopts.Launch{
			Options: testenv.MustNew(t, imdsopts.HTTPTokens(v1orV2), imdsopts.HopLimit(3),
				imdsopts.HTTPEndpoint(types.InstanceMetadataEndpointStateEnabled),
				imdsopts.HTTPProtocolIPv6(types.InstanceMetadataProtocolStateEnabled),
				imdsopts.InstanceMetadataTags(types.InstanceMetadataTagsStateEnabled)),
			ImdsSupport: amiV2,
			Account: &types.InstanceMetadataDefaultsResponse{HttpTokens: v2, HttpPutResponseHopLimit: aws.Int32(5),
				HttpEndpoint: types.InstanceMetadataEndpointStateDisabled, InstanceMetadataTags: types.InstanceMetadataTagsStateDisabled}},
		want: imdsopts.Effective{
			HTTPTokens:           imdsopts.Value[types.HttpTokensState]{Value: v1orV2, Source: imdsopts.SourceLaunch},
			HopLimit:             imdsopts.Value[int32]{Value: 3, Source: imdsopts.SourceLaunch},
			HTTPEndpoint:         imdsopts.Value[types.InstanceMetadataEndpointState]{Value: "enabled", Source: imdsopts.SourceLaunch},
			HTTPProtocolIPv6:     imdsopts.Value[types.InstanceMetadataProtocolState]{Value: "enabled", Source: imdsopts.SourceLaunch},
			InstanceMetadataTags: imdsopts.Value[types.InstanceMetadataTagsState]{Value: "enabled", Source: imdsopts.SourceLaunch},
		},
	}, {
		name: "account endpoint and tags beat the defaults",
		launch: imdsopts.Launch{Account: &types.InstanceMetadataDefaultsResponse{
			HttpEndpoint: types.InstanceMetadataEndpointStateDisabled, InstanceMetadataTags: types.InstanceMetadataTagsStateEnabled}},
		want: func() imdsopts.Effective {
			e := effective(v1orV2, imdsopts.SourceDefault, 1, imdsopts.SourceDefault)
			e.HTTPEndpoint = imdsopts.Value[types.InstanceMetadataEndpointState]{Value: "disabled", Source: imdsopts.SourceAccount}
			e.InstanceMetadataTags = imdsopts.Value[types.InstanceMetadataTagsState]{Value: "enabled", Source: imdsopts.SourceAccount}
			return e
		}(),
	}, {
		name: "enforcement refuses optional from the launch",
		launch: imdsopts.Launch{Options: testenv.MustNew(t, imdsopts.HTTPTokens(v1orV2)),
			Account: &types.InstanceMetadataDefaultsResponse{HttpTokensEnforced: types.HttpTokensEnforcedStateEnabled}},
		want:    effective(v1orV2, imdsopts.SourceLaunch, 1, imdsopts.SourceDefault),
		wantErr: imdsopts.ErrIMDSv2Enforced,
	}, {
		name: "enforcement refuses the built-in optional",
		launch: imdsopts.Launch{
			Account: &types.InstanceMetadataDefaultsResponse{HttpTokensEnforced: types.HttpTokensEnforcedStateEnabled}},
		want:    effective(v1orV2, imdsopts.SourceDefault, 1, imdsopts.SourceDefault),
		wantErr: imdsopts.ErrIMDSv2Enforced,
	}, {
		name: "enforcement passes required from the AMI",
		launch: imdsopts.Launch{ImdsSupport: amiV2,
			Account: &types.InstanceMetadataDefaultsResponse{HttpTokensEnforced: types.HttpTokensEnforcedStateEnabled}},
		want: effective(v2, imdsopts.SourceAMI, 2, imdsopts.SourceAMI),
	}, {
		name: "enforcement disabled lets optional through",
		launch: imdsopts.Launch{
			Account: &types.InstanceMetadataDefaultsResponse{HttpTokensEnforced: types.HttpTokensEnforcedStateDisabled}},
		want: effective(v1orV2, imdsopts.SourceDefault, 1, imdsopts.SourceDefault),
	}, {
		name:    "unknown ImdsSupport",
		launch:  imdsopts.Launch{ImdsSupport: "v3.0"},
		wantErr: imdsopts.ErrInvalid,
	}, {
		name:    "account hop limit out of range",
		launch:  imdsopts.Launch{Account: &types.InstanceMetadataDefaultsResponse{HttpPutResponseHopLimit: aws.Int32(65)}},
		wantErr: imdsopts.ErrInvalid,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := imdsopts.Resolve(tt.launch)
			if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Fatalf("error = %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr == imdsopts.ErrInvalid {
				return
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Resolve (-want +got):\n%s", diff)
			}
		})
	}
}

// effective is EC2's defaults for the three options the AMI never touches,
// with the given tokens and hop limit.
func effective(tokens types.HttpTokensState, ts imdsopts.Source, hop int32, hs imdsopts.Source) imdsopts.Effective {
	return imdsopts.Effective{
		HTTPTokens:           imdsopts.Value[types.HttpTokensState]{Value: tokens, Source: ts},
		HopLimit:             imdsopts.Value[int32]{Value: hop, Source: hs},
		HTTPEndpoint:         imdsopts.Value[types.InstanceMetadataEndpointState]{Value: "enabled", Source: imdsopts.SourceDefault},
		HTTPProtocolIPv6:     imdsopts.Value[types.InstanceMetadataProtocolState]{Value: "disabled", Source: imdsopts.SourceDefault},
		InstanceMetadataTags: imdsopts.Value[types.InstanceMetadataTagsState]{Value: "disabled", Source: imdsopts.SourceDefault},
	}
}

func TestSourceString(t *testing.T) {
	for s, want := range map[imdsopts.Source]string{
		imdsopts.SourceLaunch: "launch", imdsopts.SourceTemplate: "template", imdsopts.SourceAccount: "account",
		imdsopts.SourceAMI: "ami", imdsopts.SourceDefault: "default", 0: "Source(0)",
	} {
		if got := s.String(); got != want {
			t.Errorf("Source(%d).String() = %q, want %q", int(s), got, want)
		}
	}
}

// TestResolveAgreesWithFakeLaunch checks Resolve against the fake's own,
// independent model of a launch, over every combination of the values that
// decide HttpTokens and the hop limit, with and without enforcement.
func TestResolveAgreesWithFakeLaunch(t *testing.T) {
	ctx := t.Context()
	for _, ami := range []types.ImdsSupportValues{"", amiV2} {
		for _, launchTokens := range []types.HttpTokensState{"", v2, v1orV2} {
			for _, acctTokens := range []types.MetadataDefaultHttpTokensState{"no-preference", "required", "optional"} {
				for _, launchHop := range []int32{0, 3} {
					for _, acctHop := range []int32{-1, 1, 5} {
						for _, enforced := range []types.DefaultHttpTokensEnforcedState{"no-preference", "enabled"} {
							f := fake.New()
							img, err := f.RegisterImage(ctx, &ec2.RegisterImageInput{Name: aws.String("img"), ImdsSupport: ami})
							if err != nil {
								t.Fatal(err)
							}
							if _, err := f.ModifyInstanceMetadataDefaults(ctx, &ec2.ModifyInstanceMetadataDefaultsInput{
								HttpTokens: acctTokens, HttpPutResponseHopLimit: aws.Int32(acctHop), HttpTokensEnforced: enforced}); err != nil {
								t.Fatal(err)
							}
							var opts []imdsopts.Option
							if launchTokens != "" {
								opts = append(opts, imdsopts.HTTPTokens(launchTokens))
							}
							if launchHop != 0 {
								opts = append(opts, imdsopts.HopLimit(launchHop))
							}
							s := testenv.MustNew(t, opts...)
							l, err := imdsopts.LaunchForImage(ctx, f, aws.ToString(img.ImageId), s)
							if err != nil {
								t.Fatal(err)
							}
							e, resolveErr := imdsopts.Resolve(l)
							out, runErr := f.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: img.ImageId,
								MinCount: aws.Int32(1), MaxCount: aws.Int32(1), MetadataOptions: s.LaunchOptions()})
							name := fmt.Sprintf("ami=%q launch=%q/%d account=%q/%d enforced=%q", ami, launchTokens, launchHop, acctTokens, acctHop, enforced)
							if (resolveErr != nil) != (runErr != nil) {
								t.Errorf("%s: Resolve error %v, launch error %v", name, resolveErr, runErr)
								continue
							}
							if runErr != nil {
								if !errors.Is(resolveErr, imdsopts.ErrIMDSv2Enforced) {
									t.Errorf("%s: Resolve error %v, want ErrIMDSv2Enforced", name, resolveErr)
								}
								continue
							}
							if diff := cmp.Diff(out.Instances[0].MetadataOptions, e.Options(), testenv.IgnoreSerde); diff != "" {
								t.Errorf("%s: fake launch vs Resolve (-fake +Resolve):\n%s", name, diff)
							}
						}
					}
				}
			}
		}
	}
}

func TestLaunchForImage(t *testing.T) {
	ctx := t.Context()
	f := fake.New()
	img, err := f.RegisterImage(ctx, &ec2.RegisterImageInput{Name: aws.String("al2023"), ImdsSupport: amiV2})
	if err != nil {
		t.Fatal(err)
	}
	imageID := aws.ToString(img.ImageId)
	s := testenv.MustNew(t, imdsopts.HopLimit(3))
	l, err := imdsopts.LaunchForImage(ctx, f, imageID, s)
	if err != nil {
		t.Fatal(err)
	}
	if l.ImdsSupport != amiV2 || l.Options != s || l.Account == nil {
		t.Errorf("LaunchForImage = %+v", l)
	}

	// A failed defaults call is an error, never "no preference".
	f.FailNext("GetInstanceMetadataDefaults", 1, fake.NewAPIError(500, "InternalError", "An internal error has occurred."))
	if _, err := imdsopts.LaunchForImage(ctx, f, imageID, s); testenv.APICode(err) != "InternalError" {
		t.Errorf("LaunchForImage with a failing defaults call: %v, want the InternalError", err)
	}
	if _, err := imdsopts.LaunchForImage(ctx, f, "ami-00000000000000bad", s); testenv.APICode(err) != "InvalidAMIID.NotFound" {
		t.Errorf("LaunchForImage with an unknown image: %v, want InvalidAMIID.NotFound", err)
	}
}

package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imdsopts/imdsopts/account"
	"github.com/imdsopts/imdsopts/fake"
	"github.com/imdsopts/imdsopts/fleet"
)

// acct is an account on the fakes for the account-wide subcommands: EC2,
// Auto Scaling launching through it, and CloudWatch deriving IMDSv1 use
// from its instances' history. Create it inside a synctest bubble when
// the test waits: the fakes' clocks are the bubble's.
type acct struct {
	ec2   *recordingEC2
	as    *fake.AutoScaling
	cw    *fake.CloudWatch
	image string
}

// recordingEC2 is the EC2 fake, recording the inputs of the calls that
// change the account, so that tests can say what was sent.
type recordingEC2 struct {
	*fake.EC2
	mu     sync.Mutex
	inputs []any
	// beforeListTemplates, when set, runs before each
	// DescribeLaunchTemplates call, with the number of the call (1 for the
	// first): a test changes the account between a plan and its apply.
	beforeListTemplates func(n int)
	listed              int
}

func (r *recordingEC2) DescribeLaunchTemplates(ctx context.Context, in *ec2.DescribeLaunchTemplatesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeLaunchTemplatesOutput, error) {
	r.mu.Lock()
	r.listed++
	n, fn := r.listed, r.beforeListTemplates
	r.mu.Unlock()
	if fn != nil {
		fn(n)
	}
	return r.EC2.DescribeLaunchTemplates(ctx, in, optFns...)
}

func (r *recordingEC2) record(in any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.inputs = append(r.inputs, in)
}

// sent returns the inputs recorded, in order.
func (r *recordingEC2) sent() []any {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]any(nil), r.inputs...)
}

func (r *recordingEC2) ModifyInstanceMetadataDefaults(ctx context.Context, in *ec2.ModifyInstanceMetadataDefaultsInput, optFns ...func(*ec2.Options)) (*ec2.ModifyInstanceMetadataDefaultsOutput, error) {
	r.record(in)
	return r.EC2.ModifyInstanceMetadataDefaults(ctx, in, optFns...)
}

func (r *recordingEC2) CreateLaunchTemplateVersion(ctx context.Context, in *ec2.CreateLaunchTemplateVersionInput, optFns ...func(*ec2.Options)) (*ec2.CreateLaunchTemplateVersionOutput, error) {
	r.record(in)
	return r.EC2.CreateLaunchTemplateVersion(ctx, in, optFns...)
}

func (r *recordingEC2) ModifyLaunchTemplate(ctx context.Context, in *ec2.ModifyLaunchTemplateInput, optFns ...func(*ec2.Options)) (*ec2.ModifyLaunchTemplateOutput, error) {
	r.record(in)
	return r.EC2.ModifyLaunchTemplate(ctx, in, optFns...)
}

func (r *recordingEC2) ModifyImageAttribute(ctx context.Context, in *ec2.ModifyImageAttributeInput, optFns ...func(*ec2.Options)) (*ec2.ModifyImageAttributeOutput, error) {
	r.record(in)
	return r.EC2.ModifyImageAttribute(ctx, in, optFns...)
}

func newAcct(t testing.TB, optFns ...func(*fake.Options)) *acct {
	t.Helper()
	f := fake.New(append([]func(*fake.Options){func(o *fake.Options) { o.ApplyDelay = 0 }}, optFns...)...)
	e := &acct{ec2: &recordingEC2{EC2: f}, as: fake.NewAutoScaling(f), cw: fake.NewCloudWatch(func(o *fake.CloudWatchOptions) { o.EC2 = f })}
	e.image = e.registerImage(t, "app", "")
	return e
}

func (e *acct) registerImage(t testing.TB, name string, imds types.ImdsSupportValues) string {
	t.Helper()
	out, err := e.ec2.RegisterImage(context.Background(), &ec2.RegisterImageInput{Name: aws.String(name), ImdsSupport: imds})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.ImageId)
}

// template creates a launch template of e's image whose versions give
// HttpTokens tokens[i] (version 1 the default; "" gives none), and returns
// its ID.
func (e *acct) template(t testing.TB, name string, tokens ...types.LaunchTemplateHttpTokensState) string {
	t.Helper()
	data := func(v types.LaunchTemplateHttpTokensState) *types.RequestLaunchTemplateData {
		d := &types.RequestLaunchTemplateData{ImageId: aws.String(e.image), InstanceType: types.InstanceTypeT3Micro}
		if v != "" {
			d.MetadataOptions = &types.LaunchTemplateInstanceMetadataOptionsRequest{HttpTokens: v}
		}
		return d
	}
	out, err := e.ec2.EC2.CreateLaunchTemplate(context.Background(), &ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String(name),
		LaunchTemplateData: data(tokens[0])})
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(out.LaunchTemplate.LaunchTemplateId)
	for _, v := range tokens[1:] {
		if _, err := e.ec2.EC2.CreateLaunchTemplateVersion(context.Background(), &ec2.CreateLaunchTemplateVersionInput{
			LaunchTemplateId: aws.String(id), LaunchTemplateData: data(v)}); err != nil {
			t.Fatal(err)
		}
	}
	return id
}

// group creates an Auto Scaling group launching version (a selector) of
// template id, with desired instances.
func (e *acct) group(t testing.TB, name, id, version string, desired int32) {
	t.Helper()
	if _, err := e.as.CreateAutoScalingGroup(context.Background(), &autoscaling.CreateAutoScalingGroupInput{
		AutoScalingGroupName: aws.String(name), MinSize: aws.Int32(0), MaxSize: aws.Int32(desired + 10), DesiredCapacity: aws.Int32(desired),
		AvailabilityZones: []string{"us-east-1a"},
		LaunchTemplate:    &astypes.LaunchTemplateSpecification{LaunchTemplateId: aws.String(id), Version: aws.String(version)},
	}); err != nil {
		t.Fatal(err)
	}
}

// setDefaults sets the account defaults directly on the fake.
func (e *acct) setDefaults(t testing.TB, in *ec2.ModifyInstanceMetadataDefaultsInput) {
	t.Helper()
	if _, err := e.ec2.EC2.ModifyInstanceMetadataDefaults(context.Background(), in); err != nil {
		t.Fatal(err)
	}
}

// defaults returns the account defaults as the fake has them.
func (e *acct) defaults(t testing.TB) *types.InstanceMetadataDefaultsResponse {
	t.Helper()
	out, err := e.ec2.EC2.GetInstanceMetadataDefaults(context.Background(), &ec2.GetInstanceMetadataDefaultsInput{})
	if err != nil {
		t.Fatal(err)
	}
	return out.AccountLevel
}

// run runs the command in-process against the fakes. A nil e fails the
// test when the command builds any client.
func (e *acct) run(t testing.TB, ctx context.Context, args ...string) result {
	t.Helper()
	return e.runIO(t, ctx, false, "", args...)
}

// runIO is run with a terminal or not, and standard input.
func (e *acct) runIO(t testing.TB, ctx context.Context, tty bool, stdin string, args ...string) result {
	t.Helper()
	built := func(what string) {
		t.Errorf("imdsopts %s: built %s, but should have stopped before", strings.Join(args, " "), what)
	}
	newAPI := func(context.Context, *globals, io.Writer) (API, error) {
		if e == nil {
			built("an EC2 client")
			return nil, io.EOF
		}
		return e.ec2, nil
	}
	newMetrics := func(context.Context, *globals, io.Writer) (fleet.MetricsAPI, error) {
		if e == nil {
			built("a CloudWatch client")
			return nil, io.EOF
		}
		return e.cw, nil
	}
	newAS := func(context.Context, *globals, io.Writer) (account.AutoScalingAPI, error) {
		if e == nil {
			built("an Auto Scaling client")
			return nil, io.EOF
		}
		return e.as, nil
	}
	var stdout, stderr bytes.Buffer
	code := runWith(ctx, args, strings.NewReader(stdin), &stdout, &stderr, noEnv, newAPI, withMetrics(newMetrics), withAutoScaling(newAS),
		withTerminal(tty))
	return result{code, stdout.String(), stderr.String()}
}

// modifyCalls counts the ModifyInstanceMetadataDefaults calls the fake
// answered, dry runs included.
func (e *acct) modifyCalls() int { return e.ec2.Calls("ModifyInstanceMetadataDefaults") }

// describeDefaults describes what a ModifyInstanceMetadataDefaults input
// sends: "HttpTokens=required HttpTokensEnforced=enabled".
func describeDefaults(in *ec2.ModifyInstanceMetadataDefaultsInput) string {
	var parts []string
	add := func(k, v string) {
		if v != "" {
			parts = append(parts, k+"="+v)
		}
	}
	add("HttpTokens", string(in.HttpTokens))
	if in.HttpPutResponseHopLimit != nil {
		add("HttpPutResponseHopLimit", fmt.Sprint(*in.HttpPutResponseHopLimit))
	}
	add("HttpEndpoint", string(in.HttpEndpoint))
	add("InstanceMetadataTags", string(in.InstanceMetadataTags))
	add("HttpTokensEnforced", string(in.HttpTokensEnforced))
	if in.DryRun != nil {
		add("DryRun", fmt.Sprint(*in.DryRun))
	}
	return strings.Join(parts, " ")
}

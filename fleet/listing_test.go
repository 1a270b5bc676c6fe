package fleet_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imdsopts/imdsopts"
	acct "github.com/imdsopts/imdsopts/account"
	"github.com/imdsopts/imdsopts/fake"
	"github.com/imdsopts/imdsopts/fleet"
	"github.com/imdsopts/imdsopts/internal/testenv"
)

// endless answers the listing of op with its first page again and again,
// each time with a page token not seen before: an endpoint whose listing
// would never end.
type endless struct {
	*fake.EC2
	as    *fake.AutoScaling
	op    string
	calls atomic.Int64
}

// next returns the token of the page after this one, when op is o.
func (e *endless) next(o string, token *string) (first, next *string) {
	if o != e.op {
		return token, nil
	}
	n := e.calls.Add(1)
	return nil, aws.String(fmt.Sprintf("page-%d", n))
}

func (e *endless) DescribeInstances(ctx context.Context, in *ec2.DescribeInstancesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error) {
	c := *in
	var next *string
	c.NextToken, next = e.next("DescribeInstances", in.NextToken)
	out, err := e.EC2.DescribeInstances(ctx, &c, optFns...)
	if err == nil && next != nil {
		out.NextToken = next
	}
	return out, err
}

func (e *endless) DescribeLaunchTemplates(ctx context.Context, in *ec2.DescribeLaunchTemplatesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeLaunchTemplatesOutput, error) {
	c := *in
	var next *string
	c.NextToken, next = e.next("DescribeLaunchTemplates", in.NextToken)
	out, err := e.EC2.DescribeLaunchTemplates(ctx, &c, optFns...)
	if err == nil && next != nil {
		out.NextToken = next
	}
	return out, err
}

func (e *endless) DescribeLaunchTemplateVersions(ctx context.Context, in *ec2.DescribeLaunchTemplateVersionsInput, optFns ...func(*ec2.Options)) (*ec2.DescribeLaunchTemplateVersionsOutput, error) {
	c := *in
	var next *string
	c.NextToken, next = e.next("DescribeLaunchTemplateVersions", in.NextToken)
	out, err := e.EC2.DescribeLaunchTemplateVersions(ctx, &c, optFns...)
	if err == nil && next != nil {
		out.NextToken = next
	}
	return out, err
}

func (e *endless) DescribeAutoScalingGroups(ctx context.Context, in *autoscaling.DescribeAutoScalingGroupsInput, optFns ...func(*autoscaling.Options)) (*autoscaling.DescribeAutoScalingGroupsOutput, error) {
	c := *in
	var next *string
	c.NextToken, next = e.next("DescribeAutoScalingGroups", in.NextToken)
	out, err := e.as.DescribeAutoScalingGroups(ctx, &c, optFns...)
	if err == nil && next != nil {
		out.NextToken = next
	}
	return out, err
}

func (e *endless) DescribeLaunchConfigurations(ctx context.Context, in *autoscaling.DescribeLaunchConfigurationsInput, optFns ...func(*autoscaling.Options)) (*autoscaling.DescribeLaunchConfigurationsOutput, error) {
	c := *in
	var next *string
	c.NextToken, next = e.next("DescribeLaunchConfigurations", in.NextToken)
	out, err := e.as.DescribeLaunchConfigurations(ctx, &c, optFns...)
	if err == nil && next != nil {
		out.NextToken = next
	}
	return out, err
}

// TestListingsAreBounded: a listing whose every page has a fresh page
// token ends with an error naming the operation and the bound, after that
// many pages, in every listing. Before, only a token answered twice was
// caught: plan paged such an endpoint for ever.
func TestListingsAreBounded(t *testing.T) {
	tests := []struct {
		op    string
		pages int64
		run   func(ctx context.Context, w *testenv.World, e *endless) error
	}{
		{"DescribeInstances", 10000, func(ctx context.Context, w *testenv.World, e *endless) error {
			_, err := fleet.NewPlan(ctx, e, fleet.Selection{}, testenv.MustNew(t, imdsopts.RequireIMDSv2()),
				func(o *fleet.Options) { o.SkipIMDSv1Gate = true })
			return err
		}},
		{"DescribeLaunchTemplates", 1000, readiness},
		{"DescribeLaunchTemplateVersions", 1000, readiness},
		{"DescribeAutoScalingGroups", 1000, readiness},
		{"DescribeLaunchConfigurations", 1000, readiness},
	}
	for _, tt := range tests {
		t.Run(tt.op, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				w := testenv.NewWorld(t)
				image := w.Image(t, "plain", "")
				w.Template(t, "web", image, &types.LaunchTemplateInstanceMetadataOptionsRequest{HttpTokens: "required"})
				testenv.Fleet(t, w.EC2, 3, nil)
				e := &endless{EC2: w.EC2, as: w.AS, op: tt.op}
				// Before the bound, such a listing ended only with the context.
				ctx, cancel := context.WithTimeout(t.Context(), 30*time.Minute)
				defer cancel()
				err := tt.run(ctx, w, e)
				want := fmt.Sprintf("%s answered %d pages, each with a page token not seen before, and has more: the listing would not end (the bound is %d pages)",
					tt.op, tt.pages, tt.pages)
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Fatalf("error = %v, want one saying %q", err, want)
				}
				if n := e.calls.Load(); n != tt.pages {
					t.Errorf("%d pages read, want %d", n, tt.pages)
				}
			})
		})
	}
}

// readiness checks the readiness of e's account, with e as EC2 and Auto
// Scaling.
func readiness(ctx context.Context, w *testenv.World, e *endless) error {
	c := acct.Clients{EC2: w.EC2, AutoScaling: w.AS, CloudWatch: w.CW, Target: acct.Target{Account: fake.AccountID, Region: "us-east-1"}}
	c.EC2, c.AutoScaling = e, e
	_, err := acct.CheckReadiness(ctx, c, acct.Defaults{})
	return err
}

// TestMetricPagesAreBounded: a GetMetricData answer whose every page has
// a fresh page token is read for 1000 pages, then the gate holds the
// instance: its IMDSv1 use is unknown, with the bound as the cause.
func TestMetricPagesAreBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := fake.New()
		id := testenv.Launch(t, f, "", nil)
		var calls atomic.Int64
		cw := &scriptedMetrics{answer: func(in *cloudwatch.GetMetricDataInput, p int) (*cloudwatch.GetMetricDataOutput, error) {
			calls.Add(1)
			out, _ := eachQuery([]float64{0}, func(r *cwtypes.MetricDataResult) { r.StatusCode = cwtypes.StatusCodePartialData })(in, p)
			out.NextToken = aws.String(strings.Repeat("x", p+1))
			return out, nil
		}}
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Minute)
		defer cancel()
		plan, err := fleet.NewPlan(ctx, f, fleet.Selection{InstanceIDs: []string{id}},
			testenv.MustNew(t, imdsopts.RequireIMDSv2()), func(o *fleet.Options) { o.Metrics = cw })
		if err != nil {
			t.Fatal(err)
		}
		it := plan.Items[0]
		want := "GetMetricData answered 1000 pages, each with a page token not seen before, and has more: the listing would not end (the bound is 1000 pages)"
		if it.Status != fleet.StatusHeld || it.Err == nil || !strings.Contains(it.Err.Error(), want) {
			t.Errorf("%v (%v), want held, saying %q", it.Status, it.Err, want)
		}
		if n := calls.Load(); n != 1000 {
			t.Errorf("%d GetMetricData pages read, want 1000", n)
		}
	})
}

package account_test

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imdsopts/imdsopts"
	"github.com/imdsopts/imdsopts/account"
	"github.com/imdsopts/imdsopts/fake"
	"github.com/imdsopts/imdsopts/fleet"
	"github.com/imdsopts/imdsopts/internal/testenv"
)

// bucket is a token bucket: size tokens, refilled at rate a second.
type bucket struct {
	size int
	rate float64
}

// simBound is the least time calls need when each API has its own bucket,
// full at the start: an API called n times past its bucket's size waits
// for the refill of the rest, (n - size) / rate, and the buckets refill at
// the same time, so the calls need the longest of those waits. buckets
// gives each API's bucket; calls are the calls that went through.
func simBound(calls map[string]int, buckets func(op string) bucket) (time.Duration, string) {
	var bound time.Duration
	var slowest string
	for _, op := range slices.Sorted(maps.Keys(calls)) {
		b := buckets(op)
		if over := calls[op] - b.size; over > 0 {
			if d := time.Duration(float64(over) / b.rate * float64(time.Second)); d > bound {
				bound, slowest = d, op
			}
		}
	}
	return bound, slowest
}

// describeBuckets are EC2's bucket of each non-mutating API, also taken
// for the Auto Scaling calls, and the package's own pace of GetMetricData.
func describeBuckets(op string) bucket {
	if op == "GetMetricData" {
		return bucket{10, 10}
	}
	return bucket{100, 20}
}

// mutatingBuckets are EC2's bucket of each mutating API.
func mutatingBuckets(string) bucket { return bucket{100, 5} }

// throttleRetry calls fn until EC2's buckets let it through, sleeping a
// second after each RequestLimitExceeded; for seeding a throttled fake.
func throttleRetry(t *testing.T, fn func() error) {
	t.Helper()
	for {
		err := fn()
		if err == nil {
			return
		}
		if testenv.APICode(err) != "RequestLimitExceeded" {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
	}
}

// simAccount is the account of the simulations: 50 AMIs (every fifth with
// ImdsSupport v2.0), 300 launch templates of 3 versions each (version 1
// optional, 2 without HttpTokens, 3 optional with hop limit 2; the default
// is version 1, 2 or 3 in turn), 200 Auto Scaling groups, each launching
// version 1 of its own template (groups pinned to a version number; for
// two thirds of them it is no longer the default, and each of those costs
// a DescribeLaunchTemplateVersions of its own), and 5,000 instances allowing IMDSv1: 20 per group, tagged as
// the group launches them, and 1,000 launched by hand; 50 of them call
// IMDSv1. EC2's buckets are on.
func simAccount(t *testing.T) *world {
	const (
		images, templates, groups, perGroup, byHand = 50, 300, 200, 20, 1000
	)
	w := newWorld(t, func(o *fake.Options) { o.Throttle = true })
	ctx := t.Context()
	var amis []string
	for i := range images {
		imds := types.ImdsSupportValues("")
		if i%5 == 0 {
			imds = types.ImdsSupportValuesV20
		}
		throttleRetry(t, func() error {
			out, err := w.EC2.RegisterImage(ctx, &ec2.RegisterImageInput{Name: aws.String(fmt.Sprintf("ami-%d", i)), ImdsSupport: imds})
			if err == nil {
				amis = append(amis, aws.ToString(out.ImageId))
			}
			return err
		})
	}
	versions := []*types.LaunchTemplateInstanceMetadataOptionsRequest{
		{HttpTokens: "optional"}, nil, {HttpTokens: "optional", HttpPutResponseHopLimit: aws.Int32(2)},
	}
	var ids []string
	for i := range templates {
		data := func(md *types.LaunchTemplateInstanceMetadataOptionsRequest) *types.RequestLaunchTemplateData {
			return &types.RequestLaunchTemplateData{ImageId: aws.String(amis[i%images]), InstanceType: types.InstanceTypeT3Micro, MetadataOptions: md}
		}
		var id string
		throttleRetry(t, func() error {
			out, err := w.EC2.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String(fmt.Sprintf("app-%03d", i)),
				LaunchTemplateData: data(versions[0])})
			if err == nil {
				id = aws.ToString(out.LaunchTemplate.LaunchTemplateId)
			}
			return err
		})
		for _, md := range versions[1:] {
			throttleRetry(t, func() error {
				_, err := w.EC2.CreateLaunchTemplateVersion(ctx, &ec2.CreateLaunchTemplateVersionInput{LaunchTemplateId: aws.String(id), LaunchTemplateData: data(md)})
				return err
			})
		}
		if n := i%3 + 1; n != 1 {
			throttleRetry(t, func() error {
				_, err := w.EC2.ModifyLaunchTemplate(ctx, &ec2.ModifyLaunchTemplateInput{LaunchTemplateId: aws.String(id), DefaultVersion: aws.String(fmt.Sprint(n))})
				return err
			})
		}
		ids = append(ids, id)
	}
	optional := &types.InstanceMetadataOptionsRequest{HttpTokens: "optional"}
	for g := range groups {
		name := fmt.Sprintf("app-%03d", g)
		w.Group(t, name, ids[g], "1", 0)
		if _, err := w.EC2.Launch(perGroup, func(o *fake.LaunchOptions) {
			o.ImageID, o.MetadataOptions = amis[g%images], optional
			o.Tags = map[string]string{"aws:autoscaling:groupName": name, "aws:ec2launchtemplate:id": ids[g], "aws:ec2launchtemplate:version": "1"}
		}); err != nil {
			t.Fatal(err)
		}
	}
	hand, err := w.EC2.Launch(byHand, func(o *fake.LaunchOptions) { o.ImageID, o.MetadataOptions = amis[0], optional })
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range hand[:50] {
		if err := w.EC2.CallIMDSv1(id, 1); err != nil {
			t.Fatal(err)
		}
	}
	// Let the buckets fill after seeding, and CloudWatch publish a
	// 5-minute period of metrics (a minute after it ends).
	time.Sleep(6 * time.Minute)
	return w
}

// since returns the calls made since before that went through (those EC2
// throttled left out), by operation, and how many EC2 throttled.
func since(w *world, before, throttledBefore map[string]int) (calls map[string]int, throttled int) {
	calls = map[string]int{}
	now := throttledBy(w)
	for op, n := range w.Calls() {
		t := now[op] - throttledBefore[op]
		throttled += t
		if d := n - before[op] - t; d > 0 {
			calls[op] = d
		}
	}
	return calls, throttled
}

// throttledBy counts the calls EC2's buckets refused so far, by operation.
func throttledBy(w *world) map[string]int {
	m := map[string]int{}
	for op := range w.EC2.CallCounts() {
		m[op] = w.EC2.Throttled(op)
	}
	return m
}

func logCalls(t *testing.T, calls map[string]int) {
	t.Helper()
	var parts []string
	for _, op := range slices.Sorted(maps.Keys(calls)) {
		parts = append(parts, fmt.Sprintf("%s %d", op, calls[op]))
	}
	t.Logf("  calls: %s", strings.Join(parts, ", "))
}

// TestPostureSimulation is the posture's benchmark, and that of the
// template fix: on the account of simAccount, under synctest, it takes
// the posture, then plans and applies the template fix (MakeDefault), and
// prints for each the calls per API, the simulated time, the bound (see
// simBound: the Describe buckets for the posture and the plan, the
// mutating buckets for the apply) and their ratio. It fails when a step
// takes more than 1.05 times its bound, when EC2 throttled any call (the
// pacing would not match the buckets), or on a wrong outcome. Simulated
// time only: no assertion on the wall clock.
func TestPostureSimulation(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("the posture simulation seeds 5,000 instances; run it without -short")
	}
	synctest.Test(t, func(t *testing.T) {
		w := simAccount(t)
		ctx := t.Context()
		step := func(name string, buckets func(string) bucket, run func()) {
			t.Helper()
			before, throttledBefore := w.Calls(), throttledBy(w)
			start := time.Now()
			run()
			elapsed := time.Since(start)
			calls, throttled := since(w, before, throttledBefore)
			bound, slowest := simBound(calls, buckets)
			ratio := "-"
			if bound > 0 {
				ratio = fmt.Sprintf("%.4f", float64(elapsed)/float64(bound))
			}
			t.Logf("%s: simulated %v, bound %v (%s), ratio %s, throttled %d", name, elapsed, bound, slowest, ratio, throttled)
			logCalls(t, calls)
			if limit := time.Duration(1.05 * float64(bound)); elapsed > limit {
				t.Errorf("%s took %v, over 1.05 x bound = %v", name, elapsed, limit)
			}
			if throttled > 0 {
				t.Errorf("%s: EC2 throttled %d calls", name, throttled)
			}
		}
		t.Logf("account: 5,000 instances, 300 launch templates x 3 versions, 200 Auto Scaling groups, 50 AMIs; EC2's buckets on")

		var p *account.Posture
		step("posture", describeBuckets, func() {
			var err error
			if p, err = account.GetPosture(ctx, w.clients()); err != nil {
				t.Fatal(err)
			}
		})
		if p.Instances.Total != 5000 || p.Instances.Optional != 5000 || !p.IMDSv1.Known || p.IMDSv1.UsedIMDSv1 != 50 ||
			len(p.AutoScalingGroups) != 200 || len(p.Images) != 40 || p.Ready {
			t.Errorf("posture: instances %+v, IMDSv1 known %v used %d, %d groups, %d images",
				p.Instances.Total, p.IMDSv1.Known, p.IMDSv1.UsedIMDSv1, len(p.AutoScalingGroups), len(p.Images))
		}
		t.Logf("  %d blockers, %d templates and %d groups launch with IMDSv1", len(p.Blockers), len(p.LaunchTemplates), len(p.AutoScalingGroups))

		time.Sleep(time.Minute)
		s := testenv.MustNew(t, imdsopts.RequireIMDSv2())
		makeDefault := func(o *account.TemplateOptions) { o.MakeDefault = true }
		var plan *account.TemplatePlan
		step("template plan", describeBuckets, func() {
			var err error
			if plan, err = account.PlanTemplates(ctx, w.clients(), s, makeDefault); err != nil {
				t.Fatal(err)
			}
		})
		changes := plan.Counts()[fleet.StatusChange]
		t.Logf("  %d templates to change, %d satisfied; %d groups will not pick the change up", changes, plan.Counts()[fleet.StatusSatisfied], len(plan.Groups))

		time.Sleep(time.Minute)
		var report *account.TemplateReport
		step("template apply", mutatingBuckets, func() {
			var err error
			if report, err = account.ApplyTemplates(ctx, w.clients(), plan); err != nil {
				t.Fatal(err)
			}
		})
		if c := report.Counts(); c[fleet.StatusApplied] != changes || changes < 250 {
			t.Errorf("template apply: %v, want all %d changes applied", c, changes)
		}
	})
}

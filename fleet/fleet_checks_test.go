package fleet_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imdsopts/imdsopts"
	"github.com/imdsopts/imdsopts/fake"
	"github.com/imdsopts/imdsopts/fleet"
	"github.com/imdsopts/imdsopts/internal/testenv"
)

// hop1 are launch options that allow IMDSv1 with hop limit 1, as EC2's
// defaults give.
var hop1 = &types.InstanceMetadataOptionsRequest{HttpTokens: "optional", HttpPutResponseHopLimit: aws.Int32(1)}

// containerWorld is an account with container hosts that only their launch
// user data shows (an EKS node group's template, an ECS group's launch
// configuration), one that its tags show, one with hop limit 2, and a web
// server. Their IDs are returned.
type containerWorld struct {
	*testenv.World
	eksNode, ecsNode, tagged, hop2, web string
	template                            string
}

func newContainerWorld(t *testing.T) *containerWorld {
	t.Helper()
	w := &containerWorld{World: testenv.NewWorld(t, func(o *fake.Options) { o.ApplyDelay = 2 * time.Second })}
	ctx := t.Context()
	image := w.Image(t, "al2023", "")
	out, err := w.EC2.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String("eks-nodes"),
		LaunchTemplateData: &types.RequestLaunchTemplateData{ImageId: aws.String(image), InstanceType: types.InstanceTypeM5Large,
			UserData: testenv.UserData("MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=B\n\n--B\nContent-Type: application/node.eks.aws\n\n" +
				"apiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nspec:\n  cluster:\n    name: prod\n--B--\n"),
			MetadataOptions: &types.LaunchTemplateInstanceMetadataOptionsRequest{HttpTokens: "optional", HttpPutResponseHopLimit: aws.Int32(1)}}})
	if err != nil {
		t.Fatal(err)
	}
	w.template = aws.ToString(out.LaunchTemplate.LaunchTemplateId)
	w.Group(t, "eks-nodes", w.template, "$Default", 1)
	if _, err := w.AS.CreateLaunchConfiguration(ctx, &autoscaling.CreateLaunchConfigurationInput{LaunchConfigurationName: aws.String("ecs"),
		ImageId: aws.String(image), InstanceType: aws.String("m5.large"),
		UserData:        testenv.UserData("#!/bin/bash\necho ECS_CLUSTER=jobs >> /etc/ecs/ecs.config\n"),
		MetadataOptions: &astypes.InstanceMetadataOptions{HttpTokens: "optional", HttpPutResponseHopLimit: aws.Int32(1)}}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.AS.CreateAutoScalingGroup(ctx, &autoscaling.CreateAutoScalingGroupInput{AutoScalingGroupName: aws.String("ecs"),
		MinSize: aws.Int32(0), MaxSize: aws.Int32(1), DesiredCapacity: aws.Int32(1), AvailabilityZones: []string{"us-east-1a"},
		LaunchConfigurationName: aws.String("ecs")}); err != nil {
		t.Fatal(err)
	}
	for name, id := range map[string]*string{"eks-nodes": &w.eksNode, "ecs": &w.ecsNode} {
		g, err := w.AS.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{name}})
		if err != nil {
			t.Fatal(err)
		}
		*id = aws.ToString(g.AutoScalingGroups[0].Instances[0].InstanceId)
	}
	one := func(meta *types.InstanceMetadataOptionsRequest, tags map[string]string) string {
		ids, err := w.EC2.Launch(1, func(o *fake.LaunchOptions) { o.ImageID, o.MetadataOptions, o.Tags = image, meta, tags })
		if err != nil {
			t.Fatal(err)
		}
		return ids[0]
	}
	w.tagged = one(hop1, map[string]string{"eks:cluster-name": "prod", "kubernetes.io/cluster/prod": "owned"})
	w.hop2 = one(&types.InstanceMetadataOptionsRequest{HttpTokens: "optional", HttpPutResponseHopLimit: aws.Int32(2)},
		map[string]string{"AmazonECSManaged": ""})
	w.web = one(hop1, map[string]string{"app": "web"})
	return w
}

// all selects every instance of an account that is not terminated.
var all = fleet.Selection{Filters: []types.Filter{{Name: aws.String("instance-state-name"), Values: []string{"pending", "running", "stopped"}}}}

func byID(items []fleet.Item) map[string]fleet.Item {
	m := map[string]fleet.Item{}
	for _, it := range items {
		m[it.InstanceID] = it
	}
	return m
}

func TestPlanFleetHoldsContainerHosts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newContainerWorld(t)
		cw := fake.NewCloudWatch()
		for _, id := range []string{w.eksNode, w.ecsNode, w.tagged, w.hop2, w.web} {
			cw.PutMetadataNoToken(id, time.Now().Add(-time.Hour), 0)
		}
		s := testenv.MustNew(t, imdsopts.RequireIMDSv2())
		plan, err := fleet.NewPlan(t.Context(), w.EC2, all, s, func(o *fleet.Options) { o.Metrics, o.AutoScaling = cw, w.AS })
		if err != nil {
			t.Fatal(err)
		}
		items := byID(plan.Items)
		for id, want := range map[string]string{
			w.eksNode: "user data of launch template " + w.template + " version 1: node.eks.aws",
			w.ecsNode: "user data of launch configuration ecs: /etc/ecs/ecs.config",
			w.tagged:  "tag eks:cluster-name",
		} {
			it := items[id]
			if it.Status != fleet.StatusHeld || !errors.Is(it.Err, fleet.ErrContainerHopLimit) || it.Container != want {
				t.Errorf("%s: %v, %v, container %q; want held with ErrContainerHopLimit, container %q", id, it.Status, it.Err, it.Container, want)
			}
			if it.IMDSv1Calls != nil {
				t.Errorf("%s: the IMDSv1 gate measured it: the hold is the container's, not the gate's", id)
			}
		}
		if it := items[w.hop2]; it.Status != fleet.StatusChange || it.Container != "tag AmazonECSManaged" {
			t.Errorf("container host with hop limit 2: %v, %q; want change", it.Status, it.Container)
		}
		if it := items[w.web]; it.Status != fleet.StatusChange || it.Container != "" {
			t.Errorf("web server: %v, %q; want change, no container", it.Status, it.Container)
		}
		for op, want := range map[string]int{"DescribeLaunchTemplateVersions": 1, "DescribeAutoScalingGroups": 1, "DescribeLaunchConfigurations": 1} {
			if plan.Calls[op] != want {
				t.Errorf("%s called %d times, want %d (calls %v)", op, plan.Calls[op], want, plan.Calls)
			}
		}

		// Without an Auto Scaling client, the launch configuration's user
		// data is not read: its instance is judged by its tags alone.
		plan, err = fleet.NewPlan(t.Context(), w.EC2, all, s, func(o *fleet.Options) { o.Metrics = cw })
		if err != nil {
			t.Fatal(err)
		}
		if it := byID(plan.Items)[w.ecsNode]; it.Status != fleet.StatusChange || it.Container != "" {
			t.Errorf("without AutoScaling: %v, %q", it.Status, it.Container)
		}
	})
}

func TestContainerHopLimitRaisesIt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newContainerWorld(t)
		cw := fake.NewCloudWatch()
		for _, id := range []string{w.eksNode, w.tagged, w.hop2, w.web} {
			cw.PutMetadataNoToken(id, time.Now().Add(-time.Hour), 0)
		}
		cw.PutMetadataNoToken(w.ecsNode, time.Now().Add(-time.Hour), 40) // its containers' SDKs fell back to IMDSv1
		s := testenv.MustNew(t, imdsopts.RequireIMDSv2())
		opts := func(o *fleet.Options) { o.Metrics, o.AutoScaling, o.ContainerHopLimit = cw, w.AS, 2 }
		plan, err := fleet.NewPlan(t.Context(), w.EC2, all, s, opts)
		if err != nil {
			t.Fatal(err)
		}
		raised := testenv.MustNew(t, imdsopts.HTTPTokens("required"), imdsopts.HopLimit(2))
		items := byID(plan.Items)
		for _, id := range []string{w.eksNode, w.tagged} {
			if it := items[id]; it.Status != fleet.StatusChange || it.Changes != raised || !it.Downgrade.IsZero() {
				t.Errorf("%s: %v, changes %v, downgrade %v; want a change of %v, no downgrade", id, it.Status, it.Changes, it.Downgrade, raised)
			}
		}
		// The gate still applies, and says what the calls may be.
		if it := items[w.ecsNode]; it.Status != fleet.StatusHeld || !errors.Is(it.Err, fleet.ErrIMDSv1InUse) ||
			!strings.Contains(it.Err.Error(), "container host") {
			t.Errorf("ECS node with IMDSv1 calls: %v, %v; want held by the gate, naming the container host", it.Status, it.Err)
		}
		tokensOnly := testenv.MustNew(t, imdsopts.HTTPTokens("required"))
		for _, id := range []string{w.hop2, w.web} {
			if it := items[id]; it.Status != fleet.StatusChange || it.Changes != tokensOnly {
				t.Errorf("%s: %v, changes %v; want %v", id, it.Status, it.Changes, tokensOnly)
			}
		}
		var table strings.Builder
		if err := plan.WriteTable(&table); err != nil || !strings.Contains(table.String(), "HttpPutResponseHopLimit 2 (ContainerHopLimit)") {
			t.Errorf("table (%v):\n%s", err, table.String())
		}

		report, err := fleet.Apply(t.Context(), w.EC2, plan)
		if err != nil {
			t.Fatal(err)
		}
		got := byID(report.Items)
		for _, id := range []string{w.eksNode, w.tagged} {
			it := got[id]
			if it.Status != fleet.StatusApplied || it.Options.HttpTokens != "required" || aws.ToInt32(it.Options.HttpPutResponseHopLimit) != 2 {
				t.Errorf("%s: %v %+v; want applied, required, hop limit 2", id, it.Status, it.Options)
			}
		}
		// What a plan's options would not accept, fleet.Apply refuses: the
		// raise is accepted only where the plan put it.
		plan2, err := fleet.NewPlan(t.Context(), w.EC2, fleet.Selection{InstanceIDs: []string{w.web}}, testenv.MustNew(t, imdsopts.HopLimit(3)),
			func(o *fleet.Options) { o.ContainerHopLimit = 3 })
		if err != nil {
			t.Fatal(err)
		}
		if it := plan2.Items[0]; it.Status != fleet.StatusRefused {
			t.Errorf("a hop limit raised by the Set on a web server: %v, want refused", it.Status)
		}
	})
}

func TestPlanFleetCannotApply(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := fake.New(func(o *fake.Options) { o.ApplyDelay = time.Second })
		ctx := context.Background()
		launch := func(meta *types.InstanceMetadataOptionsRequest, tags map[string]string) string {
			ids, err := f.Launch(1, func(o *fake.LaunchOptions) { o.MetadataOptions, o.Tags = meta, tags })
			if err != nil {
				t.Fatal(err)
			}
			return ids[0]
		}
		required := &types.InstanceMetadataOptionsRequest{HttpTokens: "required", HttpPutResponseHopLimit: aws.Int32(2)}
		node := launch(required, map[string]string{"kubernetes.io/cluster/prod": "owned", "Name": "node"})
		web := launch(required, map[string]string{"Name": "web"})
		off := launch(&types.InstanceMetadataOptionsRequest{HttpTokens: "optional", HttpEndpoint: "disabled"}, map[string]string{"Name": "off"})

		// Tags on: EC2 refuses the node's key, and the plan says so first.
		tagsOn := testenv.MustNew(t, imdsopts.InstanceMetadataTags("enabled"))
		if _, err := f.ModifyInstanceMetadataOptions(ctx, tagsOn.ModifyInput(node)); testenv.APICode(err) != "InvalidParameterValue" {
			t.Fatalf("EC2 (the fake) turning tags on for the node: %v, want InvalidParameterValue", err)
		}
		sel := fleet.Selection{InstanceIDs: []string{node, web}}
		plan, err := fleet.NewPlan(ctx, f, sel, tagsOn, func(o *fleet.Options) { o.AllowDowngrade = true })
		if err != nil {
			t.Fatal(err)
		}
		items := byID(plan.Items)
		if it := items[node]; it.Status != fleet.StatusCannotApply || !errors.Is(it.Err, fleet.ErrTagKeys) ||
			!strings.Contains(it.Err.Error(), `"kubernetes.io/cluster/prod"`) {
			t.Errorf("node: %v, %v; want cannot-apply naming the key", it.Status, it.Err)
		}
		if it := items[web]; it.Status != fleet.StatusChange {
			t.Errorf("web: %v, %v; want change", it.Status, it.Err)
		}
		before := f.Calls("ModifyInstanceMetadataOptions")
		report, err := fleet.Apply(ctx, f, plan)
		if err != nil {
			t.Fatal(err)
		}
		if got := statusOf(report.Items); got[node] != fleet.StatusCannotApply || got[web] != fleet.StatusApplied {
			t.Errorf("report: %v", got)
		}
		if n := f.Calls("ModifyInstanceMetadataOptions") - before; n != 1 {
			t.Errorf("%d calls, want 1: none for what EC2 refuses", n)
		}

		// Tokens on a disabled endpoint: EC2 refuses them alone.
		tokensOnly := testenv.MustNew(t, imdsopts.HTTPTokens("required"))
		if _, err := f.ModifyInstanceMetadataOptions(ctx, tokensOnly.ModifyInput(off)); testenv.APICode(err) != "InvalidParameterCombination" {
			t.Fatalf("EC2 (the fake) requiring tokens on a disabled endpoint: %v, want InvalidParameterCombination", err)
		}
		for _, tc := range []struct {
			set    imdsopts.Set
			allow  bool
			status fleet.Status
			err    error
		}{
			{tokensOnly, true, fleet.StatusCannotApply, fleet.ErrEndpointDisabled},
			{testenv.MustNew(t, imdsopts.RequireIMDSv2()), false, fleet.StatusRefused, imdsopts.ErrDowngrade},
			{testenv.MustNew(t, imdsopts.RequireIMDSv2()), true, fleet.StatusApplied, nil},
		} {
			plan, err := fleet.NewPlan(ctx, f, fleet.Selection{InstanceIDs: []string{off}}, tc.set,
				func(o *fleet.Options) { o.AllowDowngrade, o.SkipIMDSv1Gate = tc.allow, true })
			if err != nil {
				t.Fatal(err)
			}
			report, err := fleet.Apply(ctx, f, plan)
			if err != nil {
				t.Fatal(err)
			}
			if it := report.Items[0]; it.Status != tc.status || !errors.Is(it.Err, tc.err) {
				t.Errorf("%v (allow %v): %v, %v; want %v, %v", tc.set, tc.allow, it.Status, it.Err, tc.status, tc.err)
			}
		}
		if got := currentMetadata(t, f, off); got.HttpEndpoint != "enabled" || got.HttpTokens != "required" {
			t.Errorf("after RequireIMDSv2 with AllowDowngrade: %+v", got)
		}
	})
}

// currentMetadata returns the options EC2 reports for id.
func currentMetadata(t *testing.T, f *fake.EC2, id string) *types.InstanceMetadataOptionsResponse {
	t.Helper()
	inst, err := imdsopts.Describe(t.Context(), f, id)
	if err != nil {
		t.Fatal(err)
	}
	return inst.MetadataOptions
}

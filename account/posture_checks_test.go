package account_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imdsopts/imdsopts/account"
	"github.com/imdsopts/imdsopts/fake"
	"github.com/imdsopts/imdsopts/internal/testenv"
)

// clusterAccount is an account with an EKS managed node group's group
// (tagged, hop limit 1 from EC2's default), a self-managed node group
// whose template gives hop limit 2, an ECS group on a launch
// configuration (user data), a template that turns instance tags on with
// a key EC2 refuses there, and an instance of a CloudFormation stack. The
// account default then turns instance tags on.
func clusterAccount(t *testing.T, w *world) {
	t.Helper()
	ctx := t.Context()
	image := w.Image(t, "eks-node", "")
	template := func(name, script string, md *types.LaunchTemplateInstanceMetadataOptionsRequest, tags ...types.Tag) string {
		data := &types.RequestLaunchTemplateData{ImageId: aws.String(image), InstanceType: types.InstanceTypeM5Large, UserData: testenv.UserData(script),
			MetadataOptions: md}
		if len(tags) > 0 {
			data.TagSpecifications = []types.LaunchTemplateTagSpecificationRequest{{ResourceType: types.ResourceTypeInstance, Tags: tags}}
		}
		out, err := w.EC2.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String(name), LaunchTemplateData: data})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.LaunchTemplate.LaunchTemplateId)
	}
	group := func(name, id string, tags map[string]string, desired int32) {
		in := &autoscaling.CreateAutoScalingGroupInput{AutoScalingGroupName: aws.String(name), MinSize: aws.Int32(0), MaxSize: aws.Int32(10),
			DesiredCapacity: aws.Int32(desired), AvailabilityZones: []string{"us-east-1a"},
			LaunchTemplate: &astypes.LaunchTemplateSpecification{LaunchTemplateId: aws.String(id), Version: aws.String("$Default")}}
		for k, v := range tags {
			in.Tags = append(in.Tags, astypes.Tag{Key: aws.String(k), Value: aws.String(v), PropagateAtLaunch: aws.Bool(true)})
		}
		if _, err := w.AS.CreateAutoScalingGroup(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	managed := template("eks-ng-1", "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=B\n\n--B\nContent-Type: application/node.eks.aws\n\n"+
		"apiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\n--B--\n", &types.LaunchTemplateInstanceMetadataOptionsRequest{HttpTokens: "optional"})
	group("eks-ng-1", managed, map[string]string{"eks:cluster-name": "prod", "eks:nodegroup-name": "ng-1", "kubernetes.io/cluster/prod": "owned",
		"k8s.io/cluster-autoscaler/enabled": "true", "k8s.io/cluster-autoscaler/prod": "owned"}, 2)
	selfManaged := template("self-managed", "#!/bin/bash\n/etc/eks/bootstrap.sh prod\n",
		&types.LaunchTemplateInstanceMetadataOptionsRequest{HttpTokens: "required", HttpPutResponseHopLimit: aws.Int32(2)})
	group("self-managed", selfManaged, nil, 1)
	if _, err := w.AS.CreateLaunchConfiguration(ctx, &autoscaling.CreateLaunchConfigurationInput{LaunchConfigurationName: aws.String("ecs"),
		ImageId: aws.String(image), InstanceType: aws.String("m5.large"), UserData: testenv.UserData("#!/bin/bash\necho ECS_CLUSTER=jobs >> /etc/ecs/ecs.config\n")}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.AS.CreateAutoScalingGroup(ctx, &autoscaling.CreateAutoScalingGroupInput{AutoScalingGroupName: aws.String("ecs"),
		MinSize: aws.Int32(0), MaxSize: aws.Int32(1), DesiredCapacity: aws.Int32(1), AvailabilityZones: []string{"us-east-1a"},
		LaunchConfigurationName: aws.String("ecs")}); err != nil {
		t.Fatal(err)
	}
	template("reports", "#!/bin/bash\n", &types.LaunchTemplateInstanceMetadataOptionsRequest{HttpTokens: "required", InstanceMetadataTags: "enabled"},
		types.Tag{Key: aws.String("Cost Center"), Value: aws.String("42")})
	if _, err := w.EC2.Launch(1, func(o *fake.LaunchOptions) {
		o.ImageID = image
		o.Tags = map[string]string{"aws:cloudformation:stack-name": "billing", "aws:cloudformation:logical-id": "Server",
			"aws:cloudformation:stack-id": "arn:aws:cloudformation:us-east-1:123456789012:stack/billing/1"}
	}); err != nil {
		t.Fatal(err)
	}
	w.SetAccountDefaults(t, &ec2.ModifyInstanceMetadataDefaultsInput{InstanceMetadataTags: types.DefaultInstanceMetadataTagsStateEnabled})
	time.Sleep(11 * time.Minute) // CloudWatch has their IMDSv1 use
}

func TestPostureContainersTagKeysOwners(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t)
		clusterAccount(t, w)
		p, err := account.GetPosture(t.Context(), w.clients())
		if err != nil {
			t.Fatal(err)
		}
		groupIDs := func(name string) []string {
			out, err := w.AS.DescribeAutoScalingGroups(t.Context(), &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{name}})
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, in := range out.AutoScalingGroups[0].Instances {
				ids = append(ids, aws.ToString(in.InstanceId))
			}
			slices.Sort(ids)
			return ids
		}
		nodes, self, ecs := groupIDs("eks-ng-1"), groupIDs("self-managed"), groupIDs("ecs")

		// Container hosts: by the group's tags, by user data.
		signals := map[string]string{}
		for _, h := range p.ContainerHosts {
			signals[h.InstanceID] = h.Signal
		}
		for id, want := range map[string]string{nodes[0]: "tag eks:cluster-name", nodes[1]: "tag eks:cluster-name",
			self[0]: "/etc/eks/bootstrap.sh", ecs[0]: "user data of launch configuration ecs: /etc/ecs/ecs.config"} {
			if !strings.Contains(signals[id], want) {
				t.Errorf("container host %s: %q, want %q", id, signals[id], want)
			}
		}
		if len(signals) != 4 {
			t.Errorf("container hosts %v, want 4", signals)
		}

		byKind := map[account.BlockerKind][]account.Blocker{}
		for _, b := range p.Blockers {
			byKind[b.Kind] = append(byKind[b.Kind], b)
		}
		// Containers: the managed node group's template and the ECS launch
		// configuration give hop limit 1; the self-managed one gives 2.
		containers := byKind[account.BlockerContainerHopLimit]
		if got := kinds(containers); len(got) != 2 || !strings.Contains(got[0], "launch configuration ecs") ||
			!strings.Contains(got[1], "launch template eks-ng-1") || !slices.Equal(containers[1].InstanceIDs, nodes) {
			t.Errorf("container blockers:\n%s", strings.Join(got, "\n"))
		}
		if b := containers[1]; !strings.Contains(b.Reason, "HttpPutResponseHopLimit 1 (from the EC2 default)") ||
			!strings.Contains(b.Fix, "eks-nodegroup ng-1") {
			t.Errorf("container blocker: %s", b)
		}
		// Tag keys: the node group's instances carry Kubernetes' keys while
		// the account default turns tags on; the template turns them on
		// for a key with a space.
		tagKeys := byKind[account.BlockerTagKeys]
		if len(tagKeys) != 2 {
			t.Fatalf("tag-key blockers:\n%s", strings.Join(kinds(tagKeys), "\n"))
		}
		if b := tagKeys[0]; b.LaunchTemplateName != "eks-ng-1" || !slices.Equal(b.TagKeys, []string{"k8s.io/cluster-autoscaler/enabled",
			"k8s.io/cluster-autoscaler/prod", "kubernetes.io/cluster/prod"}) || !slices.Equal(b.InstanceIDs, nodes) ||
			!strings.Contains(b.Reason, "from the account default") {
			t.Errorf("node group's tag keys: %+v", b)
		}
		if b := tagKeys[1]; b.LaunchTemplateName != "reports" || !slices.Equal(b.TagKeys, []string{"Cost Center"}) ||
			!strings.Contains(b.Reason, "from the launch template") {
			t.Errorf("template's tag keys: %+v", b)
		}
		if i, j := slices.IndexFunc(p.Blockers, func(b account.Blocker) bool { return b.Kind == account.BlockerTagKeys }),
			slices.IndexFunc(p.Blockers, func(b account.Blocker) bool { return b.Kind == account.BlockerGroupTemplate }); i < 0 || j >= 0 && j < i {
			t.Errorf("blockers out of order:\n%s", strings.Join(kinds(p.Blockers), "\n"))
		}

		// Owners, with where the fix goes.
		var owners []string
		for _, o := range p.Owners {
			owners = append(owners, o.String()+" "+strings.Join(o.InstanceIDs, ","))
		}
		want := []string{"auto-scaling ecs " + ecs[0], "auto-scaling self-managed " + self[0], "cloudformation billing",
			"eks-nodegroup ng-1 " + strings.Join(nodes, ",")}
		if len(owners) != len(want) {
			t.Fatalf("owners %q, want %q", owners, want)
		}
		for i := range want {
			if !strings.HasPrefix(owners[i], want[i]) {
				t.Errorf("owner %d: %q, want %q", i, owners[i], want[i])
			}
		}
		if p.Ready {
			t.Error("ready")
		}
		// The JSON carries them.
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, key := range []string{`"ContainerHosts":[{"InstanceId"`, `"Owners":[{"Kind":"auto-scaling","Name":"ecs","Fix":`, `"TagKeys":["`} {
			if !strings.Contains(string(b), key) {
				t.Errorf("JSON lacks %s", key)
			}
		}
	})
}

package account_test

import (
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

	"github.com/imdsopts/imdsopts"
	"github.com/imdsopts/imdsopts/account"
)

// overrideAccount is an account with one group of a mixed instances
// policy: its own template "web" requires IMDSv2 from an AMI with
// ImdsSupport v2.0, and its first override launches m6g.large from a
// template of its own, "arm", pinned to version 1, which allows IMDSv1 from
// an AMI without it (arm's default and latest, version 2, require IMDSv2
// from a v2.0 AMI). It returns the IDs of arm and of the AMI of its
// version 1.
func overrideAccount(t *testing.T, w *world) (arm, armImage string) {
	t.Helper()
	x86 := w.Image(t, "al2023-x86", types.ImdsSupportValuesV20)
	armImage = w.Image(t, "legacy-arm", "")
	armV2 := w.Image(t, "al2023-arm", types.ImdsSupportValuesV20)
	web := w.Template(t, "web", x86, tokens("required"))
	arm = w.Template(t, "arm", armImage, tokens("optional"))
	if _, err := w.EC2.CreateLaunchTemplateVersion(t.Context(), &ec2.CreateLaunchTemplateVersionInput{LaunchTemplateId: aws.String(arm),
		LaunchTemplateData: &types.RequestLaunchTemplateData{ImageId: aws.String(armV2), MetadataOptions: tokens("required")}}); err != nil {
		t.Fatal(err)
	}
	w.SetDefault(t, arm, 2)
	_, err := w.AS.CreateAutoScalingGroup(t.Context(), &autoscaling.CreateAutoScalingGroupInput{
		AutoScalingGroupName: aws.String("mixed"), MinSize: aws.Int32(0), MaxSize: aws.Int32(4), DesiredCapacity: aws.Int32(2),
		AvailabilityZones: []string{"us-east-1a"},
		MixedInstancesPolicy: &astypes.MixedInstancesPolicy{LaunchTemplate: &astypes.LaunchTemplate{
			LaunchTemplateSpecification: &astypes.LaunchTemplateSpecification{LaunchTemplateId: aws.String(web), Version: aws.String("$Latest")},
			Overrides: []astypes.LaunchTemplateOverrides{
				{InstanceType: aws.String("m6g.large"),
					LaunchTemplateSpecification: &astypes.LaunchTemplateSpecification{LaunchTemplateName: aws.String("arm"), Version: aws.String("1")}},
				{InstanceType: aws.String("m5.large")},
			},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return arm, armImage
}

// TestOverrideTemplateBlocksEnforcement: an override's own launch template
// is a way the group launches; one that allows IMDSv1 blocks enforcement,
// even though the group's template and the override template's default and
// latest versions require IMDSv2.
func TestOverrideTemplateBlocksEnforcement(t *testing.T) {
	w := newWorld(t)
	arm, _ := overrideAccount(t, w)
	r, err := account.CheckReadiness(t.Context(), w.clients(), mustDefaults(t, mustSet(t, imdsopts.HTTPTokens("required")), account.EnforceIMDSv2()))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"group-launch-template launch template arm (" + arm + ") version 1, group mixed"}
	if got := kinds(r.Blockers); r.Ready || !slices.Equal(got, want) {
		t.Errorf("blockers %q, want %q", got, want)
	}
}

// TestPostureSeesOverrideTemplates: the posture judges every way a group
// launches, its overrides' templates included: the group launches IMDSv1,
// the override's template is launched by the group, its instances are
// attributed to it, and the AMI without ImdsSupport v2.0 behind its pinned
// version is named with it.
func TestPostureSeesOverrideTemplates(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t)
		arm, armImage := overrideAccount(t, w)
		time.Sleep(10 * time.Minute) // a measured zero of IMDSv1 use
		p, err := account.GetPosture(t.Context(), w.clients())
		if err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(p.AutoScalingGroups, func(g account.GroupPosture) bool { return g.AutoScalingGroupName == "mixed" })
		if i < 0 || !p.AutoScalingGroups[i].LaunchesIMDSv1 {
			t.Errorf("groups %+v: mixed launches IMDSv1 through its override", p.AutoScalingGroups)
		}
		j := slices.IndexFunc(p.LaunchTemplates, func(tp account.TemplatePosture) bool { return tp.LaunchTemplateID == arm })
		switch {
		case j < 0:
			// Its $Default and $Latest require tokens and its instances
			// are clean: it need not be listed.
		case !slices.Equal(p.LaunchTemplates[j].AutoScalingGroupNames, []string{"mixed"}) || p.LaunchTemplates[j].IMDSv1.Instances != 2:
			t.Errorf("arm %+v", p.LaunchTemplates[j])
		}
		k := slices.IndexFunc(p.Images, func(ip account.ImagePosture) bool { return ip.ImageID == armImage })
		if k < 0 || p.Images[k].Instances != 2 || !slices.Equal(p.Images[k].LaunchTemplateIDs, []string{arm}) {
			t.Errorf("images %+v: %s is behind arm's version 1, which the group launches", p.Images, armImage)
		}
		var got []string
		for _, b := range p.Blockers {
			got = append(got, string(b.Kind)+" "+b.Subject())
		}
		if want := "group-launch-template launch template arm (" + arm + ") version 1, group mixed"; !slices.Contains(got, want) {
			t.Errorf("blockers %q, want %q among them", got, want)
		}
		if strings.Contains(strings.Join(got, "\n"), "imdsv1") {
			t.Errorf("blockers %q: the instances are measured clean", got)
		}
	})
}

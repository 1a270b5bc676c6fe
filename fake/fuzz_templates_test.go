package fake_test

import (
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imdsopts/imdsopts/fake"
)

// FuzzLaunchTemplate feeds arbitrary template names, metadata options and
// version selectors to the launch template operations and to RunInstances
// from a template. The fake must not panic, every error must carry an EC2
// error code and HTTP status, and what it accepts must obey EC2's rules and
// come back as given.
func FuzzLaunchTemplate(f *testing.F) {
	f.Add("web", "required", "enabled", "disabled", "enabled", int32(2), true, "1", "$Latest", "1", "2", "$Default", int32(1))
	f.Add("a b", "Required", "on", "", "", int32(65), true, "$Latest", "0", "", "", "latest", int32(0))
	f.Add("web(1)/x_y.z-", "", "disabled", "enabled", "", int32(0), false, "", "2", "-1", "99", "2", int32(201))
	f.Add("ab", "optional", "", "", "yes", int32(64), true, "01", "$Default", "3", "1", "", int32(200))
	f.Add("web", "optional", "", "", "", int32(1), true, "9223372036854775808", "1", "+1", "", "$Latest", int32(-1))
	f.Fuzz(func(t *testing.T, name, tokens, endpoint, ipv6, tags string, hop int32, setHop bool,
		source, selector, minV, maxV, runVersion string, maxResults int32) {
		e := fake.New()
		img := register(t, e, "img", "")
		md := &types.LaunchTemplateInstanceMetadataOptionsRequest{
			HttpTokens:           types.LaunchTemplateHttpTokensState(tokens),
			HttpEndpoint:         types.LaunchTemplateInstanceMetadataEndpointState(endpoint),
			HttpProtocolIpv6:     types.LaunchTemplateInstanceMetadataProtocolIpv6(ipv6),
			InstanceMetadataTags: types.LaunchTemplateInstanceMetadataTagsState(tags),
		}
		if setHop {
			md.HttpPutResponseHopLimit = aws.Int32(hop)
		}
		check := func(op string, err error) bool {
			t.Helper()
			if err != nil && (code(err) == "" || status(err) == 0) {
				t.Fatalf("%s: error without code or status: %v", op, err)
			}
			return err == nil
		}

		out, err := e.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{
			LaunchTemplateName: aws.String(name),
			LaunchTemplateData: &types.RequestLaunchTemplateData{ImageId: aws.String(img), MetadataOptions: md},
		})
		if !check("CreateLaunchTemplate", err) {
			return
		}
		valid := func(v, a, b string) bool { return v == "" || v == a || v == b }
		if !valid(tokens, "optional", "required") || !valid(endpoint, "enabled", "disabled") || !valid(ipv6, "enabled", "disabled") ||
			!valid(tags, "enabled", "disabled") || setHop && (hop < 1 || hop > 64) || ipv6 == "enabled" && endpoint == "disabled" ||
			len(name) < 3 || len(name) > 128 {
			t.Fatalf("CreateLaunchTemplate accepted name %q, options %+v", name, md)
		}
		id := aws.ToString(out.LaunchTemplate.LaunchTemplateId)
		got := versionData(t, e, id, "1").MetadataOptions
		if string(got.HttpTokens) != tokens || string(got.HttpEndpoint) != endpoint || aws.ToInt32(got.HttpPutResponseHopLimit) != aws.ToInt32(md.HttpPutResponseHopLimit) {
			t.Fatalf("stored %+v, given %+v", got, md)
		}

		in := &ec2.CreateLaunchTemplateVersionInput{LaunchTemplateId: aws.String(id),
			LaunchTemplateData: &types.RequestLaunchTemplateData{MetadataOptions: ltMetadata("required", 0)}}
		if source != "" {
			in.SourceVersion = aws.String(source)
		}
		if _, err := e.CreateLaunchTemplateVersion(ctx, in); check("CreateLaunchTemplateVersion", err) && source != "" && source != "1" && source != "01" {
			t.Fatalf("CreateLaunchTemplateVersion accepted SourceVersion %q", source)
		}

		dIn := &ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateId: aws.String(id), MinVersion: aws.String(minV), MaxVersion: aws.String(maxV)}
		if minV == "" && maxV == "" {
			dIn = &ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateId: aws.String(id), Versions: []string{selector}}
		}
		if maxResults != 0 {
			dIn.MaxResults = aws.Int32(maxResults)
		}
		if dOut, err := e.DescribeLaunchTemplateVersions(ctx, dIn); check("DescribeLaunchTemplateVersions", err) {
			for _, v := range dOut.LaunchTemplateVersions {
				if aws.ToString(v.LaunchTemplateId) != id || aws.ToInt64(v.VersionNumber) < 1 {
					t.Fatalf("described %+v", v)
				}
			}
		}
		if _, err := e.DescribeLaunchTemplateVersions(ctx, &ec2.DescribeLaunchTemplateVersionsInput{Versions: []string{selector}}); check("DescribeLaunchTemplateVersions", err) &&
			selector != "$Latest" && selector != "$Default" {
			t.Fatalf("every template's version %q accepted", selector)
		}
		_, err = e.ModifyLaunchTemplate(ctx, &ec2.ModifyLaunchTemplateInput{LaunchTemplateId: aws.String(id), DefaultVersion: aws.String(runVersion)})
		check("ModifyLaunchTemplate", err)
		_, err = e.DeleteLaunchTemplateVersions(ctx, &ec2.DeleteLaunchTemplateVersionsInput{LaunchTemplateId: aws.String(id), Versions: []string{minV, maxV}})
		check("DeleteLaunchTemplateVersions", err)

		run, err := e.RunInstances(ctx, &ec2.RunInstancesInput{MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
			LaunchTemplate: &types.LaunchTemplateSpecification{LaunchTemplateId: aws.String(id), Version: aws.String(runVersion)}})
		if check("RunInstances", err) {
			var version string
			for _, tag := range run.Instances[0].Tags {
				if aws.ToString(tag.Key) == "aws:ec2launchtemplate:version" {
					version = aws.ToString(tag.Value)
				}
			}
			if version == "" {
				t.Fatalf("launched from %q without the version tag", runVersion)
			}
		}
		if dOut, err := e.DescribeLaunchTemplates(ctx, &ec2.DescribeLaunchTemplatesInput{LaunchTemplateIds: []string{id}}); check("DescribeLaunchTemplates", err) {
			lt := dOut.LaunchTemplates[0]
			if aws.ToInt64(lt.DefaultVersionNumber) < 1 || aws.ToInt64(lt.DefaultVersionNumber) > aws.ToInt64(lt.LatestVersionNumber) {
				t.Fatalf("default %d, latest %d", aws.ToInt64(lt.DefaultVersionNumber), aws.ToInt64(lt.LatestVersionNumber))
			}
		}
	})
}

// FuzzAutoScalingGroup feeds arbitrary group names, version selectors and
// sizes to the Auto Scaling fake. It must not panic, every error must
// carry a code, and a group never has more instances than it desires.
func FuzzAutoScalingGroup(f *testing.F) {
	f.Add("web", "$Default", int32(0), int32(3), int32(2), int32(1), "optional", "tag")
	f.Add("a:b", "latest", int32(2), int32(1), int32(0), int32(5), "required", "")
	f.Add("", "2", int32(-1), int32(0), int32(0), int32(-2), "Required", "aws:x")
	f.Add("web", "1", int32(0), int32(1100), int32(1001), int32(0), "", "k")
	f.Fuzz(func(t *testing.T, name, version string, minSize, maxSize, desired, next int32, tokens, tagKey string) {
		// Keep launches small: the point is the rules, not the volume.
		if maxSize > 50 || desired > 50 || next > 50 {
			return
		}
		e := fake.New()
		a := fake.NewAutoScaling(e)
		img := register(t, e, "img", "")
		lt := createTemplate(t, e, "web", &types.RequestLaunchTemplateData{ImageId: aws.String(img)})
		check := func(op string, err error) bool {
			t.Helper()
			if err != nil && (code(err) == "" || status(err) == 0) {
				t.Fatalf("%s: error without code or status: %v", op, err)
			}
			return err == nil
		}
		check("CreateLaunchConfiguration", func() error {
			_, err := a.CreateLaunchConfiguration(ctx, &autoscaling.CreateLaunchConfigurationInput{
				LaunchConfigurationName: aws.String(name), ImageId: aws.String(img), InstanceType: aws.String("t3.micro"),
				MetadataOptions: &astypes.InstanceMetadataOptions{HttpTokens: astypes.InstanceMetadataHttpTokensState(tokens)},
			})
			return err
		}())
		in := &autoscaling.CreateAutoScalingGroupInput{
			AutoScalingGroupName: aws.String(name), MinSize: aws.Int32(minSize), MaxSize: aws.Int32(maxSize), DesiredCapacity: aws.Int32(desired),
			AvailabilityZones: []string{"us-east-1a"},
			LaunchTemplate:    &astypes.LaunchTemplateSpecification{LaunchTemplateId: aws.String(lt), Version: aws.String(version)},
			Tags:              []astypes.Tag{{Key: aws.String(tagKey), Value: aws.String("v"), PropagateAtLaunch: aws.Bool(true)}},
		}
		if !check("CreateAutoScalingGroup", func() error { _, err := a.CreateAutoScalingGroup(ctx, in); return err }()) {
			return
		}
		if !slices.Contains([]string{"", "$Default", "$Latest", "1"}, version) || minSize > desired || desired > maxSize || minSize < 0 {
			t.Fatalf("CreateAutoScalingGroup accepted version %q, sizes %d <= %d <= %d", version, minSize, desired, maxSize)
		}
		check("SetDesiredCapacity", func() error {
			_, err := a.SetDesiredCapacity(ctx, &autoscaling.SetDesiredCapacityInput{AutoScalingGroupName: aws.String(name), DesiredCapacity: aws.Int32(next)})
			return err
		}())
		check("UpdateAutoScalingGroup", func() error {
			_, err := a.UpdateAutoScalingGroup(ctx, &autoscaling.UpdateAutoScalingGroupInput{AutoScalingGroupName: aws.String(name), LaunchConfigurationName: aws.String(name)})
			return err
		}())
		out, err := a.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{name}})
		if !check("DescribeAutoScalingGroups", err) {
			t.Fatalf("DescribeAutoScalingGroups: %v", err)
		}
		g := out.AutoScalingGroups[0]
		if int32(len(g.Instances)) > aws.ToInt32(g.DesiredCapacity) || aws.ToInt32(g.DesiredCapacity) > aws.ToInt32(g.MaxSize) || aws.ToInt32(g.DesiredCapacity) < aws.ToInt32(g.MinSize) {
			t.Fatalf("group of %d instances, desired %d in %d..%d", len(g.Instances), aws.ToInt32(g.DesiredCapacity), aws.ToInt32(g.MinSize), aws.ToInt32(g.MaxSize))
		}
		_, err = a.DescribeScalingActivities(ctx, &autoscaling.DescribeScalingActivitiesInput{AutoScalingGroupName: aws.String(name)})
		check("DescribeScalingActivities", err)
	})
}

package fake_test

import (
	"context"
	"errors"
	"go/token"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/imdsopts/imdsopts/fake"
)

// templateClient is the launch template part of *ec2.Client the fake
// implements; both must satisfy it.
type templateClient interface {
	CreateLaunchTemplate(context.Context, *ec2.CreateLaunchTemplateInput, ...func(*ec2.Options)) (*ec2.CreateLaunchTemplateOutput, error)
	CreateLaunchTemplateVersion(context.Context, *ec2.CreateLaunchTemplateVersionInput, ...func(*ec2.Options)) (*ec2.CreateLaunchTemplateVersionOutput, error)
	DescribeLaunchTemplates(context.Context, *ec2.DescribeLaunchTemplatesInput, ...func(*ec2.Options)) (*ec2.DescribeLaunchTemplatesOutput, error)
	DescribeLaunchTemplateVersions(context.Context, *ec2.DescribeLaunchTemplateVersionsInput, ...func(*ec2.Options)) (*ec2.DescribeLaunchTemplateVersionsOutput, error)
	ModifyLaunchTemplate(context.Context, *ec2.ModifyLaunchTemplateInput, ...func(*ec2.Options)) (*ec2.ModifyLaunchTemplateOutput, error)
	DeleteLaunchTemplate(context.Context, *ec2.DeleteLaunchTemplateInput, ...func(*ec2.Options)) (*ec2.DeleteLaunchTemplateOutput, error)
	DeleteLaunchTemplateVersions(context.Context, *ec2.DeleteLaunchTemplateVersionsInput, ...func(*ec2.Options)) (*ec2.DeleteLaunchTemplateVersionsOutput, error)
}

var (
	_ templateClient = (*ec2.Client)(nil)
	_ templateClient = (*fake.EC2)(nil)
)

// ltMetadata returns launch template metadata options with HttpTokens
// tokens and, when hop is not 0, that hop limit.
func ltMetadata(tokens types.LaunchTemplateHttpTokensState, hop int32) *types.LaunchTemplateInstanceMetadataOptionsRequest {
	m := &types.LaunchTemplateInstanceMetadataOptionsRequest{HttpTokens: tokens}
	if hop != 0 {
		m.HttpPutResponseHopLimit = aws.Int32(hop)
	}
	return m
}

// createTemplate creates a launch template and returns its ID.
func createTemplate(t *testing.T, f *fake.EC2, name string, data *types.RequestLaunchTemplateData) string {
	t.Helper()
	out, err := f.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String(name), LaunchTemplateData: data})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.LaunchTemplate.LaunchTemplateId)
}

// addVersion creates a version of template id from source (none when
// empty) and returns its number.
func addVersion(t *testing.T, f *fake.EC2, id, source string, data *types.RequestLaunchTemplateData) int64 {
	t.Helper()
	in := &ec2.CreateLaunchTemplateVersionInput{LaunchTemplateId: aws.String(id), LaunchTemplateData: data}
	if source != "" {
		in.SourceVersion = aws.String(source)
	}
	out, err := f.CreateLaunchTemplateVersion(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToInt64(out.LaunchTemplateVersion.VersionNumber)
}

// setDefault makes version the default version of template id.
func setDefault(t *testing.T, f *fake.EC2, id, version string) {
	t.Helper()
	if _, err := f.ModifyLaunchTemplate(ctx, &ec2.ModifyLaunchTemplateInput{LaunchTemplateId: aws.String(id), DefaultVersion: aws.String(version)}); err != nil {
		t.Fatal(err)
	}
}

// versionData returns the data of version v of template id.
func versionData(t *testing.T, f *fake.EC2, id, v string) *types.ResponseLaunchTemplateData {
	t.Helper()
	out, err := f.DescribeLaunchTemplateVersions(ctx, &ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateId: aws.String(id), Versions: []string{v}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.LaunchTemplateVersions) != 1 {
		t.Fatalf("version %s of %s: got %d versions, want 1", v, id, len(out.LaunchTemplateVersions))
	}
	return out.LaunchTemplateVersions[0].LaunchTemplateData
}

// ignoreUnexported makes go-cmp skip the unexported fields of the SDK's
// types.
var ignoreUnexported = cmp.FilterPath(func(p cmp.Path) bool {
	sf, ok := p.Last().(cmp.StructField)
	return ok && !token.IsExported(sf.Name())
}, cmp.Ignore())

var templateID = regexp.MustCompile(`^lt-[0-9a-f]{17}$`)

func TestCreateLaunchTemplate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := fake.New()
		img := register(t, f, "img", "")
		start := time.Now()
		out, err := f.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{
			LaunchTemplateName: aws.String("web(1)/a.b-c_d"),
			VersionDescription: aws.String("first"),
			TagSpecifications: []types.TagSpecification{{
				ResourceType: types.ResourceTypeLaunchTemplate,
				Tags:         []types.Tag{{Key: aws.String("team"), Value: aws.String("web")}},
			}},
			LaunchTemplateData: &types.RequestLaunchTemplateData{
				ImageId:         aws.String(img),
				InstanceType:    types.InstanceTypeT3Micro,
				MetadataOptions: &types.LaunchTemplateInstanceMetadataOptionsRequest{HttpTokens: "optional", HttpPutResponseHopLimit: aws.Int32(2)},
				UserData:        aws.String("IyEvYmluL3NoCg=="),
				KeyName:         aws.String("kp"),
				NetworkInterfaces: []types.LaunchTemplateInstanceNetworkInterfaceSpecificationRequest{{
					DeviceIndex: aws.Int32(0), Groups: []string{"sg-0123abcd"}, SubnetId: aws.String("subnet-0123abcd"),
				}},
				BlockDeviceMappings: []types.LaunchTemplateBlockDeviceMappingRequest{{
					DeviceName: aws.String("/dev/xvda"),
					Ebs:        &types.LaunchTemplateEbsBlockDeviceRequest{VolumeSize: aws.Int32(20), VolumeType: types.VolumeTypeGp3},
				}},
				IamInstanceProfile: &types.LaunchTemplateIamInstanceProfileSpecificationRequest{Name: aws.String("role")},
				Monitoring:         &types.LaunchTemplatesMonitoringRequest{Enabled: aws.Bool(true)},
				TagSpecifications: []types.LaunchTemplateTagSpecificationRequest{{
					ResourceType: types.ResourceTypeInstance,
					Tags:         []types.Tag{{Key: aws.String("app"), Value: aws.String("web")}},
				}},
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		lt := out.LaunchTemplate
		id := aws.ToString(lt.LaunchTemplateId)
		if !templateID.MatchString(id) {
			t.Errorf("LaunchTemplateId %q is not lt- and 17 hex digits", id)
		}
		want := types.LaunchTemplate{
			CreateTime:           aws.Time(start),
			CreatedBy:            aws.String("arn:aws:iam::123456789012:root"),
			DefaultVersionNumber: aws.Int64(1),
			LatestVersionNumber:  aws.Int64(1),
			LaunchTemplateId:     aws.String(id),
			LaunchTemplateName:   aws.String("web(1)/a.b-c_d"),
			Tags:                 []types.Tag{{Key: aws.String("team"), Value: aws.String("web")}},
		}
		if diff := cmp.Diff(&want, lt, ignoreUnexported); diff != "" {
			t.Errorf("CreateLaunchTemplate (-want +got):\n%s", diff)
		}
		if out.Warning != nil {
			t.Errorf("Warning %+v for an AMI that exists", out.Warning)
		}

		time.Sleep(time.Minute)
		got, err := f.DescribeLaunchTemplateVersions(ctx, &ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateId: aws.String(id)})
		if err != nil {
			t.Fatal(err)
		}
		// The data comes back as given, without defaults filled in and
		// without a State in MetadataOptions.
		wantVersion := types.LaunchTemplateVersion{
			CreateTime:         aws.Time(start),
			CreatedBy:          aws.String("arn:aws:iam::123456789012:root"),
			DefaultVersion:     aws.Bool(true),
			LaunchTemplateId:   aws.String(id),
			LaunchTemplateName: aws.String("web(1)/a.b-c_d"),
			VersionDescription: aws.String("first"),
			VersionNumber:      aws.Int64(1),
			LaunchTemplateData: &types.ResponseLaunchTemplateData{
				ImageId:         aws.String(img),
				InstanceType:    types.InstanceTypeT3Micro,
				MetadataOptions: &types.LaunchTemplateInstanceMetadataOptions{HttpTokens: "optional", HttpPutResponseHopLimit: aws.Int32(2)},
				UserData:        aws.String("IyEvYmluL3NoCg=="),
				KeyName:         aws.String("kp"),
				NetworkInterfaces: []types.LaunchTemplateInstanceNetworkInterfaceSpecification{{
					DeviceIndex: aws.Int32(0), Groups: []string{"sg-0123abcd"}, SubnetId: aws.String("subnet-0123abcd"),
				}},
				BlockDeviceMappings: []types.LaunchTemplateBlockDeviceMapping{{
					DeviceName: aws.String("/dev/xvda"),
					Ebs:        &types.LaunchTemplateEbsBlockDevice{VolumeSize: aws.Int32(20), VolumeType: types.VolumeTypeGp3},
				}},
				IamInstanceProfile: &types.LaunchTemplateIamInstanceProfileSpecification{Name: aws.String("role")},
				Monitoring:         &types.LaunchTemplatesMonitoring{Enabled: aws.Bool(true)},
				TagSpecifications: []types.LaunchTemplateTagSpecification{{
					ResourceType: types.ResourceTypeInstance,
					Tags:         []types.Tag{{Key: aws.String("app"), Value: aws.String("web")}},
				}},
			},
		}
		if diff := cmp.Diff([]types.LaunchTemplateVersion{wantVersion}, got.LaunchTemplateVersions, ignoreUnexported); diff != "" {
			t.Errorf("DescribeLaunchTemplateVersions (-want +got):\n%s", diff)
		}

		// The fake keeps its own copy: changing the request or an answer
		// afterwards changes nothing.
		got.LaunchTemplateVersions[0].LaunchTemplateData.MetadataOptions.HttpTokens = "required"
		*got.LaunchTemplateVersions[0].LaunchTemplateData.NetworkInterfaces[0].SubnetId = "changed"
		if d := versionData(t, f, id, "1"); d.MetadataOptions.HttpTokens != "optional" || aws.ToString(d.NetworkInterfaces[0].SubnetId) != "subnet-0123abcd" {
			t.Errorf("an answer shares memory with the fake: %+v", d)
		}

		// A second template gets the next ID; the AMI need not exist, which
		// EC2 answers with a warning.
		out2, err := f.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{
			LaunchTemplateName: aws.String("web2"),
			LaunchTemplateData: &types.RequestLaunchTemplateData{ImageId: aws.String("ami-0123456789abcdef0")},
		})
		if err != nil {
			t.Fatal(err)
		}
		if id2 := aws.ToString(out2.LaunchTemplate.LaunchTemplateId); id2 == id || !templateID.MatchString(id2) {
			t.Errorf("second template ID %q (first %q)", id2, id)
		}
		if w := out2.Warning; w == nil || len(w.Errors) != 1 || aws.ToString(w.Errors[0].Code) != "InvalidAMIID.NotFound" {
			t.Errorf("Warning = %+v, want one InvalidAMIID.NotFound", w)
		}
	})
}

func TestCreateLaunchTemplateErrors(t *testing.T) {
	f := fake.New()
	createTemplate(t, f, "taken", &types.RequestLaunchTemplateData{})
	const op = "CreateLaunchTemplate"
	data := func(edit func(*types.RequestLaunchTemplateData)) *types.RequestLaunchTemplateData {
		d := &types.RequestLaunchTemplateData{}
		edit(d)
		return d
	}
	for _, tt := range []struct {
		name string
		in   ec2.CreateLaunchTemplateInput
		code string
	}{
		{"no name", ec2.CreateLaunchTemplateInput{LaunchTemplateData: &types.RequestLaunchTemplateData{}}, "MissingParameter"},
		{"name of 2 characters", ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String("ab")}, "InvalidLaunchTemplateName.MalformedException"},
		{"name of 129 characters", ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String(strings.Repeat("a", 129))}, "InvalidLaunchTemplateName.MalformedException"},
		{"name with a space", ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String("my template")}, "InvalidLaunchTemplateName.MalformedException"},
		{"no data", ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String("new")}, "MissingParameter"},
		{"name in use", ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String("taken"), LaunchTemplateData: &types.RequestLaunchTemplateData{}},
			"InvalidLaunchTemplateName.AlreadyExistsException"},
		{"hop limit 65", ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String("new"),
			LaunchTemplateData: data(func(d *types.RequestLaunchTemplateData) { d.MetadataOptions = ltMetadata("", 65) })}, "InvalidParameterValue"},
		{"hop limit 0", ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String("new"),
			LaunchTemplateData: data(func(d *types.RequestLaunchTemplateData) {
				d.MetadataOptions = &types.LaunchTemplateInstanceMetadataOptionsRequest{HttpPutResponseHopLimit: aws.Int32(0)}
			})}, "InvalidParameterValue"},
		{"HttpTokens Required", ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String("new"),
			LaunchTemplateData: data(func(d *types.RequestLaunchTemplateData) { d.MetadataOptions = ltMetadata("Required", 0) })}, "InvalidParameterValue"},
		{"HttpEndpoint on", ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String("new"),
			LaunchTemplateData: data(func(d *types.RequestLaunchTemplateData) {
				d.MetadataOptions = &types.LaunchTemplateInstanceMetadataOptionsRequest{HttpEndpoint: "on"}
			})}, "InvalidParameterValue"},
		{"InstanceMetadataTags yes", ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String("new"),
			LaunchTemplateData: data(func(d *types.RequestLaunchTemplateData) {
				d.MetadataOptions = &types.LaunchTemplateInstanceMetadataOptionsRequest{InstanceMetadataTags: "yes"}
			})}, "InvalidParameterValue"},
		{"IPv6 on a disabled endpoint", ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String("new"),
			LaunchTemplateData: data(func(d *types.RequestLaunchTemplateData) {
				d.MetadataOptions = &types.LaunchTemplateInstanceMetadataOptionsRequest{HttpEndpoint: "disabled", HttpProtocolIpv6: "enabled"}
			})}, "InvalidParameterCombination"},
		{"malformed AMI ID", ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String("new"),
			LaunchTemplateData: data(func(d *types.RequestLaunchTemplateData) { d.ImageId = aws.String("ami-xyz") })}, "InvalidAMIID.Malformed"},
		{"instance tag key aws:", ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String("new"),
			LaunchTemplateData: data(func(d *types.RequestLaunchTemplateData) {
				d.TagSpecifications = []types.LaunchTemplateTagSpecificationRequest{{ResourceType: "instance",
					Tags: []types.Tag{{Key: aws.String("AWS:x"), Value: aws.String("y")}}}}
			})}, "InvalidParameterValue"},
		{"empty instance tag key", ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String("new"),
			LaunchTemplateData: data(func(d *types.RequestLaunchTemplateData) {
				d.TagSpecifications = []types.LaunchTemplateTagSpecificationRequest{{ResourceType: "instance", Tags: []types.Tag{{Value: aws.String("y")}}}}
			})}, "InvalidParameterValue"},
		{"template tagged as an instance", ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String("new"),
			LaunchTemplateData: &types.RequestLaunchTemplateData{},
			TagSpecifications:  []types.TagSpecification{{ResourceType: "instance", Tags: []types.Tag{{Key: aws.String("k")}}}}},
			"InvalidParameterValue"},
		{"template tag key aws:", ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String("new"),
			LaunchTemplateData: &types.RequestLaunchTemplateData{},
			TagSpecifications:  []types.TagSpecification{{ResourceType: "launch-template", Tags: []types.Tag{{Key: aws.String("aws:k")}}}}},
			"InvalidParameterValue"},
		{"description of 256 characters", ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String("new"),
			LaunchTemplateData: &types.RequestLaunchTemplateData{}, VersionDescription: aws.String(strings.Repeat("d", 256))},
			"InvalidParameterValue"},
		{"a value that cannot be encoded", ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String("new"),
			LaunchTemplateData: data(func(d *types.RequestLaunchTemplateData) {
				d.InstanceRequirements = &types.InstanceRequirementsRequest{
					MemoryGiBPerVCpu: &types.MemoryGiBPerVCpuRequest{Min: aws.Float64(math.NaN())},
				}
			})}, "InvalidParameterValue"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.CreateLaunchTemplate(ctx, &tt.in)
			wantCode(t, err, op, tt.code, 400)
		})
	}
	out, err := f.DescribeLaunchTemplates(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(out.LaunchTemplates) != 1 {
		t.Errorf("refused requests created templates: %d templates, want 1", len(out.LaunchTemplates))
	}
}

func TestCreateLaunchTemplateVersion(t *testing.T) {
	f := fake.New()
	id := createTemplate(t, f, "web", &types.RequestLaunchTemplateData{
		ImageId:      aws.String("ami-00000000000000001"),
		InstanceType: types.InstanceTypeT3Micro,
		KeyName:      aws.String("kp"),
		MetadataOptions: &types.LaunchTemplateInstanceMetadataOptionsRequest{
			HttpTokens: "optional", HttpPutResponseHopLimit: aws.Int32(2), InstanceMetadataTags: "enabled",
		},
	})

	// From a source version: the source's data, with each parameter given
	// replaced. A MetadataOptions given replaces the source's whole (the
	// conservative reading: omitted fields are lost).
	v2 := addVersion(t, f, id, "1", &types.RequestLaunchTemplateData{
		InstanceType:    types.InstanceTypeT3Small,
		MetadataOptions: ltMetadata("required", 0),
	})
	if v2 != 2 {
		t.Errorf("second version is number %d, want 2", v2)
	}
	want := &types.ResponseLaunchTemplateData{
		ImageId:         aws.String("ami-00000000000000001"),
		InstanceType:    types.InstanceTypeT3Small,
		KeyName:         aws.String("kp"),
		MetadataOptions: &types.LaunchTemplateInstanceMetadataOptions{HttpTokens: "required"},
	}
	if diff := cmp.Diff(want, versionData(t, f, id, "2"), ignoreUnexported); diff != "" {
		t.Errorf("version 2 (-want +got):\n%s", diff)
	}

	// Without a source version: only the data given.
	if v3 := addVersion(t, f, id, "", &types.RequestLaunchTemplateData{MetadataOptions: ltMetadata("required", 2)}); v3 != 3 {
		t.Errorf("third version is number %d, want 3", v3)
	}
	want = &types.ResponseLaunchTemplateData{MetadataOptions: &types.LaunchTemplateInstanceMetadataOptions{HttpTokens: "required", HttpPutResponseHopLimit: aws.Int32(2)}}
	if diff := cmp.Diff(want, versionData(t, f, id, "3"), ignoreUnexported); diff != "" {
		t.Errorf("version 3 (-want +got):\n%s", diff)
	}

	// Versions are immutable and new ones are not the default.
	if d := versionData(t, f, id, "1"); d.MetadataOptions.HttpTokens != "optional" || d.InstanceType != types.InstanceTypeT3Micro {
		t.Errorf("version 1 changed: %+v", d)
	}
	lt, err := f.DescribeLaunchTemplates(ctx, &ec2.DescribeLaunchTemplatesInput{LaunchTemplateIds: []string{id}})
	if err != nil {
		t.Fatal(err)
	}
	if d, l := aws.ToInt64(lt.LaunchTemplates[0].DefaultVersionNumber), aws.ToInt64(lt.LaunchTemplates[0].LatestVersionNumber); d != 1 || l != 3 {
		t.Errorf("default %d, latest %d; want 1 and 3", d, l)
	}

	// A combination is checked on the merged data.
	_, err = f.CreateLaunchTemplateVersion(ctx, &ec2.CreateLaunchTemplateVersionInput{
		LaunchTemplateId: aws.String(id), SourceVersion: aws.String("3"),
		LaunchTemplateData: &types.RequestLaunchTemplateData{MetadataOptions: &types.LaunchTemplateInstanceMetadataOptionsRequest{
			HttpEndpoint: "disabled", HttpProtocolIpv6: "enabled",
		}},
	})
	wantCode(t, err, "CreateLaunchTemplateVersion", "InvalidParameterCombination", 400)

	// Numbers are never handed out again, even after the latest version
	// is deleted.
	if _, err := f.DeleteLaunchTemplateVersions(ctx, &ec2.DeleteLaunchTemplateVersionsInput{LaunchTemplateId: aws.String(id), Versions: []string{"3"}}); err != nil {
		t.Fatal(err)
	}
	if v := addVersion(t, f, id, "", &types.RequestLaunchTemplateData{}); v != 4 {
		t.Errorf("version after deleting 3 is number %d, want 4", v)
	}
}

// TestCreateLaunchTemplateVersionSourceSelectors: SourceVersion may be
// $Latest or $Default as well as a number, and copies the version it
// selects when the call is made.
func TestCreateLaunchTemplateVersionSourceSelectors(t *testing.T) {
	for _, tt := range []struct {
		source   string
		wantType types.InstanceType
	}{
		{"$Default", types.InstanceTypeT3Micro},
		{"$Latest", types.InstanceTypeT3Small},
		{"2", types.InstanceTypeT3Small},
	} {
		t.Run(tt.source, func(t *testing.T) {
			f := fake.New()
			id := createTemplate(t, f, "web", &types.RequestLaunchTemplateData{InstanceType: types.InstanceTypeT3Micro, MetadataOptions: ltMetadata("optional", 0)})
			addVersion(t, f, id, "", &types.RequestLaunchTemplateData{InstanceType: types.InstanceTypeT3Small, MetadataOptions: ltMetadata("optional", 0)})
			n := addVersion(t, f, id, tt.source, &types.RequestLaunchTemplateData{MetadataOptions: ltMetadata("required", 0)})
			want := &types.ResponseLaunchTemplateData{InstanceType: tt.wantType,
				MetadataOptions: &types.LaunchTemplateInstanceMetadataOptions{HttpTokens: "required"}}
			if diff := cmp.Diff(want, versionData(t, f, id, strconv.FormatInt(n, 10)), ignoreUnexported); diff != "" {
				t.Errorf("version %d from %s (-want +got):\n%s", n, tt.source, diff)
			}
		})
	}
}

func TestCreateLaunchTemplateVersionErrors(t *testing.T) {
	f := fake.New()
	id := createTemplate(t, f, "web", &types.RequestLaunchTemplateData{})
	const op = "CreateLaunchTemplateVersion"
	empty := &types.RequestLaunchTemplateData{}
	for _, tt := range []struct {
		name string
		in   ec2.CreateLaunchTemplateVersionInput
		code string
	}{
		{"no template", ec2.CreateLaunchTemplateVersionInput{LaunchTemplateData: empty}, "MissingParameter"},
		{"ID and name", ec2.CreateLaunchTemplateVersionInput{LaunchTemplateId: aws.String(id), LaunchTemplateName: aws.String("web"), LaunchTemplateData: empty},
			"InvalidParameterCombination"},
		{"malformed ID", ec2.CreateLaunchTemplateVersionInput{LaunchTemplateId: aws.String("lt-123"), LaunchTemplateData: empty}, "InvalidLaunchTemplateId.Malformed"},
		{"empty ID", ec2.CreateLaunchTemplateVersionInput{LaunchTemplateId: aws.String(""), LaunchTemplateData: empty}, "InvalidLaunchTemplateId.Malformed"},
		{"8-digit ID", ec2.CreateLaunchTemplateVersionInput{LaunchTemplateId: aws.String("lt-0123abcd"), LaunchTemplateData: empty}, "InvalidLaunchTemplateId.Malformed"},
		{"unknown ID", ec2.CreateLaunchTemplateVersionInput{LaunchTemplateId: aws.String("lt-0123456789abcdef0"), LaunchTemplateData: empty}, "InvalidLaunchTemplateId.NotFound"},
		{"unknown name", ec2.CreateLaunchTemplateVersionInput{LaunchTemplateName: aws.String("nope"), LaunchTemplateData: empty}, "InvalidLaunchTemplateName.NotFoundException"},
		{"malformed name", ec2.CreateLaunchTemplateVersionInput{LaunchTemplateName: aws.String("a b"), LaunchTemplateData: empty}, "InvalidLaunchTemplateName.MalformedException"},
		{"no data", ec2.CreateLaunchTemplateVersionInput{LaunchTemplateId: aws.String(id)}, "MissingParameter"},
		{"missing source version", ec2.CreateLaunchTemplateVersionInput{LaunchTemplateId: aws.String(id), SourceVersion: aws.String("2"), LaunchTemplateData: empty},
			"InvalidLaunchTemplateId.VersionNotFound"},
		{"source latest", ec2.CreateLaunchTemplateVersionInput{LaunchTemplateId: aws.String(id), SourceVersion: aws.String("latest"), LaunchTemplateData: empty},
			"InvalidParameterValue"},
		{"source 0", ec2.CreateLaunchTemplateVersionInput{LaunchTemplateId: aws.String(id), SourceVersion: aws.String("0"), LaunchTemplateData: empty},
			"InvalidParameterValue"},
		{"source -1", ec2.CreateLaunchTemplateVersionInput{LaunchTemplateId: aws.String(id), SourceVersion: aws.String("-1"), LaunchTemplateData: empty},
			"InvalidParameterValue"},
		{"hop limit 65", ec2.CreateLaunchTemplateVersionInput{LaunchTemplateId: aws.String(id),
			LaunchTemplateData: &types.RequestLaunchTemplateData{MetadataOptions: ltMetadata("", 65)}}, "InvalidParameterValue"},
		{"HttpTokens Required", ec2.CreateLaunchTemplateVersionInput{LaunchTemplateId: aws.String(id), SourceVersion: aws.String("1"),
			LaunchTemplateData: &types.RequestLaunchTemplateData{MetadataOptions: ltMetadata("Required", 0)}}, "InvalidParameterValue"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.CreateLaunchTemplateVersion(ctx, &tt.in)
			wantCode(t, err, op, tt.code, 400)
		})
	}
	if out, err := f.DescribeLaunchTemplateVersions(ctx, &ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateId: aws.String(id)}); err != nil || len(out.LaunchTemplateVersions) != 1 {
		t.Errorf("refused requests created versions: %v", err)
	}
}

// versionNumbers returns the template names and version numbers of a
// DescribeLaunchTemplateVersions answer, as "name:number".
func versionNumbers(out *ec2.DescribeLaunchTemplateVersionsOutput) []string {
	var s []string
	for _, v := range out.LaunchTemplateVersions {
		s = append(s, aws.ToString(v.LaunchTemplateName)+":"+strconv.FormatInt(aws.ToInt64(v.VersionNumber), 10))
	}
	return s
}

func TestDescribeLaunchTemplateVersions(t *testing.T) {
	f := fake.New()
	a := createTemplate(t, f, "aaa", &types.RequestLaunchTemplateData{MetadataOptions: ltMetadata("optional", 0), ImageId: aws.String("ami-00000000000000001")})
	addVersion(t, f, a, "1", &types.RequestLaunchTemplateData{MetadataOptions: ltMetadata("required", 0)}) // a:2
	addVersion(t, f, a, "2", &types.RequestLaunchTemplateData{InstanceType: types.InstanceTypeT3Micro})    // a:3
	addVersion(t, f, a, "", &types.RequestLaunchTemplateData{EbsOptimized: aws.Bool(true)})                // a:4
	setDefault(t, f, a, "2")
	createTemplate(t, f, "bbb", &types.RequestLaunchTemplateData{MetadataOptions: ltMetadata("required", 0)}) // b:1
	c := createTemplate(t, f, "ccc", &types.RequestLaunchTemplateData{})                                      // c:1
	addVersion(t, f, c, "", &types.RequestLaunchTemplateData{MetadataOptions: ltMetadata("optional", 0)})     // c:2

	filter := func(name string, values ...string) []types.Filter {
		return []types.Filter{{Name: aws.String(name), Values: values}}
	}
	for _, tt := range []struct {
		name string
		in   ec2.DescribeLaunchTemplateVersionsInput
		want []string
	}{
		{"all versions, newest first", ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateId: aws.String(a)}, []string{"aaa:4", "aaa:3", "aaa:2", "aaa:1"}},
		{"by name", ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateName: aws.String("bbb")}, []string{"bbb:1"}},
		{"$Latest", ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateId: aws.String(a), Versions: []string{"$Latest"}}, []string{"aaa:4"}},
		{"$Default", ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateId: aws.String(a), Versions: []string{"$Default"}}, []string{"aaa:2"}},
		{"numbers and selectors, each once", ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateId: aws.String(a),
			Versions: []string{"1", "$Default", "2", "$Latest"}}, []string{"aaa:4", "aaa:2", "aaa:1"}},
		{"MinVersion and MaxVersion, inclusive", ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateId: aws.String(a),
			MinVersion: aws.String("2"), MaxVersion: aws.String("3")}, []string{"aaa:3", "aaa:2"}},
		{"MinVersion alone", ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateId: aws.String(a), MinVersion: aws.String("3")}, []string{"aaa:4", "aaa:3"}},
		{"MaxVersion alone", ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateId: aws.String(a), MaxVersion: aws.String("1")}, []string{"aaa:1"}},
		{"empty range", ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateId: aws.String(a), MinVersion: aws.String("9")}, nil},
		{"every template's $Latest", ec2.DescribeLaunchTemplateVersionsInput{Versions: []string{"$Latest"}}, []string{"aaa:4", "bbb:1", "ccc:2"}},
		{"every template's $Default", ec2.DescribeLaunchTemplateVersionsInput{Versions: []string{"$Default"}}, []string{"aaa:2", "bbb:1", "ccc:1"}},
		{"both, each version once", ec2.DescribeLaunchTemplateVersionsInput{Versions: []string{"$Default", "$Latest"}},
			[]string{"aaa:4", "aaa:2", "bbb:1", "ccc:2", "ccc:1"}},
		{"filter http-tokens", ec2.DescribeLaunchTemplateVersionsInput{Versions: []string{"$Default", "$Latest"}, Filters: filter("http-tokens", "optional")},
			[]string{"ccc:2"}},
		{"filter is-default-version", ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateId: aws.String(a), Filters: filter("is-default-version", "false")},
			[]string{"aaa:4", "aaa:3", "aaa:1"}},
		{"filter image-id with a wildcard", ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateId: aws.String(a), Filters: filter("image-id", "ami-*1")},
			[]string{"aaa:3", "aaa:2", "aaa:1"}},
		{"filter instance-type", ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateId: aws.String(a), Filters: filter("instance-type", "t3.micro")},
			[]string{"aaa:3"}},
		{"filter ebs-optimized", ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateId: aws.String(a), Filters: filter("ebs-optimized", "true")},
			[]string{"aaa:4"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out, err := f.DescribeLaunchTemplateVersions(ctx, &tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, versionNumbers(out)); diff != "" {
				t.Errorf("versions (-want +got):\n%s", diff)
			}
			for _, v := range out.LaunchTemplateVersions {
				def := aws.ToString(v.LaunchTemplateName) == "aaa" && aws.ToInt64(v.VersionNumber) == 2 || aws.ToString(v.LaunchTemplateName) != "aaa" && aws.ToInt64(v.VersionNumber) == 1
				if aws.ToBool(v.DefaultVersion) != def {
					t.Errorf("%s:%d: DefaultVersion %v", aws.ToString(v.LaunchTemplateName), aws.ToInt64(v.VersionNumber), aws.ToBool(v.DefaultVersion))
				}
			}
		})
	}
}

func TestDescribeLaunchTemplateVersionsErrors(t *testing.T) {
	f := fake.New()
	id := createTemplate(t, f, "web", &types.RequestLaunchTemplateData{})
	const op = "DescribeLaunchTemplateVersions"
	for _, tt := range []struct {
		name string
		in   ec2.DescribeLaunchTemplateVersionsInput
		code string
	}{
		{"no template and no versions", ec2.DescribeLaunchTemplateVersionsInput{}, "MissingParameter"},
		{"a number without a template", ec2.DescribeLaunchTemplateVersionsInput{Versions: []string{"$Latest", "1"}}, "InvalidParameterValue"},
		{"MinVersion without a template", ec2.DescribeLaunchTemplateVersionsInput{Versions: []string{"$Latest"}, MinVersion: aws.String("1")},
			"InvalidParameterCombination"},
		{"ID and name", ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateId: aws.String(id), LaunchTemplateName: aws.String("web")},
			"InvalidParameterCombination"},
		{"Versions and MaxVersion", ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateId: aws.String(id), Versions: []string{"1"}, MaxVersion: aws.String("1")},
			"InvalidParameterCombination"},
		{"malformed ID", ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateId: aws.String("lt-XYZ")}, "InvalidLaunchTemplateId.Malformed"},
		{"unknown ID", ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateId: aws.String("lt-0123456789abcdef0")}, "InvalidLaunchTemplateId.NotFound"},
		{"unknown name", ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateName: aws.String("nope")}, "InvalidLaunchTemplateName.NotFoundException"},
		{"a version that does not exist", ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateId: aws.String(id), Versions: []string{"1", "2"}},
			"InvalidLaunchTemplateId.VersionNotFound"},
		{"a malformed version", ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateId: aws.String(id), Versions: []string{"latest"}}, "InvalidParameterValue"},
		{"a malformed MinVersion", ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateId: aws.String(id), MinVersion: aws.String("$Latest")}, "InvalidParameterValue"},
		{"MaxResults 0", ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateId: aws.String(id), MaxResults: aws.Int32(0)}, "InvalidParameterValue"},
		{"MaxResults 201", ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateId: aws.String(id), MaxResults: aws.Int32(201)}, "InvalidParameterValue"},
		{"a bad NextToken", ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateId: aws.String(id), NextToken: aws.String("x")}, "InvalidParameterValue"},
		{"a unknown filter", ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateId: aws.String(id),
			Filters: []types.Filter{{Name: aws.String("owner-id"), Values: []string{"x"}}}}, "InvalidParameterValue"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.DescribeLaunchTemplateVersions(ctx, &tt.in)
			wantCode(t, err, op, tt.code, 400)
		})
	}
}

func TestDescribeLaunchTemplateVersionsPaging(t *testing.T) {
	f := fake.New()
	var templates []string
	for _, name := range []string{"one", "two", "three"} {
		id := createTemplate(t, f, name, &types.RequestLaunchTemplateData{})
		addVersion(t, f, id, "", &types.RequestLaunchTemplateData{})
		templates = append(templates, id)
	}
	all := []string{"one:2", "one:1", "two:2", "two:1", "three:2", "three:1"}
	for _, size := range []int32{1, 2, 4, 6, 200} {
		in := &ec2.DescribeLaunchTemplateVersionsInput{Versions: []string{"$Latest", "$Default"}, MaxResults: aws.Int32(size)}
		var got []string
		for pages := 1; ; pages++ {
			out, err := f.DescribeLaunchTemplateVersions(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			if n := len(out.LaunchTemplateVersions); n > int(size) || n == 0 {
				t.Errorf("page size %d: a page of %d", size, n)
			}
			got = append(got, versionNumbers(out)...)
			if out.NextToken == nil {
				break
			}
			if pages > len(all) {
				t.Fatalf("page size %d: more pages than versions", size)
			}
			in.NextToken = out.NextToken
		}
		if diff := cmp.Diff(all, got); diff != "" {
			t.Errorf("page size %d (-want +got):\n%s", size, diff)
		}
	}

	// A template deleted between two pages does not make the next page
	// skip or repeat a version that stays.
	out, err := f.DescribeLaunchTemplateVersions(ctx, &ec2.DescribeLaunchTemplateVersionsInput{Versions: []string{"$Latest", "$Default"}, MaxResults: aws.Int32(3)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.DeleteLaunchTemplate(ctx, &ec2.DeleteLaunchTemplateInput{LaunchTemplateId: aws.String(templates[0])}); err != nil {
		t.Fatal(err)
	}
	rest, err := f.DescribeLaunchTemplateVersions(ctx, &ec2.DescribeLaunchTemplateVersionsInput{
		Versions: []string{"$Latest", "$Default"}, MaxResults: aws.Int32(3), NextToken: out.NextToken,
	})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"two:1", "three:2", "three:1"}, versionNumbers(rest)); diff != "" {
		t.Errorf("page after a deletion (-want +got):\n%s", diff)
	}

	// A token of another listing is refused.
	lts, err := f.DescribeLaunchTemplates(ctx, &ec2.DescribeLaunchTemplatesInput{MaxResults: aws.Int32(1)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.DescribeLaunchTemplateVersions(ctx, &ec2.DescribeLaunchTemplateVersionsInput{Versions: []string{"$Latest"}, NextToken: lts.NextToken})
	wantCode(t, err, "DescribeLaunchTemplateVersions", "InvalidParameterValue", 400)
}

// templateNames returns the names of a DescribeLaunchTemplates answer.
func templateNames(out *ec2.DescribeLaunchTemplatesOutput) []string {
	var s []string
	for _, lt := range out.LaunchTemplates {
		s = append(s, aws.ToString(lt.LaunchTemplateName))
	}
	return s
}

func TestDescribeLaunchTemplates(t *testing.T) {
	f := fake.New()
	tag := func(k, v string) []types.TagSpecification {
		return []types.TagSpecification{{ResourceType: "launch-template", Tags: []types.Tag{{Key: aws.String(k), Value: aws.String(v)}}}}
	}
	var ids []string
	for _, in := range []ec2.CreateLaunchTemplateInput{
		{LaunchTemplateName: aws.String("web-a"), TagSpecifications: tag("team", "web")},
		{LaunchTemplateName: aws.String("web-b"), TagSpecifications: tag("team", "ops")},
		{LaunchTemplateName: aws.String("db-a")},
	} {
		in.LaunchTemplateData = &types.RequestLaunchTemplateData{}
		out, err := f.CreateLaunchTemplate(ctx, &in)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, aws.ToString(out.LaunchTemplate.LaunchTemplateId))
	}
	filter := func(name string, values ...string) []types.Filter {
		return []types.Filter{{Name: aws.String(name), Values: values}}
	}
	for _, tt := range []struct {
		name string
		in   ec2.DescribeLaunchTemplatesInput
		want []string
	}{
		{"all, in creation order", ec2.DescribeLaunchTemplatesInput{}, []string{"web-a", "web-b", "db-a"}},
		{"by ID", ec2.DescribeLaunchTemplatesInput{LaunchTemplateIds: []string{ids[2], ids[0]}}, []string{"web-a", "db-a"}},
		{"by name", ec2.DescribeLaunchTemplatesInput{LaunchTemplateNames: []string{"web-b"}}, []string{"web-b"}},
		{"by ID or name", ec2.DescribeLaunchTemplatesInput{LaunchTemplateIds: []string{ids[0]}, LaunchTemplateNames: []string{"db-a"}}, []string{"web-a", "db-a"}},
		{"filter launch-template-name", ec2.DescribeLaunchTemplatesInput{Filters: filter("launch-template-name", "web-*")}, []string{"web-a", "web-b"}},
		{"filter tag", ec2.DescribeLaunchTemplatesInput{Filters: filter("tag:team", "web")}, []string{"web-a"}},
		{"filter tag-key", ec2.DescribeLaunchTemplatesInput{Filters: filter("tag-key", "team")}, []string{"web-a", "web-b"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out, err := f.DescribeLaunchTemplates(ctx, &tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, templateNames(out)); diff != "" {
				t.Errorf("templates (-want +got):\n%s", diff)
			}
		})
	}

	const op = "DescribeLaunchTemplates"
	for _, tt := range []struct {
		name string
		in   ec2.DescribeLaunchTemplatesInput
		code string
	}{
		{"malformed ID", ec2.DescribeLaunchTemplatesInput{LaunchTemplateIds: []string{"lt-1"}}, "InvalidLaunchTemplateId.Malformed"},
		{"unknown ID", ec2.DescribeLaunchTemplatesInput{LaunchTemplateIds: []string{ids[0], "lt-0123456789abcdef0"}}, "InvalidLaunchTemplateId.NotFound"},
		{"unknown name", ec2.DescribeLaunchTemplatesInput{LaunchTemplateNames: []string{"nope"}}, "InvalidLaunchTemplateName.NotFoundException"},
		{"MaxResults 0", ec2.DescribeLaunchTemplatesInput{MaxResults: aws.Int32(0)}, "InvalidParameterValue"},
		{"MaxResults 201", ec2.DescribeLaunchTemplatesInput{MaxResults: aws.Int32(201)}, "InvalidParameterValue"},
		{"bad NextToken", ec2.DescribeLaunchTemplatesInput{NextToken: aws.String("ZmFrZS1sdDox")}, "InvalidParameterValue"},
		{"unknown filter", ec2.DescribeLaunchTemplatesInput{Filters: filter("http-tokens", "optional")}, "InvalidParameterValue"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.DescribeLaunchTemplates(ctx, &tt.in)
			wantCode(t, err, op, tt.code, 400)
		})
	}

	// Paging.
	in := &ec2.DescribeLaunchTemplatesInput{MaxResults: aws.Int32(2)}
	first, err := f.DescribeLaunchTemplates(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	in.NextToken = first.NextToken
	second, err := f.DescribeLaunchTemplates(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if got := append(templateNames(first), templateNames(second)...); first.NextToken == nil || second.NextToken != nil || !slices.Equal(got, []string{"web-a", "web-b", "db-a"}) {
		t.Errorf("pages %v then %v (token %v)", templateNames(first), templateNames(second), second.NextToken)
	}
}

func TestModifyLaunchTemplate(t *testing.T) {
	f := fake.New()
	id := createTemplate(t, f, "web", &types.RequestLaunchTemplateData{})
	addVersion(t, f, id, "", &types.RequestLaunchTemplateData{})
	out, err := f.ModifyLaunchTemplate(ctx, &ec2.ModifyLaunchTemplateInput{LaunchTemplateName: aws.String("web"), DefaultVersion: aws.String("2")})
	if err != nil {
		t.Fatal(err)
	}
	if d, l := aws.ToInt64(out.LaunchTemplate.DefaultVersionNumber), aws.ToInt64(out.LaunchTemplate.LatestVersionNumber); d != 2 || l != 2 {
		t.Errorf("default %d latest %d, want 2 and 2", d, l)
	}
	if d := versionData(t, f, id, "$Default"); d == nil {
		t.Fatal("no default version")
	}
	if out, err := f.ModifyLaunchTemplate(ctx, &ec2.ModifyLaunchTemplateInput{LaunchTemplateId: aws.String(id)}); err != nil || aws.ToInt64(out.LaunchTemplate.DefaultVersionNumber) != 2 {
		t.Errorf("without DefaultVersion: %v, %v", out, err)
	}
	const op = "ModifyLaunchTemplate"
	for _, tt := range []struct {
		version, code string
	}{
		{"3", "InvalidLaunchTemplateId.VersionNotFound"},
		{"$Latest", "InvalidParameterValue"},
		{"two", "InvalidParameterValue"},
		{"", "InvalidParameterValue"},
	} {
		_, err := f.ModifyLaunchTemplate(ctx, &ec2.ModifyLaunchTemplateInput{LaunchTemplateId: aws.String(id), DefaultVersion: aws.String(tt.version)})
		wantCode(t, err, op, tt.code, 400)
	}
	_, err = f.ModifyLaunchTemplate(ctx, &ec2.ModifyLaunchTemplateInput{DefaultVersion: aws.String("1")})
	wantCode(t, err, op, "MissingParameter", 400)
	lt, err := f.DescribeLaunchTemplates(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d := aws.ToInt64(lt.LaunchTemplates[0].DefaultVersionNumber); d != 2 {
		t.Errorf("refused requests changed the default to %d", d)
	}
}

// TestTemplateDeletedBetweenPlanAndApply walks what a caller sees when a
// template it described is deleted before it acts on it.
func TestTemplateDeletedBetweenPlanAndApply(t *testing.T) {
	f := fake.New()
	img := register(t, f, "img", "")
	id := createTemplate(t, f, "web", &types.RequestLaunchTemplateData{ImageId: aws.String(img), MetadataOptions: ltMetadata("optional", 0)})
	plan := versionData(t, f, id, "$Default") // plan
	if plan.MetadataOptions.HttpTokens != "optional" {
		t.Fatalf("plan sees %q", plan.MetadataOptions.HttpTokens)
	}
	out, err := f.DeleteLaunchTemplate(ctx, &ec2.DeleteLaunchTemplateInput{LaunchTemplateName: aws.String("web")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.LaunchTemplate.LaunchTemplateId) != id {
		t.Errorf("DeleteLaunchTemplate answered %v", out.LaunchTemplate)
	}
	for op, call := range map[string]func() error{
		"CreateLaunchTemplateVersion": func() error {
			_, err := f.CreateLaunchTemplateVersion(ctx, &ec2.CreateLaunchTemplateVersionInput{LaunchTemplateId: aws.String(id), SourceVersion: aws.String("1"),
				LaunchTemplateData: &types.RequestLaunchTemplateData{MetadataOptions: ltMetadata("required", 0)}})
			return err
		},
		"ModifyLaunchTemplate": func() error {
			_, err := f.ModifyLaunchTemplate(ctx, &ec2.ModifyLaunchTemplateInput{LaunchTemplateId: aws.String(id), DefaultVersion: aws.String("1")})
			return err
		},
		"DescribeLaunchTemplateVersions": func() error {
			_, err := f.DescribeLaunchTemplateVersions(ctx, &ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateId: aws.String(id)})
			return err
		},
		"DescribeLaunchTemplates": func() error {
			_, err := f.DescribeLaunchTemplates(ctx, &ec2.DescribeLaunchTemplatesInput{LaunchTemplateIds: []string{id}})
			return err
		},
		"DeleteLaunchTemplate": func() error {
			_, err := f.DeleteLaunchTemplate(ctx, &ec2.DeleteLaunchTemplateInput{LaunchTemplateId: aws.String(id)})
			return err
		},
		"DeleteLaunchTemplateVersions": func() error {
			_, err := f.DeleteLaunchTemplateVersions(ctx, &ec2.DeleteLaunchTemplateVersionsInput{LaunchTemplateId: aws.String(id), Versions: []string{"1"}})
			return err
		},
		"RunInstances": func() error {
			_, err := f.RunInstances(ctx, &ec2.RunInstancesInput{MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
				LaunchTemplate: &types.LaunchTemplateSpecification{LaunchTemplateId: aws.String(id)}})
			return err
		},
	} {
		wantCode(t, call(), op, "InvalidLaunchTemplateId.NotFound", 400)
	}
	_, err = f.CreateLaunchTemplateVersion(ctx, &ec2.CreateLaunchTemplateVersionInput{LaunchTemplateName: aws.String("web"), LaunchTemplateData: &types.RequestLaunchTemplateData{}})
	wantCode(t, err, "CreateLaunchTemplateVersion", "InvalidLaunchTemplateName.NotFoundException", 400)

	// The name is free again; the new template has a new ID.
	if again := createTemplate(t, f, "web", &types.RequestLaunchTemplateData{}); again == id {
		t.Errorf("a new template reused the ID %s", id)
	}
}

func TestDeleteLaunchTemplateVersions(t *testing.T) {
	f := fake.New()
	img := register(t, f, "img", "")
	id := createTemplate(t, f, "web", &types.RequestLaunchTemplateData{ImageId: aws.String(img)})
	for range 3 {
		addVersion(t, f, id, "1", &types.RequestLaunchTemplateData{})
	}
	setDefault(t, f, id, "2")
	out, err := f.DeleteLaunchTemplateVersions(ctx, &ec2.DeleteLaunchTemplateVersionsInput{
		LaunchTemplateName: aws.String("web"), Versions: []string{"1", "2", "4", "9", "4"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := &ec2.DeleteLaunchTemplateVersionsOutput{
		SuccessfullyDeletedLaunchTemplateVersions: []types.DeleteLaunchTemplateVersionsResponseSuccessItem{
			{LaunchTemplateId: aws.String(id), LaunchTemplateName: aws.String("web"), VersionNumber: aws.Int64(1)},
			{LaunchTemplateId: aws.String(id), LaunchTemplateName: aws.String("web"), VersionNumber: aws.Int64(4)},
		},
		UnsuccessfullyDeletedLaunchTemplateVersions: []types.DeleteLaunchTemplateVersionsResponseErrorItem{
			{LaunchTemplateId: aws.String(id), LaunchTemplateName: aws.String("web"), VersionNumber: aws.Int64(2),
				ResponseError: &types.ResponseError{Code: "unexpectedError"}},
			{LaunchTemplateId: aws.String(id), LaunchTemplateName: aws.String("web"), VersionNumber: aws.Int64(9),
				ResponseError: &types.ResponseError{Code: "launchTemplateVersionDoesNotExist"}},
		},
	}
	if diff := cmp.Diff(want, out, ignoreUnexported, cmpopts.IgnoreFields(types.ResponseError{}, "Message")); diff != "" {
		t.Errorf("DeleteLaunchTemplateVersions (-want +got):\n%s", diff)
	}
	left, err := f.DescribeLaunchTemplateVersions(ctx, &ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateId: aws.String(id)})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"web:3", "web:2"}, versionNumbers(left)); diff != "" {
		t.Errorf("versions left (-want +got):\n%s", diff)
	}
	lt, err := f.DescribeLaunchTemplates(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if l := aws.ToInt64(lt.LaunchTemplates[0].LatestVersionNumber); l != 3 {
		t.Errorf("LatestVersionNumber %d after deleting 4, want 3", l)
	}

	// A version that no longer exists.
	for op, call := range map[string]func() error{
		"DescribeLaunchTemplateVersions": func() error {
			_, err := f.DescribeLaunchTemplateVersions(ctx, &ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateId: aws.String(id), Versions: []string{"4"}})
			return err
		},
		"CreateLaunchTemplateVersion": func() error {
			_, err := f.CreateLaunchTemplateVersion(ctx, &ec2.CreateLaunchTemplateVersionInput{LaunchTemplateId: aws.String(id), SourceVersion: aws.String("1"),
				LaunchTemplateData: &types.RequestLaunchTemplateData{}})
			return err
		},
		"ModifyLaunchTemplate": func() error {
			_, err := f.ModifyLaunchTemplate(ctx, &ec2.ModifyLaunchTemplateInput{LaunchTemplateId: aws.String(id), DefaultVersion: aws.String("4")})
			return err
		},
		"RunInstances": func() error {
			_, err := f.RunInstances(ctx, &ec2.RunInstancesInput{MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
				LaunchTemplate: &types.LaunchTemplateSpecification{LaunchTemplateId: aws.String(id), Version: aws.String("1")}})
			return err
		},
	} {
		wantCode(t, call(), op, "InvalidLaunchTemplateId.VersionNotFound", 400)
	}

	const op = "DeleteLaunchTemplateVersions"
	for _, tt := range []struct {
		name     string
		versions []string
		code     string
	}{
		{"no versions", nil, "MissingParameter"},
		{"$Latest", []string{"$Latest"}, "InvalidParameterValue"},
		{"201 versions", slices.Repeat([]string{"3"}, 201), "InvalidParameterValue"},
	} {
		_, err := f.DeleteLaunchTemplateVersions(ctx, &ec2.DeleteLaunchTemplateVersionsInput{LaunchTemplateId: aws.String(id), Versions: tt.versions})
		wantCode(t, err, op, tt.code, 400)
	}
}

// TestLaunchFromTemplatePrecedence is the order of precedence of "Order of
// precedence for instance metadata options" with a launch template: the
// template's options are launch parameters, which the request's own
// override field by field; then the account defaults, the AMI and EC2's
// defaults; enforcement last.
func TestLaunchFromTemplatePrecedence(t *testing.T) {
	const (
		v2   = types.HttpTokensStateRequired
		v1v2 = types.HttpTokensStateOptional
	)
	for _, tt := range []struct {
		name     string
		ami      types.ImdsSupportValues
		template *types.LaunchTemplateInstanceMetadataOptionsRequest
		launch   *types.InstanceMetadataOptionsRequest
		account  ec2.ModifyInstanceMetadataDefaultsInput
		tokens   types.HttpTokensState // "" when the launch is refused
		hop      int32
	}{
		{"nothing set, plain AMI", "", nil, nil, ec2.ModifyInstanceMetadataDefaultsInput{}, v1v2, 1},
		{"nothing set, AMI v2.0", "v2.0", nil, nil, ec2.ModifyInstanceMetadataDefaultsInput{}, v2, 2},
		{"template required", "", ltMetadata("required", 0), nil, ec2.ModifyInstanceMetadataDefaultsInput{}, v2, 1},
		{"template optional beats AMI v2.0", "v2.0", ltMetadata("optional", 0), nil, ec2.ModifyInstanceMetadataDefaultsInput{}, v1v2, 2},
		{"request required beats template optional", "", ltMetadata("optional", 0),
			&types.InstanceMetadataOptionsRequest{HttpTokens: v2}, ec2.ModifyInstanceMetadataDefaultsInput{}, v2, 1},
		{"request optional beats template required", "", ltMetadata("required", 0),
			&types.InstanceMetadataOptionsRequest{HttpTokens: v1v2}, ec2.ModifyInstanceMetadataDefaultsInput{}, v1v2, 1},
		{"field by field: template hop, request tokens", "", ltMetadata("", 3),
			&types.InstanceMetadataOptionsRequest{HttpTokens: v2}, ec2.ModifyInstanceMetadataDefaultsInput{}, v2, 3},
		{"field by field: request hop, template tokens", "", ltMetadata("required", 3),
			&types.InstanceMetadataOptionsRequest{HttpPutResponseHopLimit: aws.Int32(5)}, ec2.ModifyInstanceMetadataDefaultsInput{}, v2, 5},
		{"template beats account", "", ltMetadata("optional", 0), nil,
			ec2.ModifyInstanceMetadataDefaultsInput{HttpTokens: "required", HttpPutResponseHopLimit: aws.Int32(4)}, v1v2, 4},
		{"account fills what the template leaves", "", ltMetadata("", 3), nil,
			ec2.ModifyInstanceMetadataDefaultsInput{HttpTokens: "required"}, v2, 3},
		{"account hop beats AMI v2.0, template tokens", "v2.0", ltMetadata("optional", 0), nil,
			ec2.ModifyInstanceMetadataDefaultsInput{HttpPutResponseHopLimit: aws.Int32(1)}, v1v2, 1},
		{"enforced: template optional is refused", "", ltMetadata("optional", 0), nil,
			ec2.ModifyInstanceMetadataDefaultsInput{HttpTokensEnforced: "enabled"}, "", 0},
		{"enforced: template optional on an AMI v2.0 is refused", "v2.0", ltMetadata("optional", 0), nil,
			ec2.ModifyInstanceMetadataDefaultsInput{HttpTokensEnforced: "enabled"}, "", 0},
		{"enforced: request required rescues template optional", "", ltMetadata("optional", 0),
			&types.InstanceMetadataOptionsRequest{HttpTokens: v2}, ec2.ModifyInstanceMetadataDefaultsInput{HttpTokensEnforced: "enabled"}, v2, 1},
		{"enforced: template without tokens, AMI v2.0", "v2.0", ltMetadata("", 1), nil,
			ec2.ModifyInstanceMetadataDefaultsInput{HttpTokensEnforced: "enabled"}, v2, 1},
		{"enforced: template without tokens, plain AMI", "", ltMetadata("", 1), nil,
			ec2.ModifyInstanceMetadataDefaultsInput{HttpTokensEnforced: "enabled"}, "", 0},
		{"enforced: account required fills the template's gap", "", ltMetadata("", 1), nil,
			ec2.ModifyInstanceMetadataDefaultsInput{HttpTokensEnforced: "enabled", HttpTokens: "required"}, v2, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := fake.New()
			img := register(t, f, "img", tt.ami)
			id := createTemplate(t, f, "web", &types.RequestLaunchTemplateData{ImageId: aws.String(img), MetadataOptions: tt.template})
			if _, err := f.ModifyInstanceMetadataDefaults(ctx, &tt.account); err != nil {
				t.Fatal(err)
			}
			out, err := f.RunInstances(ctx, &ec2.RunInstancesInput{
				MinCount: aws.Int32(1), MaxCount: aws.Int32(1), MetadataOptions: tt.launch,
				LaunchTemplate: &types.LaunchTemplateSpecification{LaunchTemplateId: aws.String(id)},
			})
			if tt.tokens == "" {
				wantCode(t, err, "RunInstances", "UnsupportedOperation", 400)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			md := describe(t, f, aws.ToString(out.Instances[0].InstanceId)).MetadataOptions
			if md.HttpTokens != tt.tokens || aws.ToInt32(md.HttpPutResponseHopLimit) != tt.hop {
				t.Errorf("got %s, want tokens=%s hop=%d", show(md), tt.tokens, tt.hop)
			}
		})
	}
}

func TestLaunchFromTemplate(t *testing.T) {
	f := fake.New()
	img := register(t, f, "img", "")
	other := register(t, f, "other", "v2.0")
	id := createTemplate(t, f, "web", &types.RequestLaunchTemplateData{
		ImageId:         aws.String(img),
		InstanceType:    types.InstanceTypeT3Micro,
		MetadataOptions: ltMetadata("optional", 0),
		TagSpecifications: []types.LaunchTemplateTagSpecificationRequest{
			{ResourceType: "instance", Tags: []types.Tag{{Key: aws.String("app"), Value: aws.String("web")}, {Key: aws.String("env"), Value: aws.String("dev")}}},
			{ResourceType: "volume", Tags: []types.Tag{{Key: aws.String("disk"), Value: aws.String("yes")}}},
		},
	})
	addVersion(t, f, id, "1", &types.RequestLaunchTemplateData{MetadataOptions: ltMetadata("required", 0)}) // 2
	addVersion(t, f, id, "1", &types.RequestLaunchTemplateData{InstanceType: types.InstanceTypeT3Large})    // 3

	run := func(spec types.LaunchTemplateSpecification, edit ...func(*ec2.RunInstancesInput)) types.Instance {
		t.Helper()
		in := &ec2.RunInstancesInput{MinCount: aws.Int32(1), MaxCount: aws.Int32(1), LaunchTemplate: &spec}
		for _, e := range edit {
			e(in)
		}
		out, err := f.RunInstances(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		return describe(t, f, aws.ToString(out.Instances[0].InstanceId))
	}
	tags := func(i types.Instance) map[string]string {
		m := map[string]string{}
		for _, tag := range i.Tags {
			m[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
		}
		return m
	}

	// The version: $Default unless named; the tags name the version used.
	for _, tt := range []struct {
		version string
		want    string // the version number launched
		tokens  types.HttpTokensState
		typ     types.InstanceType
	}{
		{"", "1", "optional", types.InstanceTypeT3Micro},
		{"$Default", "1", "optional", types.InstanceTypeT3Micro},
		{"$Latest", "3", "optional", types.InstanceTypeT3Large},
		{"2", "2", "required", types.InstanceTypeT3Micro},
	} {
		spec := types.LaunchTemplateSpecification{LaunchTemplateName: aws.String("web")}
		if tt.version != "" {
			spec.Version = aws.String(tt.version)
		}
		i := run(spec)
		want := map[string]string{"app": "web", "env": "dev", "aws:ec2launchtemplate:id": id, "aws:ec2launchtemplate:version": tt.want}
		if diff := cmp.Diff(want, tags(i)); diff != "" {
			t.Errorf("version %q: tags (-want +got):\n%s", tt.version, diff)
		}
		if i.MetadataOptions.HttpTokens != tt.tokens || i.InstanceType != tt.typ || aws.ToString(i.ImageId) != img {
			t.Errorf("version %q: %s %s %s, want %s %s %s", tt.version, i.MetadataOptions.HttpTokens, i.InstanceType, aws.ToString(i.ImageId), tt.tokens, tt.typ, img)
		}
	}

	// $Default follows ModifyLaunchTemplate.
	setDefault(t, f, id, "2")
	if i := run(types.LaunchTemplateSpecification{LaunchTemplateId: aws.String(id)}); i.MetadataOptions.HttpTokens != "required" || tags(i)["aws:ec2launchtemplate:version"] != "2" {
		t.Errorf("after ModifyLaunchTemplate, $Default launched %s from version %s", i.MetadataOptions.HttpTokens, tags(i)["aws:ec2launchtemplate:version"])
	}

	// The request's own parameters win: ImageId, InstanceType, and tags by
	// key; the template's tags and EC2's stay.
	i := run(types.LaunchTemplateSpecification{LaunchTemplateId: aws.String(id), Version: aws.String("1")}, func(in *ec2.RunInstancesInput) {
		in.ImageId = aws.String(other)
		in.InstanceType = types.InstanceTypeM5Large
		in.TagSpecifications = []types.TagSpecification{{ResourceType: "instance", Tags: []types.Tag{{Key: aws.String("env"), Value: aws.String("prod")}}}}
	})
	want := map[string]string{"app": "web", "env": "prod", "aws:ec2launchtemplate:id": id, "aws:ec2launchtemplate:version": "1"}
	if diff := cmp.Diff(want, tags(i)); diff != "" {
		t.Errorf("request tags (-want +got):\n%s", diff)
	}
	// Template optional beats the AMI v2.0 of the request's ImageId.
	if aws.ToString(i.ImageId) != other || i.InstanceType != types.InstanceTypeM5Large || i.MetadataOptions.HttpTokens != "optional" || aws.ToInt32(i.MetadataOptions.HttpPutResponseHopLimit) != 2 {
		t.Errorf("request overrides: %s %s %s", aws.ToString(i.ImageId), i.InstanceType, show(i.MetadataOptions))
	}

	// Existing instances are never changed by a template change.
	before := run(types.LaunchTemplateSpecification{LaunchTemplateId: aws.String(id), Version: aws.String("1")})
	addVersion(t, f, id, "", &types.RequestLaunchTemplateData{ImageId: aws.String(img), MetadataOptions: ltMetadata("required", 0)})
	setDefault(t, f, id, "4")
	if after := describe(t, f, aws.ToString(before.InstanceId)); after.MetadataOptions.HttpTokens != "optional" {
		t.Errorf("a new default version changed a running instance: %s", show(after.MetadataOptions))
	}

	const op = "RunInstances"
	noImage := createTemplate(t, f, "no-image", &types.RequestLaunchTemplateData{})
	gone := createTemplate(t, f, "gone-image", &types.RequestLaunchTemplateData{ImageId: aws.String("ami-0123456789abcdef0")})
	for _, tt := range []struct {
		name string
		spec types.LaunchTemplateSpecification
		edit func(*ec2.RunInstancesInput)
		code string
	}{
		{"no ImageId anywhere", types.LaunchTemplateSpecification{LaunchTemplateId: aws.String(noImage)}, nil, "MissingParameter"},
		{"the template's AMI does not exist", types.LaunchTemplateSpecification{LaunchTemplateId: aws.String(gone)}, nil, "InvalidAMIID.NotFound"},
		{"no template", types.LaunchTemplateSpecification{}, nil, "MissingParameter"},
		{"ID and name", types.LaunchTemplateSpecification{LaunchTemplateId: aws.String(id), LaunchTemplateName: aws.String("web")}, nil, "InvalidParameterCombination"},
		{"malformed ID", types.LaunchTemplateSpecification{LaunchTemplateId: aws.String("lt-1")}, nil, "InvalidLaunchTemplateId.Malformed"},
		{"unknown name", types.LaunchTemplateSpecification{LaunchTemplateName: aws.String("nope")}, nil, "InvalidLaunchTemplateName.NotFoundException"},
		{"unknown version", types.LaunchTemplateSpecification{LaunchTemplateId: aws.String(id), Version: aws.String("99")}, nil, "InvalidLaunchTemplateId.VersionNotFound"},
		{"malformed version", types.LaunchTemplateSpecification{LaunchTemplateId: aws.String(id), Version: aws.String("latest")}, nil, "InvalidParameterValue"},
		{"a bad request value on top of the template", types.LaunchTemplateSpecification{LaunchTemplateId: aws.String(id)},
			func(in *ec2.RunInstancesInput) {
				in.MetadataOptions = &types.InstanceMetadataOptionsRequest{HttpPutResponseHopLimit: aws.Int32(65)}
			},
			"InvalidParameterValue"},
		{"an empty request tag key", types.LaunchTemplateSpecification{LaunchTemplateId: aws.String(id)},
			func(in *ec2.RunInstancesInput) {
				in.TagSpecifications = []types.TagSpecification{{ResourceType: "instance", Tags: []types.Tag{{Value: aws.String("v")}}}}
			},
			"InvalidParameterValue"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in := &ec2.RunInstancesInput{MinCount: aws.Int32(1), MaxCount: aws.Int32(1), LaunchTemplate: &tt.spec}
			if tt.edit != nil {
				tt.edit(in)
			}
			_, err := f.RunInstances(ctx, in)
			wantCode(t, err, op, tt.code, 400)
		})
	}
}

func TestLaunchTemplateDryRunDenyAndFaults(t *testing.T) {
	f := fake.New()
	id := createTemplate(t, f, "web", &types.RequestLaunchTemplateData{})
	yes := aws.Bool(true)
	calls := map[string]func(dry *bool) error{
		"CreateLaunchTemplate": func(dry *bool) error {
			_, err := f.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String("new"),
				LaunchTemplateData: &types.RequestLaunchTemplateData{}, DryRun: dry})
			return err
		},
		"CreateLaunchTemplateVersion": func(dry *bool) error {
			_, err := f.CreateLaunchTemplateVersion(ctx, &ec2.CreateLaunchTemplateVersionInput{LaunchTemplateId: aws.String(id),
				LaunchTemplateData: &types.RequestLaunchTemplateData{}, DryRun: dry})
			return err
		},
		"DescribeLaunchTemplates": func(dry *bool) error {
			_, err := f.DescribeLaunchTemplates(ctx, &ec2.DescribeLaunchTemplatesInput{DryRun: dry})
			return err
		},
		"DescribeLaunchTemplateVersions": func(dry *bool) error {
			_, err := f.DescribeLaunchTemplateVersions(ctx, &ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateId: aws.String(id), DryRun: dry})
			return err
		},
		"ModifyLaunchTemplate": func(dry *bool) error {
			_, err := f.ModifyLaunchTemplate(ctx, &ec2.ModifyLaunchTemplateInput{LaunchTemplateId: aws.String(id), DefaultVersion: aws.String("1"), DryRun: dry})
			return err
		},
		"DeleteLaunchTemplateVersions": func(dry *bool) error {
			_, err := f.DeleteLaunchTemplateVersions(ctx, &ec2.DeleteLaunchTemplateVersionsInput{LaunchTemplateId: aws.String(id), Versions: []string{"1"}, DryRun: dry})
			return err
		},
		"DeleteLaunchTemplate": func(dry *bool) error {
			_, err := f.DeleteLaunchTemplate(ctx, &ec2.DeleteLaunchTemplateInput{LaunchTemplateId: aws.String(id), DryRun: dry})
			return err
		},
	}
	state := func() string {
		t.Helper()
		out, err := f.DescribeLaunchTemplateVersions(ctx, &ec2.DescribeLaunchTemplateVersionsInput{Versions: []string{"$Latest", "$Default"}})
		if err != nil {
			t.Fatal(err)
		}
		return strings.Join(versionNumbers(out), ",")
	}
	before := state()
	for op, call := range calls {
		wantCode(t, call(yes), op, "DryRunOperation", 412)
		f.FailNext(op, 1, nil)
		wantCode(t, call(nil), op, "InternalError", 500)
		c, cancel := context.WithCancel(ctx)
		cancel()
		if err := callWith(c, f, op, id); !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a canceled context: %v", op, err)
		}
	}
	if after := state(); after != before {
		t.Errorf("dry runs and failures changed the templates: %s, want %s", after, before)
	}
	for op, call := range calls {
		f.Deny(op)
		wantCode(t, call(nil), op, "UnauthorizedOperation", 403)
		wantCode(t, call(yes), op, "UnauthorizedOperation", 403)
		if n := f.Calls(op); n < 5 {
			t.Errorf("%s: Calls = %d, want at least 5", op, n)
		}
	}
}

// callWith calls operation op of f with context c.
func callWith(c context.Context, f *fake.EC2, op, id string) error {
	var err error
	switch op {
	case "CreateLaunchTemplate":
		_, err = f.CreateLaunchTemplate(c, &ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String("new"), LaunchTemplateData: &types.RequestLaunchTemplateData{}})
	case "CreateLaunchTemplateVersion":
		_, err = f.CreateLaunchTemplateVersion(c, &ec2.CreateLaunchTemplateVersionInput{LaunchTemplateId: aws.String(id), LaunchTemplateData: &types.RequestLaunchTemplateData{}})
	case "DescribeLaunchTemplates":
		_, err = f.DescribeLaunchTemplates(c, nil)
	case "DescribeLaunchTemplateVersions":
		_, err = f.DescribeLaunchTemplateVersions(c, &ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateId: aws.String(id)})
	case "ModifyLaunchTemplate":
		_, err = f.ModifyLaunchTemplate(c, &ec2.ModifyLaunchTemplateInput{LaunchTemplateId: aws.String(id)})
	case "DeleteLaunchTemplateVersions":
		_, err = f.DeleteLaunchTemplateVersions(c, &ec2.DeleteLaunchTemplateVersionsInput{LaunchTemplateId: aws.String(id), Versions: []string{"1"}})
	case "DeleteLaunchTemplate":
		_, err = f.DeleteLaunchTemplate(c, &ec2.DeleteLaunchTemplateInput{LaunchTemplateId: aws.String(id)})
	}
	return err
}

func TestLaunchFromTemplateLeavesRequestAlone(t *testing.T) {
	f := fake.New()
	img := register(t, f, "img", "")
	id := createTemplate(t, f, "web", &types.RequestLaunchTemplateData{ImageId: aws.String(img), MetadataOptions: ltMetadata("required", 3)})
	in := &ec2.RunInstancesInput{
		MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		LaunchTemplate:    &types.LaunchTemplateSpecification{LaunchTemplateId: aws.String(id)},
		MetadataOptions:   &types.InstanceMetadataOptionsRequest{HttpEndpoint: "enabled"},
		TagSpecifications: []types.TagSpecification{{ResourceType: "instance", Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}}},
	}
	if _, err := f.RunInstances(ctx, in); err != nil {
		t.Fatal(err)
	}
	if in.ImageId != nil || in.MetadataOptions.HttpTokens != "" || in.MetadataOptions.HttpPutResponseHopLimit != nil || len(in.TagSpecifications[0].Tags) != 1 || in.LaunchTemplate.Version != nil {
		t.Errorf("RunInstances changed its request: %+v", in)
	}
}

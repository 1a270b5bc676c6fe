package fake_test

import (
	"errors"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"

	"github.com/imdsopts/imdsopts/fake"
)

// seed launches n instances with f.Launch and fails the test on an error.
func seed(t testing.TB, f *fake.EC2, n int, optFns ...func(*fake.LaunchOptions)) []string {
	t.Helper()
	ids, err := f.Launch(n, optFns...)
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// seedOne launches one instance with f.Launch and returns its ID.
func seedOne(t testing.TB, f *fake.EC2, optFns ...func(*fake.LaunchOptions)) string {
	t.Helper()
	return seed(t, f, 1, optFns...)[0]
}

func TestLaunch(t *testing.T) {
	f := fake.New()
	launched := seed(t, f, 3)
	if want := []string{"i-00000000000000001", "i-00000000000000002", "i-00000000000000003"}; !slices.Equal(launched, want) {
		t.Errorf("IDs %v, want %v", launched, want)
	}
	out, err := f.DescribeInstances(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ids(out), launched) || len(out.Reservations) != 1 {
		t.Errorf("described %v, want %v in one reservation", ids(out), launched)
	}
	imgs, err := f.DescribeImages(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(imgs.Images) != 1 || imgs.Images[0].ImdsSupport != "" {
		t.Fatalf("images %+v, want the one Launch registered, without ImdsSupport", imgs.Images)
	}
	img := aws.ToString(imgs.Images[0].ImageId)
	for _, inst := range out.Reservations[0].Instances {
		md := inst.MetadataOptions
		if aws.ToString(inst.ImageId) != img || inst.State.Name != "running" || md.HttpTokens != "optional" ||
			aws.ToInt32(md.HttpPutResponseHopLimit) != 1 || md.State != "applied" || inst.Tags != nil {
			t.Errorf("%s: image %s, %s, %s", aws.ToString(inst.InstanceId), aws.ToString(inst.ImageId), inst.State.Name, show(md))
		}
	}
	// Seeding is not an API call.
	if c := f.CallCounts(); len(c) != 2 || c["DescribeInstances"] != 1 || c["DescribeImages"] != 1 {
		t.Errorf("CallCounts = %v, want only the two Describe calls of the test", c)
	}
}

func TestLaunchOptions(t *testing.T) {
	f := fake.New(func(o *fake.Options) { o.ApplyDelay = 0 })
	v2 := seedOne(t, f, func(o *fake.LaunchOptions) { o.ImdsSupport = "v2.0" })
	image := aws.ToString(describe(t, f, v2).ImageId)

	for _, tt := range []struct {
		name  string
		opts  func(*fake.LaunchOptions)
		check func(types.Instance) bool
	}{
		{"ImdsSupport v2.0", func(o *fake.LaunchOptions) { o.ImdsSupport = "v2.0" }, func(i types.Instance) bool {
			return i.MetadataOptions.HttpTokens == "required" && aws.ToInt32(i.MetadataOptions.HttpPutResponseHopLimit) == 2
		}},
		{"ImageID of an existing image", func(o *fake.LaunchOptions) { o.ImageID = image }, func(i types.Instance) bool {
			return aws.ToString(i.ImageId) == image && i.MetadataOptions.HttpTokens == "required"
		}},
		{"MetadataOptions override the image", func(o *fake.LaunchOptions) {
			o.ImageID = image
			o.MetadataOptions = &types.InstanceMetadataOptionsRequest{HttpTokens: "optional", InstanceMetadataTags: "enabled"}
		}, func(i types.Instance) bool {
			md := i.MetadataOptions
			return md.HttpTokens == "optional" && aws.ToInt32(md.HttpPutResponseHopLimit) == 2 && md.InstanceMetadataTags == "enabled"
		}},
		{"Tags", func(o *fake.LaunchOptions) { o.Tags = map[string]string{"team": "blue", "Name": "web"} }, func(i types.Instance) bool {
			return len(i.Tags) == 2 && aws.ToString(i.Tags[0].Key) == "Name" && aws.ToString(i.Tags[0].Value) == "web" &&
				aws.ToString(i.Tags[1].Key) == "team" && aws.ToString(i.Tags[1].Value) == "blue"
		}},
		{"Stopped", func(o *fake.LaunchOptions) { o.Stopped = true }, func(i types.Instance) bool {
			return i.State.Name == "stopped" && aws.ToInt32(i.State.Code) == 80 && i.MetadataOptions.State == "applied"
		}},
		{"InstanceType", func(o *fake.LaunchOptions) { o.InstanceType = "t3.micro" }, func(i types.Instance) bool {
			return i.InstanceType == "t3.micro"
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, id := range seed(t, f, 2, tt.opts) {
				if inst := describe(t, f, id); !tt.check(inst) {
					t.Errorf("%s: %s %s tags %v", id, inst.State.Name, show(inst.MetadataOptions), inst.Tags)
				}
			}
		})
	}

	// The tags of a stopped launch are filterable and the instances can be
	// started like any other.
	stopped := seed(t, f, 2, func(o *fake.LaunchOptions) { o.Stopped = true; o.Tags = map[string]string{"k": "stopped"} })
	assertFilter(t, f, "tag:k", "stopped", stopped...)
	if _, err := f.StartInstances(ctx, &ec2.StartInstancesInput{InstanceIds: stopped}); err != nil {
		t.Fatal(err)
	}
	for _, id := range stopped {
		if st := describe(t, f, id).State.Name; st != "running" {
			t.Errorf("%s: %s after StartInstances", id, st)
		}
	}
}

func TestLaunchManyInReservationsOf1000(t *testing.T) {
	f := fake.New()
	launched := seed(t, f, 2500)
	if len(launched) != 2500 || launched[2499] != "i-000000000000009c4" {
		t.Fatalf("%d IDs ending in %s", len(launched), launched[len(launched)-1])
	}
	out, err := f.DescribeInstances(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var sizes []int
	for _, r := range out.Reservations {
		sizes = append(sizes, len(r.Instances))
	}
	if !slices.Equal(sizes, []int{1000, 1000, 500}) || !slices.Equal(ids(out), launched) {
		t.Errorf("reservations of %v, want [1000 1000 500] in launch order", sizes)
	}
}

func TestLaunchErrors(t *testing.T) {
	f := fake.New()
	image := aws.ToString(describe(t, f, seedOne(t, f)).ImageId)
	for _, tt := range []struct {
		name string
		n    int
		opts func(*fake.LaunchOptions)
		code string
	}{
		{"no instances", 0, nil, "InvalidParameterValue"},
		{"negative count", -1, nil, "InvalidParameterValue"},
		{"bad ImdsSupport", 1, func(o *fake.LaunchOptions) { o.ImdsSupport = "v1.0" }, "InvalidParameterValue"},
		{"ImageID and ImdsSupport", 1, func(o *fake.LaunchOptions) { o.ImageID, o.ImdsSupport = image, "v2.0" }, "InvalidParameterCombination"},
		{"malformed image", 1, func(o *fake.LaunchOptions) { o.ImageID = "ami-1" }, "InvalidAMIID.Malformed"},
		{"unknown image", 1, func(o *fake.LaunchOptions) { o.ImageID = "ami-0123456789abcdef0" }, "InvalidAMIID.NotFound"},
		{"hop limit 65", 1, func(o *fake.LaunchOptions) {
			o.MetadataOptions = &types.InstanceMetadataOptionsRequest{HttpPutResponseHopLimit: aws.Int32(65)}
		}, "InvalidParameterValue"},
		{"tokens V2", 1, func(o *fake.LaunchOptions) {
			o.MetadataOptions = &types.InstanceMetadataOptionsRequest{HttpTokens: "V2"}
		}, "InvalidParameterValue"},
		{"empty tag key", 1, func(o *fake.LaunchOptions) { o.Tags = map[string]string{"": "x"} }, "InvalidParameterValue"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.Launch(tt.n, tt.opts)
			wantCode(t, err, "RunInstances", tt.code, 400)
		})
	}
	assertUnchanged(t, f, 1, 1)
}

// assertUnchanged fails the test unless the fake holds the given numbers of
// instances and images.
func assertUnchanged(t *testing.T, f *fake.EC2, instances, images int) {
	t.Helper()
	out, err := f.DescribeInstances(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	imgs, err := f.DescribeImages(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(ids(out)) != instances || len(imgs.Images) != images {
		t.Errorf("%d instances and %d images, want %d and %d", len(ids(out)), len(imgs.Images), instances, images)
	}
}

// TestLaunchEnforcement: an account that enforces IMDSv2 refuses a Launch
// exactly as it refuses RunInstances, and the refused Launch leaves no image
// behind.
func TestLaunchEnforcement(t *testing.T) {
	f := fake.New()
	if _, err := f.ModifyInstanceMetadataDefaults(ctx, &ec2.ModifyInstanceMetadataDefaultsInput{HttpTokensEnforced: "enabled"}); err != nil {
		t.Fatal(err)
	}
	_, launchErr := f.Launch(1)
	wantCode(t, launchErr, "RunInstances", "UnsupportedOperation", 400)
	assertUnchanged(t, f, 0, 0)

	image := register(t, f, "plain", "")
	_, runErr := f.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String(image), MinCount: aws.Int32(1), MaxCount: aws.Int32(1)})
	var a, b smithy.APIError
	if !errors.As(launchErr, &a) || !errors.As(runErr, &b) || a.ErrorCode() != b.ErrorCode() || a.ErrorMessage() != b.ErrorMessage() {
		t.Errorf("Launch answered %v, RunInstances %v: want the same error", launchErr, runErr)
	}
	_, err := f.Launch(1, func(o *fake.LaunchOptions) { o.ImageID = image })
	wantCode(t, err, "RunInstances", "UnsupportedOperation", 400)

	seed(t, f, 2, func(o *fake.LaunchOptions) { o.ImdsSupport = "v2.0" })
	seed(t, f, 1, func(o *fake.LaunchOptions) {
		o.ImageID = image
		o.MetadataOptions = &types.InstanceMetadataOptionsRequest{HttpTokens: "required"}
	})
	assertUnchanged(t, f, 3, 2)
}

// TestLaunchIsNotAnAPICall: FailNext and Deny, which act on API calls, leave
// Launch alone, and it is not counted.
func TestLaunchIsNotAnAPICall(t *testing.T) {
	f := fake.New()
	f.FailNext("RunInstances", 1, nil)
	f.FailNext("RegisterImage", 1, nil)
	f.Deny("RunInstances")
	f.Deny("RegisterImage")
	seed(t, f, 3)
	if n := f.Calls("RunInstances") + f.Calls("RegisterImage"); n != 0 {
		t.Errorf("Launch counted as %d calls", n)
	}
	// The injected fault is still queued for the next real call.
	_, err := f.RegisterImage(ctx, &ec2.RegisterImageInput{Name: aws.String("x")})
	wantCode(t, err, "RegisterImage", "InternalError", 500)
}

func TestLaunchPropagationDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := fake.New(func(o *fake.Options) { o.PropagationDelay = 5 * time.Second })
		id := seedOne(t, f)
		_, err := f.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
		wantCode(t, err, "DescribeInstances", "InvalidInstanceID.NotFound", 400)
		time.Sleep(5 * time.Second)
		describe(t, f, id)
	})
}

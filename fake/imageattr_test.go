package fake_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/google/go-cmp/cmp"

	"github.com/imdsopts/imdsopts/fake"
)

// imageAttributeClient is the image attribute part of *ec2.Client the
// fake implements; both must satisfy it.
type imageAttributeClient interface {
	ModifyImageAttribute(context.Context, *ec2.ModifyImageAttributeInput, ...func(*ec2.Options)) (*ec2.ModifyImageAttributeOutput, error)
	DescribeImageAttribute(context.Context, *ec2.DescribeImageAttributeInput, ...func(*ec2.Options)) (*ec2.DescribeImageAttributeOutput, error)
}

var (
	_ imageAttributeClient = (*ec2.Client)(nil)
	_ imageAttributeClient = (*fake.EC2)(nil)
)

// imdsSupport returns the imdsSupport attribute of image id.
func imdsSupport(t *testing.T, f *fake.EC2, id string) string {
	t.Helper()
	out, err := f.DescribeImageAttribute(ctx, &ec2.DescribeImageAttributeInput{ImageId: aws.String(id), Attribute: types.ImageAttributeNameImdsSupport})
	if err != nil {
		t.Fatal(err)
	}
	if out.ImdsSupport == nil || aws.ToString(out.ImageId) != id {
		t.Fatalf("DescribeImageAttribute(%s) = %+v", id, out)
	}
	return aws.ToString(out.ImdsSupport.Value)
}

func TestImdsSupportIsIrreversible(t *testing.T) {
	f := fake.New()
	img := register(t, f, "img", "")
	before := aws.ToString(launch(t, f, img, 1)[0].InstanceId)
	if v := imdsSupport(t, f, img); v != "" {
		t.Fatalf("new image has imdsSupport %q", v)
	}
	const op = "ModifyImageAttribute"
	if _, err := f.ModifyImageAttribute(ctx, &ec2.ModifyImageAttributeInput{ImageId: aws.String(img), Attribute: aws.String("imdsSupport"), Value: aws.String("v2.0"), DryRun: aws.Bool(true)}); code(err) != "DryRunOperation" {
		t.Fatalf("dry run: %v", err)
	}
	if v := imdsSupport(t, f, img); v != "" {
		t.Fatalf("a dry run set imdsSupport %q", v)
	}
	if _, err := f.ModifyImageAttribute(ctx, &ec2.ModifyImageAttributeInput{ImageId: aws.String(img), Attribute: aws.String("imdsSupport"), Value: aws.String("v2.0")}); err != nil {
		t.Fatal(err)
	}
	if v := imdsSupport(t, f, img); v != "v2.0" {
		t.Fatalf("imdsSupport %q after setting v2.0", v)
	}
	imgs, err := f.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{img}})
	if err != nil {
		t.Fatal(err)
	}
	if got := imgs.Images[0].ImdsSupport; got != "v2.0" {
		t.Errorf("DescribeImages ImdsSupport %q", got)
	}

	// Launches resolve from the AMI now; running instances do not change.
	if md := launch(t, f, img, 1)[0].MetadataOptions; md.HttpTokens != "required" || aws.ToInt32(md.HttpPutResponseHopLimit) != 2 {
		t.Errorf("launch after v2.0: %s", show(md))
	}
	if md := describe(t, f, before).MetadataOptions; md.HttpTokens != "optional" {
		t.Errorf("instance launched before v2.0: %s", show(md))
	}

	// It cannot be undone, in any of the request's forms; v2.0 again is
	// no change.
	for _, in := range []ec2.ModifyImageAttributeInput{
		{Attribute: aws.String("imdsSupport"), Value: aws.String("v1.0")},
		{Attribute: aws.String("imdsSupport"), Value: aws.String("")},
		{Attribute: aws.String("imdsSupport"), Value: aws.String("none")},
		{Attribute: aws.String("imdsSupport"), Value: aws.String("V2.0")},
		{ImdsSupport: &types.AttributeValue{Value: aws.String("")}},
		{ImdsSupport: &types.AttributeValue{Value: aws.String("v1.0")}},
	} {
		in.ImageId = aws.String(img)
		_, err := f.ModifyImageAttribute(ctx, &in)
		wantCode(t, err, op, "InvalidParameterValue", 400)
	}
	for _, in := range []ec2.ModifyImageAttributeInput{
		{Attribute: aws.String("imdsSupport"), Value: aws.String("v2.0")},
		{ImdsSupport: &types.AttributeValue{Value: aws.String("v2.0")}},
		{Attribute: aws.String("imdsSupport"), ImdsSupport: &types.AttributeValue{Value: aws.String("v2.0")}},
	} {
		in.ImageId = aws.String(img)
		if _, err := f.ModifyImageAttribute(ctx, &in); err != nil {
			t.Errorf("setting v2.0 again: %v", err)
		}
	}
	if v := imdsSupport(t, f, img); v != "v2.0" {
		t.Errorf("imdsSupport %q after attempts to undo it", v)
	}
}

func TestImdsSupportOnAnImageWithoutIt(t *testing.T) {
	f := fake.New()
	img := register(t, f, "img", "")
	// A value other than v2.0 is refused also on an image without v2.0.
	_, err := f.ModifyImageAttribute(ctx, &ec2.ModifyImageAttributeInput{ImageId: aws.String(img), ImdsSupport: &types.AttributeValue{Value: aws.String("v1.0")}})
	wantCode(t, err, "ModifyImageAttribute", "InvalidParameterValue", 400)
	// The ImdsSupport form alone sets it.
	if _, err := f.ModifyImageAttribute(ctx, &ec2.ModifyImageAttributeInput{ImageId: aws.String(img), ImdsSupport: &types.AttributeValue{Value: aws.String("v2.0")}}); err != nil {
		t.Fatal(err)
	}
	if v := imdsSupport(t, f, img); v != "v2.0" {
		t.Errorf("imdsSupport %q", v)
	}
}

func TestImageDescription(t *testing.T) {
	f := fake.New()
	img := register(t, f, "img", "")
	for _, in := range []ec2.ModifyImageAttributeInput{
		{Attribute: aws.String("description"), Value: aws.String("first")},
		{Description: &types.AttributeValue{Value: aws.String("second")}},
	} {
		in.ImageId = aws.String(img)
		if _, err := f.ModifyImageAttribute(ctx, &in); err != nil {
			t.Fatal(err)
		}
		want := aws.ToString(in.Value)
		if in.Description != nil {
			want = aws.ToString(in.Description.Value)
		}
		out, err := f.DescribeImageAttribute(ctx, &ec2.DescribeImageAttributeInput{ImageId: aws.String(img), Attribute: "description"})
		if err != nil {
			t.Fatal(err)
		}
		if got := aws.ToString(out.Description.Value); got != want {
			t.Errorf("description %q, want %q", got, want)
		}
		imgs, err := f.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{img}})
		if err != nil {
			t.Fatal(err)
		}
		if got := aws.ToString(imgs.Images[0].Description); got != want {
			t.Errorf("DescribeImages description %q, want %q", got, want)
		}
	}
	out, err := f.DescribeImageAttribute(ctx, &ec2.DescribeImageAttributeInput{ImageId: aws.String(img), Attribute: "launchPermission"})
	if err != nil || out.LaunchPermissions == nil || len(out.LaunchPermissions) != 0 {
		t.Errorf("launchPermission: %+v, %v", out, err)
	}
	out, err = f.DescribeImageAttribute(ctx, &ec2.DescribeImageAttributeInput{ImageId: aws.String(img), Attribute: "bootMode"})
	if err != nil || aws.ToString(out.ImageId) != img || out.BootMode != nil {
		t.Errorf("bootMode: %+v, %v", out, err)
	}
}

func TestImageAttributeErrors(t *testing.T) {
	f := fake.New()
	img := register(t, f, "img", "")
	modify := func(in ec2.ModifyImageAttributeInput) func() (string, error) {
		return func() (string, error) {
			_, err := f.ModifyImageAttribute(ctx, &in)
			return "ModifyImageAttribute", err
		}
	}
	describeAttr := func(in ec2.DescribeImageAttributeInput) func() (string, error) {
		return func() (string, error) {
			_, err := f.DescribeImageAttribute(ctx, &in)
			return "DescribeImageAttribute", err
		}
	}
	id := aws.String(img)
	v2 := aws.String("v2.0")
	for _, tt := range []struct {
		name   string
		call   func() (string, error)
		code   string
		status int
	}{
		{"modify: no image", modify(ec2.ModifyImageAttributeInput{Attribute: aws.String("imdsSupport"), Value: v2}), "MissingParameter", 400},
		{"modify: malformed image", modify(ec2.ModifyImageAttributeInput{ImageId: aws.String("ami-x"), Attribute: aws.String("imdsSupport"), Value: v2}), "InvalidAMIID.Malformed", 400},
		{"modify: unknown image", modify(ec2.ModifyImageAttributeInput{ImageId: aws.String("ami-0123456789abcdef0"), Attribute: aws.String("imdsSupport"), Value: v2}), "InvalidAMIID.NotFound", 400},
		{"modify: nothing to modify", modify(ec2.ModifyImageAttributeInput{ImageId: id}), "MissingParameter", 400},
		{"modify: no value", modify(ec2.ModifyImageAttributeInput{ImageId: id, Attribute: aws.String("imdsSupport")}), "MissingParameter", 400},
		{"modify: unknown attribute", modify(ec2.ModifyImageAttributeInput{ImageId: id, Attribute: aws.String("imds"), Value: v2}), "InvalidParameterValue", 400},
		{"modify: attribute not modelled", modify(ec2.ModifyImageAttributeInput{ImageId: id, Attribute: aws.String("launchPermission"), UserIds: []string{"111122223333"}}),
			"UnsupportedOperation", 400},
		{"modify: two attributes", modify(ec2.ModifyImageAttributeInput{ImageId: id, ImdsSupport: &types.AttributeValue{Value: v2}, Description: &types.AttributeValue{Value: v2}}),
			"InvalidParameterCombination", 400},
		{"modify: attribute and another's value", modify(ec2.ModifyImageAttributeInput{ImageId: id, Attribute: aws.String("description"), ImdsSupport: &types.AttributeValue{Value: v2}}),
			"InvalidParameterCombination", 400},
		{"modify: two values that differ", modify(ec2.ModifyImageAttributeInput{ImageId: id, Attribute: aws.String("imdsSupport"), Value: v2, ImdsSupport: &types.AttributeValue{Value: aws.String("v1.0")}}),
			"InvalidParameterCombination", 400},
		{"describe: no image", describeAttr(ec2.DescribeImageAttributeInput{Attribute: "imdsSupport"}), "MissingParameter", 400},
		{"describe: unknown image", describeAttr(ec2.DescribeImageAttributeInput{ImageId: aws.String("ami-0123456789abcdef0"), Attribute: "imdsSupport"}), "InvalidAMIID.NotFound", 400},
		{"describe: no attribute", describeAttr(ec2.DescribeImageAttributeInput{ImageId: id}), "MissingParameter", 400},
		{"describe: unknown attribute", describeAttr(ec2.DescribeImageAttributeInput{ImageId: id, Attribute: "ImdsSupport"}), "InvalidParameterValue", 400},
		{"describe: blockDeviceMapping", describeAttr(ec2.DescribeImageAttributeInput{ImageId: id, Attribute: "blockDeviceMapping"}), "AuthFailure", 403},
	} {
		t.Run(tt.name, func(t *testing.T) {
			op, err := tt.call()
			wantCode(t, err, op, tt.code, tt.status)
		})
	}
	if v := imdsSupport(t, f, img); v != "" {
		t.Errorf("refused requests set imdsSupport %q", v)
	}
}

func TestImageOfAnotherAccount(t *testing.T) {
	const owner = "111122223333"
	f := fake.New()
	own := register(t, f, "base", "")
	public, err := f.AddImage(owner, "base", "") // names are unique per owner
	if err != nil {
		t.Fatal(err)
	}
	publicV2, err := f.AddImage(owner, "base-v2", "v2.0")
	if err != nil {
		t.Fatal(err)
	}
	if r, err := f.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String(own), MinCount: aws.Int32(1), MaxCount: aws.Int32(1)}); err != nil || aws.ToString(r.OwnerId) != fake.AccountID {
		t.Errorf("reservation owner is not AccountID %s: %v", fake.AccountID, err)
	}
	if n := f.Calls("RegisterImage"); n != 1 {
		t.Errorf("AddImage counted as RegisterImage: %d calls", n)
	}

	// DescribeImages reports the owner and honours Owners and the filters.
	images := func(in *ec2.DescribeImagesInput) []string {
		t.Helper()
		out, err := f.DescribeImages(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		var s []string
		for _, im := range out.Images {
			s = append(s, aws.ToString(im.ImageId)+" "+aws.ToString(im.OwnerId)+" "+map[bool]string{true: "public", false: "private"}[aws.ToBool(im.Public)])
		}
		return s
	}
	all := []string{own + " 123456789012 private", public + " " + owner + " public", publicV2 + " " + owner + " public"}
	for _, tt := range []struct {
		name string
		in   ec2.DescribeImagesInput
		want []string
	}{
		{"all", ec2.DescribeImagesInput{}, all},
		{"self", ec2.DescribeImagesInput{Owners: []string{"self"}}, all[:1]},
		{"the own account's ID", ec2.DescribeImagesInput{Owners: []string{fake.AccountID}}, all[:1]},
		{"the other account", ec2.DescribeImagesInput{Owners: []string{owner}}, all[1:]},
		{"both", ec2.DescribeImagesInput{Owners: []string{owner, "self"}}, all},
		{"an alias", ec2.DescribeImagesInput{Owners: []string{"amazon"}}, nil},
		{"filter owner-id", ec2.DescribeImagesInput{Filters: []types.Filter{{Name: aws.String("owner-id"), Values: []string{owner}}}}, all[1:]},
		{"filter is-public", ec2.DescribeImagesInput{Filters: []types.Filter{{Name: aws.String("is-public"), Values: []string{"false"}}}}, all[:1]},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, images(&tt.in)); diff != "" {
				t.Errorf("images (-want +got):\n%s", diff)
			}
		})
	}
	_, err = f.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"someone"}})
	wantCode(t, err, "DescribeImages", "InvalidUserID.Malformed", 400)

	// The account can launch it but not modify it, dry run or not.
	if md := launch(t, f, publicV2, 1)[0].MetadataOptions; md.HttpTokens != "required" {
		t.Errorf("launch from another account's v2.0 image: %s", show(md))
	}
	for _, dry := range []*bool{nil, aws.Bool(true)} {
		_, err := f.ModifyImageAttribute(ctx, &ec2.ModifyImageAttributeInput{ImageId: aws.String(public), Attribute: aws.String("imdsSupport"), Value: aws.String("v2.0"), DryRun: dry})
		wantCode(t, err, "ModifyImageAttribute", "AuthFailure", 403)
	}
	_, err = f.DescribeImageAttribute(ctx, &ec2.DescribeImageAttributeInput{ImageId: aws.String(public), Attribute: "imdsSupport"})
	wantCode(t, err, "DescribeImageAttribute", "AuthFailure", 403)
	imgs, err := f.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{public}})
	if err != nil {
		t.Fatal(err)
	}
	if v := imgs.Images[0].ImdsSupport; v != "" {
		t.Errorf("another account's image changed: ImdsSupport %q", v)
	}

	for _, tt := range []struct {
		owner, name string
		imds        types.ImdsSupportValues
	}{
		{"1111", "x", ""},
		{"11112222333a", "x", ""},
		{fake.AccountID, "x", ""},
		{owner, "", ""},
		{owner, "base", ""},
		{owner, "x", "v1.0"},
	} {
		if id, err := f.AddImage(tt.owner, tt.name, tt.imds); err == nil {
			t.Errorf("AddImage(%q, %q, %q) = %s, want an error", tt.owner, tt.name, tt.imds, id)
		}
	}
}

func TestImageAttributeDenyAndFaults(t *testing.T) {
	f := fake.New()
	img := register(t, f, "img", "")
	modify := func() error {
		_, err := f.ModifyImageAttribute(ctx, &ec2.ModifyImageAttributeInput{ImageId: aws.String(img), Attribute: aws.String("imdsSupport"), Value: aws.String("v2.0")})
		return err
	}
	describeAttr := func() error {
		_, err := f.DescribeImageAttribute(ctx, &ec2.DescribeImageAttributeInput{ImageId: aws.String(img), Attribute: "imdsSupport"})
		return err
	}
	for op, call := range map[string]func() error{"ModifyImageAttribute": modify, "DescribeImageAttribute": describeAttr} {
		f.FailNext(op, 1, nil)
		wantCode(t, call(), op, "InternalError", 500)
	}
	if v := imdsSupport(t, f, img); v != "" {
		t.Errorf("a failed call set imdsSupport %q", v)
	}
	for op, call := range map[string]func() error{"ModifyImageAttribute": modify, "DescribeImageAttribute": describeAttr} {
		f.Deny(op)
		wantCode(t, call(), op, "UnauthorizedOperation", 403)
	}
}

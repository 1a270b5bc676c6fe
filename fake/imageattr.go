package fake

import (
	"context"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/imdsopts/imdsopts/internal/awsid"
)

// AccountID is the AWS account the caller of an EC2 fake made with [New]
// acts as: it owns the reservations, the launch templates and the images
// registered with RegisterImage. Images added with [EC2.AddImage] belong to
// other accounts. The EC2 fakes of an [Organization] act as their own
// accounts (see [EC2.AccountID]).
const AccountID = "123456789012"

// Image attribute operations. For request throttling, ModifyImageAttribute
// has a bucket of its own size (EC2: 100 tokens, 5 a second) and
// DescribeImageAttribute is a non-mutating call (100 tokens, 20 a second):
// see apiThrottling.
const (
	opModifyImageAttribute   = "ModifyImageAttribute"
	opDescribeImageAttribute = "DescribeImageAttribute"
)

// Error codes of the image attribute operations.
const (
	// codeAuthFailure is what the fake answers an action on an image the
	// account does not own. EC2's list of error codes names AuthFailure
	// for "trying to use an AMI for which you do not have permissions";
	// that it is the code (and 403 the status) of ModifyImageAttribute on
	// another account's image is unverified.
	codeAuthFailure    = "AuthFailure"
	codeUserMalformed  = "InvalidUserID.Malformed"
	attrImdsSupport    = "imdsSupport"
	attrDescription    = "description"
	ownerSelf          = "self"
	imageAttributeHelp = "the fake models the attributes description and imdsSupport"
)

// ownerAliases are the owners DescribeImages accepts by name besides
// "self"; no image of the fake belongs to them.
var ownerAliases = []string{"amazon", "aws-marketplace", "aws-backup-vault"}

// own reports whether the image belongs to the fake's own account.
func (im *image) own() bool { return !im.foreign }

func (im *image) ownerID() string { return im.owner }

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return aws.String(s)
}

// ownersFilter returns the test of an image against the Owners of a
// DescribeImages request; every image passes when owners is empty.
func ownersFilter(op string, owners []string) (func(*image) bool, error) {
	for _, o := range owners {
		if o != ownerSelf && !awsid.IsAccountID(o) && !slices.Contains(ownerAliases, o) {
			return nil, badRequest(op, codeUserMalformed, "Invalid user id: %q", o)
		}
	}
	return func(im *image) bool {
		return len(owners) == 0 ||
			slices.Contains(owners, im.ownerID()) ||
			im.own() && slices.Contains(owners, ownerSelf)
	}, nil
}

// AddImage adds an available image named name that account ownerID owns
// and has made public, and returns its ID. The caller can launch it and
// describe it (its OwnerId is ownerID, Public true), but not modify it:
// ModifyImageAttribute answers AuthFailure. imdsSupport is "" or "v2.0".
// AddImage is not an EC2 operation: it is not counted by Calls and cannot
// fail with FailNext. It returns an error when ownerID is not 12 digits or
// is the fake's own account, [EC2.AccountID] (register the account's own
// images with RegisterImage),
// when name is empty or already names an image of ownerID, or when
// imdsSupport is not a valid value.
func (f *EC2) AddImage(ownerID, name string, imdsSupport types.ImdsSupportValues) (string, error) {
	switch {
	case !awsid.IsAccountID(ownerID):
		return "", fmt.Errorf("fake: AddImage: owner %q: must be an account ID of 12 digits", ownerID)
	case ownerID == f.account:
		return "", fmt.Errorf("fake: AddImage: owner %s is the fake's own account: use RegisterImage", ownerID)
	case name == "":
		return "", fmt.Errorf("fake: AddImage: the image name must not be empty")
	case imdsSupport != "" && imdsSupport != types.ImdsSupportValuesV20:
		return "", fmt.Errorf("fake: AddImage: ImdsSupport %q: must be empty or %q", imdsSupport, types.ImdsSupportValuesV20)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, im := range f.imageOrder {
		if im.owner == ownerID && im.name == name {
			return "", fmt.Errorf("fake: AddImage: account %s already has an image named %q: %s", ownerID, name, im.id)
		}
	}
	im := &image{id: newID("ami", &f.nextImage), name: name, owner: ownerID, foreign: true, imdsSupport: imdsSupport}
	f.images[im.id] = im
	f.imageOrder = append(f.imageOrder, im)
	return im.id, nil
}

// findImage returns the image ImageId names: it must be given, well formed
// and exist.
func (f *EC2) findImage(op string, id *string) (*image, error) {
	s := aws.ToString(id)
	if s == "" {
		return nil, missingParameter(op, "ImageId")
	}
	if !isHexID(s, "ami") {
		return nil, badRequest(op, codeAMIMalformed, "Invalid id: %q", s)
	}
	im := f.images[s]
	if im == nil {
		return nil, amiNotFound(op, s)
	}
	return im, nil
}

func notOwner(op string, im *image) error {
	return apiError(op, 403, codeAuthFailure, "Not authorized for image:%s", im.id)
}

// ModifyImageAttribute changes the attribute imdsSupport or description of
// an image the account owns; any other image answers AuthFailure.
//
// The attribute is named by Attribute with Value, or given as ImdsSupport
// or Description: Attribute "imdsSupport" with Value "v2.0" and ImdsSupport
// {Value: "v2.0"} are the same request. ImdsSupport accepts only "v2.0",
// and cannot be undone: any other value is refused with
// InvalidParameterValue, on an image that has v2.0 as on one that has not
// (setting v2.0 again changes nothing). Instances launched afterwards
// resolve HttpTokens and the hop limit from it; running instances are not
// affected. Other attributes, such as launchPermission, answer
// UnsupportedOperation: the fake does not model them.
func (f *EC2) ModifyImageAttribute(ctx context.Context, params *ec2.ModifyImageAttributeInput, optFns ...func(*ec2.Options)) (*ec2.ModifyImageAttributeOutput, error) {
	const op = opModifyImageAttribute
	f.mu.Lock()
	defer f.mu.Unlock()
	params, err := begun(params, f.begin(ctx, op, anyRequest))
	if err != nil {
		return nil, err
	}
	im, err := f.findImage(op, params.ImageId)
	if err != nil {
		return nil, err
	}
	attr, value, err := imageAttributeChange(op, params)
	if err != nil {
		return nil, err
	}
	if !im.own() {
		return nil, notOwner(op, im)
	}
	if attr == attrImdsSupport && value != string(types.ImdsSupportValuesV20) {
		return nil, badRequest(op, codeInvalidParameterValue,
			"Value (%s) for parameter imdsSupport is invalid: the only value is %s, and once set it cannot be undone.", value, types.ImdsSupportValuesV20)
	}
	if dryRun(params.DryRun) {
		return nil, dryRunError(op)
	}
	switch attr {
	case attrImdsSupport:
		im.imdsSupport = types.ImdsSupportValuesV20
	case attrDescription:
		im.description = value
	}
	return &ec2.ModifyImageAttributeOutput{}, nil
}

// imageAttributeChange returns the attribute a ModifyImageAttribute request
// changes and its new value.
func imageAttributeChange(op string, p *ec2.ModifyImageAttributeInput) (attr, value string, err error) {
	given := map[string]*types.AttributeValue{attrImdsSupport: p.ImdsSupport, attrDescription: p.Description}
	attr = aws.ToString(p.Attribute)
	if attr == "" {
		for name, v := range given {
			if v == nil {
				continue
			}
			if attr != "" {
				return "", "", badRequest(op, codeInvalidCombination,
					"Only one image attribute can be modified in a request: ImdsSupport and Description were both given.")
			}
			attr = name
		}
		if attr == "" {
			return "", "", missingParameter(op, "Attribute")
		}
	}
	if _, ok := given[attr]; !ok {
		if slices.Contains(types.ImageAttributeName("").Values(), types.ImageAttributeName(attr)) {
			return "", "", badRequest(op, codeUnsupported, "The image attribute %q cannot be modified here: %s.", attr, imageAttributeHelp)
		}
		return "", "", badRequest(op, codeInvalidParameterValue, "Value (%s) for parameter Attribute is invalid.", attr)
	}
	for name, v := range given {
		if v != nil && name != attr {
			return "", "", badRequest(op, codeInvalidCombination,
				"The attribute %s cannot be modified in a request for the attribute %s.", name, attr)
		}
	}
	direct, nested := p.Value, (*string)(nil)
	if v := given[attr]; v != nil {
		nested = v.Value
	}
	switch {
	case direct != nil && nested != nil && *direct != *nested:
		return "", "", badRequest(op, codeInvalidCombination,
			"Value (%s) and the attribute's own value (%s) differ.", *direct, *nested)
	case direct != nil:
		return attr, *direct, nil
	case nested != nil:
		return attr, *nested, nil
	}
	return "", "", missingParameter(op, "Value")
}

// DescribeImageAttribute describes one attribute of an image the account
// owns: imdsSupport (Value "v2.0", or no Value when not set), description,
// or launchPermission (none: the account's images are private). Other valid
// attributes are answered without a value, since the fake does not model
// them, except blockDeviceMapping, which answers AuthFailure as the SDK
// documents. An image of another account answers AuthFailure: whether EC2
// lets an account read the attributes of a public image is unverified, and
// DescribeImages reports its ImdsSupport.
func (f *EC2) DescribeImageAttribute(ctx context.Context, params *ec2.DescribeImageAttributeInput, optFns ...func(*ec2.Options)) (*ec2.DescribeImageAttributeOutput, error) {
	const op = opDescribeImageAttribute
	f.mu.Lock()
	defer f.mu.Unlock()
	params, err := begun(params, f.begin(ctx, op, anyRequest))
	if err != nil {
		return nil, err
	}
	im, err := f.findImage(op, params.ImageId)
	if err != nil {
		return nil, err
	}
	attr := params.Attribute
	if attr == "" {
		return nil, missingParameter(op, "Attribute")
	}
	if !slices.Contains(attr.Values(), attr) {
		return nil, badRequest(op, codeInvalidParameterValue, "Value (%s) for parameter Attribute is invalid.", attr)
	}
	if !im.own() || attr == types.ImageAttributeNameBlockDeviceMapping {
		return nil, notOwner(op, im)
	}
	if dryRun(params.DryRun) {
		return nil, dryRunError(op)
	}
	out := &ec2.DescribeImageAttributeOutput{ImageId: aws.String(im.id)}
	switch attr {
	case types.ImageAttributeNameImdsSupport:
		out.ImdsSupport = &types.AttributeValue{Value: nonEmpty(string(im.imdsSupport))}
	case types.ImageAttributeNameDescription:
		out.Description = &types.AttributeValue{Value: nonEmpty(im.description)}
	case types.ImageAttributeNameLaunchPermission:
		out.LaunchPermissions = []types.LaunchPermission{}
	}
	return out, nil
}

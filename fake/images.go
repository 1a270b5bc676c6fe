package fake

import (
	"context"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// image is a registered AMI.
type image struct {
	id, name    string
	owner       string // the owning account
	foreign     bool   // owned by another account than the fake's (see imageattr.go)
	description string
	imdsSupport types.ImdsSupportValues
	tags        []types.Tag
}

func (im *image) describe() types.Image {
	return types.Image{
		ImageId:     aws.String(im.id),
		Name:        aws.String(im.name),
		Description: nonEmpty(im.description),
		ImdsSupport: im.imdsSupport,
		State:       types.ImageStateAvailable,
		OwnerId:     aws.String(im.ownerID()),
		Public:      aws.Bool(!im.own()),
		Tags:        cloneTags(im.tags),
	}
}

// RegisterImage registers an AMI. Name is required and must be unused;
// ImdsSupport is empty or "v2.0". TagSpecifications for resource type image
// become the image's tags. The image is available at once.
func (f *EC2) RegisterImage(ctx context.Context, params *ec2.RegisterImageInput, optFns ...func(*ec2.Options)) (*ec2.RegisterImageOutput, error) {
	const op = opRegisterImage
	f.mu.Lock()
	defer f.mu.Unlock()
	params, err := begun(params, f.begin(ctx, op, anyRequest))
	if err != nil {
		return nil, err
	}
	name := aws.ToString(params.Name)
	if name == "" {
		return nil, missingParameter(op, "Name")
	}
	if err := checkEnum(op, "ImdsSupport", params.ImdsSupport, types.ImdsSupportValuesV20); err != nil {
		return nil, err
	}
	tags, err := tagsFor(op, params.TagSpecifications, types.ResourceTypeImage)
	if err != nil {
		return nil, err
	}
	if im := f.imageNames[name]; im != nil {
		return nil, badRequest(op, codeAMINameDuplicate, "AMI name %s is already in use by AMI %s", name, im.id)
	}
	if dryRun(params.DryRun) {
		return nil, dryRunError(op)
	}
	im := f.register(name, params.ImdsSupport, tags)
	return &ec2.RegisterImageOutput{ImageId: aws.String(im.id)}, nil
}

// register adds an image with an unused name. f.mu must be held.
func (f *EC2) register(name string, imds types.ImdsSupportValues, tags []types.Tag) *image {
	im := &image{id: newID("ami", &f.nextImage), name: name, owner: f.account, imdsSupport: imds, tags: tags}
	f.images[im.id] = im
	f.imageNames[name] = im
	f.imageOrder = append(f.imageOrder, im)
	return im
}

// DescribeImages describes the images named in ImageIds, or all registered
// images when ImageIds is empty, in registration order. An unknown ID fails
// the whole call with InvalidAMIID.NotFound. Owners keeps the images of
// those owners: "self", account IDs, or the aliases amazon,
// aws-marketplace and aws-backup-vault, which own no image in the fake.
// The filters image-id, name, imds-support, state, owner-id, is-public,
// tag:KEY and tag-key are supported; MaxResults and paging are ignored
// (every image is returned in one page).
func (f *EC2) DescribeImages(ctx context.Context, params *ec2.DescribeImagesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeImagesOutput, error) {
	const op = opDescribeImages
	f.mu.Lock()
	defer f.mu.Unlock()
	params, err := begun(params, f.begin(ctx, op, anyRequest))
	if err != nil {
		return nil, err
	}
	var missing []string
	for _, id := range params.ImageIds {
		if !isHexID(id, "ami") {
			return nil, badRequest(op, codeAMIMalformed, "Invalid id: %q", id)
		}
		if f.images[id] == nil {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		return nil, amiNotFound(op, missing...)
	}
	filters, err := compileFilters(op, params.Filters, imageFilter)
	if err != nil {
		return nil, err
	}
	owned, err := ownersFilter(op, params.Owners) // imageattr.go
	if err != nil {
		return nil, err
	}
	if dryRun(params.DryRun) {
		return nil, dryRunError(op)
	}
	out := &ec2.DescribeImagesOutput{Images: []types.Image{}}
	for _, im := range f.imagesFor(params.ImageIds) {
		if !owned(im) {
			continue
		}
		if filters.match(im) {
			out.Images = append(out.Images, im.describe())
		}
	}
	return out, nil
}

// imagesFor returns the registered images named by ids, which all exist, in
// registration order; or every image when ids is empty.
func (f *EC2) imagesFor(ids []string) []*image {
	if len(ids) == 0 {
		return f.imageOrder
	}
	ims := make([]*image, 0, len(ids))
	for _, id := range ids {
		ims = append(ims, f.images[id])
	}
	slices.SortFunc(ims, func(a, b *image) int { return strings.Compare(a.id, b.id) })
	return slices.Compact(ims)
}

// imageFilter returns the function that gives an image's values for the
// DescribeImages filter name, or nil for an unknown filter.
func imageFilter(name string) func(*image) []string {
	switch name {
	case "image-id":
		return func(im *image) []string { return []string{im.id} }
	case "name":
		return func(im *image) []string { return []string{im.name} }
	case "imds-support":
		return func(im *image) []string { return []string{string(im.imdsSupport)} }
	case "state":
		return func(*image) []string { return []string{string(types.ImageStateAvailable)} }
	case "owner-id":
		return func(im *image) []string { return []string{im.ownerID()} }
	case "is-public":
		return func(im *image) []string { return []string{strconv.FormatBool(!im.own())} }
	}
	return tagFilter(name, func(im *image) []types.Tag { return im.tags })
}

func amiNotFound(op string, ids ...string) error {
	return badRequest(op, codeAMINotFound, "The image id '[%s]' does not exist", strings.Join(ids, ", "))
}

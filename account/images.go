package account

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imdsopts/imdsopts"
	"github.com/imdsopts/imdsopts/fleet"
	"github.com/imdsopts/imdsopts/internal/awsid"
	"github.com/imdsopts/imdsopts/internal/check"
	"github.com/imdsopts/imdsopts/internal/ec2limits"
	"github.com/imdsopts/imdsopts/internal/liberr"
	"github.com/imdsopts/imdsopts/internal/retry"
)

// AMIs: an image with ImdsSupport "v2.0" gives the instances launched from
// it HttpTokens "required" and a hop limit of 2, unless the launch, its
// template or the account default say otherwise. EC2 lets only the owner
// set it, and it cannot be undone.

// ImageIMDSv2Warning is the warning [SetImageIMDSv2] gives with every
// report.
const ImageIMDSv2Warning = "ImdsSupport v2.0 cannot be undone: every instance launched from these images from now on " +
	"requires IMDSv2 unless its launch, launch template or account default says otherwise; the only way back is a new image"

// ImageChange is one image of [SetImageIMDSv2]'s report.
type ImageChange struct {
	ImageID string `json:"ImageId"`
	Name    string `json:",omitempty"`
	OwnerID string `json:"OwnerId,omitempty"`
	// ImdsSupport is the image's ImdsSupport before the change.
	ImdsSupport types.ImdsSupportValues `json:",omitempty"`
	// Status is StatusApplied (set to v2.0 now), StatusSatisfied (already
	// v2.0: no call), StatusFailed (Err says why: not the account's, not
	// found, or the call failed) or StatusNotAttempted.
	Status fleet.Status
	Err    error `json:"-"`
}

// ImageReport is what [SetImageIMDSv2] did.
type ImageReport struct {
	// Target is the account and Region the result is of; its Account and
	// Region are members of the result's JSON.
	Target Target `json:"-"`
	Images []ImageChange
	// Warning is ImageIMDSv2Warning.
	Warning string
	// Calls counts the API calls made, by operation.
	Calls map[string]int `json:"-"`
}

// Counts returns how many images of the report have each status (none for
// a nil report), as TemplateReport.Counts does for templates.
func (r *ImageReport) Counts() map[fleet.Status]int {
	m := map[fleet.Status]int{}
	if r == nil {
		return m
	}
	for _, c := range r.Images {
		m[c.Status]++
	}
	return m
}

// ImageOptions configures [SetImageIMDSv2]. Its fields hold their defaults
// before the caller's functions run.
type ImageOptions struct {
	// Options are the settings every account operation has: pacing,
	// retries, the calls in flight.
	Options Options
	// AcceptIrreversible accepts that ImdsSupport v2.0 cannot be undone:
	// SetImageIMDSv2 changes nothing without it.
	AcceptIrreversible bool
}

// SetImageIMDSv2 sets ImdsSupport "v2.0" (ModifyImageAttribute imdsSupport)
// on each image named, and only on those: instances launched from them
// afterwards require IMDSv2 unless their launch, launch template or the
// account default says otherwise. Running instances are not affected.
//
// This cannot be undone: the only way back is a new image. So SetImageIMDSv2
// changes nothing unless every image named is the account's own: it first
// describes them (DescribeImages, the account's own with Owners "self"),
// and an image of another account (ErrImageNotOwned) or one EC2 does not
// return (ErrImageNotFound) fails the whole call before any change, each
// reported. Images already v2.0 need no call. The calls are paced to the
// mutating bucket (100, refilled at 5 a second) and throttling and 5xx
// answers are tried again. The report, returned with any error after the
// first call, gives every image's outcome and the warning.
//
// The change is made only when the caller accepts it by name:
// ImageOptions.AcceptIrreversible. Without it, nothing is sent, and the
// error matches both ErrInvalid and fleet.ErrIrreversible. An empty list,
// an ID that is not "ami-" and 8 or 17 lower-case hex digits, a nil ctx, no
// EC2 client or bad options are an error matching ErrInvalid, before any
// call.
func SetImageIMDSv2(ctx context.Context, c Clients, imageIDs []string, optFns ...func(*ImageOptions)) (*ImageReport, error) {
	o := ImageOptions{Options: defaultAccountOptions()}
	errs := []error{liberr.Ctx(ctx), c.Validate(),
		accountOptions(&o, func(o *ImageOptions) *Options { return &o.Options }, "ImageOptions", optFns)}
	if !o.AcceptIrreversible {
		errs = append(errs, fmt.Errorf("%w: %w", liberr.Misuse("ImageOptions.AcceptIrreversible", "false",
			"must be true: ImdsSupport v2.0 cannot be undone, so SetImageIMDSv2 changes an image only when told it may"), fleet.ErrIrreversible))
	}
	if len(imageIDs) == 0 {
		errs = append(errs, liberr.Misuse("imageIDs", "[]", "must name at least one image: none is changed unless named"))
	}
	for _, id := range imageIDs {
		if !awsid.IsImageID(id) {
			errs = append(errs, &imdsopts.ValidationError{Field: "ImageId", Value: check.Quote(id), Rule: `must be "ami-" followed by 8 or 17 lower-case hex digits`})
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	a := newAccount(c, &o.Options)
	ids := slices.Compact(slices.Sorted(slices.Values(imageIDs)))
	r := &ImageReport{Target: c.Target, Warning: ImageIMDSv2Warning}
	defer func() { r.Calls = a.counts() }()
	for _, id := range ids {
		r.Images = append(r.Images, ImageChange{ImageID: id, Status: fleet.StatusNotAttempted})
	}

	mine, others := map[string]*types.Image{}, map[string]*types.Image{}
	for chunk := range slices.Chunk(ids, ec2limits.FilterValueChunk) {
		own, err := a.listImages(ctx, chunk, true)
		if err != nil {
			return r, err
		}
		for i := range own {
			mine[aws.ToString(own[i].ImageId)] = &own[i]
		}
		var rest []string
		for _, id := range chunk {
			if mine[id] == nil {
				rest = append(rest, id)
			}
		}
		if len(rest) == 0 {
			continue
		}
		all, err := a.listImages(ctx, rest, false)
		if err != nil {
			return r, err
		}
		for i := range all {
			others[aws.ToString(all[i].ImageId)] = &all[i]
		}
	}
	var refused []error
	for i := range r.Images {
		ic := &r.Images[i]
		im := mine[ic.ImageID]
		if im == nil {
			im = others[ic.ImageID]
		}
		if im != nil {
			ic.Name, ic.OwnerID, ic.ImdsSupport = aws.ToString(im.Name), aws.ToString(im.OwnerId), im.ImdsSupport
		}
		switch {
		case mine[ic.ImageID] != nil:
			continue
		case im != nil:
			ic.Err = fmt.Errorf("imdsopts: image %s belongs to account %s: %w: only its owner can set ImdsSupport", ic.ImageID, check.Quote(ic.OwnerID), ErrImageNotOwned)
		default:
			ic.Err = fmt.Errorf("imdsopts: image %s: not returned by DescribeImages: %w", ic.ImageID, ErrImageNotFound)
		}
		ic.Status = fleet.StatusFailed
		refused = append(refused, ic.Err)
	}
	if len(refused) > 0 {
		for i := range r.Images {
			if ic := &r.Images[i]; ic.Status == fleet.StatusNotAttempted {
				ic.Err = fmt.Errorf("imdsopts: image %s: not attempted: other images named cannot be changed", ic.ImageID)
			}
		}
		return r, fmt.Errorf("imdsopts: nothing changed, as ImdsSupport v2.0 cannot be undone: %w", errors.Join(refused...))
	}
	for i := range r.Images {
		ic := &r.Images[i]
		if ic.ImdsSupport == types.ImdsSupportValuesV20 {
			ic.Status = fleet.StatusSatisfied
			continue
		}
		in := &ec2.ModifyImageAttributeInput{ImageId: aws.String(ic.ImageID),
			ImdsSupport: &types.AttributeValue{Value: aws.String(string(types.ImdsSupportValuesV20))}}
		sent, err := a.call(ctx, "ModifyImageAttribute", func(ctx context.Context) error {
			_, err := a.c.EC2.ModifyImageAttribute(ctx, in, a.o.ClientOptions...)
			return err
		})
		switch {
		case err == nil:
			ic.Status = fleet.StatusApplied
		case !sent:
			ic.Err = fmt.Errorf("imdsopts: image %s: not attempted: %w", ic.ImageID, err)
		case retry.APICode(err) == "UnauthorizedOperation":
			ic.Status, ic.Err = fleet.StatusFailed, fmt.Errorf("imdsopts: image %s: ModifyImageAttribute: %w: %w", ic.ImageID, imdsopts.ErrUnauthorized, err)
		default:
			ic.Status, ic.Err = fleet.StatusFailed, fmt.Errorf("imdsopts: image %s: ModifyImageAttribute: %w", ic.ImageID, err)
		}
		if ctx.Err() != nil || a.p.Open() != nil {
			break
		}
	}
	var failed []error
	for i := range r.Images {
		ic := &r.Images[i]
		if ic.Status == fleet.StatusNotAttempted && ic.Err == nil {
			cause := ctx.Err()
			if cause == nil {
				cause = a.p.Open()
			}
			ic.Err = fmt.Errorf("imdsopts: image %s: not attempted: %w", ic.ImageID, cause)
		}
		if ic.Err != nil {
			failed = append(failed, ic.Err)
		}
	}
	return r, errors.Join(failed...)
}

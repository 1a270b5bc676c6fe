package account_test

import (
	"errors"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imdsopts/imdsopts"
	"github.com/imdsopts/imdsopts/account"
	"github.com/imdsopts/imdsopts/fake"
	"github.com/imdsopts/imdsopts/fleet"
)

func TestSetImageIMDSv2(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t)
		plain, already := w.Image(t, "plain", ""), w.Image(t, "already", types.ImdsSupportValuesV20)
		w.EC2.FailNext("ModifyImageAttribute", 3, fake.NewAPIError(503, "RequestLimitExceeded", "Request limit exceeded."))

		r, err := account.SetImageIMDSv2(t.Context(), w.clients(), []string{plain, already, plain}, acceptIrreversible)
		if err != nil {
			t.Fatal(err)
		}
		if r.Warning != account.ImageIMDSv2Warning || !strings.Contains(r.Warning, "cannot be undone") {
			t.Errorf("warning %q", r.Warning)
		}
		if len(r.Images) != 2 || r.Images[0].ImageID != plain || r.Images[0].Status != fleet.StatusApplied ||
			r.Images[1].Status != fleet.StatusSatisfied || r.Images[0].OwnerID != fake.AccountID {
			t.Errorf("images %+v", r.Images)
		}
		if got := r.Counts(); len(got) != 2 || got[fleet.StatusApplied] != 1 || got[fleet.StatusSatisfied] != 1 {
			t.Errorf("Counts() = %v, want one applied, one satisfied", got)
		}
		if n := w.EC2.Calls("ModifyImageAttribute"); n != 4 {
			t.Errorf("%d ModifyImageAttribute calls, want 4 (3 throttled, 1 for the image not yet v2.0)", n)
		}
		attr, err := w.EC2.DescribeImageAttribute(t.Context(), &ec2.DescribeImageAttributeInput{ImageId: aws.String(plain), Attribute: "imdsSupport"})
		if err != nil || aws.ToString(attr.ImdsSupport.Value) != "v2.0" {
			t.Errorf("imdsSupport after: %v, %v", attr, err)
		}
	})
}

// TestSetImageIMDSv2RefusesForeignImages: an image of another account, or
// one EC2 does not return, makes the whole call change nothing.
func TestSetImageIMDSv2RefusesForeignImages(t *testing.T) {
	w := newWorld(t)
	mine := w.Image(t, "mine", "")
	foreign, err := w.EC2.AddImage("999988887777", "marketplace", "")
	if err != nil {
		t.Fatal(err)
	}
	const missing = "ami-0000000000000beef"
	r, err := account.SetImageIMDSv2(t.Context(), w.clients(), []string{mine, foreign, missing}, acceptIrreversible)
	if !errors.Is(err, account.ErrImageNotOwned) || !errors.Is(err, account.ErrImageNotFound) || !strings.Contains(err.Error(), "nothing changed") {
		t.Fatalf("error %v", err)
	}
	if n := w.EC2.Calls("ModifyImageAttribute"); n != 0 {
		t.Errorf("%d ModifyImageAttribute calls, want none", n)
	}
	got := map[string]account.ImageChange{}
	for _, ic := range r.Images {
		got[ic.ImageID] = ic
	}
	if ic := got[foreign]; ic.Status != fleet.StatusFailed || ic.OwnerID != "999988887777" || !strings.Contains(ic.Err.Error(), "belongs to account \"999988887777\"") {
		t.Errorf("foreign: %+v", ic)
	}
	if ic := got[missing]; ic.Status != fleet.StatusFailed || !errors.Is(ic.Err, account.ErrImageNotFound) {
		t.Errorf("missing: %+v", ic)
	}
	if ic := got[mine]; ic.Status != fleet.StatusNotAttempted || ic.Err == nil {
		t.Errorf("mine: %+v", ic)
	}
}

// acceptIrreversible accepts that ImdsSupport v2.0 cannot be undone.
func acceptIrreversible(o *account.ImageOptions) { o.AcceptIrreversible = true }

// TestSetImageIMDSv2OnlyWhenAccepted: without AcceptIrreversible, nothing
// is sent, and the error says why.
func TestSetImageIMDSv2OnlyWhenAccepted(t *testing.T) {
	w := newWorld(t)
	id := w.Image(t, "plain", "")
	r, err := account.SetImageIMDSv2(t.Context(), w.clients(), []string{id})
	if !errors.Is(err, imdsopts.ErrInvalid) || !errors.Is(err, fleet.ErrIrreversible) || r != nil ||
		!strings.Contains(err.Error(), "ImageOptions.AcceptIrreversible false: must be true") {
		t.Errorf("without AcceptIrreversible: %v, %v, want no report and ErrInvalid and ErrIrreversible", r, err)
	}
	if n := w.EC2.Calls("DescribeImages") + w.EC2.Calls("ModifyImageAttribute"); n != 0 {
		t.Errorf("%d calls, want none", n)
	}
}

func TestSetImageIMDSv2BadInput(t *testing.T) {
	w := newWorld(t)
	for _, ids := range [][]string{nil, {"ami-123"}, {"i-0123456789abcdef0"}, {"AMI-0123456789ABCDEF0"}} {
		if _, err := account.SetImageIMDSv2(t.Context(), w.clients(), ids, acceptIrreversible); !errors.Is(err, imdsopts.ErrInvalid) {
			t.Errorf("%q: %v, want ErrInvalid", ids, err)
		}
	}
	if calls := w.Calls(); len(calls) != 0 {
		t.Errorf("calls %v", calls)
	}
	// A denied change is a failure of that image, matching ErrUnauthorized.
	id := w.Image(t, "denied", "")
	w.EC2.Deny("ModifyImageAttribute")
	r, err := account.SetImageIMDSv2(t.Context(), w.clients(), []string{id}, acceptIrreversible)
	if !errors.Is(err, imdsopts.ErrUnauthorized) || r.Images[0].Status != fleet.StatusFailed {
		t.Errorf("denied: %+v, %v", r, err)
	}
}

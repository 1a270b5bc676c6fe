package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/imdsopts/imdsopts/account"
	"github.com/imdsopts/imdsopts/fleet"
	"github.com/imdsopts/imdsopts/internal/awscli"
	"github.com/imdsopts/imdsopts/internal/awsid"
	"github.com/imdsopts/imdsopts/internal/check"
)

// images set-imdsv2 sets ImdsSupport v2.0 on the AMIs named, only on the
// account's own (the library's SetImageIMDSv2). It cannot be undone, so
// nothing is sent without a flag that says so in words: a generic --yes is
// typed from habit, pasted with the rest of a command, or added to a script
// once and forgotten; --i-understand-this-cannot-be-undone names what it
// confirms, so whoever types it has read that.

// confirmFlag is the flag without which images set-imdsv2 sends nothing.
const confirmFlag = "i-understand-this-cannot-be-undone"

// imagesKeyOrder orders the keys of the output.
var imagesKeyOrder = []string{
	"Images", "Warning", "Counts", "Calls",
	"ImageId", "Name", "OwnerId", "ImdsSupport", "Status", "Error",
	"change", "applied", "satisfied", "held", "pending-until-start", "refused-downgrade", "failed", "not-attempted", "excluded",
}

// imageFlags are the options of images set-imdsv2.
type imageFlags struct {
	ids       []string
	confirmed bool
}

func (f *imageFlags) register(fs *flag.FlagSet) {
	fs.Var(listFunc(func(s string) error {
		ids, err := parseIDList(s, "image")
		f.ids = append(f.ids, ids...)
		return err
	}), "image-ids", "`AMI [AMI ...]` the images: several after the flag, or separated by commas, or a JSON list; "+
		"each \"ami-\" and 8 or 17 lower-case hex digits")
	fs.BoolVar(&f.confirmed, confirmFlag, false, "required: the confirmation, naming what it confirms")
}

// parseIDList parses one argument of a list of IDs: an ID, several
// separated by commas, or a JSON list of strings, as --instance-ids takes
// them.
func parseIDList(s, what string) ([]string, error) {
	if strings.HasPrefix(strings.TrimSpace(s), "[") {
		var ids []string
		if err := awscli.DecodeInput([]byte(s), &ids); err != nil {
			return nil, fmt.Errorf("a JSON list of %s IDs: %w", what, err)
		}
		return ids, nil
	}
	ids := strings.Split(s, ",")
	for i := range ids {
		ids[i] = strings.TrimSpace(ids[i])
	}
	return ids, nil
}

// images runs "imdsopts images set-imdsv2".
func (a *app) images(ctx context.Context, g *globals, args []string) error {
	const name = "images"
	_, args, help, err := verbOf(name, args, []string{"set-imdsv2"}, "imdsopts images set-imdsv2 --image-ids AMI [AMI ...] --"+confirmFlag)
	switch {
	case help:
		args = []string{"--help"} // parseSubcommand prints it
	case err != nil:
		return err
	}
	f := &imageFlags{}
	probe := newFlagSet(name)
	newGlobals().register(probe)
	(&imageFlags{}).register(probe)
	if len(args) == 0 || args[0] != "help" {
		var err error
		if args, err = awscli.ExpandListArgs(probe, args, map[string]bool{"image-ids": true}); err != nil {
			return &exitError{code: exitUsage, err: err}
		}
	}
	fs := newFlagSet(name)
	f.register(fs)
	if done, err := a.parseSubcommand(name, g, fs, args, nil); done || err != nil {
		return err
	}
	ids, confirmed := f.ids, f.confirmed
	p, err := a.newPrinter(g)
	if err != nil {
		return err
	}
	p.KeyOrder = imagesKeyOrder
	var bad []string
	for _, id := range ids {
		if !awsid.IsImageID(id) {
			bad = append(bad, fmt.Sprintf("--image-ids %s: must be \"ami-\" followed by 8 or 17 lower-case hex digits", check.Quote(id)))
		}
	}
	if len(bad) > 0 {
		return &exitError{code: exitUsage, err: errors.New(strings.Join(bad, moreErrors))}
	}
	if len(ids) == 0 {
		return usageErrorf("--image-ids is required: the images to change, each named (none is changed unless named)")
	}
	if !confirmed {
		a.note("imdsopts: warning: %s.", account.ImageIMDSv2Warning)
		return usageErrorf("--%s is required: ImdsSupport v2.0 cannot be undone; nothing was sent", confirmFlag)
	}
	if err := checkQuery(p, skeletonOf(g, imagesSkeleton())); err != nil {
		return err
	}
	if g.targets.active() {
		// The same images in every target: an AMI is one account's, in
		// one Region, so a target where any image named is not its own
		// changes none, and fails, as one account does.
		a.note("imdsopts: warning: %s.", account.ImageIMDSv2Warning)
		return runAccountAcross(ctx, a, g, p, accountAcross[*account.ImageReport]{
			title: "SetImageIMDSv2",
			op: func(ctx context.Context, c account.Clients) (*account.ImageReport, error) {
				return account.SetImageIMDSv2(ctx, c, ids, func(o *account.ImageOptions) {
					a.observeCalls(&o.Options)
					o.AcceptIrreversible = confirmed // --i-understand-this-cannot-be-undone, checked above
				})
			},
			doc: func(r *account.ImageReport, _ error) map[string]any {
				if r == nil {
					return nil
				}
				return imagesDoc(r)
			},
			outcome: func(r *account.ImageReport, err error) error {
				if r == nil || err == nil {
					return err
				}
				return imagesFailure(r, err)
			},
		})
	}
	c, err := a.accountClients(ctx, g, clientNeeds{})
	if err != nil {
		return err
	}
	a.note("imdsopts: warning: %s.", account.ImageIMDSv2Warning)
	report, err := account.SetImageIMDSv2(ctx, c, ids, func(o *account.ImageOptions) {
		o.AcceptIrreversible = confirmed // --i-understand-this-cannot-be-undone, checked above
	})
	if report == nil {
		return err
	}
	perr := a.print(p, output{title: "SetImageIMDSv2", doc: imagesDoc(report)})
	if err != nil {
		return joinFailures(imagesFailure(report, err), perr)
	}
	return perr
}

// imagesFailure is the error that ends a run whose images did not all get
// v2.0: 254 when the service said why (an image of another account, one it
// does not return, an API error), else 255.
func imagesFailure(r *account.ImageReport, err error) error {
	code := exitOther
	if errors.Is(err, account.ErrImageNotOwned) || errors.Is(err, account.ErrImageNotFound) || answered(err) {
		code = exitService
	}
	var failed, notAttempted []string
	for _, im := range r.Images {
		switch im.Status {
		case fleet.StatusFailed:
			failed = append(failed, im.ImageID)
		case fleet.StatusNotAttempted:
			notAttempted = append(notAttempted, im.ImageID)
		}
	}
	var parts []string
	if len(failed) > 0 {
		parts = append(parts, fmt.Sprintf("%d of %d image(s) failed", len(failed), len(r.Images)))
	}
	if len(notAttempted) > 0 {
		parts = append(parts, fmt.Sprintf("%d of %d image(s) not attempted", len(notAttempted), len(r.Images)))
	}
	if len(parts) == 0 {
		return &exitError{code: code, err: err}
	}
	return &exitError{code: code, err: fmt.Errorf("%s: %w", strings.Join(parts, "; "), err)}
}

// imagesDoc is the output: each image with its ImdsSupport before the
// change and its outcome, the warning, the counts and the calls.
func imagesDoc(r *account.ImageReport) map[string]any {
	list := make([]any, 0, len(r.Images))
	counts := map[fleet.Status]int{}
	for _, im := range r.Images {
		doc := jsonDoc(im).(map[string]any)
		if im.Err != nil {
			doc["Error"] = trim(im.Err)
		}
		list = append(list, doc)
		counts[im.Status]++
	}
	return map[string]any{"Images": list, "Warning": r.Warning, "Counts": statusDoc(counts), "Calls": callsDoc(r.Calls)}
}

// imagesSkeleton is the output with every field present, for checkQuery.
func imagesSkeleton() map[string]any {
	r := &account.ImageReport{Warning: account.ImageIMDSv2Warning, Calls: map[string]int{"DescribeImages": 1, "ModifyImageAttribute": 1},
		Images: []account.ImageChange{{ImageID: "ami-0123456789abcdef0", Name: "app", OwnerID: "123456789012", ImdsSupport: "v2.0",
			Status: fleet.StatusApplied, Err: errors.New("the reason")}}}
	return imagesDoc(r)
}

const imagesUsage = `Usage: imdsopts images set-imdsv2 --image-ids AMI [AMI ...]
                                  --i-understand-this-cannot-be-undone [options]

Sets ImdsSupport v2.0 (ModifyImageAttribute imdsSupport) on each image named, and only on those:
instances launched from them afterwards require IMDSv2 (HttpTokens "required", hop limit 2) unless
their launch, launch template or the account default says otherwise. Running instances are not
affected.

This cannot be undone: the only way back is a new image. So nothing is sent without
--i-understand-this-cannot-be-undone, and nothing is changed unless every image named is the
account's own: the images are described first (DescribeImages), and one of another account, or
one EC2 does not return, fails the whole run before any change (exit 254). Images already v2.0
need no call.
`

// imagesNotes are the output and statuses of images set-imdsv2.
const imagesNotes = `Output (--output json): {"Images": [{"ImageId", "Name", "OwnerId", "ImdsSupport" (before the
change), "Status", "Error"}, ...], "Warning", "Counts", "Calls"}. Statuses: applied, satisfied
(already v2.0), failed, not-attempted.
`

// imagesAcross is what images set-imdsv2 adds to the help of the target
// flags.
const imagesAcross = `Every target is given the same --image-ids, with the one --i-understand-this-cannot-be-undone.
An AMI belongs to one account and Region: a target where any image named is not its own, or
not found, changes none there and fails, while the others go on.
`

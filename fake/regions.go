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

const opDescribeRegions = "DescribeRegions"

// The OptInStatus values of DescribeRegions.
const (
	optInNotRequired = "opt-in-not-required"
	optedIn          = "opted-in"
	notOptedIn       = "not-opted-in"
)

// optInRegions are the Regions of the aws partition that an account must
// opt into, as the SDK's partition data lists them (aws-sdk-go-v2 v1.48.0);
// AWS enables the others in every account, and they cannot be disabled
// (those introduced before 20 March 2019).
var optInRegions = []string{
	"af-south-1", "ap-east-1", "ap-east-2", "ap-south-2", "ap-southeast-3", "ap-southeast-4",
	"ap-southeast-5", "ap-southeast-6", "ap-southeast-7", "ca-west-1", "eu-central-2", "eu-south-1",
	"eu-south-2", "il-central-1", "me-central-1", "me-south-1", "me-west-1", "mx-central-1", "sa-west-1",
}

// allRegions are the Regions the fakes know, sorted by name: those of the
// aws partition that the module's one rule of Region names knows
// (internal/awsid).
var allRegions = slices.DeleteFunc(awsid.KnownRegions(), func(name string) bool { return awsid.Partition(name) != "aws" })

// IsRegion reports whether name is a Region of the aws partition that the
// fakes know: one AWS enables in every account (us-east-1, eu-west-1...) or
// one an account must opt into (af-south-1, ap-east-1...). A name of
// another partition, or one the module's rule of Region names takes but
// does not know, is not.
func IsRegion(name string) bool {
	_, ok := slices.BinarySearch(allRegions, name)
	return ok && awsid.IsRegion(name)
}

// isOptInRegion reports whether name is a Region an account must opt into.
func isOptInRegion(name string) bool { return slices.Contains(optInRegions, name) }

// DescribeRegions describes the Regions enabled for the fake's account, or
// with AllRegions every Region the fakes know (see [IsRegion]), in name
// order. OptInStatus is "opt-in-not-required" for the Regions AWS enables
// in every account, "opted-in" for the opt-in Regions enabled for the
// account (an [Organization]'s account enables them with
// [AccountOptions.OptInRegions]; a fake made with New has none), and
// "not-opted-in" for the others, which only AllRegions lists. RegionNames
// keeps the Regions named, of those listed; a name the fakes do not know is
// refused with InvalidParameterValue (unverified: the code EC2 answers for
// an unknown Region name). The filters endpoint, opt-in-status and
// region-name are supported. Endpoint is ec2.REGION.amazonaws.com.
func (f *EC2) DescribeRegions(ctx context.Context, params *ec2.DescribeRegionsInput, optFns ...func(*ec2.Options)) (*ec2.DescribeRegionsOutput, error) {
	const op = opDescribeRegions
	enabled := f.optedIn() // before f.mu: it reads the account, under the Organization's lock
	f.mu.Lock()
	defer f.mu.Unlock()
	params, err := begun(params, f.begin(ctx, op, anyRequest))
	if err != nil {
		return nil, err
	}
	for _, name := range params.RegionNames {
		if !IsRegion(name) {
			return nil, badRequest(op, codeInvalidParameterValue, "Invalid region: %s", name)
		}
	}
	filters, err := compileFilters(op, params.Filters, regionFilter)
	if err != nil {
		return nil, err
	}
	if dryRun(params.DryRun) {
		return nil, dryRunError(op)
	}
	out := &ec2.DescribeRegionsOutput{Regions: []types.Region{}}
	for _, name := range allRegions {
		r := region{name: name, status: optInNotRequired}
		if isOptInRegion(name) {
			r.status = notOptedIn
			if slices.Contains(enabled, name) {
				r.status = optedIn
			}
		}
		switch {
		case r.status == notOptedIn && !aws.ToBool(params.AllRegions),
			len(params.RegionNames) > 0 && !slices.Contains(params.RegionNames, name),
			!filters.match(r):
			continue
		}
		out.Regions = append(out.Regions, types.Region{
			RegionName:  aws.String(name),
			Endpoint:    aws.String(r.endpoint()),
			OptInStatus: aws.String(r.status),
		})
	}
	return out, nil
}

// optedIn returns the opt-in Regions enabled for the fake's account.
func (f *EC2) optedIn() []string {
	if f.home == nil {
		return nil
	}
	return f.home.optInRegions()
}

// region is a Region as DescribeRegions describes it.
type region struct{ name, status string }

func (r region) endpoint() string { return fmt.Sprintf("ec2.%s.amazonaws.com", r.name) }

// regionFilter returns the function that gives a Region's values for the
// DescribeRegions filter name, or nil for a filter the fake does not
// support.
func regionFilter(name string) func(region) []string {
	switch name {
	case "endpoint":
		return func(r region) []string { return []string{r.endpoint()} }
	case "opt-in-status":
		return func(r region) []string { return []string{r.status} }
	case "region-name":
		return func(r region) []string { return []string{r.name} }
	}
	return nil
}

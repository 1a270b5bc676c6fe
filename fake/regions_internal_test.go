package fake

import (
	"slices"
	"testing"

	"github.com/imdsopts/imdsopts/internal/awsid"
)

// TestRegionsAreAWSIDs: the Regions the fakes serve are the aws partition's
// of the module's one rule of Region names, and every opt-in Region is one
// of them.
func TestRegionsAreAWSIDs(t *testing.T) {
	if len(allRegions) < 30 {
		t.Fatalf("the fakes know %d Regions: %v", len(allRegions), allRegions)
	}
	for _, r := range allRegions {
		if awsid.Partition(r) != "aws" || !IsRegion(r) {
			t.Errorf("%s: partition %q, IsRegion %v", r, awsid.Partition(r), IsRegion(r))
		}
	}
	for _, r := range optInRegions {
		if !slices.Contains(allRegions, r) {
			t.Errorf("opt-in Region %s is not one the fakes know", r)
		}
	}
	for _, r := range []string{"us-gov-west-1", "cn-north-1", "eusc-de-east-1", "us-east-9", ""} {
		if IsRegion(r) {
			t.Errorf("IsRegion(%q) = true", r)
		}
	}
}

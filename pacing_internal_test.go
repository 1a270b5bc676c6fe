package imdsopts

import (
	"testing"

	"golang.org/x/time/rate"

	"github.com/imdsopts/imdsopts/fake"
)

// TestPacingIsEC2s: the default pace of every EC2 API the package calls is
// the bucket EC2 documents for that API (fake.EC2Buckets, from the EC2
// Developer Guide's "Request throttling"), never a more generous one.
func TestPacingIsEC2s(t *testing.T) {
	ec2 := fake.EC2Buckets()
	fleet := defaultFleetOptions()
	acct := defaultAccountOptions()
	for _, tt := range []struct {
		name  string
		rate  rate.Limit
		burst int
		ec2   fake.Bucket
	}{
		{"FleetOptions ModifyInstanceMetadataOptions", fleet.ModifyRate, fleet.ModifyBurst, ec2.ModifyInstanceMetadataOptions},
		// DescribeInstances: the stricter of its two buckets, its
		// unfiltered one, so that no mix of calls exceeds either.
		{"FleetOptions DescribeInstances", fleet.DescribeRate, fleet.DescribeBurst, ec2.DescribeUnfiltered},
		{"AccountOptions non-mutating", acct.DescribeRate, acct.DescribeBurst, ec2.Describe},
		{"AccountOptions ModifyInstanceMetadataDefaults", acct.DefaultsRate, acct.DefaultsBurst, ec2.ModifyInstanceMetadataDefaults},
	} {
		if float64(tt.rate) != tt.ec2.Refill || tt.burst != tt.ec2.Size {
			t.Errorf("%s: %v a second, burst %d; EC2's bucket is %v a second, %d", tt.name, tt.rate, tt.burst, tt.ec2.Refill, tt.ec2.Size)
		}
	}
	// The mutating APIs the account-wide operations call, each paced with
	// MutateRate and MutateBurst or with the defaults' own.
	mutating := map[string]fake.Bucket{
		"CreateLaunchTemplateVersion": ec2.CreateLaunchTemplateVersion,
		"ModifyLaunchTemplate":        ec2.ModifyLaunchTemplate,
		"ModifyImageAttribute":        ec2.ModifyImageAttribute,
	}
	for op, kind := range accountBuckets {
		if kind != mutateBucket {
			continue
		}
		b, ok := mutating[op]
		if !ok {
			t.Errorf("%s is paced as a mutating API, and this test does not know EC2's bucket for it", op)
			continue
		}
		if float64(acct.MutateRate) != b.Refill || acct.MutateBurst != b.Size {
			t.Errorf("%s: %v a second, burst %d; EC2's bucket is %v a second, %d", op, acct.MutateRate, acct.MutateBurst, b.Refill, b.Size)
		}
	}
	for op := range mutating {
		if accountBuckets[op] != mutateBucket {
			t.Errorf("%s is not paced as a mutating API: it would get the non-mutating bucket, which refills 4 times faster", op)
		}
	}
}

package account

import (
	"testing"

	"golang.org/x/time/rate"

	"github.com/imdsopts/imdsopts/fake"
)

// TestPacingIsEC2s: the default pace of every EC2 API the account-wide
// operations call is
// the bucket EC2 documents for that API (fake.EC2Buckets, from the EC2
// Developer Guide's "Request throttling"), never a more generous one.
func TestPacingIsEC2s(t *testing.T) {
	ec2 := fake.EC2Buckets()
	acct := defaultAccountOptions()
	for _, tt := range []struct {
		name  string
		rate  rate.Limit
		burst int
		ec2   fake.Bucket
	}{
		{"Options non-mutating", acct.DescribeRate, acct.DescribeBurst, ec2.Describe},
		{"Options ModifyInstanceMetadataDefaults", acct.DefaultsRate, acct.DefaultsBurst, ec2.ModifyInstanceMetadataDefaults},
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
	a := newAccount(Clients{}, &acct)
	for op, b := range mutating {
		if float64(acct.MutateRate) != b.Refill || acct.MutateBurst != b.Size {
			t.Errorf("%s: %v a second, burst %d; EC2's bucket is %v a second, %d", op, acct.MutateRate, acct.MutateBurst, b.Refill, b.Size)
		}
		if got := a.lim(op).Limit(); got != acct.MutateRate {
			t.Errorf("%s is paced at %v a second, not as a mutating API (%v): the non-mutating bucket refills 4 times faster", op, got, acct.MutateRate)
		}
	}
	if got := a.lim("ModifyInstanceMetadataDefaults").Limit(); got != acct.DefaultsRate {
		t.Errorf("ModifyInstanceMetadataDefaults is paced at %v a second, not %v", got, acct.DefaultsRate)
	}
	if got := a.lim("DescribeImages").Limit(); got != acct.DescribeRate {
		t.Errorf("DescribeImages is paced at %v a second, not %v", got, acct.DescribeRate)
	}
}

package fleet

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
	for _, tt := range []struct {
		name  string
		rate  rate.Limit
		burst int
		ec2   fake.Bucket
	}{
		{"Options ModifyInstanceMetadataOptions", fleet.ModifyRate, fleet.ModifyBurst, ec2.ModifyInstanceMetadataOptions},
		// DescribeInstances: the stricter of its two buckets, its
		// unfiltered one, so that no mix of calls exceeds either.
		{"Options DescribeInstances", fleet.DescribeRate, fleet.DescribeBurst, ec2.DescribeUnfiltered},
	} {
		if float64(tt.rate) != tt.ec2.Refill || tt.burst != tt.ec2.Size {
			t.Errorf("%s: %v a second, burst %d; EC2's bucket is %v a second, %d", tt.name, tt.rate, tt.burst, tt.ec2.Refill, tt.ec2.Size)
		}
	}
}

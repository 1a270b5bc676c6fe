package fake

import (
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"golang.org/x/time/rate"
)

// codeRequestLimit is the error code of a call refused by request throttling.
const codeRequestLimit = "RequestLimitExceeded"

// Bucket is a token bucket: Size tokens, refilled at Refill tokens a second.
// A bucket starts full, every call takes one token, and a call that finds
// the bucket empty is throttled. A Size of 0 or less means no limit; a
// Refill of 0 or less means the bucket never refills.
type Bucket struct {
	Size   int
	Refill float64
}

// Buckets are the request token buckets of an account, as EC2 groups its
// operations. Each bucket is shared by every call of its category.
//
// EC2 has further buckets, for example for RunInstances, the instance state
// changes and other mutating calls; they are not modelled, so
// RunInstances, StartInstances, StopInstances, TerminateInstances and
// RegisterImage are never throttled.
type Buckets struct {
	// ModifyInstanceMetadataOptions is the bucket of the operation of that
	// name (EC2: 100 tokens, 5 a second).
	ModifyInstanceMetadataOptions Bucket

	// ModifyInstanceMetadataDefaults is the bucket of the operation of that
	// name (EC2: 2 tokens, 2 a second).
	ModifyInstanceMetadataDefaults Bucket

	// Describe is the bucket of non-mutating calls that are filtered or
	// paginated: DescribeInstances and DescribeImages with Filters,
	// MaxResults or NextToken (EC2: 100 tokens, 20 a second).
	Describe Bucket

	// DescribeUnfiltered is the bucket of non-mutating calls that are
	// neither filtered nor paginated: DescribeInstances and DescribeImages
	// without Filters, MaxResults and NextToken (even when they name
	// InstanceIds or ImageIds), and GetInstanceMetadataDefaults, which has
	// no filters or paging at all (EC2: 50 tokens, 10 a second).
	DescribeUnfiltered Bucket
}

// EC2Buckets returns the bucket sizes and refill rates EC2 documents for
// request throttling. New pre-fills Options.Buckets with them.
func EC2Buckets() Buckets {
	return Buckets{
		ModifyInstanceMetadataOptions:  Bucket{Size: 100, Refill: 5},
		ModifyInstanceMetadataDefaults: Bucket{Size: 2, Refill: 2},
		Describe:                       Bucket{Size: 100, Refill: 20},
		DescribeUnfiltered:             Bucket{Size: 50, Refill: 10},
	}
}

// bucketKey names the bucket a call takes its token from.
type bucketKey int

const (
	noBucket bucketKey = iota // not throttled
	bucketModifyOptions
	bucketModifyDefaults
	bucketDescribe
	bucketDescribeUnfiltered
	numBuckets
)

// limiters holds the live token buckets of an EC2 fake; a nil entry never
// throttles.
type limiters [numBuckets]*rate.Limiter

// newLimiters returns the token buckets of b.
func newLimiters(b Buckets) *limiters {
	var l limiters
	l[bucketModifyOptions] = newLimiter(b.ModifyInstanceMetadataOptions)
	l[bucketModifyDefaults] = newLimiter(b.ModifyInstanceMetadataDefaults)
	l[bucketDescribe] = newLimiter(b.Describe)
	l[bucketDescribeUnfiltered] = newLimiter(b.DescribeUnfiltered)
	return &l
}

func newLimiter(b Bucket) *rate.Limiter {
	if b.Size <= 0 {
		return nil
	}
	return rate.NewLimiter(rate.Limit(max(b.Refill, 0)), b.Size)
}

// allow takes a token from bucket k at now and reports whether there was
// one.
func (l *limiters) allow(k bucketKey, now time.Time) bool {
	if l == nil || k <= noBucket || k >= numBuckets || l[k] == nil {
		return true
	}
	return l[k].AllowN(now, 1)
}

// describeBucket returns the bucket of a non-mutating call with the given
// filters and paging parameters.
func describeBucket(filters []types.Filter, maxResults *int32, nextToken *string) bucketKey {
	if len(filters) > 0 || maxResults != nil || (nextToken != nil && *nextToken != "") {
		return bucketDescribe
	}
	return bucketDescribeUnfiltered
}

// throttled answers a call refused by request throttling.
func throttled(op string) error {
	return apiError(op, 503, codeRequestLimit, "Request limit exceeded.")
}

// Throttled reports how many calls of operation were refused with
// RequestLimitExceeded by the request token buckets of Options.Throttle.
// Failures injected with FailNext are not included.
func (f *EC2) Throttled(operation string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.throttled[operation]
}

// describeInstancesBucket returns the bucket of a DescribeInstances call.
func describeInstancesBucket(p *ec2.DescribeInstancesInput) bucketKey {
	if p == nil {
		return bucketDescribeUnfiltered
	}
	return describeBucket(p.Filters, p.MaxResults, p.NextToken)
}

// describeImagesBucket returns the bucket of a DescribeImages call.
func describeImagesBucket(p *ec2.DescribeImagesInput) bucketKey {
	if p == nil {
		return bucketDescribeUnfiltered
	}
	return describeBucket(p.Filters, p.MaxResults, p.NextToken)
}

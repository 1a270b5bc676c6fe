package fake

import (
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"golang.org/x/time/rate"

	"github.com/imdsopts/imdsopts/internal/ec2limits"
)

// codeRequestLimit is the error code of a call refused by request or
// resource throttling.
const codeRequestLimit = "RequestLimitExceeded"

// Bucket is a token bucket: Size tokens, refilled at Refill tokens a second.
// A bucket starts full, and a call that finds too few tokens in it is
// throttled. A Size of 0 or less means no limit; a Refill of 0 or less means
// the bucket never refills.
type Bucket struct {
	Size   int
	Refill float64
}

// Buckets are the sizes and refill rates of EC2's token buckets, by the
// API or the category of APIs EC2 documents them for (EC2 Developer Guide,
// "Request throttling"). The fake gives every API buckets of its own, of
// the size of its field: a call to one API never takes tokens from
// another's, even when both are sized by the same field. The fields, and
// the APIs of the fake each sizes:
//
//   - ModifyInstanceMetadataOptions, ModifyInstanceMetadataDefaults,
//     RunInstances, StartInstances, TerminateInstances,
//     CreateLaunchTemplateVersion, ModifyLaunchTemplate and
//     ModifyImageAttribute: the request bucket of the API of that name.
//   - Mutating: the request bucket of each other mutating API
//     (StopInstances, RegisterImage, CreateLaunchTemplate,
//     DeleteLaunchTemplate, DeleteLaunchTemplateVersions).
//   - Describe: DescribeImages, DescribeImageAttribute,
//     DescribeLaunchTemplates, DescribeLaunchTemplateVersions,
//     DescribeRegions and GetInstanceMetadataDefaults, and
//     DescribeInstances when filtered or paginated.
//   - DescribeUnfiltered: DescribeInstances when neither filtered nor
//     paginated.
//   - RunInstancesResources, StartInstancesResources: the resource bucket of
//     RunInstances, of StartInstances.
//   - StateChangeResources: the resource buckets of StopInstances and
//     TerminateInstances, one each.
//
// A request bucket loses one token per call; a resource bucket loses one
// token per instance the call launches, starts, stops or terminates.
type Buckets struct {
	// ModifyInstanceMetadataOptions is the request bucket of the API of
	// that name (EC2: 100 tokens, 5 a second).
	ModifyInstanceMetadataOptions Bucket

	// ModifyInstanceMetadataDefaults is the request bucket of the API of
	// that name (EC2: 2 tokens, 2 a second).
	ModifyInstanceMetadataDefaults Bucket

	// RunInstances and StartInstances are the request buckets of those
	// APIs (EC2: 5 tokens, 2 a second, each), besides their resource
	// buckets.
	RunInstances, StartInstances Bucket

	// TerminateInstances is the request bucket of the API of that name
	// (EC2: 100 tokens, 5 a second), besides its resource bucket.
	TerminateInstances Bucket

	// CreateLaunchTemplateVersion, ModifyLaunchTemplate and
	// ModifyImageAttribute are the request buckets of those APIs (EC2: 100
	// tokens, 5 a second, each).
	CreateLaunchTemplateVersion, ModifyLaunchTemplate, ModifyImageAttribute Bucket

	// Mutating is the size of the request bucket of each other mutating
	// API, StopInstances included (EC2: 50 tokens, 5 a second).
	Mutating Bucket

	// Describe is the size of the request bucket of each non-mutating API
	// (Describe*, Get*): for all its calls, or, for an API listed under
	// DescribeUnfiltered, for its filtered or paginated calls (EC2: 100
	// tokens, 20 a second).
	Describe Bucket

	// DescribeUnfiltered is the size of a second request bucket of the
	// non-mutating APIs that EC2 lists for it, taken by their calls that
	// are neither filtered nor paginated. Of the fake's APIs only
	// DescribeInstances is listed; its calls without Filters, MaxResults
	// and NextToken take from it, also when they name InstanceIds (EC2: 50
	// tokens, 10 a second).
	DescribeUnfiltered Bucket

	// RunInstancesResources is the size of the resource bucket of
	// RunInstances, which loses a token per instance launched (EC2: 1000
	// tokens, 2 a second).
	RunInstancesResources Bucket

	// StartInstancesResources is the size of the resource bucket of
	// StartInstances, which loses a token per instance named (EC2: 1000
	// tokens, 2 a second).
	StartInstancesResources Bucket

	// StateChangeResources is the size of the resource buckets of
	// StopInstances and TerminateInstances, one each, which lose a token
	// per instance named (EC2: 1000 tokens, 20 a second).
	StateChangeResources Bucket
}

// EC2Buckets returns the bucket sizes and refill rates EC2 documents for
// request and resource throttling. New pre-fills Options.Buckets with them.
func EC2Buckets() Buckets {
	b := func(c ec2limits.Category) Bucket {
		d := c.Bucket()
		return Bucket{Size: d.Size, Refill: d.Refill}
	}
	return Buckets{
		ModifyInstanceMetadataOptions:  b(ec2limits.ModifyInstanceMetadataOptions),
		ModifyInstanceMetadataDefaults: b(ec2limits.ModifyInstanceMetadataDefaults),
		RunInstances:                   b(ec2limits.RunInstances),
		StartInstances:                 b(ec2limits.StartInstances),
		TerminateInstances:             b(ec2limits.TerminateInstances),
		CreateLaunchTemplateVersion:    b(ec2limits.CreateLaunchTemplateVersion),
		ModifyLaunchTemplate:           b(ec2limits.ModifyLaunchTemplate),
		ModifyImageAttribute:           b(ec2limits.ModifyImageAttribute),
		Mutating:                       b(ec2limits.Mutating),
		Describe:                       b(ec2limits.Describe),
		DescribeUnfiltered:             b(ec2limits.DescribeUnfiltered),
		RunInstancesResources:          b(ec2limits.RunInstancesResources),
		StartInstancesResources:        b(ec2limits.StartInstancesResources),
		StateChangeResources:           b(ec2limits.StateChangeResources),
	}
}

// bucket returns the size of the buckets of category c.
func (b *Buckets) bucket(c ec2limits.Category) Bucket {
	switch c {
	case ec2limits.ModifyInstanceMetadataOptions:
		return b.ModifyInstanceMetadataOptions
	case ec2limits.ModifyInstanceMetadataDefaults:
		return b.ModifyInstanceMetadataDefaults
	case ec2limits.RunInstances:
		return b.RunInstances
	case ec2limits.StartInstances:
		return b.StartInstances
	case ec2limits.TerminateInstances:
		return b.TerminateInstances
	case ec2limits.CreateLaunchTemplateVersion:
		return b.CreateLaunchTemplateVersion
	case ec2limits.ModifyLaunchTemplate:
		return b.ModifyLaunchTemplate
	case ec2limits.ModifyImageAttribute:
		return b.ModifyImageAttribute
	case ec2limits.Mutating:
		return b.Mutating
	case ec2limits.Describe:
		return b.Describe
	case ec2limits.DescribeUnfiltered:
		return b.DescribeUnfiltered
	case ec2limits.RunInstancesResources:
		return b.RunInstancesResources
	case ec2limits.StartInstancesResources:
		return b.StartInstancesResources
	case ec2limits.StateChangeResources:
		return b.StateChangeResources
	}
	return Bucket{}
}

// apiThrottling is how EC2 throttles an operation of the fake: the one
// description of EC2's buckets the library's pacing also reads. An
// operation it does not list is never throttled (a test checks that every
// operation is listed).
func apiThrottling(op string) ec2limits.Throttling {
	t, _ := ec2limits.Of(op)
	return t
}

// requestKind says which request bucket of its API a call takes its token
// from.
type requestKind int

const (
	// anyRequest takes a token from the API's request bucket.
	anyRequest requestKind = iota
	// unfilteredRequest is a call without filters or paging: it takes its
	// token from the API's unfiltered bucket when it has one, else like
	// anyRequest.
	unfilteredRequest
)

// bucketKey names one live bucket: an API's bucket of a category.
type bucketKey struct {
	op  string
	cat ec2limits.Category
}

// limiters are the live token buckets of an EC2 fake, made when first used
// (they start full, so making one later changes nothing).
type limiters struct {
	sizes   Buckets
	buckets map[bucketKey]*rate.Limiter
}

func newLimiters(b Buckets) *limiters {
	return &limiters{sizes: b, buckets: make(map[bucketKey]*rate.Limiter)}
}

// take takes n tokens at now from op's bucket of category c and reports
// whether there were enough. A nil l, a missing category and a bucket of no
// size never throttle.
func (l *limiters) take(op string, c ec2limits.Category, n int, now time.Time) bool {
	if l == nil || c == ec2limits.None {
		return true
	}
	k := bucketKey{op, c}
	lim, ok := l.buckets[k]
	if !ok {
		if b := l.sizes.bucket(c); b.Size > 0 {
			lim = rate.NewLimiter(rate.Limit(max(b.Refill, 0)), b.Size)
		}
		l.buckets[k] = lim
	}
	return lim == nil || lim.AllowN(now, n)
}

// takeRequest takes the token of a call of op of the given kind.
func (l *limiters) takeRequest(op string, kind requestKind, now time.Time) bool {
	t := apiThrottling(op)
	c := t.Request
	if kind == unfilteredRequest && t.Unfiltered {
		c = ec2limits.DescribeUnfiltered
	}
	return l.take(op, c, 1, now)
}

// takeResources takes the n resource tokens of a call of op, when op has a
// resource bucket, and answers RequestLimitExceeded when there are too few.
// A call that would use more tokens than are left is refused whole. It is
// called, with f.mu held, after every check of the call and before its
// effect, so that only calls that act on instances use resource tokens.
func (f *EC2) takeResources(op string, n int) error {
	if f.unthrottled > 0 || f.buckets.take(op, apiThrottling(op).Resource, n, time.Now()) {
		return nil
	}
	f.throttled[op]++
	return apiError(op, 503, codeRequestLimit,
		"Request limit exceeded. Account %s has been throttled on ec2:%s because it exceeded its resource rate limit.", f.account, op)
}

// throttled answers a call of account refused by request throttling.
func throttled(account, op string) error {
	return apiError(op, 503, codeRequestLimit,
		"Request limit exceeded. Account %s has been throttled on ec2:%s because it exceeded its request rate limit.", account, op)
}

// Throttled reports how many calls of operation were refused with
// RequestLimitExceeded by the request or resource token buckets of
// Options.Throttle. Failures injected with FailNext are not included.
func (f *EC2) Throttled(operation string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.throttled[operation]
}

// unfiltered returns the kind of a call of a non-mutating API with the given
// filters and paging parameters.
func unfiltered(filters []types.Filter, maxResults *int32, nextToken *string) requestKind {
	if len(filters) > 0 || maxResults != nil || (nextToken != nil && *nextToken != "") {
		return anyRequest
	}
	return unfilteredRequest
}

// describeInstancesKind returns the kind of a DescribeInstances call.
func describeInstancesKind(p *ec2.DescribeInstancesInput) requestKind {
	if p == nil {
		return unfilteredRequest
	}
	return unfiltered(p.Filters, p.MaxResults, p.NextToken)
}

package fake

import (
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"golang.org/x/time/rate"
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
	return Buckets{
		ModifyInstanceMetadataOptions:  Bucket{Size: 100, Refill: 5},
		ModifyInstanceMetadataDefaults: Bucket{Size: 2, Refill: 2},
		RunInstances:                   Bucket{Size: 5, Refill: 2},
		StartInstances:                 Bucket{Size: 5, Refill: 2},
		TerminateInstances:             Bucket{Size: 100, Refill: 5},
		CreateLaunchTemplateVersion:    Bucket{Size: 100, Refill: 5},
		ModifyLaunchTemplate:           Bucket{Size: 100, Refill: 5},
		ModifyImageAttribute:           Bucket{Size: 100, Refill: 5},
		Mutating:                       Bucket{Size: 50, Refill: 5},
		Describe:                       Bucket{Size: 100, Refill: 20},
		DescribeUnfiltered:             Bucket{Size: 50, Refill: 10},
		RunInstancesResources:          Bucket{Size: 1000, Refill: 2},
		StartInstancesResources:        Bucket{Size: 1000, Refill: 2},
		StateChangeResources:           Bucket{Size: 1000, Refill: 20},
	}
}

// category is a throttling category: a field of Buckets.
type category int

const (
	noCategory category = iota
	catModifyOptions
	catModifyDefaults
	catRunInstances
	catStartInstances
	catTerminateInstances
	catCreateTemplateVersion
	catModifyTemplate
	catModifyImageAttribute
	catMutating
	catDescribe
	catDescribeUnfiltered
	catRunResources
	catStartResources
	catStateResources
)

// bucket returns the size of the buckets of category c.
func (b *Buckets) bucket(c category) Bucket {
	switch c {
	case catModifyOptions:
		return b.ModifyInstanceMetadataOptions
	case catModifyDefaults:
		return b.ModifyInstanceMetadataDefaults
	case catRunInstances:
		return b.RunInstances
	case catStartInstances:
		return b.StartInstances
	case catTerminateInstances:
		return b.TerminateInstances
	case catCreateTemplateVersion:
		return b.CreateLaunchTemplateVersion
	case catModifyTemplate:
		return b.ModifyLaunchTemplate
	case catModifyImageAttribute:
		return b.ModifyImageAttribute
	case catMutating:
		return b.Mutating
	case catDescribe:
		return b.Describe
	case catDescribeUnfiltered:
		return b.DescribeUnfiltered
	case catRunResources:
		return b.RunInstancesResources
	case catStartResources:
		return b.StartInstancesResources
	case catStateResources:
		return b.StateChangeResources
	}
	return Bucket{}
}

// throttling says how EC2 throttles an API.
type throttling struct {
	// request is the category of the API's request bucket.
	request category
	// unfiltered says the API has a second request bucket, of category
	// catDescribeUnfiltered, for its unfiltered and unpaginated calls.
	unfiltered bool
	// resource is the category of the API's resource bucket, if it has
	// one.
	resource category
}

// apiThrottling is how EC2 throttles each operation of the fake: the one
// place where an operation declares its categories. An operation missing
// here is never throttled (a test checks that every operation is listed).
var apiThrottling = map[string]throttling{
	opModifyInstanceMetadataOptions:  {request: catModifyOptions},
	opModifyInstanceMetadataDefaults: {request: catModifyDefaults},
	opRegisterImage:                  {request: catMutating},
	opRunInstances:                   {request: catRunInstances, resource: catRunResources},
	opStartInstances:                 {request: catStartInstances, resource: catStartResources},
	opStopInstances:                  {request: catMutating, resource: catStateResources},
	opTerminateInstances:             {request: catTerminateInstances, resource: catStateResources},
	opDescribeInstances:              {request: catDescribe, unfiltered: true},
	opDescribeImages:                 {request: catDescribe},
	opGetInstanceMetadataDefaults:    {request: catDescribe},
	opCreateLaunchTemplate:           {request: catMutating},
	opCreateLaunchTemplateVersion:    {request: catCreateTemplateVersion},
	opModifyLaunchTemplate:           {request: catModifyTemplate},
	opDeleteLaunchTemplate:           {request: catMutating},
	opDeleteLaunchTemplateVersions:   {request: catMutating},
	opModifyImageAttribute:           {request: catModifyImageAttribute},
	opDescribeLaunchTemplates:        {request: catDescribe},
	opDescribeLaunchTemplateVersions: {request: catDescribe},
	opDescribeImageAttribute:         {request: catDescribe},
	opDescribeRegions:                {request: catDescribe},
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
	cat category
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
func (l *limiters) take(op string, c category, n int, now time.Time) bool {
	if l == nil || c == noCategory {
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
	t := apiThrottling[op]
	c := t.request
	if kind == unfilteredRequest && t.unfiltered {
		c = catDescribeUnfiltered
	}
	return l.take(op, c, 1, now)
}

// takeResources takes the n resource tokens of a call of op, when op has a
// resource bucket, and answers RequestLimitExceeded when there are too few.
// A call that would use more tokens than are left is refused whole. It is
// called, with f.mu held, after every check of the call and before its
// effect, so that only calls that act on instances use resource tokens.
func (f *EC2) takeResources(op string, n int) error {
	if f.unthrottled > 0 || f.buckets.take(op, apiThrottling[op].resource, n, time.Now()) {
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

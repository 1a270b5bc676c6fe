// Package ec2limits describes EC2's request token buckets and page sizes,
// once, for the pacing of the library's calls and for the fake's throttling.
//
// EC2 throttles each API with token buckets (EC2 Developer Guide, "Request
// throttling"): a request bucket per API, sized by the API or by its
// category, a second request bucket for the unfiltered and unpaginated calls
// of some non-mutating APIs, and a resource bucket for the APIs that launch,
// start, stop or terminate instances. This package holds EC2's documented
// sizes and refill rates, the category of every API the module calls or
// serves, and the largest pages and filters EC2 accepts.
package ec2limits

import (
	"maps"
	"slices"
)

// Bucket is a token bucket: Size tokens, refilled at Refill tokens a second.
// A bucket starts full, and a call that finds too few tokens in it is
// throttled. A Size of 0 or less means no limit; a Refill of 0 or less
// means the bucket never refills.
type Bucket struct {
	Size   int
	Refill float64
}

// Category is the kind of an EC2 token bucket: one API's own, or one that
// EC2 gives each API of a category.
type Category int

// The categories of EC2's buckets.
const (
	// None is no bucket: a call that takes no token.
	None Category = iota
	// The request buckets of the APIs of these names.
	ModifyInstanceMetadataOptions
	ModifyInstanceMetadataDefaults
	RunInstances
	StartInstances
	TerminateInstances
	CreateLaunchTemplateVersion
	ModifyLaunchTemplate
	ModifyImageAttribute
	// Mutating is the request bucket of each other mutating API.
	Mutating
	// Describe is the request bucket of each non-mutating API (Describe*,
	// Get*): all its calls, or its filtered or paginated ones when it also
	// has a DescribeUnfiltered bucket.
	Describe
	// DescribeUnfiltered is the second request bucket of the non-mutating
	// APIs EC2 lists for it, taken by their calls that are neither filtered
	// nor paginated.
	DescribeUnfiltered
	// The resource buckets of RunInstances, of StartInstances, and of
	// StopInstances and TerminateInstances (one each), which lose a token
	// per instance the call acts on.
	RunInstancesResources
	StartInstancesResources
	StateChangeResources
)

// Bucket returns the size and refill rate EC2 documents for the buckets of
// category c; the zero Bucket (no limit) for None.
func (c Category) Bucket() Bucket {
	switch c {
	case ModifyInstanceMetadataOptions, TerminateInstances, CreateLaunchTemplateVersion,
		ModifyLaunchTemplate, ModifyImageAttribute:
		return Bucket{Size: 100, Refill: 5}
	case ModifyInstanceMetadataDefaults:
		return Bucket{Size: 2, Refill: 2}
	case RunInstances, StartInstances:
		return Bucket{Size: 5, Refill: 2}
	case Mutating:
		return Bucket{Size: 50, Refill: 5}
	case Describe:
		return Bucket{Size: 100, Refill: 20}
	case DescribeUnfiltered:
		return Bucket{Size: 50, Refill: 10}
	case RunInstancesResources, StartInstancesResources:
		return Bucket{Size: 1000, Refill: 2}
	case StateChangeResources:
		return Bucket{Size: 1000, Refill: 20}
	}
	return Bucket{}
}

// Mutates reports whether c is the request bucket of a mutating API.
func (c Category) Mutates() bool {
	switch c {
	case ModifyInstanceMetadataOptions, ModifyInstanceMetadataDefaults, RunInstances, StartInstances,
		TerminateInstances, CreateLaunchTemplateVersion, ModifyLaunchTemplate, ModifyImageAttribute, Mutating:
		return true
	}
	return false
}

// Throttling says how EC2 throttles an API.
type Throttling struct {
	// Request is the category of the API's request bucket.
	Request Category
	// Unfiltered says the API has a second request bucket, of category
	// DescribeUnfiltered, for its unfiltered and unpaginated calls.
	Unfiltered bool
	// Resource is the category of the API's resource bucket, if it has one.
	Resource Category
}

// apis is how EC2 throttles each API the module calls or serves: the one
// place where an API declares its buckets.
var apis = map[string]Throttling{
	"ModifyInstanceMetadataOptions":  {Request: ModifyInstanceMetadataOptions},
	"ModifyInstanceMetadataDefaults": {Request: ModifyInstanceMetadataDefaults},
	"RegisterImage":                  {Request: Mutating},
	"RunInstances":                   {Request: RunInstances, Resource: RunInstancesResources},
	"StartInstances":                 {Request: StartInstances, Resource: StartInstancesResources},
	"StopInstances":                  {Request: Mutating, Resource: StateChangeResources},
	"TerminateInstances":             {Request: TerminateInstances, Resource: StateChangeResources},
	"DescribeInstances":              {Request: Describe, Unfiltered: true},
	"DescribeImages":                 {Request: Describe},
	"GetInstanceMetadataDefaults":    {Request: Describe},
	"CreateLaunchTemplate":           {Request: Mutating},
	"CreateLaunchTemplateVersion":    {Request: CreateLaunchTemplateVersion},
	"ModifyLaunchTemplate":           {Request: ModifyLaunchTemplate},
	"DeleteLaunchTemplate":           {Request: Mutating},
	"DeleteLaunchTemplateVersions":   {Request: Mutating},
	"ModifyImageAttribute":           {Request: ModifyImageAttribute},
	"DescribeLaunchTemplates":        {Request: Describe},
	"DescribeLaunchTemplateVersions": {Request: Describe},
	"DescribeImageAttribute":         {Request: Describe},
	"DescribeRegions":                {Request: Describe},
}

// Of returns how EC2 throttles the API op, and whether it is one this
// module knows; an API it does not know has no buckets.
func Of(op string) (Throttling, bool) {
	t, ok := apis[op]
	return t, ok
}

// Operations returns the APIs this package knows, in order.
func Operations() []string {
	return slices.Sorted(maps.Keys(apis))
}

// Request returns the request bucket that paces calls of op: the stricter
// of its two when it has a DescribeUnfiltered bucket and unfiltered is set
// (calls that may be unfiltered, so that no mix of them exceeds either).
// An API this package does not list (Auto Scaling's Describe calls, which
// document no rates) is given EC2's bucket of a non-mutating API.
func Request(op string, unfiltered bool) Bucket {
	t, ok := apis[op]
	if !ok {
		return Describe.Bucket()
	}
	if unfiltered && t.Unfiltered {
		return DescribeUnfiltered.Bucket()
	}
	return t.Request.Bucket()
}

// GetMetricData is how CloudWatch's GetMetricData is paced: well below its
// default quota (50 transactions a second), as the calls share the account
// with others.
var GetMetricData = Bucket{Size: 10, Refill: 10}

// Page and request sizes.
const (
	// DescribePage is the largest page of DescribeInstances (MaxResults).
	DescribePage = 1000
	// FilterValueChunk is how many values one filter of a Describe call
	// is given: the documented limit of values per filter is unverified,
	// so this stays conservative.
	FilterValueChunk = 200
	// MetricQueries is the most queries one GetMetricData request takes.
	MetricQueries = 500
	// TemplatePage is the largest page of DescribeLaunchTemplates and
	// DescribeLaunchTemplateVersions.
	TemplatePage = 200
	// AutoScalingPage is the largest page of DescribeAutoScalingGroups and
	// DescribeLaunchConfigurations.
	AutoScalingPage = 100
	// ImagePage is the largest page of DescribeImages.
	ImagePage = 1000
)

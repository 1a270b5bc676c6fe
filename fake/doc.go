// Package fake provides an in-memory model of the Amazon EC2 operations that
// manage instance metadata (IMDS) options, and of the CloudWatch metrics that
// count IMDSv1 calls, for unit tests.
//
// An [EC2] has the methods RunInstances, StartInstances, StopInstances,
// TerminateInstances, DescribeInstances, RegisterImage, DescribeImages,
// ModifyImageAttribute, DescribeImageAttribute, GetInstanceMetadataDefaults,
// ModifyInstanceMetadataDefaults, ModifyInstanceMetadataOptions and the
// launch template operations (CreateLaunchTemplate,
// CreateLaunchTemplateVersion, DescribeLaunchTemplates,
// DescribeLaunchTemplateVersions, ModifyLaunchTemplate, DeleteLaunchTemplate,
// DeleteLaunchTemplateVersions), each with exactly the signature of the
// method of *ec2.Client, so code that depends on a small interface of those
// methods accepts either. An [AutoScaling] and a [CloudWatch] do the same for
// *autoscaling.Client and *cloudwatch.Client. The optFns arguments are
// ignored.
//
// # Seeding
//
// Besides the API, an EC2 has methods that set up a test without making API
// calls: they are not counted by [EC2.Calls], take no token from any
// bucket, and are not affected by [EC2.FailNext] or [EC2.Deny].
//
//   - [EC2.Launch] launches any number of instances in one call, registering
//     an image unless one is named, with metadata options resolved exactly
//     as RunInstances resolves them (see its example).
//   - [EC2.SetDeclarativePolicy] makes the account's default metadata
//     options managed by a declarative policy.
//   - [EC2.CallIMDSv1] simulates software on an instance that still calls
//     IMDSv1, as seen by a [CloudWatch] tied to the fake.
//
// # What it models
//
// The fake follows the documented behaviour of EC2:
//
//   - ModifyInstanceMetadataOptions keeps the options a request omits,
//     validates every value (hop limit 1..64, enumerations exactly as
//     spelled), and always answers State "pending", also when
//     [Options.ApplyDelay] is 0. DescribeInstances reports a running
//     instance's change "applied" once ApplyDelay has passed (at once for
//     0); a stopped instance stays "pending" until StartInstances.
//   - RunInstances resolves each metadata option on its own: the launch
//     parameter, else the account default, else the AMI's ImdsSupport (v2.0
//     gives HttpTokens required and hop limit 2), else the built-in default.
//   - When the account enforces IMDSv2 (HttpTokensEnforced enabled), a launch
//     whose HttpTokens did not resolve to required is refused with
//     UnsupportedOperation and EC2's documented message, and so is a
//     ModifyInstanceMetadataOptions that would enable IMDSv1 on an instance
//     that has it disabled (HttpTokens required to optional). An instance
//     that already allows IMDSv1 can still be modified, HttpTokens optional
//     included.
//   - While a declarative policy manages the account's defaults,
//     GetInstanceMetadataDefaults answers ManagedBy "declarative-policy" with
//     the policy's defaults and ManagedExceptionMessage, launches resolve
//     against (and are enforced by) the policy's defaults, and
//     ModifyInstanceMetadataDefaults is refused.
//   - For [Options.PropagationDelay] after launch, a new instance is not
//     found by DescribeInstances or ModifyInstanceMetadataOptions.
//   - DryRun answers DryRunOperation (HTTP 412) when permitted, and [EC2.Deny]
//     makes an operation answer UnauthorizedOperation (HTTP 403), DryRun or
//     not.
//   - DescribeInstances supports filters with wildcards, MaxResults and
//     NextToken paging. Looking instances up by ID, in InstanceIds or in an
//     instance-id filter without wildcards, costs time in proportion to the
//     IDs asked for, not to the number of instances, so simulations of large
//     fleets stay fast.
//
// Instances change state at once (there is no "pending", "stopping" or
// "shutting-down" phase), there are no networks or volumes, and the only
// quotas are 1000 instances per RunInstances call and, when turned on, the
// request throttling below.
//
// # Request throttling
//
// With [Options.Throttle] on, the fake throttles requests as EC2 does, with
// token buckets per account. Each API is evaluated on its own: every API has
// buckets of its own, of its throttling category's size, and a call to one
// API never takes tokens from another's. Each call takes one token from its
// API's request bucket; RunInstances also takes one token per instance from
// its resource bucket, and StartInstances, StopInstances and
// TerminateInstances one per instance named from theirs. A call that finds
// too few tokens is answered RequestLimitExceeded (HTTP 503) without any
// other effect; one that needs more resource tokens than are left is refused
// whole. Buckets start full and refill continuously at their rate, measured
// with time.Now. [Buckets] sets the sizes by category; [EC2Buckets] gives
// EC2's documented sizes, which New pre-fills into [Options.Buckets]:
//
//   - ModifyInstanceMetadataOptions: 100 tokens, refilled at 5 a second.
//   - ModifyInstanceMetadataDefaults: 2 tokens, 2 a second.
//   - Mutating, each other mutating API (RegisterImage, the launch template
//     and image attribute changes, and the request buckets of RunInstances
//     and the state changes): 100 tokens, 5 a second.
//   - Describe, each non-mutating API (DescribeImages,
//     DescribeImageAttribute, DescribeLaunchTemplates,
//     DescribeLaunchTemplateVersions and GetInstanceMetadataDefaults always,
//     DescribeInstances when called with Filters, MaxResults or NextToken):
//     100 tokens, 20 a second.
//   - DescribeUnfiltered, the unfiltered and unpaginated calls of the APIs
//     EC2 lists for it; of the fake's APIs only DescribeInstances: 50 tokens,
//     10 a second.
//   - RunInstancesResources, the resource bucket of RunInstances: 1000
//     tokens, 2 a second.
//   - StateChangeResources, the resource buckets of StartInstances,
//     StopInstances and TerminateInstances, each its own: 1000 tokens, 20 a
//     second.
//
// Naming InstanceIds does not make a DescribeInstances call "filtered":
// EC2's documentation speaks of filters and pagination, and the fake takes
// the stricter reading, so such calls use the smaller bucket.
//
// The order of the checks is: the call is counted; a canceled context is
// answered, then failures queued with FailNext (neither takes a token); the
// request token is taken, then permissions are checked (denied calls take a
// token); then the parameters are validated and DryRun answered (dry runs
// take a request token); last, just before its effect, a call that
// launches, starts, stops or terminates instances takes its resource tokens
// (so dry runs and invalid calls take none). [EC2.Throttled] counts the calls
// the buckets refused; injected RequestLimitExceeded failures are not
// included. Throttling is off by default, so a fake without it never
// answers RequestLimitExceeded on its own.
//
// # CloudWatch
//
// A [CloudWatch] models GetMetricData, with exactly the signature of the
// method of *cloudwatch.Client, for the AWS/EC2 metrics MetadataNoToken (the
// instance metadata requests an instance answered without a session token)
// and MetadataNoTokenRejected (those it refused because it requires IMDSv2).
// Tests add datapoints with [CloudWatch.PutMetadataNoToken] (or
// [CloudWatch.PutMetric] for other metrics of one instance). Tied to an EC2
// fake with [CloudWatchOptions.EC2], a CloudWatch also derives both metrics
// of every instance from its history, per minute, at the time of the call:
// every whole minute the instance ran has a datapoint of each, zero
// included; the calls of [EC2.CallIMDSv1] count as MetadataNoToken while the
// instance runs with HttpTokens optional applied, and as
// MetadataNoTokenRejected while it runs with required applied.
//
// GetMetricData sums the datapoints, or takes their Average, Minimum,
// Maximum or SampleCount, per period over [StartTime, EndTime). A query must
// be a MetricStat (no math expressions or Metrics Insights) whose dimensions
// are exactly InstanceId; other dimensions, or a metric without datapoints,
// give an empty series. An answer with more datapoints than MaxDatapoints is
// split into pages: results that go on in a later page have StatusCode
// PartialData, and the answer a NextToken. Requests are validated as
// CloudWatch documents them (1 to 500 queries, Ids matching
// ^[a-z][a-zA-Z0-9_]*$, periods that are multiples of 60) and invalid ones
// answer ValidationError (HTTP 400). [CloudWatch.FailNext] and
// [CloudWatch.Calls] work like those of EC2, for the one operation, and
// [CloudWatch.CorruptNext] lets a test turn answers into something other than
// a complete measurement (InternalError, Messages, NaN values...).
//
// # Errors
//
// Every error of an API call is returned the way the SDK returns it: a
// *smithy.OperationError (ServiceID "EC2", "CloudWatch" or "Auto Scaling") around a
// *awshttp.ResponseError (with HTTP status and request ID) around a
// smithy.APIError carrying the service's error code. So
// errors.As(err, &apiErr) with a smithy.APIError gives the code, and
// errors.As with an interface{ HTTPStatusCode() int } gives the status.
// A canceled context answers a *smithy.CanceledError, as the SDK does.
// Use [EC2.FailNext] with [NewAPIError] to inject failures such as
// RequestLimitExceeded or InternalError, and [EC2.Calls] to count calls.
// Launch answers the errors RunInstances would; the other seeding methods
// answer plain errors that say which value broke which rule.
//
// # Time and testing/synctest
//
// The fake reads the clock with time.Now when it is called and derives every
// time-dependent answer from it, including the refill of the token buckets
// and the IMDSv1 metrics; it starts no goroutines and no timers. In a
// testing/synctest bubble, time.Sleep advances the fake clock, so waiting for
// ApplyDelay, PropagationDelay, a bucket to refill or metrics to accumulate
// costs no real time. Create the fake, and launch its instances, inside the
// bubble: instances launched outside it carry wall-clock times that the
// bubble's clock never reaches.
//
// # Unverified behaviour
//
// The following is modelled conservatively because it could not be checked
// against EC2:
//
//   - The exact wording of error messages, and in particular of the refusal
//     of ModifyInstanceMetadataOptions under enforcement (its code,
//     UnsupportedOperation, is documented). Whether a declarative policy's
//     ManagedExceptionMessage is added to enforcement refusals (it is here).
//   - Under enforcement, going back to optional is refused as soon as
//     required was asked for, even while that change is still pending.
//   - The error code of ModifyInstanceMetadataDefaults refused under a
//     declarative policy: UnsupportedOperation here, a client error callers
//     do not retry, carrying the policy's message. That a policy replaces
//     the account's defaults whole (a field it leaves unset is no
//     preference), and that the account's own defaults apply again once the
//     policy is gone.
//   - The answer to a filter without values (InvalidParameterValue here);
//     the upper bound of MaxResults (1000); whether InstanceIds alone count
//     as filtering for request throttling (they do not here); whether the
//     unfiltered and the filtered calls of DescribeInstances share a bucket
//     (they do not here).
//   - The size of the request buckets of RunInstances and the state changes
//     (EC2 documents their resource buckets "in addition to" request rate
//     limiting; the fake gives them the mutating default, 100 and 5); the
//     error code of a call refused by a resource bucket (RequestLimitExceeded
//     here, the code EC2 documents for throttling); that dry runs and invalid
//     calls take no resource tokens.
//   - For CloudWatch: the error codes of invalid requests (ValidationError
//     for every one here, InvalidNextToken for an unknown NextToken,
//     InternalServiceError for FailNext without an error); the rounding of
//     StartTime, which is always down to the minute here (CloudWatch rounds
//     older start times more coarsely); that a running instance reports both
//     IMDSv1 metrics every minute, zero included, and a stopped one none;
//     that calls to a disabled endpoint count in neither metric; how pages
//     are cut (here the first page has every result and later pages only the
//     results with datapoints on them).
//
// The SDK rejects a request that lacks a required parameter (such as
// InstanceId, MinCount, MaxCount or Name) on the client side with a
// smithy.InvalidParamsError; the fake answers MissingParameter instead, so
// that every error it returns has an EC2 code.
//
// # Launch templates, AMI attributes and Auto Scaling
//
// An [EC2] also models launch templates (CreateLaunchTemplate,
// CreateLaunchTemplateVersion, DescribeLaunchTemplates,
// DescribeLaunchTemplateVersions, ModifyLaunchTemplate, DeleteLaunchTemplate,
// DeleteLaunchTemplateVersions, and RunInstances with a LaunchTemplate,
// whose MetadataOptions the request overrides field by field) and the
// irreversible imdsSupport attribute of AMIs (ModifyImageAttribute,
// DescribeImageAttribute; [EC2.AddImage] adds images of other accounts,
// which the caller cannot modify). An [AutoScaling] models groups that
// launch from a template version or a launch configuration through an EC2
// fake, where a refused launch is a failed scaling activity; its errors
// carry ServiceID "Auto Scaling". Each method's documentation gives its rules
// and what in them is unverified.
//
// # Over HTTP
//
// [NewHandler] serves an EC2 (and a [CloudWatch]) to the real SDK clients and
// the AWS CLI, in EC2's Query protocol and CloudWatch's RPC v2 CBOR, JSON and
// Query protocols, with EC2's answer and error shapes; [NewServer] starts it
// on a loopback port for tests. Signatures are not verified.
package fake

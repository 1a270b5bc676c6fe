// Package fake provides an in-memory model of the Amazon EC2 operations that
// manage instance metadata (IMDS) options, and of the CloudWatch metric that
// counts IMDSv1 calls, for unit tests.
//
// An [EC2] has the methods RunInstances, StartInstances, StopInstances,
// TerminateInstances, DescribeInstances, RegisterImage, DescribeImages,
// GetInstanceMetadataDefaults, ModifyInstanceMetadataDefaults and
// ModifyInstanceMetadataOptions, each with exactly the signature of the
// method of *ec2.Client, so code that depends on a small interface of those
// methods accepts either. The optFns arguments are ignored.
//
// # What it models
//
// The fake follows the documented behaviour of EC2:
//
//   - ModifyInstanceMetadataOptions keeps the options a request omits,
//     validates every value (hop limit 1..64, enumerations exactly as
//     spelled), and answers State "pending". A running instance reports
//     "applied" once [Options.ApplyDelay] has passed; a stopped instance
//     stays "pending" until StartInstances.
//   - RunInstances resolves each metadata option on its own: the launch
//     parameter, else the account default, else the AMI's ImdsSupport (v2.0
//     gives HttpTokens required and hop limit 2), else the built-in default.
//     It then refuses the launch when the account enforces IMDSv2
//     (HttpTokensEnforced enabled) and HttpTokens did not resolve to
//     required.
//   - For [Options.PropagationDelay] after launch, a new instance is not
//     found by DescribeInstances or ModifyInstanceMetadataOptions.
//   - DryRun answers DryRunOperation (HTTP 412) when permitted, and [EC2.Deny]
//     makes an operation answer UnauthorizedOperation (HTTP 403), DryRun or
//     not.
//   - DescribeInstances supports filters with wildcards, MaxResults and
//     NextToken paging.
//
// Instances change state at once (there is no "pending", "stopping" or
// "shutting-down" phase), there are no networks or volumes, and the only
// quotas are 1000 instances per RunInstances call and, when turned on, the
// request throttling below.
//
// # Request throttling
//
// With [Options.Throttle] on, the fake throttles requests as EC2 does, with
// token buckets per account: each call takes a token from its bucket, and a
// call that finds it empty is answered RequestLimitExceeded (HTTP 503)
// without any other effect. Buckets start full and refill continuously at
// their rate, measured with time.Now. [EC2Buckets] gives EC2's documented
// sizes, which New pre-fills into [Options.Buckets]:
//
//   - ModifyInstanceMetadataOptions: 100 tokens, refilled at 5 a second.
//   - ModifyInstanceMetadataDefaults: 2 tokens, 2 a second.
//   - Describe, for filtered or paginated non-mutating calls
//     (DescribeInstances and DescribeImages with Filters, MaxResults or
//     NextToken): 100 tokens, 20 a second.
//   - DescribeUnfiltered, for unfiltered and unpaginated non-mutating calls
//     (DescribeInstances and DescribeImages without any of those, and
//     GetInstanceMetadataDefaults, which cannot be filtered or paginated): 50
//     tokens, 10 a second.
//
// Naming InstanceIds or ImageIds does not make a call "filtered": EC2's
// documentation speaks of filters and pagination, and the fake takes the
// stricter reading, so such calls use the smaller bucket. Each bucket is
// shared by all calls of its category. EC2 also has buckets for
// RunInstances, the instance state changes and other mutating calls; they
// are not modelled, and those operations are never throttled.
//
// Throttling is checked after the call is counted, after a canceled context
// and after failures queued with FailNext (neither takes a token), and
// before permissions and DryRun (denied calls and dry runs take a token).
// [EC2.Throttled] counts the calls the buckets refused; injected
// RequestLimitExceeded failures are not included. Throttling is off by
// default, so a fake without it never answers RequestLimitExceeded on its
// own.
//
// # CloudWatch
//
// A [CloudWatch] models GetMetricData, with exactly the signature of the
// method of *cloudwatch.Client, for the AWS/EC2 metric MetadataNoToken: the
// number of instance metadata requests an instance answered without a
// session token. Tests add datapoints with [CloudWatch.PutMetadataNoToken]
// (or [CloudWatch.PutMetric] for other metrics of one instance), and
// GetMetricData sums them, or takes their Average, Minimum, Maximum or
// SampleCount, per period over [StartTime, EndTime). A query must be a
// MetricStat (no math expressions or Metrics Insights) whose dimensions are
// exactly InstanceId; other dimensions, or a metric without datapoints, give
// an empty series. Every answer is complete in one page. Requests are
// validated as CloudWatch documents them (1 to 500 queries, Ids matching
// ^[a-z][a-zA-Z0-9_]*$, periods that are multiples of 60) and invalid ones
// answer ValidationError (HTTP 400). [CloudWatch.FailNext] and
// [CloudWatch.Calls] work like those of EC2, for the one operation.
//
// # Errors
//
// Every error is returned the way the SDK returns it: a
// *smithy.OperationError (ServiceID "EC2" or "CloudWatch") around a
// *awshttp.ResponseError (with HTTP status and request ID) around a
// smithy.APIError carrying the service's error code. So
// errors.As(err, &apiErr) with a smithy.APIError gives the code, and
// errors.As with an interface{ HTTPStatusCode() int } gives the status.
// A canceled context answers a *smithy.CanceledError, as the SDK does.
// Use [EC2.FailNext] with [NewAPIError] to inject failures such as
// RequestLimitExceeded or InternalError, and [EC2.Calls] to count calls.
//
// # Time and testing/synctest
//
// The fake reads the clock with time.Now when it is called and derives every
// time-dependent answer from it, including the refill of the request token
// buckets; it starts no goroutines and no timers. In a testing/synctest
// bubble, time.Sleep advances the fake clock, so waiting for ApplyDelay,
// PropagationDelay or a bucket to refill costs no real time. Create the fake inside
// the bubble: instances launched outside it carry wall-clock times that the
// bubble's clock never reaches.
//
// # Unverified behaviour
//
// The following is modelled conservatively because it could not be checked
// against EC2: the error code of a launch refused by IMDSv2 enforcement
// (UnsupportedOperation here); the exact wording of error messages; the
// answer to a filter without values (InvalidParameterValue here); and the
// upper bound of MaxResults (1000); whether InstanceIds or ImageIds alone
// count as filtering for request throttling (they do not here). For
// CloudWatch: the error codes of invalid requests (ValidationError for every
// one here, InvalidNextToken for any NextToken, InternalServiceError for
// FailNext without an error) and the rounding of StartTime, which is always
// down to the minute here (CloudWatch rounds older start times more
// coarsely). The SDK rejects a request that lacks a
// required parameter (such as InstanceId, MinCount, MaxCount or Name) on the
// client side with a smithy.InvalidParamsError; the fake answers
// MissingParameter instead, so that every error it returns has an EC2 code.
//
// # Over HTTP
//
// [NewHandler] serves an EC2 (and a [CloudWatch]) to the real SDK clients and
// the AWS CLI, in EC2's Query protocol and CloudWatch's RPC v2 CBOR, JSON and
// Query protocols, with EC2's answer and error shapes; [NewServer] starts it
// on a loopback port for tests. Signatures are not verified.
package fake

// Package fake provides an in-memory model of the Amazon EC2 operations that
// manage instance metadata (IMDS) options, for unit tests.
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
// quota is 1000 instances per RunInstances call.
//
// # Errors
//
// Every error is returned the way the SDK returns it: a
// *smithy.OperationError around a *awshttp.ResponseError (with HTTP status
// and request ID) around a smithy.APIError carrying the EC2 error code. So
// errors.As(err, &apiErr) with a smithy.APIError gives the code, and
// errors.As with an interface{ HTTPStatusCode() int } gives the status.
// A canceled context answers a *smithy.CanceledError, as the SDK does.
// Use [EC2.FailNext] with [NewAPIError] to inject failures such as
// RequestLimitExceeded or InternalError, and [EC2.Calls] to count calls.
//
// # Time and testing/synctest
//
// The fake reads the clock with time.Now when it is called and derives every
// time-dependent answer from it; it starts no goroutines and no timers. In a
// testing/synctest bubble, time.Sleep advances the fake clock, so waiting for
// ApplyDelay or PropagationDelay costs no real time. Create the fake inside
// the bubble: instances launched outside it carry wall-clock times that the
// bubble's clock never reaches.
//
// # Unverified behaviour
//
// The following is modelled conservatively because it could not be checked
// against EC2: the error code of a launch refused by IMDSv2 enforcement
// (UnsupportedOperation here); the exact wording of error messages; the
// answer to a filter without values (InvalidParameterValue here); and the
// upper bound of MaxResults (1000). The SDK rejects a request that lacks a
// required parameter (such as InstanceId, MinCount, MaxCount or Name) on the
// client side with a smithy.InvalidParamsError; the fake answers
// MissingParameter instead, so that every error it returns has an EC2 code.
package fake

// Package fake provides an in-memory model of the Amazon EC2 operations that
// manage instance metadata (IMDS) options, of the CloudWatch metrics that
// count IMDSv1 calls, of EC2 Auto Scaling, and of the accounts, Regions and
// roles of an AWS organisation, for unit tests; and an HTTP handler that
// serves them to the AWS SDKs and CLI.
//
// An [EC2] has the methods RunInstances, StartInstances, StopInstances,
// TerminateInstances, DescribeInstances, RegisterImage, DescribeImages,
// ModifyImageAttribute, DescribeImageAttribute, GetInstanceMetadataDefaults,
// ModifyInstanceMetadataDefaults, ModifyInstanceMetadataOptions,
// DescribeRegions and the launch template operations (CreateLaunchTemplate,
// CreateLaunchTemplateVersion, DescribeLaunchTemplates,
// DescribeLaunchTemplateVersions, ModifyLaunchTemplate, DeleteLaunchTemplate,
// DeleteLaunchTemplateVersions), each with exactly the signature of the
// method of *ec2.Client, so code that depends on a small interface of those
// methods accepts either. An [AutoScaling] and a [CloudWatch] do the same for
// *autoscaling.Client and *cloudwatch.Client, and an [Organization]'s [STS]
// and [Organizations] for *sts.Client (AssumeRole, GetCallerIdentity) and
// *organizations.Client (ListAccounts). The optFns arguments are ignored.
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
//   - [AutoScaling.TagAsService] tags a group as the service that made it
//     does (aws:cloudformation:stack-name and its kin), which the API
//     refuses from callers.
//   - [NewOrganization], [Organization.AddAccount] and [Account.CreateRole]
//     set up an organisation; [Account.Region] gives an account/Region's
//     fakes, seeded like any other (see Organisations below).
//   - [Seed.Apply] makes a whole account from a [Seed], a JSON document
//     (see Seed documents below).
//
// # Seed documents
//
// A [Seed] describes an account in one JSON document, read by [ReadSeed]:
// the one "imdsopts emulator --seed FILE" (and --emulator-seed) starts
// with, so a Go test and the emulator share it. Every key is optional and
// spelled exactly as here, given once:
//
//	{
//	  "Images": [{"Name": "legacy", "ImdsSupport": "v2.0"}],
//	  "Instances": [{
//	    "Count": 10, "Image": "legacy", "InstanceType": "t3.micro",
//	    "State": "running",                              (or "stopped", "terminated")
//	    "Monitoring": "basic",                           (or "detailed")
//	    "MetadataOptions": {"HttpTokens": "optional", "HttpPutResponseHopLimit": 1,
//	                        "HttpEndpoint": "enabled", "HttpProtocolIpv6": "disabled",
//	                        "InstanceMetadataTags": "disabled"},
//	    "Tags": {"team": "payments"},
//	    "MetadataNoToken": {"PerDay": 0, "Days": 14},
//	    "LateIMDSv1Calls": {"PerMinute": 4}
//	  }],
//	  "LaunchTemplates": [{
//	    "Name": "web", "Image": "legacy", "InstanceType": "m5.large",
//	    "Versions": [{"MetadataOptions": {"HttpTokens": "optional"},
//	                  "UserData": "#!/bin/bash\n/etc/eks/bootstrap.sh prod\n",
//	                  "Tags": {"team": "payments"}}, {}],
//	    "DefaultVersion": 1
//	  }],
//	  "AutoScalingGroups": [{
//	    "Name": "web", "LaunchTemplate": "web", "Version": "$Default", "DesiredCapacity": 4,
//	    "Tags": {"team": "payments"},
//	    "ServiceTags": {"aws:cloudformation:stack-name": "web"},
//	    "MetadataNoToken": {"PerDay": 0, "Days": 14}
//	  }],
//	  "AccountDefaults": {"HttpTokens": "required", "HttpPutResponseHopLimit": 2,
//	                      "HttpEndpoint": "enabled", "InstanceMetadataTags": "disabled",
//	                      "HttpTokensEnforced": "disabled"},
//	  "DeclarativePolicy": {"HttpTokens": "required", "HttpTokensEnforced": "enabled",
//	                        "ManagedExceptionMessage": "Ask the cloud team."}
//	}
//
// Images are registered in order ("ImdsSupport" is "v2.0" or absent);
// without any, one image "base" is. An instance group's "Image" names an
// image of the document, and may be left out when there is one. Instances
// are launched with their "MetadataOptions" as RunInstances would, then
// stopped or terminated as "State" says. "MetadataNoToken" adds one
// CloudWatch datapoint a day of PerDay IMDSv1 calls for each of the last
// Days days (default 14): PerDay 0 is a measured zero; without
// "MetadataNoToken" an instance has no datapoints before the seed is
// applied. From then on a [CloudWatch] tied to the EC2 publishes each
// instance's metrics (see CloudWatch below). "LateIMDSv1Calls" is software
// that calls IMDSv1 too rarely for a look back to see it (a monthly job):
// from the first ModifyInstanceMetadataOptions that makes the instance
// require tokens, it calls IMDSv1 PerMinute times a minute, refused while
// tokens are required (MetadataNoTokenRejected: what a rollout watches
// for) and answered again once they are optional
// ([EC2.CallIMDSv1OnceRequired]).
//
// A launch template has one version per entry of "Versions" (at least
// one; {} gives no MetadataOptions), from its "Image", and
// "DefaultVersion" (default 1) is its default; a version's "UserData" is
// text (at most 16 KB, sent base64-encoded, as EC2 takes it), and its
// "Tags" go on the instances it launches. An Auto Scaling group launches
// "DesiredCapacity" instances (0..1000) from its "LaunchTemplate" at
// "Version" ("$Default", the default, "$Latest" or a number), with its
// "Tags" on them; its "ServiceTags" are those with the reserved prefix
// "aws:" that the service that made the group puts there (CloudFormation's
// aws:cloudformation:stack-name, for a stack's or an Elastic Beanstalk
// environment's group), which callers cannot set; "MetadataNoToken" is
// its instances'. An instance group's "Tags" may have such keys too.
// "AccountDefaults" are set after the launches (as
// ModifyInstanceMetadataDefaults), so they describe the account now. A
// "DeclarativePolicy" then manages the defaults, as an AWS Organizations
// policy does: its fields (any of those of "AccountDefaults", and
// "ManagedExceptionMessage") replace the account's, and the account
// cannot change them.
//
// At most [MaxSeedInstances] instances in all, and [MaxSeedBytes] of JSON.
// [ReadSeed] refuses a key spelled otherwise or given twice, a value of
// the wrong type or out of range, and a name that refers to nothing in the
// document, naming the place ("Instances[0].Count 0: must be 1..100000");
// the values EC2 itself validates are refused by the fakes with EC2's
// errors when the seed is applied ("seed Instances[0]:
// InvalidParameterValue: ..."). [BuiltinSeed] gives the built-in accounts
// of "imdsopts emulator --seed-account", documents that use every key.
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
// # Edges
//
// Where EC2 refuses what a kinder emulator would accept, the fake refuses
// too; where EC2's answer is not known, it answers the way hardest for the
// code under test, and an option gives the other. Each edge is marked
// documented (D), reported by users (R) or inferred (I):
//
//   - Tag keys in the instance metadata (D, R: aws-cli#8825,
//     karpenter-provider-aws#1527 and #7012): with InstanceMetadataTags
//     enabled, by the launch, a launch template, the account default or a
//     modification, a tag key outside [0-9a-zA-Z\-_+=,.@:]{1,255}, or ".",
//     ".." or "_index", is refused with InvalidParameterValue naming the
//     key. Keys with a slash (kubernetes.io/cluster/NAME,
//     karpenter.sh/nodepool) are such keys. With the account default, the
//     launch fails, not the defaults call (R). The fake has no CreateTags.
//   - A disabled endpoint (D: a value for HttpTokens, the hop limit or
//     HttpProtocolIpv6 needs HttpEndpoint enabled): a modification that
//     sets one while the endpoint is, and stays, disabled is refused with
//     InvalidParameterCombination (I: EC2's answer is undocumented;
//     [Options.AcceptOptionsOnDisabledEndpoint] accepts it).
//   - The IPv6 endpoint on Xen instance types (D: "only supported on
//     Nitro-based instances", the Xen families of the User Guide; R: the
//     message, aws-ec2-imdsv2-get pull request 6): refused with
//     UnsupportedOperation at launch and on modification; metal sizes,
//     p3dn.24xlarge and A1 are Nitro.
//   - Enforcement refusals (D: User Guide, troubleshooting): launches and
//     modifications to optional answer UnsupportedOperation with the
//     documented launch message; [Options.ReportedModifyEnforcedMessage]
//     gives modifications the wording a third-party source reports (R,
//     weak).
//   - Request throttling (D: EC2 Developer Guide, "Request throttling"):
//     each API's own bucket, RunInstances' and StartInstances' of 5 tokens
//     among them; see Request throttling below.
//   - CreateLaunchTemplateVersion takes $Latest and $Default as
//     SourceVersion (R, widely used; D for LaunchTemplateSpecification).
//   - An Auto Scaling override with a LaunchTemplateSpecification of its
//     own launches its instance type from that template (D: EC2 Auto
//     Scaling API reference); the group launches its first override's
//     instance type (I: the prioritized allocation, the default for
//     On-Demand), and DescribeAutoScalingGroups answers the overrides as
//     given (I).
//   - The DescribeInstances filter metadata-options.http-protocol-ipv4 (D:
//     EC2's API model) matches the HttpEndpoint value (I: no IPv4 field
//     exists in the SDK's or the model's InstanceMetadataOptionsResponse).
//   - Eventual consistency (D): for [Options.PropagationDelay] (emulator
//     --propagation-delay) a new instance is not found.
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
// buckets of its own, of the size EC2 documents for it or for its category,
// and a call to one API never takes tokens from another's. Each call takes
// one token from its API's request bucket; RunInstances also takes one token
// per instance from its resource bucket, and StartInstances, StopInstances
// and TerminateInstances one per instance named from theirs. A call that
// finds too few tokens is answered RequestLimitExceeded (HTTP 503) without
// any other effect; one that needs more resource tokens than are left is
// refused whole. Buckets start full and refill continuously at their rate,
// measured with time.Now. [Buckets] sets the sizes; [EC2Buckets] gives
// EC2's documented sizes (EC2 Developer Guide, "Request throttling"), which
// New pre-fills into [Options.Buckets]:
//
//   - ModifyInstanceMetadataOptions: 100 tokens, refilled at 5 a second.
//   - ModifyInstanceMetadataDefaults: 2 tokens, 2 a second.
//   - RunInstances and StartInstances, their request buckets: 5 tokens, 2 a
//     second.
//   - TerminateInstances, CreateLaunchTemplateVersion, ModifyLaunchTemplate
//     and ModifyImageAttribute: 100 tokens, 5 a second.
//   - Mutating, each other mutating API (StopInstances, RegisterImage,
//     CreateLaunchTemplate, DeleteLaunchTemplate,
//     DeleteLaunchTemplateVersions): 50 tokens, 5 a second.
//   - Describe, each non-mutating API (DescribeImages, DescribeRegions,
//     DescribeImageAttribute, DescribeLaunchTemplates,
//     DescribeLaunchTemplateVersions and GetInstanceMetadataDefaults always,
//     DescribeInstances when called with Filters, MaxResults or NextToken):
//     100 tokens, 20 a second.
//   - DescribeUnfiltered, the unfiltered and unpaginated calls of the APIs
//     EC2 lists for it; of the fake's APIs only DescribeInstances: 50 tokens,
//     10 a second.
//   - RunInstancesResources and StartInstancesResources, the resource
//     buckets of RunInstances and StartInstances: 1000 tokens, 2 a second.
//   - StateChangeResources, the resource buckets of StopInstances and
//     TerminateInstances, each its own: 1000 tokens, 20 a second.
//
// [EC2.Unthrottled] runs setup that goes through the API (launch
// templates, Auto Scaling groups, which launch with RunInstances) without
// taking tokens, so that a fake with throttling on starts with full
// buckets.
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
// method of *cloudwatch.Client, for the AWS/EC2 metrics of an instance:
// MetadataNoToken (the instance metadata requests it answered without a
// session token), MetadataNoTokenRejected (those it refused because it
// requires IMDSv2), CPUUtilization and StatusCheckFailed. Tests add
// datapoints with [CloudWatch.PutMetadataNoToken] (or [CloudWatch.PutMetric]
// for other metrics of one instance). Tied to an EC2 fake with
// [CloudWatchOptions.EC2], a CloudWatch publishes them as EC2 does, derived
// from each instance's history at the time of the call:
//
//   - a datapoint per period in which the instance ran: 5 minutes from the
//     minute it was launched, or 1 minute with detailed monitoring
//     ([LaunchOptions.DetailedMonitoring], RunInstances' Monitoring;
//     documented); StatusCheckFailed every minute (documented);
//   - published [CloudWatchOptions.PublishDelay] after the period ends
//     (default a minute; how late CloudWatch has them is not documented);
//   - the IMDSv1 calls of [EC2.CallIMDSv1], in whole calls, as
//     MetadataNoToken while the instance allows IMDSv1 and as
//     MetadataNoTokenRejected while it requires tokens;
//   - which periods of those two have a datapoint in the shape of
//     [CloudWatchOptions.IMDSMetrics]: by default, MetadataNoToken (0
//     included) only while the instance allows IMDSv1, and
//     MetadataNoTokenRejected only for a period with a refused call
//     ([IMDSMetricsExclusive], inferred from the User Guide's "If this
//     metric appears, it indicates that an IMDSv1 call was attempted and
//     rejected" and from practitioners' reports); [IMDSMetricsZeros] and
//     [IMDSMetricsSparse] are the other plausible shapes.
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
// *smithy.OperationError (ServiceID "EC2", "CloudWatch", "Auto Scaling",
// "STS" or "Organizations") around a
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
//   - The exact wording of most error messages. The refusal of
//     ModifyInstanceMetadataOptions under enforcement answers the text the
//     User Guide shows for it, the launch's (documented); one third-party
//     source reports another wording, which
//     [Options.ReportedModifyEnforcedMessage] answers instead. Whether a
//     declarative policy's ManagedExceptionMessage is added to enforcement
//     refusals (it is here).
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
//   - The error code of a call refused by a resource bucket
//     (RequestLimitExceeded here, the code EC2 documents for throttling);
//     that dry runs and invalid calls take no resource tokens.
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
// launch from a template version (a mixed instances policy's, or its
// overrides' own) or a launch configuration through an EC2 fake, where a
// refused launch is a failed scaling activity; its errors
// carry ServiceID "Auto Scaling". Each method's documentation gives its rules
// and what in them is unverified.
//
// # Organisations
//
// An [Organization] models an AWS organisation for code that works across
// accounts and Regions: a management account ([AccountID] by default) and
// member accounts, added with [Organization.AddAccount]. Every
// account/Region is a [Region] of its own: an EC2 fake with its own token
// buckets (throttling one never throttles another), the account's ID as
// OwnerId, in ARNs and in throttling messages, a CloudWatch tied to it and
// an AutoScaling that launches into it, made on first use with
// [OrganizationOptions.EC2]. Seed each one like a fake made with New:
//
//	org, _ := fake.NewOrganization()
//	prod, _ := org.AddAccount("111111111111")
//	_ = prod.CreateRole("Admin")
//	eu, _ := prod.Region("eu-west-1")
//	ids, _ := eu.EC2().Launch(500)
//
// The Regions AWS enables in every account (the 17 introduced before
// March 2019, us-east-1 and eu-west-1 among them) are always enabled;
// those that need opting into (af-south-1, ap-east-1...: [IsRegion] knows
// both lists, from the SDK's partition data) are enabled per account with
// [AccountOptions.OptInRegions]. [EC2.DescribeRegions] answers the
// enabled Regions with EC2's OptInStatus values (opt-in-not-required,
// opted-in, and not-opted-in for AllRegions); a fake made with New is an
// account with no opt-in Region.
//
// [STS.AssumeRole] assumes a role of an account of the organisation; the
// roles trust the management account, so its user ([Organization.STS],
// whose access key is [ManagementAccessKeyID]) and its role sessions may
// assume them. It answers temporary credentials whose access key ID
// reaches the role's account until they expire, with their session token
// only (a request signed with the key must carry the token, as AWS
// requires, and one signed with ManagementAccessKeyID must carry none);
// [Organization.Resolve]
// maps a key and a Region to the account/Region's fakes, for tests that
// call the fakes directly. [Organizations.ListAccounts] lists the accounts
// in pages, with Status and State ACTIVE or SUSPENDED.
// [Organization.SuspendAccount] and [Organization.RemoveAccount] change an
// account mid-run: from then on AssumeRole into it is denied and its
// credentials are refused, by every service; a removed account is no
// longer listed. OrganizationOptions.STSRequests throttles STS with
// Throttling, and [STS.FailNext] and [Organizations.FailNext] inject
// failures as EC2's FailNext does.
//
// Credentials that do not reach an account/Region are answered, over HTTP,
// in each service's words:
//
//   - an unknown access key, a session's key without its session token
//     (X-Amz-Security-Token), the key of a suspended or removed account,
//     or a Region not enabled for the account: AuthFailure (HTTP 401) from
//     EC2, InvalidClientTokenId (HTTP 403) from CloudWatch, Auto Scaling
//     and STS, UnrecognizedClientException (HTTP 400) from Organizations;
//   - expired credentials: RequestExpired (HTTP 400) from EC2,
//     ExpiredToken (HTTP 403) from CloudWatch, Auto Scaling and STS,
//     ExpiredTokenException (HTTP 400) from Organizations;
//   - a credential scope that names no Region of the aws partition, or
//     another service than the request's: SignatureDoesNotMatch (HTTP
//     403); an Authorization header that is not SigV4's:
//     IncompleteSignature (HTTP 400).
//
// What is modelled of AWS here, and unverified:
//
//   - The codes above. AuthFailure for a Region an account has not opted
//     into is what users report of EC2 (its documentation lists
//     OptInRequired and AuthFailure among its common errors without
//     saying which); RequestExpired for expired credentials is what EC2
//     is reported to answer; the others are the AWS Query and JSON
//     services' common errors. That a suspended or closed account's
//     credentials fail at once, with the codes of an unknown key, is a
//     conservative reading: AWS documents that closed accounts cannot be
//     used, not the errors. An account removed from the organisation
//     stands for one closed while work on it is under way.
//   - The trust of the roles (the management account only), role
//     chaining limited to one hour, and the messages of AccessDenied and
//     of STS's validation errors. Session policies, tags, MFA and source
//     identity are accepted and not modelled; permissions are not
//     modelled (use [EC2.Deny]).
//   - STS and Organizations are served in every Region of the partition;
//     STS's regional endpoints in Regions not enabled, and STS's own
//     quotas, are not modelled.
//   - ListAccounts: a page size of 20 when MaxResults is omitted, the
//     answers to a MaxResults out of 1..20 and an unknown NextToken
//     (InvalidInputException), JoinedMethod INVITED for the management
//     account, and that members' requests are answered
//     AccessDeniedException (delegated administrators are not modelled).
//   - DescribeRegions refuses a Region name it does not know with
//     InvalidParameterValue; the Geography of Regions is not answered.
//
// # Over HTTP
//
// [NewHandler] serves an EC2 (and a [CloudWatch] and an [AutoScaling]) to
// the real SDK clients and the AWS CLI: EC2 in its Query protocol,
// CloudWatch in RPC v2 CBOR, JSON and the AWS Query protocol, and EC2 Auto
// Scaling in the AWS Query protocol, each with the service's answer and
// error shapes. [NewServer] starts it on a loopback port for tests;
// [InMemoryConfig] gives the SDK an HTTP client that calls it in the
// calling goroutine, which works inside a testing/synctest bubble.
//
// With HandlerOptions.Organization, one handler serves the whole
// organisation: each request's SigV4 Authorization header names its
// access key, which gives the account ([ManagementAccessKeyID] or a key of
// [STS.AssumeRole]), and its credential scope, which gives the Region and
// the service; the request reaches that account/Region's fakes. STS
// (AssumeRole, GetCallerIdentity; AWS Query, Version=2011-06-15) and
// Organizations (ListAccounts; awsJson1_1) are served too, as the key's
// caller, so stscreds.NewAssumeRoleProvider against the handler, and a
// client built from the credentials it gives, reach the role's account in
// any Region (see the example of [NewOrganization]). Requests without an
// Authorization header go to the fakes given to NewHandler, as without an
// Organization, and to STS and Organizations as the management account's
// user. Without an Organization the header is not read.
//
// Signatures are not verified: the handler reads the access key and the
// credential scope of a signature and trusts them.
package fake

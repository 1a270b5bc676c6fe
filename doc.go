// Package imdsopts changes EC2 instance metadata options (IMDS) safely: it
// validates them before any call, tells what a new instance will get, applies
// them, and waits until EC2 reports them applied.
//
// Requiring IMDSv2 session tokens (HttpTokens "required") is the main defence
// against server-side request forgery stealing an instance's credentials; the
// PUT response hop limit decides whether containers on the instance reach the
// metadata service at all (2 lets them, 1 does not). Both are easy to get
// wrong with the raw API, which sends whatever it is given.
//
// # Option sets
//
// A Set holds the options to change; fields it does not hold are left as they
// are. New validates every value against EC2's rules and reports every problem
// at once; each matches errors.Is(err, ErrInvalid):
//
//	s, err := imdsopts.New(imdsopts.RequireIMDSv2(), imdsopts.HopLimit(2))
//
// A Set turns into the SDK's inputs (ModifyInput, LaunchOptions,
// LaunchTemplateOptions), compares with what an instance reports (Changes,
// SatisfiedBy), and prints with EC2's field names (String).
// ValidateModifyInput checks an SDK input built by other means.
//
// # What a new instance gets
//
// EC2 resolves each option of a new instance on its own, highest first: the
// launch parameters, the account's default for the Region
// (GetInstanceMetadataDefaults), the AMI's ImdsSupport (for HttpTokens and
// the hop limit only: "v2.0" gives "required" and 2), then EC2's defaults
// ("optional", 1, endpoint enabled, IPv6 and tags disabled). When the account
// enforces IMDSv2 (HttpTokensEnforced "enabled"), a launch that resolves to
// "optional" fails. Resolve models this without any call and says where each
// value came from; LaunchForImage fetches its inputs for an image.
//
// # Applying and waiting
//
// Apply sends one ModifyInstanceMetadataOptions call and returns a Waiter.
// EC2 answers "pending" and applies the change a little later; Wait polls
// DescribeInstances with jittered exponential backoff until the options are
// "applied" with the values asked for. Throttling and 5xx answers are
// retried, an instance ID that has not propagated yet is retried for a grace
// period, and every other outcome ends in an error callers can branch on:
// ErrTimeout, ErrInstanceNotFound, ErrInstanceTerminated,
// ErrPendingUntilStart (a stopped instance gets the change when it starts),
// ErrIMDSv2Enforced, ErrUnauthorized, or the context's error. API errors stay
// wrapped, so errors.As with a smithy.APIError gives EC2's code. DryRun asks
// EC2 whether the caller may make the change.
//
// Apply, Wait and DryRun take an API, the two methods of *ec2.Client they
// call, so any value with those methods works in their place.
//
// # Fleets
//
// PlanFleet lists the instances a Selection picks (IDs, filters, tags) and
// works out, for each, the fields that must change; instances already
// satisfied need no call, stopped ones get the change when they start, and
// downgrades (tokens required to optional, the endpoint or tags turned on)
// are refused unless allowed. Before tokens are required, CloudWatch's
// MetadataNoToken metric tells which instances still made IMDSv1 calls in a
// window; those are held back, and so is every instance whose history could
// not be read. ApplyFleet then calls ModifyInstanceMetadataOptions once per
// instance that needs it, paced to EC2's token bucket for that operation (100
// calls, refilled at 5 a second), and waits for them all with one
// DescribeInstances call per 1000 pending instances. Every instance ends with
// one Status in the FleetReport.
//
// # Testing
//
// The package fake is an in-memory EC2 whose methods have the *ec2.Client
// signatures; fake.NewCloudWatch serves the MetadataNoToken metric. It
// keeps omitted fields, refuses invalid values with EC2's error
// codes, reports "pending" before "applied", keeps a stopped instance pending
// until it starts, models EC2's request token buckets, injects faults and
// counts calls. Its clock is package time,
// so under testing/synctest a test that waits minutes of EC2 time takes none:
//
//	synctest.Test(t, func(t *testing.T) {
//		ec2 := fake.New(func(o *fake.Options) { o.ApplyDelay = 5 * time.Second })
//		// launch an instance on ec2, then:
//		w, err := imdsopts.Apply(ctx, ec2, id, s)
//		// ...
//		opts, err := w.Wait(ctx) // returns after 5 s of bubble time
//	})
package imdsopts

// Package imdsopts changes the instance metadata options (IMDS) of an EC2
// instance safely: it validates them before any call, tells what a new
// instance will get and where each value comes from, applies them, and waits
// until EC2 reports them applied. It is the core the packages beside it
// (fleet, account, org) build on.
//
// Requiring IMDSv2 session tokens (HttpTokens "required") is the main defence
// against server-side request forgery stealing an instance's credentials; the
// PUT response hop limit decides whether containers on the instance reach the
// metadata service at all (2 lets them, 1 does not). Both are easy to get
// wrong with the raw API, which sends whatever it is given.
//
// # Option sets
//
// A [Set] holds the options to change; fields it does not hold are left as
// they are. [New] validates every value against EC2's rules and reports
// every problem at once; each matches errors.Is(err, [ErrInvalid]):
//
//	s, err := imdsopts.New(imdsopts.RequireIMDSv2(), imdsopts.HopLimit(2))
//
// A Set turns into the SDK's inputs ([Set.ModifyInput], [Set.LaunchOptions],
// [Set.LaunchTemplateOptions]), compares with what an instance reports
// ([Set.Changes], [Set.SatisfiedBy]), and prints with EC2's field names.
// [Set.Downgrade] is the package's one definition of a change that weakens an
// instance: tokens made optional, the hop limit raised, the endpoint, its
// IPv6 address or the instance tags turned on.
//
// # What a new instance gets
//
// EC2 resolves each option of a new instance on its own, highest first: the
// launch parameters, the launch template's MetadataOptions (which the
// launch parameters override field by field), the account's default for
// the Region (GetInstanceMetadataDefaults), the AMI's ImdsSupport (for
// HttpTokens and the hop limit only: "v2.0" gives "required" and 2), then
// EC2's defaults ("optional", 1, endpoint enabled, IPv6 and tags disabled). When the account
// enforces IMDSv2 (HttpTokensEnforced "enabled"), a launch that resolves to
// "optional" fails. [Resolve] models this without any call and says where
// each value came from; [LaunchForImage] fetches its inputs for an image.
//
// # Applying and waiting
//
// [Apply] sends one ModifyInstanceMetadataOptions call and returns a
// [Waiter]; [NewWaiter] makes one for a change sent by other means. EC2
// answers "pending" and applies the change a little later; [Waiter.Wait]
// polls DescribeInstances until the options are "applied" with the values
// asked for. Each delay between polls is at most half the time waited so
// far (within MinDelay and MaxDelay of [WaiterOptions]), so a change EC2
// applies after T is seen by 1.5*T + MinDelay at the latest, with few calls.
// [Describe] reads one instance; [DryRun] asks EC2 whether the caller may
// make a change.
//
// Every outcome ends in an error callers can branch on: [ErrTimeout],
// [ErrInstanceNotFound], [ErrInstanceTerminated], [ErrPendingUntilStart] (a
// stopped instance gets the change when it starts), [ErrIMDSv2Enforced],
// [ErrUnauthorized], or the context's error. The packages beside this one
// return these too, with [ErrDowngrade] for a change that weakens an
// instance and [ErrTooManyFailures] for an operation that stopped early. API errors stay wrapped, so
// errors.As with a smithy.APIError gives EC2's code.
//
// # Retries and faults
//
// Every call goes through one retry loop. Throttling and 5xx answers are
// tried again on the schedule above, within MaxWait. An instance ID EC2 does
// not know is an error at once, as with the AWS CLI, unless NotFoundGrace
// asks to wait for a just-launched ID to propagate. A call that gets no
// answer at all (a refused connection, a TLS or DNS failure) is not tried
// again on top of the SDK's own retries: an unreachable endpoint ends the
// operation at once. Misuse (a nil client, also a typed nil *ec2.Client, a
// nil context, a nil Waiter or plan, a nil option function) is an error
// matching ErrInvalid, never a panic.
//
// # Beside the core
//
// Each further job is a package of its own, built on this one:
//
//   - package fleet plans and applies a Set across many instances at EC2's
//     request rate, behind a gate on their IMDSv1 use, in canary waves that
//     roll back, with a journal to resume or undo a run;
//   - package account makes IMDSv2 stick in one account and Region: its
//     posture, its defaults and their enforcement, its launch templates and
//     AMIs;
//   - package org runs those operations across the accounts and Regions of
//     an organisation, side by side;
//   - package fake is an in-memory EC2 and CloudWatch for unit tests, and
//     the same served over HTTP.
//
// # Testing
//
// The package fake is an in-memory EC2 whose methods have the *ec2.Client
// signatures; fake.NewCloudWatch serves the MetadataNoToken metric. It keeps
// omitted fields, refuses invalid values with EC2's error codes, reports
// "pending" before "applied", keeps a stopped instance pending until it
// starts, models EC2's request token buckets, injects faults and counts
// calls. Its clock is package time, so under testing/synctest a test that
// waits minutes of EC2 time takes none. Code that calls Apply and Wait:
//
//	func hardenInstance(ctx context.Context, api imdsopts.API, id string) error {
//		s, err := imdsopts.New(imdsopts.RequireIMDSv2())
//		if err != nil {
//			return err
//		}
//		w, err := imdsopts.Apply(ctx, api, id, s)
//		if err != nil {
//			return err
//		}
//		_, err = w.Wait(ctx)
//		return err
//	}
//
// and the body of its unit test, func TestHardenInstance(t *testing.T), in a
// file that imports testing, testing/synctest, time, the SDK's ec2/types,
// imdsopts and imdsopts/fake:
//
//	synctest.Test(t, func(t *testing.T) {
//		api := fake.New(func(o *fake.Options) { o.ApplyDelay = 20 * time.Second })
//		ids, err := api.Launch(1)
//		if err != nil {
//			t.Fatal(err)
//		}
//		api.FailNext("DescribeInstances", 2, fake.NewAPIError(503, "RequestLimitExceeded", "Request limit exceeded."))
//
//		if err := hardenInstance(t.Context(), api, ids[0]); err != nil {
//			t.Fatal(err)
//		}
//		inst, err := imdsopts.Describe(t.Context(), api, ids[0])
//		if err != nil {
//			t.Fatal(err)
//		}
//		if got := inst.MetadataOptions; got.HttpTokens != types.HttpTokensStateRequired || got.State != types.InstanceMetadataOptionsStateApplied {
//			t.Errorf("metadata options = %+v, want required and applied", got)
//		}
//	})
package imdsopts

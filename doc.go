// Package imdsopts changes EC2 instance metadata options (IMDS) safely: it
// validates them before any call, tells what a new instance will get, applies
// them, and waits until EC2 reports them applied, for one instance or whole
// fleets.
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
// [ErrUnauthorized], or the context's error. API errors stay wrapped, so
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
// # Fleets
//
// [fleet.NewPlan] lists the instances a [Selection] picks (IDs, filters, tags)
// and works out, for each, the fields that must change; instances already
// satisfied need no call, stopped ones get the change when they start, and
// downgrades are refused unless allowed. Before tokens are required,
// CloudWatch's MetadataNoToken metric tells which instances still made
// IMDSv1 calls in a window; only a complete, finite sum of zero passes, and
// every instance whose use could not be measured is held ([ErrIMDSv1Unknown]).
// [fleet.Apply] then calls ModifyInstanceMetadataOptions once per instance that
// needs it, paced to EC2's token bucket for that operation (100 calls,
// refilled at 5 a second), and waits for them all with one DescribeInstances
// call per 1000 changed instances. When calls keep failing, or an API keeps
// throttling them throughout fleet.Options.ThrottleBudget, the fleet stops
// early ([ErrTooManyFailures]). Every instance ends with one [Status] in the
// [fleet.Report].
//
// The plan also checks, before anything is sent, what teams trip on after
// moving to IMDSv2 and the options alone do not show. A change EC2 would
// refuse as it is is [StatusCannotApply], not sent, with the reason and
// the way on in its Err: instance tags in the metadata turned on for an
// instance with a tag key EC2 cannot serve there ([ErrTagKeys]; the keys
// Kubernetes and Karpenter put on their nodes, with a slash, are such
// keys), or HttpTokens, the hop limit or IPv6 on an instance whose
// endpoint stays disabled ([ErrEndpointDisabled]; [RequireIMDSv2] enables
// the endpoint too, which is a downgrade). A container host, told by the
// tags EKS, Kubernetes, Karpenter and ECS put on their nodes or by the
// user data of the launch template version or launch configuration it
// came from (fleet.Item.Container), that a change would make require
// tokens with a hop limit below 2 is held ([ErrContainerHopLimit]): its
// containers are one network hop further, so their token requests would
// get no answer and their SDKs' fallback to IMDSv1 would be refused.
// fleet.Options.ContainerHopLimit gives such hosts the hop limit in the
// same change instead. fleet.Item.Owner names what launched each instance
// and replaces it (an Elastic Beanstalk environment, an EKS managed node
// group, Karpenter, a CloudFormation stack, an Auto Scaling group), and
// where the lasting fix goes: a change made in place is undone there.
//
// # Rollouts and journals
//
// The gate sees only software that used IMDSv1 within its window; a monthly
// job or a boot script breaks after the change. A [Rollout] in
// [fleet.Options] makes fleet.Apply change a canary first (a count or a
// percentage, optionally the instances with given tags), then waves that
// grow up to a cap, each followed by a bake time. Through every bake,
// CloudWatch's MetadataNoTokenRejected (the IMDSv1 calls an instance
// refused because it requires tokens) is read for every instance changed
// so far: one rejected call, or a reading that is not a measurement, fails
// the wave. The rollout then halts ([ErrRolloutHalted]) and rolls back
// (the instances that rejected calls, or the whole wave) to exactly the
// five options each had at plan time. Only changes that require tokens are
// watched: no metric counts what turning the endpoint off or lowering the
// hop limit breaks. When the account enforces IMDSv2, EC2 refuses to make
// HttpTokens optional again: the plan lists those changes
// (fleet.Plan.Irreversible) before anything is changed, and a halted
// rollout reports such instances [StatusNeedsPerson].
//
// fleet.Options.Journal records the run, one JSON object a line, each
// flushed and synced before the run goes on: a header with the account,
// the Region, the Set and the plan, then for every call an intent (the
// instance's five options before, the change) and an outcome. A record
// that cannot be written stops the run before its next call
// ([ErrJournalWrite]). [ReadJournal] reads one back, tolerating a last line
// cut short and refusing one of another account or Region; [fleet.Resume]
// finishes an interrupted run without changing any instance twice, and
// [fleet.Undo] restores every instance it changed.
//
// # Making IMDSv2 stick
//
// Changing the running instances is half of a migration: new instances get
// their options from launch templates, the account's defaults and AMIs, and
// an Auto Scaling group replaces an instance with one from its template.
// Package account makes IMDSv2 stick in one account and Region: its
// posture, its defaults and their enforcement, its launch templates and
// AMIs.
//
// # Every account and Region
//
// EC2's request buckets, the account defaults and enforcement are all per
// account and Region, so an organisation's work is many independent runs:
// package org finds the accounts and Regions and runs these operations on
// each of them, side by side.
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

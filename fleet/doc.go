// Package fleet moves many EC2 instances to new instance metadata options
// at once, safely: it plans the change instance by instance, holds back the
// instances that still use IMDSv1, applies the rest at EC2's request rate,
// optionally in canary waves that roll back, and records every call in a
// journal that a later run resumes or undoes.
//
// Use package imdsopts for one instance, package account for an account's
// defaults, launch templates and AMIs, and package org to run this across
// accounts and Regions.
//
// # Plan and apply
//
// [NewPlan] lists the instances a [Selection] picks (IDs, filters, tags)
// and works out, for each, the fields that must change; instances already
// satisfied need no call, stopped ones get the change when they start, and
// downgrades are refused unless allowed. Before tokens are required,
// CloudWatch's MetadataNoToken metric tells which instances still made
// IMDSv1 calls in a window; only a complete, finite sum of zero passes, and
// every instance whose use could not be measured is held ([ErrIMDSv1Unknown]).
// [Apply] then calls ModifyInstanceMetadataOptions once per instance that
// needs it, paced to EC2's token bucket for that operation (100 calls,
// refilled at 5 a second), and waits for them all with one DescribeInstances
// call per 1000 changed instances. When calls keep failing, or an API keeps
// throttling them throughout Options.ThrottleBudget, the fleet stops
// early ([imdsopts.ErrTooManyFailures]). Every instance ends with one [Status] in the
// [Report].
//
// The plan also checks, before anything is sent, what teams trip on after
// moving to IMDSv2 and the options alone do not show. A change EC2 would
// refuse as it is is [StatusCannotApply], not sent, with the reason and
// the way on in its Err: instance tags in the metadata turned on for an
// instance with a tag key EC2 cannot serve there ([ErrTagKeys]; the keys
// Kubernetes and Karpenter put on their nodes, with a slash, are such
// keys), or HttpTokens, the hop limit or IPv6 on an instance whose
// endpoint stays disabled ([ErrEndpointDisabled]; [imdsopts.RequireIMDSv2] enables
// the endpoint too, which is a downgrade). A container host, told by the
// tags EKS, Kubernetes, Karpenter and ECS put on their nodes or by the
// user data of the launch template version or launch configuration it
// came from (Item.Container), that a change would make require
// tokens with a hop limit below 2 is held ([ErrContainerHopLimit]): its
// containers are one network hop further, so their token requests would
// get no answer and their SDKs' fallback to IMDSv1 would be refused.
// Options.ContainerHopLimit gives such hosts the hop limit in the
// same change instead. Item.Owner names what launched each instance
// and replaces it (an Elastic Beanstalk environment, an EKS managed node
// group, Karpenter, a CloudFormation stack, an Auto Scaling group), and
// where the lasting fix goes: a change made in place is undone there.
//
// # Rollouts and journals
//
// The gate sees only software that used IMDSv1 within its window; a monthly
// job or a boot script breaks after the change. A [Rollout] in
// [Options] makes Apply change a canary first (a count or a
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
// (Plan.Irreversible) before anything is changed, and a halted
// rollout reports such instances [StatusNeedsPerson].
//
// Options.Journal records the run, one JSON object a line, each
// flushed and synced before the run goes on: a header with the account,
// the Region, the Set and the plan, then for every call an intent (the
// instance's five options before, the change) and an outcome. A record
// that cannot be written stops the run before its next call
// ([ErrJournalWrite]). [ReadJournal] reads one back, tolerating a last line
// cut short and refusing one of another account or Region; [Resume]
// finishes an interrupted run without changing any instance twice, and
// [Undo] restores every instance it changed.
package fleet

// Package org runs the fleet and account operations on many accounts and
// Regions at once, each target with its own clients and pacing, and finds
// the targets of an organisation: use it when one account and Region is not
// enough.
//
// EC2's request buckets, the account defaults and enforcement are all per
// account and Region, so an organisation's work is many independent runs.
// [Discover] finds the targets ([account.Target]), account and Region
// pairs: the caller's account, the accounts of role ARNs, or every active account of the
// organisation (Organizations ListAccounts) through a role assumed with the
// SDK's stscreds, one cached provider a role; in named Regions or every
// Region enabled for each account (DescribeRegions). Its [TargetSet]
// carries a [ClientsFunc] that makes each target's clients ([NewClients]);
// tests and other callers supply their own. [Plan], [Apply] and [Postures]
// run the fleet and posture operations of one account and Region on every
// target, each with its own clients and pacing, many at once (those with
// the most changes first), so the whole takes about the time of the
// largest target; [Run] does the same for any other operation of package
// account (its defaults, launch templates, AMIs, readiness). The results are one [TargetResult] a target, by account
// then Region; a target that fails is reported with its error and does not
// stop the others, and Ctrl-C stops them all with what each did kept.
// Options.Journals journals each target to a file of its own in a
// [JournalDir], from which [Resume] and [Undo] go on.
package org

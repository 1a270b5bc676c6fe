// Package account makes IMDSv2 stick in one account and Region: its
// default metadata options and their enforcement, the launch templates and
// AMIs that launch new instances, and the posture that says whether it is
// ready to enforce IMDSv2. To change the instances that run now, use
// package imdsopts; for many accounts and Regions, package org.
//
// Changing the running instances is half of a migration: new instances get
// their options from launch templates, the account's defaults and AMIs, and
// an Auto Scaling group replaces an instance with one from its template.
// The operations of this package take the [Clients] of one account and Region.
// [GetPosture] says where the account stands: its defaults and enforcement,
// its instances by HttpTokens, the templates, groups and AMIs that launch
// with IMDSv1, and IMDSv1 use (MetadataNoToken) attributed to the group and
// template each instance came from, with a verdict: ready to enforce, or
// the [Blocker]s in the order to fix them. By the plan's rules, it also
// lists the container hosts and the owners of the instances, each owner
// with where a lasting fix goes, and blocks on the groups, templates and
// launch configurations that launch container hosts with a hop limit below
// 2 ([BlockerContainerHopLimit]) or launch, with instance tags in the
// metadata on, instances whose tag keys EC2 refuses there
// ([BlockerTagKeys]). [PlanTemplates] and
// [ApplyTemplates] give each template whose default version launches with
// IMDSv1 a new version, copied from it with only MetadataOptions changed.
// [SetImageIMDSv2] sets ImdsSupport "v2.0" on named images the account owns;
// it cannot be undone. [SetDefaults] sets the account's defaults
// ([NewDefaults]: the values of an imdsopts.Set, fields cleared with
// [NoPreference], and enforcement) and, before it enforces IMDSv2, runs
// [CheckReadiness]: while
// any launch would then fail, it refuses with [ErrNotReady]. Every API is
// paced to its own EC2 request bucket; a listing that fails is an error,
// and what cannot be judged (an AMI that cannot be described, CloudWatch
// failing, no Auto Scaling client) is never "ready".
package account

package account

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imdsopts/imdsopts"
	"github.com/imdsopts/imdsopts/internal/check"
	"github.com/imdsopts/imdsopts/internal/hosts"
	"github.com/imdsopts/imdsopts/internal/liberr"
)

// Enforcement readiness: before the account enforces IMDSv2
// (HttpTokensEnforced "enabled"), every way the account launches instances
// is resolved with the new defaults, and each launch that would not get
// HttpTokens "required", and so would fail, is a blocker.

// BlockerKind says what a [Blocker] is about. The kinds are listed in the
// order a person fixes them, which is the order of a report's blockers.
type BlockerKind string

// The kinds of blocker, in the order to fix them: first what stops the
// check from seeing everything; the launches EC2 refuses now for their
// tag keys; the launches of container hosts whose hop limit would cut
// their containers off once tokens are required (whose SDKs fall back to
// IMDSv1 meanwhile, so the IMDSv1 use of their instances is measured
// again once it is fixed); then the software that still uses IMDSv1 on
// instances groups and templates launch (their launches must not require
// tokens before it is fixed); then the launches that would fail,
// those of Auto Scaling groups first (an outage in the scaling path), then
// what a template launches by default, what it launches as $Latest, launch
// configurations no group uses; and last the account's own default, set
// together with enforcement.
const (
	// BlockerAutoScalingNotChecked: there was no Auto Scaling client, so
	// the groups and launch configurations, which launch unattended, are
	// unknown.
	BlockerAutoScalingNotChecked BlockerKind = "auto-scaling-not-checked"
	// BlockerIMDSv1Unknown: IMDSv1 use could not be measured (no
	// CloudWatch client, a failed or incomplete answer), for the whole
	// account or for the instances of a group or template. Posture only.
	BlockerIMDSv1Unknown BlockerKind = "imdsv1-use-unknown"
	// BlockerIMDSv1InUse: instances launched by a group or from a template
	// made IMDSv1 calls in the window; once their launches require tokens,
	// new instances running the same software fail those calls. Posture
	// only.
	BlockerIMDSv1InUse BlockerKind = "imdsv1-in-use"
	// BlockerTagKeys: a group, template version or launch configuration
	// launches with InstanceMetadataTags "enabled" (from the account
	// default, or its own) instances with tag keys EC2 cannot serve in the
	// instance metadata (Blocker.TagKeys, such as kubernetes.io/cluster/NAME):
	// EC2 refuses each such launch. Posture only.
	BlockerTagKeys BlockerKind = "imds-tag-keys"
	// BlockerContainerHopLimit: a group, template version or launch
	// configuration launches container hosts (by the tags or user data of
	// EKS, Kubernetes, Karpenter or ECS) with a hop limit below 2. Once its
	// launches require tokens, as enforcement makes every launch do, the
	// containers' token requests get no answer, and the SDKs in them fall
	// back to IMDSv1, which is refused. Posture only.
	BlockerContainerHopLimit BlockerKind = "container-hop-limit"
	// BlockerGroupTemplate: a launch template version that Auto Scaling
	// groups launch would launch with IMDSv1.
	BlockerGroupTemplate BlockerKind = "group-launch-template"
	// BlockerGroupLaunchConfiguration: a launch configuration that groups
	// launch with would launch with IMDSv1; launch configurations cannot
	// change, so it must be replaced.
	BlockerGroupLaunchConfiguration BlockerKind = "group-launch-configuration"
	// BlockerTemplateDefault: a launch template's default version, which
	// RunInstances uses when no version is named, would launch with IMDSv1.
	BlockerTemplateDefault BlockerKind = "launch-template-default-version"
	// BlockerTemplateLatest: a launch template's latest version would
	// launch with IMDSv1.
	BlockerTemplateLatest BlockerKind = "launch-template-latest-version"
	// BlockerLaunchConfiguration: a launch configuration no group uses
	// would launch with IMDSv1.
	BlockerLaunchConfiguration BlockerKind = "launch-configuration"
	// BlockerAccountDefault: the account's default HttpTokens would not be
	// "required", so every launch that gives no HttpTokens from an AMI
	// without ImdsSupport v2.0 would fail.
	BlockerAccountDefault BlockerKind = "account-default"
)

var blockerOrder = []BlockerKind{BlockerAutoScalingNotChecked, BlockerIMDSv1Unknown, BlockerTagKeys, BlockerContainerHopLimit,
	BlockerIMDSv1InUse, BlockerGroupTemplate, BlockerGroupLaunchConfiguration, BlockerTemplateDefault, BlockerTemplateLatest,
	BlockerLaunchConfiguration, BlockerAccountDefault}

// Blocker is one reason the account is not ready to enforce IMDSv2: what
// it is about, why it blocks, and what fixes it. Only the fields its Kind
// is about are set; JSON field names are EC2's where they mirror EC2.
type Blocker struct {
	Kind BlockerKind
	// AutoScalingGroupNames are the groups that launch the template
	// version or launch configuration, or whose instances the IMDSv1 use
	// is about; sorted.
	AutoScalingGroupNames   []string `json:",omitempty"`
	LaunchTemplateID        string   `json:"LaunchTemplateId,omitempty"`
	LaunchTemplateName      string   `json:",omitempty"`
	VersionNumber           int64    `json:",omitempty"`
	LaunchConfigurationName string   `json:",omitempty"`
	ImageID                 string   `json:"ImageId,omitempty"`
	// InstanceIDs are the instances an IMDSv1, tag-key or container
	// blocker is about; sorted.
	InstanceIDs []string `json:"InstanceIds,omitempty"`
	// TagKeys are the tag keys EC2 refuses in the instance metadata, of a
	// tag-key blocker; sorted.
	TagKeys []string `json:",omitempty"`
	// HTTPTokens is what the launch resolves to, and HTTPTokensSource
	// where that comes from; empty when it cannot be told (Reason says
	// why).
	HTTPTokens       types.HttpTokensState `json:"HttpTokens,omitempty"`
	HTTPTokensSource imdsopts.Source       `json:"HttpTokensSource,omitempty"`
	Reason           string
	Fix              string
}

// String formats the blocker on one line: its kind, what it is about, why
// it blocks and what fixes it.
func (b Blocker) String() string {
	return fmt.Sprintf("%s: %s: %s; fix: %s", b.Kind, b.Subject(), b.Reason, b.Fix)
}

// Subject names what the blocker is about, e.g. "launch template web
// (lt-0123456789abcdef0) version 3, launched by groups web-a, web-b".
func (b Blocker) Subject() string {
	var parts []string
	switch {
	case b.LaunchTemplateID != "":
		s := "launch template " + b.LaunchTemplateID
		if b.LaunchTemplateName != "" {
			s = "launch template " + b.LaunchTemplateName + " (" + b.LaunchTemplateID + ")"
		}
		if b.VersionNumber > 0 {
			s += fmt.Sprintf(" version %d", b.VersionNumber)
		}
		parts = append(parts, s)
	case b.LaunchConfigurationName != "":
		parts = append(parts, "launch configuration "+b.LaunchConfigurationName)
	}
	if b.ImageID != "" && b.LaunchTemplateID != "" {
		parts = append(parts, "with AMI "+b.ImageID)
	}
	if len(b.AutoScalingGroupNames) > 0 {
		parts = append(parts, hosts.Plural("group", len(b.AutoScalingGroupNames))+" "+strings.Join(b.AutoScalingGroupNames, ", "))
	}
	if len(b.InstanceIDs) > 0 {
		parts = append(parts, hosts.Plural("instance", len(b.InstanceIDs))+" "+strings.Join(b.InstanceIDs, ", "))
	}
	if len(parts) == 0 {
		return "the account"
	}
	return strings.Join(parts, ", ")
}

// sortBlockers orders bs by kind (the order to fix them), then by what
// they are about.
func sortBlockers(bs []Blocker) {
	slices.SortStableFunc(bs, func(x, y Blocker) int {
		return cmp.Or(
			cmp.Compare(slices.Index(blockerOrder, x.Kind), slices.Index(blockerOrder, y.Kind)),
			strings.Compare(x.LaunchTemplateName, y.LaunchTemplateName),
			strings.Compare(x.LaunchTemplateID, y.LaunchTemplateID),
			cmp.Compare(x.VersionNumber, y.VersionNumber),
			strings.Compare(x.ImageID, y.ImageID),
			strings.Compare(x.LaunchConfigurationName, y.LaunchConfigurationName),
			strings.Compare(strings.Join(x.AutoScalingGroupNames, ","), strings.Join(y.AutoScalingGroupNames, ",")),
			strings.Compare(strings.Join(x.InstanceIDs, ","), strings.Join(y.InstanceIDs, ",")))
	})
}

// Readiness is the result of a readiness check: whether the account can
// enforce IMDSv2 with the defaults it was judged with, and if not, the
// blockers in the order to fix them.
type Readiness struct {
	// Target is the account and Region the result is of; its Account and
	// Region are members of the result's JSON.
	Target Target `json:"-"`
	// Ready is true when there is no blocker.
	Ready bool
	// Defaults are the account defaults the launches were judged with:
	// the new ones, with HttpTokensEnforced "enabled".
	Defaults State
	// Blockers are the launches that would fail, and what stopped the
	// check from judging them all, in the order to fix them.
	Blockers []Blocker
	// AllowIMDSv1 are the instances (not terminated) that still allow
	// IMDSv1. Enforcement leaves them as they are: they are not blockers.
	AllowIMDSv1 []string
	// Calls counts the API calls the check made, by operation.
	Calls map[string]int `json:"-"`
}

// CheckReadiness reports whether the account of c could enforce IMDSv2
// (HttpTokensEnforced "enabled") once d is set, without any launch failing.
// It reads the current defaults and applies d to them (a zero d checks
// the current defaults), then resolves, with EC2's precedence ([Resolve])
// and each AMI's ImdsSupport, every way the account launches instances:
// each Auto Scaling group's launch template version, as the group selects
// it ($Default, $Latest or a number, mixed instances policies and their
// overrides included), each template's default and latest version, and
// each launch configuration. Every launch that would not get HttpTokens
// "required" is a [Blocker], and so is every launch that cannot be judged:
// a missing template or version, or an AMI that cannot be described when
// HttpTokens would come from it. Without Clients.AutoScaling the groups
// are not checked, which is a blocker too. The running instances that
// still allow IMDSv1 are listed apart: enforcement leaves them alone.
//
// Nothing is changed. Every listing is paced to its API's bucket and
// retried; one that fails is an error, never "ready". A nil ctx, no EC2
// client or bad options are an error matching ErrInvalid, before any call.
func CheckReadiness(ctx context.Context, c Clients, d Defaults, optFns ...func(*Options)) (*Readiness, error) {
	o := defaultAccountOptions()
	err := errors.Join(liberr.Ctx(ctx), c.Validate(),
		accountOptions(&o, func(o *Options) *Options { return o }, "Options", optFns))
	if err != nil {
		return nil, err
	}
	a := newAccount(c, &o)
	current, err := a.getDefaults(ctx)
	if err != nil {
		return nil, err
	}
	return a.readiness(ctx, d.Apply(current))
}

// readiness judges the account's launches with the defaults after, and
// enforcement on.
func (a *account) readiness(ctx context.Context, after State) (*Readiness, error) {
	after.HTTPTokensEnforced = types.HttpTokensEnforcedStateEnabled
	inv, err := a.inventory(ctx, inventoryOptions{instances: imdsv1Instances, defaults: &after})
	if err != nil {
		return nil, err
	}
	r := &Readiness{Target: a.c.Target, Defaults: after, Blockers: inv.launchBlockers(),
		AllowIMDSv1: []string{}, Calls: a.counts()}
	for _, in := range inv.instances {
		if in.MetadataOptions == nil || in.MetadataOptions.HttpTokens != types.HttpTokensStateRequired {
			r.AllowIMDSv1 = append(r.AllowIMDSv1, aws.ToString(in.InstanceId))
		}
	}
	slices.Sort(r.AllowIMDSv1)
	r.Ready = len(r.Blockers) == 0
	return r, nil
}

// launchBlockers judges every launch path of inv with its defaults, under
// enforcement: each that would not launch with HttpTokens "required", or
// cannot be judged, is a blocker. A template version groups launch is one
// blocker naming every such group, and is not repeated as the template's
// default or latest version.
func (inv *inventory) launchBlockers() []Blocker {
	var bs []Blocker
	if !inv.asChecked {
		bs = append(bs, Blocker{Kind: BlockerAutoScalingNotChecked,
			Reason: "there is no Auto Scaling client, so the groups and launch configurations, which launch without anyone watching, were not checked",
			Fix:    "check again with Clients.AutoScaling set"})
	}
	type versionKey struct {
		id    string
		n     int64
		image string
	}
	byVersion := map[versionKey]int{} // index into bs
	byConfig := map[string]int{}
	for _, g := range inv.groups {
		for _, p := range g.paths {
			if p.config != "" {
				if i, ok := byConfig[p.config]; ok {
					bs[i].AutoScalingGroupNames = hosts.AppendOnce(bs[i].AutoScalingGroupNames, g.name)
					continue
				}
				if b, ok := blocker(inv.evalConfig(p.config)); ok {
					b.Kind, b.LaunchConfigurationName, b.AutoScalingGroupNames = BlockerGroupLaunchConfiguration, p.config, []string{g.name}
					b.Fix = "launch configurations cannot change: replace it with a launch template whose version sets HttpTokens \"required\", and point the group at it"
					byConfig[p.config] = len(bs)
					bs = append(bs, b)
				} else {
					byConfig[p.config] = -1
				}
				continue
			}
			n, _ := p.version()
			k := versionKey{p.template.id + "/" + p.template.name, n, p.imageID}
			if i, ok := byVersion[k]; ok {
				if i >= 0 {
					bs[i].AutoScalingGroupNames = hosts.AppendOnce(bs[i].AutoScalingGroupNames, g.name)
				}
				continue
			}
			b, ok := blocker(inv.evalPath(p))
			if !ok {
				byVersion[k] = -1
				continue
			}
			b.Kind, b.LaunchTemplateID, b.LaunchTemplateName, b.VersionNumber = BlockerGroupTemplate, p.template.id, p.template.name, n
			b.AutoScalingGroupNames = []string{g.name}
			if p.imageID != "" {
				b.ImageID = p.imageID
			}
			b.Fix = "create a version of the template with HttpTokens \"required\" (PlanTemplates, ApplyTemplates) that the groups launch: " +
				"a group on $Default once it is the default, on $Latest at once, one pinned to a number once the group is updated"
			byVersion[k] = len(bs)
			bs = append(bs, b)
		}
	}
	for _, t := range inv.sortedTemplates() {
		roles := []struct {
			kind BlockerKind
			n    int64
			fix  string
		}{{BlockerTemplateDefault, t.defaultVersion, "create a version with HttpTokens \"required\" and make it the default (PlanTemplates with MakeDefault)"},
			{BlockerTemplateLatest, t.latest, "create a version with HttpTokens \"required\": it becomes $Latest (PlanTemplates)"}}
		for _, r := range roles {
			k := versionKey{t.id + "/" + t.name, r.n, ""}
			if i, judged := byVersion[k]; judged {
				if i >= 0 && bs[i].Kind == BlockerGroupTemplate {
					role := "default"
					if r.kind == BlockerTemplateLatest {
						role = "latest"
					}
					bs[i].Reason += "; it is also the template's " + role + " version"
				}
				continue
			}
			byVersion[k] = -1
			if b, ok := blocker(inv.evalVersion(t, r.n, "")); ok {
				b.Kind, b.LaunchTemplateID, b.LaunchTemplateName, b.VersionNumber, b.Fix = r.kind, t.id, t.name, r.n, r.fix
				bs = append(bs, b)
			}
		}
	}
	for name := range inv.configs {
		if _, judged := byConfig[name]; judged {
			continue
		}
		if b, ok := blocker(inv.evalConfig(name)); ok {
			b.Kind, b.LaunchConfigurationName = BlockerLaunchConfiguration, name
			b.Fix = "no group uses it: delete it, or replace it with a launch template whose version sets HttpTokens \"required\""
			bs = append(bs, b)
		}
	}
	if inv.defaults.HTTPTokens != types.HttpTokensStateRequired {
		tokens := "no preference"
		if inv.defaults.HTTPTokens != "" {
			tokens = check.Quote(string(inv.defaults.HTTPTokens))
		}
		bs = append(bs, Blocker{Kind: BlockerAccountDefault,
			Reason: "the account's default HttpTokens would be " + tokens + ", so a launch that gives no HttpTokens from an AMI without ImdsSupport v2.0 would get \"optional\" and fail",
			Fix:    "set the account default HttpTokens \"required\" together with enforcement (HTTPTokens(\"required\") with EnforceIMDSv2())"})
	}
	for i := range bs {
		slices.Sort(bs[i].AutoScalingGroupNames)
	}
	sortBlockers(bs)
	return bs
}

// blocker returns the blocker an outcome is under enforcement, if it is
// one: HttpTokens that cannot be told, or that is not "required".
func blocker(o outcome) (Blocker, bool) {
	tokens, why := o.tokens()
	switch {
	case why != "":
		return Blocker{ImageID: o.imageID, Reason: "the launch cannot be judged: " + why}, true
	case tokens.Value != types.HttpTokensStateRequired:
		b := Blocker{HTTPTokens: tokens.Value, HTTPTokensSource: tokens.Source,
			Reason: fmt.Sprintf("it launches with HttpTokens %q (from the %v), so EC2 would refuse the launch", tokens.Value, sourcePhrase(tokens.Source))}
		if tokens.Source == imdsopts.SourceAMI || tokens.Source == imdsopts.SourceDefault {
			b.ImageID = o.imageID
		}
		return b, true
	}
	return Blocker{}, false
}

// sourcePhrase names a source in a sentence.
func sourcePhrase(s imdsopts.Source) string {
	switch s {
	case imdsopts.SourceLaunch:
		return "launch parameters"
	case imdsopts.SourceTemplate:
		return "launch template"
	case imdsopts.SourceAccount:
		return "account default"
	case imdsopts.SourceAMI:
		return "AMI"
	case imdsopts.SourceDefault:
		return "EC2 default"
	}
	return s.String()
}

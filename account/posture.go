package account

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imdsopts/imdsopts"
	"github.com/imdsopts/imdsopts/fleet"
	"github.com/imdsopts/imdsopts/internal/cwmetric"
	"github.com/imdsopts/imdsopts/internal/hosts"
	"github.com/imdsopts/imdsopts/internal/liberr"
)

// The posture of one account and Region: where its IMDSv2 migration
// stands, and whether it can enforce IMDSv2.

// PostureOptions configures [GetPosture]. Its fields hold their defaults
// before the caller's functions run.
type PostureOptions struct {
	// Options are the settings every account operation has: pacing,
	// retries, the calls in flight.
	Options Options
	// IMDSv1Window is how far back IMDSv1 use (CloudWatch MetadataNoToken)
	// is read (default 14 days, at most MaxIMDSv1Window).
	IMDSv1Window time.Duration
	// TreatNoDataAsZero takes an instance without any MetadataNoToken
	// datapoint in the window (stopped throughout, or too new) as one that
	// made no IMDSv1 call. By default its use is unknown: no data is not a
	// measured zero.
	TreatNoDataAsZero bool
}

// Posture is where an account's move to IMDSv2 stands in one Region. It
// marshals to the same JSON for the same account at the same time: every
// list is sorted, there are no maps, and times are UTC RFC 3339. JSON
// field names are EC2's where they mirror EC2.
type Posture struct {
	// Target is the account and Region the result is of; its Account and
	// Region are members of the result's JSON.
	Target Target `json:"-"`
	// Time is when the posture was taken, to the second; the IMDSv1
	// window ends at it, to the minute.
	Time time.Time
	// Defaults are the account's default metadata options, with ManagedBy
	// and the policy's message; Enforced is whether the account already
	// enforces IMDSv2.
	Defaults State
	Enforced bool
	// Instances are the instances that are not terminated, counted by
	// HttpTokens.
	Instances InstanceCounts
	// LaunchTemplates are the templates whose default or latest version
	// launches with IMDSv1 (or cannot be judged), or whose instances used
	// IMDSv1 or could not be measured; by name.
	LaunchTemplates []TemplatePosture
	// AutoScalingGroups are the groups that launch with IMDSv1 (or cannot
	// be judged), or whose instances used IMDSv1 or could not be measured;
	// by name.
	AutoScalingGroups []GroupPosture
	// Images are the AMIs behind the instances, templates and launch
	// configurations that do not have ImdsSupport v2.0; by ID.
	Images []ImagePosture
	// IMDSv1 is the IMDSv1 use over the window of the instances that allow
	// it.
	IMDSv1 IMDSv1Use
	// ContainerHosts are the instances taken for container hosts, by their
	// tags or the user data they were launched with (see
	// fleet.Item.Container); by ID. Requiring tokens with a hop limit below
	// 2 cuts their containers off from IMDS.
	ContainerHosts []ContainerHost
	// Owners are what launched the instances and replaces or updates them
	// (see [Owner]): a fix made to the instances in place is undone there,
	// so each says where the lasting fix goes; by kind, then name.
	Owners []OwnerPosture
	// Ready is the verdict: the account can enforce IMDSv2 without any
	// launch failing, and nothing that launches unattended still runs
	// software that uses IMDSv1. Blockers say otherwise, in the order to
	// fix them (see [BlockerKind]).
	Ready    bool
	Blockers []Blocker
	// Calls counts the API calls the posture took, by operation.
	Calls map[string]int `json:"-"`
}

// InstanceCounts count instances by HttpTokens.
type InstanceCounts struct {
	Total    int
	Required int
	Optional int
	// AllowIMDSv1 are the IDs of the instances that allow IMDSv1
	// (HttpTokens "optional"), sorted.
	AllowIMDSv1 []string
}

// VersionPosture is what one launch gives a new instance: HttpTokens and
// where it comes from, or why that cannot be told.
type VersionPosture struct {
	VersionNumber    int64                 `json:",omitempty"`
	HTTPTokens       types.HttpTokensState `json:"HttpTokens,omitempty"`
	HTTPTokensSource imdsopts.Source       `json:"HttpTokensSource,omitempty"`
	ImageID          string                `json:"ImageId,omitempty"`
	Unknown          string                `json:",omitempty"`
}

// LaunchesIMDSv1 reports whether the launch gives instances that allow
// IMDSv1, or cannot be judged.
func (v VersionPosture) LaunchesIMDSv1() bool {
	return v.Unknown != "" || v.HTTPTokens != types.HttpTokensStateRequired
}

// UseSummary is the IMDSv1 use of the instances launched by a group or
// from a template (by their tags aws:autoscaling:groupName and
// aws:ec2launchtemplate:id).
type UseSummary struct {
	// Instances counts them; AllowIMDSv1 those of them that allow IMDSv1.
	Instances   int
	AllowIMDSv1 int
	// UsedIMDSv1 counts those that made IMDSv1 calls in the window, and
	// IMDSv1Calls sums the calls; Unknown counts those whose use could not
	// be measured.
	UsedIMDSv1  int
	IMDSv1Calls float64
	Unknown     int
	// Clean is true when there are instances and each of them requires
	// tokens or was measured with no IMDSv1 call: the launches can require
	// IMDSv2 without breaking the software they run.
	Clean bool
}

// TemplatePosture is a launch template of a [Posture].
type TemplatePosture struct {
	LaunchTemplateID   string `json:"LaunchTemplateId"`
	LaunchTemplateName string
	// Default and Latest are what its $Default and $Latest versions
	// launch, with the account's current defaults.
	Default VersionPosture
	Latest  VersionPosture
	// AutoScalingGroupNames are the groups that launch it, sorted.
	AutoScalingGroupNames []string
	IMDSv1                UseSummary
}

// GroupPosture is an Auto Scaling group of a [Posture].
type GroupPosture struct {
	AutoScalingGroupName    string
	LaunchTemplateID        string `json:"LaunchTemplateId,omitempty"`
	LaunchTemplateName      string `json:",omitempty"`
	LaunchConfigurationName string `json:",omitempty"`
	// Version is the group's version selector ($Default, $Latest or a
	// number); Launch is what the group launches (the first way, for a
	// mixed instances policy with overrides that launch otherwise).
	Version string `json:",omitempty"`
	Launch  VersionPosture
	// LaunchesIMDSv1 is true when any way the group launches gives
	// instances that allow IMDSv1, or cannot be judged.
	LaunchesIMDSv1 bool
	IMDSv1         UseSummary
}

// ImagePosture is an AMI of a [Posture] without ImdsSupport v2.0.
type ImagePosture struct {
	ImageID string `json:"ImageId"`
	Name    string `json:",omitempty"`
	OwnerID string `json:"OwnerId,omitempty"`
	// Found is false when DescribeImages did not return it (deregistered,
	// or not shared with the account): its ImdsSupport is unknown.
	Found bool
	// Owned is true when the account owns it, so [SetImageIMDSv2] can set
	// v2.0.
	Owned bool
	// Instances counts the instances launched from it; LaunchTemplateIDs
	// and LaunchConfigurationNames name what launches it, sorted.
	Instances                int
	LaunchTemplateIDs        []string `json:"LaunchTemplateIds"`
	LaunchConfigurationNames []string
}

// IMDSv1Use is the IMDSv1 use (CloudWatch AWS/EC2 MetadataNoToken) of the
// instances that allow IMDSv1, over [WindowStart, WindowEnd).
type IMDSv1Use struct {
	WindowStart, WindowEnd time.Time
	// Known is true when every such instance was measured; Reason says why
	// not, for all of them (no CloudWatch client, CloudWatch failing).
	Known  bool
	Reason string `json:",omitempty"`
	// Measured counts the instances measured; UsedIMDSv1 those that made
	// IMDSv1 calls, Unknown those whose use could not be measured, and
	// IMDSv1Calls sums the calls.
	Measured    int
	UsedIMDSv1  int
	Unknown     int
	IMDSv1Calls float64
	// Instances are those that used IMDSv1 or whose use is unknown, by ID,
	// with the group and template they came from.
	Instances []InstanceUse
}

// InstanceUse is one instance's IMDSv1 use.
type InstanceUse struct {
	InstanceID            string `json:"InstanceId"`
	AutoScalingGroupName  string `json:",omitempty"`
	LaunchTemplateID      string `json:"LaunchTemplateId,omitempty"`
	LaunchTemplateVersion string `json:",omitempty"`
	// IMDSv1Calls is the measured sum; nil when Unknown says why it could
	// not be measured.
	IMDSv1Calls *float64 `json:",omitempty"`
	Unknown     string   `json:",omitempty"`
}

// GetPosture reports where the account of c stands in the Region: its
// defaults (with ManagedBy and the policy's message) and enforcement, its
// instances by HttpTokens, the launch templates and Auto Scaling groups
// that launch with IMDSv1, the AMIs without ImdsSupport v2.0, and the IMDSv1
// use (CloudWatch MetadataNoToken) over the window of every instance that
// allows it, attributed to the group and template each came from, so that
// a group's template can be made to require IMDSv2 once its whole group is
// clean. Its verdict is Ready, or the blockers in the order to fix them:
// those [CheckReadiness] finds with the current defaults, and the groups
// and templates whose instances use IMDSv1 or could not be measured. An
// instance that came from neither is listed, but does not block:
// enforcement leaves running instances alone.
//
// It also names the container hosts (by their tags, or the user data of
// the launch template version or launch configuration they came from; see
// fleet.Item.Container) and the owners of the instances (see [Owner]),
// each with its instances and where a lasting fix goes. A group, template
// version or launch configuration that launches container hosts with a
// hop limit below 2 is a blocker (BlockerContainerHopLimit), and so is one
// that launches, with instance tags in the metadata turned on (by the
// account default or itself), instances with tag keys EC2 refuses there
// (BlockerTagKeys): EC2 refuses those launches.
//
// IMDSv1 use is read as the fleet's IMDSv1 gate reads it: only a complete,
// finite sum is a measurement. Without Clients.CloudWatch, or when
// CloudWatch fails, the use is unknown and the posture is never ready;
// without Clients.AutoScaling, it is never ready either.
//
// Nothing is changed. Each API is paced to its own bucket and retried;
// instances are listed with filters and pages. A listing that fails is an
// error. A nil ctx, no EC2 client or bad options are an error matching
// ErrInvalid, before any call.
func GetPosture(ctx context.Context, c Clients, optFns ...func(*PostureOptions)) (*Posture, error) {
	o, err := postureOptions(optFns)
	if err := errors.Join(liberr.Ctx(ctx), c.Validate(), err); err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	p := &Posture{Target: c.Target, Time: now.Truncate(time.Second)}
	use := &p.IMDSv1
	use.WindowEnd = now.Truncate(time.Minute)
	use.WindowStart = use.WindowEnd.Add(-o.IMDSv1Window)

	a := newAccount(c, &o.Options)
	var measured map[string]cwmetric.Measurement
	inv, err := a.inventory(ctx, inventoryOptions{instances: allInstances, ownership: true, launchedVersions: true,
		alongside: func(ctx context.Context, inv *inventory) (err error) {
			measured, err = a.measureIMDSv1(ctx, inv.instances, use, o.TreatNoDataAsZero)
			return err
		}})
	if err != nil {
		return nil, err
	}
	p.Defaults, p.Enforced = inv.defaults, inv.defaults.Enforced()
	attr := p.instances(inv, measured)
	p.launches(inv, attr)
	p.images(inv)
	facts := inv.facts()
	p.hostsAndOwners(facts)
	srcs := inv.sources(facts)
	p.Blockers = append(inv.launchBlockers(), p.useBlockers(attr)...)
	p.Blockers = append(p.Blockers, tagKeyBlockers(srcs)...)
	p.Blockers = append(p.Blockers, containerBlockers(srcs)...)
	containerUse(p.Blockers, facts)
	sortBlockers(p.Blockers)
	p.Ready = len(p.Blockers) == 0
	p.Calls = a.counts()
	return p, nil
}

// postureOptions returns the defaults with optFns applied, checked.
func postureOptions(optFns []func(*PostureOptions)) (PostureOptions, error) {
	o := PostureOptions{Options: defaultAccountOptions(), IMDSv1Window: fleet.DefaultIMDSv1Window}
	errs := []error{accountOptions(&o, func(o *PostureOptions) *Options { return &o.Options }, "PostureOptions", optFns)}
	if o.IMDSv1Window < time.Minute || o.IMDSv1Window > fleet.MaxIMDSv1Window {
		errs = append(errs, &imdsopts.ValidationError{Field: "PostureOptions.IMDSv1Window", Value: cwmetric.Days(o.IMDSv1Window),
			Rule: "must be 1 minute to " + cwmetric.Days(fleet.MaxIMDSv1Window)})
	}
	return o, errors.Join(errs...)
}

// CheckPostureOptions reports the options [GetPosture] would refuse,
// optFns applied to its defaults, without calling anything: for a caller
// that passes them on to the postures of many accounts, to refuse them
// once, before any call.
func CheckPostureOptions(optFns ...func(*PostureOptions)) error {
	_, err := postureOptions(optFns)
	return err
}

// allowsIMDSv1 reports whether an instance allows IMDSv1 (or does not say).
func allowsIMDSv1(in *types.Instance) bool {
	return in.MetadataOptions == nil || in.MetadataOptions.HttpTokens != types.HttpTokensStateRequired
}

// measureIMDSv1 measures the IMDSv1 calls of the instances that allow
// IMDSv1, over use's window, through the gate's measurement (paced,
// retried, fail-closed). Without a
// CloudWatch client, or when a request fails, use says why. It returns an
// error only when ctx ends.
func (a *account) measureIMDSv1(ctx context.Context, instances []types.Instance, use *IMDSv1Use, noDataIsZero bool) (map[string]cwmetric.Measurement, error) {
	var ids []string
	for i := range instances {
		if allowsIMDSv1(&instances[i]) {
			ids = append(ids, aws.ToString(instances[i].InstanceId))
		}
	}
	slices.Sort(ids)
	got := map[string]cwmetric.Measurement{}
	if a.c.CloudWatch == nil {
		use.Reason = "there is no CloudWatch client, so IMDSv1 use (MetadataNoToken) was not read"
		for _, id := range ids {
			got[id] = cwmetric.Measurement{Unknown: "not measured: no CloudWatch client"}
		}
		return got, nil
	}
	if len(ids) == 0 {
		return got, nil
	}
	ms, err := a.metrics().IMDSv1Calls(ctx, ids, use.WindowStart, use.WindowEnd, noDataIsZero)
	if err != nil {
		return nil, err
	}
	for k, id := range ids {
		got[id] = ms[k]
		if ms[k].Cause != nil && use.Reason == "" {
			use.Reason = "reading CloudWatch failed: " + ms[k].Cause.Error()
		}
	}
	return got, nil
}

// attribution is what the posture knows of each instance that allows
// IMDSv1: where it came from and its use.
type attribution struct {
	byGroup, byTemplate map[string]*UseSummary
	uses                []InstanceUse // used IMDSv1 or unknown
	failed              bool          // a CloudWatch request failed, or there is no client
}

// instances counts the instances and attributes their IMDSv1 use.
func (p *Posture) instances(inv *inventory, measured map[string]cwmetric.Measurement) *attribution {
	attr := &attribution{byGroup: map[string]*UseSummary{}, byTemplate: map[string]*UseSummary{}, failed: p.IMDSv1.Reason != ""}
	ic := &p.Instances
	ic.AllowIMDSv1 = []string{}
	summary := func(m map[string]*UseSummary, k string) *UseSummary {
		if k == "" {
			return &UseSummary{}
		}
		if m[k] == nil {
			m[k] = &UseSummary{}
		}
		return m[k]
	}
	use := &p.IMDSv1
	use.Instances = []InstanceUse{}
	for i := range inv.instances {
		in := &inv.instances[i]
		id := aws.ToString(in.InstanceId)
		tags := map[string]string{}
		for _, t := range in.Tags {
			tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
		}
		u := InstanceUse{InstanceID: id, AutoScalingGroupName: tags[hosts.TagGroupName], LaunchTemplateID: tags[hosts.TagTemplateID],
			LaunchTemplateVersion: tags[hosts.TagTemplateVersion]}
		sums := []*UseSummary{summary(attr.byGroup, u.AutoScalingGroupName), summary(attr.byTemplate, u.LaunchTemplateID)}
		ic.Total++
		for _, s := range sums {
			s.Instances++
		}
		if !allowsIMDSv1(in) {
			ic.Required++
			continue
		}
		ic.Optional++
		ic.AllowIMDSv1 = append(ic.AllowIMDSv1, id)
		for _, s := range sums {
			s.AllowIMDSv1++
		}
		m, ok := measured[id]
		if !ok {
			m = cwmetric.Measurement{Unknown: "not measured"}
		}
		switch {
		case m.Unknown != "":
			use.Unknown++
			u.Unknown = m.Unknown
			for _, s := range sums {
				s.Unknown++
			}
		default:
			use.Measured++
			use.IMDSv1Calls += m.Sum
			if m.Sum == 0 {
				continue
			}
			use.UsedIMDSv1++
			calls := m.Sum
			u.IMDSv1Calls = &calls
			for _, s := range sums {
				s.UsedIMDSv1++
				s.IMDSv1Calls += m.Sum
			}
		}
		use.Instances = append(use.Instances, u)
	}
	slices.Sort(ic.AllowIMDSv1)
	slices.SortFunc(use.Instances, func(x, y InstanceUse) int { return strings.Compare(x.InstanceID, y.InstanceID) })
	use.Known = use.Unknown == 0 && use.Reason == ""
	for _, m := range []map[string]*UseSummary{attr.byGroup, attr.byTemplate} {
		for _, s := range m {
			s.Clean = s.Instances > 0 && s.UsedIMDSv1 == 0 && s.Unknown == 0
		}
	}
	attr.uses = use.Instances
	return attr
}

// versionPosture is what an outcome tells of a launch.
func versionPosture(n int64, o outcome) VersionPosture {
	v := VersionPosture{VersionNumber: n, ImageID: o.imageID}
	tokens, why := o.tokens()
	v.HTTPTokens, v.HTTPTokensSource, v.Unknown = tokens.Value, tokens.Source, why
	return v
}

// launches fills in the templates and groups that launch with IMDSv1, or
// whose instances used it or could not be measured.
func (p *Posture) launches(inv *inventory, attr *attribution) {
	groupsOf, _ := inv.groupsOf()
	notable := func(s *UseSummary) bool { return s != nil && (s.UsedIMDSv1 > 0 || s.Unknown > 0) }
	p.LaunchTemplates = []TemplatePosture{}
	for _, t := range inv.sortedTemplates() {
		tp := TemplatePosture{LaunchTemplateID: t.id, LaunchTemplateName: t.name,
			Default:               versionPosture(t.defaultVersion, inv.evalVersion(t, t.defaultVersion, "")),
			Latest:                versionPosture(t.latest, inv.evalVersion(t, t.latest, "")),
			AutoScalingGroupNames: []string{}}
		for _, names := range groupsOf[t.id] {
			for _, g := range names {
				tp.AutoScalingGroupNames = hosts.AppendOnce(tp.AutoScalingGroupNames, g)
			}
		}
		slices.Sort(tp.AutoScalingGroupNames)
		if s := attr.byTemplate[t.id]; s != nil {
			tp.IMDSv1 = *s
		}
		if tp.Default.LaunchesIMDSv1() || tp.Latest.LaunchesIMDSv1() || notable(attr.byTemplate[t.id]) {
			p.LaunchTemplates = append(p.LaunchTemplates, tp)
		}
	}
	p.AutoScalingGroups = []GroupPosture{}
	for _, g := range inv.groups {
		gp := GroupPosture{AutoScalingGroupName: g.name}
		for i, path := range g.paths {
			var out outcome
			var n int64
			if path.config != "" {
				out = inv.evalConfig(path.config)
			} else {
				n, _ = path.version()
				out = inv.evalPath(path)
			}
			v := versionPosture(n, out)
			if i == 0 {
				gp.LaunchConfigurationName, gp.Launch = path.config, v
				if path.template != nil {
					gp.LaunchTemplateID, gp.LaunchTemplateName, gp.Version = path.template.id, path.template.name, path.selector
				}
			}
			gp.LaunchesIMDSv1 = gp.LaunchesIMDSv1 || v.LaunchesIMDSv1()
		}
		if len(g.paths) == 0 {
			gp.Launch.Unknown, gp.LaunchesIMDSv1 = "the group names no launch template or configuration", true
		}
		if s := attr.byGroup[g.name]; s != nil {
			gp.IMDSv1 = *s
		}
		if gp.LaunchesIMDSv1 || notable(attr.byGroup[g.name]) {
			p.AutoScalingGroups = append(p.AutoScalingGroups, gp)
		}
	}
}

// images fills in the AMIs without ImdsSupport v2.0.
func (p *Posture) images(inv *inventory) {
	byID := map[string]*ImagePosture{}
	get := func(id string) *ImagePosture {
		if !strings.HasPrefix(id, "ami-") {
			return nil
		}
		if im := inv.images[id]; im != nil && im.ImdsSupport == types.ImdsSupportValuesV20 {
			return nil
		}
		ip := byID[id]
		if ip == nil {
			ip = &ImagePosture{ImageID: id, Owned: inv.owned[id], LaunchTemplateIDs: []string{}, LaunchConfigurationNames: []string{}}
			if im := inv.images[id]; im != nil {
				ip.Found, ip.Name, ip.OwnerID = true, aws.ToString(im.Name), aws.ToString(im.OwnerId)
			}
			byID[id] = ip
		}
		return ip
	}
	for i := range inv.instances {
		if ip := get(aws.ToString(inv.instances[i].ImageId)); ip != nil {
			ip.Instances++
		}
	}
	for _, t := range inv.sortedTemplates() {
		for _, n := range []int64{t.defaultVersion, t.latest} {
			if v := t.versions[n]; v != nil && v.LaunchTemplateData != nil {
				if ip := get(aws.ToString(v.LaunchTemplateData.ImageId)); ip != nil {
					ip.LaunchTemplateIDs = hosts.AppendOnce(ip.LaunchTemplateIDs, t.id)
				}
			}
		}
	}
	// Every version a group launches, as it selects it: a pinned one, an
	// override's own template, with an override's AMI when it gives one.
	for _, g := range inv.groups {
		for _, path := range g.paths {
			if path.template == nil {
				continue
			}
			image := path.imageID
			if n, why := path.version(); image == "" && why == "" {
				if v := path.template.versions[n]; v != nil && v.LaunchTemplateData != nil {
					image = aws.ToString(v.LaunchTemplateData.ImageId)
				}
			}
			if ip := get(image); ip != nil {
				ip.LaunchTemplateIDs = hosts.AppendOnce(ip.LaunchTemplateIDs, path.template.id)
			}
		}
	}
	for name, lc := range inv.configs {
		if ip := get(aws.ToString(lc.ImageId)); ip != nil {
			ip.LaunchConfigurationNames = hosts.AppendOnce(ip.LaunchConfigurationNames, name)
		}
	}
	p.Images = []ImagePosture{}
	for _, id := range slices.Sorted(maps.Keys(byID)) {
		ip := byID[id]
		slices.Sort(ip.LaunchTemplateIDs)
		slices.Sort(ip.LaunchConfigurationNames)
		p.Images = append(p.Images, *ip)
	}
}

// useBlockers are the blockers of IMDSv1 use: the whole use unknown, or,
// for each group and each template (for instances launched from it
// outside any group), instances that used IMDSv1 or could not be
// measured.
func (p *Posture) useBlockers(attr *attribution) []Blocker {
	var bs []Blocker
	use := &p.IMDSv1
	window := cwmetric.Days(use.WindowEnd.Sub(use.WindowStart))
	if attr.failed {
		bs = append(bs, Blocker{Kind: BlockerIMDSv1Unknown, Reason: use.Reason,
			Fix: "read IMDSv1 use again with a CloudWatch client that can call GetMetricData"})
	}
	type key struct{ group, template string }
	used, unknown := map[key][]string{}, map[key][]string{}
	var calls = map[key]float64{}
	for _, u := range attr.uses {
		k := key{group: u.AutoScalingGroupName}
		if k.group == "" {
			k.template = u.LaunchTemplateID
		}
		if k == (key{}) {
			continue // launched by hand: enforcement leaves it alone
		}
		if u.IMDSv1Calls != nil {
			used[k] = append(used[k], u.InstanceID)
			calls[k] += *u.IMDSv1Calls
		} else if !attr.failed {
			unknown[k] = append(unknown[k], u.InstanceID)
		}
	}
	subject := func(k key, b *Blocker) {
		if k.group != "" {
			b.AutoScalingGroupNames = []string{k.group}
		} else {
			b.LaunchTemplateID = k.template
		}
	}
	for k, ids := range used {
		b := Blocker{Kind: BlockerIMDSv1InUse, InstanceIDs: ids,
			Reason: fmt.Sprintf("%d %s made %v IMDSv1 calls over the last %s; new instances running the same software fail those calls once their launches require IMDSv2",
				len(ids), hosts.Plural("instance", len(ids)), calls[k], window),
			Fix: "move the software on them to IMDSv2 (current AWS SDKs and CLIs use it), then require IMDSv2 in what launches them"}
		subject(k, &b)
		bs = append(bs, b)
	}
	for k, ids := range unknown {
		b := Blocker{Kind: BlockerIMDSv1Unknown, InstanceIDs: ids,
			Reason: fmt.Sprintf("the IMDSv1 use of %d %s over the last %s could not be measured", len(ids), hosts.Plural("instance", len(ids)), window),
			Fix:    "measure again once they have run in the window (see IMDSv1.Instances for each reason)"}
		subject(k, &b)
		bs = append(bs, b)
	}
	for i := range bs {
		slices.Sort(bs[i].InstanceIDs)
	}
	slices.SortFunc(bs, func(x, y Blocker) int {
		return cmp.Compare(strings.Join(x.AutoScalingGroupNames, ",")+x.LaunchTemplateID, strings.Join(y.AutoScalingGroupNames, ",")+y.LaunchTemplateID)
	})
	return bs
}

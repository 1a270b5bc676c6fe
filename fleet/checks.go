package fleet

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imdsopts/imdsopts"
	"github.com/imdsopts/imdsopts/internal/check"
	"github.com/imdsopts/imdsopts/internal/ec2limits"
	"github.com/imdsopts/imdsopts/internal/hosts"
	"github.com/imdsopts/imdsopts/internal/pace"
)

// The checks of a fleet's plan that the options alone do not show: changes
// EC2 would refuse as they are (tag keys it cannot serve in the metadata,
// options on a disabled endpoint), container hosts a change would cut off
// from IMDS, and the fix Options.ContainerHopLimit makes for them.

// hostFacts is what the listing showed of an instance beyond its options.
type hostFacts struct {
	tags map[string]string
}

// factsOf returns what inst shows beyond its options.
func factsOf(inst *types.Instance) *hostFacts {
	return &hostFacts{tags: hosts.TagMap(inst.Tags)}
}

// planItem gives a listed instance its planned status for a change to s:
// the fields that change (with the hop limit ContainerHopLimit gives a
// container host), then satisfied, cannot be applied as it is, refused as a
// downgrade, held as a container host the change would cut off, pending
// until it starts, or a change.
func planItem(it *Item, s imdsopts.Set, o *Options) {
	it.Changes, it.acceptHop = s.Changes(it.Options), 0
	if limit := o.ContainerHopLimit; limit > 0 && it.Container != "" && hosts.CutOff(it.Changes.AppliedTo(it.Options), limit) {
		hop := hopOnly(limit)
		it.Changes = it.Changes.With(hop)
		if it.Options != nil && aws.ToInt32(it.Options.HttpPutResponseHopLimit) == limit {
			it.Changes = it.Changes.Without(hop) // the Set lowered it; keeping it is no change
		}
		it.acceptHop = it.Changes.HopLimit()
	}
	it.Downgrade = it.downgrade()
	switch {
	case it.Changes.IsZero():
		it.Status = StatusSatisfied
	case cannotApply(it) != nil:
		it.Status, it.Err = StatusCannotApply, cannotApply(it)
	case !it.Downgrade.IsZero() && !o.AllowDowngrade:
		it.Status, it.Err = StatusRefused, downgradeError(it.InstanceID, it.Downgrade, it.Options)
	case containerCutOff(it) != nil:
		it.Status, it.Err = StatusHeld, containerCutOff(it)
	case it.InstanceState == types.InstanceStateNameStopped || it.InstanceState == types.InstanceStateNameStopping:
		it.Status = StatusPendingStart
	default:
		it.Status = StatusChange
	}
}

// hopOnly returns the Set of the hop limit n alone, n in 1..64 (checked
// with the options).
func hopOnly(n int32) imdsopts.Set {
	s, _ := imdsopts.New(imdsopts.HopLimit(n))
	return s
}

// downgrade returns the fields of the item's Changes that weaken it, but
// the hop limit ContainerHopLimit gave it: that one is accepted.
func (it *Item) downgrade() imdsopts.Set {
	d := it.Changes.Downgrade(it.Options)
	if it.acceptHop != 0 && d.HopLimit() == it.acceptHop {
		d = d.Without(hopField())
	}
	return d
}

func downgradeError(id string, d imdsopts.Set, cur *types.InstanceMetadataOptionsResponse) error {
	err := fmt.Errorf("imdsopts: %s: %s: %w (allow it with AllowDowngrade)", id, d, imdsopts.ErrDowngrade)
	if d.HTTPEndpoint() == types.InstanceMetadataEndpointStateEnabled && cur != nil && cur.HttpEndpoint == types.InstanceMetadataEndpointStateDisabled {
		err = fmt.Errorf("%w: its metadata endpoint is disabled, so nothing on it reaches IMDS, which is stronger than requiring IMDSv2; "+
			"the change turns the endpoint back on", err)
	}
	return err
}

// cannotApply returns why EC2 would refuse the item's change as it is, or
// nil: HttpTokens, the hop limit or IPv6 with the endpoint disabled after
// the call (ErrEndpointDisabled), or instance tags in the metadata turned
// on for an instance with tag keys EC2 cannot serve there (ErrTagKeys).
func cannotApply(it *Item) error {
	c := it.Changes
	if endpoint := c.AppliedTo(it.Options).HttpEndpoint; endpoint == types.InstanceMetadataEndpointStateDisabled {
		var fields []string
		if c.HTTPTokens() != "" {
			fields = append(fields, "HttpTokens")
		}
		if c.HopLimit() != 0 {
			fields = append(fields, "HttpPutResponseHopLimit")
		}
		if c.HTTPProtocolIPv6() != "" {
			fields = append(fields, "HttpProtocolIpv6")
		}
		if len(fields) > 0 {
			what := strings.Join(fields, ", ")
			if c.HTTPEndpoint() == types.InstanceMetadataEndpointStateDisabled {
				return fmt.Errorf("imdsopts: %s: %s: the change turns the metadata endpoint off: %w: EC2 refuses %s in a call that leaves it disabled; "+
					"once it is off nothing on the instance reaches IMDS, so change HttpEndpoint alone", it.InstanceID, c, ErrEndpointDisabled, what)
			}
			return fmt.Errorf("imdsopts: %s: %s: %w: EC2 refuses %s unless the same call enables the endpoint; with it off, nothing on the instance "+
				"reaches IMDS, which is stronger than requiring IMDSv2: leave the instance out, or add HttpEndpoint \"enabled\" to the change, "+
				"which turns IMDS back on and so needs AllowDowngrade", it.InstanceID, c, ErrEndpointDisabled, what)
		}
	}
	if c.InstanceMetadataTags() == types.InstanceMetadataTagsStateEnabled && it.host != nil {
		if bad := hosts.RefusedTagKeys(it.host.tags); len(bad) > 0 {
			quoted := make([]string, len(bad))
			for i, k := range bad {
				quoted[i] = check.Quote(k)
			}
			return fmt.Errorf("imdsopts: %s: InstanceMetadataTags=enabled: %w: %s; EC2 refuses to turn instance tags on (InvalidParameterValue) "+
				"while a key does not match [0-9a-zA-Z\\-_+=,.@:]{1,255} or is \".\", \"..\" or \"_index\": rename or remove those tags, "+
				"or leave instance tags off for it", it.InstanceID, ErrTagKeys, strings.Join(quoted, ", "))
		}
	}
	return nil
}

// containerCutOff returns why the item's change would cut a container host
// off from IMDS, or nil: it makes the instance require tokens, or lowers
// its hop limit, so that it requires tokens with a hop limit below 2.
func containerCutOff(it *Item) error {
	c := it.Changes
	if it.Container == "" || c.HTTPTokens() == "" && c.HopLimit() == 0 || !hosts.CutOff(c.AppliedTo(it.Options), hosts.ContainerMinHop) {
		return nil
	}
	hop := aws.ToInt32(c.AppliedTo(it.Options).HttpPutResponseHopLimit)
	return fmt.Errorf("imdsopts: %s: a container host (%s) would require tokens with HttpPutResponseHopLimit %d: %w: a container is one network hop "+
		"further from IMDS, so its token requests get no answer and its SDKs fall back to IMDSv1, which is then refused; "+
		"give it hop limit %d in the same change (fleet.Options.ContainerHopLimit)",
		it.InstanceID, it.Container, hop, ErrContainerHopLimit, hosts.ContainerMinHop)
}

// templateVersionsAPI is the part of *ec2.Client that reads launch
// template versions: NewPlan reads the user data of the versions
// instances were launched from through it, when its API has it.
type templateVersionsAPI interface {
	DescribeLaunchTemplateVersions(ctx context.Context, params *ec2.DescribeLaunchTemplateVersionsInput, optFns ...func(*ec2.Options)) (*ec2.DescribeLaunchTemplateVersionsOutput, error)
}

// launchSource is what an instance was launched from, for its user data: a
// launch template (by ID or name) and a version selector, or a launch
// configuration.
type launchSource struct {
	templateID, templateName, version string
	config                            string
}

func (l launchSource) String() string {
	switch {
	case l.config != "":
		return "launch configuration " + l.config
	case l.templateID != "":
		return "launch template " + l.templateID + " version " + l.version
	}
	return "launch template " + l.templateName + " version " + l.version
}

// findContainers tells which of the items at idx are container hosts by
// the user data they were launched with: the launch template version their
// tags name (aws:ec2launchtemplate:id and version), or else what their
// Auto Scaling group launches (with Options.AutoScaling). Only items
// with no container tag are looked at; each source is read once. A
// template or version that no longer exists shows nothing; any other
// failure is an error.
func (p *pacer) findContainers(ctx context.Context, items []Item, idx []int) error {
	lt, _ := p.api.(templateVersionsAPI)
	sources := map[int]launchSource{}
	var groups []string
	for _, i := range idx {
		tags := items[i].host.tags
		if id := tags[hosts.TagTemplateID]; id != "" {
			if lt != nil && tags[hosts.TagTemplateVersion] != "" {
				sources[i] = launchSource{templateID: id, version: tags[hosts.TagTemplateVersion]}
			}
			continue
		}
		if g := tags[hosts.TagGroupName]; g != "" && p.o.AutoScaling != nil {
			groups = hosts.AppendOnce(groups, g)
		}
	}
	byGroup, err := p.groupSources(ctx, groups)
	if err != nil {
		return err
	}
	for _, i := range idx {
		if src, ok := byGroup[items[i].host.tags[hosts.TagGroupName]]; ok && items[i].host.tags[hosts.TagTemplateID] == "" {
			if src.config != "" || lt != nil && src != (launchSource{}) {
				sources[i] = src
			}
		}
	}
	var todo []launchSource
	for _, src := range sources {
		if !slices.Contains(todo, src) {
			todo = append(todo, src)
		}
	}
	slices.SortFunc(todo, func(x, y launchSource) int { return strings.Compare(x.String(), y.String()) })
	var mu sync.Mutex
	found := map[launchSource]string{}
	var configs []string
	for _, src := range todo {
		if src.config != "" {
			configs = append(configs, src.config)
		}
	}
	if err := p.configUserData(ctx, configs, func(name, data string) {
		found[launchSource{config: name}] = data
	}); err != nil {
		return err
	}
	err = pace.Each(ctx, len(todo), p.o.Concurrency, func(ctx context.Context, k int) error {
		src := todo[k]
		if src.config != "" {
			return nil
		}
		data, err := p.templateUserData(ctx, lt, src)
		mu.Lock()
		defer mu.Unlock()
		found[src] = data
		return err
	})
	if err != nil {
		return err
	}
	for i, src := range sources {
		if m := hosts.UserDataMarker(found[src]); m != "" {
			items[i].Container = "user data of " + src.String() + ": " + m
		}
	}
	return nil
}

// templateUserData returns the user data of a launch template version, or
// "" when the template or version does not exist.
func (p *pacer) templateUserData(ctx context.Context, lt templateVersionsAPI, src launchSource) (string, error) {
	in := &ec2.DescribeLaunchTemplateVersionsInput{Versions: []string{src.version}}
	if src.templateID != "" {
		in.LaunchTemplateId = aws.String(src.templateID)
	} else {
		in.LaunchTemplateName = aws.String(src.templateName)
	}
	var data string
	_, err := p.Do(ctx, pace.Call{Op: "DescribeLaunchTemplateVersions", Lim: p.descLim}, func(ctx context.Context) error {
		out, err := lt.DescribeLaunchTemplateVersions(ctx, in, p.o.ClientOptions...)
		switch {
		case hosts.TemplateGone(err), hosts.VersionGone(err):
			return nil // an answer: nothing to read
		case err != nil:
			return err
		case out == nil:
			return pace.ErrNoAnswer
		}
		for _, v := range out.LaunchTemplateVersions {
			if v.LaunchTemplateData != nil {
				data = aws.ToString(v.LaunchTemplateData.UserData)
			}
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("imdsopts: read the user data of %s, to tell container hosts: DescribeLaunchTemplateVersions: %w", src, err)
	}
	return data, nil
}

// groupSources returns what each of the groups launches new instances from:
// its launch configuration, or its launch template (a mixed instances
// policy's) and version selector. Groups that do not exist are left out.
func (p *pacer) groupSources(ctx context.Context, names []string) (map[string]launchSource, error) {
	got := map[string]launchSource{}
	for chunk := range slices.Chunk(slices.Sorted(slices.Values(names)), asNamesChunk) {
		in := &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: chunk, MaxRecords: aws.Int32(ec2limits.AutoScalingPage), IncludeInstances: aws.Bool(false)}
		err := p.Pages(ctx, pace.Call{Op: "DescribeAutoScalingGroups", Lim: p.descLim}, "read Auto Scaling groups, to tell container hosts",
			func(ctx context.Context, token *string) (*string, error) {
				in.NextToken = token
				out, err := p.o.AutoScaling.DescribeAutoScalingGroups(ctx, in)
				switch {
				case err != nil:
					return nil, err
				case out == nil:
					return nil, pace.ErrNoAnswer
				}
				for _, g := range out.AutoScalingGroups {
					got[aws.ToString(g.AutoScalingGroupName)] = groupSource(&g)
				}
				return out.NextToken, nil
			})
		if err != nil {
			return nil, err
		}
	}
	return got, nil
}

// asNamesChunk is how many names one Auto Scaling Describe call asks about.
const asNamesChunk = 50

// groupSource returns what a group launches new instances from.
func groupSource(g *astypes.AutoScalingGroup) launchSource {
	spec := g.LaunchTemplate
	if m := g.MixedInstancesPolicy; m != nil && m.LaunchTemplate != nil && m.LaunchTemplate.LaunchTemplateSpecification != nil {
		spec = m.LaunchTemplate.LaunchTemplateSpecification
	}
	if spec == nil {
		return launchSource{config: aws.ToString(g.LaunchConfigurationName)}
	}
	if aws.ToString(spec.LaunchTemplateId) == "" && aws.ToString(spec.LaunchTemplateName) == "" {
		return launchSource{}
	}
	version := aws.ToString(spec.Version)
	if version == "" {
		version = hosts.VersionDefault
	}
	return launchSource{templateID: aws.ToString(spec.LaunchTemplateId), templateName: aws.ToString(spec.LaunchTemplateName), version: version}
}

// configUserData calls fn with the user data of each launch configuration
// of names that exists.
func (p *pacer) configUserData(ctx context.Context, names []string, fn func(name, data string)) error {
	for chunk := range slices.Chunk(slices.Sorted(slices.Values(names)), asNamesChunk) {
		in := &autoscaling.DescribeLaunchConfigurationsInput{LaunchConfigurationNames: chunk, MaxRecords: aws.Int32(ec2limits.AutoScalingPage)}
		err := p.Pages(ctx, pace.Call{Op: "DescribeLaunchConfigurations", Lim: p.descLim}, "read launch configurations, to tell container hosts",
			func(ctx context.Context, token *string) (*string, error) {
				in.NextToken = token
				out, err := p.o.AutoScaling.DescribeLaunchConfigurations(ctx, in)
				switch {
				case err != nil:
					return nil, err
				case out == nil:
					return nil, pace.ErrNoAnswer
				}
				for _, lc := range out.LaunchConfigurations {
					fn(aws.ToString(lc.LaunchConfigurationName), aws.ToString(lc.UserData))
				}
				return out.NextToken, nil
			})
		if err != nil {
			return err
		}
	}
	return nil
}

// containers fills in which of items are container hosts where that
// decides their change to s: each has its container tag from the listing;
// those without one whose options after the change would require tokens
// with a hop limit below 2 (or ContainerHopLimit) are judged by the user
// data they were launched with.
func (p *pacer) containers(ctx context.Context, items []Item, s imdsopts.Set) error {
	limit := max(hosts.ContainerMinHop, p.o.ContainerHopLimit)
	var idx []int
	for i := range items {
		it := &items[i]
		if it.host == nil || it.Container != "" {
			continue
		}
		c := s.Changes(it.Options)
		if (c.HTTPTokens() != "" || c.HopLimit() != 0 || p.o.ContainerHopLimit > 0) && hosts.CutOff(c.AppliedTo(it.Options), limit) {
			idx = append(idx, i)
		}
	}
	if len(idx) == 0 {
		return nil
	}
	return p.findContainers(ctx, items, idx)
}

package account

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imdsopts/imdsopts/internal/check"
	"github.com/imdsopts/imdsopts/internal/ec2limits"
	"github.com/imdsopts/imdsopts/internal/hosts"
	"github.com/imdsopts/imdsopts/internal/pace"
)

// The inventory of how an account launches instances: its defaults, its
// launch templates with the versions that launch (each template's $Default
// and $Latest, and every version an Auto Scaling group launches), its
// groups and launch configurations, the images behind them and, when asked,
// its instances. Readiness, the template fix and the posture all judge
// launches from it, with one rule (eval).

// instanceListing says which instances an inventory lists.
type instanceListing int

const (
	noInstances     instanceListing = iota
	imdsv1Instances                 // those that allow IMDSv1 (HttpTokens optional)
	allInstances
)

// inventoryOptions say what an inventory must hold beyond the launch
// paths.
type inventoryOptions struct {
	instances instanceListing
	// ownership asks which images the account owns (a second DescribeImages
	// with Owners "self").
	ownership bool
	// defaults, when set, are the defaults to judge launches with, instead
	// of those GetInstanceMetadataDefaults reports (which are not read).
	defaults *State
	// alongside, when set, runs once the first listings are in, at the
	// same time as the rest (reading CloudWatch about the instances while
	// versions and images are read); its error is the inventory's.
	alongside func(context.Context, *inventory) error
	// launchedVersions asks for the template versions the instances were
	// launched from (their tags aws:ec2launchtemplate:id and version), for
	// the user data they were launched with.
	launchedVersions bool
}

type inventory struct {
	defaults State

	templates map[string]*templateInfo // by ID
	byName    map[string]*templateInfo

	// groups are sorted by name; asChecked is false when there is no Auto
	// Scaling client, and then groups and configs are empty.
	asChecked bool
	groups    []*groupInfo
	configs   map[string]*astypes.LaunchConfiguration // by name

	images map[string]*types.Image // described, by ID
	owned  map[string]bool         // when ownership was asked for

	instances []types.Instance // in listing order
}

// templateInfo is a launch template and the versions of it read.
type templateInfo struct {
	id, name               string
	defaultVersion, latest int64
	versions               map[int64]*types.LaunchTemplateVersion
	// missing says why a version wanted could not be read; gone, why the
	// template could not (it was deleted, or never existed).
	missing map[int64]string
	gone    string
}

// groupInfo is an Auto Scaling group and the ways it launches instances.
type groupInfo struct {
	name  string
	paths []launchPath
	// tags are the group's tags that it puts on the instances it launches
	// (PropagateAtLaunch).
	tags map[string]string
}

// launchPath is one way instances are launched: a launch template version
// (as the group or the caller selects it, with the AMI an override names)
// or a launch configuration.
type launchPath struct {
	template *templateInfo
	selector string // "$Default", "$Latest" or a number, as given
	imageID  string // a mixed instances policy override's ImageId
	config   string // a launch configuration's name
}

// version returns the version the path selects, or 0 and why not.
func (p launchPath) version() (int64, string) {
	t := p.template
	if t.gone != "" {
		return 0, t.gone
	}
	switch p.selector {
	case hosts.VersionDefault:
		return t.defaultVersion, ""
	case hosts.VersionLatest:
		return t.latest, ""
	}
	n, err := strconv.ParseInt(p.selector, 10, 64)
	if err != nil || n < 1 {
		return 0, fmt.Sprintf("version %s is not a version number, $Latest or $Default", check.Quote(p.selector))
	}
	return n, ""
}

// inventory reads the account: first, at once, the defaults, the templates
// with their $Default and $Latest versions (one listing for every
// template), the groups, the launch configurations and the instances; then
// the other versions groups launch, one call per template; then the images
// behind them all. Any listing that fails is an error.
func (a *account) inventory(ctx context.Context, opts inventoryOptions) (*inventory, error) {
	inv := &inventory{templates: map[string]*templateInfo{}, byName: map[string]*templateInfo{},
		configs: map[string]*astypes.LaunchConfiguration{}, images: map[string]*types.Image{}, asChecked: a.c.AutoScaling != nil}
	var (
		versions []types.LaunchTemplateVersion
		groups   []astypes.AutoScalingGroup
	)
	tasks := []func(context.Context) error{
		func(ctx context.Context) error { return a.listTemplates(ctx, inv) },
		func(ctx context.Context) (err error) { versions, err = a.listDefaultAndLatest(ctx); return err },
	}
	if opts.defaults != nil {
		inv.defaults = *opts.defaults
	} else {
		tasks = append(tasks, func(ctx context.Context) (err error) { inv.defaults, err = a.getDefaults(ctx); return err })
	}
	if inv.asChecked {
		tasks = append(tasks,
			func(ctx context.Context) (err error) { groups, err = a.listGroups(ctx); return err },
			func(ctx context.Context) error { return a.listConfigs(ctx, inv) })
	}
	if opts.instances != noInstances {
		tasks = append(tasks, func(ctx context.Context) (err error) {
			inv.instances, err = a.listInstances(ctx, opts.instances == imdsv1Instances)
			return err
		})
	}
	if err := pace.Each(ctx, len(tasks), len(tasks), func(ctx context.Context, i int) error { return tasks[i](ctx) }); err != nil {
		return nil, err
	}
	for i := range versions {
		v := &versions[i]
		if t := inv.templates[aws.ToString(v.LaunchTemplateId)]; t != nil {
			t.versions[aws.ToInt64(v.VersionNumber)] = v
		}
	}
	rest := []func(context.Context) error{func(ctx context.Context) error {
		if err := a.addGroups(ctx, inv, groups); err != nil {
			return err
		}
		if err := a.readVersions(ctx, inv, opts.launchedVersions); err != nil {
			return err
		}
		return a.describeImages(ctx, inv, opts.ownership)
	}}
	if opts.alongside != nil {
		// The instances are listed; nothing after this changes them.
		rest = append(rest, func(ctx context.Context) error { return opts.alongside(ctx, inv) })
	}
	if err := pace.Each(ctx, len(rest), len(rest), func(ctx context.Context, i int) error { return rest[i](ctx) }); err != nil {
		return nil, err
	}
	return inv, nil
}

// listTemplates lists every launch template into inv.
func (a *account) listTemplates(ctx context.Context, inv *inventory) error {
	in := ec2.DescribeLaunchTemplatesInput{MaxResults: aws.Int32(ec2limits.TemplatePage)}
	found, err := pace.Collect(ctx, a.p, a.paced("DescribeLaunchTemplates"), "list launch templates",
		func(ctx context.Context, token *string) (*ec2.DescribeLaunchTemplatesOutput, error) {
			in.NextToken = token
			return a.c.EC2.DescribeLaunchTemplates(ctx, &in, a.o.ClientOptions...)
		},
		func(out *ec2.DescribeLaunchTemplatesOutput) ([]types.LaunchTemplate, *string) {
			return out.LaunchTemplates, out.NextToken
		})
	for _, lt := range found {
		t := newTemplateInfo(lt)
		inv.templates[t.id], inv.byName[t.name] = t, t
	}
	return err
}

// listDefaultAndLatest lists the $Default and $Latest version of every
// launch template in one paged listing.
func (a *account) listDefaultAndLatest(ctx context.Context) ([]types.LaunchTemplateVersion, error) {
	in := ec2.DescribeLaunchTemplateVersionsInput{Versions: []string{hosts.VersionDefault, hosts.VersionLatest},
		MaxResults: aws.Int32(ec2limits.TemplatePage), ResolveAlias: aws.Bool(true)}
	return pace.Collect(ctx, a.p, a.paced("DescribeLaunchTemplateVersions"), "list launch template versions",
		func(ctx context.Context, token *string) (*ec2.DescribeLaunchTemplateVersionsOutput, error) {
			in.NextToken = token
			return a.c.EC2.DescribeLaunchTemplateVersions(ctx, &in, a.o.ClientOptions...)
		},
		func(out *ec2.DescribeLaunchTemplateVersionsOutput) ([]types.LaunchTemplateVersion, *string) {
			return out.LaunchTemplateVersions, out.NextToken
		})
}

func (a *account) listGroups(ctx context.Context) ([]astypes.AutoScalingGroup, error) {
	in := autoscaling.DescribeAutoScalingGroupsInput{MaxRecords: aws.Int32(ec2limits.AutoScalingPage), IncludeInstances: aws.Bool(false)}
	return pace.Collect(ctx, a.p, a.paced("DescribeAutoScalingGroups"), "list Auto Scaling groups",
		func(ctx context.Context, token *string) (*autoscaling.DescribeAutoScalingGroupsOutput, error) {
			in.NextToken = token
			return a.c.AutoScaling.DescribeAutoScalingGroups(ctx, &in)
		},
		func(out *autoscaling.DescribeAutoScalingGroupsOutput) ([]astypes.AutoScalingGroup, *string) {
			return out.AutoScalingGroups, out.NextToken
		})
}

func (a *account) listConfigs(ctx context.Context, inv *inventory) error {
	in := autoscaling.DescribeLaunchConfigurationsInput{MaxRecords: aws.Int32(ec2limits.AutoScalingPage)}
	found, err := pace.Collect(ctx, a.p, a.paced("DescribeLaunchConfigurations"), "list launch configurations",
		func(ctx context.Context, token *string) (*autoscaling.DescribeLaunchConfigurationsOutput, error) {
			in.NextToken = token
			return a.c.AutoScaling.DescribeLaunchConfigurations(ctx, &in)
		},
		func(out *autoscaling.DescribeLaunchConfigurationsOutput) ([]astypes.LaunchConfiguration, *string) {
			return out.LaunchConfigurations, out.NextToken
		})
	for i := range found {
		inv.configs[aws.ToString(found[i].LaunchConfigurationName)] = &found[i]
	}
	return err
}

// listInstances lists the instances that are not terminated (only those
// that allow IMDSv1 when imdsv1Only), always filtered and paged, so in the
// Describe bucket.
func (a *account) listInstances(ctx context.Context, imdsv1Only bool) ([]types.Instance, error) {
	filters := []types.Filter{{Name: aws.String("instance-state-name"), Values: []string{"pending", "running", "stopping", "stopped"}}}
	if imdsv1Only {
		filters = append(filters, types.Filter{Name: aws.String("metadata-options.http-tokens"), Values: []string{string(types.HttpTokensStateOptional)}})
	}
	in := ec2.DescribeInstancesInput{Filters: filters, MaxResults: aws.Int32(ec2limits.DescribePage)}
	return pace.Collect(ctx, a.p, a.paced("DescribeInstances"), "list instances",
		func(ctx context.Context, token *string) (*ec2.DescribeInstancesOutput, error) {
			in.NextToken = token
			return a.c.EC2.DescribeInstances(ctx, &in, a.o.ClientOptions...)
		},
		func(out *ec2.DescribeInstancesOutput) ([]types.Instance, *string) {
			var found []types.Instance
			for _, r := range out.Reservations {
				found = append(found, r.Instances...)
			}
			return found, out.NextToken
		})
}

// addGroups records the groups' launch paths. A group's template that the
// listing did not return (made since, or deleted) is looked up by itself;
// one that does not exist is recorded as gone.
func (a *account) addGroups(ctx context.Context, inv *inventory, groups []astypes.AutoScalingGroup) error {
	var unknownIDs, unknownNames []string
	lookup := func(spec *astypes.LaunchTemplateSpecification) {
		id, name := aws.ToString(spec.LaunchTemplateId), aws.ToString(spec.LaunchTemplateName)
		switch {
		case id != "" && inv.templates[id] == nil:
			unknownIDs = append(unknownIDs, id)
		case id == "" && name != "" && inv.byName[name] == nil:
			unknownNames = append(unknownNames, name)
		}
	}
	specs := func(g *astypes.AutoScalingGroup) []*astypes.LaunchTemplateSpecification {
		var out []*astypes.LaunchTemplateSpecification
		if g.LaunchTemplate != nil {
			out = append(out, g.LaunchTemplate)
		}
		if m := g.MixedInstancesPolicy; m != nil && m.LaunchTemplate != nil {
			if m.LaunchTemplate.LaunchTemplateSpecification != nil {
				out = append(out, m.LaunchTemplate.LaunchTemplateSpecification)
			}
			for _, ov := range m.LaunchTemplate.Overrides {
				if ov.LaunchTemplateSpecification != nil {
					out = append(out, ov.LaunchTemplateSpecification)
				}
			}
		}
		return out
	}
	for i := range groups {
		for _, s := range specs(&groups[i]) {
			lookup(s)
		}
	}
	for _, id := range slices.Compact(slices.Sorted(slices.Values(unknownIDs))) {
		if err := a.lookupTemplate(ctx, inv, id, ""); err != nil {
			return err
		}
	}
	for _, name := range slices.Compact(slices.Sorted(slices.Values(unknownNames))) {
		if err := a.lookupTemplate(ctx, inv, "", name); err != nil {
			return err
		}
	}
	find := func(spec *astypes.LaunchTemplateSpecification) *templateInfo {
		if id := aws.ToString(spec.LaunchTemplateId); id != "" {
			return inv.templates[id]
		}
		if t := inv.byName[aws.ToString(spec.LaunchTemplateName)]; t != nil {
			return t
		}
		return &templateInfo{gone: "the group names its launch template by neither ID nor name"}
	}
	path := func(spec *astypes.LaunchTemplateSpecification, image string) launchPath {
		// A specification without a version launches $Default, as EC2
		// Auto Scaling documents for groups; that an override's own
		// specification does the same is unverified, and $Default is what
		// RunInstances launches when no version is named.
		sel := aws.ToString(spec.Version)
		if sel == "" {
			sel = hosts.VersionDefault
		}
		return launchPath{template: find(spec), selector: sel, imageID: image}
	}
	for i := range groups {
		g := &groups[i]
		gi := &groupInfo{name: aws.ToString(g.AutoScalingGroupName), tags: map[string]string{}}
		for _, t := range g.Tags {
			if aws.ToBool(t.PropagateAtLaunch) {
				gi.tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
			}
		}
		switch {
		case g.MixedInstancesPolicy != nil && g.MixedInstancesPolicy.LaunchTemplate != nil:
			lt := g.MixedInstancesPolicy.LaunchTemplate
			main := lt.LaunchTemplateSpecification
			if main != nil {
				gi.paths = append(gi.paths, path(main, ""))
			}
			for _, ov := range lt.Overrides {
				spec := main
				if ov.LaunchTemplateSpecification != nil {
					spec = ov.LaunchTemplateSpecification
				}
				if spec != nil && (ov.LaunchTemplateSpecification != nil || aws.ToString(ov.ImageId) != "") {
					gi.paths = append(gi.paths, path(spec, aws.ToString(ov.ImageId)))
				}
			}
		case g.LaunchTemplate != nil:
			gi.paths = append(gi.paths, path(g.LaunchTemplate, ""))
		case aws.ToString(g.LaunchConfigurationName) != "":
			gi.paths = append(gi.paths, launchPath{config: aws.ToString(g.LaunchConfigurationName)})
		}
		gi.paths = slices.CompactFunc(gi.paths, func(x, y launchPath) bool { return x == y })
		inv.groups = append(inv.groups, gi)
	}
	slices.SortFunc(inv.groups, func(x, y *groupInfo) int { return strings.Compare(x.name, y.name) })
	return nil
}

// lookupTemplate reads one template a group names that the listing did
// not return (made since, or deleted); one that EC2 does not know is
// recorded as gone, so the group is judged unknown, never fine. Any other
// failure is an error.
func (a *account) lookupTemplate(ctx context.Context, inv *inventory, id, name string) error {
	in := ec2.DescribeLaunchTemplatesInput{}
	if id != "" {
		in.LaunchTemplateIds = []string{id}
	} else {
		in.LaunchTemplateNames = []string{name}
	}
	var out *ec2.DescribeLaunchTemplatesOutput
	var gone error
	_, err := a.call(ctx, "DescribeLaunchTemplates", func(ctx context.Context) error {
		var err error
		out, err = a.c.EC2.DescribeLaunchTemplates(ctx, &in, a.o.ClientOptions...)
		if err == nil && out == nil {
			err = pace.ErrNoAnswer
		}
		return expected(err, hosts.TemplateGone, &gone)
	})
	if gone != nil {
		err = gone
	}
	switch {
	case hosts.TemplateGone(err):
		out = &ec2.DescribeLaunchTemplatesOutput{}
	case err != nil:
		return fmt.Errorf("imdsopts: read launch template %s: DescribeLaunchTemplates: %w", check.Quote(id+name), err)
	}
	for _, lt := range out.LaunchTemplates {
		t := newTemplateInfo(lt)
		inv.templates[t.id], inv.byName[t.name] = t, t
	}
	if len(out.LaunchTemplates) > 0 {
		return nil
	}
	missing := &templateInfo{id: id, name: name, gone: "the launch template does not exist",
		versions: map[int64]*types.LaunchTemplateVersion{}, missing: map[int64]string{}}
	if id != "" {
		inv.templates[id] = missing
	} else {
		inv.byName[name] = missing
	}
	return nil
}

func newTemplateInfo(lt types.LaunchTemplate) *templateInfo {
	return &templateInfo{id: aws.ToString(lt.LaunchTemplateId), name: aws.ToString(lt.LaunchTemplateName),
		defaultVersion: aws.ToInt64(lt.DefaultVersionNumber), latest: aws.ToInt64(lt.LatestVersionNumber),
		versions: map[int64]*types.LaunchTemplateVersion{}, missing: map[int64]string{}}
}

// readVersions reads the versions that launch and that the first listing
// did not return: every version groups launch by number, and any $Default
// or $Latest missing (a template made since), and with launched the
// versions the instances were launched from. One call per template, at
// most Concurrency at once; a version that does not exist is recorded as
// missing.
func (a *account) readVersions(ctx context.Context, inv *inventory, launched bool) error {
	want := map[*templateInfo]map[int64]bool{}
	need := func(t *templateInfo, n int64) {
		if t.gone != "" || n < 1 || t.versions[n] != nil {
			return
		}
		if want[t] == nil {
			want[t] = map[int64]bool{}
		}
		want[t][n] = true
	}
	for _, t := range inv.templates {
		need(t, t.defaultVersion)
		need(t, t.latest)
	}
	for _, g := range inv.groups {
		for _, p := range g.paths {
			if p.template != nil {
				n, _ := p.version()
				need(p.template, n)
			}
		}
	}
	for i := range inv.instances {
		if !launched {
			break
		}
		tags := hosts.TagMap(inv.instances[i].Tags)
		if t := inv.templates[tags[hosts.TagTemplateID]]; t != nil {
			if n, err := strconv.ParseInt(tags[hosts.TagTemplateVersion], 10, 64); err == nil {
				need(t, n)
			}
		}
	}
	todo := slices.SortedFunc(maps.Keys(want), func(x, y *templateInfo) int { return strings.Compare(x.id, y.id) })
	return pace.Each(ctx, len(todo), a.o.Concurrency, func(ctx context.Context, i int) error {
		t := todo[i]
		numbers := slices.Sorted(maps.Keys(want[t]))
		got, err := a.describeVersions(ctx, t.id, numbers)
		if hosts.VersionGone(err) && len(numbers) > 1 {
			// One missing version fails the whole call: ask one by one.
			got, err = nil, nil
			for _, n := range numbers {
				one, err1 := a.describeVersions(ctx, t.id, []int64{n})
				if hosts.VersionGone(err1) {
					continue
				}
				if err1 != nil {
					err = err1
					break
				}
				got = append(got, one...)
			}
		}
		switch {
		case hosts.TemplateGone(err):
			t.gone = "the launch template no longer exists"
			return nil
		case hosts.VersionGone(err):
		case err != nil:
			return err
		}
		// Only this goroutine touches t.
		for k := range got {
			t.versions[aws.ToInt64(got[k].VersionNumber)] = &got[k]
		}
		for _, n := range numbers {
			if t.versions[n] == nil {
				t.missing[n] = fmt.Sprintf("version %d of launch template %s does not exist", n, t.id)
			}
		}
		return nil
	})
}

// describeVersions reads versions numbers of template id. A template or
// version EC2 does not know is its error, but not a failed call.
func (a *account) describeVersions(ctx context.Context, id string, numbers []int64) ([]types.LaunchTemplateVersion, error) {
	in := ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateId: aws.String(id), ResolveAlias: aws.Bool(true)}
	for _, n := range numbers {
		in.Versions = append(in.Versions, strconv.FormatInt(n, 10))
	}
	var gone error
	found, err := pace.Collect(ctx, a.p, a.paced("DescribeLaunchTemplateVersions"), "read launch template "+id,
		func(ctx context.Context, token *string) (*ec2.DescribeLaunchTemplateVersionsOutput, error) {
			in.NextToken = token
			out, err := a.c.EC2.DescribeLaunchTemplateVersions(ctx, &in, a.o.ClientOptions...)
			if hosts.TemplateGone(err) || hosts.VersionGone(err) {
				gone = err // an answer (see expected), which ends the listing
				return &ec2.DescribeLaunchTemplateVersionsOutput{}, nil
			}
			return out, err
		},
		func(out *ec2.DescribeLaunchTemplateVersionsOutput) ([]types.LaunchTemplateVersion, *string) {
			return out.LaunchTemplateVersions, out.NextToken
		})
	if gone != nil {
		return nil, gone
	}
	return found, err
}

// expected returns nil, keeping err in *keep, when err is an answer the
// caller expects (is); else err. An expected answer is a successful call
// for the pacer: not tried again, and not a failure for the circuit
// breaker, so that an account with many deleted templates is read, not
// stopped.
func expected(err error, is func(error) bool, keep *error) error {
	if err != nil && is(err) {
		*keep = err
		return nil
	}
	return err
}

// imageIDs returns the images behind the launch paths and instances of
// inv, sorted: those that are AMI IDs (an SSM parameter that EC2 did not
// resolve is not).
func (inv *inventory) imageIDs() []string {
	ids := map[string]bool{}
	add := func(id string) {
		if strings.HasPrefix(id, "ami-") {
			ids[id] = true
		}
	}
	for _, t := range inv.templates {
		for _, v := range t.versions {
			if v.LaunchTemplateData != nil {
				add(aws.ToString(v.LaunchTemplateData.ImageId))
			}
		}
	}
	for _, g := range inv.groups {
		for _, p := range g.paths {
			add(p.imageID)
		}
	}
	for _, lc := range inv.configs {
		add(aws.ToString(lc.ImageId))
	}
	for _, in := range inv.instances {
		add(aws.ToString(in.ImageId))
	}
	return slices.Sorted(maps.Keys(ids))
}

// describeImages describes the images behind inv, 200 IDs a filter (an
// image EC2 does not return, deregistered or not shared, just goes
// missing, where ImageIds would fail the whole call), and, when ownership
// is asked for, which of them the account owns.
func (a *account) describeImages(ctx context.Context, inv *inventory, ownership bool) error {
	ids := inv.imageIDs()
	if ownership {
		inv.owned = map[string]bool{}
	}
	for chunk := range slices.Chunk(ids, ec2limits.FilterValueChunk) {
		imgs, err := a.listImages(ctx, chunk, false)
		if err != nil {
			return err
		}
		for i := range imgs {
			inv.images[aws.ToString(imgs[i].ImageId)] = &imgs[i]
		}
		if !ownership {
			continue
		}
		mine, err := a.listImages(ctx, chunk, true)
		if err != nil {
			return err
		}
		for _, im := range mine {
			inv.owned[aws.ToString(im.ImageId)] = true
		}
	}
	return nil
}

// listImages lists the images ids (of the account only, when self).
func (a *account) listImages(ctx context.Context, ids []string, self bool) ([]types.Image, error) {
	in := ec2.DescribeImagesInput{Filters: []types.Filter{{Name: aws.String("image-id"), Values: ids}},
		IncludeDeprecated: aws.Bool(true), IncludeDisabled: aws.Bool(true), MaxResults: aws.Int32(ec2limits.ImagePage)}
	if self {
		in.Owners = []string{"self"}
	}
	return pace.Collect(ctx, a.p, a.paced("DescribeImages"), "describe images",
		func(ctx context.Context, token *string) (*ec2.DescribeImagesOutput, error) {
			in.NextToken = token
			return a.c.EC2.DescribeImages(ctx, &in, a.o.ClientOptions...)
		},
		func(out *ec2.DescribeImagesOutput) ([]types.Image, *string) { return out.Images, out.NextToken })
}

// sortedTemplates returns the templates that exist, by name then ID.
func (inv *inventory) sortedTemplates() []*templateInfo {
	var ts []*templateInfo
	for _, t := range inv.templates {
		if t.gone == "" {
			ts = append(ts, t)
		}
	}
	slices.SortFunc(ts, func(x, y *templateInfo) int {
		return cmp.Or(strings.Compare(x.name, y.name), strings.Compare(x.id, y.id))
	})
	return ts
}

// groupsOf returns, for each template ID and version number, the names of
// the groups that launch it; and for each launch configuration, those that
// launch with it.
func (inv *inventory) groupsOf() (templates map[string]map[int64][]string, configs map[string][]string) {
	templates, configs = map[string]map[int64][]string{}, map[string][]string{}
	for _, g := range inv.groups {
		for _, p := range g.paths {
			if p.config != "" {
				configs[p.config] = hosts.AppendOnce(configs[p.config], g.name)
				continue
			}
			n, _ := p.version()
			id := p.template.id
			if templates[id] == nil {
				templates[id] = map[int64][]string{}
			}
			templates[id][n] = hosts.AppendOnce(templates[id][n], g.name)
		}
	}
	return templates, configs
}

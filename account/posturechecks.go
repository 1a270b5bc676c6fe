package account

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imdsopts/imdsopts"
	"github.com/imdsopts/imdsopts/fleet"
	"github.com/imdsopts/imdsopts/internal/check"
	"github.com/imdsopts/imdsopts/internal/hosts"
)

// What the posture tells beyond HttpTokens: the container hosts, which a
// launch that requires tokens with hop limit 1 cuts off from IMDS; the
// tag keys EC2 refuses in the metadata, which fail a launch that turns
// instance tags on; and the owners, which undo a change made in place. By
// the rules of the plan (hosts.go), applied to the inventory.

// ContainerHost is an instance of a [Posture] taken for a container host.
type ContainerHost struct {
	InstanceID string `json:"InstanceId"`
	// Signal is what shows it (see fleet.Item.Container): a tag ("tag
	// eks:cluster-name"), or a marker of the user data it was launched
	// with ("user data of launch template web (lt-0123456789abcdef0)
	// version 3: /etc/eks/bootstrap.sh").
	Signal string
	// HTTPTokens and HopLimit are its options now.
	HTTPTokens types.HttpTokensState `json:"HttpTokens,omitempty"`
	HopLimit   int32                 `json:"HttpPutResponseHopLimit,omitempty"`
	// CutOff is true when it requires tokens with a hop limit below 2:
	// its containers cannot reach IMDS now.
	CutOff               bool
	AutoScalingGroupName string `json:",omitempty"`
	LaunchTemplateID     string `json:"LaunchTemplateId,omitempty"`
}

// OwnerPosture is an owner of instances of a [Posture]: its kind, name and
// where the lasting fix goes, and its instances.
type OwnerPosture struct {
	fleet.Owner
	// InstanceIDs are its instances, sorted; AllowIMDSv1 counts those of
	// them that allow IMDSv1.
	InstanceIDs []string `json:"InstanceIds"`
	AllowIMDSv1 int
}

// instanceFacts are what the posture tells of an instance beyond its
// options.
type instanceFacts struct {
	inst      *types.Instance
	id        string
	tags      map[string]string
	container string
}

// facts returns what the posture tells of each instance of inv, in listing
// order.
func (inv *inventory) facts() []instanceFacts {
	fs := make([]instanceFacts, len(inv.instances))
	for i := range inv.instances {
		in := &inv.instances[i]
		f := instanceFacts{inst: in, id: aws.ToString(in.InstanceId), tags: hosts.TagMap(in.Tags)}
		f.container = hosts.ContainerTag(f.tags)
		if f.container == "" {
			f.container = inv.launchedContainer(f.tags)
		}
		fs[i] = f
	}
	return fs
}

// launchedContainer returns what shows a container host in the user data
// an instance with tags was launched with: the launch template version
// its tags name, or else what its group launches; "" when nothing does.
func (inv *inventory) launchedContainer(tags map[string]string) string {
	if id := tags[hosts.TagTemplateID]; id != "" {
		n, err := strconv.ParseInt(tags[hosts.TagTemplateVersion], 10, 64)
		if t := inv.templates[id]; t != nil && err == nil {
			return inv.versionUserData(t, n)
		}
		return ""
	}
	for _, g := range inv.groups {
		if g.name != tags[hosts.TagGroupName] {
			continue
		}
		for _, p := range g.paths {
			if c := inv.pathUserData(p); c != "" {
				return c
			}
		}
	}
	return ""
}

// templateName names a template in a sentence.
func templateName(t *templateInfo) string {
	if t.name == "" {
		return "launch template " + t.id
	}
	return "launch template " + t.name + " (" + t.id + ")"
}

// versionUserData returns what shows a container host in the user data of
// version n of t, as a signal, or "".
func (inv *inventory) versionUserData(t *templateInfo, n int64) string {
	if v := t.versions[n]; v != nil && v.LaunchTemplateData != nil {
		if m := hosts.UserDataMarker(aws.ToString(v.LaunchTemplateData.UserData)); m != "" {
			return fmt.Sprintf("user data of %s version %d: %s", templateName(t), n, m)
		}
	}
	return ""
}

// pathUserData returns what shows a container host in the user data a
// launch path launches with, as a signal, or "".
func (inv *inventory) pathUserData(p launchPath) string {
	if p.config != "" {
		if lc := inv.configs[p.config]; lc != nil {
			if m := hosts.UserDataMarker(aws.ToString(lc.UserData)); m != "" {
				return "user data of launch configuration " + p.config + ": " + m
			}
		}
		return ""
	}
	if n, why := p.version(); why == "" {
		return inv.versionUserData(p.template, n)
	}
	return ""
}

// versionTags returns the tags version n of t puts on the instances it
// launches (its TagSpecifications of resource type instance).
func versionTags(t *templateInfo, n int64) map[string]string {
	tags := map[string]string{}
	if v := t.versions[n]; v != nil && v.LaunchTemplateData != nil {
		for _, s := range v.LaunchTemplateData.TagSpecifications {
			if s.ResourceType == types.ResourceTypeInstance {
				maps.Copy(tags, hosts.TagMap(s.Tags))
			}
		}
	}
	return tags
}

// hostsAndOwners fills in the container hosts and the owners.
func (p *Posture) hostsAndOwners(fs []instanceFacts) {
	p.ContainerHosts = []ContainerHost{}
	byOwner := map[fleet.Owner]*OwnerPosture{}
	for _, f := range fs {
		if f.container != "" {
			h := ContainerHost{InstanceID: f.id, Signal: f.container, AutoScalingGroupName: f.tags[hosts.TagGroupName], LaunchTemplateID: f.tags[hosts.TagTemplateID]}
			if m := f.inst.MetadataOptions; m != nil {
				h.HTTPTokens, h.HopLimit = m.HttpTokens, aws.ToInt32(m.HttpPutResponseHopLimit)
				h.CutOff = hosts.CutOff(imdsopts.Set{}.AppliedTo(m), hosts.ContainerMinHop)
			}
			p.ContainerHosts = append(p.ContainerHosts, h)
		}
		if o := hosts.OwnerOf(f.tags); o != nil {
			op := byOwner[*o]
			if op == nil {
				op = &OwnerPosture{Owner: *o}
				byOwner[*o] = op
			}
			op.InstanceIDs = append(op.InstanceIDs, f.id)
			if allowsIMDSv1(f.inst) {
				op.AllowIMDSv1++
			}
		}
	}
	slices.SortFunc(p.ContainerHosts, func(x, y ContainerHost) int { return strings.Compare(x.InstanceID, y.InstanceID) })
	p.Owners = []OwnerPosture{}
	for _, o := range hosts.SortedOwners(byOwner) {
		op := byOwner[o]
		slices.Sort(op.InstanceIDs)
		p.Owners = append(p.Owners, *op)
	}
}

// source is one way the account launches instances, as the container and
// tag-key checks judge it: a launch path, the groups that launch it, and
// the instances it launched.
type source struct {
	blocker   Blocker // Kind unset: the subject's fields
	out       outcome
	groups    []*groupInfo
	signal    string            // what shows it launches container hosts
	tags      map[string]string // the tags its instances get from it
	instances []instanceFacts
	fix       string // how a version fixes it
}

// sources returns every way inv launches instances, once each: the
// versions and launch configurations groups launch, with their groups;
// each template's $Default and $Latest that no group launches; and the
// launch configurations no group uses.
func (inv *inventory) sources(fs []instanceFacts) []*source {
	type key struct {
		id     string
		n      int64
		image  string
		config string
	}
	byKey := map[key]*source{}
	var all []*source
	versionFix := "create a version of the template with the metadata options (PlanTemplates, ApplyTemplates) that its launches select"
	configFix := "launch configurations cannot change: replace it with a launch template whose version has the metadata options, and point the groups at it"
	for _, g := range inv.groups {
		for _, path := range g.paths {
			k := key{config: path.config, image: path.imageID}
			s := &source{out: inv.evalPath(path), tags: map[string]string{}, fix: configFix}
			if path.config != "" {
				s.blocker.LaunchConfigurationName = path.config
			} else {
				n, _ := path.version()
				k.id, k.n = path.template.id+"/"+path.template.name, n
				s.blocker.LaunchTemplateID, s.blocker.LaunchTemplateName, s.blocker.VersionNumber = path.template.id, path.template.name, n
				s.blocker.ImageID = path.imageID
				s.tags, s.fix = versionTags(path.template, n), versionFix
			}
			if have := byKey[k]; have != nil {
				s = have
			} else {
				byKey[k] = s
				all = append(all, s)
				s.signal = inv.pathUserData(path)
			}
			s.groups = append(s.groups, g)
			maps.Copy(s.tags, g.tags)
			if c := hosts.ContainerTag(g.tags); s.signal == "" && c != "" {
				s.signal = c + " of group " + g.name
			}
			for _, f := range fs {
				if f.tags[hosts.TagGroupName] == g.name {
					s.instances = append(s.instances, f)
				}
			}
		}
	}
	for _, t := range inv.sortedTemplates() {
		for _, n := range []int64{t.defaultVersion, t.latest} {
			k := key{id: t.id + "/" + t.name, n: n}
			if byKey[k] != nil {
				continue
			}
			s := &source{out: inv.evalVersion(t, n, ""), tags: versionTags(t, n), fix: versionFix, signal: inv.versionUserData(t, n)}
			s.blocker.LaunchTemplateID, s.blocker.LaunchTemplateName, s.blocker.VersionNumber = t.id, t.name, n
			for _, f := range fs {
				if f.tags[hosts.TagTemplateID] == t.id && f.tags[hosts.TagGroupName] == "" {
					s.instances = append(s.instances, f)
				}
			}
			byKey[k] = s
			all = append(all, s)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(inv.configs)) {
		k := key{config: name}
		if byKey[k] != nil {
			continue
		}
		s := &source{out: inv.evalConfig(name), tags: map[string]string{}, fix: configFix, signal: inv.pathUserData(launchPath{config: name})}
		s.blocker.LaunchConfigurationName = name
		byKey[k] = s
		all = append(all, s)
	}
	for _, s := range all {
		if s.signal != "" {
			continue
		}
		if c := hosts.ContainerTag(s.tags); c != "" {
			s.signal = c + " in what it launches"
			continue
		}
		for _, f := range s.instances {
			if c := hosts.ContainerTag(f.tags); c != "" {
				s.signal = c + " on its instance " + f.id
				break
			}
		}
	}
	return all
}

// subject returns the blocker of s with kind, naming its groups.
func (s *source) subject(kind BlockerKind) Blocker {
	b := s.blocker
	b.Kind = kind
	for _, g := range s.groups {
		b.AutoScalingGroupNames = hosts.AppendOnce(b.AutoScalingGroupNames, g.name)
	}
	slices.Sort(b.AutoScalingGroupNames)
	return b
}

// ownerFix says where the fix goes when the instances of s belong to an
// owner other than their group: "" when they do not.
func (s *source) ownerFix() string {
	for _, f := range s.instances {
		if o := hosts.OwnerOf(f.tags); o != nil && o.Kind != "auto-scaling" {
			return "; its instances belong to " + o.String() + ", so the fix goes in " + o.Fix
		}
	}
	return ""
}

// hopOf returns the lowest hop limit a launch gives, and where it comes
// from; ok is false when the launch cannot be judged.
func hopOf(o outcome) (hop int32, src imdsopts.Source, ok bool) {
	for i, v := range o.variants {
		if i == 0 || v.HopLimit.Value < hop {
			hop, src = v.HopLimit.Value, v.HopLimit.Source
		}
	}
	return hop, src, len(o.variants) > 0
}

// containerBlockers are the launches of container hosts with a hop limit
// below 2: once every launch requires tokens, as enforcement makes it,
// their containers cannot reach IMDS.
func containerBlockers(srcs []*source) []Blocker {
	var bs []Blocker
	for _, s := range srcs {
		hop, from, ok := hopOf(s.out)
		if s.signal == "" || !ok || hop >= hosts.ContainerMinHop {
			continue
		}
		b := s.subject(BlockerContainerHopLimit)
		for _, f := range s.instances {
			if f.container != "" {
				b.InstanceIDs = append(b.InstanceIDs, f.id)
			}
		}
		slices.Sort(b.InstanceIDs)
		b.Reason = fmt.Sprintf("it launches container hosts (%s) with HttpPutResponseHopLimit %d (from the %s): once their launches require IMDSv2, "+
			"as enforcement makes every launch do, their containers are one network hop too far for the token response, "+
			"and the SDKs in them fall back to IMDSv1, which is refused", s.signal, hop, sourcePhrase(from))
		b.Fix = "give its launches HttpPutResponseHopLimit 2 with HttpTokens \"required\": " + s.fix + s.ownerFix()
		bs = append(bs, b)
	}
	return bs
}

// tagKeyBlockers are the launches that turn instance tags in the metadata
// on for instances with tag keys EC2 refuses there: EC2 refuses each such
// launch.
func tagKeyBlockers(srcs []*source) []Blocker {
	var bs []Blocker
	for _, s := range srcs {
		if len(s.out.variants) == 0 || s.out.variants[0].InstanceMetadataTags.Value != types.InstanceMetadataTagsStateEnabled {
			continue
		}
		keys := maps.Clone(s.tags)
		var ids []string
		for _, f := range s.instances {
			if bad := hosts.RefusedTagKeys(f.tags); len(bad) > 0 {
				ids = append(ids, f.id)
				for _, k := range bad {
					keys[k] = ""
				}
			}
		}
		bad := hosts.RefusedTagKeys(keys)
		if len(bad) == 0 {
			continue
		}
		b := s.subject(BlockerTagKeys)
		slices.Sort(ids)
		b.InstanceIDs, b.TagKeys = ids, bad
		quoted := make([]string, len(bad))
		for i, k := range bad {
			quoted[i] = check.Quote(k)
		}
		from := s.out.variants[0].InstanceMetadataTags.Source
		b.Reason = fmt.Sprintf("it launches with InstanceMetadataTags \"enabled\" (from the %s) instances with tag keys EC2 cannot serve in the "+
			"instance metadata (%s), so EC2 refuses the launch (InvalidParameterValue)", sourcePhrase(from), strings.Join(quoted, ", "))
		where := "the template version's MetadataOptions"
		switch from {
		case imdsopts.SourceAccount:
			where = "the account default (InstanceMetadataTags no-preference or disabled)"
		case imdsopts.SourceLaunch:
			where = "the launch configuration or launch parameters"
		}
		b.Fix = "turn instance tags in the metadata off in " + where + ", or rename or remove the tags whose keys EC2 refuses" + s.ownerFix()
		bs = append(bs, b)
	}
	return bs
}

// containerUse amends the IMDSv1 blockers whose instances include
// container hosts with a hop limit below 2: the SDKs in their containers
// fall back to IMDSv1 while the token response cannot reach them, so the
// calls may be theirs, and moving software to IMDSv2 is then not the fix.
func containerUse(bs []Blocker, fs []instanceFacts) {
	cut := map[string]string{}
	for _, f := range fs {
		if hop := aws.ToInt32(imdsopts.Set{}.AppliedTo(f.inst.MetadataOptions).HttpPutResponseHopLimit); f.container != "" && hop < hosts.ContainerMinHop {
			cut[f.id] = f.container
		}
	}
	for i := range bs {
		b := &bs[i]
		if b.Kind != BlockerIMDSv1InUse {
			continue
		}
		var signal string
		n := 0
		for _, id := range b.InstanceIDs {
			if s, ok := cut[id]; ok {
				signal = cmp.Or(signal, s)
				n++
			}
		}
		if n == 0 {
			continue
		}
		what := "are container hosts"
		if n == 1 {
			what = "is a container host"
		}
		b.Reason += fmt.Sprintf("; %d of them %s (%s) with a hop limit below %d: the SDKs in their containers fall back to IMDSv1 "+
			"while the token response cannot reach them, so these calls may be theirs", n, what, signal, hosts.ContainerMinHop)
		b.Fix = fmt.Sprintf("give them, and what launches them, hop limit %d first (see the container-hop-limit blocker), then measure again; ", hosts.ContainerMinHop) + b.Fix
	}
}

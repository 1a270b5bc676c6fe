package account

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imdsopts/imdsopts"
	"github.com/imdsopts/imdsopts/fleet"
	"github.com/imdsopts/imdsopts/internal/check"
	"github.com/imdsopts/imdsopts/internal/hosts"
	"github.com/imdsopts/imdsopts/internal/liberr"
	"github.com/imdsopts/imdsopts/internal/pace"
	"github.com/imdsopts/imdsopts/internal/retry"
)

// Launch templates: a template is immutable, so making its launches
// require IMDSv2 means a new version, copied from the version in use with
// only its MetadataOptions changed, which groups and launches then pick up
// as they select versions.

// maxVersionDescription is the longest VersionDescription EC2 takes.
const maxVersionDescription = 255

// TemplateOptions configures [PlanTemplates] and [ApplyTemplates]. Its
// fields hold their defaults before the caller's functions run. A plan
// carries the options it was made with; ApplyTemplates uses them, with any
// overrides it is given.
type TemplateOptions struct {
	// Options are the settings every account operation has: pacing,
	// retries, the calls in flight.
	Options Options
	// MakeDefault makes each new version its template's default version
	// (ModifyLaunchTemplate), so that groups on $Default, and RunInstances
	// calls that name no version, launch it. Without it, only what
	// launches $Latest picks the new version up.
	MakeDefault bool
	// AllowDowngrade lets through changes that weaken what a template
	// launches (see [Set.Downgrade]); by default they are refused
	// (StatusRefused).
	AllowDowngrade bool
	// VersionDescription describes the new versions; at most 255
	// characters. Default: "imdsopts: " and the Set, e.g. "imdsopts:
	// HttpTokens=required HttpEndpoint=enabled".
	VersionDescription string
}

func templateOptions(base TemplateOptions, s imdsopts.Set, optFns []func(*TemplateOptions)) (TemplateOptions, error) {
	o := base
	err := accountOptions(&o, func(o *TemplateOptions) *Options { return &o.Options }, "TemplateOptions", optFns)
	if o.VersionDescription == "" {
		o.VersionDescription = "imdsopts: " + s.String()
	}
	if len(o.VersionDescription) > maxVersionDescription {
		err = errors.Join(err, &imdsopts.ValidationError{Field: "TemplateOptions.VersionDescription", Value: check.Quote(o.VersionDescription),
			Rule: fmt.Sprintf("must be at most %d characters", maxVersionDescription)})
	}
	return o, err
}

// TemplateChange is one launch template of a plan or a report: what its
// default version launches, and the version that fixes it.
type TemplateChange struct {
	LaunchTemplateID   string `json:"LaunchTemplateId"`
	LaunchTemplateName string
	// SourceVersion is the template's default version when planned: the
	// version in use, which the new version copies.
	SourceVersion int64
	// ImageID is the AMI the source version launches; Effective is what
	// an instance launched from it gets today (with the account defaults
	// and the AMI), nil when that cannot be told. ImageUnknown says why,
	// when the AMI cannot be described: then Changes and Downgrade hold
	// for either ImdsSupport it may have.
	ImageID      string `json:"ImageId,omitempty"`
	Effective    *imdsopts.Effective
	ImageUnknown string `json:",omitempty"`
	// MetadataOptions are the complete options the new version gets: the
	// source version's, with every field of the plan's Set; nil when no
	// version is needed.
	MetadataOptions *types.LaunchTemplateInstanceMetadataOptionsRequest `json:",omitempty"`
	// Changes are the fields of the Set that what the source launches
	// lacks; Downgrade are those of them that weaken it.
	Changes   imdsopts.Set
	Downgrade imdsopts.Set
	// Status is StatusSatisfied (no version needed), StatusChange,
	// StatusRefused (a downgrade) or StatusFailed in a plan; StatusApplied,
	// StatusSatisfied, StatusRefused, StatusFailed or StatusNotAttempted in
	// a report.
	Status fleet.Status
	Err    error `json:"-"`
	// NewVersion is the version created (0 when none), and MadeDefault
	// whether it was made the default.
	NewVersion  int64 `json:",omitempty"`
	MadeDefault bool  `json:",omitempty"`

	clientToken string
}

// GroupNote is an Auto Scaling group that will still launch instances that
// do not have the plan's options once the plan is applied, and why.
type GroupNote struct {
	AutoScalingGroupName string
	LaunchTemplateID     string `json:"LaunchTemplateId,omitempty"`
	LaunchTemplateName   string `json:",omitempty"`
	// Version is the group's selector ($Default, $Latest or a number), and
	// VersionNumber the version it will launch.
	Version       string `json:",omitempty"`
	VersionNumber int64  `json:",omitempty"`
	Reason        string
}

// LaunchConfigurationNote is a launch configuration whose instances do
// not have the plan's options: launch configurations cannot change, so it
// must be replaced by a launch template.
type LaunchConfigurationNote struct {
	LaunchConfigurationName string
	AutoScalingGroupNames   []string
	Reason                  string
}

// TemplatePlan is what [ApplyTemplates] would do, template by template.
// [PlanTemplates] makes one; it changes nothing.
type TemplatePlan struct {
	// Target is the account and Region the result is of; its Account and
	// Region are members of the result's JSON.
	Target Target `json:"-"`
	Set    imdsopts.Set
	// Templates holds every launch template of the account, by name.
	Templates []TemplateChange
	// Groups are the groups that will not launch the plan's options once
	// it is applied (pinned to a version number; on $Default when the new
	// version is not made the default; on a template the plan cannot fix),
	// by name.
	Groups []GroupNote
	// LaunchConfigurations must be replaced, by name.
	LaunchConfigurations []LaunchConfigurationNote
	// Calls counts the API calls making the plan took, by operation.
	Calls map[string]int `json:"-"`

	opts TemplateOptions
	made bool
}

// TemplateReport is what [ApplyTemplates] did: one final outcome per
// template of the plan.
type TemplateReport struct {
	// Target is the account and Region the result is of; its Account and
	// Region are members of the result's JSON.
	Target    Target `json:"-"`
	Templates []TemplateChange
	// Calls counts API calls by operation; Throttled counts the throttling
	// answers among them (all retried).
	Calls     map[string]int `json:"-"`
	Throttled int
	Elapsed   time.Duration
}

// Counts returns how many templates of the plan have each status (none
// for a nil plan).
func (p *TemplatePlan) Counts() map[fleet.Status]int {
	if p == nil {
		return map[fleet.Status]int{}
	}
	return countTemplates(p.Templates)
}

// Counts returns how many templates of the report have each status (none
// for a nil report).
func (r *TemplateReport) Counts() map[fleet.Status]int {
	if r == nil {
		return map[fleet.Status]int{}
	}
	return countTemplates(r.Templates)
}

func countTemplates(ts []TemplateChange) map[fleet.Status]int {
	m := map[fleet.Status]int{}
	for _, t := range ts {
		m[t.Status]++
	}
	return m
}

// PlanTemplates works out, for every launch template of the account of c,
// whether its version in use (its $Default) launches instances that get
// the options of s, resolved with the account's current defaults and the
// AMI's ImdsSupport ([Resolve]); for each that does not, a new version
// copied from it (SourceVersion) whose MetadataOptions are the source's
// with every field of s. Changes that weaken what a template launches are
// refused unless AllowDowngrade. The plan also names the Auto Scaling
// groups that will not pick a new version up, and the launch
// configurations that must be replaced. It changes nothing.
//
// A zero s, a nil ctx, no EC2 client or bad options are an error matching
// ErrInvalid, before any call. A listing that fails is an error: no
// partial plan is returned.
func PlanTemplates(ctx context.Context, c Clients, s imdsopts.Set, optFns ...func(*TemplateOptions)) (*TemplatePlan, error) {
	o, err := templateOptions(TemplateOptions{Options: defaultAccountOptions()}, s, optFns)
	errs := []error{liberr.Ctx(ctx), c.Validate(), err}
	if s.IsZero() {
		errs = append(errs, liberr.Misuse("Set", check.Quote(s.String()), "must hold at least one field: there is nothing to apply"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	a := newAccount(c, &o.Options)
	inv, err := a.inventory(ctx, inventoryOptions{})
	if err != nil {
		return nil, err
	}
	p := &TemplatePlan{Target: c.Target, Set: s, Templates: []TemplateChange{},
		Groups: []GroupNote{}, LaunchConfigurations: []LaunchConfigurationNote{}, opts: o, made: true}
	planned := map[string]*TemplateChange{}
	for _, t := range inv.sortedTemplates() {
		p.Templates = append(p.Templates, planTemplate(inv, t, s, &o))
	}
	for i := range p.Templates {
		planned[p.Templates[i].LaunchTemplateID] = &p.Templates[i]
	}
	p.notes(inv, planned, &o)
	p.Calls = a.counts()
	return p, nil
}

// planTemplate plans the change of template t to s.
func planTemplate(inv *inventory, t *templateInfo, s imdsopts.Set, o *TemplateOptions) TemplateChange {
	tc := TemplateChange{LaunchTemplateID: t.id, LaunchTemplateName: t.name, SourceVersion: t.defaultVersion}
	if t.versions[t.defaultVersion] == nil {
		why := t.missing[t.defaultVersion]
		if why == "" {
			why = fmt.Sprintf("version %d could not be read", t.defaultVersion)
		}
		tc.Status, tc.Err = fleet.StatusFailed, fmt.Errorf("imdsopts: launch template %s: %s: %w", t.id, why, ErrTemplateNotFound)
		return tc
	}
	out := inv.evalVersion(t, t.defaultVersion, "")
	tc.ImageID, tc.ImageUnknown = out.imageID, out.noImage
	if out.why != "" {
		tc.Status, tc.Err = fleet.StatusFailed, fmt.Errorf("imdsopts: launch template %s: %s", t.id, out.why)
		return tc
	}
	if len(out.variants) == 1 {
		tc.Effective = &out.variants[0]
	}
	for _, e := range out.variants {
		ch := s.Changes(e.Options())
		tc.Changes = ch.With(tc.Changes)
		tc.Downgrade = ch.Downgrade(e.Options()).With(tc.Downgrade)
	}
	switch {
	case tc.Changes.IsZero():
		tc.Status = fleet.StatusSatisfied
		return tc
	case !tc.Downgrade.IsZero() && !o.AllowDowngrade:
		tc.Status, tc.Err = fleet.StatusRefused, templateDowngrade(t.id, tc.Downgrade)
	default:
		tc.Status = fleet.StatusChange
	}
	var src *types.LaunchTemplateInstanceMetadataOptions
	if d := t.versions[t.defaultVersion].LaunchTemplateData; d != nil {
		src = d.MetadataOptions
	}
	md, err := mergeTemplateOptions(src, s)
	if err != nil {
		tc.Status, tc.Err = fleet.StatusFailed, fmt.Errorf("imdsopts: launch template %s: version %d with %s: %w", t.id, t.defaultVersion, s, err)
		return tc
	}
	tc.MetadataOptions, tc.clientToken = md, rand.Text()
	return tc
}

func templateDowngrade(id string, d imdsopts.Set) error {
	return fmt.Errorf("imdsopts: launch template %s: %s: %w (allow it with AllowDowngrade)", id, d, imdsopts.ErrDowngrade)
}

// mergeTemplateOptions returns src's options with every field of s, as a
// request: complete, because a MetadataOptions given to
// CreateLaunchTemplateVersion replaces the source's whole. The result is
// checked as New checks a Set (HttpProtocolIpv6 cannot be enabled with the
// endpoint disabled).
func mergeTemplateOptions(src *types.LaunchTemplateInstanceMetadataOptions, s imdsopts.Set) (*types.LaunchTemplateInstanceMetadataOptionsRequest, error) {
	cur, err := imdsopts.SetOf(src)
	if err != nil {
		return nil, err
	}
	m := cur.With(s)
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return m.LaunchTemplateOptions(), nil
}

// notes names the groups that will not launch p.Set once the plan is
// applied, and the launch configurations to replace.
func (p *TemplatePlan) notes(inv *inventory, planned map[string]*TemplateChange, o *TemplateOptions) {
	satisfies := func(out outcome) (bool, string) {
		if out.why != "" {
			return false, "it cannot be judged: " + out.why
		}
		for _, e := range out.variants {
			if ch := p.Set.Changes(e.Options()); !ch.IsZero() {
				return false, "it launches without " + ch.String()
			}
		}
		return true, ""
	}
	configs := map[string]*LaunchConfigurationNote{}
	for _, g := range inv.groups {
		for _, path := range g.paths {
			if path.config != "" {
				if ok, why := satisfies(inv.evalConfig(path.config)); !ok {
					n := configs[path.config]
					if n == nil {
						n = &LaunchConfigurationNote{LaunchConfigurationName: path.config, AutoScalingGroupNames: []string{},
							Reason: why + "; launch configurations cannot change: replace it with a launch template"}
						configs[path.config] = n
					}
					n.AutoScalingGroupNames = hosts.AppendOnce(n.AutoScalingGroupNames, g.name)
				}
				continue
			}
			t := path.template
			note := GroupNote{AutoScalingGroupName: g.name, LaunchTemplateID: t.id, LaunchTemplateName: t.name, Version: path.selector}
			n, why := path.version()
			note.VersionNumber = n
			tc := planned[t.id]
			fixed := tc != nil && tc.Status == fleet.StatusChange && path.imageID == ""
			switch {
			case why != "":
				note.Reason = "it cannot be judged: " + why
			case fixed && path.selector == hosts.VersionLatest:
				continue // launches the new version as soon as it exists
			case fixed && path.selector == hosts.VersionDefault && o.MakeDefault:
				continue
			default:
				ok, why := satisfies(inv.evalPath(path))
				if ok {
					continue
				}
				switch {
				case path.selector == hosts.VersionDefault && fixed:
					note.Reason = fmt.Sprintf("on $Default (version %d), and the new version is not made the default (MakeDefault): %s", n, why)
				case path.selector != hosts.VersionDefault && path.selector != hosts.VersionLatest:
					note.Reason = fmt.Sprintf("pinned to version %d: %s; point the group at the new version, $Default or $Latest", n, why)
				case tc != nil && tc.Status != fleet.StatusChange && tc.Status != fleet.StatusSatisfied:
					note.Reason = fmt.Sprintf("version %d: %s, and the plan does not change its template (%v)", n, why, tc.Status)
				case path.imageID != "":
					note.Reason = fmt.Sprintf("version %d with its override's AMI %s: %s", n, path.imageID, why)
				default:
					note.Reason = fmt.Sprintf("%s is version %d: %s; the plan changes only the template's default version", path.selector, n, why)
				}
			}
			p.Groups = append(p.Groups, note)
		}
	}
	for name := range inv.configs {
		if configs[name] != nil {
			continue
		}
		if ok, why := satisfies(inv.evalConfig(name)); !ok {
			configs[name] = &LaunchConfigurationNote{LaunchConfigurationName: name, AutoScalingGroupNames: []string{},
				Reason: why + "; no group uses it: delete it, or replace it with a launch template"}
		}
	}
	for _, n := range configs {
		slices.Sort(n.AutoScalingGroupNames)
		p.LaunchConfigurations = append(p.LaunchConfigurations, *n)
	}
	slices.SortFunc(p.LaunchConfigurations, func(x, y LaunchConfigurationNote) int {
		return strings.Compare(x.LaunchConfigurationName, y.LaunchConfigurationName)
	})
	slices.SortStableFunc(p.Groups, func(x, y GroupNote) int { return strings.Compare(x.AutoScalingGroupName, y.AutoScalingGroupName) })
}

// ApplyTemplates carries out a plan made by [PlanTemplates], with the
// plan's options and any overrides optFns make. It first lists the
// templates again: a template deleted since the plan fails
// (ErrTemplateNotFound), and so does one whose default version moved
// (ErrStalePlan): plan again. For each other template to change, it calls
// CreateLaunchTemplateVersion with the planned SourceVersion and the
// complete MetadataOptions (everything else is copied from the source),
// then, with MakeDefault, ModifyLaunchTemplate to make the new version the
// default. Calls are paced to each API's bucket (100, refilled at 5 a
// second), at most Concurrency at once, and throttling and 5xx answers are
// tried again (each creation carries a client token, so a retried call
// does not make a second version). Whether a change weakens a template is
// decided again with the options given here. A template that fails does
// not stop the others; every template of the plan ends with one final
// status in the report.
//
// When ctx ends, or MaxConsecutiveFailures calls in a row fail, no new
// template is started: the rest are StatusNotAttempted and the error
// matches the context's error or ErrTooManyFailures. A nil ctx, no EC2
// client, a nil plan, or Clients labelled with another account or Region
// than the plan's, are an error matching ErrInvalid, with a nil report.
func ApplyTemplates(ctx context.Context, c Clients, plan *TemplatePlan, optFns ...func(*TemplateOptions)) (*TemplateReport, error) {
	errs := []error{liberr.Ctx(ctx), c.Validate()}
	base := TemplateOptions{Options: defaultAccountOptions()}
	var s imdsopts.Set
	switch {
	case plan == nil:
		errs = append(errs, liberr.Misuse("plan", "nil", "must be a plan made by PlanTemplates"))
	case !plan.made:
		errs = append(errs, liberr.Misuse("plan", "TemplatePlan{}", "must be a plan made by PlanTemplates"))
	default:
		base, s = plan.opts, plan.Set
		for _, l := range []struct{ name, plan, clients string }{{"Account", plan.Target.Account, c.Target.Account}, {"Region", plan.Target.Region, c.Target.Region}} {
			if l.plan != "" && l.clients != "" && l.plan != l.clients {
				errs = append(errs, liberr.Misuse("Clients."+l.name, check.Quote(l.clients), "must be the plan's, "+check.Quote(l.plan)))
			}
		}
	}
	o, err := templateOptions(base, s, optFns)
	if err := errors.Join(append(errs, err)...); err != nil {
		return nil, err
	}
	a := newAccount(c, &o.Options)
	r := &TemplateReport{Target: c.Target, Templates: slices.Clone(plan.Templates)}
	defer func() { r.Calls, r.Throttled, r.Elapsed = a.counts(), a.throttled(), a.p.Elapsed() }()

	var queue []int
	for i := range r.Templates {
		tc := &r.Templates[i]
		if tc.Status != fleet.StatusChange && tc.Status != fleet.StatusRefused {
			continue
		}
		if !tc.Downgrade.IsZero() && !o.AllowDowngrade {
			tc.Status, tc.Err = fleet.StatusRefused, templateDowngrade(tc.LaunchTemplateID, tc.Downgrade)
			continue
		}
		tc.Status, tc.Err = fleet.StatusNotAttempted, nil
		queue = append(queue, i)
	}
	if len(queue) == 0 {
		return r, nil
	}
	now := &inventory{templates: map[string]*templateInfo{}, byName: map[string]*templateInfo{}}
	if err := a.listTemplates(ctx, now); err != nil {
		for _, i := range queue {
			r.Templates[i].Err = fmt.Errorf("imdsopts: launch template %s: not attempted: %w", r.Templates[i].LaunchTemplateID, err)
		}
		return r, err
	}
	queue = slices.DeleteFunc(queue, func(i int) bool {
		tc := &r.Templates[i]
		switch t := now.templates[tc.LaunchTemplateID]; {
		case t == nil:
			tc.Status, tc.Err = fleet.StatusFailed, fmt.Errorf("imdsopts: launch template %s: deleted since the plan: %w", tc.LaunchTemplateID, ErrTemplateNotFound)
		case t.defaultVersion != tc.SourceVersion:
			tc.Status, tc.Err = fleet.StatusFailed, fmt.Errorf("imdsopts: launch template %s: its default version is %d, not version %d as planned: %w (plan again)",
				tc.LaunchTemplateID, t.defaultVersion, tc.SourceVersion, ErrStalePlan)
		default:
			return false
		}
		return true
	})
	err = pace.Each(ctx, len(queue), o.Options.Concurrency, func(ctx context.Context, k int) error {
		if err := a.p.Open(); err != nil {
			return err
		}
		a.applyTemplate(ctx, &r.Templates[queue[k]], &o)
		return nil
	})
	if err == nil {
		return r, nil
	}
	for _, i := range queue {
		if tc := &r.Templates[i]; tc.Status == fleet.StatusNotAttempted && tc.Err == nil {
			tc.Err = fmt.Errorf("imdsopts: launch template %s: not attempted: %w", tc.LaunchTemplateID, err)
		}
	}
	return r, fmt.Errorf("imdsopts: template apply stopped: %w", err)
}

// applyTemplate creates the new version of one template and, with
// MakeDefault, makes it the default; it gives tc its final status.
func (a *account) applyTemplate(ctx context.Context, tc *TemplateChange, o *TemplateOptions) {
	in := &ec2.CreateLaunchTemplateVersionInput{
		LaunchTemplateId:   aws.String(tc.LaunchTemplateID),
		SourceVersion:      aws.String(strconv.FormatInt(tc.SourceVersion, 10)),
		LaunchTemplateData: &types.RequestLaunchTemplateData{MetadataOptions: tc.MetadataOptions},
		VersionDescription: aws.String(o.VersionDescription),
		ClientToken:        aws.String(tc.clientToken),
	}
	var out *ec2.CreateLaunchTemplateVersionOutput
	var gone error
	isGone := func(err error) bool { return hosts.TemplateGone(err) || hosts.VersionGone(err) }
	sent, err := a.call(ctx, "CreateLaunchTemplateVersion", func(ctx context.Context) error {
		var err error
		out, err = a.c.EC2.CreateLaunchTemplateVersion(ctx, in, a.o.ClientOptions...)
		if err == nil && (out == nil || out.LaunchTemplateVersion == nil) {
			err = pace.ErrNoAnswer
		}
		return expected(err, isGone, &gone)
	})
	if gone != nil {
		err = gone
	}
	if err != nil {
		tc.Status, tc.Err = a.templateFailure(ctx, tc.LaunchTemplateID, "CreateLaunchTemplateVersion", sent, err)
		return
	}
	tc.NewVersion = aws.ToInt64(out.LaunchTemplateVersion.VersionNumber)
	if !o.MakeDefault {
		tc.Status = fleet.StatusApplied
		return
	}
	mod := &ec2.ModifyLaunchTemplateInput{LaunchTemplateId: aws.String(tc.LaunchTemplateID),
		DefaultVersion: aws.String(strconv.FormatInt(tc.NewVersion, 10))}
	sent, err = a.call(ctx, "ModifyLaunchTemplate", func(ctx context.Context) error {
		_, err := a.c.EC2.ModifyLaunchTemplate(ctx, mod, a.o.ClientOptions...)
		return expected(err, isGone, &gone)
	})
	if gone != nil {
		err = gone
	}
	if err != nil {
		_, err = a.templateFailure(ctx, tc.LaunchTemplateID, "ModifyLaunchTemplate", sent, err)
		tc.Status, tc.Err = fleet.StatusFailed, fmt.Errorf("version %d was created, but not made the default: %w", tc.NewVersion, err)
		return
	}
	tc.Status, tc.MadeDefault = fleet.StatusApplied, true
}

// templateFailure is the status and error of a failed call of op about
// template id.
func (a *account) templateFailure(ctx context.Context, id, op string, sent bool, err error) (fleet.Status, error) {
	switch {
	case !sent:
		return fleet.StatusNotAttempted, fmt.Errorf("imdsopts: launch template %s: not attempted: %w", id, err)
	case ctx.Err() != nil && retry.MayHaveBeenMade(err):
		return fleet.StatusFailed, fmt.Errorf("imdsopts: launch template %s: %s sent, answer not received (it may have taken effect): %w", id, op, err)
	case hosts.TemplateGone(err):
		return fleet.StatusFailed, fmt.Errorf("imdsopts: launch template %s: deleted: %w: %w", id, ErrTemplateNotFound, err)
	case hosts.VersionGone(err):
		return fleet.StatusFailed, fmt.Errorf("imdsopts: launch template %s: the planned version no longer exists: %w: %w", id, ErrTemplateNotFound, err)
	case retry.APICode(err) == "UnauthorizedOperation":
		return fleet.StatusFailed, fmt.Errorf("imdsopts: launch template %s: %s: %w: %w", id, op, imdsopts.ErrUnauthorized, err)
	case retry.MayHaveBeenMade(err):
		return fleet.StatusFailed, fmt.Errorf("imdsopts: launch template %s: %s: %w (the call was sent and may have taken effect: its answer was lost)", id, op, err)
	}
	return fleet.StatusFailed, fmt.Errorf("imdsopts: launch template %s: %s: %w", id, op, err)
}

package fake

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
)

// Auto Scaling operations, service ID and error codes. EC2 Auto Scaling's
// own request throttling is not modelled.
const (
	opCreateAutoScalingGroup       = "CreateAutoScalingGroup"
	opUpdateAutoScalingGroup       = "UpdateAutoScalingGroup"
	opDescribeAutoScalingGroups    = "DescribeAutoScalingGroups"
	opSetDesiredCapacity           = "SetDesiredCapacity"
	opCreateLaunchConfiguration    = "CreateLaunchConfiguration"
	opDescribeLaunchConfigurations = "DescribeLaunchConfigurations"
	opDescribeScalingActivities    = "DescribeScalingActivities"

	asService    = "Auto Scaling"
	asValidation = "ValidationError"
	asInternal   = "InternalFailure"
)

// Names and limits of the Auto Scaling fake.
const (
	// tagGroupName is the tag EC2 Auto Scaling puts on the instances it
	// launches.
	tagGroupName = "aws:autoscaling:groupName"

	maxGroupName       = 255
	maxRecords         = 100 // MaxRecords of the Describe operations: 1..100
	defaultGroupPage   = 50
	defaultConfigPage  = 50
	defaultActivities  = 100
	maxActivityIDs     = 50
	defaultCooldown    = 300
	noLaunchSpec       = "Valid requests must contain either LaunchTemplate, LaunchConfigurationName, InstanceId or MixedInstancesPolicy parameter."
	invalidTemplateMsg = "You must use a valid fully-formed launch template. "
)

// AutoScaling is an in-memory model of the EC2 Auto Scaling operations that
// decide how new instances get their metadata options: groups that launch
// from a launch template version or a launch configuration, and their
// scaling activities. Its methods have the signatures of the same methods of
// *autoscaling.Client. It launches and terminates instances through the
// [EC2] fake it was created with, so the instances appear there, tagged
// aws:autoscaling:groupName. An AutoScaling is safe for concurrent use;
// create it with NewAutoScaling.
//
// Like EC2 Auto Scaling, the fake launches instances on its own, not for a
// caller: CreateAutoScalingGroup, UpdateAutoScalingGroup and
// SetDesiredCapacity succeed, and then the group launches (or terminates)
// instances until it has its desired capacity. A launch that EC2 refuses,
// for example because the account enforces IMDSv2 and the template asks for
// HttpTokens optional, is a scaling activity with StatusCode Failed and
// EC2's error message in StatusMessage, not an error of the call. The real
// service does this asynchronously and retries; the fake does it before the
// call returns and tries again only at the next of those three calls for the
// group. Its launches are RunInstances and TerminateInstances calls of the
// EC2 fake, so they are counted by [EC2.Calls] and meet [EC2.FailNext],
// [EC2.Deny] and request throttling like the caller's own.
type AutoScaling struct {
	mu  sync.Mutex
	ec2 *EC2

	groups      map[string]*asGroup
	groupOrder  []*asGroup
	configs     map[string]*launchConfig
	configOrder []*launchConfig
	activities  []*activity // oldest first
	seq         uint64      // orders groups, configurations and activities

	calls  map[string]int
	faults map[string][]fault
}

// NewAutoScaling returns an AutoScaling fake without groups or launch
// configurations, whose groups launch their instances in the EC2 fake f. A
// nil f is replaced by a new EC2 fake with its default options, which
// [AutoScaling.EC2] returns.
func NewAutoScaling(f *EC2) *AutoScaling {
	if f == nil {
		f = New()
	}
	return &AutoScaling{
		ec2:     f,
		groups:  make(map[string]*asGroup),
		configs: make(map[string]*launchConfig),
		calls:   make(map[string]int),
		faults:  make(map[string][]fault),
	}
}

// EC2 returns the EC2 fake the groups launch their instances in.
func (a *AutoScaling) EC2() *EC2 { return a.ec2 }

// FailNext makes the next n calls of operation (an SDK operation name such as
// "DescribeAutoScalingGroups") return err without any other effect. err is
// wrapped in a *smithy.OperationError with ServiceID "Auto Scaling", unless
// it already is one; build service errors with NewAPIError. A nil err
// injects InternalFailure with HTTP status 500. Calling FailNext again for
// the same operation queues a further entry behind those pending.
func (a *AutoScaling) FailNext(operation string, n int, err error) {
	if n <= 0 {
		return
	}
	if err == nil {
		err = NewAPIError(500, asInternal, "An internal error has occurred.")
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.faults[operation] = append(a.faults[operation], fault{n: n, err: err})
}

// Calls reports how many times operation was called, including calls that
// failed.
func (a *AutoScaling) Calls(operation string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.calls[operation]
}

// begin is the first step of every operation and must be called with a.mu
// held: it counts the call, then answers a canceled context or an injected
// fault.
func (a *AutoScaling) begin(ctx context.Context, op string) error {
	a.calls[op]++
	if ctx != nil {
		if err := ctx.Err(); err != nil {
			return wrapService(asService, op, &smithy.CanceledError{Err: err})
		}
	}
	if q := a.faults[op]; len(q) > 0 {
		err := q[0].err
		if q[0].n--; q[0].n <= 0 {
			a.faults[op] = q[1:]
		}
		return wrapService(asService, op, err)
	}
	return nil
}

// asInvalid answers a request EC2 Auto Scaling refuses: ValidationError,
// HTTP 400, as the SDK decodes it (a code the SDK does not model). The
// wording of the fake's messages is modelled on EC2 Auto Scaling's and
// unverified.
func asInvalid(op, format string, args ...any) error {
	return wrapService(asService, op, NewAPIError(400, asValidation, fmt.Sprintf(format, args...)))
}

// asFault answers an error the SDK models with a type of its own, such as
// *types.AlreadyExistsFault: the SDK returns that type, not a
// smithy.GenericAPIError.
func asFault(op string, err error) error {
	return wrapService(asService, op, responseError(400, err))
}

func asMissing(op, member string) error {
	return asInvalid(op, "1 validation error detected: Value null at '%s' failed to satisfy constraint: Member must not be null", member)
}

// errorMessage returns the message of an API error, or err's text.
func errorMessage(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorMessage()
	}
	return err.Error()
}

// uuid returns a UUID-shaped identifier from a counter, so identifiers are
// the same in every run.
func uuid(n uint64) string {
	return fmt.Sprintf("00000000-0000-4000-8000-%012x", n)
}

// asGroup is an Auto Scaling group.
type asGroup struct {
	seq                   uint64
	name, arn             string
	created               time.Time
	min, max, desired     int32
	template              *groupTemplate // nil for a launch configuration
	config                string         // launch configuration name
	mixed                 *astypes.MixedInstancesPolicy
	zones                 []string
	subnets               string
	healthCheck           string
	gracePeriod           int32
	tags                  []astypes.TagDescription
	members               []*asInstance // launch order
	launched              int           // instances ever launched: spreads them over zones
	terminationPolicies   []string
	capacityRebalance     *bool
	newInstancesProtected bool
}

// groupTemplate is the launch template a group launches from, with the ID
// and name resolved when the group was created or updated. The version
// selector is resolved by EC2 at each launch.
type groupTemplate struct {
	id, name, version string
	instanceType      string // from MixedInstancesPolicy overrides; empty for the template's

	// For a mixed instances policy: overrides are the templates of its
	// overrides that name one of their own, in order, and launch is the
	// one of the override the group launches with, nil when that override
	// names none (the group's template then launches).
	overrides []*groupTemplate
	launch    *groupTemplate
}

// launchesFrom returns the template the group's next launch uses: an
// override's own, or t.
func (t *groupTemplate) launchesFrom() *groupTemplate {
	if t.launch != nil {
		return t.launch
	}
	return t
}

// uses reports whether the group launches from template id, as its own or
// an override's.
func (t *groupTemplate) uses(id string) bool {
	return t.id == id || slices.ContainsFunc(t.overrides, func(o *groupTemplate) bool { return o.id == id })
}

// asInstance is an instance a group launched.
type asInstance struct {
	id, zone, instanceType string
	imageID                string
	templateVersion        string // the version number launched from; empty for a launch configuration
	config                 string
	launchedFrom           *groupTemplate
}

// launchConfig is a launch configuration. Launch configurations are
// immutable.
type launchConfig struct {
	seq     uint64
	arn     string
	created time.Time
	in      autoscaling.CreateLaunchConfigurationInput // a copy of the request's data
}

// activity is a scaling activity.
type activity struct {
	seq                 uint64
	id, group, groupARN string
	cause, description  string
	start, end          time.Time
	status              astypes.ScalingActivityStatusCode
	statusMessage       string
}

func (act *activity) describe() astypes.Activity {
	out := astypes.Activity{
		ActivityId:           aws.String(act.id),
		AutoScalingGroupName: aws.String(act.group),
		AutoScalingGroupARN:  aws.String(act.groupARN),
		Cause:                aws.String(act.cause),
		Description:          aws.String(act.description),
		StartTime:            aws.Time(act.start),
		EndTime:              aws.Time(act.end),
		StatusCode:           act.status,
		Progress:             aws.Int32(100),
		Details:              aws.String("{}"),
	}
	if act.statusMessage != "" {
		out.StatusMessage = aws.String(act.statusMessage)
	}
	return out
}

func (a *AutoScaling) next() uint64 {
	a.seq++
	return a.seq
}

// record adds a finished scaling activity of group g.
func (a *AutoScaling) record(g *asGroup, cause, description string, status astypes.ScalingActivityStatusCode, message string) {
	n := a.next()
	now := time.Now()
	a.activities = append(a.activities, &activity{
		seq: n, id: uuid(n), group: g.name, groupARN: g.arn,
		cause: cause, description: description, start: now, end: now,
		status: status, statusMessage: message,
	})
}

// Helpers of the EC2 fake for Auto Scaling; each takes the EC2 lock.

// groupTemplate resolves the launch template a group names: the template
// must exist and the version selector name a version of it. It returns
// EC2's reason when they do not.
func (f *EC2) groupTemplate(id, name *string, version string) (*groupTemplate, string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t, err := f.findTemplate(opRunInstances, id, name)
	if err != nil {
		return nil, errorMessage(err)
	}
	if _, err := t.resolve(opRunInstances, version); err != nil {
		return nil, errorMessage(err)
	}
	return &groupTemplate{id: t.id, name: t.name, version: version}, ""
}

// liveInstances returns which of ids exist and are neither shutting down
// nor terminated.
func (f *EC2) liveInstances(ids []string) map[string]bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	live := make(map[string]bool, len(ids))
	for _, id := range ids {
		if i := f.instances[id]; i != nil && i.state != types.InstanceStateNameTerminated && i.state != types.InstanceStateNameShuttingDown {
			live[id] = true
		}
	}
	return live
}

// imageExists reports whether the image id is registered.
func (f *EC2) imageExists(id string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.images[id] != nil
}

// Validation of group requests.

func checkGroupName(op string, name *string) error {
	if name == nil {
		return asMissing(op, "autoScalingGroupName")
	}
	n := *name
	if n == "" || len(n) > maxGroupName || strings.ContainsFunc(n, func(r rune) bool { return r < 33 || r > 126 || r == ':' }) {
		return asInvalid(op, "The Auto Scaling group name %q is invalid: it must be 1 to %d printable ASCII characters other than a colon.", n, maxGroupName)
	}
	return nil
}

// groupLaunchSpec is the launch template, mixed instances policy or launch
// configuration a Create or Update request gives.
type groupLaunchSpec struct {
	template *astypes.LaunchTemplateSpecification
	mixed    *astypes.MixedInstancesPolicy
	config   *string
	instance *string
}

func (s groupLaunchSpec) count() int {
	n := 0
	for _, given := range []bool{s.template != nil, s.mixed != nil, s.config != nil, s.instance != nil} {
		if given {
			n++
		}
	}
	return n
}

// resolveGroupLaunchSpec checks the launch specification of a group request and
// returns the group's template or launch configuration.
//
// A mixed instances policy launches with the InstanceType of its first
// override that gives one (the "prioritized" allocation, EC2 Auto
// Scaling's default for On-Demand), from that override's own
// LaunchTemplateSpecification when it has one, else from the policy's.
// EC2 Auto Scaling documents such an override's template as the one used
// for its instance type (for one that needs another AMI or architecture);
// it must name an instance type, and, like the policy's, exist with the
// version it selects ($Default when omitted). Overrides with ImageId or
// InstanceRequirements are not modelled and are refused.
func (a *AutoScaling) resolveGroupLaunchSpec(op string, s groupLaunchSpec) (*groupTemplate, string, *astypes.MixedInstancesPolicy, error) {
	if s.instance != nil {
		return nil, "", nil, asInvalid(op, "Creating an Auto Scaling group from an instance (InstanceId) is not modelled by the fake.")
	}
	if s.config != nil {
		name := *s.config
		if a.configs[name] == nil {
			return nil, "", nil, asInvalid(op, "Launch configuration name not found - Launch configuration %s not found", name)
		}
		return nil, name, nil, nil
	}
	if s.mixed == nil {
		t, err := a.resolveTemplateSpec(op, s.template)
		return t, "", nil, err
	}
	lt := s.mixed.LaunchTemplate
	if lt == nil || lt.LaunchTemplateSpecification == nil {
		return nil, "", nil, asInvalid(op, "A mixed instances policy must specify LaunchTemplate.LaunchTemplateSpecification.")
	}
	t, err := a.resolveTemplateSpec(op, lt.LaunchTemplateSpecification)
	if err != nil {
		return nil, "", nil, err
	}
	chosen := false
	for n, o := range lt.Overrides {
		if o.ImageId != nil || o.InstanceRequirements != nil {
			return nil, "", nil, asInvalid(op,
				"Overrides with ImageId or InstanceRequirements are not modelled by the fake; give InstanceType, WeightedCapacity and LaunchTemplateSpecification only.")
		}
		var own *groupTemplate
		if o.LaunchTemplateSpecification != nil {
			if aws.ToString(o.InstanceType) == "" {
				return nil, "", nil, asInvalid(op, "%sOverrides[%d] gives a LaunchTemplateSpecification without the InstanceType it is for.", invalidTemplateMsg, n)
			}
			if own, err = a.resolveTemplateSpec(op, o.LaunchTemplateSpecification); err != nil {
				return nil, "", nil, err
			}
			t.overrides = append(t.overrides, own)
		}
		if !chosen && aws.ToString(o.InstanceType) != "" {
			chosen = true
			t.instanceType, t.launch = aws.ToString(o.InstanceType), own
		}
	}
	return t, "", copyMixed(s.mixed), nil
}

// resolveTemplateSpec checks a launch template specification of a group
// request, the group's own or an override's, and resolves it.
func (a *AutoScaling) resolveTemplateSpec(op string, spec *astypes.LaunchTemplateSpecification) (*groupTemplate, error) {
	version := aws.ToString(spec.Version)
	if version == "" {
		version = versionDefault
	}
	id, name := spec.LaunchTemplateId, spec.LaunchTemplateName
	if id == nil && name == nil {
		return nil, asInvalid(op, "%sSpecify the launch template by LaunchTemplateId or LaunchTemplateName.", invalidTemplateMsg)
	}
	if id != nil && name != nil {
		return nil, asInvalid(op, "%sSpecify either LaunchTemplateId or LaunchTemplateName, but not both.", invalidTemplateMsg)
	}
	if version != versionDefault && version != versionLatest {
		if _, ok := parseVersionNumber(version); !ok {
			return nil, asInvalid(op, "%sThe version %q is not a version number, $Latest or $Default.", invalidTemplateMsg, version)
		}
	}
	t, reason := a.ec2.groupTemplate(id, name, version)
	if t == nil {
		return nil, asInvalid(op, "%s%s", invalidTemplateMsg, reason)
	}
	return t, nil
}

// checkTags checks the tags of a CreateAutoScalingGroup request.
func checkGroupTags(op string, tags []astypes.Tag) error {
	for _, t := range tags {
		k := aws.ToString(t.Key)
		if k == "" {
			return asInvalid(op, "Tag keys must not be empty.")
		}
		if strings.HasPrefix(strings.ToLower(k), "aws:") {
			return asInvalid(op, "Tag keys starting with 'aws:' are reserved for internal use: %s", k)
		}
	}
	return nil
}

// serviceLinkedRole returns the ARN of the role EC2 Auto Scaling acts as in
// account.
func serviceLinkedRole(account string) string {
	return "arn:aws:iam::" + account + ":role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"
}

// zonesOf returns the Availability Zones of a group in region: those
// given, or one per subnet of VPCZoneIdentifier (the fake has no subnets,
// so it names zones a, b, c... of its Region in the subnets' order).
func zonesOf(region string, zones []string, subnets string) []string {
	if len(zones) > 0 {
		return slices.Clone(zones)
	}
	var out []string
	for n, s := range strings.Split(subnets, ",") {
		if strings.TrimSpace(s) != "" {
			out = append(out, fmt.Sprintf("%s%c", region, 'a'+n%6))
		}
	}
	return out
}

// CreateAutoScalingGroup creates an Auto Scaling group and launches its
// desired capacity (MinSize when DesiredCapacity is omitted). The group
// launches from exactly one of LaunchTemplate, MixedInstancesPolicy (the
// InstanceType of its first override that gives one, from that override's
// own LaunchTemplateSpecification if it has one, else from the policy's
// LaunchTemplate.LaunchTemplateSpecification) or LaunchConfigurationName;
// each template must exist and its Version ($Default when omitted, $Latest,
// or a number) must name a version of it, or the call answers
// ValidationError. DescribeAutoScalingGroups answers the policy's own
// specification with both the template's ID and name, and the overrides'
// as they were given (whether EC2 Auto Scaling fills in the other of ID and
// name there is unverified; as given is the harder shape for callers). The name
// must be unused (AlreadyExists). AvailabilityZones or VPCZoneIdentifier is
// required. Tags with PropagateAtLaunch are put on the instances. Creating
// from an InstanceId is not modelled.
func (a *AutoScaling) CreateAutoScalingGroup(ctx context.Context, params *autoscaling.CreateAutoScalingGroupInput, optFns ...func(*autoscaling.Options)) (*autoscaling.CreateAutoScalingGroupOutput, error) {
	const op = opCreateAutoScalingGroup
	a.mu.Lock()
	defer a.mu.Unlock()
	params, err := begun(params, a.begin(ctx, op))
	if err != nil {
		return nil, err
	}
	p := params
	if err := checkGroupName(op, p.AutoScalingGroupName); err != nil {
		return nil, err
	}
	if p.MinSize == nil {
		return nil, asMissing(op, "minSize")
	}
	if p.MaxSize == nil {
		return nil, asMissing(op, "maxSize")
	}
	desired := aws.ToInt32(p.MinSize)
	if p.DesiredCapacity != nil {
		desired = *p.DesiredCapacity
	}
	if err := checkSizes(op, *p.MinSize, *p.MaxSize, desired); err != nil {
		return nil, err
	}
	spec := groupLaunchSpec{template: p.LaunchTemplate, mixed: p.MixedInstancesPolicy, config: p.LaunchConfigurationName, instance: p.InstanceId}
	if spec.count() != 1 {
		return nil, asInvalid(op, noLaunchSpec)
	}
	tmpl, config, mixed, err := a.resolveGroupLaunchSpec(op, spec)
	if err != nil {
		return nil, err
	}
	zones := zonesOf(a.ec2.region, p.AvailabilityZones, aws.ToString(p.VPCZoneIdentifier))
	if len(zones) == 0 {
		return nil, asInvalid(op, "At least one Availability Zone or VPC Subnet is required.")
	}
	if err := checkGroupTags(op, p.Tags); err != nil {
		return nil, err
	}
	name := *p.AutoScalingGroupName
	if a.groups[name] != nil {
		return nil, asFault(op, &astypes.AlreadyExistsFault{
			Message: aws.String(fmt.Sprintf("AutoScalingGroup by this name already exists - A group with the name %s already exists", name)),
		})
	}
	n := a.next()
	g := &asGroup{
		seq:                   n,
		name:                  name,
		arn:                   fmt.Sprintf("arn:aws:autoscaling:%s:%s:autoScalingGroup:%s:autoScalingGroupName/%s", a.ec2.region, a.ec2.account, uuid(n), name),
		created:               time.Now(),
		min:                   *p.MinSize,
		max:                   *p.MaxSize,
		template:              tmpl,
		config:                config,
		mixed:                 mixed,
		zones:                 zones,
		subnets:               aws.ToString(p.VPCZoneIdentifier),
		healthCheck:           "EC2",
		gracePeriod:           aws.ToInt32(p.HealthCheckGracePeriod),
		terminationPolicies:   []string{"Default"},
		capacityRebalance:     p.CapacityRebalance,
		newInstancesProtected: aws.ToBool(p.NewInstancesProtectedFromScaleIn),
	}
	if s := aws.ToString(p.HealthCheckType); s != "" {
		g.healthCheck = s
	}
	if len(p.TerminationPolicies) > 0 {
		g.terminationPolicies = slices.Clone(p.TerminationPolicies)
	}
	for _, t := range p.Tags {
		g.tags = append(g.tags, astypes.TagDescription{
			Key: copyString(t.Key), Value: copyString(t.Value), PropagateAtLaunch: aws.Bool(aws.ToBool(t.PropagateAtLaunch)),
			ResourceId: aws.String(name), ResourceType: aws.String("auto-scaling-group"),
		})
	}
	a.groups[name] = g
	a.groupOrder = append(a.groupOrder, g)
	a.scale(ctx, g, desired, "a user request created an AutoScalingGroup")
	return &autoscaling.CreateAutoScalingGroupOutput{}, nil
}

// checkSizes checks a group's minimum, maximum and desired capacity.
func checkSizes(op string, minSize, maxSize, desired int32) error {
	switch {
	case minSize < 0 || maxSize < 0:
		return asInvalid(op, "MinSize (%d) and MaxSize (%d) must not be negative.", minSize, maxSize)
	case minSize > maxSize:
		return asInvalid(op, "Max bound, %d, must be greater than or equal to min bound, %d", maxSize, minSize)
	case desired < minSize || desired > maxSize:
		return asInvalid(op, "Desired capacity:%d must be between the specified min size:%d and max size:%d", desired, minSize, maxSize)
	}
	return nil
}

// UpdateAutoScalingGroup changes a group. Omitted parameters keep their
// value. A new LaunchTemplate, MixedInstancesPolicy (replaced whole) or
// LaunchConfigurationName (at most one of them) applies to later launches
// only: existing instances are never changed. A new MinSize above the
// desired capacity raises it, a new MaxSize below it lowers it, unless
// DesiredCapacity is given. The group then launches or terminates instances
// to reach its desired capacity, as CreateAutoScalingGroup does.
func (a *AutoScaling) UpdateAutoScalingGroup(ctx context.Context, params *autoscaling.UpdateAutoScalingGroupInput, optFns ...func(*autoscaling.Options)) (*autoscaling.UpdateAutoScalingGroupOutput, error) {
	const op = opUpdateAutoScalingGroup
	a.mu.Lock()
	defer a.mu.Unlock()
	params, err := begun(params, a.begin(ctx, op))
	if err != nil {
		return nil, err
	}
	p := params
	g, err := a.findGroup(op, p.AutoScalingGroupName)
	if err != nil {
		return nil, err
	}
	minSize, maxSize := g.min, g.max
	if p.MinSize != nil {
		minSize = *p.MinSize
	}
	if p.MaxSize != nil {
		maxSize = *p.MaxSize
	}
	desired := g.desired
	switch {
	case p.DesiredCapacity != nil:
		desired = *p.DesiredCapacity
	case p.MinSize != nil && desired < minSize:
		desired = minSize
	case p.MaxSize != nil && desired > maxSize:
		desired = maxSize
	}
	if err := checkSizes(op, minSize, maxSize, desired); err != nil {
		return nil, err
	}
	spec := groupLaunchSpec{template: p.LaunchTemplate, mixed: p.MixedInstancesPolicy, config: p.LaunchConfigurationName}
	if spec.count() > 1 {
		return nil, asInvalid(op, "Specify at most one of LaunchTemplate, MixedInstancesPolicy and LaunchConfigurationName.")
	}
	tmpl, config, mixed := g.template, g.config, g.mixed
	if spec.count() == 1 {
		if tmpl, config, mixed, err = a.resolveGroupLaunchSpec(op, spec); err != nil {
			return nil, err
		}
	}
	if p.AvailabilityZones != nil || p.VPCZoneIdentifier != nil {
		zones := zonesOf(a.ec2.region, p.AvailabilityZones, aws.ToString(p.VPCZoneIdentifier))
		if len(zones) == 0 {
			return nil, asInvalid(op, "At least one Availability Zone or VPC Subnet is required.")
		}
		g.zones, g.subnets = zones, aws.ToString(p.VPCZoneIdentifier)
	}
	g.min, g.max = minSize, maxSize
	g.template, g.config, g.mixed = tmpl, config, mixed
	if s := aws.ToString(p.HealthCheckType); s != "" {
		g.healthCheck = s
	}
	if p.HealthCheckGracePeriod != nil {
		g.gracePeriod = *p.HealthCheckGracePeriod
	}
	if len(p.TerminationPolicies) > 0 {
		g.terminationPolicies = slices.Clone(p.TerminationPolicies)
	}
	a.scale(ctx, g, desired, "a user request update of AutoScalingGroup constraints")
	return &autoscaling.UpdateAutoScalingGroupOutput{}, nil
}

// SetDesiredCapacity sets the desired capacity of a group, which must be
// within its MinSize and MaxSize, and launches or terminates instances to
// reach it. A group that is short of its desired capacity, for example after
// failed launches, tries again even when the capacity does not change.
// HonorCooldown is ignored.
func (a *AutoScaling) SetDesiredCapacity(ctx context.Context, params *autoscaling.SetDesiredCapacityInput, optFns ...func(*autoscaling.Options)) (*autoscaling.SetDesiredCapacityOutput, error) {
	const op = opSetDesiredCapacity
	a.mu.Lock()
	defer a.mu.Unlock()
	params, err := begun(params, a.begin(ctx, op))
	if err != nil {
		return nil, err
	}
	g, err := a.findGroup(op, params.AutoScalingGroupName)
	if err != nil {
		return nil, err
	}
	if params.DesiredCapacity == nil {
		return nil, asMissing(op, "desiredCapacity")
	}
	d := *params.DesiredCapacity
	if d > g.max {
		return nil, asInvalid(op, "New SetDesiredCapacity value %d is above max value %d for the AutoScalingGroup.", d, g.max)
	}
	if d < g.min {
		return nil, asInvalid(op, "New SetDesiredCapacity value %d is below min value %d for the AutoScalingGroup.", d, g.min)
	}
	a.scale(ctx, g, d, "a user request explicitly set group desired capacity")
	return &autoscaling.SetDesiredCapacityOutput{}, nil
}

// TagAsService puts tags on group name as the AWS service that made the
// group does (CloudFormation's aws:cloudformation:stack-name, logical-id
// and stack-id, on a group a stack or an Elastic Beanstalk environment
// made), each propagated to the instances the group launches from then on.
// CreateAutoScalingGroup refuses such keys from callers, as the prefix
// "aws:" is reserved; this is seeding, not an API call: it is not counted,
// throttled or failed by FailNext. A tag of the same key is replaced. A
// group that does not exist, or an empty key, is an error.
func (a *AutoScaling) TagAsService(name string, tags map[string]string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	g := a.groups[name]
	if g == nil {
		return fmt.Errorf("fake: no Auto Scaling group %q", name)
	}
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		if k == "" {
			return errors.New("fake: an empty tag key")
		}
		g.tags = slices.DeleteFunc(g.tags, func(t astypes.TagDescription) bool { return aws.ToString(t.Key) == k })
		g.tags = append(g.tags, astypes.TagDescription{Key: aws.String(k), Value: aws.String(tags[k]), PropagateAtLaunch: aws.Bool(true),
			ResourceId: aws.String(name), ResourceType: aws.String("auto-scaling-group")})
	}
	return nil
}

func (a *AutoScaling) findGroup(op string, name *string) (*asGroup, error) {
	if err := checkGroupName(op, name); err != nil {
		return nil, err
	}
	g := a.groups[*name]
	if g == nil {
		return nil, asInvalid(op, "AutoScalingGroup name not found - AutoScalingGroup %s not found", *name)
	}
	return g, nil
}

// scale sets the desired capacity of g and launches or terminates instances
// until the group has that many, recording a scaling activity for each
// step. Failures of EC2 become failed activities.
func (a *AutoScaling) scale(ctx context.Context, g *asGroup, desired int32, request string) {
	ctx = context.WithoutCancel(ctx) // the service's own work, not the caller's
	now := time.Now().UTC().Format(time.RFC3339)
	from := g.desired
	g.desired = desired
	live := a.ec2.liveInstances(g.memberIDs())
	g.members = slices.DeleteFunc(g.members, func(i *asInstance) bool { return !live[i.id] })
	have := int32(len(g.members))
	switch {
	case have < desired:
		cause := fmt.Sprintf("At %s %s changing the desired capacity from %d to %d.  At %s an instance was started in response to a difference between desired and actual capacity, increasing the capacity from %d to %d.",
			now, request, from, desired, now, have, desired)
		a.launch(ctx, g, desired-have, cause)
	case have > desired:
		cause := fmt.Sprintf("At %s %s changing the desired capacity from %d to %d.  At %s an instance was taken out of service in response to a difference between desired and actual capacity, shrinking the capacity from %d to %d.",
			now, request, from, desired, now, have, desired)
		a.terminate(ctx, g, have-desired, cause)
	}
}

func (g *asGroup) memberIDs() []string {
	ids := make([]string, len(g.members))
	for n, i := range g.members {
		ids[n] = i.id
	}
	return ids
}

// launch launches n instances for g through EC2's RunInstances, from the
// group's template version as EC2 resolves it now, or from its launch
// configuration.
func (a *AutoScaling) launch(ctx context.Context, g *asGroup, n int32, cause string) {
	tags := []types.Tag{{Key: aws.String(tagGroupName), Value: aws.String(g.name)}}
	for _, t := range g.tags {
		if aws.ToBool(t.PropagateAtLaunch) {
			tags = append(tags, types.Tag{Key: copyString(t.Key), Value: copyString(t.Value)})
		}
	}
	in := &ec2.RunInstancesInput{
		MinCount:          aws.Int32(n),
		MaxCount:          aws.Int32(n),
		TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeInstance, Tags: tags}},
	}
	var from *groupTemplate
	if t := g.template; t != nil {
		from = t.launchesFrom()
		in.LaunchTemplate = &types.LaunchTemplateSpecification{LaunchTemplateId: aws.String(from.id), Version: aws.String(from.version)}
		in.InstanceType = types.InstanceType(t.instanceType)
	} else if lc := a.configs[g.config]; lc != nil {
		in.ImageId = copyString(lc.in.ImageId)
		in.InstanceType = types.InstanceType(aws.ToString(lc.in.InstanceType))
		if m := lc.in.MetadataOptions; m != nil {
			in.MetadataOptions = &types.InstanceMetadataOptionsRequest{
				HttpTokens:              types.HttpTokensState(m.HttpTokens),
				HttpPutResponseHopLimit: copyInt32(m.HttpPutResponseHopLimit),
				HttpEndpoint:            types.InstanceMetadataEndpointState(m.HttpEndpoint),
			}
		}
	}
	out, err := a.ec2.RunInstances(ctx, in)
	if err != nil {
		msg := errorMessage(err) + " Launching EC2 instance failed."
		a.record(g, cause, "Launching a new EC2 instance.  Status Reason: "+msg, astypes.ScalingActivityStatusCodeFailed, msg)
		return
	}
	for _, i := range out.Instances {
		m := &asInstance{
			id:           aws.ToString(i.InstanceId),
			zone:         g.zones[g.launched%len(g.zones)],
			instanceType: string(i.InstanceType),
			imageID:      aws.ToString(i.ImageId),
			config:       g.config,
			launchedFrom: from,
		}
		for _, t := range i.Tags {
			if aws.ToString(t.Key) == tagTemplateVersion {
				m.templateVersion = aws.ToString(t.Value)
			}
		}
		g.launched++
		g.members = append(g.members, m)
		a.record(g, cause, "Launching a new EC2 instance: "+m.id, astypes.ScalingActivityStatusCodeSuccessful, "")
	}
}

// terminate terminates n instances of g through EC2's TerminateInstances.
// The fake's termination policy, whatever the group's TerminationPolicies:
// instances launched from a launch configuration or template other than the
// group's current one first, then those from the oldest template version,
// then the oldest.
func (a *AutoScaling) terminate(ctx context.Context, g *asGroup, n int32, cause string) {
	order := slices.Clone(g.members)
	outdated := func(i *asInstance) bool {
		if g.template == nil {
			return i.config != g.config
		}
		return i.launchedFrom == nil || !g.template.uses(i.launchedFrom.id)
	}
	version := func(i *asInstance) int64 {
		v, _ := strconv.ParseInt(i.templateVersion, 10, 64)
		return v
	}
	slices.SortStableFunc(order, func(x, y *asInstance) int {
		switch ox, oy := outdated(x), outdated(y); {
		case ox && !oy:
			return -1
		case oy && !ox:
			return 1
		}
		return cmp.Compare(version(x), version(y))
	})
	victims := order[:n]
	ids := make([]string, len(victims))
	for k, i := range victims {
		ids[k] = i.id
	}
	if _, err := a.ec2.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: ids}); err != nil {
		msg := errorMessage(err)
		a.record(g, cause, "Terminating EC2 instances.  Status Reason: "+msg, astypes.ScalingActivityStatusCodeFailed, msg)
		return
	}
	g.members = slices.DeleteFunc(g.members, func(i *asInstance) bool { return slices.Contains(victims, i) })
	for _, i := range victims {
		a.record(g, cause, "Terminating EC2 instance: "+i.id, astypes.ScalingActivityStatusCodeSuccessful, "")
	}
}

func checkMaxRecords(op string, m *int32, def int) (int, error) {
	if m == nil {
		return def, nil
	}
	if *m < 1 || *m > maxRecords {
		return 0, asInvalid(op, "1 validation error detected: Value '%d' at 'maxRecords' failed to satisfy constraint: Member must be between 1 and %d", *m, maxRecords)
	}
	return int(*m), nil
}

// asPageStart decodes the NextToken of an Auto Scaling listing of kind.
func asPageStart(op, kind string, token *string) (*pageKey, error) {
	t := aws.ToString(token)
	if t == "" {
		return nil, nil
	}
	k, ok := decodePageToken(kind, t)
	if !ok {
		return nil, asFault(op, &astypes.InvalidNextToken{Message: aws.String("The token '" + t + "' is invalid.")})
	}
	return &k, nil
}

// DescribeAutoScalingGroups describes the groups named in
// AutoScalingGroupNames (names that do not exist are left out), or all, in
// creation order. Filters tag-key, tag-value and tag:KEY select by tag,
// exactly (no wildcards). MaxRecords (1..100, 50 when omitted) pages the
// result with NextToken. Instances lists the group's instances that are not
// terminated, with the template version each was launched from.
func (a *AutoScaling) DescribeAutoScalingGroups(ctx context.Context, params *autoscaling.DescribeAutoScalingGroupsInput, optFns ...func(*autoscaling.Options)) (*autoscaling.DescribeAutoScalingGroupsOutput, error) {
	const op = opDescribeAutoScalingGroups
	a.mu.Lock()
	defer a.mu.Unlock()
	params, err := begun(params, a.begin(ctx, op))
	if err != nil {
		return nil, err
	}
	limit, err := checkMaxRecords(op, params.MaxRecords, defaultGroupPage)
	if err != nil {
		return nil, err
	}
	from, err := asPageStart(op, "asg", params.NextToken)
	if err != nil {
		return nil, err
	}
	match, err := groupFilters(op, params.Filters)
	if err != nil {
		return nil, err
	}
	var groups []*asGroup
	for _, g := range a.groupOrder {
		if (len(params.AutoScalingGroupNames) == 0 || slices.Contains(params.AutoScalingGroupNames, g.name)) && match(g) {
			groups = append(groups, g)
		}
	}
	page, next := paginate(groups, func(g *asGroup) pageKey { return pageKey{int64(g.seq)} }, from, limit)
	out := &autoscaling.DescribeAutoScalingGroupsOutput{AutoScalingGroups: []astypes.AutoScalingGroup{}}
	if next != nil {
		out.NextToken = aws.String(encodePageToken("asg", *next))
	}
	withInstances := params.IncludeInstances == nil || *params.IncludeInstances
	for _, g := range page {
		out.AutoScalingGroups = append(out.AutoScalingGroups, a.describeGroup(g, withInstances))
	}
	return out, nil
}

// groupFilters compiles the filters of DescribeAutoScalingGroups.
func groupFilters(op string, filters []astypes.Filter) (func(*asGroup) bool, error) {
	type check func(astypes.TagDescription) bool
	var checks [][]check // ANDed lists of ORed checks
	for _, f := range filters {
		name := aws.ToString(f.Name)
		var c []check
		for _, v := range f.Values {
			switch {
			case name == "tag-key":
				c = append(c, func(t astypes.TagDescription) bool { return aws.ToString(t.Key) == v })
			case name == "tag-value":
				c = append(c, func(t astypes.TagDescription) bool { return aws.ToString(t.Value) == v })
			case strings.HasPrefix(name, "tag:"):
				key := strings.TrimPrefix(name, "tag:")
				c = append(c, func(t astypes.TagDescription) bool { return aws.ToString(t.Key) == key && aws.ToString(t.Value) == v })
			default:
				return nil, asInvalid(op, "Filter %q is not valid: use tag-key, tag-value or tag:<key>.", name)
			}
		}
		if len(c) == 0 {
			return nil, asInvalid(op, "Filter %q must have at least one value.", name)
		}
		checks = append(checks, c)
	}
	return func(g *asGroup) bool {
		for _, c := range checks {
			if !slices.ContainsFunc(g.tags, func(t astypes.TagDescription) bool {
				return slices.ContainsFunc(c, func(ok check) bool { return ok(t) })
			}) {
				return false
			}
		}
		return true
	}, nil
}

func (t *groupTemplate) spec(version string) *astypes.LaunchTemplateSpecification {
	return &astypes.LaunchTemplateSpecification{
		LaunchTemplateId:   aws.String(t.id),
		LaunchTemplateName: aws.String(t.name),
		Version:            aws.String(version),
	}
}

func (a *AutoScaling) describeGroup(g *asGroup, withInstances bool) astypes.AutoScalingGroup {
	out := astypes.AutoScalingGroup{
		AutoScalingGroupName:             aws.String(g.name),
		AutoScalingGroupARN:              aws.String(g.arn),
		AvailabilityZones:                slices.Clone(g.zones),
		CreatedTime:                      aws.Time(g.created),
		DefaultCooldown:                  aws.Int32(defaultCooldown),
		DesiredCapacity:                  aws.Int32(g.desired),
		MinSize:                          aws.Int32(g.min),
		MaxSize:                          aws.Int32(g.max),
		HealthCheckType:                  aws.String(g.healthCheck),
		HealthCheckGracePeriod:           aws.Int32(g.gracePeriod),
		NewInstancesProtectedFromScaleIn: aws.Bool(g.newInstancesProtected),
		CapacityRebalance:                g.capacityRebalance,
		ServiceLinkedRoleARN:             aws.String(serviceLinkedRole(a.ec2.account)),
		TerminationPolicies:              slices.Clone(g.terminationPolicies),
		Instances:                        []astypes.Instance{},
		Tags:                             []astypes.TagDescription{},
		LoadBalancerNames:                []string{},
		TargetGroupARNs:                  []string{},
		SuspendedProcesses:               []astypes.SuspendedProcess{},
		EnabledMetrics:                   []astypes.EnabledMetric{},
		TrafficSources:                   []astypes.TrafficSourceIdentifier{},
	}
	if g.subnets != "" {
		out.VPCZoneIdentifier = aws.String(g.subnets)
	}
	for _, t := range g.tags {
		out.Tags = append(out.Tags, astypes.TagDescription{
			Key: copyString(t.Key), Value: copyString(t.Value), PropagateAtLaunch: aws.Bool(aws.ToBool(t.PropagateAtLaunch)),
			ResourceId: copyString(t.ResourceId), ResourceType: copyString(t.ResourceType),
		})
	}
	switch {
	case g.mixed != nil:
		mixed := copyMixed(g.mixed)
		mixed.LaunchTemplate.LaunchTemplateSpecification = g.template.spec(g.template.version)
		out.MixedInstancesPolicy = mixed
	case g.template != nil:
		out.LaunchTemplate = g.template.spec(g.template.version)
	default:
		out.LaunchConfigurationName = aws.String(g.config)
	}
	if !withInstances {
		return out
	}
	live := a.ec2.liveInstances(g.memberIDs())
	for _, i := range g.members {
		if !live[i.id] {
			continue
		}
		inst := astypes.Instance{
			InstanceId:           aws.String(i.id),
			AvailabilityZone:     aws.String(i.zone),
			HealthStatus:         aws.String("Healthy"),
			LifecycleState:       astypes.LifecycleStateInService,
			ProtectedFromScaleIn: aws.Bool(g.newInstancesProtected),
			InstanceType:         nonEmpty(i.instanceType),
			ImageId:              nonEmpty(i.imageID),
		}
		// Whether EC2 Auto Scaling reports the version number launched or
		// the group's selector is unverified; the number is what tells a
		// caller which instances came from which version.
		if i.launchedFrom != nil {
			inst.LaunchTemplate = i.launchedFrom.spec(i.templateVersion)
		} else {
			inst.LaunchConfigurationName = aws.String(i.config)
		}
		out.Instances = append(out.Instances, inst)
	}
	return out
}

// copyMixed returns a copy of a mixed instances policy deep enough that
// callers cannot change the fake's.
func copyMixed(m *astypes.MixedInstancesPolicy) *astypes.MixedInstancesPolicy {
	out := *m
	if m.InstancesDistribution != nil {
		d := *m.InstancesDistribution
		out.InstancesDistribution = &d
	}
	if m.LaunchTemplate != nil {
		lt := *m.LaunchTemplate
		lt.Overrides = slices.Clone(lt.Overrides)
		for i, o := range lt.Overrides {
			if s := o.LaunchTemplateSpecification; s != nil {
				lt.Overrides[i].LaunchTemplateSpecification = &astypes.LaunchTemplateSpecification{
					LaunchTemplateId: copyString(s.LaunchTemplateId), LaunchTemplateName: copyString(s.LaunchTemplateName), Version: copyString(s.Version)}
			}
		}
		out.LaunchTemplate = &lt
	}
	return &out
}

// CreateLaunchConfiguration creates a launch configuration: a legacy,
// immutable launch specification with ImageId (an image that exists),
// InstanceType and MetadataOptions (HttpTokens optional or required,
// HttpPutResponseHopLimit 1..64, HttpEndpoint enabled or disabled), which
// groups launch with as RunInstances parameters. The name must be unused
// (AlreadyExists). Creating from an InstanceId is not modelled, and neither
// is the end of launch configurations for new accounts.
func (a *AutoScaling) CreateLaunchConfiguration(ctx context.Context, params *autoscaling.CreateLaunchConfigurationInput, optFns ...func(*autoscaling.Options)) (*autoscaling.CreateLaunchConfigurationOutput, error) {
	const op = opCreateLaunchConfiguration
	a.mu.Lock()
	defer a.mu.Unlock()
	params, err := begun(params, a.begin(ctx, op))
	if err != nil {
		return nil, err
	}
	p := params
	if p.LaunchConfigurationName == nil {
		return nil, asMissing(op, "launchConfigurationName")
	}
	name := *p.LaunchConfigurationName
	if name == "" || len(name) > maxGroupName {
		return nil, asInvalid(op, "The launch configuration name %q is invalid: it must be 1 to %d characters.", name, maxGroupName)
	}
	if p.InstanceId != nil {
		return nil, asInvalid(op, "Creating a launch configuration from an instance (InstanceId) is not modelled by the fake.")
	}
	img := aws.ToString(p.ImageId)
	if img == "" {
		return nil, asMissing(op, "imageId")
	}
	if aws.ToString(p.InstanceType) == "" {
		return nil, asMissing(op, "instanceType")
	}
	if !isHexID(img, "ami") || !a.ec2.imageExists(img) {
		return nil, asInvalid(op, "AMI %s is invalid: The image id '[%s]' does not exist", img, img)
	}
	if m := p.MetadataOptions; m != nil {
		if err := checkASEnum(op, "metadataOptions.httpTokens", m.HttpTokens); err != nil {
			return nil, err
		}
		if err := checkASEnum(op, "metadataOptions.httpEndpoint", m.HttpEndpoint); err != nil {
			return nil, err
		}
		if h := m.HttpPutResponseHopLimit; h != nil && (*h < minHopLimit || *h > maxHopLimit) {
			return nil, asInvalid(op, "1 validation error detected: Value '%d' at 'metadataOptions.httpPutResponseHopLimit' failed to satisfy constraint: Member must have value between %d and %d",
				*h, minHopLimit, maxHopLimit)
		}
	}
	if a.configs[name] != nil {
		return nil, asFault(op, &astypes.AlreadyExistsFault{
			Message: aws.String(fmt.Sprintf("Launch Configuration by this name already exists - A launch configuration already exists with the name %s", name)),
		})
	}
	n := a.next()
	lc := &launchConfig{
		seq:     n,
		arn:     fmt.Sprintf("arn:aws:autoscaling:%s:%s:launchConfiguration:%s:launchConfigurationName/%s", a.ec2.region, a.ec2.account, uuid(n), name),
		created: time.Now(),
	}
	if err := convertData(p, &lc.in); err != nil {
		return nil, asInvalid(op, "The launch configuration is invalid: %v", err)
	}
	a.configs[name] = lc
	a.configOrder = append(a.configOrder, lc)
	return &autoscaling.CreateLaunchConfigurationOutput{}, nil
}

// checkASEnum checks an enumeration of the Auto Scaling SDK: empty
// (omitted) or one of its values, exactly as spelled.
func checkASEnum[T interface {
	~string
	Values() []T
}](op, member string, v T) error {
	if v == "" || slices.Contains(v.Values(), v) {
		return nil
	}
	return asInvalid(op, "1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: Member must satisfy enum value set: %v", v, member, v.Values())
}

// DescribeLaunchConfigurations describes the launch configurations named in
// LaunchConfigurationNames (names that do not exist are left out), or all,
// in creation order. MaxRecords (1..100, 50 when omitted) pages the result
// with NextToken. MetadataOptions are answered as given, absent when the
// configuration has none.
func (a *AutoScaling) DescribeLaunchConfigurations(ctx context.Context, params *autoscaling.DescribeLaunchConfigurationsInput, optFns ...func(*autoscaling.Options)) (*autoscaling.DescribeLaunchConfigurationsOutput, error) {
	const op = opDescribeLaunchConfigurations
	a.mu.Lock()
	defer a.mu.Unlock()
	params, err := begun(params, a.begin(ctx, op))
	if err != nil {
		return nil, err
	}
	limit, err := checkMaxRecords(op, params.MaxRecords, defaultConfigPage)
	if err != nil {
		return nil, err
	}
	from, err := asPageStart(op, "lc", params.NextToken)
	if err != nil {
		return nil, err
	}
	var configs []*launchConfig
	for _, lc := range a.configOrder {
		if len(params.LaunchConfigurationNames) == 0 || slices.Contains(params.LaunchConfigurationNames, aws.ToString(lc.in.LaunchConfigurationName)) {
			configs = append(configs, lc)
		}
	}
	page, next := paginate(configs, func(lc *launchConfig) pageKey { return pageKey{int64(lc.seq)} }, from, limit)
	out := &autoscaling.DescribeLaunchConfigurationsOutput{LaunchConfigurations: []astypes.LaunchConfiguration{}}
	if next != nil {
		out.NextToken = aws.String(encodePageToken("lc", *next))
	}
	for _, lc := range page {
		var c astypes.LaunchConfiguration
		if err := convertData(&lc.in, &c); err != nil {
			return nil, wrapService(asService, op, NewAPIError(500, asInternal, "An internal error has occurred."))
		}
		c.LaunchConfigurationARN = aws.String(lc.arn)
		c.CreatedTime = aws.Time(lc.created)
		if c.InstanceMonitoring == nil {
			c.InstanceMonitoring = &astypes.InstanceMonitoring{Enabled: aws.Bool(true)}
		}
		if c.BlockDeviceMappings == nil {
			c.BlockDeviceMappings = []astypes.BlockDeviceMapping{}
		}
		if c.SecurityGroups == nil {
			c.SecurityGroups = []string{}
		}
		out.LaunchConfigurations = append(out.LaunchConfigurations, c)
	}
	return out, nil
}

// DescribeScalingActivities describes scaling activities, newest first: those
// of the group AutoScalingGroupName (none for a name that does not exist),
// or of every group; ActivityIds (at most 50; unknown IDs are ignored)
// narrows them. The one filter supported is Status (StatusCode values).
// MaxRecords (1..100, 100 when omitted) pages the result with NextToken.
// Activities are kept for the life of the fake.
func (a *AutoScaling) DescribeScalingActivities(ctx context.Context, params *autoscaling.DescribeScalingActivitiesInput, optFns ...func(*autoscaling.Options)) (*autoscaling.DescribeScalingActivitiesOutput, error) {
	const op = opDescribeScalingActivities
	a.mu.Lock()
	defer a.mu.Unlock()
	params, err := begun(params, a.begin(ctx, op))
	if err != nil {
		return nil, err
	}
	limit, err := checkMaxRecords(op, params.MaxRecords, defaultActivities)
	if err != nil {
		return nil, err
	}
	from, err := asPageStart(op, "act", params.NextToken)
	if err != nil {
		return nil, err
	}
	if len(params.ActivityIds) > maxActivityIDs {
		return nil, asInvalid(op, "At most %d activity IDs can be given, not %d.", maxActivityIDs, len(params.ActivityIds))
	}
	var statuses []string
	for _, f := range params.Filters {
		if aws.ToString(f.Name) != "Status" {
			return nil, asInvalid(op, "Filter %q is not supported by the fake: use Status.", aws.ToString(f.Name))
		}
		statuses = append(statuses, f.Values...)
	}
	group := aws.ToString(params.AutoScalingGroupName)
	var acts []*activity
	for _, act := range slices.Backward(a.activities) {
		if group != "" && act.group != group ||
			len(params.ActivityIds) > 0 && !slices.Contains(params.ActivityIds, act.id) ||
			len(params.Filters) > 0 && !slices.Contains(statuses, string(act.status)) {
			continue
		}
		acts = append(acts, act)
	}
	page, next := paginate(acts, func(act *activity) pageKey { return pageKey{-int64(act.seq)} }, from, limit)
	out := &autoscaling.DescribeScalingActivitiesOutput{Activities: []astypes.Activity{}}
	if next != nil {
		out.NextToken = aws.String(encodePageToken("act", *next))
	}
	for _, act := range page {
		out.Activities = append(out.Activities, act.describe())
	}
	return out, nil
}

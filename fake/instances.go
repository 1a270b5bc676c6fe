package fake

import (
	"context"
	"encoding/base64"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// maxLaunch is the most instances one RunInstances call may launch.
const maxLaunch = 1000

// Limits of DescribeInstances MaxResults.
const (
	minPage = 5
	maxPage = 1000
)

// stateCodes are the codes EC2 reports with each instance state name.
var stateCodes = map[types.InstanceStateName]int32{
	types.InstanceStateNamePending:      0,
	types.InstanceStateNameRunning:      16,
	types.InstanceStateNameShuttingDown: 32,
	types.InstanceStateNameTerminated:   48,
	types.InstanceStateNameStopping:     64,
	types.InstanceStateNameStopped:      80,
}

func instanceState(name types.InstanceStateName) *types.InstanceState {
	return &types.InstanceState{Name: name, Code: aws.Int32(stateCodes[name])}
}

// instance is a launched instance.
type instance struct {
	id, imageID, reservationID string
	pos                        int // index in EC2.order, the launch order
	instanceType               types.InstanceType
	launchIndex                int32
	state                      types.InstanceStateName
	tags                       []types.Tag
	launched                   time.Time
	visibleAt                  time.Time // end of the propagation delay
	monitoring                 bool      // detailed monitoring: metrics every minute, not every 5

	md      metadataOptions  // the newest metadata options, applied or pending
	applied []appliedOptions // when each set of options became applied, oldest first
	runs    []transition     // when it started and stopped running, oldest first
	imdsv1  []callRate       // the IMDSv1 calls of its software, oldest first

	// lateIMDSv1 is the calls a minute of software that starts calling
	// IMDSv1 once a ModifyInstanceMetadataOptions makes the instance
	// require tokens (CallIMDSv1OnceRequired); 0 once started, or none.
	lateIMDSv1 float64
}

func (i *instance) visible(now time.Time) bool { return !now.Before(i.visibleAt) }

func (i *instance) describe(now time.Time) types.Instance {
	return types.Instance{
		InstanceId:      aws.String(i.id),
		ImageId:         aws.String(i.imageID),
		InstanceType:    i.instanceType,
		AmiLaunchIndex:  aws.Int32(i.launchIndex),
		State:           instanceState(i.state),
		Tags:            cloneTags(i.tags),
		MetadataOptions: i.md.response(i.metadataState(now)),
		LaunchTime:      aws.Time(i.launched),
		Monitoring:      &types.Monitoring{State: i.monitoringState()},
	}
}

// monitoringState is the instance's Monitoring.State: "enabled" with
// detailed monitoring, else "disabled".
func (i *instance) monitoringState() types.MonitoringState {
	if i.monitoring {
		return types.MonitoringStateEnabled
	}
	return types.MonitoringStateDisabled
}

// RunInstances launches MaxCount instances of a registered image in one
// reservation. They are "running" at once, with metadata options resolved in
// EC2's order of precedence (the request's MetadataOptions, the account
// defaults, the image's ImdsSupport, the built-in defaults) and State
// "applied". TagSpecifications for resource type instance become the
// instances' tags. HttpProtocolIpv6 enabled on a Xen instance type fails
// with UnsupportedOperation, and InstanceMetadataTags enabled (by the
// request, a launch template or the account default) with a tag key that
// cannot be a name in the instance metadata fails with
// InvalidParameterValue (see [EC2.ModifyInstanceMetadataOptions]). More
// than 1000 instances in one call fail with InstanceLimitExceeded. To seed a fake with instances without making API
// calls, use [EC2.Launch].
func (f *EC2) RunInstances(ctx context.Context, params *ec2.RunInstancesInput, optFns ...func(*ec2.Options)) (*ec2.RunInstancesOutput, error) {
	const op = opRunInstances
	f.mu.Lock()
	defer f.mu.Unlock()
	params, err := begun(params, f.begin(ctx, op, anyRequest))
	if err != nil {
		return nil, err
	}
	if params.MaxCount == nil {
		return nil, missingParameter(op, "MaxCount")
	}
	if params.MinCount == nil {
		return nil, missingParameter(op, "MinCount")
	}
	minCount, maxCount := *params.MinCount, *params.MaxCount
	if minCount < 1 {
		return nil, invalidValue(op, "MinCount", minCount)
	}
	if maxCount < 1 {
		return nil, invalidValue(op, "MaxCount", maxCount)
	}
	if minCount > maxCount {
		return nil, badRequest(op, codeInvalidParameterValue,
			"MinCount (%d) must be less than or equal to MaxCount (%d).", minCount, maxCount)
	}
	if maxCount > maxLaunch {
		return nil, badRequest(op, codeInstanceLimit,
			"You have requested more instances (%d) than your current instance limit of %d allows.", maxCount, maxLaunch)
	}
	params, err = f.applyLaunchTemplate(op, params) // templates.go
	if err != nil {
		return nil, err
	}
	imageID := aws.ToString(params.ImageId)
	if imageID == "" {
		return nil, missingParameter(op, "ImageId")
	}
	if !isHexID(imageID, "ami") {
		return nil, badRequest(op, codeAMIMalformed, "Invalid id: %q", imageID)
	}
	im := f.images[imageID]
	if im == nil {
		return nil, amiNotFound(op, imageID)
	}
	tags, err := tagsFor(op, params.TagSpecifications, types.ResourceTypeInstance)
	if err != nil {
		return nil, err
	}
	spec := launchSpec{image: im, instanceType: params.InstanceType, tags: tags,
		monitoring: params.Monitoring != nil && aws.ToBool(params.Monitoring.Enabled)}
	spec.md = launchRequest(params.MetadataOptions)
	md, err := f.resolveLaunch(op, spec)
	if err != nil {
		return nil, err
	}
	if dryRun(params.DryRun) {
		return nil, dryRunError(op)
	}
	if err := f.takeResources(op, int(maxCount)); err != nil {
		return nil, err
	}

	now := time.Now()
	insts := f.launch(spec, md, int(maxCount), now)
	out := &ec2.RunInstancesOutput{
		ReservationId: aws.String(insts[0].reservationID),
		OwnerId:       aws.String(f.account),
		Instances:     make([]types.Instance, 0, len(insts)),
	}
	for _, i := range insts {
		out.Instances = append(out.Instances, i.describe(now))
	}
	return out, nil
}

// launchSpec is what a launch asks for, from RunInstances or Launch.
type launchSpec struct {
	image        *image
	instanceType types.InstanceType
	tags         []types.Tag
	md           metadataRequest
	monitoring   bool
}

// resolveLaunch validates the metadata options a launch asks for and returns
// those its instances get: each resolved in EC2's order of precedence, then
// checked against the instance type (no IPv6 endpoint on Xen), the tag keys
// (when tags are in the metadata) and the account's enforcement of IMDSv2.
// f.mu must be held.
func (f *EC2) resolveLaunch(op string, s launchSpec) (metadataOptions, error) {
	if err := s.md.validate(op); err != nil {
		return metadataOptions{}, err
	}
	d := f.accountDefaults()
	md := resolveAtLaunch(s.md, d, s.image)
	if err := checkXenIPv6(op, md.ipv6, s.instanceType); err != nil {
		return metadataOptions{}, err
	}
	// Whether tags are in the metadata comes from the request, a launch
	// template or the account default alike; the launch fails, never the
	// defaults call.
	if md.tags == types.InstanceMetadataTagsStateEnabled {
		if err := checkIMDSTagKeys(op, s.tags); err != nil {
			return metadataOptions{}, err
		}
	}
	// Enforcement is evaluated after precedence, and refuses with the code
	// and message EC2 documents.
	if d.enforcing() && md.tokens != types.HttpTokensStateRequired {
		return metadataOptions{}, badRequest(op, codeUnsupported, "%s", f.enforcementMessage(msgEnforced))
	}
	return md, nil
}

// launch starts n running instances of s in one reservation, with the
// metadata options md, and returns them in launch order. f.mu must be held.
func (f *EC2) launch(s launchSpec, md metadataOptions, n int, now time.Time) []*instance {
	res := newID("r", &f.nextReservation)
	insts := make([]*instance, n)
	for k := range insts {
		inst := &instance{
			id:            newID("i", &f.nextInstance),
			imageID:       s.image.id,
			reservationID: res,
			pos:           len(f.order),
			instanceType:  s.instanceType,
			launchIndex:   int32(k),
			state:         types.InstanceStateNameRunning,
			tags:          s.tags, // shared: an instance's tags are never changed in place
			launched:      now,
			visibleAt:     now.Add(f.opts.PropagationDelay),
			monitoring:    s.monitoring,
		}
		inst.newHistory(md, now)
		f.instances[inst.id] = inst
		f.order = append(f.order, inst)
		insts[k] = inst
	}
	return insts
}

// StartInstances starts stopped instances at once; starting a running one
// changes nothing. A metadata options change still pending on a stopped
// instance is applied when it starts. Terminated instances cannot be started.
func (f *EC2) StartInstances(ctx context.Context, params *ec2.StartInstancesInput, optFns ...func(*ec2.Options)) (*ec2.StartInstancesOutput, error) {
	const op = opStartInstances
	f.mu.Lock()
	defer f.mu.Unlock()
	params, err := begun(params, f.begin(ctx, op, anyRequest))
	if err != nil {
		return nil, err
	}
	now := time.Now()
	changes, err := f.transition(op, params.InstanceIds, params.DryRun, "started", func(i *instance) {
		if i.state == types.InstanceStateNameStopped {
			i.setState(types.InstanceStateNameRunning, now)
		}
	})
	if err != nil {
		return nil, err
	}
	return &ec2.StartInstancesOutput{StartingInstances: changes}, nil
}

// StopInstances stops running instances at once; stopping a stopped one
// changes nothing. A metadata options change still pending when an instance
// stops stays pending until it is started. Terminated instances cannot be
// stopped.
func (f *EC2) StopInstances(ctx context.Context, params *ec2.StopInstancesInput, optFns ...func(*ec2.Options)) (*ec2.StopInstancesOutput, error) {
	const op = opStopInstances
	f.mu.Lock()
	defer f.mu.Unlock()
	params, err := begun(params, f.begin(ctx, op, anyRequest))
	if err != nil {
		return nil, err
	}
	now := time.Now()
	changes, err := f.transition(op, params.InstanceIds, params.DryRun, "stopped", func(i *instance) {
		if i.state == types.InstanceStateNameRunning {
			i.setState(types.InstanceStateNameStopped, now)
		}
	})
	if err != nil {
		return nil, err
	}
	return &ec2.StopInstancesOutput{StoppingInstances: changes}, nil
}

// TerminateInstances terminates instances at once. Terminated instances stay
// visible to DescribeInstances; terminating one again changes nothing.
func (f *EC2) TerminateInstances(ctx context.Context, params *ec2.TerminateInstancesInput, optFns ...func(*ec2.Options)) (*ec2.TerminateInstancesOutput, error) {
	const op = opTerminateInstances
	f.mu.Lock()
	defer f.mu.Unlock()
	params, err := begun(params, f.begin(ctx, op, anyRequest))
	if err != nil {
		return nil, err
	}
	now := time.Now()
	changes, err := f.transition(op, params.InstanceIds, params.DryRun, "", func(i *instance) {
		i.setState(types.InstanceStateNameTerminated, now)
	})
	if err != nil {
		return nil, err
	}
	return &ec2.TerminateInstancesOutput{TerminatingInstances: changes}, nil
}

// transition validates ids and applies change to each instance, returning
// the state changes. verb names the action in IncorrectInstanceState errors
// for terminated instances; empty allows terminated instances.
func (f *EC2) transition(op string, ids []string, dry *bool, verb string, change func(*instance)) ([]types.InstanceStateChange, error) {
	insts, err := f.lookup(op, ids, time.Time{})
	if err != nil {
		return nil, err
	}
	if len(insts) == 0 {
		return nil, missingParameter(op, "InstanceId")
	}
	if verb != "" {
		for _, i := range insts {
			if i.state == types.InstanceStateNameTerminated || i.state == types.InstanceStateNameShuttingDown {
				return nil, incorrectState(op, i.id, verb)
			}
		}
	}
	if dryRun(dry) {
		return nil, dryRunError(op)
	}
	if err := f.takeResources(op, len(insts)); err != nil {
		return nil, err
	}
	changes := make([]types.InstanceStateChange, 0, len(insts))
	for _, i := range insts {
		prev := i.state
		change(i)
		changes = append(changes, types.InstanceStateChange{
			InstanceId:    aws.String(i.id),
			PreviousState: instanceState(prev),
			CurrentState:  instanceState(i.state),
		})
	}
	return changes, nil
}

// lookup returns the instances named by ids, without duplicates, in the
// order given. Every ID must be well formed and exist; with a non-zero now,
// it must also have propagated by then. It costs O(len(ids)), whatever the
// number of instances.
func (f *EC2) lookup(op string, ids []string, now time.Time) ([]*instance, error) {
	var (
		insts   = make([]*instance, 0, len(ids))
		missing []string
		seen    = make(map[string]bool, len(ids))
	)
	for _, id := range ids {
		if !isHexID(id, "i") {
			return nil, instanceMalformed(op, id)
		}
		if seen[id] {
			continue
		}
		seen[id] = true
		i := f.instances[id]
		if i == nil || !now.IsZero() && !i.visible(now) {
			missing = append(missing, id)
			continue
		}
		insts = append(insts, i)
	}
	if len(missing) > 0 {
		return nil, instancesNotFound(op, missing)
	}
	return insts, nil
}

// candidates returns, in launch order, the instances from launch-order
// position start on that a DescribeInstances call has to consider: the
// instances it names in InstanceIds; else those named by the values of an
// instance-id filter without wildcards (the smallest such filter); else
// every instance. So a call that names instances, either way, costs
// O(k log k) for k names instead of O(number of instances). The caller still
// applies every filter to the candidates.
func (f *EC2) candidates(named []*instance, filters []types.Filter, start int) []*instance {
	if len(named) == 0 {
		var ids []string
		for _, fl := range filters {
			if aws.ToString(fl.Name) != "instance-id" || !allLiteral(fl.Values) {
				continue
			}
			if ids == nil || len(fl.Values) < len(ids) {
				ids = fl.Values
			}
		}
		if ids == nil {
			return f.order[start:]
		}
		named = make([]*instance, 0, len(ids))
		for _, id := range ids {
			if i := f.instances[id]; i != nil {
				named = append(named, i)
			}
		}
	}
	c := slices.Clone(named)
	slices.SortFunc(c, func(a, b *instance) int { return a.pos - b.pos })
	c = slices.Compact(c)
	n, _ := slices.BinarySearchFunc(c, start, func(i *instance, pos int) int { return i.pos - pos })
	return c[n:]
}

// allLiteral reports whether every filter value matches only itself.
func allLiteral(values []string) bool {
	for _, v := range values {
		if !isLiteral(v) {
			return false
		}
	}
	return true
}

// DescribeInstances describes instances in launch order, grouped by
// reservation. InstanceIds restricts the result to those instances, each of
// which must exist and have propagated; Filters are ANDed and the values of
// one filter ORed, with the wildcards * and ? (\ escapes them). Supported
// filters: instance-id, instance-state-name, image-id, reservation-id,
// monitoring-state, tag:KEY, tag-key, and
// metadata-options.{http-tokens, http-endpoint, http-put-response-hop-limit,
// http-protocol-ipv4, http-protocol-ipv6, instance-metadata-tags, state}.
// The instance's IPv4 endpoint state is in neither the SDK's
// InstanceMetadataOptionsResponse nor EC2's API model: http-protocol-ipv4
// matches the HttpEndpoint value (inferred: the IPv4 endpoint answers when
// the endpoint is enabled). MaxResults (5..1000)
// pages the result with NextToken; without it everything comes in one page,
// as EC2 answers: EC2 documents no bound on the items of an unpaginated
// call, only that with many resources such calls may be throttled (their
// own bucket, Buckets.DescribeUnfiltered) and may time out (at a size it
// does not document, so not modelled).
// Instances still within Options.PropagationDelay are left out. A call that
// names instances, in InstanceIds or in an instance-id filter without
// wildcards, costs time in proportion to the names, not to the number of
// instances.
func (f *EC2) DescribeInstances(ctx context.Context, params *ec2.DescribeInstancesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error) {
	const op = opDescribeInstances
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(ctx, op, describeInstancesKind(params)); err != nil {
		return nil, err
	}
	if params == nil {
		params = &ec2.DescribeInstancesInput{}
	}
	now := time.Now()
	limit := len(f.order) + 1
	if m := params.MaxResults; m != nil {
		if len(params.InstanceIds) > 0 {
			return nil, badRequest(op, codeInvalidCombination,
				"The parameter instancesSet cannot be used with the parameter maxResults")
		}
		if *m < minPage || *m > maxPage {
			return nil, badRequest(op, codeInvalidParameterValue,
				"Value (%d) for parameter maxResults is invalid. Expecting a value greater than %d and less than %d.", *m, minPage-1, maxPage+1)
		}
		limit = int(*m)
	}
	start := 0
	if t := aws.ToString(params.NextToken); t != "" {
		var ok bool
		if start, ok = decodeToken(t, len(f.order)); !ok {
			return nil, badRequest(op, codeInvalidParameterValue, "The parameter NextToken is invalid: %q", t)
		}
	}
	named, err := f.lookup(op, params.InstanceIds, now)
	if err != nil {
		return nil, err
	}
	filters, err := compileFilters(op, params.Filters, instanceFilters(now))
	if err != nil {
		return nil, err
	}
	if dryRun(params.DryRun) {
		return nil, dryRunError(op)
	}

	out := &ec2.DescribeInstancesOutput{Reservations: []types.Reservation{}}
	count := 0
	for _, i := range f.candidates(named, params.Filters, start) {
		if !i.visible(now) || !filters.match(i) {
			continue
		}
		if count == limit {
			out.NextToken = aws.String(encodeToken(i.pos))
			break
		}
		count++
		rs := out.Reservations
		if len(rs) == 0 || aws.ToString(rs[len(rs)-1].ReservationId) != i.reservationID {
			out.Reservations = append(rs, types.Reservation{
				ReservationId: aws.String(i.reservationID),
				OwnerId:       aws.String(f.account),
			})
		}
		r := &out.Reservations[len(out.Reservations)-1]
		r.Instances = append(r.Instances, i.describe(now))
	}
	return out, nil
}

// Page tokens are opaque to callers; inside they hold the launch-order index
// of the next instance to consider.
const tokenPrefix = "fake-page:"

func encodeToken(next int) string {
	return base64.RawURLEncoding.EncodeToString([]byte(tokenPrefix + strconv.Itoa(next)))
}

func decodeToken(t string, n int) (int, bool) {
	b, err := base64.RawURLEncoding.DecodeString(t)
	if err != nil {
		return 0, false
	}
	s, ok := strings.CutPrefix(string(b), tokenPrefix)
	if !ok {
		return 0, false
	}
	i, err := strconv.Atoi(s)
	if err != nil || i < 0 || i > n {
		return 0, false
	}
	return i, true
}

// instanceFilters returns the lookup of DescribeInstances filter names at
// time now: it gives the function that yields an instance's values for a
// filter, or nil for an unknown filter.
func instanceFilters(now time.Time) func(string) func(*instance) []string {
	one := func(get func(*instance) string) func(*instance) []string {
		return func(i *instance) []string { return []string{get(i)} }
	}
	return func(name string) func(*instance) []string {
		switch name {
		case "instance-id":
			return one(func(i *instance) string { return i.id })
		case "instance-state-name":
			return one(func(i *instance) string { return string(i.state) })
		case "image-id":
			return one(func(i *instance) string { return i.imageID })
		case "reservation-id":
			return one(func(i *instance) string { return i.reservationID })
		case "metadata-options.http-tokens":
			return one(func(i *instance) string { return string(i.md.tokens) })
		case "metadata-options.http-endpoint":
			return one(func(i *instance) string { return string(i.md.endpoint) })
		case "metadata-options.http-put-response-hop-limit":
			return one(func(i *instance) string { return strconv.Itoa(int(i.md.hop)) })
		case "metadata-options.http-protocol-ipv4":
			// EC2's API model documents the filter (enabled | disabled), but
			// InstanceMetadataOptionsResponse has no IPv4 field to compare
			// it with: the IPv4 endpoint is taken to be on exactly when the
			// endpoint is (HttpEndpoint), which is inferred.
			return one(func(i *instance) string { return string(i.md.endpoint) })
		case "metadata-options.http-protocol-ipv6":
			return one(func(i *instance) string { return string(i.md.ipv6) })
		case "metadata-options.instance-metadata-tags":
			return one(func(i *instance) string { return string(i.md.tags) })
		case "metadata-options.state":
			return one(func(i *instance) string { return string(i.metadataState(now)) })
		case "monitoring-state":
			return one(func(i *instance) string { return string(i.monitoringState()) })
		}
		return tagFilter(name, func(i *instance) []types.Tag { return i.tags })
	}
}

// tagsFor collects the tags of the tag specifications for resource type rt.
func tagsFor(op string, specs []types.TagSpecification, rt types.ResourceType) ([]types.Tag, error) {
	var tags []types.Tag
	for _, s := range specs {
		for _, t := range s.Tags {
			if aws.ToString(t.Key) == "" {
				return nil, badRequest(op, codeInvalidParameterValue, "Tag keys must not be empty")
			}
		}
		if s.ResourceType == rt {
			tags = append(tags, s.Tags...)
		}
	}
	return cloneTags(tags), nil
}

func cloneTags(tags []types.Tag) []types.Tag {
	if tags == nil {
		return nil
	}
	out := make([]types.Tag, len(tags))
	for n, t := range tags {
		out[n] = types.Tag{Key: aws.String(aws.ToString(t.Key)), Value: aws.String(aws.ToString(t.Value))}
	}
	return out
}

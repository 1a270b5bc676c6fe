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
	instanceType               types.InstanceType
	launchIndex                int32
	state                      types.InstanceStateName
	tags                       []types.Tag
	launched                   time.Time
	visibleAt                  time.Time // end of the propagation delay

	md         metadataOptions
	applyAt    time.Time // the metadata options are pending until then
	awaitStart bool      // the metadata options are pending until a start
}

func (i *instance) visible(now time.Time) bool { return !now.Before(i.visibleAt) }

func (i *instance) metadataState(now time.Time) types.InstanceMetadataOptionsState {
	if i.awaitStart || now.Before(i.applyAt) {
		return types.InstanceMetadataOptionsStatePending
	}
	return types.InstanceMetadataOptionsStateApplied
}

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
	}
}

// RunInstances launches MaxCount instances of a registered image in one
// reservation. They are "running" at once, with metadata options resolved in
// EC2's order of precedence (the request's MetadataOptions, the account
// defaults, the image's ImdsSupport, the built-in defaults) and State
// "applied". TagSpecifications for resource type instance become the
// instances' tags. More than 1000 instances in one call fail with
// InstanceLimitExceeded.
func (f *EC2) RunInstances(ctx context.Context, params *ec2.RunInstancesInput, optFns ...func(*ec2.Options)) (*ec2.RunInstancesOutput, error) {
	const op = opRunInstances
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(ctx, op, noBucket); err != nil {
		return nil, err
	}
	if params == nil {
		params = &ec2.RunInstancesInput{}
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
	params, err := f.applyLaunchTemplate(op, params) // templates.go
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
	var req metadataRequest
	if m := params.MetadataOptions; m != nil {
		req = metadataRequest{
			tokens:   m.HttpTokens,
			hop:      m.HttpPutResponseHopLimit,
			endpoint: m.HttpEndpoint,
			ipv6:     m.HttpProtocolIpv6,
			tags:     m.InstanceMetadataTags,
		}
	}
	if err := req.validate(op); err != nil {
		return nil, err
	}
	md := resolveAtLaunch(req, f.defaults, im)
	// Enforcement is evaluated after precedence. The error code EC2 answers
	// here is unverified; UnsupportedOperation is the code it uses when
	// ModifyInstanceMetadataOptions meets the same enforcement.
	if f.defaults.enforcing() && md.tokens != types.HttpTokensStateRequired {
		return nil, badRequest(op, codeUnsupported,
			"The account enforces IMDSv2 (HttpTokensEnforced is enabled): instances must be launched with HttpTokens required.")
	}
	if dryRun(params.DryRun) {
		return nil, dryRunError(op)
	}

	now := time.Now()
	res := newID("r", &f.nextReservation)
	out := &ec2.RunInstancesOutput{
		ReservationId: aws.String(res),
		OwnerId:       aws.String(accountID),
		Instances:     make([]types.Instance, 0, maxCount),
	}
	for n := range maxCount {
		inst := &instance{
			id:            newID("i", &f.nextInstance),
			imageID:       imageID,
			reservationID: res,
			instanceType:  params.InstanceType,
			launchIndex:   n,
			state:         types.InstanceStateNameRunning,
			tags:          cloneTags(tags),
			launched:      now,
			visibleAt:     now.Add(f.opts.PropagationDelay),
			md:            md,
		}
		f.instances[inst.id] = inst
		f.order = append(f.order, inst)
		out.Instances = append(out.Instances, inst.describe(now))
	}
	return out, nil
}

// StartInstances starts stopped instances at once; starting a running one
// changes nothing. A metadata options change still pending on a stopped
// instance is applied when it starts. Terminated instances cannot be started.
func (f *EC2) StartInstances(ctx context.Context, params *ec2.StartInstancesInput, optFns ...func(*ec2.Options)) (*ec2.StartInstancesOutput, error) {
	const op = opStartInstances
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(ctx, op, noBucket); err != nil {
		return nil, err
	}
	if params == nil {
		params = &ec2.StartInstancesInput{}
	}
	changes, err := f.transition(op, params.InstanceIds, params.DryRun, "started", func(i *instance) {
		if i.state == types.InstanceStateNameStopped {
			i.state = types.InstanceStateNameRunning
			i.awaitStart, i.applyAt = false, time.Time{}
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
	if err := f.begin(ctx, op, noBucket); err != nil {
		return nil, err
	}
	if params == nil {
		params = &ec2.StopInstancesInput{}
	}
	now := time.Now()
	changes, err := f.transition(op, params.InstanceIds, params.DryRun, "stopped", func(i *instance) {
		if i.state == types.InstanceStateNameRunning {
			i.state = types.InstanceStateNameStopped
			i.awaitStart = i.metadataState(now) == types.InstanceMetadataOptionsStatePending
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
	if err := f.begin(ctx, op, noBucket); err != nil {
		return nil, err
	}
	if params == nil {
		params = &ec2.TerminateInstancesInput{}
	}
	changes, err := f.transition(op, params.InstanceIds, params.DryRun, "", func(i *instance) {
		i.state = types.InstanceStateNameTerminated
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
// it must also have propagated by then.
func (f *EC2) lookup(op string, ids []string, now time.Time) ([]*instance, error) {
	var (
		insts   []*instance
		missing []string
	)
	for _, id := range ids {
		if !isHexID(id, "i") {
			return nil, instanceMalformed(op, id)
		}
		i := f.instances[id]
		switch {
		case i == nil || !now.IsZero() && !i.visible(now):
			if !slices.Contains(missing, id) {
				missing = append(missing, id)
			}
		case !slices.Contains(insts, i):
			insts = append(insts, i)
		}
	}
	if len(missing) > 0 {
		return nil, instancesNotFound(op, missing)
	}
	return insts, nil
}

// DescribeInstances describes instances in launch order, grouped by
// reservation. InstanceIds restricts the result to those instances, each of
// which must exist and have propagated; Filters are ANDed and the values of
// one filter ORed, with the wildcards * and ? (\ escapes them). Supported
// filters: instance-id, instance-state-name, image-id, reservation-id,
// tag:KEY, tag-key, and
// metadata-options.{http-tokens, http-endpoint, http-put-response-hop-limit,
// http-protocol-ipv6, instance-metadata-tags, state}. MaxResults (5..1000)
// pages the result with NextToken; without it everything comes in one page.
// Instances still within Options.PropagationDelay are left out.
func (f *EC2) DescribeInstances(ctx context.Context, params *ec2.DescribeInstancesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error) {
	const op = opDescribeInstances
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(ctx, op, describeInstancesBucket(params)); err != nil {
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
	for n, i := range f.order[start:] {
		if !i.visible(now) || len(named) > 0 && !slices.Contains(named, i) || !filters.match(i) {
			continue
		}
		if count == limit {
			out.NextToken = aws.String(encodeToken(start + n))
			break
		}
		count++
		rs := out.Reservations
		if len(rs) == 0 || aws.ToString(rs[len(rs)-1].ReservationId) != i.reservationID {
			out.Reservations = append(rs, types.Reservation{
				ReservationId: aws.String(i.reservationID),
				OwnerId:       aws.String(accountID),
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
		case "metadata-options.http-protocol-ipv6":
			return one(func(i *instance) string { return string(i.md.ipv6) })
		case "metadata-options.instance-metadata-tags":
			return one(func(i *instance) string { return string(i.md.tags) })
		case "metadata-options.state":
			return one(func(i *instance) string { return string(i.metadataState(now)) })
		}
		return tagFilter(name, func(i *instance) []types.Tag { return i.tags })
	}
}

// tagFilter handles the tag:KEY and tag-key filters for any resource.
func tagFilter[T any](name string, tagsOf func(T) []types.Tag) func(T) []string {
	if name == "tag-key" {
		return func(r T) []string {
			var keys []string
			for _, t := range tagsOf(r) {
				keys = append(keys, aws.ToString(t.Key))
			}
			return keys
		}
	}
	if key, ok := strings.CutPrefix(name, "tag:"); ok {
		return func(r T) []string {
			var values []string
			for _, t := range tagsOf(r) {
				if aws.ToString(t.Key) == key {
					values = append(values, aws.ToString(t.Value))
				}
			}
			return values
		}
	}
	return nil
}

// filter is one compiled filter: a resource matches when any of its values
// for the filter matches any of the patterns.
type filter[T any] struct {
	values   func(T) []string
	patterns []string
}

// filterSet is a list of filters that must all match.
type filterSet[T any] []filter[T]

func (fs filterSet[T]) match(r T) bool {
	for _, f := range fs {
		if !slices.ContainsFunc(f.values(r), func(v string) bool {
			return slices.ContainsFunc(f.patterns, func(p string) bool { return wildcardMatch(p, v) })
		}) {
			return false
		}
	}
	return true
}

// compileFilters checks filters against the names lookup knows.
func compileFilters[T any](op string, filters []types.Filter, lookup func(string) func(T) []string) (filterSet[T], error) {
	fs := make(filterSet[T], 0, len(filters))
	for _, f := range filters {
		if f.Name == nil {
			return nil, badRequest(op, codeInvalidParameterValue, "The filter 'null' is invalid")
		}
		values := lookup(*f.Name)
		if values == nil {
			return nil, badRequest(op, codeInvalidParameterValue, "The filter '%s' is invalid", *f.Name)
		}
		// What EC2 answers for a filter without values is unverified; the
		// fake refuses it rather than guess whether it matches all or none.
		if len(f.Values) == 0 {
			return nil, badRequest(op, codeInvalidParameterValue, "The filter '%s' must have at least one value", *f.Name)
		}
		fs = append(fs, filter[T]{values: values, patterns: slices.Clone(f.Values)})
	}
	return fs, nil
}

// wildcardMatch reports whether s matches pattern, where * matches any run
// of characters, ? any single character, and \ makes the next character
// literal.
func wildcardMatch(pattern, s string) bool {
	p, t := []rune(pattern), []rune(s)
	pi, ti := 0, 0
	star, mark := -1, 0
	for ti < len(t) {
		if pi < len(p) {
			switch c := p[pi]; {
			case c == '*':
				star, mark = pi, ti
				pi++
				continue
			case c == '?':
				pi++
				ti++
				continue
			case c == '\\' && pi+1 < len(p):
				if p[pi+1] == t[ti] {
					pi += 2
					ti++
					continue
				}
			case c == t[ti]:
				pi++
				ti++
				continue
			}
		}
		if star < 0 {
			return false
		}
		mark++
		pi, ti = star+1, mark
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
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

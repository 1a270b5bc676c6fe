package fleet

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imdsopts/imdsopts"
	"github.com/imdsopts/imdsopts/internal/ec2limits"
	"github.com/imdsopts/imdsopts/internal/hosts"
	"github.com/imdsopts/imdsopts/internal/pace"
	"github.com/imdsopts/imdsopts/internal/retry"
)

// Selection says which instances a fleet operation covers. An instance must
// match every field given. Without InstanceIDs, terminated and shutting-down
// instances are left out unless Filters name instance-state-name. Named
// InstanceIDs are always reported: an unknown one as StatusFailed with
// ErrInstanceNotFound (looked for again within NotFoundGrace), one that
// exists but does not match Filters or Tags as StatusExcluded.
type Selection struct {
	InstanceIDs []string
	Filters     []types.Filter    // DescribeInstances filters, e.g. metadata-options.http-tokens
	Tags        map[string]string // each KEY=VALUE is the filter tag:KEY with VALUE
}

// list returns the instances sel selects, as plan items in listing order
// (found), the final items of named instances it does not select (others):
// terminated, excluded by the filters, or unknown, and the account that owns
// the instances (empty when none was listed). Instances of two accounts are
// an error.
func (p *pacer) list(ctx context.Context, sel Selection) (found, others []Item, account string, err error) {
	filters := slices.Clone(sel.Filters)
	for _, k := range slices.Sorted(maps.Keys(sel.Tags)) {
		filters = append(filters, types.Filter{Name: aws.String("tag:" + k), Values: []string{sel.Tags[k]}})
	}
	seen := map[string]bool{}
	var owners []string
	add := func(owner string, inst *types.Instance, excluded bool) {
		id := aws.ToString(inst.InstanceId)
		if seen[id] {
			return
		}
		seen[id] = true
		if !slices.Contains(owners, owner) {
			owners = append(owners, owner)
		}
		it := Item{InstanceID: id, Options: inst.MetadataOptions, metricPeriod: metricPeriodOf(inst), host: factsOf(inst)}
		it.Owner, it.Container = hosts.OwnerOf(it.host.tags), hosts.ContainerTag(it.host.tags)
		if r := p.o.Rollout; r != nil && len(r.CanaryTags) > 0 {
			it.canary = hasTags(inst.Tags, r.CanaryTags)
		}
		if inst.State != nil {
			it.InstanceState = inst.State.Name
		}
		switch it.InstanceState {
		case types.InstanceStateNameTerminated, types.InstanceStateNameShuttingDown:
			it.Status, it.Err = StatusFailed, fmt.Errorf("imdsopts: %s is %s: %w", id, it.InstanceState, imdsopts.ErrInstanceTerminated)
			others = append(others, it)
		default:
			if !excluded {
				found = append(found, it)
				return
			}
			it.Status, it.Err = StatusExcluded, fmt.Errorf("imdsopts: %s: %w", id, ErrExcluded)
			others = append(others, it)
		}
	}
	if len(sel.InstanceIDs) == 0 {
		if !slices.ContainsFunc(filters, func(f types.Filter) bool { return aws.ToString(f.Name) == "instance-state-name" }) {
			filters = append(filters, types.Filter{Name: aws.String("instance-state-name"),
				Values: []string{"pending", "running", "stopping", "stopped"}})
		}
		err := p.describeAll(ctx, filters, func(owner string, inst *types.Instance) { add(owner, inst, false) })
		if err != nil {
			return nil, nil, "", err
		}
		account, err = oneOwner(owners)
		return found, others, account, err
	}
	// Named instances go in an instance-id filter, not InstanceIds: an unknown
	// ID then goes missing instead of failing the whole call.
	missing := slices.Compact(slices.Sorted(slices.Values(sel.InstanceIDs)))
	look := func(ctx context.Context) error {
		if err := p.describeIDs(ctx, missing, filters, func(owner string, inst *types.Instance) { add(owner, inst, false) }); err != nil {
			return err
		}
		missing = slices.DeleteFunc(missing, func(id string) bool { return seen[id] })
		if len(missing) > 0 && len(filters) > 0 {
			// Named, not selected: do they exist at all?
			if err := p.describeIDs(ctx, missing, nil, func(owner string, inst *types.Instance) { add(owner, inst, true) }); err != nil {
				return err
			}
			missing = slices.DeleteFunc(missing, func(id string) bool { return seen[id] })
		}
		if len(missing) > 0 {
			return retry.NotYet(fmt.Sprintf("%d named instance(s) not returned", len(missing)))
		}
		return nil
	}
	if p.o.NotFoundGrace > 0 {
		policy := &retry.Policy{MinDelay: p.o.MinDelay, MaxDelay: p.o.MaxDelay, MaxWait: p.o.NotFoundGrace,
			Retry: func(error) bool { return false }}
		err = policy.Do(ctx, look)
	} else {
		err = look(ctx)
	}
	if err != nil && !errors.Is(err, retry.ErrNotYet) {
		return nil, nil, "", err
	}
	for _, id := range missing {
		others = append(others, Item{InstanceID: id, Status: StatusFailed,
			Err: fmt.Errorf("imdsopts: %s: not returned by DescribeInstances: %w", id, imdsopts.ErrInstanceNotFound)})
	}
	account, err = oneOwner(owners)
	return found, others, account, err
}

// oneOwner returns the one account of owners, the OwnerId of the
// reservations listed: empty when none was, an error when they differ.
func oneOwner(owners []string) (string, error) {
	switch {
	case len(owners) == 0:
		return "", nil
	case len(owners) > 1:
		return "", fmt.Errorf("imdsopts: list instances: DescribeInstances answered instances of %d accounts (%s): one client lists one account's", len(owners), strings.Join(owners, ", "))
	}
	return owners[0], nil
}

// describeIDs lists the instances ids with filters, 200 IDs a filter.
func (p *pacer) describeIDs(ctx context.Context, ids []string, filters []types.Filter, fn func(owner string, inst *types.Instance)) error {
	for chunk := range slices.Chunk(ids, ec2limits.FilterValueChunk) {
		f := append(slices.Clone(filters), types.Filter{Name: aws.String("instance-id"), Values: chunk})
		if err := p.describeAll(ctx, f, fn); err != nil {
			return err
		}
	}
	return nil
}

// describeAll pages through DescribeInstances with filters, calling fn for
// every instance, with its reservation's owner. A page that fails after its retries, an empty answer, or a
// page token answered twice (the listing would never end) is an error: an
// incomplete listing is never taken for the whole.
func (p *pacer) describeAll(ctx context.Context, filters []types.Filter, fn func(owner string, inst *types.Instance)) error {
	in := ec2.DescribeInstancesInput{Filters: filters, MaxResults: aws.Int32(ec2limits.DescribePage)}
	return p.Pages(ctx, pace.Call{Op: "DescribeInstances", Lim: p.desLim}, "list instances", func(ctx context.Context, token *string) (*string, error) {
		in.NextToken = token
		out, err := p.api.DescribeInstances(ctx, &in, p.o.ClientOptions...)
		switch {
		case err != nil:
			return nil, err
		case out == nil:
			return nil, pace.ErrNoAnswer
		}
		for _, r := range out.Reservations {
			for i := range r.Instances {
				fn(aws.ToString(r.OwnerId), &r.Instances[i])
			}
		}
		return out.NextToken, nil
	})
}

// metricPeriodOf is how often EC2 publishes inst's CloudWatch metrics: every
// 5 minutes under basic monitoring (Monitoring.State "disabled"), else
// every minute. A state in between, or none, is taken as a minute, the
// shorter: a watch that expects a datapoint a minute never mistakes a gap
// of 5 for data.
func metricPeriodOf(inst *types.Instance) time.Duration {
	if inst.Monitoring != nil && inst.Monitoring.State == types.MonitoringStateDisabled {
		return 5 * time.Minute
	}
	return time.Minute
}

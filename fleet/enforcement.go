package fleet

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"golang.org/x/time/rate"

	"github.com/imdsopts/imdsopts/internal/pace"
)

// Account enforcement of IMDSv2 makes some changes one-way: with
// HttpTokensEnforced "enabled", EC2 refuses to make HttpTokens "optional"
// again on an instance that requires tokens, so a rollback or an undo of
// such a change is refused.

// EnforcementAPI is the part of *ec2.Client that tells whether the account
// enforces IMDSv2, for Options.Enforcement.
type EnforcementAPI interface {
	GetInstanceMetadataDefaults(ctx context.Context, params *ec2.GetInstanceMetadataDefaultsInput, optFns ...func(*ec2.Options)) (*ec2.GetInstanceMetadataDefaultsOutput, error)
}

// enforced reports whether the account enforces IMDSv2, with one call of
// GetInstanceMetadataDefaults, paced and tried again like any. A failure
// is an error: enforcement that cannot be read is not taken for none.
func (p *pacer) enforced(ctx context.Context) (bool, error) {
	var out *ec2.GetInstanceMetadataDefaultsOutput
	c := pace.Call{Op: "GetInstanceMetadataDefaults", Lim: rate.NewLimiter(rate.Inf, 1)}
	_, err := p.Do(ctx, c, func(ctx context.Context) error {
		var err error
		out, err = p.o.Enforcement.GetInstanceMetadataDefaults(ctx, &ec2.GetInstanceMetadataDefaultsInput{}, p.o.ClientOptions...)
		return err
	})
	switch {
	case err != nil:
		return false, fmt.Errorf("imdsopts: read the account's IMDSv2 enforcement: GetInstanceMetadataDefaults: %w", err)
	case out == nil:
		return false, errors.New("imdsopts: read the account's IMDSv2 enforcement: GetInstanceMetadataDefaults answered nothing")
	}
	return out.AccountLevel != nil && out.AccountLevel.HttpTokensEnforced == types.HttpTokensEnforcedStateEnabled, nil
}

// oneWay returns the instances of items whose change makes HttpTokens
// "required" where it is "optional": those an account that enforces IMDSv2
// would not let go back.
func oneWay(items []Item) []string {
	var ids []string
	for _, it := range items {
		if (it.Status == StatusChange || it.Status == StatusPendingStart) && it.Options != nil &&
			it.Options.HttpTokens == types.HttpTokensStateOptional && it.Changes.HTTPTokens() == types.HttpTokensStateRequired {
			ids = append(ids, it.InstanceID)
		}
	}
	return ids
}

// irreversible returns the instances of items whose change the account's
// enforcement of IMDSv2 makes one-way: none without a call when no change
// could be, else as Options.Enforcement tells.
func (p *pacer) irreversible(ctx context.Context, items []Item) ([]string, error) {
	ids := oneWay(items)
	if len(ids) == 0 {
		return nil, nil
	}
	on, err := p.enforced(ctx)
	if err != nil || !on {
		return nil, err
	}
	return ids, nil
}

// notAccepted is the error of an operation that would make n changes the
// account's enforcement makes one-way, without Options.AcceptIrreversible.
func notAccepted(n int) error {
	return fmt.Errorf("imdsopts: the account enforces IMDSv2 (HttpTokensEnforced enabled), and %d instance(s) would go from "+
		"HttpTokens optional to required, which EC2 would not let be undone; nothing was changed (set AcceptIrreversible to go on): %w",
		n, ErrIrreversible)
}

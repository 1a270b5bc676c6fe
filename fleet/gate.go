package fleet

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/imdsopts/imdsopts"
	"github.com/imdsopts/imdsopts/internal/cwmetric"
	"github.com/imdsopts/imdsopts/internal/hosts"
)

// The IMDSv1 gate: before tokens are required on an instance, its IMDSv1
// calls over the window (CloudWatch's AWS/EC2 MetadataNoToken, the calls it
// answered, and MetadataNoTokenRejected, those it refused) must be a
// measured zero. Only complete, finite answers with evidence that
// CloudWatch had the instance's data pass; anything else holds the
// instance with the reason.

// gate measures the IMDSv1 calls of the items at idx and holds those that
// made some or whose calls could not be measured. It returns an error only
// when ctx ends.
func (p *pacer) gate(ctx context.Context, items []Item, idx []int) error {
	ids := make([]string, len(idx))
	for k, i := range idx {
		ids[k] = items[i].InstanceID
	}
	end := time.Now().Truncate(time.Minute)
	got, err := p.metrics().IMDSv1Calls(ctx, ids, end.Add(-p.o.IMDSv1Window), end, p.o.TreatNoDataAsZero)
	if err != nil {
		return fmt.Errorf("imdsopts: IMDSv1 gate: %w", err)
	}
	window := cwmetric.Days(p.o.IMDSv1Window)
	for k, i := range idx {
		it, m := &items[i], got[k]
		switch {
		case m.Unknown != "" && m.Cause != nil:
			it.Status, it.Err = StatusHeld, fmt.Errorf("imdsopts: %s: %w over the last %s: %s: %w", it.InstanceID, ErrIMDSv1Unknown, window, m.Unknown, m.Cause)
		case m.Unknown != "":
			it.Status, it.Err = StatusHeld, fmt.Errorf("imdsopts: %s: %w over the last %s: %s", it.InstanceID, ErrIMDSv1Unknown, window, m.Unknown)
		default:
			it.IMDSv1Calls = &m.Sum
			if m.Sum > 0 {
				it.Status = StatusHeld
				it.Err = fmt.Errorf("imdsopts: %s: %v IMDSv1 calls over the last %s: %w", it.InstanceID, m.Sum, window, ErrIMDSv1InUse)
				if hop := aws.ToInt32(imdsopts.Set{}.AppliedTo(it.Options).HttpPutResponseHopLimit); it.Container != "" && hop < hosts.ContainerMinHop {
					it.Err = fmt.Errorf("%w; it is a container host (%s) with HttpPutResponseHopLimit %d: its containers' SDKs fall back to IMDSv1 "+
						"while the token response cannot reach them, so these calls may be theirs: raise its hop limit to %d first, then measure again",
						it.Err, it.Container, hop, hosts.ContainerMinHop)
				}
			}
		}
	}
	return nil
}

package imdsopts

import (
	"context"
	"fmt"
	"time"
)

// The IMDSv1 gate: before tokens are required on an instance, CloudWatch's
// AWS/EC2 MetadataNoToken (IMDSv1 calls the instance answered) must sum to a
// measured zero over the window. Only a complete, finite sum per instance
// passes; anything else holds the instance with the reason.

// gate measures MetadataNoToken for the items at idx and holds those that
// used IMDSv1 or whose use could not be measured. It returns an error only
// when ctx ends.
func (p *pacer) gate(ctx context.Context, items []FleetItem, idx []int) error {
	ids := make([]string, len(idx))
	for k, i := range idx {
		ids[k] = items[i].InstanceID
	}
	end := time.Now().Truncate(time.Minute)
	got, err := p.measure(ctx, metricNoToken, ids, end.Add(-p.o.IMDSv1Window), end, p.o.TreatNoDataAsZero)
	if err != nil {
		return fmt.Errorf("imdsopts: IMDSv1 gate: %w", err)
	}
	window := days(p.o.IMDSv1Window)
	for k, i := range idx {
		it, m := &items[i], got[k]
		switch {
		case m.unknown != "" && m.cause != nil:
			it.Status, it.Err = StatusHeld, fmt.Errorf("imdsopts: %s: %w over the last %s: %s: %w", it.InstanceID, ErrIMDSv1Unknown, window, m.unknown, m.cause)
		case m.unknown != "":
			it.Status, it.Err = StatusHeld, fmt.Errorf("imdsopts: %s: %w over the last %s: %s", it.InstanceID, ErrIMDSv1Unknown, window, m.unknown)
		default:
			it.IMDSv1Calls = &m.sum
			if m.sum > 0 {
				it.Status = StatusHeld
				it.Err = fmt.Errorf("imdsopts: %s: %v IMDSv1 calls over the last %s: %w", it.InstanceID, m.sum, window, ErrIMDSv1InUse)
			}
		}
	}
	return nil
}

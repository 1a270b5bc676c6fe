package imdsopts

import (
	"context"
	"fmt"
	"time"
)

// The IMDSv1 gate: before tokens are required on an instance, its IMDSv1
// calls over the window (CloudWatch's AWS/EC2 MetadataNoToken, the calls it
// answered, and MetadataNoTokenRejected, those it refused) must be a
// measured zero. Only complete, finite answers with evidence that
// CloudWatch had the instance's data pass; anything else holds the
// instance with the reason.

// imdsv1Calls measures the IMDSv1 calls of each of ids over [start, end),
// a datapoint a day (a multiple of 3600 s, as CloudWatch wants for data
// older than 63 days) or one over the whole window when it is shorter, and
// returns one measurement per ID. Its error is the context's.
func (p *pacer) imdsv1Calls(ctx context.Context, ids []string, start, end time.Time, noDataIsZero bool) ([]measurement, error) {
	period := int32(86400)
	if window := end.Sub(start); window < 24*time.Hour {
		period = int32(max(time.Minute, window.Truncate(time.Minute)) / time.Second)
	}
	qs := make([]metricQuery, 0, 3*len(ids))
	for _, id := range ids {
		qs = append(qs, metricQuery{id, metricNoToken, "Sum"}, metricQuery{id, metricNoTokenRejected, "Sum"},
			metricQuery{id, metricCPU, "SampleCount"})
	}
	got, err := p.readMetrics(ctx, qs, start, end, period)
	if err != nil {
		return nil, err
	}
	out := make([]measurement, len(ids))
	for k := range ids {
		out[k] = callsOf(got[3*k], got[3*k+1], got[3*k+2], noDataIsZero)
	}
	return out, nil
}

// gate measures the IMDSv1 calls of the items at idx and holds those that
// made some or whose calls could not be measured. It returns an error only
// when ctx ends.
func (p *pacer) gate(ctx context.Context, items []FleetItem, idx []int) error {
	ids := make([]string, len(idx))
	for k, i := range idx {
		ids[k] = items[i].InstanceID
	}
	end := time.Now().Truncate(time.Minute)
	got, err := p.imdsv1Calls(ctx, ids, end.Add(-p.o.IMDSv1Window), end, p.o.TreatNoDataAsZero)
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
				if _, hop, _ := after(it.Options, Set{}); it.Container != "" && hop < containerMinHop {
					it.Err = fmt.Errorf("%w; it is a container host (%s) with HttpPutResponseHopLimit %d: its containers' SDKs fall back to IMDSv1 "+
						"while the token response cannot reach them, so these calls may be theirs: raise its hop limit to %d first, then measure again",
						it.Err, it.Container, hop, containerMinHop)
				}
			}
		}
	}
	return nil
}

package fake

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// CallIMDSv1 makes the software on instance instanceID call the instance
// metadata service without a session token (IMDSv1) perMinute times a
// minute, from now on, until CallIMDSv1 is called again for it (0 stops the
// calls). It simulates software that still uses IMDSv1, as seen by the
// CloudWatch metrics of a [CloudWatch] tied to this fake with
// [CloudWatchOptions.EC2]: while the instance runs with HttpTokens optional
// (applied), the calls are answered and counted by MetadataNoToken; while it
// runs with HttpTokens required (applied), they are refused and counted by
// MetadataNoTokenRejected; while it is stopped, or its endpoint is disabled,
// nothing is counted.
//
// CallIMDSv1 is seeding, not an API call: it is not counted, throttled or
// affected by FailNext or Deny. The time is read with time.Now, so it works
// in a testing/synctest bubble. It returns an error, and changes nothing,
// for an instance the fake does not know or a rate that is negative, NaN or
// infinite.
func (f *EC2) CallIMDSv1(instanceID string, perMinute float64) error {
	if perMinute < 0 || math.IsNaN(perMinute) || math.IsInf(perMinute, 0) {
		return fmt.Errorf("fake: CallIMDSv1(%q, %v): the rate must be a finite number of calls a minute, 0 or more", instanceID, perMinute)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	i := f.instances[instanceID]
	if i == nil {
		return fmt.Errorf("fake: CallIMDSv1(%q, %v): no such instance", instanceID, perMinute)
	}
	i.imdsv1 = append(i.imdsv1, callRate{at: time.Now(), perMinute: perMinute})
	return nil
}

// imdsv1Minutes synthesises the per-minute datapoints of the metric
// MetadataNoToken (or, when rejected, MetadataNoTokenRejected) of instance
// id for the minutes that start in [from, limit), both whole minutes. Every
// minute in which the instance ran gets a datapoint: the IMDSv1 calls of
// its software during the part of the minute it ran with HttpTokens
// optional (for MetadataNoTokenRejected: required) and its endpoint enabled,
// zero when there were none. It calls emit for runs of consecutive minutes
// with the same value, in time order. An unknown instance has no
// datapoints.
func (f *EC2) imdsv1Minutes(id string, rejected bool, from, limit time.Time, emit func(start time.Time, minutes int, value float64)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	i := f.instances[id]
	if i == nil || !from.Before(limit) {
		return
	}
	// Within the instance's history, its state is constant between these
	// times.
	var breaks []time.Time
	inRange := func(t time.Time) {
		if t.After(from) && t.Before(limit) {
			breaks = append(breaks, t)
		}
	}
	for _, a := range i.applied {
		if !a.untilStart {
			inRange(a.at)
		}
	}
	for _, r := range i.runs {
		inRange(r.at)
	}
	for _, c := range i.imdsv1 {
		inRange(c.at)
	}
	slices.SortFunc(breaks, time.Time.Compare)
	breaks = slices.Compact(breaks)

	// rate returns whether the instance runs at t, and the rate of IMDSv1
	// calls the metric counts then.
	rate := func(t time.Time) (running bool, perMinute float64) {
		running = false
		for k := len(i.runs) - 1; k >= 0; k-- {
			if !i.runs[k].at.After(t) {
				running = i.runs[k].running
				break
			}
		}
		if !running {
			return false, 0
		}
		md := i.appliedAt(t)
		want := types.HttpTokensStateOptional
		if rejected {
			want = types.HttpTokensStateRequired
		}
		if md.tokens != want || md.endpoint == types.InstanceMetadataEndpointStateDisabled {
			return true, 0
		}
		for k := len(i.imdsv1) - 1; k >= 0; k-- {
			if !i.imdsv1[k].at.After(t) {
				return true, i.imdsv1[k].perMinute
			}
		}
		return true, 0
	}

	b := 0 // breaks[b] is the first break after m
	for m := from; m.Before(limit); {
		for b < len(breaks) && !breaks[b].After(m) {
			b++
		}
		next := limit
		if b < len(breaks) {
			next = breaks[b]
		}
		if whole := int(next.Sub(m) / time.Minute); whole > 0 {
			// No change until next: whole minutes alike.
			if running, perMinute := rate(m); running {
				emit(m, whole, perMinute)
			}
			m = m.Add(time.Duration(whole) * time.Minute)
			continue
		}
		// The state changes within this minute: add up its parts.
		end := m.Add(time.Minute)
		ran, calls := false, 0.0
		for a, k := m, b; a.Before(end); k++ {
			z := end
			if k < len(breaks) && breaks[k].Before(end) {
				z = breaks[k]
			}
			if running, perMinute := rate(a); running && z.After(a) {
				ran = true
				calls += perMinute * z.Sub(a).Minutes()
			}
			a = z
		}
		if ran {
			emit(m, 1, calls)
		}
		m = end
	}
}

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

// CallIMDSv1OnceRequired makes the software on instance instanceID start
// calling IMDSv1 perMinute times a minute, as [EC2.CallIMDSv1] does, at
// the first ModifyInstanceMetadataOptions that asks for HttpTokens
// required and is answered (not a DryRun, not refused). Until then it
// makes no call. It simulates software that calls IMDSv1 too rarely for a
// look back at CloudWatch to see it (a monthly job): once the change
// applies, its calls are refused and counted by MetadataNoTokenRejected,
// which is what a rollout watches for; once the instance allows IMDSv1
// again, they are answered.
//
// CallIMDSv1OnceRequired is seeding, as CallIMDSv1 is. A perMinute of 0
// cancels calls that have not started. It returns an error, and changes
// nothing, for an instance the fake does not know or a rate that is
// negative, NaN or infinite.
func (f *EC2) CallIMDSv1OnceRequired(instanceID string, perMinute float64) error {
	if perMinute < 0 || math.IsNaN(perMinute) || math.IsInf(perMinute, 0) {
		return fmt.Errorf("fake: CallIMDSv1OnceRequired(%q, %v): the rate must be a finite number of calls a minute, 0 or more", instanceID, perMinute)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	i := f.instances[instanceID]
	if i == nil {
		return fmt.Errorf("fake: CallIMDSv1OnceRequired(%q, %v): no such instance", instanceID, perMinute)
	}
	i.lateIMDSv1 = perMinute
	return nil
}

// metricKind names the per-instance metrics an EC2 fake publishes, as a
// tied CloudWatch asks for them.
type metricKind int

const (
	kindNoToken  metricKind = iota // MetadataNoToken: IMDSv1 calls answered
	kindRejected                   // MetadataNoTokenRejected: IMDSv1 calls refused
	kindCPU                        // CPUUtilization
	kindStatus                     // StatusCheckFailed
)

// cpuPercent is the CPUUtilization every datapoint of a running instance
// reports: its value does not matter, only that it is there.
const cpuPercent = 2.5

// span is a stretch of an instance's history in which nothing changes: it
// runs or not, with the same applied options, and its software calls IMDSv1
// at the same rate, from the same first call.
type span struct {
	from, to  time.Time
	running   bool
	allowed   bool      // HttpTokens optional and the endpoint enabled: IMDSv1 calls are answered
	refusing  bool      // HttpTokens required and the endpoint enabled: they are refused
	perMinute float64   // the IMDSv1 calls a minute
	anchor    time.Time // when that rate began: the calls are at anchor + k/perMinute minutes, k >= 1
}

// calls returns the IMDSv1 calls of s's software in (a, z], a whole
// number: the calls fall at evenly spaced instants after s.anchor, the
// first one interval after it.
func (s span) calls(a, z time.Time) float64 {
	if s.perMinute <= 0 || !a.Before(z) {
		return 0
	}
	at := func(t time.Time) float64 { return math.Floor(t.Sub(s.anchor).Minutes() * s.perMinute) }
	return at(z) - at(a)
}

// spans returns the stretches of instance i's history that cover [from,
// to), in time order. f.mu must be held.
func (i *instance) spans(from, to time.Time) []span {
	breaks := []time.Time{from, to}
	inRange := func(t time.Time) {
		if t.After(from) && t.Before(to) {
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
	out := make([]span, 0, len(breaks)-1)
	for k := 0; k+1 < len(breaks); k++ {
		s := span{from: breaks[k], to: breaks[k+1]}
		t := s.from
		for r := len(i.runs) - 1; r >= 0; r-- {
			if !i.runs[r].at.After(t) {
				s.running = i.runs[r].running
				break
			}
		}
		if s.running && !t.Before(i.launched) {
			md := i.appliedAt(t)
			on := md.endpoint != types.InstanceMetadataEndpointStateDisabled
			s.allowed = on && md.tokens != types.HttpTokensStateRequired
			s.refusing = on && md.tokens == types.HttpTokensStateRequired
		} else {
			s.running = false
		}
		for c := len(i.imdsv1) - 1; c >= 0; c-- {
			if !i.imdsv1[c].at.After(t) {
				s.perMinute, s.anchor = i.imdsv1[c].perMinute, i.imdsv1[c].at
				break
			}
		}
		out = append(out, s)
	}
	return out
}

// periodStat is what an instance did in one period of its metrics.
type periodStat struct {
	ran, allowed      bool
	answered, refused float64
}

// stat returns what instance i did in [a, z), from spans that cover it.
func stat(spans []span, a, z time.Time) periodStat {
	var p periodStat
	for _, s := range spans {
		lo, hi := maxTime(a, s.from), minTime(z, s.to)
		if !lo.Before(hi) || !s.running {
			continue
		}
		p.ran = true
		switch {
		case s.allowed:
			p.allowed = true
			p.answered += s.calls(lo, hi)
		case s.refusing:
			p.refused += s.calls(lo, hi)
		}
	}
	return p
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// publishedPoints calls emit for the datapoints of metric k that EC2 has
// published for instance id by now, with timestamps in [from, to), in time
// order: a run of n datapoints g apart from at, each with value. An
// instance's datapoints cover the periods of its metrics, g long, from the
// minute it was launched; a period's datapoint is published delay after
// the period ends, and only for a period in which the instance ran. Which
// periods of the IMDS metrics have a datapoint is shape's to say.
func (f *EC2) publishedPoints(id string, k metricKind, shape IMDSMetrics, delay time.Duration, from, to, now time.Time,
	emit func(at time.Time, n int, g time.Duration, value float64)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	i := f.instances[id]
	if i == nil {
		return
	}
	g := 5 * time.Minute
	if i.monitoring || k == kindStatus {
		g = time.Minute
	}
	anchor := i.launched.Truncate(time.Minute)
	// The periods whose timestamps are in [from, to) and that are
	// published: they end by now - delay.
	first := anchor
	if from.After(anchor) {
		first = anchor.Add((from.Sub(anchor) + g - 1) / g * g)
	}
	last := to
	if end := now.Add(-delay - g); end.Before(last) {
		last = end.Add(time.Nanosecond) // periods starting at or before now - delay - g
	}
	if !first.Before(last) {
		return
	}
	n := int((last.Sub(first) + g - 1) / g) // periods from first
	spans := i.spans(first, first.Add(time.Duration(n)*g))
	// value returns the datapoint of period [p, p+g), if any.
	value := func(ps periodStat) (float64, bool) {
		if !ps.ran {
			return 0, false
		}
		switch k {
		case kindCPU:
			return cpuPercent, true
		case kindStatus:
			return 0, true
		case kindNoToken:
			switch shape {
			case IMDSMetricsZeros:
				return ps.answered, true
			case IMDSMetricsSparse:
				return ps.answered, ps.answered > 0
			}
			return ps.answered, ps.allowed
		default: // kindRejected
			if shape == IMDSMetricsZeros {
				return ps.refused, true
			}
			return ps.refused, ps.refused > 0
		}
	}
	// Walk the periods span by span: within a span, the periods wholly in
	// it are alike, but for their calls, which are alike too when the
	// rate makes a whole number of them a period.
	p, sp := first, 0
	for c := 0; c < n; {
		for sp < len(spans) && !spans[sp].to.After(p) {
			sp++
		}
		if sp < len(spans) && !spans[sp].from.After(p) {
			s := spans[sp]
			whole := int(s.to.Sub(p) / g)
			whole = min(whole, n-c)
			perPeriod := s.perMinute * g.Minutes()
			if whole > 1 && (perPeriod == math.Trunc(perPeriod) || !(s.allowed || s.refusing)) {
				ps := stat(spans[sp:sp+1], p, p.Add(g))
				if v, ok := value(ps); ok {
					emit(p, whole, g, v)
				}
				p, c = p.Add(time.Duration(whole)*g), c+whole
				continue
			}
		}
		if v, ok := value(stat(spans[min(sp, len(spans)):], p, p.Add(g))); ok {
			emit(p, 1, g, v)
		}
		p, c = p.Add(g), c+1
	}
}

package fake

import (
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// An instance keeps its history over time: when each set of metadata
// options became applied, when it ran, and how often its software calls
// IMDSv1. Answers that depend on time (the State of the metadata options,
// and the IMDSv1 metrics of a CloudWatch tied to the fake) are derived from
// it at the time of the call.

// appliedOptions records when options became an instance's applied metadata
// options.
type appliedOptions struct {
	md metadataOptions
	// at is when they became, or will become, applied; it is meaningless
	// while untilStart.
	at time.Time
	// untilStart marks options that stay pending until the instance is
	// started.
	untilStart bool
}

// transition records that an instance started or stopped running at a time.
type transition struct {
	at      time.Time
	running bool
}

// callRate records that from a time on the software of an instance calls
// IMDSv1 perMinute times a minute while it runs.
type callRate struct {
	at        time.Time
	perMinute float64
}

// newHistory starts the history of an instance launched running at now with
// the applied options md.
func (i *instance) newHistory(md metadataOptions, now time.Time) {
	i.md = md
	i.applied = []appliedOptions{{md: md, at: now}}
	i.runs = []transition{{at: now, running: true}}
}

// metadataState reports whether the instance's newest metadata options are
// applied at now.
func (i *instance) metadataState(now time.Time) types.InstanceMetadataOptionsState {
	if last := i.applied[len(i.applied)-1]; last.untilStart || last.at.After(now) {
		return types.InstanceMetadataOptionsStatePending
	}
	return types.InstanceMetadataOptionsStateApplied
}

// setOptions makes md the instance's newest metadata options at now: a
// running instance applies them after delay, any other once it is started.
func (i *instance) setOptions(md metadataOptions, now time.Time, delay time.Duration) {
	i.md = md
	if i.state == types.InstanceStateNameRunning {
		i.applied = append(i.applied, appliedOptions{md: md, at: now.Add(delay)})
	} else {
		i.applied = append(i.applied, appliedOptions{md: md, untilStart: true})
	}
}

// setRunning records a change of state at now; the options still pending
// when an instance stops stay pending until it starts, and those pending
// until a start are applied when it does.
func (i *instance) setState(state types.InstanceStateName, now time.Time) {
	was := i.state == types.InstanceStateNameRunning
	i.state = state
	running := state == types.InstanceStateNameRunning
	if running == was {
		return
	}
	i.runs = append(i.runs, transition{at: now, running: running})
	for k := len(i.applied) - 1; k >= 0; k-- {
		a := &i.applied[k]
		switch {
		case running && a.untilStart:
			a.untilStart, a.at = false, now
		case !running && !a.untilStart && a.at.After(now):
			a.untilStart = true
		default:
			return
		}
	}
}

// appliedAt returns the instance's applied metadata options at t, which is
// not before its launch.
func (i *instance) appliedAt(t time.Time) metadataOptions {
	for k := len(i.applied) - 1; k > 0; k-- {
		if a := i.applied[k]; !a.untilStart && !a.at.After(t) {
			return a.md
		}
	}
	return i.applied[0].md
}

package fleet

import (
	"strconv"

	"github.com/imdsopts/imdsopts/internal/hosts"
)

// Status is where one instance of a fleet stands.
type Status int

// Statuses of a Item. A [Plan] holds StatusChange and
// StatusPendingStart for the instances [Apply] will call for; a
// [Report] holds only final statuses.
const (
	StatusChange       Status = iota + 1 // needs a ModifyInstanceMetadataOptions call
	StatusApplied                        // changed, and EC2 reports the options applied
	StatusSatisfied                      // already had the options: no call
	StatusHeld                           // held back by the IMDSv1 gate (Err says why)
	StatusPendingStart                   // stopped: changed, EC2 applies it when the instance starts
	StatusRefused                        // a downgrade, refused without Options.AllowDowngrade
	StatusFailed                         // Err says why; the options may or may not have changed
	StatusNotAttempted                   // no call was made: the context ended or the fleet stopped first
	StatusExcluded                       // named, but left out by the Selection's filters or tags
	StatusRolledBack                     // changed, then restored to its options before the run (a rollout's rollback, Undo)
	StatusNeedsPerson                    // left in a state the package cannot put right: Err says why (rollback refused, options changed since)
	StatusUnconfirmed                    // the change was sent and EC2 accepted it, or its answer was lost, but it was not seen applied (the run was cut short, or MaxWait passed): resuming the run finishes it
	StatusCannotApply                    // EC2 would refuse the change as it is, so it is not sent: Err says why and how to go on (ErrTagKeys, ErrEndpointDisabled)
)

var statusNames = [...]string{"", "change", "applied", "satisfied", "held", "pending-until-start",
	"refused-downgrade", "failed", "not-attempted", "excluded", "rolled-back", "needs-person", "unconfirmed", "cannot-apply"}

// String returns the status in lower-case words, e.g. "pending-until-start".
func (s Status) String() string {
	if s > 0 && int(s) < len(statusNames) {
		return statusNames[s]
	}
	return "Status(" + strconv.Itoa(int(s)) + ")"
}

// MarshalText encodes the status as its String, for JSON output.
func (s Status) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Statuses returns every Status, in the order of their constants.
func Statuses() []Status {
	all := make([]Status, 0, len(statusNames)-1)
	for s := StatusChange; int(s) < len(statusNames); s++ {
		all = append(all, s)
	}
	return all
}

// Owner is what launched an instance and replaces or updates it, as its
// tags show: a change made to the instance in place is undone when the
// owner replaces it (a scale-in and out, a node group update, a stack
// update), so the lasting fix goes where Fix says.
type Owner = hosts.Owner

package account

import (
	"errors"
	"fmt"
)

// Outcomes of the account-wide operations, matched with errors.Is.
var (
	// ErrManagedByPolicy: the account's default metadata options are
	// managed by a declarative policy (ManagedBy "declarative-policy"), so
	// the account cannot change them; SetDefaults refuses without calling
	// ModifyInstanceMetadataDefaults, and the message is the policy's own.
	ErrManagedByPolicy = errors.New("account defaults are managed by a declarative policy")
	// ErrNotReady: enforcing IMDSv2 now would make launches fail; a
	// [*NotReadyError] carries the readiness report with the blockers.
	ErrNotReady = errors.New("not ready to enforce IMDSv2")
	// ErrTemplateNotFound: a launch template, or the version a change was
	// planned from, no longer exists.
	ErrTemplateNotFound = errors.New("launch template or version not found")
	// ErrStalePlan: the launch template changed after the plan was made
	// (its default version moved), so the plan no longer describes it.
	ErrStalePlan = errors.New("launch template changed since the plan")
	// ErrImageNotOwned: the image belongs to another account, so this one
	// cannot change its attributes.
	ErrImageNotOwned = errors.New("image not owned by the account")
	// ErrImageNotFound: EC2 does not return the image.
	ErrImageNotFound = errors.New("image not found")
)

// NotReadyError is the error of [SetDefaults] when it refuses to enable
// IMDSv2 enforcement: it matches ErrNotReady and carries the report, whose
// Blockers say what to fix, in order.
type NotReadyError struct {
	Readiness *Readiness
}

// Error names the number of blockers and the first of them.
func (e *NotReadyError) Error() string {
	if e == nil || e.Readiness == nil || len(e.Readiness.Blockers) == 0 {
		return "imdsopts: " + ErrNotReady.Error()
	}
	b := e.Readiness.Blockers
	return fmt.Sprintf("imdsopts: %v: %d blocker(s), first: %s", ErrNotReady, len(b), b[0])
}

// Is reports whether target is ErrNotReady.
func (e *NotReadyError) Is(target error) bool { return target == ErrNotReady }

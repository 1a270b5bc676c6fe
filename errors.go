package imdsopts

import (
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
	"github.com/imdsopts/imdsopts/internal/pace"
	"github.com/imdsopts/imdsopts/internal/retry"
)

// ErrInvalid is matched by every error that reports input EC2 would refuse,
// or a misuse of this package (a nil client, context or plan, an option
// function that is nil). Such errors are returned before any API call is
// made; take one apart with errors.As into a [*ValidationError].
var ErrInvalid = errors.New("invalid input")

// Outcomes that callers branch on with errors.Is. An error that comes from an
// EC2 API error also wraps it, so errors.As with a smithy.APIError still gives
// EC2's code.
var (
	// ErrTimeout: WaiterOptions.MaxWait passed before EC2 reported the
	// options applied, or before a throttled call went through. The message
	// names the last state seen.
	ErrTimeout = retry.ErrTimeout
	// ErrInstanceNotFound: EC2 does not know the instance
	// (InvalidInstanceID.NotFound), still after WaiterOptions.NotFoundGrace.
	ErrInstanceNotFound = errors.New("instance not found")
	// ErrInstanceTerminated: the instance is shutting down or terminated, so
	// the options will never be applied.
	ErrInstanceTerminated = errors.New("instance terminated")
	// ErrPendingUntilStart: the instance is stopped; EC2 has accepted the
	// change and applies it when the instance next starts. It is not a
	// failure: the change is recorded, and a stopped instance has no metadata
	// service to protect.
	ErrPendingUntilStart = errors.New("instance stopped: options apply when it starts")
	// ErrIMDSv2Enforced: the account enforces IMDSv2 (HttpTokensEnforced
	// "enabled"), so EC2 refuses to turn IMDSv1 back on or to launch with it.
	ErrIMDSv2Enforced = errors.New("account enforces IMDSv2")
	// ErrUnauthorized: the caller lacks permission (UnauthorizedOperation).
	ErrUnauthorized = errors.New("not authorized")
	// ErrDryRunIgnored: a DryRun call succeeded instead of answering
	// DryRunOperation, so the endpoint did not honour DryRun and may have
	// applied the change. Some emulators do this; EC2 does not.
	ErrDryRunIgnored = errors.New("DryRun not honoured by the endpoint")
	// ErrDowngrade: the change weakens the instance (see [Set.Downgrade])
	// and FleetOptions.AllowDowngrade is not set, so it is not sent.
	ErrDowngrade = errors.New("change weakens the instance")
	// ErrIMDSv1InUse: the instance answered IMDSv1 calls (CloudWatch
	// MetadataNoToken) within FleetOptions.IMDSv1Window, so requiring tokens
	// would break whatever made them.
	ErrIMDSv1InUse = errors.New("instance used IMDSv1")
	// ErrIMDSv1Unknown: the instance's IMDSv1 use over the window could not
	// be measured (CloudWatch failed, answered incompletely, or has no
	// datapoint), so the gate holds it as it would one that used IMDSv1; or
	// a rollout could not measure the IMDSv1 calls it rejected, so the
	// rollout halts as it would for rejected calls.
	ErrIMDSv1Unknown = errors.New("IMDSv1 use unknown")
	// ErrIMDSv1Rejected: the instance refused IMDSv1 calls after a rollout
	// made it require tokens (CloudWatch MetadataNoTokenRejected above
	// zero): software on it still uses IMDSv1, and the change broke it.
	ErrIMDSv1Rejected = errors.New("instance rejected IMDSv1 calls")
	// ErrRolloutHalted: a wave of a [Rollout] failed, so the rollout
	// stopped: instances of later waves are reported StatusNotAttempted.
	// The error says why the wave failed.
	ErrRolloutHalted = errors.New("rollout halted")
	// ErrJournalWrite: a record of FleetOptions.Journal could not be
	// written, so the operation stopped before its next call: nothing was
	// changed that the journal does not record.
	ErrJournalWrite = errors.New("journal not written")
	// ErrBadJournal: [ReadJournal] refused a journal: it is not one this
	// package wrote (the message names the line), was written in another
	// account or Region, or says what ResumeFleet cannot go on with.
	ErrBadJournal = errors.New("journal refused")
	// ErrChangedSince: the instance's options are neither those a journal
	// recorded before its run nor any it set: someone changed them since,
	// so [UndoFleet] leaves them to a person (StatusNeedsPerson).
	ErrChangedSince = errors.New("options changed since the journal's run")
	// ErrExcluded: a named instance exists but the Selection's filters or
	// tags leave it out.
	ErrExcluded = errors.New("excluded by the selection")
	// ErrContainerHopLimit: the change would make a container host (see
	// FleetItem.Container) require tokens with a hop limit below 2. A
	// container is one network hop further from IMDS than its instance, so
	// its token requests get no answer, its SDKs time out and fall back to
	// IMDSv1, which is then refused; its IMDSv1 calls look like any other
	// to the IMDSv1 gate. The instance is held (StatusHeld);
	// FleetOptions.ContainerHopLimit gives it the hop limit it needs in the
	// same change.
	ErrContainerHopLimit = errors.New("container host would require tokens with a hop limit below 2")
	// ErrTagKeys: the change turns instance tags in the metadata on
	// (InstanceMetadataTags "enabled") for an instance with a tag key EC2
	// cannot serve there: one outside [0-9a-zA-Z\-_+=,.@:]{1,255}, or
	// ".", ".." or "_index" (Kubernetes' and Karpenter's keys with a
	// slash are such keys). EC2 refuses the call (InvalidParameterValue),
	// so it is not sent (StatusCannotApply); the message names the keys.
	ErrTagKeys = errors.New("tag keys EC2 cannot serve in the instance metadata")
	// ErrEndpointDisabled: the change sets HttpTokens, the hop limit or
	// HttpProtocolIpv6 on an instance whose metadata endpoint is disabled
	// after the call (it is, and the change does not enable it, or the
	// change disables it). EC2 refuses those unless the same call enables
	// the endpoint, so it is not sent (StatusCannotApply). With the
	// endpoint off, nothing on the instance reaches IMDS; enabling it is a
	// downgrade (see [Set.Downgrade]).
	ErrEndpointDisabled = errors.New("metadata endpoint disabled")
	// ErrTooManyFailures: a fleet operation stopped early because
	// FleetOptions.MaxConsecutiveFailures calls in a row failed (the
	// endpoint is unreachable, or every call is refused), or the calls of
	// an API were throttled throughout FleetOptions.ThrottleBudget; the
	// last failure is wrapped. Instances not started are reported
	// StatusNotAttempted.
	ErrTooManyFailures = pace.ErrTooManyFailures
)

// ValidationError reports one invalid value: the field it was given for, the
// value, and the rule it breaks. It matches errors.Is(err, ErrInvalid).
type ValidationError struct {
	Field string // EC2's name of the field, e.g. "HttpPutResponseHopLimit"
	Value string // the value as given: quoted, control characters escaped, long values cut
	Rule  string // what the value must be, e.g. "must be 1..64"
}

// Error returns "imdsopts: Field Value: Rule".
func (e *ValidationError) Error() string {
	if e == nil {
		return "imdsopts: " + ErrInvalid.Error()
	}
	return "imdsopts: " + e.Field + " " + e.Value + ": " + e.Rule
}

// Is reports whether target is ErrInvalid.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }

// misuse reports a nil or otherwise unusable argument.
func misuse(field, value, rule string) error {
	return &ValidationError{Field: field, Value: value, Rule: rule}
}

// CallError wraps err, the final error of a call that asked for the change
// s on instance id, adding the sentinel its code means (ErrUnauthorized,
// ErrInstanceNotFound, ErrIMDSv2Enforced), so callers branch with
// errors.Is.
func (s Set) CallError(id string, err error) error {
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) {
		return fmt.Errorf("imdsopts: %s: %w", id, err)
	}
	switch apiErr.ErrorCode() {
	case "UnauthorizedOperation":
		return fmt.Errorf("imdsopts: %s: %w: %w", id, ErrUnauthorized, err)
	case "InvalidInstanceID.NotFound":
		return fmt.Errorf("imdsopts: %s: %w: %w", id, ErrInstanceNotFound, err)
	case "UnsupportedOperation":
		if !enforcementRefusal(apiErr) {
			break
		}
		if s.tokens == types.HttpTokensStateOptional {
			return fmt.Errorf("imdsopts: %s: HttpTokens \"optional\": %w: %w", id, ErrIMDSv2Enforced, err)
		}
		return fmt.Errorf("imdsopts: %s: %w: %w", id, ErrIMDSv2Enforced, err)
	}
	return fmt.Errorf("imdsopts: %s: %w", id, err)
}

// enforcementRefusal reports whether an UnsupportedOperation answer is the
// account's enforcement of IMDSv2 refusing a change. EC2 answers other
// refusals with the same code (HttpProtocolIpv6 on a Xen instance type, for
// one), and the wording of this one varies: the User Guide shows the
// launch's text ("You can't launch instances with IMDSv1 because
// httpTokensEnforced is enabled..."), another source reports "You can't set
// httpTokens to 'optional' because httpTokensEnforced is enabled...". Both
// name the setting, so the setting's name is what is matched.
func enforcementRefusal(apiErr smithy.APIError) bool {
	return apiErr.ErrorCode() == "UnsupportedOperation" &&
		strings.Contains(strings.ToLower(apiErr.ErrorMessage()), "httptokensenforced")
}

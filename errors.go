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
	// and the operation was not told to allow it (in package fleet,
	// Options.AllowDowngrade), so it is not sent.
	ErrDowngrade = errors.New("change weakens the instance")
	// ErrTooManyFailures: an operation over many instances or resources
	// stopped early because MaxConsecutiveFailures calls in a row failed
	// (the endpoint is unreachable, or every call is refused), or the calls
	// of an API were throttled throughout its ThrottleBudget (see
	// fleet.Options); the last failure is wrapped. What was not started is
	// reported not attempted.
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

package imdsopts

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"syscall"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
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
	ErrTimeout = errors.New("timed out")
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
	ErrTooManyFailures = errors.New("too many consecutive failures")
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

// maxEchoed is how many bytes of a bad value a ValidationError repeats.
const maxEchoed = 64

// quote returns s as a Go string literal, control characters escaped, cut to
// its first maxEchoed bytes (at a character boundary) with its length named,
// so that a bad value is safe to print however large or strange it is.
func quote(s string) string {
	if len(s) <= maxEchoed {
		return strconv.Quote(s)
	}
	cut := maxEchoed
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strconv.Quote(s[:cut]) + "... (" + strconv.Itoa(len(s)) + " bytes)"
}

// misuse reports a nil or otherwise unusable argument.
func misuse(field, value, rule string) error {
	return &ValidationError{Field: field, Value: value, Rule: rule}
}

// apiFailure wraps a final API error about instance id, adding the sentinel
// its code means. s is the change that was asked for.
func apiFailure(id string, s Set, err error) error {
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

// httpStatus returns the HTTP status of the answer err came from, or 0 when
// no answer arrived (a connection, TLS or time-out failure, a cancelled
// call).
func httpStatus(err error) int {
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

// throttled reports whether err is a throttling answer, by the SDK's list
// of throttling error codes (RequestLimitExceeded and its kin), plus EC2's
// answer to a call over a resource-rate bucket.
func throttled(err error) bool {
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) {
		return false
	}
	_, ok := retry.DefaultThrottleErrorCodes[apiErr.ErrorCode()]
	return ok || apiErr.ErrorCode() == "RequestResourceCountExceeded"
}

// retryable reports whether a call that failed with err is worth making
// again: the service answered that it is throttling the caller or failed
// itself (HTTP 5xx). A call that got no answer at all is not: the SDK's own
// retryer has already tried it again, and an endpoint that cannot be
// reached should end the operation at once, not after minutes.
//
// A response cut short, the connection closed while its body was read
// (net.ErrClosed after an HTTP status), is tried again too, as the SDK's
// retryer does by default: the service answered, the transport broke.
func retryable(err error) bool {
	status := httpStatus(err)
	return throttled(err) || status >= 500 || status > 0 && errors.Is(err, net.ErrClosed)
}

// mayHaveBeenMade reports whether a call that ended with err (after it was
// sent) may have changed something: EC2 answered a failure of its own (HTTP
// 5xx, not throttling), or nothing reached the caller and the request may
// have reached EC2 (a time-out waiting for the answer, a connection lost
// after the request was written, the context ended meanwhile). An answer
// that refuses the call (4xx, throttling) says nothing was changed; so does
// a failure that comes before any request is written: the connection was
// refused or never made, the name did not resolve, TLS failed.
func mayHaveBeenMade(err error) bool {
	if status := httpStatus(err); status != 0 {
		return status >= 500 && !throttled(err)
	}
	return !notSent(err)
}

// notSent reports whether err happened before a request was written: no
// connection was made (refused, unreachable, timed out dialling), the
// endpoint's name did not resolve, or the TLS handshake failed.
func notSent(err error) bool {
	var dns *net.DNSError
	var op *net.OpError
	var rec tls.RecordHeaderError
	var alert tls.AlertError
	var verify *tls.CertificateVerificationError
	var unknown x509.UnknownAuthorityError
	var host x509.HostnameError
	var invalid x509.CertificateInvalidError
	return errors.As(err, &dns) || errors.As(err, &op) && op.Op == "dial" || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.As(err, &rec) || errors.As(err, &alert) || errors.As(err, &verify) ||
		errors.As(err, &unknown) || errors.As(err, &host) || errors.As(err, &invalid)
}

// isNotFound reports whether EC2 answered InvalidInstanceID.NotFound.
func isNotFound(err error) bool {
	var apiErr smithy.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode() == "InvalidInstanceID.NotFound"
}

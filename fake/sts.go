package fake

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"
	"golang.org/x/time/rate"
)

// STS operations, service ID and error codes.
const (
	opAssumeRole        = "AssumeRole"
	opGetCallerIdentity = "GetCallerIdentity"

	stsService       = "STS"
	stsValidation    = "ValidationError"
	stsAccessDenied  = "AccessDenied"
	stsThrottling    = "Throttling"
	stsInternalError = "InternalFailure"
)

var (
	externalIDPattern  = regexp.MustCompile(`^[\w+=,.@:/-]*$`)
	sessionNamePattern = regexp.MustCompile(`^[\w+=,.@-]*$`)
	roleARNPattern     = regexp.MustCompile(`^arn:aws:iam::(\d{12}):role/(.+)$`)
)

// STS is an in-memory model of the AWS STS operations that reach the
// accounts of an [Organization]: AssumeRole and GetCallerIdentity, with
// exactly the signatures of the methods of *sts.Client, so that
// stscreds.NewAssumeRoleProvider accepts it. It calls as one principal:
// [Organization.STS] returns the STS of the management account's user
// (access key [ManagementAccessKeyID]); the handler gives every request
// the STS of its signature's caller. An STS is safe for concurrent use.
//
// The organisation's STS state is shared by every caller's STS: FailNext
// queues failures for whoever calls next, and Calls counts every caller's
// calls.
type STS struct {
	org    *Organization
	caller *session
}

// STS returns the STS of the management account's user.
func (o *Organization) STS() *STS {
	return &STS{org: o, caller: o.user}
}

// FailNext makes the next n calls of operation ("AssumeRole" or
// "GetCallerIdentity"), by any caller, return err without any other
// effect. err is wrapped in a *smithy.OperationError with ServiceID "STS",
// unless it already is one; build service errors with NewAPIError, such as
// NewAPIError(400, "Throttling", "Rate exceeded"). A nil err injects
// InternalFailure with HTTP status 500.
func (s *STS) FailNext(operation string, n int, err error) {
	if err == nil {
		err = NewAPIError(500, stsInternalError, "An internal error has occurred.")
	}
	s.org.mu.Lock()
	defer s.org.mu.Unlock()
	s.org.sts.failNext(operation, n, err)
}

// Calls reports how many times operation was called, by any caller,
// including calls that failed.
func (s *STS) Calls(operation string) int {
	s.org.mu.Lock()
	defer s.org.mu.Unlock()
	return s.org.sts.calls[operation]
}

// Throttled reports how many calls of operation were refused with
// Throttling by OrganizationOptions.STSRequests. Failures injected with
// FailNext are not included.
func (s *STS) Throttled(operation string) int {
	s.org.mu.Lock()
	defer s.org.mu.Unlock()
	return s.org.sts.throttled[operation]
}

// begin is the first step of every STS operation and must be called with
// s.org.mu held: it counts the call, then answers a canceled context, an
// injected fault, credentials no longer valid (the caller's account was
// suspended or removed, or its session expired: see the package
// documentation), and an empty request bucket.
func (s *STS) begin(ctx context.Context, op string, now time.Time) error {
	o := s.org
	if ctx != nil {
		if err := ctx.Err(); err != nil {
			o.sts.calls[op]++
			return wrapService(stsService, op, &smithy.CanceledError{Err: err})
		}
	}
	if err := o.sts.begin(stsService, op); err != nil {
		return err
	}
	if s.caller == nil {
		return stsAuthError(op, authUnknownKey)
	}
	if _, why := o.callerLocked(s.caller.key, s.caller.token, now); why != 0 {
		return stsAuthError(op, why)
	}
	if b := o.opts.STSRequests; b.Size > 0 {
		lim := o.stsLimits[s.caller.account.id]
		if lim == nil {
			lim = rate.NewLimiter(rate.Limit(max(b.Refill, 0)), b.Size)
			o.stsLimits[s.caller.account.id] = lim
		}
		if !lim.AllowN(now, 1) {
			o.sts.throttled[op]++
			return stsError(op, 400, stsThrottling, "Rate exceeded")
		}
	}
	return nil
}

// validExternalID reports whether s is an external ID as STS's model
// constrains them: 2 to 1224 letters, digits and +=,.@:/_-.
func validExternalID(s string) bool {
	return len(s) >= 2 && len(s) <= 1224 && externalIDPattern.MatchString(s)
}

func stsError(op string, status int, code, format string, args ...any) error {
	return wrapService(stsService, op, NewAPIError(status, code, fmt.Sprintf(format, args...)))
}

func stsAuthError(op string, why authFailure) error {
	a := queryAuth.answer(why)
	return wrapService(stsService, op, NewAPIError(a.status, a.code, a.message))
}

// stsInvalid answers a parameter that breaks a constraint of STS's model,
// in the words of STS's validation errors.
func stsInvalid(op, member, value, constraint string) error {
	return stsError(op, 400, stsValidation, "1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: Member must %s", value, member, constraint)
}

// AssumeRole assumes role RoleArn of an account of the organisation and
// answers temporary credentials whose access key ID (ASIA and 16 letters
// or digits) acts as the role in its account, for every service of the
// [Organization]: requests signed with it reach the role's account, and
// GetCallerIdentity names the assumed role. The credentials expire after
// DurationSeconds (900 to the role's MaxSessionDuration; 3600 when
// omitted; at most 3600 for a caller that is itself a role session, as
// role chaining allows), after which every service refuses them.
//
// RoleArn must be arn:aws:iam::ACCOUNT:role/NAME (20 to 2048 characters,
// else ValidationError "Request ARN is invalid"); RoleSessionName 2 to 64
// letters, digits and +=,.@_-; ExternalId 2 to 1224 letters, digits and
// +=,.@:/_-. A request that breaks these is answered ValidationError (HTTP
// 400). A role the caller cannot assume is answered AccessDenied (HTTP
// 403), as STS answers it, whatever the reason: the account is not in the
// organisation (or was removed, or is suspended), it has no such role, the
// role requires an ExternalId and the request gave another or none, or the
// caller is not of the management account, the only account the roles
// trust. Policy, PolicyArns, Tags and the other members are accepted and
// not modelled.
func (s *STS) AssumeRole(ctx context.Context, params *sts.AssumeRoleInput, optFns ...func(*sts.Options)) (*sts.AssumeRoleOutput, error) {
	const op = opAssumeRole
	o := s.org
	o.mu.Lock()
	defer o.mu.Unlock()
	now := time.Now()
	if err := s.begin(ctx, op, now); err != nil {
		return nil, err
	}
	if params == nil {
		params = &sts.AssumeRoleInput{}
	}
	arn, name := aws.ToString(params.RoleArn), aws.ToString(params.RoleSessionName)
	switch {
	case params.RoleArn == nil:
		return nil, stsInvalid(op, "roleArn", "null", "not be null")
	case params.RoleSessionName == nil:
		return nil, stsInvalid(op, "roleSessionName", "null", "not be null")
	case len(arn) < 20 || len(arn) > 2048:
		return nil, stsInvalid(op, "roleArn", echo(arn), "have length between 20 and 2048")
	case len(name) < 2 || len(name) > 64:
		return nil, stsInvalid(op, "roleSessionName", echo(name), "have length between 2 and 64")
	case !sessionNamePattern.MatchString(name):
		return nil, stsInvalid(op, "roleSessionName", echo(name), `satisfy regular expression pattern: [\w+=,.@-]*`)
	case params.ExternalId != nil && !validExternalID(*params.ExternalId):
		return nil, stsInvalid(op, "externalId", echo(*params.ExternalId), `satisfy regular expression pattern: [\w+=,.@:\/-]* and have length between 2 and 1224`)
	}
	duration := int32(3600)
	if params.DurationSeconds != nil {
		duration = *params.DurationSeconds
		if duration < 900 || duration > 43200 {
			return nil, stsInvalid(op, "durationSeconds", fmt.Sprint(duration), "have value between 900 and 43200")
		}
	}
	m := roleARNPattern.FindStringSubmatch(arn)
	if m == nil {
		return nil, stsError(op, 400, stsValidation, "Request ARN is invalid")
	}
	// STS answers every role it will not let the caller assume alike, so
	// that callers cannot probe for roles; the message is STS's as users
	// report it (unverified). That the roles trust the management
	// account alone is the fake's model of OrganizationAccountAccessRole,
	// not a rule of STS.
	denied := stsError(op, 403, stsAccessDenied, "User: %s is not authorized to perform: sts:AssumeRole on resource: %s", s.caller.arn, echo(arn))
	a := o.accounts[m[1]]
	if a == nil || a.state != accountActive || s.caller.account != o.mgmt {
		return nil, denied
	}
	role, ok := a.roles[m[2]]
	if !ok || role.opts.ExternalID != "" && aws.ToString(params.ExternalId) != role.opts.ExternalID {
		return nil, denied
	}
	// Role chaining's one-hour limit is documented with the
	// DurationSeconds parameter; the wording of both refusals is
	// unverified.
	switch {
	case s.caller.role != "" && duration > 3600:
		return nil, stsError(op, 400, stsValidation, "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.")
	case time.Duration(duration)*time.Second > role.opts.MaxSessionDuration:
		return nil, stsError(op, 400, stsValidation, "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
	}

	key := o.mintKey()
	sess := &session{
		key:     key,
		token:   "fake-session-token/" + key,
		account: a,
		arn:     fmt.Sprintf("arn:aws:sts::%s:assumed-role/%s/%s", a.id, m[2], name),
		userID:  role.id + ":" + name,
		role:    m[2],
		expires: now.Add(time.Duration(duration) * time.Second).Truncate(time.Second),
	}
	o.keys[key] = sess
	return &sts.AssumeRoleOutput{
		AssumedRoleUser: &ststypes.AssumedRoleUser{Arn: aws.String(sess.arn), AssumedRoleId: aws.String(sess.userID)},
		Credentials: &ststypes.Credentials{
			AccessKeyId:     aws.String(key),
			SecretAccessKey: aws.String(strings.Repeat("s", 20) + key[4:] + "0000"),
			SessionToken:    aws.String(sess.token),
			Expiration:      aws.Time(sess.expires),
		},
		SourceIdentity: params.SourceIdentity,
	}, nil
}

// GetCallerIdentity answers the caller's account, ARN and user ID: the
// management account's user (arn:aws:iam::ID:user/test) for
// [ManagementAccessKeyID], the assumed role
// (arn:aws:sts::ID:assumed-role/ROLE/SESSION) for credentials of
// AssumeRole.
func (s *STS) GetCallerIdentity(ctx context.Context, params *sts.GetCallerIdentityInput, optFns ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error) {
	const op = opGetCallerIdentity
	s.org.mu.Lock()
	defer s.org.mu.Unlock()
	if err := s.begin(ctx, op, time.Now()); err != nil {
		return nil, err
	}
	return &sts.GetCallerIdentityOutput{
		Account: aws.String(s.caller.account.id),
		Arn:     aws.String(s.caller.arn),
		UserId:  aws.String(s.caller.userID),
	}, nil
}

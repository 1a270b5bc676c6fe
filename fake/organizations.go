package fake

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/smithy-go"
)

// Organizations operations and service ID.
const (
	opListAccounts = "ListAccounts"

	orgsService = "Organizations"

	// maxAccountsPage is the largest MaxResults of ListAccounts, and the
	// page size when it is omitted (unverified: Organizations does not
	// document its default).
	maxAccountsPage = 20
)

// Organizations is an in-memory model of the AWS Organizations operation
// that lists an [Organization]'s accounts, ListAccounts, with exactly the
// signature of the method of *organizations.Client. Like [STS], it calls
// as one principal: [Organization.Organizations] returns the management
// account's, the handler gives every request its signature's caller's. An
// Organizations is safe for concurrent use; FailNext, EmptyPages and Calls
// act on the organisation's state, shared by every caller.
type Organizations struct {
	org    *Organization
	caller *session
}

// Organizations returns the Organizations service of the management
// account's user.
func (o *Organization) Organizations() *Organizations {
	return &Organizations{org: o, caller: o.user}
}

// FailNext makes the next n calls of operation ("ListAccounts"), by any
// caller, return err without any other effect. err is wrapped in a
// *smithy.OperationError with ServiceID "Organizations", unless it already
// is one; build service errors with NewAPIError, such as
// NewAPIError(400, "TooManyRequestsException", "..."). A nil err injects
// ServiceException with HTTP status 500.
func (s *Organizations) FailNext(operation string, n int, err error) {
	if err == nil {
		err = responseError(500, &orgtypes.ServiceException{Message: aws.String("AWS Organizations can't complete your request because of an internal service error. Try again later.")})
	}
	s.org.mu.Lock()
	defer s.org.mu.Unlock()
	s.org.orgs.failNext(operation, n, err)
}

// EmptyPages makes the next n ListAccounts calls that would answer
// accounts answer an empty page with a NextToken instead, from which the
// listing goes on where that call would have started. Organizations
// documents that its listings can do this ("always check the NextToken
// response parameter value, even if you receive an empty result set"):
// EmptyPages lets a test check that a caller keeps paging.
func (s *Organizations) EmptyPages(n int) {
	s.org.mu.Lock()
	defer s.org.mu.Unlock()
	s.org.orgs.empty += max(n, 0)
}

// Calls reports how many times operation was called, by any caller,
// including calls that failed.
func (s *Organizations) Calls(operation string) int {
	s.org.mu.Lock()
	defer s.org.mu.Unlock()
	return s.org.orgs.calls[operation]
}

func orgsError(op string, err error) error {
	return wrapService(orgsService, op, responseError(400, err))
}

// ListAccounts lists the accounts of the organisation, the management
// account first, in the order they were added: ACTIVE ones and SUSPENDED
// ones (Status and State both), not removed ones. Pages hold MaxResults
// accounts (1 to 20; 20 when omitted) and end with a NextToken when more
// follow; an account added or removed between pages is never listed twice,
// nor makes another one missed. Only callers of the management account may
// list (others are answered AccessDeniedException, HTTP 400, as are
// credentials no longer valid: see the package documentation); MaxResults
// out of range and unknown tokens are answered InvalidInputException (HTTP
// 400).
func (s *Organizations) ListAccounts(ctx context.Context, params *organizations.ListAccountsInput, optFns ...func(*organizations.Options)) (*organizations.ListAccountsOutput, error) {
	const op = opListAccounts
	o := s.org
	o.mu.Lock()
	defer o.mu.Unlock()
	if ctx != nil {
		if err := ctx.Err(); err != nil {
			o.orgs.calls[op]++
			return nil, wrapService(orgsService, op, &smithy.CanceledError{Err: err})
		}
	}
	if err := o.orgs.begin(orgsService, op); err != nil {
		return nil, err
	}
	if s.caller == nil {
		return nil, orgsAuthError(op, authUnknownKey)
	}
	if _, why := o.callerLocked(s.caller.key, s.caller.token, time.Now()); why != 0 {
		return nil, orgsAuthError(op, why)
	}
	// Delegated administrators are not modelled: every member is
	// refused, with a message modelled on Organizations' (unverified).
	if s.caller.account != o.mgmt {
		return nil, orgsError(op, &orgtypes.AccessDeniedException{Message: aws.String("You don't have permissions to access this resource.")})
	}
	if params == nil {
		params = &organizations.ListAccountsInput{}
	}
	// The model bounds MaxResults to 1..20; the exception and reason
	// answered out of those bounds, and for an unknown token, are
	// unverified.
	limit := maxAccountsPage
	if m := params.MaxResults; m != nil {
		if *m < 1 || *m > maxAccountsPage {
			reason := orgtypes.InvalidInputExceptionReasonMinValueExceeded
			if *m > maxAccountsPage {
				reason = orgtypes.InvalidInputExceptionReasonMaxValueExceeded
			}
			return nil, orgsError(op, &orgtypes.InvalidInputException{Reason: reason,
				Message: aws.String(fmt.Sprintf("You provided a value (%d) for MaxResults that is out of range 1 to %d.", *m, maxAccountsPage))})
		}
		limit = int(*m)
	}
	var from *pageKey
	if t := aws.ToString(params.NextToken); t != "" {
		k, ok := decodePageToken("accounts", t)
		if !ok {
			return nil, orgsError(op, &orgtypes.InvalidInputException{Reason: orgtypes.InvalidInputExceptionReasonInvalidPaginationToken,
				Message: aws.String("You specified an invalid value for nextToken.")})
		}
		from = &k
	}
	page, next := paginate(o.order, func(a *Account) pageKey { return pageKey{a.seq} }, from, limit)
	out := &organizations.ListAccountsOutput{Accounts: []orgtypes.Account{}}
	if o.orgs.empty > 0 && len(page) > 0 {
		o.orgs.empty--
		out.NextToken = aws.String(encodePageToken("accounts", pageKey{page[0].seq}))
		return out, nil
	}
	for _, a := range page {
		out.Accounts = append(out.Accounts, a.describe(o))
	}
	if next != nil {
		out.NextToken = aws.String(encodePageToken("accounts", *next))
	}
	return out, nil
}

// describe answers the account as ListAccounts lists it. o.mu must be
// held.
func (a *Account) describe(o *Organization) orgtypes.Account {
	status, state := orgtypes.AccountStatusActive, orgtypes.AccountStateActive
	if a.state == accountSuspended {
		status, state = orgtypes.AccountStatusSuspended, orgtypes.AccountStateSuspended
	}
	return orgtypes.Account{
		Arn:             aws.String(fmt.Sprintf("arn:aws:organizations::%s:account/%s/%s", o.mgmt.id, o.opts.ID, a.id)),
		Email:           aws.String(a.email),
		Id:              aws.String(a.id),
		JoinedMethod:    orgtypes.AccountJoinedMethod(a.method),
		JoinedTimestamp: aws.Time(a.joined),
		Name:            aws.String(a.name),
		State:           state,
		Status:          status,
	}
}

func orgsAuthError(op string, why authFailure) error {
	a := jsonAuth.answer(why)
	return wrapService(orgsService, op, NewAPIError(a.status, a.code, a.message))
}

package fake

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"unicode/utf8"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// EC2 error codes the fake answers.
const (
	codeDryRun                = "DryRunOperation"
	codeUnauthorized          = "UnauthorizedOperation"
	codeMissingParameter      = "MissingParameter"
	codeInvalidParameterValue = "InvalidParameterValue"
	codeInvalidCombination    = "InvalidParameterCombination"
	codeUnsupported           = "UnsupportedOperation"
	codeIncorrectState        = "IncorrectInstanceState"
	codeInstanceNotFound      = "InvalidInstanceID.NotFound"
	codeInstanceMalformed     = "InvalidInstanceID.Malformed"
	codeAMINotFound           = "InvalidAMIID.NotFound"
	codeAMIMalformed          = "InvalidAMIID.Malformed"
	codeAMINameDuplicate      = "InvalidAMIName.Duplicate"
	codeInstanceLimit         = "InstanceLimitExceeded"
)

var requestSeq atomic.Uint64

// NewAPIError returns an error shaped like the one the SDK decodes from an
// EC2 error response: a *awshttp.ResponseError carrying the HTTP status and a
// request ID, around a *smithy.GenericAPIError with code and message. Its
// fault is smithy.FaultServer for statuses of 500 and above, otherwise
// smithy.FaultClient. Pass it to FailNext to inject service errors such as
// RequestLimitExceeded.
func NewAPIError(httpStatus int, code, message string) error {
	fault := smithy.FaultClient
	if httpStatus >= 500 {
		fault = smithy.FaultServer
	}
	return responseError(httpStatus, &smithy.GenericAPIError{Code: code, Message: message, Fault: fault})
}

// responseError returns apiErr inside a *awshttp.ResponseError that
// carries httpStatus and a request ID, as the SDK decodes error responses.
func responseError(httpStatus int, apiErr error) error {
	n := requestSeq.Add(1)
	return &awshttp.ResponseError{
		ResponseError: &smithyhttp.ResponseError{
			Response: &smithyhttp.Response{Response: &http.Response{
				StatusCode: httpStatus,
				Header:     http.Header{},
			}},
			Err: apiErr,
		},
		RequestID: fmt.Sprintf("00000000-0000-4000-8000-%012x", n),
	}
}

// wrap returns err as the SDK returns errors from EC2 operation op.
func wrap(op string, err error) error {
	return wrapService("EC2", op, err)
}

// wrapService returns err as the SDK client of service returns errors from
// operation op: inside a *smithy.OperationError, unless it already is one.
func wrapService(service, op string, err error) error {
	var oe *smithy.OperationError
	if errors.As(err, &oe) {
		return err
	}
	return &smithy.OperationError{ServiceID: service, OperationName: op, Err: err}
}

// apiError returns the error an EC2 error response to op decodes to.
func apiError(op string, status int, code, format string, args ...any) error {
	return wrap(op, NewAPIError(status, code, capMessage(fmt.Sprintf(format, args...))))
}

// maxMessage bounds an error message, which may echo what the request
// sent: a 100 KB NextToken or ID is not sent back whole.
const maxMessage = 1024

// capMessage cuts msg to maxMessage bytes at most, at a rune boundary,
// saying how long it was.
func capMessage(msg string) string {
	if len(msg) <= maxMessage {
		return msg
	}
	cut := maxMessage / 2
	for cut > 0 && !utf8.RuneStart(msg[cut]) {
		cut--
	}
	return fmt.Sprintf("%s... (%d bytes in all)", msg[:cut], len(msg))
}

// badRequest returns a validation error (HTTP 400) of op.
func badRequest(op, code, format string, args ...any) error {
	return apiError(op, 400, code, format, args...)
}

func missingParameter(op, name string) error {
	return badRequest(op, codeMissingParameter, "The request must contain the parameter %s", name)
}

func invalidValue(op, name string, value any) error {
	return badRequest(op, codeInvalidParameterValue, "Value (%v) for parameter %s is invalid.", value, name)
}

func instanceMalformed(op, id string) error {
	return badRequest(op, codeInstanceMalformed, "Invalid id: %q", id)
}

func instancesNotFound(op string, ids []string) error {
	if len(ids) == 1 {
		return badRequest(op, codeInstanceNotFound, "The instance ID '%s' does not exist", ids[0])
	}
	return badRequest(op, codeInstanceNotFound, "The instance IDs '%s' do not exist", strings.Join(ids, ", "))
}

// incorrectState answers an action on an instance whose state forbids it;
// verb is what was attempted ("started", "stopped", "modified").
func incorrectState(op, id, verb string) error {
	return badRequest(op, codeIncorrectState, "The instance '%s' is not in a state from which it can be %s.", id, verb)
}

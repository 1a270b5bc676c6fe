package retry

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"syscall"

	awsretry "github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
)

// Which failures are worth another attempt, and what a failure says about
// the call: whether an answer came, whether the call may have changed
// something.

// HTTPStatus returns the HTTP status of the answer err came from, or 0 when
// no answer arrived (a connection, TLS or time-out failure, a cancelled
// call).
func HTTPStatus(err error) int {
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

// Throttled reports whether err is a throttling answer, by the SDK's list
// of throttling error codes (RequestLimitExceeded and its kin), plus EC2's
// answer to a call over a resource-rate bucket.
func Throttled(err error) bool {
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) {
		return false
	}
	_, ok := awsretry.DefaultThrottleErrorCodes[apiErr.ErrorCode()]
	return ok || apiErr.ErrorCode() == "RequestResourceCountExceeded"
}

// Retryable reports whether a call that failed with err is worth making
// again: the service answered that it is throttling the caller or failed
// itself (HTTP 5xx). A call that got no answer at all is not: the SDK's own
// retryer has already tried it again, and an endpoint that cannot be
// reached should end the operation at once, not after minutes.
//
// A response cut short, the connection closed while its body was read
// (net.ErrClosed after an HTTP status), is tried again too, as the SDK's
// retryer does by default: the service answered, the transport broke.
func Retryable(err error) bool {
	status := HTTPStatus(err)
	return Throttled(err) || status >= 500 || status > 0 && errors.Is(err, net.ErrClosed)
}

// MayHaveBeenMade reports whether a call that ended with err (after it was
// sent) may have changed something: EC2 answered a failure of its own (HTTP
// 5xx, not throttling), or nothing reached the caller and the request may
// have reached EC2 (a time-out waiting for the answer, a connection lost
// after the request was written, the context ended meanwhile). An answer
// that refuses the call (4xx, throttling) says nothing was changed; so does
// a failure that comes before any request is written: the connection was
// refused or never made, the name did not resolve, TLS failed.
func MayHaveBeenMade(err error) bool {
	if status := HTTPStatus(err); status != 0 {
		return status >= 500 && !Throttled(err)
	}
	return !NotSent(err)
}

// NotSent reports whether err happened before a request was written: no
// connection was made (refused, unreachable, timed out dialling), the
// endpoint's name did not resolve, or the TLS handshake failed.
func NotSent(err error) bool {
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

// IsNotFound reports whether EC2 answered InvalidInstanceID.NotFound.
func IsNotFound(err error) bool {
	var apiErr smithy.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode() == "InvalidInstanceID.NotFound"
}

// APICode returns the error code of the API error err wraps, or "".
func APICode(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return ""
}

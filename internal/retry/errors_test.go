package retry

import (
	"context"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"syscall"
	"testing"

	"net/http"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// TestMayHaveBeenMade: a call is said to have maybe changed something only
// when EC2 answered a failure of its own or the request may have reached
// it and its answer was lost; never for a refusal, a throttled call, or a
// failure that comes before any request is written.
func TestMayHaveBeenMade(t *testing.T) {
	answer := func(status int, code string) error {
		return &smithy.OperationError{ServiceID: "EC2", OperationName: "ModifyInstanceMetadataOptions", Err: &awshttp.ResponseError{
			ResponseError: &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}},
				Err: &smithy.GenericAPIError{Code: code, Message: "m"}}}}
	}
	send := func(err error) error {
		return &smithy.OperationError{ServiceID: "EC2", OperationName: "ModifyInstanceMetadataOptions", Err: &smithyhttp.RequestSendError{Err: err}}
	}
	for _, tt := range []struct {
		name string
		err  error
		want bool
	}{
		{"refused: not found", answer(400, "InvalidInstanceID.NotFound"), false},
		{"refused: invalid", answer(400, "InvalidParameterCombination"), false},
		{"throttled", answer(503, "RequestLimitExceeded"), false},
		{"EC2's own failure", answer(500, "InternalError"), true},
		{"unavailable", answer(503, "Unavailable"), true},
		{"connection refused", send(&net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}), false},
		{"name not resolved", send(&net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: "ec2.example"}}), false},
		{"TLS: unknown authority", send(&tls509{x509.UnknownAuthorityError{}}), false},
		{"read time-out", send(&net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded}), true},
		{"connection reset after writing", send(&net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}), true},
		{"cancelled in flight", send(context.Canceled), true},
		{"wrapped by the retry loop", fmt.Errorf("%w (last: %w)", context.Canceled, answer(500, "InternalError")), true},
		{"wrapped refusal", fmt.Errorf("%w (last: %w)", context.Canceled, answer(400, "InvalidParameterValue")), false},
	} {
		if got := MayHaveBeenMade(tt.err); got != tt.want {
			t.Errorf("%s: MayHaveBeenMade = %v, want %v (%v)", tt.name, got, tt.want, tt.err)
		}
	}
}

// tls509 wraps an x509 error as crypto/tls returns it from a handshake.
type tls509 struct{ err x509.UnknownAuthorityError }

func (e *tls509) Error() string { return "tls: failed to verify certificate: " + e.err.Error() }
func (e *tls509) Unwrap() error { return e.err }

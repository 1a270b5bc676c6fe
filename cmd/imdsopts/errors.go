package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/aws/smithy-go"

	"github.com/imdsopts/imdsopts"
)

// Exit codes, as the AWS CLI v2 uses them.
const (
	exitOK          = 0
	exitUsage       = 252 // invalid command line or value
	exitConfig      = 253 // bad configuration: profile, region, credentials, CA bundle
	exitService     = 254 // the service answered with an error
	exitOther       = 255 // anything else
	exitInterrupted = 130 // interrupted (Ctrl-C)
)

// exitError is an error that carries the exit code it ends the command with.
type exitError struct {
	code     int
	err      error
	reported bool // already written to stderr
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// usageErrorf reports an invalid command line or value (exit 252).
func usageErrorf(format string, args ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, args...)}
}

// configError reports bad configuration (exit 253).
func configError(err error) error {
	return &exitError{code: exitConfig, err: err}
}

// httpStatusError is implemented by the SDK's response errors.
type httpStatusError interface {
	HTTPStatusCode() int
}

// exitCode maps err to the command's exit code.
func exitCode(ctx context.Context, err error) int {
	var ee *exitError
	var apiErr smithy.APIError
	var status httpStatusError
	switch {
	case err == nil:
		return exitOK
	case ctx.Err() != nil && errors.Is(err, ctx.Err()) || errors.Is(err, context.Canceled) && ctx.Err() != nil:
		return exitInterrupted
	case errors.As(err, &ee):
		return ee.code
	case errors.Is(err, imdsopts.ErrInvalid):
		return exitUsage
	case errors.As(err, &apiErr):
		return exitService
	case errors.As(err, &status) && status.HTTPStatusCode() > 0:
		// The endpoint answered, but with something the SDK could not
		// decode as an API error (an HTML 500 page, for example).
		return exitService
	default:
		return exitOther
	}
}

// reportError writes err to w the way the AWS CLI does for API errors, and
// as "imdsopts: error: ..." otherwise.
func reportError(ctx context.Context, w io.Writer, err error) {
	var apiErr smithy.APIError
	var opErr *smithy.OperationError
	if ctx.Err() != nil && exitCode(ctx, err) == exitInterrupted {
		fmt.Fprintln(w, "\nimdsopts: interrupted")
		return
	}
	var ee *exitError
	if errors.As(err, &ee) && ee.reported {
		return
	}
	if errors.As(err, &ee) && ee.code == exitUsage || errors.Is(err, imdsopts.ErrInvalid) {
		fmt.Fprintf(w, "imdsopts: error: %s\n", strings.TrimPrefix(err.Error(), "imdsopts: "))
		return
	}
	if errors.As(err, &apiErr) && errors.As(err, &opErr) {
		fmt.Fprintf(w, "\n%s\n", apiErrorMessage(opErr.OperationName, apiErr.ErrorCode(), apiErr.ErrorMessage()))
		if extra := contextOf(err, opErr); extra != "" {
			fmt.Fprintln(w, extra)
		}
		return
	}
	fmt.Fprintf(w, "imdsopts: error: %s\n", strings.TrimPrefix(err.Error(), "imdsopts: "))
}

// apiErrorMessage formats an API error as the AWS CLI prints it.
func apiErrorMessage(operation, code, message string) string {
	return fmt.Sprintf("An error occurred (%s) when calling the %s operation: %s", code, operation, message)
}

// contextOf returns what err says beyond the SDK's operation error, such as
// the library's sentinel ("account enforces IMDSv2"), or "".
func contextOf(err error, opErr *smithy.OperationError) string {
	full, inner := err.Error(), opErr.Error()
	if full == inner {
		return ""
	}
	return strings.TrimSpace(strings.TrimSuffix(strings.TrimSuffix(full, inner), ":"))
}

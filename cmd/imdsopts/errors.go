package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/aws/smithy-go"

	"github.com/imdsopts/imdsopts"
	"github.com/imdsopts/imdsopts/internal/awscli"
	"github.com/imdsopts/imdsopts/internal/check"
)

// Exit codes, as the AWS CLI v2 uses them. Only 252 and 253 say that
// nothing was sent; every failure after the first call exits with another
// code (see exitCodeUsage).
const (
	exitOK          = 0
	exitUsage       = 252 // invalid command line or value: nothing was sent
	exitConfig      = 253 // bad configuration: profile, region, credentials, CA bundle
	exitService     = 254 // the service answered with an error
	exitOther       = 255 // anything else, including output that could not be printed as asked
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

// otherError is a failure that is neither the user's nor the service's
// (exit 255), such as output that could not be written.
func otherError(err error) error {
	return &exitError{code: exitOther, err: err}
}

// failures is how a run that did several things ends: the failure that
// decides the exit status first, then the others, such as output that could
// not be printed as asked. reportError prints each in turn.
type failures []error

func (f failures) Error() string {
	msgs := make([]string, len(f))
	for i, e := range f {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

func (f failures) Unwrap() []error { return f }

// joinFailures returns the errors that are not nil as failures, in order:
// nil when there is none, the error itself when there is one.
func joinFailures(errs ...error) error {
	var f failures
	for _, e := range errs {
		if e != nil {
			f = append(f, e)
		}
	}
	switch len(f) {
	case 0:
		return nil
	case 1:
		return f[0]
	}
	return f
}

// httpStatusError is implemented by the SDK's response errors.
type httpStatusError interface {
	HTTPStatusCode() int
}

// exitCode maps err to the command's exit code. An interrupted run (ctx
// done) that did not succeed is 130, whatever the error says: the command
// has printed what it did. Of failures, the first decides.
func exitCode(ctx context.Context, err error) int {
	var ee *exitError
	var apiErr smithy.APIError
	var status httpStatusError
	if f, ok := err.(failures); ok && len(f) > 0 {
		return exitCode(ctx, f[0])
	}
	switch {
	case err == nil:
		return exitOK
	case ctx.Err() != nil:
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

// maxLine bounds each line of an error message: values from the command
// line are shortened where they are echoed (see app.clean); this stops
// anything else (a service's message) from flooding the terminal, and is
// long enough for the encoded authorization messages of EC2.
const maxLine = 16 << 10

// reportError writes err to stderr the way the AWS CLI does for API errors,
// and as "imdsopts: error: ..." otherwise; failures each in turn. Every line
// is cleaned first (see app.clean), and its length bounded.
func (a *app) reportError(ctx context.Context, err error) {
	var b strings.Builder
	if ctx.Err() != nil {
		b.WriteString("\nimdsopts: interrupted")
		if msg := trim(err); !errors.Is(err, ctx.Err()) || msg != ctx.Err().Error() {
			b.WriteString(": " + msg)
		}
		b.WriteByte('\n')
	} else {
		for _, e := range parts(err) {
			b.WriteString(errorText(e))
		}
	}
	for line := range strings.Lines(a.clean(b.String())) {
		io.WriteString(a.stderr, check.Shorten(strings.TrimSuffix(line, "\n"), maxLine)+"\n")
	}
}

// clean makes a message safe to print on a terminal: credentials redacted,
// the long values the user gave shortened where the SDK repeats them whole
// (a profile's name, a Region), and control characters escaped.
func (a *app) clean(msg string) string {
	msg = redact(msg, a.secrets.list())
	for _, v := range a.echoed {
		if len(v) > check.MaxEchoed {
			msg = strings.ReplaceAll(msg, v, check.Quote(v))
		}
	}
	return awscli.Sanitize(msg)
}

// parts returns the failures in err, or err.
func parts(err error) []error {
	if f, ok := err.(failures); ok {
		return f
	}
	return []error{err}
}

// errorText formats one error as reportError prints it, "" when it has
// been printed already.
func errorText(err error) string {
	var apiErr smithy.APIError
	var opErr *smithy.OperationError
	var ee *exitError
	if errors.As(err, &ee) && ee.reported {
		return ""
	}
	usage := errors.As(err, &ee) && ee.code == exitUsage || errors.Is(err, imdsopts.ErrInvalid)
	if usage || !errors.As(err, &apiErr) || !errors.As(err, &opErr) {
		return "imdsopts: error: " + trim(err) + "\n"
	}
	text := "\n" + apiErrorMessage(opErr.OperationName, apiErr.ErrorCode(), apiErr.ErrorMessage()) + "\n"
	if extra := contextOf(err, opErr); extra != "" {
		text += extra + "\n"
	}
	return text
}

// trim returns err's message without the library's "imdsopts: " prefixes,
// also those of the errors it wraps.
func trim(err error) string {
	return strings.ReplaceAll(strings.TrimPrefix(err.Error(), "imdsopts: "), ": imdsopts: ", ": ")
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
	if i := strings.Index(full, inner); i >= 0 {
		full = full[:i] + full[i+len(inner):]
	}
	return strings.TrimSpace(strings.Trim(strings.TrimSpace(full), ":;"))
}

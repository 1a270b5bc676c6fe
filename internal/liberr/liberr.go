// Package liberr makes the errors that the packages beside the core
// (fleet, account, org) return for misuse and for EC2's refusals, as the
// root package makes its own: each a *imdsopts.ValidationError or an error
// that wraps one of its sentinels, so that callers match them with
// errors.Is and errors.As whichever package returned them.
package liberr

import (
	"context"
	"errors"
	"fmt"

	"github.com/imdsopts/imdsopts"
	"github.com/imdsopts/imdsopts/internal/check"
	"github.com/imdsopts/imdsopts/internal/retry"
)

// Misuse reports a nil or otherwise unusable argument or value: field, the
// value as it is to be printed, and the rule it breaks.
func Misuse(field, value, rule string) error {
	return &imdsopts.ValidationError{Field: field, Value: value, Rule: rule}
}

// Problems returns ps as one error of ValidationErrors; nil when there are
// none.
func Problems(ps ...check.Problem) error {
	errs := make([]error, len(ps))
	for i, p := range ps {
		errs[i] = Misuse(p.Field, p.Value, p.Rule)
	}
	return errors.Join(errs...)
}

// Client reports a nil client, also a typed nil such as a nil *ec2.Client
// in an interface, which would panic at its first call.
func Client(name string, c any) error {
	if check.IsNil(c) {
		return Misuse(name, "nil", "must be a client, such as *ec2.Client")
	}
	return nil
}

// Ctx reports a nil ctx.
func Ctx(ctx context.Context) error {
	if ctx == nil {
		return Misuse("ctx", "nil", "must be a context.Context")
	}
	return nil
}

// Unauthorized adds imdsopts.ErrUnauthorized to an UnauthorizedOperation
// answer; any other error is returned as it is.
func Unauthorized(err error) error {
	if retry.APICode(err) == "UnauthorizedOperation" {
		return fmt.Errorf("%w: %w", imdsopts.ErrUnauthorized, err)
	}
	return err
}

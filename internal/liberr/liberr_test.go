package liberr_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/smithy-go"

	"github.com/imdsopts/imdsopts"
	"github.com/imdsopts/imdsopts/internal/check"
	"github.com/imdsopts/imdsopts/internal/liberr"
)

func TestErrors(t *testing.T) {
	var nilClient *ec2.Client
	var nilCtx context.Context
	denied := &smithy.GenericAPIError{Code: "UnauthorizedOperation", Message: "no"}
	for name, tt := range map[string]struct {
		err          error
		invalid      bool
		unauthorized bool
		text         string
	}{
		"misuse":           {liberr.Misuse("plan", "nil", "must be a plan"), true, false, "imdsopts: plan nil: must be a plan"},
		"problems":         {liberr.Problems(check.Problem{Field: "A", Value: "1", Rule: "r"}, check.Problem{Field: "B", Value: "2", Rule: "s"}), true, false, "imdsopts: A 1: r\nimdsopts: B 2: s"},
		"typed nil client": {liberr.Client("api", nilClient), true, false, "imdsopts: api nil: must be a client, such as *ec2.Client"},
		"nil ctx":          {liberr.Ctx(nilCtx), true, false, "imdsopts: ctx nil: must be a context.Context"},
		"denied":           {liberr.Unauthorized(denied), false, true, "not authorized: api error UnauthorizedOperation: no"},
	} {
		if tt.err == nil || errors.Is(tt.err, imdsopts.ErrInvalid) != tt.invalid || errors.Is(tt.err, imdsopts.ErrUnauthorized) != tt.unauthorized || tt.err.Error() != tt.text {
			t.Errorf("%s: %v, want %q (invalid %v, unauthorized %v)", name, tt.err, tt.text, tt.invalid, tt.unauthorized)
		}
	}
	for name, err := range map[string]error{
		"no problems": liberr.Problems(),
		"a client":    liberr.Client("api", &ec2.Client{}),
		"a ctx":       liberr.Ctx(t.Context()),
		"other error": liberr.Unauthorized(nil),
	} {
		if err != nil {
			t.Errorf("%s: %v, want nil", name, err)
		}
	}
	if other := errors.New("x"); liberr.Unauthorized(other) != other {
		t.Error("Unauthorized changed an error that is not UnauthorizedOperation")
	}
}

package fleet

import (
	"errors"

	"github.com/imdsopts/imdsopts"
	"github.com/imdsopts/imdsopts/internal/check"
)

// misuse reports a nil or otherwise unusable argument.
func misuse(field, value, rule string) error {
	return &imdsopts.ValidationError{Field: field, Value: value, Rule: rule}
}

// problems returns ps as one error of ValidationErrors; nil when there are
// none.
func problems(ps []check.Problem) error {
	errs := make([]error, len(ps))
	for i, p := range ps {
		errs[i] = misuse(p.Field, p.Value, p.Rule)
	}
	return errors.Join(errs...)
}

// checkClient reports a nil client, also a typed nil such as a nil
// *ec2.Client in an interface, which would panic at its first call.
func checkClient(name string, c any) error {
	if check.IsNil(c) {
		return misuse(name, "nil", "must be a client, such as *ec2.Client")
	}
	return nil
}

// hopField returns a Set that holds a hop limit and nothing else: given to
// Set.Without, it takes the hop limit out of a Set.
func hopField() imdsopts.Set {
	s, _ := imdsopts.New(imdsopts.HopLimit(1)) // a valid hop limit: no error
	return s
}

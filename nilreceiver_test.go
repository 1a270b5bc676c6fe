package imdsopts_test

import (
	"errors"
	"io"
	"testing"

	"github.com/imdsopts/imdsopts"
	acct "github.com/imdsopts/imdsopts/account"
	"github.com/imdsopts/imdsopts/fleet"
	"github.com/imdsopts/imdsopts/org"
)

// TestNilReceivers: a method of a result or error type called on a nil
// pointer answers (nothing, or an error matching ErrInvalid), and never
// panics: a caller that checks the error after using the result, or logs
// a nil error of these types, must not crash.
func TestNilReceivers(t *testing.T) {
	var (
		plan    *fleet.Plan
		report  *fleet.Report
		tplan   *acct.TemplatePlan
		treport *acct.TemplateReport
		results *org.TargetResults[*fleet.Plan]
		notRdy  *acct.NotReadyError
		invalid *imdsopts.ValidationError
		target  *org.TargetError
		discov  *org.DiscoverOptions
	)
	for name, fn := range map[string]func() error{
		"fleet.Plan.Counts": func() error {
			if n := len(plan.Counts()); n != 0 {
				return errors.New("counts")
			}
			return nil
		},
		"fleet.Report.Counts": func() error {
			if n := len(report.Counts()); n != 0 {
				return errors.New("counts")
			}
			return nil
		},
		"TemplatePlan.Counts": func() error {
			if n := len(tplan.Counts()); n != 0 {
				return errors.New("counts")
			}
			return nil
		},
		"TemplateReport.Counts": func() error {
			if n := len(treport.Counts()); n != 0 {
				return errors.New("counts")
			}
			return nil
		},
		"TargetResults.Failed": func() error {
			if n := len(results.Failed()); n != 0 {
				return errors.New("failed")
			}
			return nil
		},
		"fleet.Plan.WriteTable":   func() error { return invalidErr(plan.WriteTable(io.Discard)) },
		"fleet.Report.WriteTable": func() error { return invalidErr(report.WriteTable(io.Discard)) },
		"WriteTable to nil":       func() error { return invalidErr((&fleet.Plan{}).WriteTable(nil)) },
		"NotReadyError.Error":     func() error { _ = notRdy.Error(); return nil },
		"ValidationError.Error":   func() error { _ = invalid.Error(); return nil },
		"TargetError.Error":       func() error { _ = target.Error(); _ = (&org.TargetError{}).Error(); return target.Unwrap() },
		"DiscoverOptions.Validate": func() error {
			return invalidErr(discov.Validate())
		},
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if p := recover(); p != nil {
					t.Fatalf("panic: %v", p)
				}
			}()
			if err := fn(); err != nil {
				t.Error(err)
			}
		})
	}
}

// invalidErr returns nil when err matches ErrInvalid, else an error
// saying what it is.
func invalidErr(err error) error {
	if errors.Is(err, imdsopts.ErrInvalid) {
		return nil
	}
	return errors.New("error " + errString(err) + ", want ErrInvalid")
}

func errString(err error) string {
	if err == nil {
		return "nil"
	}
	return err.Error()
}

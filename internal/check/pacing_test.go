package check_test

import (
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/time/rate"

	"github.com/imdsopts/imdsopts/internal/check"
)

func TestPacing(t *testing.T) {
	got := check.Pacing("X",
		[]check.Rate{{Name: "Good", V: 5}, {Name: "Zero", V: 0}, {Name: "NaN", V: rate.Limit(math.NaN())}, {Name: "Inf", V: rate.Inf}},
		[]check.Count{{Name: "One", V: 1}, {Name: "None", V: 0}},
		0)
	want := []check.Problem{
		{Field: "X.Zero", Value: "0", Rule: "must be a positive, finite number of calls a second"},
		{Field: "X.NaN", Value: "NaN", Rule: "must be a positive, finite number of calls a second"},
		{Field: "X.Inf", Value: "rate.Inf", Rule: "must be a positive, finite number of calls a second"},
		{Field: "X.None", Value: "0", Rule: "must be at least 1"},
		{Field: "X.ThrottleBudget", Value: "0s", Rule: "must be positive"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Pacing (-want +got):\n%s", diff)
	}
	if ps := check.Pacing("X", []check.Rate{{Name: "R", V: 0.5}}, []check.Count{{Name: "C", V: 3}}, time.Minute); len(ps) != 0 {
		t.Errorf("valid pacing: %v", ps)
	}
}

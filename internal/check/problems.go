package check

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"golang.org/x/time/rate"
)

// Problem is one invalid value: the field it was given for, the value as
// given (quoted), and the rule it breaks. The public packages report it as
// their ValidationError.
type Problem struct {
	Field, Value, Rule string
}

// Enum is an SDK enum type: a string type whose Values lists what EC2
// takes.
type Enum[T any] interface {
	~string
	Values() []T
}

// EnumValue reports v unless it is exactly one of its type's values (the
// empty string is not): EC2's enums are case-sensitive, so "Required" is
// refused.
func EnumValue[T Enum[T]](field string, v T) *Problem {
	values := v.Values()
	quoted := make([]string, len(values))
	for i, known := range values {
		if known == v {
			return nil
		}
		quoted[i] = strconv.Quote(string(known))
	}
	return &Problem{Field: field, Value: Quote(string(v)), Rule: "must be one of " + strings.Join(quoted, ", ")}
}

// Funcs runs the option functions optFns on o, reporting each nil one;
// prefix names the options type ("fleet.Options").
func Funcs[T any](prefix string, o *T, optFns []func(*T)) []Problem {
	var ps []Problem
	for i, fn := range optFns {
		if fn == nil {
			ps = append(ps, Problem{Field: fmt.Sprintf("%s function %d", prefix, i+1), Value: "nil", Rule: "must not be nil"})
			continue
		}
		fn(o)
	}
	return ps
}

// Waiting reports the problems of the settings every call that waits has:
// delays and waits that are negative, a MaxDelay below MinDelay, a nil
// client option function. prefix names the options type.
func Waiting(prefix string, minDelay, maxDelay, maxWait, notFoundGrace time.Duration, clientOptions []func(*ec2.Options)) []Problem {
	var ps []Problem
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"MinDelay", minDelay}, {"MaxDelay", maxDelay}, {"MaxWait", maxWait}, {"NotFoundGrace", notFoundGrace}} {
		if d.v < 0 {
			ps = append(ps, Problem{Field: prefix + "." + d.name, Value: d.v.String(), Rule: "must not be negative"})
		}
	}
	if maxDelay < minDelay {
		ps = append(ps, Problem{Field: prefix + ".MaxDelay", Value: maxDelay.String(), Rule: "must not be less than MinDelay " + minDelay.String()})
	}
	for i, fn := range clientOptions {
		if fn == nil {
			ps = append(ps, Problem{Field: fmt.Sprintf("%s.ClientOptions[%d]", prefix, i), Value: "nil", Rule: "must not be nil"})
		}
	}
	return ps
}

// Rate is a rate of calls an options struct holds, by its field's name.
type Rate struct {
	Name string
	V    rate.Limit
}

// Count is a count an options struct holds that must be at least 1 (a
// burst, a concurrency), by its field's name.
type Count struct {
	Name string
	V    int
}

// Pacing returns the problems of the pacing fields of an options struct
// that prefix names: a rate that is not a positive, finite number of calls
// a second, a count below 1, and a throttle budget that is not positive.
func Pacing(prefix string, rates []Rate, counts []Count, throttleBudget time.Duration) []Problem {
	var ps []Problem
	for _, r := range rates {
		if !(r.V > 0) || math.IsInf(float64(r.V), 0) || r.V == rate.Inf {
			v := fmt.Sprint(r.V)
			if r.V == rate.Inf {
				v = "rate.Inf"
			}
			ps = append(ps, Problem{Field: prefix + "." + r.Name, Value: v, Rule: "must be a positive, finite number of calls a second"})
		}
	}
	for _, c := range counts {
		if c.V < 1 {
			ps = append(ps, Problem{Field: prefix + "." + c.Name, Value: strconv.Itoa(c.V), Rule: "must be at least 1"})
		}
	}
	if throttleBudget <= 0 {
		ps = append(ps, Problem{Field: prefix + ".ThrottleBudget", Value: throttleBudget.String(), Rule: "must be positive"})
	}
	return ps
}

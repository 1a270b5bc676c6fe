package fleet

import (
	"golang.org/x/time/rate"

	"github.com/imdsopts/imdsopts"
	"github.com/imdsopts/imdsopts/internal/cwmetric"
	"github.com/imdsopts/imdsopts/internal/ec2limits"
	"github.com/imdsopts/imdsopts/internal/pace"
)

// pacer is one run of a fleet operation: the client and options of the run
// and the limiters of the buckets its calls take from, around the pacer
// that makes its calls.
type pacer struct {
	*pace.Pacer
	api    imdsopts.API
	o      *Options
	modLim *rate.Limiter
	desLim *rate.Limiter
	cwLim  *rate.Limiter
	// descLim paces the other Describe calls of the container check
	// (DescribeLaunchTemplateVersions, and Auto Scaling's): EC2's bucket of
	// a non-mutating API, each of which has its own.
	descLim *rate.Limiter
}

func newPacer(api imdsopts.API, o *Options) *pacer {
	return &pacer{Pacer: pace.New(o.paceConfig()), api: api, o: o,
		modLim:  pace.Limiter(o.ModifyRate, o.ModifyBurst),
		desLim:  pace.Limiter(o.DescribeRate, o.DescribeBurst),
		cwLim:   cwmetric.NewLimiter(),
		descLim: pace.BucketLimiter(ec2limits.Describe.Bucket())}
}

// metrics returns the reader of the run's CloudWatch measurements.
func (p *pacer) metrics() *cwmetric.Reader {
	return &cwmetric.Reader{Pacer: p.Pacer, API: p.o.Metrics, Lim: p.cwLim}
}

// paceConfig returns the settings of a pacer whose calls are made with
// these options, reporting them to OnAttempt.
func (o *Options) paceConfig() pace.Config {
	c := pace.Config{MinDelay: o.MinDelay, MaxDelay: o.MaxDelay, MaxWait: o.MaxWait,
		MaxConsecutiveFailures: o.MaxConsecutiveFailures, ThrottleBudget: o.ThrottleBudget}
	if fn := o.OnAttempt; fn != nil {
		c.Observe = func(a pace.Attempt) {
			fn(imdsopts.Attempt{Operation: a.Operation, InstanceID: a.InstanceID, Number: a.Number, Elapsed: a.Elapsed,
				Err: a.Err, NextDelay: a.NextDelay})
		}
	}
	return c
}

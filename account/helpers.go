package account

import (
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imdsopts/imdsopts"
	"github.com/imdsopts/imdsopts/internal/check"
	"github.com/imdsopts/imdsopts/internal/liberr"
	"github.com/imdsopts/imdsopts/internal/pace"
)

// checkEnum reports v (when given) unless it is exactly one of its type's
// values.
func checkEnum[T check.Enum[T]](field string, v *T) error {
	if v == nil {
		return nil
	}
	if p := check.EnumValue(field, *v); p != nil {
		return liberr.Problems(*p)
	}
	return nil
}

// applyOptions runs optFns on o and checks the result; w is o's
// Options, prefix names the options type in errors.
func applyOptions[T any](o *T, w *Options, prefix string, optFns []func(*T)) error {
	maxDelay := w.MaxDelay
	ps := check.Funcs(prefix, o, optFns)
	if w.MaxDelay == maxDelay && w.MinDelay > w.MaxDelay {
		w.MaxDelay = w.MinDelay
	}
	return liberr.Problems(append(ps, check.Waiting(prefix, w.MinDelay, w.MaxDelay, w.MaxWait, 0, w.ClientOptions)...)...)
}

// paceConfig returns the settings of a pacer whose calls are made with the
// options o, reporting them to OnAttempt.
func paceConfig(o *Options) pace.Config {
	c := pace.Config{MinDelay: o.MinDelay, MaxDelay: o.MaxDelay, MaxWait: o.MaxWait, MaxConsecutiveFailures: o.MaxConsecutiveFailures,
		ThrottleBudget: o.ThrottleBudget}
	if fn := o.OnAttempt; fn != nil {
		c.Observe = func(a pace.Attempt) {
			fn(imdsopts.Attempt{Operation: a.Operation, InstanceID: a.InstanceID, Number: a.Number, Elapsed: a.Elapsed,
				Err: a.Err, NextDelay: a.NextDelay})
		}
	}
	return c
}

// validateLaunch checks the account defaults EC2 answered as Resolve would:
// values EC2 does not define are refused; a hop limit of -1 is no
// preference.
func validateLaunch(acct *types.InstanceMetadataDefaultsResponse) error {
	r := &types.InstanceMetadataOptionsResponse{HttpTokens: types.HttpTokensState(acct.HttpTokens),
		HttpEndpoint: types.InstanceMetadataEndpointState(acct.HttpEndpoint), InstanceMetadataTags: types.InstanceMetadataTagsState(acct.InstanceMetadataTags)}
	if h := acct.HttpPutResponseHopLimit; h != nil && *h != -1 {
		r.HttpPutResponseHopLimit = h
	}
	var errs []error
	if _, err := imdsopts.SetOf(r); err != nil {
		errs = append(errs, fmt.Errorf("account default: %w", err))
	}
	if acct.HttpTokensEnforced != "" {
		errs = append(errs, checkEnum("HttpTokensEnforced", &acct.HttpTokensEnforced))
	}
	return errors.Join(errs...)
}

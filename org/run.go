package org

import (
	"context"
	"errors"
	"fmt"

	"github.com/imdsopts/imdsopts/account"
	"github.com/imdsopts/imdsopts/internal/liberr"
)

// Run runs op on every target of ts with the target's clients, at most
// Options.Concurrency targets at once, and keys what each returns by its
// target. Any operation of package account for one account and Region
// runs across targets so: SetDefaults, GetDefaults, CheckReadiness,
// PlanTemplates and ApplyTemplates, SetImageIMDSv2. Each op paces its calls
// to its own target's request buckets, as it does alone; the options op
// passes to the operation are its own.
//
// A target whose clients cannot be had, or whose op returns an error or
// panics, fails with why, and the others go on; what op returned is kept
// beside its error. Options.OnProgress hears of each target as it
// finishes. The results have every target, by account then Region; the
// error matches ErrTargetFailed when any target failed, and the context's
// error when ctx ended (the targets not started then fail with it).
// Options.Fleet, Posture and Journals are not used.
//
// A nil ctx or op, a TargetSet without targets or Clients, or a target that
// is not an account ID and a Region or is named twice, are an error
// matching ErrInvalid, before any call.
func Run[T any](ctx context.Context, ts TargetSet, op func(context.Context, account.Clients) (T, error), optFns ...func(*Options)) (*TargetResults[T], error) {
	o, err := targetsOptions(optFns)
	errs := []error{liberr.Ctx(ctx), ts.check(), err}
	if op == nil {
		errs = append(errs, liberr.Misuse("op", "nil", "must be the operation to run on each target"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	rs := results[T](&ts)
	r := newTargetsRun(&o, len(rs), 0)
	eachTargetClients(ctx, r, &ts, rs, func(ctx context.Context, res *TargetResult[T], c account.Clients) (int, int) {
		res.Result, res.Err = callOp(ctx, op, c)
		return 0, 0
	})
	return finish(ctx, r, rs)
}

// callOp calls op, recovering a panic into its error, so that a caller's
// op that panics fails its target instead of ending the process from the
// goroutine that works on it.
func callOp[T any](ctx context.Context, op func(context.Context, account.Clients) (T, error), c account.Clients) (res T, err error) {
	defer func() {
		if p := recover(); p != nil {
			if perr, ok := p.(error); ok {
				err = fmt.Errorf("imdsopts: %s: the operation panicked: %w", c.Target, perr)
			} else {
				err = fmt.Errorf("imdsopts: %s: the operation panicked: %v", c.Target, p)
			}
		}
	}()
	return op(ctx, c)
}

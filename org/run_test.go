package org_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"github.com/imdsopts/imdsopts"
	"github.com/imdsopts/imdsopts/account"
	"github.com/imdsopts/imdsopts/org"
)

// TestRunAcrossTargets: Run calls the operation once a target with that
// target's clients, keys the results by target in order, keeps what a
// failing operation returned beside its error, and fails only the target
// whose operation failed or panicked.
func TestRunAcrossTargets(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newOrgWorld(t, []string{acctA, acctB}, nil)
		tgs := targets([]string{acctA, acctB}, []string{"us-east-1", "eu-west-1"})
		failing, panicking := tgs[1], tgs[2]
		var calls atomic.Int32
		res, err := org.Run(t.Context(), w.set(tgs...), func(ctx context.Context, c account.Clients) (string, error) {
			calls.Add(1)
			switch c.Target {
			case failing:
				return "partial", errors.New("refused")
			case panicking:
				panic("boom")
			}
			st, err := account.GetDefaults(ctx, c)
			return c.Target.String() + ":" + string(st.HTTPTokens) + "-", err
		})
		if !errors.Is(err, org.ErrTargetFailed) {
			t.Fatalf("error = %v, want ErrTargetFailed", err)
		}
		if calls.Load() != 4 || len(res.Targets) != 4 {
			t.Fatalf("%d calls, %d results, want 4 of each", calls.Load(), len(res.Targets))
		}
		for i, r := range res.Targets {
			if i > 0 && res.Targets[i-1].Target.Compare(r.Target) >= 0 {
				t.Errorf("results out of order: %s before %s", res.Targets[i-1].Target, r.Target)
			}
			switch r.Target {
			case failing:
				if r.Result != "partial" || r.Err == nil || r.Err.Error() != "refused" {
					t.Errorf("%s: %q %v, want the result and the error op returned", r.Target, r.Result, r.Err)
				}
			case panicking:
				if r.Err == nil || !strings.Contains(r.Err.Error(), "panicked: boom") {
					t.Errorf("%s: %v, want the panic as its error", r.Target, r.Err)
				}
			default:
				if r.Err != nil || r.Result != r.Target.String()+":-" {
					t.Errorf("%s: %q %v, want its own clients' answer", r.Target, r.Result, r.Err)
				}
			}
		}
	})
}

// TestRunMisuse: a nil ctx or op, and a TargetSet the operations cannot
// use, are errors matching ErrInvalid before any call; a context already
// ended fails every target, not started.
func TestRunMisuse(t *testing.T) {
	w := newOrgWorld(t, []string{acctA}, nil)
	ts := w.set(targets([]string{acctA}, []string{"us-east-1"})...)
	op := func(context.Context, account.Clients) (int, error) { t.Error("op called"); return 0, nil }
	var nilCtx context.Context
	for name, run := range map[string]func() error{
		"nil op":  func() error { _, err := org.Run[int](t.Context(), ts, nil); return err },
		"nil ctx": func() error { _, err := org.Run(nilCtx, ts, op); return err },
		"no targets": func() error {
			_, err := org.Run(t.Context(), org.TargetSet{Clients: ts.Clients}, op)
			return err
		},
	} {
		if err := run(); !errors.Is(err, imdsopts.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	res, err := org.Run(ctx, ts, op)
	if !errors.Is(err, context.Canceled) || res == nil || len(res.Failed()) != 1 {
		t.Errorf("ended context: %v, %v, want every target failed, not started", res, err)
	}
}

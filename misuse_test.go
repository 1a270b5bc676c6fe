package imdsopts_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"golang.org/x/time/rate"

	"github.com/imdsopts/imdsopts"
	"github.com/imdsopts/imdsopts/fake"
	"github.com/imdsopts/imdsopts/fleet"
	"github.com/imdsopts/imdsopts/internal/testenv"
)

// TestMisuseIsAnError: a nil client (also a typed nil *ec2.Client), a nil
// context, a nil or zero Waiter, a nil plan, a nil option function, NaN or
// infinite rates: each is an error matching ErrInvalid, never a panic, and
// no call is made.
func TestMisuseIsAnError(t *testing.T) {
	f := fake.New()
	id := testenv.Launch(t, f, "", nil)
	s := testenv.MustNew(t, imdsopts.RequireIMDSv2())
	var nilClient *ec2.Client
	var nilCW *cloudwatch.Client
	var nilCtx context.Context
	ctx := context.Background()
	plan, err := fleet.NewPlan(ctx, f, fleet.Selection{InstanceIDs: []string{id}}, s, func(o *fleet.Options) { o.SkipIMDSv1Gate = true })
	if err != nil {
		t.Fatal(err)
	}
	before := f.CallCounts()
	tests := []struct {
		name string
		call func() error
	}{
		{"Apply nil api", func() error { _, err := imdsopts.Apply(ctx, nil, id, s); return err }},
		{"Apply typed nil *ec2.Client", func() error { _, err := imdsopts.Apply(ctx, nilClient, id, s); return err }},
		{"Apply nil ctx", func() error { _, err := imdsopts.Apply(nilCtx, f, id, s); return err }},
		{"Apply nil option function", func() error { _, err := imdsopts.Apply(ctx, f, id, s, nil); return err }},
		{"Apply nil ClientOptions entry", func() error {
			_, err := imdsopts.Apply(ctx, f, id, s, func(o *imdsopts.WaiterOptions) { o.ClientOptions = []func(*ec2.Options){nil} })
			return err
		}},
		{"NewWaiter nil api", func() error { _, err := imdsopts.NewWaiter(nil, id, s); return err }},
		{"NewWaiter typed nil", func() error { _, err := imdsopts.NewWaiter(nilClient, id, s); return err }},
		{"Wait on a nil Waiter", func() error { _, err := (*imdsopts.Waiter)(nil).Wait(ctx); return err }},
		{"Wait on a zero Waiter", func() error { _, err := new(imdsopts.Waiter).Wait(ctx); return err }},
		{"Wait with a nil ctx", func() error {
			w, err := imdsopts.NewWaiter(f, id, s)
			if err != nil {
				return err
			}
			_, err = w.Wait(nilCtx)
			return err
		}},
		{"Wait with a nil option function", func() error {
			w, err := imdsopts.NewWaiter(f, id, s)
			if err != nil {
				return err
			}
			_, err = w.Wait(ctx, nil)
			return err
		}},
		{"DryRun nil api", func() error { return imdsopts.DryRun(ctx, nil, id, s) }},
		{"DryRun typed nil", func() error { return imdsopts.DryRun(ctx, nilClient, id, s) }},
		{"DryRun nil ctx", func() error { return imdsopts.DryRun(nilCtx, f, id, s) }},
		{"Describe nil api", func() error { _, err := imdsopts.Describe(ctx, nilClient, id); return err }},
		{"Describe nil ctx", func() error { _, err := imdsopts.Describe(nilCtx, f, id); return err }},
		{"LaunchForImage nil api", func() error { _, err := imdsopts.LaunchForImage(ctx, nilClient, "ami-12345678", s); return err }},
		{"LaunchForImage nil ctx", func() error { _, err := imdsopts.LaunchForImage(nilCtx, f, "ami-12345678", s); return err }},
		{"fleet.NewPlan nil api", func() error { _, err := fleet.NewPlan(ctx, nil, fleet.Selection{}, s); return err }},
		{"fleet.NewPlan typed nil", func() error { _, err := fleet.NewPlan(ctx, nilClient, fleet.Selection{}, s); return err }},
		{"fleet.NewPlan nil ctx", func() error { _, err := fleet.NewPlan(nilCtx, f, fleet.Selection{}, s); return err }},
		{"fleet.NewPlan zero Set", func() error { _, err := fleet.NewPlan(ctx, f, fleet.Selection{}, imdsopts.Set{}); return err }},
		{"fleet.NewPlan typed nil Metrics", func() error {
			_, err := fleet.NewPlan(ctx, f, fleet.Selection{}, s, func(o *fleet.Options) { o.Metrics = nilCW })
			return err
		}},
		{"fleet.NewPlan nil option function", func() error { _, err := fleet.NewPlan(ctx, f, fleet.Selection{}, s, nil); return err }},
		{"fleet.Apply nil plan", func() error { _, err := fleet.Apply(ctx, f, nil); return err }},
		{"fleet.Apply nil api", func() error { _, err := fleet.Apply(ctx, nilClient, plan); return err }},
		{"fleet.Apply nil ctx", func() error { _, err := fleet.Apply(nilCtx, f, plan); return err }},
		{"fleet.Apply NaN rate", func() error {
			_, err := fleet.Apply(ctx, f, plan, func(o *fleet.Options) { o.ModifyRate = rate.Limit(math.NaN()) })
			return err
		}},
		{"fleet.Apply infinite rate", func() error {
			_, err := fleet.Apply(ctx, f, plan, func(o *fleet.Options) { o.DescribeRate = rate.Inf })
			return err
		}},
		{"fleet.Apply zero concurrency", func() error {
			_, err := fleet.Apply(ctx, f, plan, func(o *fleet.Options) { o.Concurrency = 0 })
			return err
		}},
		{"New with the zero Option", func() error { _, err := imdsopts.New(imdsopts.Option{}); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			func() {
				defer func() {
					if p := recover(); p != nil {
						err = fmt.Errorf("panic: %v", p)
					}
				}()
				err = tt.call()
			}()
			if !errors.Is(err, imdsopts.ErrInvalid) {
				t.Errorf("error = %v, want ErrInvalid", err)
			}
		})
	}
	if after := f.CallCounts(); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("misuse made calls: %v, then %v", before, after)
	}
}

// TestOnlyMinDelaySet: a caller who sets only MinDelay above the default
// MaxDelay gets that delay, not an error about MaxDelay, which they never
// set; setting both the wrong way round is an error naming both.
func TestOnlyMinDelaySet(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := fake.New(func(o *fake.Options) { o.ApplyDelay = 5 * time.Minute })
		id := testenv.Launch(t, f, "", nil)
		var delays []time.Duration
		w, err := imdsopts.Apply(t.Context(), f, id, testenv.MustNew(t, imdsopts.RequireIMDSv2()), func(o *imdsopts.WaiterOptions) {
			o.MinDelay = 2 * time.Minute
			o.OnAttempt = func(a imdsopts.Attempt) { delays = append(delays, a.NextDelay) }
		})
		if err != nil {
			t.Fatalf("Apply with only MinDelay set: %v", err)
		}
		if _, err := w.Wait(t.Context()); err != nil {
			t.Fatal(err)
		}
		for _, d := range delays[1 : len(delays)-1] {
			if d != 2*time.Minute {
				t.Errorf("delays %v, want every one 2m (MaxDelay raised to MinDelay)", delays)
				break
			}
		}
		_, err = imdsopts.Apply(t.Context(), f, id, testenv.MustNew(t, imdsopts.RequireIMDSv2()), func(o *imdsopts.WaiterOptions) {
			o.MinDelay, o.MaxDelay = 2*time.Minute, time.Minute
		})
		if !errors.Is(err, imdsopts.ErrInvalid) || !strings.Contains(err.Error(), "MaxDelay 1m0s: must not be less than MinDelay 2m0s") {
			t.Errorf("both set the wrong way round: %v", err)
		}
	})
}

// TestLongBadValuesAreCut: a bad value is echoed cut and with its control
// characters escaped, so an error is safe to print whatever was given.
func TestLongBadValuesAreCut(t *testing.T) {
	huge := strings.Repeat("x", 10<<20)
	_, err := imdsopts.New(imdsopts.HTTPTokens(types.HttpTokensState("\x1b[31mred\r\n" + huge)))
	if !errors.Is(err, imdsopts.ErrInvalid) {
		t.Fatal(err)
	}
	msg := err.Error()
	if len(msg) > 300 || strings.ContainsAny(msg, "\x1b\r\n") || !strings.Contains(msg, `"\x1b[31mred\r\n`) || !strings.Contains(msg, "(10485770 bytes)") {
		t.Errorf("message of %d bytes: %.300q", len(msg), msg)
	}
	err = imdsopts.ValidateInstanceID("i-\n" + huge)
	if msg := err.Error(); len(msg) > 300 || strings.Contains(msg, "\n") {
		t.Errorf("instance ID message of %d bytes: %.300q", len(msg), msg)
	}
}

package account_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/imdsopts/imdsopts"
	"github.com/imdsopts/imdsopts/account"
	"github.com/imdsopts/imdsopts/internal/testenv"
)

// TestAccountMisuseIsAnError: a nil context, no EC2 client, a typed nil
// client in any field, a nil option function, a nil or zero plan, bad
// options: each account-wide operation answers an error matching
// ErrInvalid, never a panic, and makes no call.
func TestAccountMisuseIsAnError(t *testing.T) {
	w := newWorld(t)
	good := w.clients()
	plan, err := account.PlanTemplates(t.Context(), good, testenv.MustNew(t, imdsopts.RequireIMDSv2()))
	if err != nil {
		t.Fatal(err)
	}
	before := w.Calls()
	var (
		nilCtx    context.Context
		nilEC2    *ec2.Client
		nilAS     *autoscaling.Client
		nilCW     *cloudwatch.Client
		ctx       = context.Background()
		s         = testenv.MustNew(t, imdsopts.RequireIMDSv2())
		d         = mustDefaults(t, imdsopts.Set{}, account.EnforceIMDSv2())
		noEC2     = account.Clients{AutoScaling: w.AS, CloudWatch: w.CW}
		typedEC2  = account.Clients{EC2: nilEC2}
		typedAS   = account.Clients{EC2: w.EC2, AutoScaling: nilAS}
		typedCW   = account.Clients{EC2: w.EC2, CloudWatch: nilCW}
		clientSet = map[string]account.Clients{"no EC2": noEC2, "typed nil EC2": typedEC2, "typed nil Auto Scaling": typedAS, "typed nil CloudWatch": typedCW}
	)
	ops := map[string]func(ctx context.Context, c account.Clients) error{
		"GetDefaults": func(ctx context.Context, c account.Clients) error {
			_, err := account.GetDefaults(ctx, c)
			return err
		},
		"SetDefaults": func(ctx context.Context, c account.Clients) error {
			_, err := account.SetDefaults(ctx, c, d)
			return err
		},
		"CheckReadiness": func(ctx context.Context, c account.Clients) error {
			_, err := account.CheckReadiness(ctx, c, d)
			return err
		},
		"PlanTemplates": func(ctx context.Context, c account.Clients) error {
			_, err := account.PlanTemplates(ctx, c, s)
			return err
		},
		"ApplyTemplates": func(ctx context.Context, c account.Clients) error {
			_, err := account.ApplyTemplates(ctx, c, plan)
			return err
		},
		"SetImageIMDSv2": func(ctx context.Context, c account.Clients) error {
			_, err := account.SetImageIMDSv2(ctx, c, []string{"ami-0123456789abcdef0"})
			return err
		},
		"GetPosture": func(ctx context.Context, c account.Clients) error { _, err := account.GetPosture(ctx, c); return err },
	}
	tests := map[string]func() error{
		"GetDefaults nil option":    func() error { _, err := account.GetDefaults(ctx, good, nil); return err },
		"SetDefaults nil option":    func() error { _, err := account.SetDefaults(ctx, good, d, nil); return err },
		"SetDefaults zero Defaults": func() error { _, err := account.SetDefaults(ctx, good, account.Defaults{}); return err },
		"CheckReadiness nil option": func() error { _, err := account.CheckReadiness(ctx, good, d, nil); return err },
		"PlanTemplates nil option":  func() error { _, err := account.PlanTemplates(ctx, good, s, nil); return err },
		"PlanTemplates zero Set":    func() error { _, err := account.PlanTemplates(ctx, good, imdsopts.Set{}); return err },
		"PlanTemplates long description": func() error {
			_, err := account.PlanTemplates(ctx, good, s, func(o *account.TemplateOptions) { o.VersionDescription = string(make([]byte, 256)) })
			return err
		},
		"ApplyTemplates nil plan":  func() error { _, err := account.ApplyTemplates(ctx, good, nil); return err },
		"ApplyTemplates zero plan": func() error { _, err := account.ApplyTemplates(ctx, good, &account.TemplatePlan{}); return err },
		"ApplyTemplates another Region's plan": func() error {
			other := good
			other.Target.Region = "eu-west-1"
			_, err := account.ApplyTemplates(ctx, other, plan)
			return err
		},
		"ApplyTemplates negative MaxWait": func() error {
			_, err := account.ApplyTemplates(ctx, good, plan, func(o *account.TemplateOptions) { o.Options.MaxWait = -1 })
			return err
		},
		"SetImageIMDSv2 nil option": func() error {
			_, err := account.SetImageIMDSv2(ctx, good, []string{"ami-0123456789abcdef0"}, nil)
			return err
		},
		"GetPosture nil option": func() error { _, err := account.GetPosture(ctx, good, nil); return err },
		"GetPosture zero burst": func() error {
			_, err := account.GetPosture(ctx, good, func(o *account.PostureOptions) { o.Options.DescribeBurst = 0 })
			return err
		},
		"NewDefaults zero option": func() error { _, err := account.NewDefaults(imdsopts.Set{}, account.DefaultsOption{}); return err },
	}
	for name, op := range ops {
		tests[name+" nil ctx"] = func() error { return op(nilCtx, good) }
		for cname, c := range clientSet {
			tests[name+" "+cname] = func() error { return op(ctx, c) }
		}
	}
	for name, call := range tests {
		t.Run(name, func(t *testing.T) {
			var err error
			func() {
				defer func() {
					if p := recover(); p != nil {
						err = fmt.Errorf("panic: %v", p)
					}
				}()
				err = call()
			}()
			if !errors.Is(err, imdsopts.ErrInvalid) {
				t.Errorf("error = %v, want ErrInvalid", err)
			}
		})
	}
	if after := w.Calls(); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("misuse made calls: %v, then %v", before, after)
	}
}

package org_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"testing/synctest"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imdsopts/imdsopts"
	"github.com/imdsopts/imdsopts/account"
	"github.com/imdsopts/imdsopts/fleet"
	"github.com/imdsopts/imdsopts/internal/testenv"
	"github.com/imdsopts/imdsopts/org"
)

// Journals read each target's enforcement of IMDSv2, as a rollout does:
// given Options.Journals, Plan lists the changes no undo
// could restore in the targets whose account enforces it, and only there;
// without it, no enforcement is read. Undo reads it too, so that a
// restore EC2 would refuse is left to a person before any call.
func TestJournalsReadEnforcement(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newOrgWorld(t, []string{acctA, acctB}, nil)
		enforcing, other := account.Target{Account: acctA, Region: "eu-west-1"}, account.Target{Account: acctB, Region: "eu-west-1"}
		ids := w.launch(t, enforcing, 2)
		w.launch(t, other, 2)
		f := w.region(t, enforcing).EC2()
		if _, err := f.ModifyInstanceMetadataDefaults(context.Background(), &ec2.ModifyInstanceMetadataDefaultsInput{
			HttpTokensEnforced: types.DefaultHttpTokensEnforcedStateEnabled}); err != nil {
			t.Fatal(err)
		}
		dir := org.JournalDir(filepath.Join(t.TempDir(), "journals"))
		journals := func(o *org.Options) { o.Journals = dir }
		s := testenv.MustNew(t, imdsopts.RequireIMDSv2())

		plans, err := org.Plan(t.Context(), w.set(enforcing, other), fleet.Selection{}, s, gateOnNoData)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range plans.Targets {
			if len(p.Result.Irreversible) != 0 || p.Result.Calls["GetInstanceMetadataDefaults"] != 0 {
				t.Errorf("without journals, %s: Irreversible %v, calls %v", p.Target, p.Result.Irreversible, p.Result.Calls)
			}
		}

		plans, err = org.Plan(t.Context(), w.set(enforcing, other), fleet.Selection{}, s, gateOnNoData, journals)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range plans.Targets {
			want := []string(nil)
			if p.Target == enforcing {
				want = ids
			}
			if !slices.Equal(p.Result.Irreversible, want) {
				t.Errorf("with journals, %s: Irreversible %v, want %v", p.Target, p.Result.Irreversible, want)
			}
		}
		// The one-way changes are made only when accepted: without
		// AcceptIrreversible the enforcing target fails before any call.
		elsewhere := func(o *org.Options) { o.Journals = org.JournalDir(filepath.Join(t.TempDir(), "refused")) }
		one, err := org.Plan(t.Context(), w.set(enforcing), fleet.Selection{}, s, gateOnNoData, elsewhere)
		if err != nil {
			t.Fatal(err)
		}
		refused, err := org.Apply(t.Context(), w.set(enforcing), one, elsewhere)
		if !errors.Is(err, org.ErrTargetFailed) || len(refused.Targets) != 1 || !errors.Is(refused.Targets[0].Err, fleet.ErrIrreversible) {
			t.Fatalf("Apply without AcceptIrreversible: %v, want the target failed with ErrIrreversible", err)
		}
		if n := f.Calls("ModifyInstanceMetadataOptions"); n != 0 {
			t.Fatalf("Apply without AcceptIrreversible sent %d calls, want none", n)
		}
		accept := func(o *org.Options) {
			o.Fleet = append(o.Fleet, func(f *fleet.Options) { f.AcceptIrreversible = true })
		}
		if _, err := org.Apply(t.Context(), w.set(enforcing, other), plans, journals, accept); err != nil {
			t.Fatal(err)
		}
		sent := f.Calls("ModifyInstanceMetadataOptions")

		report, err := org.Undo(t.Context(), w.set(enforcing, other), dir)
		if !errors.Is(err, org.ErrTargetFailed) && err != nil {
			t.Fatal(err)
		}
		for _, r := range report.Targets {
			want := fleet.StatusRolledBack
			if r.Target == enforcing {
				want = fleet.StatusNeedsPerson
			}
			if n := r.Result.Counts()[want]; n != 2 {
				t.Errorf("undo of %s: %v, want 2 %s", r.Target, r.Result.Counts(), want)
			}
		}
		for _, it := range report.Targets[0].Result.Items {
			if !errors.Is(it.Err, imdsopts.ErrIMDSv2Enforced) {
				t.Errorf("%s: %v, want ErrIMDSv2Enforced", it.InstanceID, it.Err)
			}
		}
		if n := f.Calls("ModifyInstanceMetadataOptions"); n != sent {
			t.Errorf("%d restores sent to the enforcing account, which EC2 refuses", n-sent)
		}
	})
}

package fleet_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imdsopts/imdsopts"
	"github.com/imdsopts/imdsopts/fake"
	"github.com/imdsopts/imdsopts/fleet"
	"github.com/imdsopts/imdsopts/internal/testenv"
)

// rolloutEnv is a fake EC2 with ApplyDelay 5 s, a CloudWatch tied to it,
// and n instances tagged team=a that have run for two minutes, so that
// their IMDSv1 metrics have datapoints.
type rolloutEnv struct {
	f   *fake.EC2
	cw  *fake.CloudWatch
	api *testenv.ModifyLog
	ids []string
}

func newRolloutEnv(t *testing.T, n int, meta *types.InstanceMetadataOptionsRequest) *rolloutEnv {
	t.Helper()
	f := fake.New(func(o *fake.Options) { o.ApplyDelay = 5 * time.Second })
	e := &rolloutEnv{f: f, cw: fake.NewCloudWatch(func(o *fake.CloudWatchOptions) { o.EC2 = f }), api: &testenv.ModifyLog{EC2: f}}
	e.ids = testenv.Fleet(t, f, n, meta)
	// Long enough for CloudWatch to have a datapoint of every instance
	// (5-minute periods, published a minute after they end).
	time.Sleep(10 * time.Minute)
	return e
}

// opts sets Metrics and Enforcement to the fakes and the Rollout r.
func (e *rolloutEnv) opts(r *fleet.Rollout) func(*fleet.Options) {
	return func(o *fleet.Options) { o.Metrics, o.Enforcement, o.Rollout = e.cw, e.f, r }
}

// plan plans s over the whole fleet.
func (e *rolloutEnv) plan(t *testing.T, s imdsopts.Set, optFns ...func(*fleet.Options)) *fleet.Plan {
	t.Helper()
	plan, err := fleet.NewPlan(t.Context(), e.api, fleet.Selection{}, s, optFns...)
	if err != nil {
		t.Fatal(err)
	}
	return plan
}

// waveSizes returns the sizes of the waves items are numbered into.
func waveSizes(items []fleet.Item) []int {
	var sizes []int
	for _, it := range items {
		if it.Wave == 0 {
			continue
		}
		for len(sizes) < it.Wave {
			sizes = append(sizes, 0)
		}
		sizes[it.Wave-1]++
	}
	return sizes
}

// launchTagged launches n instances one by one, tagged team=a, and those
// whose index is in canary also canary=yes.
func launchTagged(t *testing.T, f *fake.EC2, n int, canary []int) []string {
	t.Helper()
	ids := make([]string, n)
	for k := range n {
		tags := map[string]string{"team": "a"}
		if slices.Contains(canary, k) {
			tags["canary"] = "yes"
		}
		got, err := f.Launch(1, func(o *fake.LaunchOptions) { o.Tags = tags })
		if err != nil {
			t.Fatal(err)
		}
		ids[k] = got[0]
	}
	return ids
}

// TestRolloutWaveSizes: the canary, then waves that grow by Growth up to
// MaxWave, over the instances to change in the plan's order; with canary
// tags, the canary is taken from the tagged instances only.
func TestRolloutWaveSizes(t *testing.T) {
	for _, tc := range []struct {
		n               int
		canary, maxWave fleet.WaveSize
		growth          float64
		tagged          []int // instances tagged canary=yes
		want            []int
		wantCanary      []int // the instances of wave 1, when tagged
	}{
		{n: 10000, canary: fleet.WaveSize{Percent: 1}, growth: 2, maxWave: fleet.WaveSize{Percent: 20},
			want: []int{100, 200, 400, 800, 1600, 2000, 2000, 2000, 900}},
		{n: 10, canary: fleet.WaveSize{Count: 1}, growth: 2, want: []int{1, 2, 4, 3}},
		{n: 10, canary: fleet.WaveSize{Count: 3}, growth: 1.5, maxWave: fleet.WaveSize{Count: 4}, want: []int{3, 4, 3}},
		{n: 5, canary: fleet.WaveSize{Percent: 50}, growth: 2, want: []int{3, 2}},
		{n: 7, canary: fleet.WaveSize{Percent: 7}, growth: 2, want: []int{1, 2, 4}},
		{n: 100, canary: fleet.WaveSize{Percent: 7}, growth: 1, maxWave: fleet.WaveSize{Percent: 7},
			want: []int{7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 2}},
		{n: 10, canary: fleet.WaveSize{Count: 2}, growth: 1, want: []int{2, 2, 2, 2, 2}},
		{n: 3, canary: fleet.WaveSize{Count: 5}, growth: 2, want: []int{3}},
		{n: 10, growth: 2, tagged: []int{4, 7}, want: []int{2, 4, 4}, wantCanary: []int{4, 7}},
		{n: 10, canary: fleet.WaveSize{Count: 1}, growth: 2, tagged: []int{4, 7}, want: []int{1, 2, 4, 3}, wantCanary: []int{4}},
		{n: 10, canary: fleet.WaveSize{Count: 5}, growth: 2, tagged: []int{4, 7}, want: []int{2, 4, 4}, wantCanary: []int{4, 7}},
	} {
		name := fmt.Sprintf("%d/%v/x%v/%v/tagged%v", tc.n, tc.canary, tc.growth, tc.maxWave, tc.tagged)
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := fake.New()
				var ids []string
				if tc.tagged != nil {
					ids = launchTagged(t, f, tc.n, tc.tagged)
				} else {
					ids = testenv.Fleet(t, f, tc.n, nil)
				}
				r := fleet.NewRollout(func(r *fleet.Rollout) {
					r.Canary, r.Growth, r.MaxWave = tc.canary, tc.growth, tc.maxWave
					if tc.tagged != nil {
						r.CanaryTags = map[string]string{"canary": "yes"}
					}
				})
				// Turning the endpoint off needs no watch, so no CloudWatch.
				plan, err := fleet.NewPlan(t.Context(), f, fleet.Selection{}, testenv.MustNew(t, imdsopts.HTTPEndpoint("disabled")),
					func(o *fleet.Options) { o.Rollout = r })
				if err != nil {
					t.Fatal(err)
				}
				if got := waveSizes(plan.Items); !slices.Equal(got, tc.want) {
					t.Errorf("wave sizes = %v, want %v", got, tc.want)
				}
				if tc.wantCanary != nil {
					var canary []string
					for _, k := range tc.wantCanary {
						canary = append(canary, ids[k])
					}
					for _, it := range plan.Items {
						if (it.Wave == 1) != slices.Contains(canary, it.InstanceID) {
							t.Errorf("%s is in wave %d; the canary should be %v", it.InstanceID, it.Wave, canary)
						}
					}
				}
			})
		})
	}
}

// varied are options that differ from EC2's defaults in every field but
// the endpoint, so that a rollback is seen to restore all five.
var varied = &types.InstanceMetadataOptionsRequest{HttpPutResponseHopLimit: aws.Int32(3),
	HttpProtocolIpv6: types.InstanceMetadataProtocolStateEnabled, InstanceMetadataTags: types.InstanceMetadataTagsStateEnabled}

// wantVaried is what an instance launched with varied reports.
const wantVaried = "applied optional 3 enabled enabled enabled"

func optionsLine(o *types.InstanceMetadataOptionsResponse) string {
	return fmt.Sprintf("%s %s %d %s %s %s", o.State, o.HttpTokens, aws.ToInt32(o.HttpPutResponseHopLimit), o.HttpEndpoint,
		o.HttpProtocolIpv6, o.InstanceMetadataTags)
}

// canaryOfOne is a rollout of waves 1, 2, 4, 3 over ten instances.
func canaryOfOne(fns ...func(*fleet.Rollout)) *fleet.Rollout {
	return fleet.NewRollout(append([]func(*fleet.Rollout){func(r *fleet.Rollout) {
		r.Canary, r.MaxWave = fleet.WaveSize{Count: 1}, fleet.WaveSize{}
	}}, fns...)...)
}

func itemOf(t *testing.T, items []fleet.Item, id string) fleet.Item {
	t.Helper()
	for _, it := range items {
		if it.InstanceID == id {
			return it
		}
	}
	t.Fatalf("%s is not in the report", id)
	return fleet.Item{}
}

// TestRolloutHaltsAndRollsBack: software on an instance of the second wave
// still calls IMDSv1. The first reading of the bake sees the rejected
// calls: the rollout halts, that instance gets back exactly its five
// options, and no later wave is started.
func TestRolloutHaltsAndRollsBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newRolloutEnv(t, 10, varied)
		// Four of the five fields change: the rollback must restore them all.
		s := testenv.MustNew(t, imdsopts.RequireIMDSv2(), imdsopts.HopLimit(2), imdsopts.HTTPProtocolIPv6("disabled"),
			imdsopts.InstanceMetadataTags("disabled"))
		plan := e.plan(t, s, e.opts(canaryOfOne()))
		broken := e.ids[2]
		if err := e.f.CallIMDSv1(broken, 2); err != nil {
			t.Fatal(err)
		}
		heard := map[string][]fleet.Status{}
		report, err := fleet.Apply(t.Context(), e.api, plan, func(o *fleet.Options) {
			o.OnProgress = func(it fleet.Item) { heard[it.InstanceID] = append(heard[it.InstanceID], it.Status) }
		})
		if !errors.Is(err, fleet.ErrRolloutHalted) || errors.Is(err, fleet.ErrIMDSv1Unknown) || !strings.Contains(err.Error(), broken) {
			t.Fatalf("error = %v, want ErrRolloutHalted naming %s", err, broken)
		}
		for k, id := range e.ids {
			it := itemOf(t, report.Items, id)
			switch {
			case k == 0 || k == 1:
				if it.Status != fleet.StatusApplied || it.RejectedCalls == nil || *it.RejectedCalls != 0 {
					t.Errorf("%s (wave %d): %v, rejected %v; want applied with a measured 0", id, it.Wave, it.Status, it.RejectedCalls)
				}
			case k == 2:
				if it.Status != fleet.StatusRolledBack || !errors.Is(it.Err, fleet.ErrIMDSv1Rejected) ||
					it.RejectedCalls == nil || *it.RejectedCalls <= 0 {
					t.Errorf("%s: %v %v, rejected %v; want rolled back with its rejected calls", id, it.Status, it.Err, it.RejectedCalls)
				}
				if got := optionsLine(testenv.CurrentOptions(t, e.f, id)); got != wantVaried {
					t.Errorf("%s after the rollback: %s, want %s", id, got, wantVaried)
				}
				if !slices.Equal(heard[id], []fleet.Status{fleet.StatusApplied, fleet.StatusRolledBack}) {
					t.Errorf("OnProgress heard %s as %v, want applied then rolled back", id, heard[id])
				}
			default:
				if it.Status != fleet.StatusNotAttempted || !errors.Is(it.Err, fleet.ErrRolloutHalted) {
					t.Errorf("%s (wave %d): %v %v, want not attempted for the halt", id, it.Wave, it.Status, it.Err)
				}
				if n := e.api.Changes()[id]; n != 0 {
					t.Errorf("%s of a later wave was changed %d times", id, n)
				}
			}
		}
		if n := e.api.Changes()[broken]; n != 2 {
			t.Errorf("%s was changed %d times, want 2 (the change, the rollback)", broken, n)
		}
		if len(report.Waves) != 2 || report.Waves[0].Err != nil || !errors.Is(report.Waves[1].Err, fleet.ErrRolloutHalted) ||
			report.Waves[1].Rejected != 1 || report.Waves[1].Watched != 3 {
			t.Fatalf("waves = %+v, want wave 1 passed and wave 2 failed with 1 of 3 rejecting", report.Waves)
		}
		// The first reading after the datapoint of the period of the
		// rejected calls was published saw them: within a 5-minute period,
		// the minute CloudWatch takes to publish it, and CheckEvery (a
		// minute).
		if d := report.Waves[1].Ended.Sub(report.Waves[1].Started); d > 7*time.Minute+10*time.Second {
			t.Errorf("wave 2 failed %v after it began, want within 7 minutes", d)
		}
		if d := report.Waves[0].Ended.Sub(report.Waves[0].Started); d < fleet.NewRollout().Bake {
			t.Errorf("the canary was baked %v, want at least %v", d, fleet.NewRollout().Bake)
		}
	})
}

// TestRolloutRollbackScopes: what a failed wave rolls back.
func TestRolloutRollbackScopes(t *testing.T) {
	for _, tc := range []struct {
		scope                    fleet.RollbackScope
		canary, wave2, broken    fleet.Status
		brokenTokens, wave2Token types.HttpTokensState
	}{
		{fleet.RollbackNone, fleet.StatusApplied, fleet.StatusApplied, fleet.StatusNeedsPerson, "required", "required"},
		{fleet.RollbackFailed, fleet.StatusApplied, fleet.StatusApplied, fleet.StatusRolledBack, "optional", "required"},
		{fleet.RollbackWave, fleet.StatusApplied, fleet.StatusRolledBack, fleet.StatusRolledBack, "optional", "optional"},
	} {
		t.Run(tc.scope.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := newRolloutEnv(t, 10, nil)
				plan := e.plan(t, testenv.MustNew(t, imdsopts.RequireIMDSv2()), e.opts(canaryOfOne(func(r *fleet.Rollout) { r.Rollback = tc.scope })))
				if err := e.f.CallIMDSv1(e.ids[2], 1); err != nil {
					t.Fatal(err)
				}
				report, err := fleet.Apply(t.Context(), e.api, plan)
				if !errors.Is(err, fleet.ErrRolloutHalted) {
					t.Fatalf("error = %v, want ErrRolloutHalted", err)
				}
				for _, c := range []struct {
					id     string
					want   fleet.Status
					tokens types.HttpTokensState
				}{{e.ids[0], tc.canary, "required"}, {e.ids[1], tc.wave2, tc.wave2Token}, {e.ids[2], tc.broken, tc.brokenTokens}} {
					it := itemOf(t, report.Items, c.id)
					if it.Status != c.want {
						t.Errorf("%s (wave %d): %v (%v), want %v", c.id, it.Wave, it.Status, it.Err, c.want)
					}
					if got := testenv.CurrentOptions(t, e.f, c.id).HttpTokens; got != c.tokens {
						t.Errorf("%s has HttpTokens %s, want %s", c.id, got, c.tokens)
					}
				}
				if it := itemOf(t, report.Items, e.ids[2]); !errors.Is(it.Err, fleet.ErrIMDSv1Rejected) {
					t.Errorf("the broken instance's error = %v, want ErrIMDSv1Rejected", it.Err)
				}
			})
		})
	}
}

// TestRolloutWatchesEarlierWaves: software on a canary instance starts
// calling IMDSv1 only after the canary passed its bake. The next wave's
// bake still reads it, halts, and rolls it back.
func TestRolloutWatchesEarlierWaves(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newRolloutEnv(t, 10, nil)
		r := canaryOfOne(func(r *fleet.Rollout) {
			r.OnWave = func(w fleet.WaveReport) {
				if w.Wave == 1 {
					if err := e.f.CallIMDSv1(e.ids[0], 1); err != nil {
						t.Error(err)
					}
				}
			}
		})
		plan := e.plan(t, testenv.MustNew(t, imdsopts.RequireIMDSv2()), e.opts(r))
		report, err := fleet.Apply(t.Context(), e.api, plan)
		if !errors.Is(err, fleet.ErrRolloutHalted) || !strings.Contains(err.Error(), "wave 2 of 4") {
			t.Fatalf("error = %v, want the rollout halted at wave 2", err)
		}
		if it := itemOf(t, report.Items, e.ids[0]); it.Status != fleet.StatusRolledBack {
			t.Errorf("the canary instance: %v %v, want rolled back", it.Status, it.Err)
		}
		if got := testenv.CurrentOptions(t, e.f, e.ids[0]).HttpTokens; got != "optional" {
			t.Errorf("the canary instance has HttpTokens %s, want optional again", got)
		}
	})
}

// TestRolloutUnreadableMetricHalts: a rejected-call count that cannot be
// read is not "no rejections": the rollout halts with the reason. Nothing
// is rolled back for want of a measurement, unless the scope is the wave.
func TestRolloutUnreadableMetricHalts(t *testing.T) {
	for _, tc := range []struct {
		name   string
		break_ func(cw *fake.CloudWatch)
		reason string
		scope  fleet.RollbackScope
		canary fleet.Status
	}{
		{"AccessDenied", func(cw *fake.CloudWatch) {
			cw.FailNext(100, fake.NewAPIError(403, "AccessDenied", "not authorized to perform cloudwatch:GetMetricData"))
		}, "AccessDenied", fleet.RollbackFailed, fleet.StatusApplied},
		{"PartialData", func(cw *fake.CloudWatch) {
			cw.CorruptNext(100, func(out *cloudwatch.GetMetricDataOutput) {
				for i := range out.MetricDataResults {
					out.MetricDataResults[i].StatusCode = cwtypes.StatusCodePartialData
				}
			})
		}, "PartialData", fleet.RollbackFailed, fleet.StatusApplied},
		{"InternalError, whole wave", func(cw *fake.CloudWatch) {
			cw.FailNext(1000, nil)
		}, "InternalServiceError", fleet.RollbackWave, fleet.StatusRolledBack},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := newRolloutEnv(t, 10, nil)
				plan := e.plan(t, testenv.MustNew(t, imdsopts.RequireIMDSv2()), e.opts(canaryOfOne(func(r *fleet.Rollout) { r.Rollback = tc.scope })))
				tc.break_(e.cw)
				report, err := fleet.Apply(t.Context(), e.api, plan)
				if !errors.Is(err, fleet.ErrRolloutHalted) || !errors.Is(err, fleet.ErrIMDSv1Unknown) ||
					!strings.Contains(err.Error(), tc.reason) || !strings.Contains(err.Error(), "wave 1 of 4") {
					t.Fatalf("error = %v, want the rollout halted at wave 1, ErrIMDSv1Unknown, %s", err, tc.reason)
				}
				canary := itemOf(t, report.Items, e.ids[0])
				if canary.Status != tc.canary || canary.RejectedCalls != nil {
					t.Errorf("canary: %v, rejected %v; want %v, unmeasured", canary.Status, canary.RejectedCalls, tc.canary)
				}
				if tc.canary == fleet.StatusApplied && !errors.Is(canary.Err, fleet.ErrIMDSv1Unknown) {
					t.Errorf("canary error = %v, want ErrIMDSv1Unknown", canary.Err)
				}
				for _, id := range e.ids[1:] {
					if it := itemOf(t, report.Items, id); it.Status != fleet.StatusNotAttempted {
						t.Errorf("%s: %v, want not attempted", id, it.Status)
					}
				}
				if n := e.f.Calls("ModifyInstanceMetadataOptions"); n != map[bool]int{true: 2, false: 1}[tc.scope == fleet.RollbackWave] {
					t.Errorf("%d Modify calls", n)
				}
			})
		})
	}
}

// TestRolloutEnforcement: when the account enforces IMDSv2, EC2 will not
// make HttpTokens optional again. The plan says which changes are one-way
// before anything is changed, and a broken instance among them is left to
// a person instead of a rollback EC2 would refuse. When enforcement is
// turned on after the plan, EC2's refusal of the rollback says the same.
func TestRolloutEnforcement(t *testing.T) {
	enforce := func(t *testing.T, f *fake.EC2) {
		t.Helper()
		_, err := f.ModifyInstanceMetadataDefaults(context.Background(), &ec2.ModifyInstanceMetadataDefaultsInput{
			HttpTokensEnforced: types.DefaultHttpTokensEnforcedStateEnabled})
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, before := range []bool{true, false} {
		t.Run(fmt.Sprintf("enforced before the plan %v", before), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := newRolloutEnv(t, 10, nil)
				if before {
					enforce(t, e.f)
				}
				plan := e.plan(t, testenv.MustNew(t, imdsopts.RequireIMDSv2()), e.opts(canaryOfOne()))
				if want := map[bool]int{true: 10, false: 0}[before]; len(plan.Irreversible) != want {
					t.Fatalf("plan.Irreversible = %v, want %d instances", plan.Irreversible, want)
				}
				if !before {
					enforce(t, e.f)
				}
				broken := e.ids[2]
				if err := e.f.CallIMDSv1(broken, 1); err != nil {
					t.Fatal(err)
				}
				if before {
					// One-way changes are made only when accepted.
					sent := e.f.Calls("ModifyInstanceMetadataOptions")
					if report, err := fleet.Apply(t.Context(), e.api, plan); !errors.Is(err, fleet.ErrIrreversible) || report != nil {
						t.Fatalf("Apply without AcceptIrreversible = %v, %v, want no report and ErrIrreversible", report, err)
					}
					if n := e.f.Calls("ModifyInstanceMetadataOptions"); n != sent {
						t.Fatalf("Apply without AcceptIrreversible sent %d calls, want none", n-sent)
					}
				}
				report, err := fleet.Apply(t.Context(), e.api, plan, func(o *fleet.Options) { o.AcceptIrreversible = true })
				if !errors.Is(err, fleet.ErrRolloutHalted) {
					t.Fatalf("error = %v, want ErrRolloutHalted", err)
				}
				it := itemOf(t, report.Items, broken)
				if it.Status != fleet.StatusNeedsPerson || !errors.Is(it.Err, imdsopts.ErrIMDSv2Enforced) || !errors.Is(it.Err, fleet.ErrIMDSv1Rejected) {
					t.Errorf("%s: %v %v, want needs-person for enforcement", broken, it.Status, it.Err)
				}
				// Known before: no rollback is sent at all.
				if calls := e.f.Calls("ModifyInstanceMetadataOptions"); calls != map[bool]int{true: 3, false: 4}[before] {
					t.Errorf("%d Modify calls", calls)
				}
			})
		})
	}
	t.Run("Enforcement required", func(t *testing.T) {
		f := fake.New()
		_, err := fleet.NewPlan(t.Context(), f, fleet.Selection{}, testenv.MustNew(t, imdsopts.RequireIMDSv2()), func(o *fleet.Options) {
			o.Metrics, o.Rollout = fake.NewCloudWatch(), fleet.NewRollout()
		})
		if !errors.Is(err, imdsopts.ErrInvalid) || !strings.Contains(err.Error(), "fleet.Options.Enforcement") {
			t.Errorf("error = %v, want ErrInvalid naming fleet.Options.Enforcement", err)
		}
		if calls := f.CallCounts(); len(calls) != 0 {
			t.Errorf("calls were made: %v", calls)
		}
	})
}

// TestRolloutOptionsInvalid: a Rollout that cannot be carried out is an
// error naming the field, before any call.
func TestRolloutOptionsInvalid(t *testing.T) {
	for _, tc := range []struct {
		field string
		fn    func(*fleet.Options)
	}{
		{"Rollout.Canary", func(o *fleet.Options) { o.Rollout.Canary = fleet.WaveSize{} }},
		{"Rollout.Canary", func(o *fleet.Options) { o.Rollout.Canary = fleet.WaveSize{Count: 1, Percent: 1} }},
		{"Rollout.Canary", func(o *fleet.Options) { o.Rollout.Canary = fleet.WaveSize{Percent: 150} }},
		{"Rollout.Canary", func(o *fleet.Options) { o.Rollout.Canary = fleet.WaveSize{Count: -2} }},
		{"Rollout.MaxWave", func(o *fleet.Options) { o.Rollout.MaxWave = fleet.WaveSize{Percent: -1} }},
		{"Rollout.Growth", func(o *fleet.Options) { o.Rollout.Growth = 0.5 }},
		{"Rollout.Growth", func(o *fleet.Options) { o.Rollout.Growth = math.NaN() }},
		{"Rollout.Growth", func(o *fleet.Options) { o.Rollout.Growth = math.Inf(1) }},
		{"Rollout.Bake", func(o *fleet.Options) { o.Rollout.Bake = -time.Second }},
		{"Rollout.CheckEvery", func(o *fleet.Options) { o.Rollout.CheckEvery = -time.Second }},
		{"Rollout.Rollback", func(o *fleet.Options) {
			o.Rollout = &fleet.Rollout{Canary: fleet.WaveSize{Count: 1}, Growth: 2}
		}},
		{"Rollout.CanaryTags", func(o *fleet.Options) { o.Rollout.CanaryTags = map[string]string{"": "x"} }},
		{"fleet.Options.Region", func(o *fleet.Options) { o.Journal = new(strings.Builder) }},
		{"fleet.Options.Region", func(o *fleet.Options) { o.Journal, o.Region = new(strings.Builder), "US East" }},
		{"fleet.Options.Metrics", func(o *fleet.Options) { o.Metrics, o.SkipIMDSv1Gate = nil, true }},
	} {
		t.Run(tc.field, func(t *testing.T) {
			f := fake.New()
			testenv.Fleet(t, f, 3, nil)
			_, err := fleet.NewPlan(t.Context(), f, fleet.Selection{}, testenv.MustNew(t, imdsopts.RequireIMDSv2()), func(o *fleet.Options) {
				o.Metrics, o.Enforcement, o.Rollout = fake.NewCloudWatch(), f, fleet.NewRollout()
			}, tc.fn)
			var ve *imdsopts.ValidationError
			if !errors.Is(err, imdsopts.ErrInvalid) || !errors.As(err, &ve) || !strings.Contains(err.Error(), tc.field) {
				t.Errorf("error = %v, want ErrInvalid naming %s", err, tc.field)
			}
			if calls := f.CallCounts(); len(calls) != 0 {
				t.Errorf("calls were made: %v", calls)
			}
		})
	}
	t.Run("canary tags no instance has", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			f := fake.New()
			testenv.Fleet(t, f, 3, nil)
			s := testenv.MustNew(t, imdsopts.HTTPEndpoint("disabled"))
			r := fleet.NewRollout(func(r *fleet.Rollout) { r.CanaryTags = map[string]string{"canary": "yes"} })
			_, err := fleet.NewPlan(t.Context(), f, fleet.Selection{}, s, func(o *fleet.Options) { o.Rollout = r })
			if !errors.Is(err, imdsopts.ErrInvalid) || !strings.Contains(err.Error(), "Rollout.CanaryTags") {
				t.Errorf("fleet.NewPlan: error = %v, want ErrInvalid naming Rollout.CanaryTags", err)
			}
			plan, err := fleet.NewPlan(t.Context(), f, fleet.Selection{}, s)
			if err != nil {
				t.Fatal(err)
			}
			report, err := fleet.Apply(t.Context(), f, plan, func(o *fleet.Options) { o.Rollout = r })
			if !errors.Is(err, imdsopts.ErrInvalid) || report != nil || f.Calls("ModifyInstanceMetadataOptions") != 0 {
				t.Errorf("fleet.Apply: %v, %v, %d Modify calls; want ErrInvalid before any change", report, err, f.Calls("ModifyInstanceMetadataOptions"))
			}
		})
	})
}

// TestRolloutUnwatchedChange: turning the endpoint off can break software,
// but no metric counts it. The rollout still goes in waves and bakes each,
// reading nothing: it needs no CloudWatch.
func TestRolloutUnwatchedChange(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := fake.New(func(o *fake.Options) { o.ApplyDelay = 5 * time.Second })
		testenv.Fleet(t, f, 4, nil)
		r := canaryOfOne()
		plan, err := fleet.NewPlan(t.Context(), f, fleet.Selection{}, testenv.MustNew(t, imdsopts.HTTPEndpoint("disabled")),
			func(o *fleet.Options) { o.Rollout = r })
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		report, err := fleet.Apply(t.Context(), f, plan)
		if err != nil {
			t.Fatal(err)
		}
		if c := report.Counts(); c[fleet.StatusApplied] != 4 {
			t.Errorf("counts = %v, want 4 applied", c)
		}
		if len(report.Waves) != 3 || report.Waves[2].Watched != 0 || report.Waves[2].Err != nil {
			t.Errorf("waves = %+v, want 3 passed, none watched", report.Waves)
		}
		if d := time.Since(start); d < 3*fleet.NewRollout().Bake {
			t.Errorf("the rollout took %v, less than its three bakes", d)
		}
	})
}

// TestRolloutCancelledInBake: when the context ends during a bake, nothing
// new starts; the wave's changes stay, and later waves are not attempted.
func TestRolloutCancelledInBake(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newRolloutEnv(t, 10, nil)
		plan := e.plan(t, testenv.MustNew(t, imdsopts.RequireIMDSv2()), e.opts(canaryOfOne()))
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
		defer cancel()
		report, err := fleet.Apply(ctx, e.api, plan)
		if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, fleet.ErrRolloutHalted) {
			t.Fatalf("error = %v, want the context's", err)
		}
		if it := itemOf(t, report.Items, e.ids[0]); it.Status != fleet.StatusApplied {
			t.Errorf("canary: %v, want applied", it.Status)
		}
		for _, id := range e.ids[1:] {
			if it := itemOf(t, report.Items, id); it.Status != fleet.StatusNotAttempted || !errors.Is(it.Err, context.DeadlineExceeded) {
				t.Errorf("%s: %v %v, want not attempted", id, it.Status, it.Err)
			}
		}
		if len(report.Waves) != 1 || !errors.Is(report.Waves[0].Err, context.DeadlineExceeded) {
			t.Errorf("waves = %+v, want the canary's cut short", report.Waves)
		}
	})
}

// TestRolloutFrequentChecks: readings during the bake that come before
// CloudWatch has any datapoint are no verdict; rejected calls still halt
// at the first reading that sees them.
func TestRolloutFrequentChecks(t *testing.T) {
	for _, broken := range []bool{false, true} {
		t.Run(fmt.Sprintf("broken %v", broken), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := newRolloutEnv(t, 4, nil)
				r := canaryOfOne(func(r *fleet.Rollout) { r.Bake, r.CheckEvery = 3*time.Minute, 10*time.Second })
				plan := e.plan(t, testenv.MustNew(t, imdsopts.RequireIMDSv2()), e.opts(r))
				if broken {
					if err := e.f.CallIMDSv1(e.ids[0], 1); err != nil {
						t.Fatal(err)
					}
				}
				report, err := fleet.Apply(t.Context(), e.api, plan)
				if !broken {
					if err != nil || report.Counts()[fleet.StatusApplied] != 4 {
						t.Fatalf("fleet.Apply: %v, %v; want all applied", err, report.Counts())
					}
					return
				}
				if !errors.Is(err, fleet.ErrRolloutHalted) || errors.Is(err, fleet.ErrIMDSv1Unknown) {
					t.Fatalf("error = %v, want halted for rejected calls", err)
				}
				// The first 5-minute period after the change holds the rejected
				// calls; CloudWatch publishes it a minute after it ends, and a
				// reading comes within 10 s.
				if d := report.Waves[0].Ended.Sub(report.Waves[0].Started); d > 6*time.Minute+20*time.Second {
					t.Errorf("halted %v after the canary began", d)
				}
			})
		})
	}
}

// TestRolloutCopied: a plan keeps the Rollout it was made with; changing
// the caller's Rollout afterwards, or fleet.Apply's copy, does not change
// it. Canary tags, matched as the plan listed the instances, cannot be
// changed at fleet.Apply.
func TestRolloutCopied(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := fake.New(func(o *fake.Options) { o.ApplyDelay = 0 })
		launchTagged(t, f, 6, []int{0, 1})
		r := canaryOfOne(func(r *fleet.Rollout) { r.Bake, r.CanaryTags = time.Minute, map[string]string{"canary": "yes"} })
		plan, err := fleet.NewPlan(t.Context(), f, fleet.Selection{}, testenv.MustNew(t, imdsopts.HTTPEndpoint("disabled")),
			func(o *fleet.Options) { o.Rollout = r })
		if err != nil {
			t.Fatal(err)
		}
		r.Canary, r.CanaryTags["canary"] = fleet.WaveSize{Count: 5}, "no"
		_, err = fleet.Apply(t.Context(), f, plan, func(o *fleet.Options) { o.Rollout.CanaryTags = map[string]string{"canary": "no"} })
		if !errors.Is(err, imdsopts.ErrInvalid) || !strings.Contains(err.Error(), "Rollout.CanaryTags") || f.Calls("ModifyInstanceMetadataOptions") != 0 {
			t.Fatalf("other canary tags: %v, want ErrInvalid before any change", err)
		}
		report, err := fleet.Apply(t.Context(), f, plan, func(o *fleet.Options) { o.Rollout.Growth = 5 })
		if err != nil {
			t.Fatal(err)
		}
		if got := waveSizes(report.Items); !slices.Equal(got, []int{1, 5}) {
			t.Errorf("waves %v, want [1 5]: the plan's canary of 1 tagged instance, then growth 5", got)
		}
		if got := waveSizes(plan.Items); !slices.Equal(got, []int{1, 2, 3}) {
			t.Errorf("the plan's waves changed: %v", got)
		}
	})
}

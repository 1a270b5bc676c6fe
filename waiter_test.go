package imdsopts_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imdsopts/imdsopts"
	"github.com/imdsopts/imdsopts/fake"
	"github.com/imdsopts/imdsopts/internal/testenv"
)

const (
	modify   = "ModifyInstanceMetadataOptions"
	describe = "DescribeInstances"
)

func TestApplyWaitAppliesAfterDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := fake.New(func(o *fake.Options) { o.ApplyDelay = 5 * time.Second })
		id := testenv.Launch(t, f, "", &types.InstanceMetadataOptionsRequest{InstanceMetadataTags: "enabled"})
		start := time.Now()
		var attempts []imdsopts.Attempt
		w, err := imdsopts.Apply(t.Context(), f, id, testenv.MustNew(t, imdsopts.RequireIMDSv2(), imdsopts.HopLimit(2)),
			func(o *imdsopts.WaiterOptions) {
				o.OnAttempt = func(a imdsopts.Attempt) { attempts = append(attempts, a) }
			})
		if err != nil {
			t.Fatal(err)
		}
		got, err := w.Wait(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if got.State != "applied" || got.HttpTokens != "required" || aws.ToInt32(got.HttpPutResponseHopLimit) != 2 {
			t.Errorf("Wait = %+v, want applied, required, hop 2", got)
		}
		if got.InstanceMetadataTags != "enabled" {
			t.Errorf("InstanceMetadataTags = %q: an omitted field was not kept", got.InstanceMetadataTags)
		}
		// The schedule's bound: seen by 1.5 x the apply time + MinDelay.
		elapsed := time.Since(start)
		if limit := 5*time.Second*3/2 + imdsopts.DefaultMinDelay; elapsed < 5*time.Second || elapsed > limit {
			t.Errorf("Wait returned after %v, want 5s..%v", elapsed, limit)
		}
		if n := f.Calls(modify); n != 1 {
			t.Errorf("%d Modify calls, want 1", n)
		}
		// An immediate poll, then 1 s, 1 s, 1 s, then growing by at most half
		// the time waited: 5 to 7 polls until 5 s have passed.
		if n := f.Calls(describe); n < 5 || n > 7 {
			t.Errorf("%d DescribeInstances calls, want 5..7", n)
		}
		if len(attempts) != 1+f.Calls(describe) {
			t.Fatalf("OnAttempt heard %d calls, want %d", len(attempts), 1+f.Calls(describe))
		}
		for i, a := range attempts[1:] {
			if a.Operation != describe || a.Number != i+1 || a.InstanceID != id {
				t.Errorf("attempt %d = %+v", i+1, a)
			}
		}
		if last := attempts[len(attempts)-1]; last.NextDelay != 0 || last.Options.State != "applied" {
			t.Errorf("last attempt = %+v, want applied with no next delay", last)
		}
	})
}

// answersApplied reports every ModifyInstanceMetadataOptions answer as
// already applied, which EC2 never does for a running instance: it shows
// that Wait trusts such an answer and makes no call.
type answersApplied struct{ *fake.EC2 }

func (e answersApplied) ModifyInstanceMetadataOptions(ctx context.Context, in *ec2.ModifyInstanceMetadataOptionsInput, optFns ...func(*ec2.Options)) (*ec2.ModifyInstanceMetadataOptionsOutput, error) {
	out, err := e.EC2.ModifyInstanceMetadataOptions(ctx, in, optFns...)
	if err == nil {
		out.InstanceMetadataOptions.State = types.InstanceMetadataOptionsStateApplied
	}
	return out, err
}

func TestWaitNeedsNoPollWhenAlreadyApplied(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := fake.New(func(o *fake.Options) { o.ApplyDelay = 0 })
		id := testenv.Launch(t, f, "", nil)
		w, err := imdsopts.Apply(t.Context(), answersApplied{f}, id, testenv.MustNew(t, imdsopts.HopLimit(3)))
		if err != nil {
			t.Fatal(err)
		}
		got, err := w.Wait(t.Context())
		if err != nil || aws.ToInt32(got.HttpPutResponseHopLimit) != 3 {
			t.Fatalf("Wait = %+v, %v", got, err)
		}
		if n := f.Calls(describe); n != 0 {
			t.Errorf("%d DescribeInstances calls, want 0", n)
		}
	})
}

func TestWaitRetriesThrottlingAnd5xx(t *testing.T) {
	throttle := fake.NewAPIError(503, "RequestLimitExceeded", "Request limit exceeded.")
	tests := []struct {
		name          string
		op            string
		n             int
		err           error
		wantModify    int
		wantDescribes int // at least
	}{
		{"throttled polls", describe, 6, throttle, 1, 7},
		{"500 polls", describe, 3, fake.NewAPIError(500, "InternalError", "An internal error has occurred"), 1, 4},
		{"503 polls", describe, 2, fake.NewAPIError(503, "Unavailable", "The server is overloaded"), 1, 3},
		{"throttled modify", modify, 4, throttle, 5, 1},
		{"500 modify", modify, 2, fake.NewAPIError(500, "InternalError", "An internal error has occurred"), 3, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := fake.New(func(o *fake.Options) { o.ApplyDelay = time.Second })
				id := testenv.Launch(t, f, "", nil)
				f.FailNext(tt.op, tt.n, tt.err)
				w, err := imdsopts.Apply(t.Context(), f, id, testenv.MustNew(t, imdsopts.RequireIMDSv2()))
				if err != nil {
					t.Fatal(err)
				}
				got, err := w.Wait(t.Context())
				if err != nil || got.HttpTokens != "required" {
					t.Fatalf("Wait = %+v, %v", got, err)
				}
				if n := f.Calls(modify); n != tt.wantModify {
					t.Errorf("%d Modify calls, want %d", n, tt.wantModify)
				}
				if n := f.Calls(describe); n < tt.wantDescribes {
					t.Errorf("%d DescribeInstances calls, want at least %d", n, tt.wantDescribes)
				}
			})
		})
	}
}

func TestApplyRetriesNotFoundAfterLaunch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := fake.New(func(o *fake.Options) { o.PropagationDelay, o.ApplyDelay = 10*time.Second, time.Second })
		id := testenv.Launch(t, f, "", nil)
		w, err := imdsopts.Apply(t.Context(), f, id, testenv.MustNew(t, imdsopts.RequireIMDSv2()),
			func(o *imdsopts.WaiterOptions) { o.NotFoundGrace = time.Minute }) // just launched
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Wait(t.Context()); err != nil {
			t.Fatal(err)
		}
		if n := f.Calls(modify); n < 2 {
			t.Errorf("%d Modify calls, want the NotFound ones retried", n)
		}
	})
}

func TestInstanceNotFoundAfterGrace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := fake.New()
		start := time.Now()
		_, err := imdsopts.Apply(t.Context(), f, "i-00000000000000bad", testenv.MustNew(t, imdsopts.RequireIMDSv2()),
			func(o *imdsopts.WaiterOptions) { o.NotFoundGrace = 20 * time.Second })
		if !errors.Is(err, imdsopts.ErrInstanceNotFound) || testenv.APICode(err) != "InvalidInstanceID.NotFound" {
			t.Fatalf("Apply error = %v, want ErrInstanceNotFound wrapping InvalidInstanceID.NotFound", err)
		}
		if elapsed := time.Since(start); elapsed < 20*time.Second || elapsed > 20*time.Second+imdsopts.DefaultMaxDelay {
			t.Errorf("gave up after %v, want just past the 20s grace", elapsed)
		}
	})
}

// TestUnknownInstanceFailsFast: an ID EC2 does not know is a user error by
// default, answered at once with one call, as the AWS CLI does.
func TestUnknownInstanceFailsFast(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := fake.New()
		start := time.Now()
		_, err := imdsopts.Apply(t.Context(), f, "i-00000000000000bad", testenv.MustNew(t, imdsopts.RequireIMDSv2()))
		if !errors.Is(err, imdsopts.ErrInstanceNotFound) || testenv.APICode(err) != "InvalidInstanceID.NotFound" {
			t.Fatalf("Apply error = %v, want ErrInstanceNotFound", err)
		}
		if el, n := time.Since(start), f.Calls(modify); el != 0 || n != 1 {
			t.Errorf("took %v and %d calls, want at once with 1", el, n)
		}
		w, err := imdsopts.NewWaiter(f, "i-00000000000000bad", imdsopts.Set{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Wait(t.Context()); !errors.Is(err, imdsopts.ErrInstanceNotFound) || time.Since(start) != 0 {
			t.Errorf("Wait error = %v after %v, want ErrInstanceNotFound at once", err, time.Since(start))
		}
		if _, err := imdsopts.Describe(t.Context(), f, "i-00000000000000bad"); !errors.Is(err, imdsopts.ErrInstanceNotFound) || time.Since(start) != 0 {
			t.Errorf("Describe error = %v after %v, want ErrInstanceNotFound at once", err, time.Since(start))
		}
	})
}

func TestWaitInstanceTerminatedMidWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := fake.New(func(o *fake.Options) { o.ApplyDelay = time.Hour })
		id := testenv.Launch(t, f, "", nil)
		w, err := imdsopts.Apply(t.Context(), f, id, testenv.MustNew(t, imdsopts.RequireIMDSv2()))
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			time.Sleep(30 * time.Second)
			if _, err := f.TerminateInstances(context.Background(), &ec2.TerminateInstancesInput{InstanceIds: []string{id}}); err != nil {
				t.Error(err)
			}
		}()
		start := time.Now()
		_, err = w.Wait(t.Context())
		if !errors.Is(err, imdsopts.ErrInstanceTerminated) {
			t.Fatalf("Wait error = %v, want ErrInstanceTerminated", err)
		}
		if elapsed := time.Since(start); elapsed > 30*time.Second+imdsopts.DefaultMaxDelay {
			t.Errorf("noticed the termination after %v", elapsed)
		}
	})
}

func TestWaitTimesOutStuckPending(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := fake.New(func(o *fake.Options) { o.ApplyDelay = time.Hour })
		id := testenv.Launch(t, f, "", nil)
		w, err := imdsopts.Apply(t.Context(), f, id, testenv.MustNew(t, imdsopts.RequireIMDSv2()),
			func(o *imdsopts.WaiterOptions) { o.MaxWait = 2 * time.Minute })
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		_, err = w.Wait(t.Context())
		if !errors.Is(err, imdsopts.ErrTimeout) || !strings.Contains(err.Error(), "last state pending") {
			t.Fatalf("Wait error = %v, want ErrTimeout naming state pending", err)
		}
		if elapsed := time.Since(start); elapsed != 2*time.Minute {
			t.Errorf("timed out after %v, want exactly MaxWait", elapsed)
		}
		// Delays grow with the time waited, to MaxDelay: far fewer polls than
		// a fixed MinDelay's 120.
		if n := f.Calls(describe); n > 20 {
			t.Errorf("%d polls in 2 minutes", n)
		}
	})
}

func TestWaitTimesOutWhenValuesDiffer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := fake.New(func(o *fake.Options) { o.ApplyDelay = time.Second })
		id := testenv.Launch(t, f, "", nil)
		w, err := imdsopts.Apply(t.Context(), f, id, testenv.MustNew(t, imdsopts.RequireIMDSv2()),
			func(o *imdsopts.WaiterOptions) { o.MaxWait = time.Minute })
		if err != nil {
			t.Fatal(err)
		}
		// Another writer turns tokens back to optional before the change lands.
		if _, err := f.ModifyInstanceMetadataOptions(t.Context(), &ec2.ModifyInstanceMetadataOptionsInput{
			InstanceId: aws.String(id), HttpTokens: "optional"}); err != nil {
			t.Fatal(err)
		}
		_, err = w.Wait(t.Context())
		if !errors.Is(err, imdsopts.ErrTimeout) || !strings.Contains(err.Error(), "HttpTokens=required still differs") {
			t.Fatalf("Wait error = %v, want ErrTimeout naming the differing field", err)
		}
	})
}

func TestWaitContextCancelled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := fake.New(func(o *fake.Options) { o.ApplyDelay = time.Hour })
		id := testenv.Launch(t, f, "", nil)
		ctx, cancel := context.WithCancel(t.Context())
		w, err := imdsopts.Apply(ctx, f, id, testenv.MustNew(t, imdsopts.RequireIMDSv2()))
		if err != nil {
			t.Fatal(err)
		}
		time.AfterFunc(45*time.Second, cancel)
		start := time.Now()
		_, err = w.Wait(ctx)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Wait error = %v, want context.Canceled", err)
		}
		if elapsed := time.Since(start); elapsed != 45*time.Second {
			t.Errorf("returned %v after the start, want at the cancel (45s)", elapsed)
		}
	})
}

func TestWaitContextDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := fake.New(func(o *fake.Options) { o.ApplyDelay = time.Hour })
		id := testenv.Launch(t, f, "", nil)
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		w, err := imdsopts.Apply(ctx, f, id, testenv.MustNew(t, imdsopts.RequireIMDSv2()))
		if err != nil {
			t.Fatal(err)
		}
		if _, err = w.Wait(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Wait error = %v, want context.DeadlineExceeded", err)
		}
	})
}

func TestWaitStoppedInstancePendingUntilStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := fake.New()
		id := testenv.Launch(t, f, "", nil)
		if _, err := f.StopInstances(t.Context(), &ec2.StopInstancesInput{InstanceIds: []string{id}}); err != nil {
			t.Fatal(err)
		}
		w, err := imdsopts.Apply(t.Context(), f, id, testenv.MustNew(t, imdsopts.RequireIMDSv2()))
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		got, err := w.Wait(t.Context())
		if !errors.Is(err, imdsopts.ErrPendingUntilStart) {
			t.Fatalf("Wait error = %v, want ErrPendingUntilStart", err)
		}
		if got == nil || got.State != "pending" || got.HttpTokens != "required" {
			t.Errorf("Wait options = %+v, want pending with the new values", got)
		}
		if elapsed, n := time.Since(start), f.Calls(describe); elapsed != 0 || n != 1 {
			t.Errorf("took %v and %d polls, want at once with 1", elapsed, n)
		}
		// Once started, the change is applied.
		if _, err := f.StartInstances(t.Context(), &ec2.StartInstancesInput{InstanceIds: []string{id}}); err != nil {
			t.Fatal(err)
		}
		if got, err := w.Wait(t.Context()); err != nil || got.State != "applied" {
			t.Fatalf("Wait after start = %+v, %v", got, err)
		}
	})
}

func TestApplyIMDSv2Enforced(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := fake.New()
		id := testenv.Launch(t, f, types.ImdsSupportValuesV20, nil)
		if _, err := f.ModifyInstanceMetadataDefaults(t.Context(), &ec2.ModifyInstanceMetadataDefaultsInput{
			HttpTokensEnforced: types.DefaultHttpTokensEnforcedStateEnabled}); err != nil {
			t.Fatal(err)
		}
		_, err := imdsopts.Apply(t.Context(), f, id, testenv.MustNew(t, imdsopts.HTTPTokens("optional")))
		if !errors.Is(err, imdsopts.ErrIMDSv2Enforced) || testenv.APICode(err) != "UnsupportedOperation" {
			t.Fatalf("Apply error = %v, want ErrIMDSv2Enforced wrapping UnsupportedOperation", err)
		}
		if n := f.Calls(modify); n != 1 {
			t.Errorf("%d Modify calls, want 1 (not retried)", n)
		}
		if got := testenv.CurrentOptions(t, f, id); got.HttpTokens != "required" {
			t.Errorf("HttpTokens = %q after a refused change", got.HttpTokens)
		}
	})
}

// TestIMDSv2EnforcedMessages: a refusal is the account's enforcement of
// IMDSv2 by its code, UnsupportedOperation, and the setting it names,
// httpTokensEnforced, in either wording EC2 is known to use; another
// UnsupportedOperation (IPv6 on a Xen instance type) is not, even when the
// change also asks for HttpTokens optional.
func TestIMDSv2EnforcedMessages(t *testing.T) {
	for _, tt := range []struct {
		name     string
		opts     func(*fake.Options)
		inject   error // answered instead, when set
		enforced bool
	}{
		{name: "documented wording", enforced: true},
		{name: "reported wording", opts: func(o *fake.Options) { o.ReportedModifyEnforcedMessage = true }, enforced: true},
		{name: "IPv6 on Xen", inject: fake.NewAPIError(400, "UnsupportedOperation",
			"The HttpProtocolIpv6 metadata option cannot be enabled for Xen-backed instance types.")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := fake.New(tt.opts)
				id := testenv.Launch(t, f, types.ImdsSupportValuesV20, nil)
				if _, err := f.ModifyInstanceMetadataDefaults(t.Context(), &ec2.ModifyInstanceMetadataDefaultsInput{
					HttpTokensEnforced: types.DefaultHttpTokensEnforcedStateEnabled}); err != nil {
					t.Fatal(err)
				}
				if tt.inject != nil {
					f.FailNext(modify, 1, tt.inject)
				}
				_, err := imdsopts.Apply(t.Context(), f, id, testenv.MustNew(t, imdsopts.HTTPTokens("optional"), imdsopts.HTTPProtocolIPv6("enabled")))
				if testenv.APICode(err) != "UnsupportedOperation" {
					t.Fatalf("Apply error = %v, want UnsupportedOperation", err)
				}
				if got := errors.Is(err, imdsopts.ErrIMDSv2Enforced); got != tt.enforced {
					t.Errorf("errors.Is(%v, ErrIMDSv2Enforced) = %t, want %t", err, got, tt.enforced)
				}
			})
		})
	}
}

func TestOtherAPIErrorsEndTheWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := fake.New()
		id := testenv.Launch(t, f, "", nil)
		w, err := imdsopts.Apply(t.Context(), f, id, testenv.MustNew(t, imdsopts.RequireIMDSv2()))
		if err != nil {
			t.Fatal(err)
		}
		f.FailNext(describe, 1, fake.NewAPIError(400, "AuthFailure", "AWS was not able to validate the provided access credentials"))
		_, err = w.Wait(t.Context())
		if testenv.APICode(err) != "AuthFailure" {
			t.Fatalf("Wait error = %v, want the AuthFailure API error", err)
		}
		if n := f.Calls(describe); n != 1 {
			t.Errorf("%d polls, want 1", n)
		}
	})
}

func TestUnauthorized(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := fake.New()
		id := testenv.Launch(t, f, "", nil)
		s := testenv.MustNew(t, imdsopts.RequireIMDSv2())
		if err := imdsopts.DryRun(t.Context(), f, id, s); err != nil {
			t.Fatalf("DryRun permitted = %v, want nil", err)
		}
		if got := testenv.CurrentOptions(t, f, id); got.HttpTokens != "optional" {
			t.Fatalf("DryRun changed HttpTokens to %q", got.HttpTokens)
		}
		f.Deny(modify)
		if err := imdsopts.DryRun(t.Context(), f, id, s); !errors.Is(err, imdsopts.ErrUnauthorized) || testenv.APICode(err) != "UnauthorizedOperation" {
			t.Errorf("DryRun denied = %v, want ErrUnauthorized", err)
		}
		if _, err := imdsopts.Apply(t.Context(), f, id, s); !errors.Is(err, imdsopts.ErrUnauthorized) {
			t.Errorf("Apply denied = %v, want ErrUnauthorized", err)
		}
		if n := f.Calls(modify); n != 3 {
			t.Errorf("%d Modify calls, want 3 (none retried)", n)
		}
	})
}

// ignoresDryRun applies every call, as an emulator that ignores DryRun does.
type ignoresDryRun struct{ *fake.EC2 }

func (e ignoresDryRun) ModifyInstanceMetadataOptions(ctx context.Context, in *ec2.ModifyInstanceMetadataOptionsInput, optFns ...func(*ec2.Options)) (*ec2.ModifyInstanceMetadataOptionsOutput, error) {
	c := *in
	c.DryRun = nil
	return e.EC2.ModifyInstanceMetadataOptions(ctx, &c, optFns...)
}

func TestDryRunIgnored(t *testing.T) {
	f := fake.New()
	id := testenv.Launch(t, f, "", nil)
	err := imdsopts.DryRun(t.Context(), ignoresDryRun{f}, id, testenv.MustNew(t, imdsopts.RequireIMDSv2()))
	if !errors.Is(err, imdsopts.ErrDryRunIgnored) {
		t.Fatalf("DryRun error = %v, want ErrDryRunIgnored", err)
	}
}

// TestBadInputMakesNoCall: every invalid input fails before any API call.
func TestBadInputMakesNoCall(t *testing.T) {
	f := fake.New()
	valid := testenv.MustNew(t, imdsopts.RequireIMDSv2())
	good := "i-0123456789abcdef0"
	tests := []struct {
		name string
		call func() error
	}{
		{"Apply malformed id", func() error { _, err := imdsopts.Apply(t.Context(), f, "i-123", valid); return err }},
		{"Apply empty id", func() error { _, err := imdsopts.Apply(t.Context(), f, "", valid); return err }},
		{"Apply upper-case id", func() error { _, err := imdsopts.Apply(t.Context(), f, "I-0123ABCD", valid); return err }},
		{"Apply negative MaxWait", func() error {
			_, err := imdsopts.Apply(t.Context(), f, good, valid, func(o *imdsopts.WaiterOptions) { o.MaxWait = -time.Second })
			return err
		}},
		{"Apply MaxDelay below MinDelay", func() error {
			_, err := imdsopts.Apply(t.Context(), f, good, valid, func(o *imdsopts.WaiterOptions) { o.MinDelay, o.MaxDelay = time.Minute, time.Second })
			return err
		}},
		{"DryRun malformed id", func() error { return imdsopts.DryRun(t.Context(), f, "i-zzzzzzzz", valid) }},
		{"New hop 65", func() error { _, err := imdsopts.New(imdsopts.HopLimit(65)); return err }},
		{"New tokens bogus", func() error { _, err := imdsopts.New(imdsopts.HTTPTokens("bogus")); return err }},
		{"New ipv6 without endpoint", func() error {
			_, err := imdsopts.New(imdsopts.HTTPEndpoint("disabled"), imdsopts.HTTPProtocolIPv6("enabled"))
			return err
		}},
		{"Resolve optional under enforcement", func() error {
			_, err := imdsopts.Resolve(imdsopts.Launch{Options: testenv.MustNew(t, imdsopts.HTTPTokens("optional")),
				Account: &types.InstanceMetadataDefaultsResponse{HttpTokensEnforced: "enabled"}})
			if !errors.Is(err, imdsopts.ErrIMDSv2Enforced) {
				t.Errorf("Resolve error = %v, want ErrIMDSv2Enforced", err)
			}
			return errors.Join(err, imdsopts.ErrInvalid) // counted below as refused
		}},
	}
	for _, tt := range tests {
		if err := tt.call(); !errors.Is(err, imdsopts.ErrInvalid) {
			t.Errorf("%s: error = %v, want ErrInvalid", tt.name, err)
		}
	}
	if calls := f.CallCounts(); len(calls) != 0 {
		t.Errorf("bad input made API calls: %v", calls)
	}
}

func TestApplyZeroSetIsInvalid(t *testing.T) {
	f := fake.New()
	id := testenv.Launch(t, f, "", nil)
	if _, err := imdsopts.Apply(t.Context(), f, id, imdsopts.Set{}); !errors.Is(err, imdsopts.ErrInvalid) {
		t.Fatalf("Apply of the zero Set = %v, want ErrInvalid", err)
	}
	if n := f.Calls(modify); n != 0 {
		t.Errorf("%d Modify calls for the zero Set", n)
	}
}

// TestNewWaiterWaitsForAChangeMadeElsewhere: a change sent by other means,
// waited for with NewWaiter; the zero Set waits for any change to apply.
func TestNewWaiterWaitsForAChangeMadeElsewhere(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := fake.New(func(o *fake.Options) { o.ApplyDelay = 20 * time.Second })
		id := testenv.Launch(t, f, "", nil)
		if _, err := f.ModifyInstanceMetadataOptions(t.Context(), testenv.MustNew(t, imdsopts.RequireIMDSv2()).ModifyInput(id)); err != nil {
			t.Fatal(err)
		}
		for _, s := range []imdsopts.Set{testenv.MustNew(t, imdsopts.RequireIMDSv2()), {}} {
			start := time.Now()
			w, err := imdsopts.NewWaiter(f, id, s)
			if err != nil {
				t.Fatal(err)
			}
			got, err := w.Wait(t.Context())
			if err != nil || got.State != "applied" || got.HttpTokens != "required" {
				t.Fatalf("Wait(%v) = %+v, %v", s, got, err)
			}
			if s.IsZero() && time.Since(start) != 0 {
				t.Errorf("the zero Set waited %v for a change already applied", time.Since(start))
			}
		}
		if n := f.Calls(modify); n != 1 {
			t.Errorf("%d Modify calls, want only the one made elsewhere", n)
		}
	})
}

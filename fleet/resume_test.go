package fleet_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"

	"github.com/imdsopts/imdsopts"
	"github.com/imdsopts/imdsopts/fake"
	"github.com/imdsopts/imdsopts/fleet"
	"github.com/imdsopts/imdsopts/internal/testenv"
)

// journalFile is a journal file that runs append to, one after the other.
type journalFile struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (f *journalFile) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.buf.Write(p)
}

func (f *journalFile) String() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.buf.String()
}

// crash kills the process at step at: every journal record written and
// every API call made is a step. At step at, the step happens (the call
// reaches EC2 and takes effect; the record reaches the file, or, when cut,
// only its first half), then the process is gone: the context is
// cancelled, the call's answer is lost, and nothing written later reaches
// the file.
type crash struct {
	mu     sync.Mutex
	at     int // 0: never
	cut    bool
	steps  int
	dead   bool
	cancel context.CancelFunc
	file   *journalFile
}

// step counts a step, and reports whether the process dies at it.
func (c *crash) step() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dead {
		return false
	}
	c.steps++
	if c.steps == c.at {
		c.dead = true
		c.cancel()
	}
	return c.dead
}

func (c *crash) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dead {
		return len(p), nil // the process is gone: nothing reaches the file
	}
	c.steps++
	if c.steps == c.at {
		c.dead = true
		c.cancel()
		if c.cut {
			c.file.Write(p[:len(p)/2])
			return len(p), nil
		}
	}
	return c.file.Write(p)
}

// changeCounts counts, per instance, the changes EC2 accepted that
// require tokens (forward) and those that make them optional (back).
type changeCounts struct {
	mu            sync.Mutex
	forward, back map[string]int
}

func (n *changeCounts) add(in *ec2.ModifyInstanceMetadataOptionsInput) {
	n.mu.Lock()
	defer n.mu.Unlock()
	switch in.HttpTokens {
	case types.HttpTokensStateRequired:
		n.forward[aws.ToString(in.InstanceId)]++
	case types.HttpTokensStateOptional:
		n.back[aws.ToString(in.InstanceId)]++
	}
}

// crashEC2 is the fake EC2 of a process that crash kills; its
// ModifyInstanceMetadataOptions calls are counted.
type crashEC2 struct {
	*fake.EC2
	c *crash
	n *changeCounts
}

var errLost = &smithy.CanceledError{Err: context.Canceled}

func (a *crashEC2) ModifyInstanceMetadataOptions(ctx context.Context, in *ec2.ModifyInstanceMetadataOptionsInput, optFns ...func(*ec2.Options)) (*ec2.ModifyInstanceMetadataOptionsOutput, error) {
	out, err := a.EC2.ModifyInstanceMetadataOptions(ctx, in, optFns...)
	if err == nil {
		a.n.add(in)
	}
	if a.c.step() {
		return nil, errLost
	}
	return out, err
}

func (a *crashEC2) DescribeInstances(ctx context.Context, in *ec2.DescribeInstancesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error) {
	out, err := a.EC2.DescribeInstances(ctx, in, optFns...)
	if a.c.step() {
		return nil, errLost
	}
	return out, err
}

type crashCloudWatch struct {
	*fake.CloudWatch
	c *crash
}

func (a *crashCloudWatch) GetMetricData(ctx context.Context, in *cloudwatch.GetMetricDataInput, optFns ...func(*cloudwatch.Options)) (*cloudwatch.GetMetricDataOutput, error) {
	out, err := a.CloudWatch.GetMetricData(ctx, in, optFns...)
	if a.c.step() {
		return nil, errLost
	}
	return out, err
}

// crashScenario is a run to kill at every step.
type crashScenario struct {
	name    string
	n       int
	rollout *fleet.Rollout
	broken  int // index of an instance whose software calls IMDSv1; -1 for none
}

// crashRun is what a run killed at step at leaves: the fake, the journal
// file, the changes counted, and the steps the run took.
type crashRun struct {
	e     *rolloutEnv
	file  *journalFile
	n     *changeCounts
	steps int
	set   imdsopts.Set
	err   error
}

// runKilled plans sc's change and applies it with a journal, killed at
// step at (0: never).
func runKilled(t *testing.T, sc crashScenario, at int, cut bool) *crashRun {
	t.Helper()
	r := &crashRun{e: newRolloutEnv(t, sc.n, varied), file: &journalFile{},
		n: &changeCounts{forward: map[string]int{}, back: map[string]int{}}}
	r.set = testenv.MustNew(t, imdsopts.RequireIMDSv2(), imdsopts.HopLimit(2))
	plan := r.e.plan(t, r.set, func(o *fleet.Options) {
		o.Metrics, o.Enforcement, o.Rollout, o.Region = r.e.cw, r.e.f, sc.rollout, region
	})
	if sc.broken >= 0 {
		if err := r.e.f.CallIMDSv1(r.e.ids[sc.broken], 2); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	c := &crash{at: at, cut: cut, cancel: cancel, file: r.file}
	_, r.err = fleet.Apply(ctx, &crashEC2{EC2: r.e.f, c: c, n: r.n}, plan, func(o *fleet.Options) {
		o.Journal, o.Metrics = c, &crashCloudWatch{CloudWatch: r.e.cw, c: c}
	})
	r.steps = c.steps
	return r
}

// TestKilledAtEveryStep: the process is killed after every record it
// writes (whole or cut short) and every call it makes. Then the journal
// reads; fleet.Resume finishes the job without changing any instance twice
// (or, after a halt, refuses to go on); and fleet.Undo restores every
// instance to all five options it had.
func TestKilledAtEveryStep(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("kills hundreds of runs; run it without -short")
	}
	quick := func(fns ...func(*fleet.Rollout)) *fleet.Rollout {
		return canaryOfOne(append([]func(*fleet.Rollout){func(r *fleet.Rollout) {
			r.Bake, r.CheckEvery = 3*time.Minute, time.Minute
		}}, fns...)...)
	}
	for _, sc := range []crashScenario{
		{name: "all at once", n: 5, broken: -1},
		{name: "rollout", n: 6, rollout: quick(), broken: -1},
		{name: "rollout halts", n: 6, rollout: quick(), broken: 2},
		{name: "rollout halts, wave rolled back", n: 6, rollout: quick(func(r *fleet.Rollout) { r.Rollback = fleet.RollbackWave }), broken: 4},
	} {
		t.Run(sc.name, func(t *testing.T) {
			var total int
			synctest.Test(t, func(t *testing.T) {
				r := runKilled(t, sc, 0, false)
				if (r.err != nil) != (sc.broken >= 0) {
					t.Fatalf("the run without a kill: %v", r.err)
				}
				total = r.steps
			})
			for at := 1; at <= total; at++ {
				for _, cut := range []bool{false, true} {
					t.Run(fmt.Sprintf("step %d cut %v", at, cut), func(t *testing.T) {
						synctest.Test(t, func(t *testing.T) { killedAt(t, sc, at, cut) })
					})
				}
			}
		})
	}
}

func killedAt(t *testing.T, sc crashScenario, at int, cut bool) {
	r := runKilled(t, sc, at, cut)
	e, counts := r.e, r.n
	j, err := readJournal(r.file.String())
	if err != nil {
		// Only a header cut short is unreadable, and then nothing was sent.
		if !errors.Is(err, fleet.ErrBadJournal) || !strings.Contains(err.Error(), "no record") || len(counts.forward) > 0 {
			t.Fatalf("ReadJournal: %v, after %d changes", err, len(counts.forward))
		}
		return
	}
	opts := func(o *fleet.Options) { o.Metrics, o.Enforcement, o.Journal = e.cw, e.f, r.file }
	api := &crashEC2{EC2: e.f, c: &crash{}, n: counts}
	report, err := fleet.Resume(t.Context(), api, j, opts)
	switch {
	case sc.broken < 0 && err != nil:
		t.Fatalf("fleet.Resume: %v", err)
	case sc.broken >= 0 && err != nil && !errors.Is(err, fleet.ErrRolloutHalted):
		t.Fatalf("fleet.Resume: %v, want nil or ErrRolloutHalted", err)
	case sc.broken < 0:
		if c := report.Counts(); c[fleet.StatusApplied] != sc.n {
			t.Errorf("fleet.Resume: counts %v, want all %d applied", c, sc.n)
		}
		for _, id := range e.ids {
			if got := testenv.CurrentOptions(t, e.f, id); got.HttpTokens != "required" || aws.ToInt32(got.HttpPutResponseHopLimit) != 2 {
				t.Errorf("%s after the resume: %s", id, optionsLine(got))
			}
		}
	}
	counts.mu.Lock()
	for id, n := range counts.forward {
		if n > 1 {
			t.Errorf("%s was changed %d times", id, n)
		}
	}
	counts.back = map[string]int{}
	counts.mu.Unlock()

	j, err = readJournal(r.file.String())
	if err != nil {
		t.Fatalf("ReadJournal after the resume: %v", err)
	}
	undo, err := fleet.Undo(t.Context(), api, j, opts)
	if err != nil {
		t.Fatalf("fleet.Undo: %v", err)
	}
	for _, id := range e.ids {
		if got := optionsLine(testenv.CurrentOptions(t, e.f, id)); got != wantVaried {
			t.Errorf("%s after the undo: %s, want %s", id, got, wantVaried)
		}
	}
	for _, it := range undo.Items {
		if it.Status != fleet.StatusRolledBack && it.Status != fleet.StatusSatisfied {
			t.Errorf("undo of %s: %v %v", it.InstanceID, it.Status, it.Err)
		}
		if n := counts.back[it.InstanceID]; n > 1 {
			t.Errorf("undo changed %s %d times", it.InstanceID, n)
		}
	}
	if _, err := readJournal(r.file.String()); err != nil {
		t.Errorf("ReadJournal after the undo: %v", err)
	}
}

// applied applies s to the whole fleet of e with a journal, and returns
// the journal read back.
func (e *rolloutEnv) applied(t *testing.T, s imdsopts.Set, file *journalFile, fns ...func(*fleet.Options)) *fleet.Journal {
	t.Helper()
	plan := e.plan(t, s, append([]func(*fleet.Options){func(o *fleet.Options) {
		o.Metrics, o.Enforcement, o.Journal, o.Region = e.cw, e.f, file, region
	}}, fns...)...)
	if _, err := fleet.Apply(t.Context(), e.api, plan); err != nil && !errors.Is(err, fleet.ErrRolloutHalted) {
		t.Fatal(err)
	}
	j, err := readJournal(file.String())
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// TestResumeRefuses: a journal whose rollout halted is not resumed (plan
// again), nor one that was undone, nor one without a plan; the instances
// are not touched.
func TestResumeRefuses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newRolloutEnv(t, 4, nil)
		if err := e.f.CallIMDSv1(e.ids[0], 1); err != nil {
			t.Fatal(err)
		}
		file := &journalFile{}
		j := e.applied(t, testenv.MustNew(t, imdsopts.RequireIMDSv2()), file, func(o *fleet.Options) { o.Rollout = canaryOfOne() })
		// The canary was changed and rolled back.
		if n := e.f.Calls("ModifyInstanceMetadataOptions"); n != 2 {
			t.Fatalf("%d Modify calls, want 2", n)
		}
		if _, err := fleet.Resume(t.Context(), e.f, j, e.opts(nil)); !errors.Is(err, fleet.ErrRolloutHalted) {
			t.Errorf("resume of a halted rollout: %v, want ErrRolloutHalted", err)
		}
		if _, err := fleet.Undo(t.Context(), e.f, j, func(o *fleet.Options) { o.Journal = file }); err != nil {
			t.Fatal(err)
		}
		j, err := readJournal(file.String())
		if err != nil {
			t.Fatal(err)
		}
		calls := e.f.Calls("ModifyInstanceMetadataOptions")
		if _, err := fleet.Resume(t.Context(), e.f, j, e.opts(nil)); !errors.Is(err, fleet.ErrBadJournal) || !strings.Contains(err.Error(), "undone") {
			t.Errorf("resume of an undone run: %v, want ErrBadJournal", err)
		}
		undoOnly := `{"record":"header","time":"2000-01-01T00:02:00Z","version":1,"run":"undo","account":"123456789012","region":"us-east-1"}` + "\n"
		j, err = readJournal(undoOnly)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fleet.Resume(t.Context(), e.f, j, e.opts(nil)); !errors.Is(err, fleet.ErrBadJournal) || !strings.Contains(err.Error(), "no plan") {
			t.Errorf("resume of a journal without a plan: %v, want ErrBadJournal", err)
		}
		if n := e.f.Calls("ModifyInstanceMetadataOptions"); n != calls {
			t.Errorf("%d Modify calls after the undo, want none", n-calls)
		}
	})
}

// TestResumeAndUndoMisuse: a nil journal, one not read by ReadJournal, or
// a Region other than the journal's is an error matching ErrInvalid,
// before any call.
func TestResumeAndUndoMisuse(t *testing.T) {
	f := fake.New()
	j, err := readJournal(sampleJournal)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		j     *fleet.Journal
		fn    func(*fleet.Options)
		field string
	}{
		{nil, nil, "journal nil"},
		{&fleet.Journal{}, nil, "journal nil"},
		{j, func(o *fleet.Options) { o.Region = "eu-west-1" }, `fleet.Options.Region "eu-west-1": must be the journal's Region, "us-east-1"`},
	} {
		fns := []func(*fleet.Options){}
		if tc.fn != nil {
			fns = append(fns, tc.fn)
		}
		for name, op := range map[string]func(context.Context, imdsopts.API, *fleet.Journal, ...func(*fleet.Options)) (*fleet.Report, error){
			"fleet.Resume": fleet.Resume, "fleet.Undo": fleet.Undo} {
			r, err := op(t.Context(), f, tc.j, fns...)
			if !errors.Is(err, imdsopts.ErrInvalid) || !strings.Contains(err.Error(), tc.field) || r != nil {
				t.Errorf("%s: %v, want ErrInvalid naming %s", name, err, tc.field)
			}
		}
	}
	var nilCtx context.Context
	var nilClient *ec2.Client
	for name, op := range map[string]func(context.Context, imdsopts.API, *fleet.Journal, ...func(*fleet.Options)) (*fleet.Report, error){
		"fleet.Resume": fleet.Resume, "fleet.Undo": fleet.Undo} {
		for _, err := range []error{
			func() error { _, err := op(nilCtx, f, j); return err }(),
			func() error { _, err := op(t.Context(), nil, j); return err }(),
			func() error { _, err := op(t.Context(), nilClient, j); return err }(),
			func() error {
				_, err := op(t.Context(), f, j, func(o *fleet.Options) { o.Enforcement = nilClient })
				return err
			}(),
			func() error { _, err := op(t.Context(), f, j, nil); return err }(),
		} {
			if !errors.Is(err, imdsopts.ErrInvalid) {
				t.Errorf("%s: %v, want ErrInvalid", name, err)
			}
		}
	}
	if calls := f.CallCounts(); len(calls) != 0 {
		t.Errorf("calls were made: %v", calls)
	}
}

// otherOwner answers DescribeInstances as if its instances belonged to
// another account.
type otherOwner struct{ *fake.EC2 }

func (o otherOwner) DescribeInstances(ctx context.Context, in *ec2.DescribeInstancesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error) {
	out, err := o.EC2.DescribeInstances(ctx, in, optFns...)
	if out != nil {
		for i := range out.Reservations {
			out.Reservations[i].OwnerId = aws.String("999999999999")
		}
	}
	return out, err
}

// TestJournalOfAnotherAccount: when EC2 says the journal's instances
// belong to another account than the journal's, neither resume nor undo
// changes anything.
func TestJournalOfAnotherAccount(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newRolloutEnv(t, 3, nil)
		j := e.applied(t, testenv.MustNew(t, imdsopts.HopLimit(2)), &journalFile{}, func(o *fleet.Options) { o.AllowDowngrade = true })
		calls := e.f.Calls("ModifyInstanceMetadataOptions")
		for name, op := range map[string]func(context.Context, imdsopts.API, *fleet.Journal, ...func(*fleet.Options)) (*fleet.Report, error){
			"fleet.Resume": fleet.Resume, "fleet.Undo": fleet.Undo} {
			_, err := op(t.Context(), otherOwner{e.f}, j)
			if !errors.Is(err, fleet.ErrBadJournal) || !strings.Contains(err.Error(), "belong to account 999999999999") {
				t.Errorf("%s: %v, want ErrBadJournal naming the other account", name, err)
			}
		}
		if n := e.f.Calls("ModifyInstanceMetadataOptions"); n != calls {
			t.Errorf("%d changes were made", n-calls)
		}
	})
}

// TestUndo: every instance gets back all five options it had, a stopped
// one when it starts; one whose options someone changed since is left to a
// person; and when the account enforces IMDSv2, the instances that would
// need HttpTokens optional again are left to a person, told before any
// call with fleet.Options.Enforcement, or by EC2's refusal without.
func TestUndo(t *testing.T) {
	for _, enforcement := range []bool{true, false} {
		t.Run(fmt.Sprintf("Enforcement set %v", enforcement), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := newRolloutEnv(t, 5, varied)
				hardened := testenv.Fleet(t, e.f, 1, &types.InstanceMetadataOptionsRequest{HttpTokens: "required", HttpPutResponseHopLimit: aws.Int32(3)})[0]
				file := &journalFile{}
				s := testenv.MustNew(t, imdsopts.RequireIMDSv2(), imdsopts.HopLimit(2), imdsopts.InstanceMetadataTags("disabled"))
				j := e.applied(t, s, file)
				stopped, drifted := e.ids[3], e.ids[4]
				if _, err := e.f.StopInstances(t.Context(), &ec2.StopInstancesInput{InstanceIds: []string{stopped}}); err != nil {
					t.Fatal(err)
				}
				if _, err := e.f.ModifyInstanceMetadataOptions(t.Context(), &ec2.ModifyInstanceMetadataOptionsInput{
					InstanceId: aws.String(drifted), HttpPutResponseHopLimit: aws.Int32(5)}); err != nil {
					t.Fatal(err)
				}
				report, err := fleet.Undo(t.Context(), e.api, j, func(o *fleet.Options) { o.Journal = file })
				if err != nil {
					t.Fatal(err)
				}
				for _, id := range e.ids[:3] {
					if it := itemOf(t, report.Items, id); it.Status != fleet.StatusRolledBack {
						t.Errorf("%s: %v %v, want rolled back", id, it.Status, it.Err)
					}
					if got := optionsLine(testenv.CurrentOptions(t, e.f, id)); got != wantVaried {
						t.Errorf("%s: %s, want %s", id, got, wantVaried)
					}
				}
				if it := itemOf(t, report.Items, stopped); it.Status != fleet.StatusRolledBack {
					t.Errorf("stopped %s: %v %v, want rolled back", stopped, it.Status, it.Err)
				}
				if _, err := e.f.StartInstances(t.Context(), &ec2.StartInstancesInput{InstanceIds: []string{stopped}}); err != nil {
					t.Fatal(err)
				}
				time.Sleep(10 * time.Second)
				if got := optionsLine(testenv.CurrentOptions(t, e.f, stopped)); got != wantVaried {
					t.Errorf("stopped %s once started: %s, want %s", stopped, got, wantVaried)
				}
				if it := itemOf(t, report.Items, drifted); it.Status != fleet.StatusNeedsPerson || !errors.Is(it.Err, fleet.ErrChangedSince) {
					t.Errorf("changed since %s: %v %v, want needs-person", drifted, it.Status, it.Err)
				}
				if it := itemOf(t, report.Items, hardened); it.Status != fleet.StatusRolledBack {
					t.Errorf("%s, required before: %v %v, want rolled back", hardened, it.Status, it.Err)
				}
				if got := testenv.CurrentOptions(t, e.f, hardened); got.HttpTokens != "required" || aws.ToInt32(got.HttpPutResponseHopLimit) != 3 {
					t.Errorf("%s, required before: %s", hardened, optionsLine(got))
				}

				// Again, now under enforcement.
				j2 := e.applied(t, s, &journalFile{})
				_, err = e.f.ModifyInstanceMetadataDefaults(t.Context(), &ec2.ModifyInstanceMetadataDefaultsInput{
					HttpTokensEnforced: types.DefaultHttpTokensEnforcedStateEnabled})
				if err != nil {
					t.Fatal(err)
				}
				calls := e.f.Calls("ModifyInstanceMetadataOptions")
				report, err = fleet.Undo(t.Context(), e.api, j2, func(o *fleet.Options) {
					if enforcement {
						o.Enforcement = e.f
					}
				})
				if err != nil {
					t.Fatal(err)
				}
				for _, id := range e.ids[:4] {
					it := itemOf(t, report.Items, id)
					if it.Status != fleet.StatusNeedsPerson || !errors.Is(it.Err, imdsopts.ErrIMDSv2Enforced) {
						t.Errorf("under enforcement, %s: %v %v, want needs-person", id, it.Status, it.Err)
					}
				}
				for _, id := range []string{hardened, drifted} {
					if it := itemOf(t, report.Items, id); it.Status != fleet.StatusRolledBack {
						t.Errorf("under enforcement, %s, required before: %v %v, want rolled back", id, it.Status, it.Err)
					}
				}
				// Told before: only the instances that stay required are called for.
				if n, want := e.f.Calls("ModifyInstanceMetadataOptions")-calls, map[bool]int{true: 2, false: 6}[enforcement]; n != want {
					t.Errorf("%d Modify calls, want %d", n, want)
				}
			})
		})
	}
}

// TestResumeDecides: what fleet.Resume does with each instance, by what
// the journal recorded and what EC2 reports now.
func TestResumeDecides(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newRolloutEnv(t, 5, nil)
		// i-3 was changed, its outcome lost; the others are as launched.
		if _, err := e.f.ModifyInstanceMetadataOptions(t.Context(), &ec2.ModifyInstanceMetadataOptionsInput{
			InstanceId: aws.String(e.ids[2]), HttpTokens: "required"}); err != nil {
			t.Fatal(err)
		}
		prev := `"previous":{"HttpTokens":"optional","HttpPutResponseHopLimit":1,"HttpEndpoint":"enabled","HttpProtocolIpv6":"disabled","InstanceMetadataTags":"disabled"},"change":{"HttpTokens":"required"}`
		intent := func(id string) string {
			return `{"record":"intent","time":"2000-01-01T00:02:00Z","instance":"` + id + `","kind":"apply",` + prev + "}\n"
		}
		outcome := func(id, result string) string {
			return `{"record":"outcome","time":"2000-01-01T00:02:00Z","instance":"` + id + `","result":"` + result + `","error":"denied"}` + "\n"
		}
		journal := `{"record":"header","time":"2000-01-01T00:02:00Z","version":1,"run":"apply","account":"123456789012","region":"us-east-1",` +
			`"set":{"HttpTokens":"required"},"waves":[["` + strings.Join(e.ids, `","`) + `"]]}` + "\n" +
			intent(e.ids[0]) + outcome(e.ids[0], "accepted") + // accepted, but optional again since
			intent(e.ids[1]) + outcome(e.ids[1], "failed") + // refused
			intent(e.ids[2]) + // no outcome, but changed
			intent(e.ids[3]) + outcome(e.ids[3], "not-sent") // never sent
		j, err := readJournal(journal)
		if err != nil {
			t.Fatal(err)
		}
		report, err := fleet.Resume(t.Context(), e.api, j, e.opts(nil))
		if err != nil {
			t.Fatal(err)
		}
		for k, want := range []struct {
			status fleet.Status
			says   string
		}{
			{fleet.StatusFailed, "changed in the run resumed, but its options differ since"},
			{fleet.StatusFailed, "refused in the run resumed, not tried again: denied"},
			{fleet.StatusApplied, ""},
			{fleet.StatusApplied, ""},
			{fleet.StatusApplied, ""},
		} {
			it := itemOf(t, report.Items, e.ids[k])
			if it.Status != want.status || want.says != "" && (it.Err == nil || !strings.Contains(it.Err.Error(), want.says)) {
				t.Errorf("%s: %v %v, want %v %q", it.InstanceID, it.Status, it.Err, want.status, want.says)
			}
		}
		for id, n := range e.api.Changes() {
			if id != e.ids[3] && id != e.ids[4] || n != 1 {
				t.Errorf("%s was changed %d times; only the instances never sent to should be, once", id, n)
			}
		}
	})
}

// TestResumeNothingToDo: a journal of a run that had nothing to change
// resumes to nothing, without listing the account's instances.
func TestResumeNothingToDo(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newRolloutEnv(t, 3, &types.InstanceMetadataOptionsRequest{HttpTokens: "required"})
		j := e.applied(t, testenv.MustNew(t, imdsopts.RequireIMDSv2()), &journalFile{})
		calls := e.f.CallCounts()
		report, err := fleet.Resume(t.Context(), e.f, j, e.opts(nil))
		if err != nil || len(report.Items) != 0 {
			t.Fatalf("fleet.Resume = %v, %v; want an empty report", report, err)
		}
		if after := e.f.CallCounts(); fmt.Sprint(after) != fmt.Sprint(calls) {
			t.Errorf("calls %v, then %v", calls, after)
		}
	})
}

// TestResumeOneWayOnlyWhenAccepted: a run killed half-way, then the
// account turns on enforcement of IMDSv2. The instances left to change
// would go from HttpTokens optional to required, which no undo could
// reverse: Resume refuses before any call unless AcceptIrreversible, and
// with it finishes the run.
func TestResumeOneWayOnlyWhenAccepted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := runKilled(t, crashScenario{name: "all at once", n: 5, broken: -1}, 4, false)
		j, err := readJournal(r.file.String())
		if err != nil {
			t.Fatal(err)
		}
		f := r.e.f
		if _, err := f.ModifyInstanceMetadataDefaults(t.Context(), &ec2.ModifyInstanceMetadataDefaultsInput{
			HttpTokensEnforced: types.DefaultHttpTokensEnforcedStateEnabled}); err != nil {
			t.Fatal(err)
		}
		opts := func(o *fleet.Options) { o.Metrics, o.Enforcement, o.Journal = r.e.cw, f, r.file }
		sent := f.Calls("ModifyInstanceMetadataOptions")
		report, err := fleet.Resume(t.Context(), f, j, opts)
		if !errors.Is(err, fleet.ErrIrreversible) || report != nil {
			t.Fatalf("Resume without AcceptIrreversible = %v, %v, want no report and ErrIrreversible", report, err)
		}
		if n := f.Calls("ModifyInstanceMetadataOptions"); n != sent {
			t.Fatalf("Resume without AcceptIrreversible sent %d calls, want none", n-sent)
		}
		report, err = fleet.Resume(t.Context(), f, j, opts, func(o *fleet.Options) { o.AcceptIrreversible = true })
		if err != nil {
			t.Fatal(err)
		}
		if c := report.Counts(); c[fleet.StatusApplied] != 5 {
			t.Errorf("Resume with AcceptIrreversible: %v, want 5 applied", c)
		}
	})
}

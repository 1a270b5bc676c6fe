package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/google/go-cmp/cmp"

	"github.com/imdsopts/imdsopts/fake"
	"github.com/imdsopts/imdsopts/fleet"
)

// records returns the kind ("record") of each line of a journal, with the
// run of headers and the kind of intents: "header:apply", "intent:apply",
// "outcome:accepted"...
func records(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var rec struct{ Record, Run, Kind, Result, Event string }
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			out = append(out, "cut")
			continue
		}
		out = append(out, rec.Record+":"+rec.Run+rec.Kind+rec.Result+rec.Event)
	}
	return out
}

func count(list []string, s string) int {
	n := 0
	for _, v := range list {
		if v == s {
			n++
		}
	}
	return n
}

// changeCounter is the fake EC2 with every change it made counted by
// instance: a call refused (a cancelled context, say) is not a change.
type changeCounter struct {
	*fake.EC2
	mu      sync.Mutex
	changes map[string]int
}

func (c *changeCounter) ModifyInstanceMetadataOptions(ctx context.Context, in *ec2.ModifyInstanceMetadataOptionsInput, optFns ...func(*ec2.Options)) (*ec2.ModifyInstanceMetadataOptionsOutput, error) {
	out, err := c.EC2.ModifyInstanceMetadataOptions(ctx, in, optFns...)
	if err == nil {
		c.mu.Lock()
		c.changes[aws.ToString(in.InstanceId)]++
		c.mu.Unlock()
	}
	return out, err
}

// fiveOptions returns the five options of each instance, for comparing
// before and after.
func fiveOptions(t *testing.T, f *fake.EC2, ids []string) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, id := range ids {
		o := currentOptions(t, f, id)
		m[id] = fmt.Sprintf("%s %d %s %s %s", o.HttpTokens, *o.HttpPutResponseHopLimit, o.HttpEndpoint, o.HttpProtocolIpv6, o.InstanceMetadataTags)
	}
	return m
}

// launchMixed launches n instances with options of several kinds.
func (e *fleetEnv) launchMixed(t *testing.T, n int) []string {
	t.Helper()
	kinds := []*types.InstanceMetadataOptionsRequest{
		optional,
		{HttpTokens: types.HttpTokensStateOptional, InstanceMetadataTags: types.InstanceMetadataTagsStateEnabled},
		{HttpTokens: types.HttpTokensStateOptional, HttpProtocolIpv6: types.InstanceMetadataProtocolStateEnabled},
	}
	ids := make([]string, n)
	for i := range ids {
		ids[i] = e.launch(t, kinds[i%len(kinds)], "env=prod")
	}
	return ids
}

// An apply interrupted after its calls (Ctrl-C) is finished by --resume
// without a second call to any instance; undo then restores every
// instance's five options, and can be run again.
func TestJournalResumeAndUndo(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newRolloutEnv(t, func(o *fake.Options) { o.ApplyDelay = 5 * time.Minute })
		ids := e.launchMixed(t, 5)
		before := fiveOptions(t, e.ec2, ids)
		path := filepath.Join(t.TempDir(), "run.jsonl")
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan result)
		go func() {
			done <- e.runIn(t, ctx, false, nil, "apply", "--tags", "env=prod", "--http-tokens", "required", "--journal", path)
		}()
		synctest.Wait() // every change sent; apply waits for EC2 to apply them
		cancel()
		r := <-done
		wantCode(t, r, exitInterrupted)
		if n := e.ec2.Calls("ModifyInstanceMetadataOptions"); n != 5 {
			t.Fatalf("%d changes sent before the interruption, want 5", n)
		}
		if !strings.Contains(r.stderr, `the journal `+path+` records what was done: finish the run with imdsopts apply --resume`) {
			t.Errorf("stderr %q", r.stderr)
		}

		r = e.runIn(t, t.Context(), false, nil, "apply", "--resume", path, "--query", "Items[].Status", "--output", "text")
		wantCode(t, r, exitOK)
		if r.stdout != strings.Repeat("applied\t", 4)+"applied\n" {
			t.Errorf("resume: %q", r.stdout)
		}
		if n := e.ec2.Calls("ModifyInstanceMetadataOptions"); n != 5 {
			t.Errorf("%d changes after the resume, want still 5: an instance was changed twice", n)
		}
		for _, id := range ids {
			if got := currentOptions(t, e.ec2, id); got.HttpTokens != "required" || got.State != "applied" {
				t.Errorf("%s after resume: %+v", id, got)
			}
		}

		r = e.runIn(t, t.Context(), false, nil, "undo", path, "--query", "Counts.\"rolled-back\"")
		wantCode(t, r, exitOK)
		if r.stdout != "5\n" {
			t.Errorf("undo: %q\n%s", r.stdout, r.stderr)
		}
		if diff := cmp.Diff(before, fiveOptions(t, e.ec2, ids)); diff != "" {
			t.Errorf("options after undo (-before +after):\n%s", diff)
		}
		if !strings.Contains(r.stderr, "imdsopts: undo: 5 instance(s) restored, 0 had their options before already") {
			t.Errorf("undo stderr %q", r.stderr)
		}
		r = e.runIn(t, t.Context(), false, nil, "undo", path, "--query", "Counts.satisfied")
		wantCode(t, r, exitOK)
		if r.stdout != "5\n" || e.ec2.Calls("ModifyInstanceMetadataOptions") != 10 {
			t.Errorf("undo again: %q, %d changes", r.stdout, e.ec2.Calls("ModifyInstanceMetadataOptions"))
		}
		// An undone run is not resumed.
		r = e.runIn(t, t.Context(), false, nil, "apply", "--resume", path)
		wantCode(t, r, exitUsage)
		if !strings.Contains(r.stderr, `journal `+path+`: the journal's run was undone, so it is not resumed`) {
			t.Errorf("resume after undo: %q", r.stderr)
		}
		recs := records(t, path)
		if got := []int{count(recs, "header:apply"), count(recs, "header:resume"), count(recs, "header:undo"),
			count(recs, "intent:apply"), count(recs, "intent:undo")}; !cmp.Equal(got, []int{1, 1, 2, 5, 5}) {
			t.Errorf("journal records %v", recs)
		}
	})
}

// A rollout interrupted during its canary's bake goes on where it was:
// the canary is baked to its end, then the next wave is changed.
func TestJournalResumeRollout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newRolloutEnv(t, func(o *fake.Options) { o.ApplyDelay = 0 })
		ids := e.launchN(t, 4)
		path := filepath.Join(t.TempDir(), "run.jsonl")
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan result)
		go func() {
			done <- e.runIn(t, ctx, false, nil, "apply", "--tags", "env=prod", "--http-tokens", "required", "--canary", "1",
				"--wave-growth", "3", "--max-wave", "100%", "--bake", "10m", "--journal", path)
		}()
		time.Sleep(4 * time.Minute)
		cancel()
		r := <-done
		wantCode(t, r, exitInterrupted)
		if st := statuses(t, r.stdout); st[ids[0]] != "applied" || st[ids[1]] != "not-attempted" {
			t.Fatalf("interrupted: %v", st)
		}
		start := time.Now()
		r = e.runIn(t, t.Context(), true, nil, "apply", "--resume", path, "--query", "{s: Items[].[Wave, Status], w: Waves[].[Wave, Result]}")
		wantCode(t, r, exitOK)
		want := map[string]any{"s": []any{[]any{1.0, "applied"}, []any{2.0, "applied"}, []any{2.0, "applied"}, []any{2.0, "applied"}},
			"w": []any{[]any{1.0, "passed"}, []any{2.0, "passed"}}}
		if diff := cmp.Diff(want, parseJSON(t, r.stdout)); diff != "" {
			t.Errorf("resumed (-want +got):\n%s", diff)
		}
		// The canary's bake, cut short, is baked whole again, then the
		// next wave's; after each, the watch waits for CloudWatch's data of
		// its end (the 5-minute period that holds it, published a minute
		// after it ends).
		if d := time.Since(start); d < 20*time.Minute || d > 2*(10+7)*time.Minute {
			t.Errorf("the resumed rollout took %v, want the two bakes of 10 minutes and the data of their ends", d)
		}
		if n := e.ec2.Calls("ModifyInstanceMetadataOptions"); n != 4 {
			t.Errorf("%d changes, want 4", n)
		}
		if !strings.Contains(r.stderr, "\r  wave 2: 3 changed, each wave baked 10m0s; no rejected IMDSv1 calls so far; 4/4 applied 4, ") ||
			!strings.HasPrefix(lastLine(r.stderr), "  wave 2: passed; no rejected IMDSv1 calls so far; 4/4 applied 4, ") {
			t.Errorf("progress of the resumed rollout: %q", lastLine(r.stderr))
		}
	})
}

func lastLine(s string) string {
	lines := strings.Split(s, "\r")
	return lines[len(lines)-1]
}

// failingJournal fails every write from the k-th on, as a full disk does.
type failingJournal struct {
	mu sync.Mutex
	f  *os.File
	n  int
	k  int
}

func (j *failingJournal) Write(p []byte) (int, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.n++
	if j.n >= j.k {
		return 0, errors.New("write: no space left on device")
	}
	return j.f.Write(p)
}

func (j *failingJournal) Sync() error { return j.f.Sync() }

// A journal that cannot be written stops the run before its next call: no
// change is made that the journal does not record; the report and the
// exit say so; --resume then finishes the run with none changed twice.
func TestJournalWriteFailure(t *testing.T) {
	for _, k := range []int{1, 2, 5, 8} {
		synctest.Test(t, func(t *testing.T) {
			e := newRolloutEnv(t, func(o *fake.Options) { o.ApplyDelay = 0 })
			ids := e.launchN(t, 6)
			counter := &changeCounter{EC2: e.ec2, changes: map[string]int{}}
			counted := func(o *app) {
				o.newAPI = func(context.Context, *globals, io.Writer) (API, error) { return counter, nil }
			}
			path := filepath.Join(t.TempDir(), "run.jsonl")
			wrap := withJournalWriter(func(w io.Writer) io.Writer { return &failingJournal{f: w.(*os.File), k: k} })
			r := e.runIn(t, t.Context(), false, []appOption{wrap, counted}, "apply", "--tags", "env=prod", "--http-tokens", "required", "--journal", path)
			wantCode(t, r, exitOther)
			if !strings.Contains(r.stderr, "imdsopts: error: fleet apply stopped: journal not written: the ") ||
				!strings.Contains(r.stderr, "no space left on device") {
				t.Errorf("k=%d: stderr %q", k, r.stderr)
			}
			counts := parseJSON(t, r.stdout).(map[string]any)["Counts"].(map[string]any)
			sent := e.ec2.Calls("ModifyInstanceMetadataOptions")
			if k == 1 {
				// The header failed: nothing was sent, nothing recorded.
				if sent != 0 || counts["not-attempted"] != 6.0 || !strings.Contains(r.stderr, "holds nothing: nothing was changed") {
					t.Errorf("k=1: %d changes, counts %v, stderr %q", sent, counts, r.stderr)
				}
				if _, err := os.Stat(path); !os.IsNotExist(err) {
					t.Errorf("k=1: the empty journal is left: %v", err)
				}
				return
			}
			// Every call made has its intent recorded (an intent may be left
			// without its call when another record fails first), and the
			// run stopped before the last ones.
			recs := records(t, path)
			if intents, accepted := count(recs, "intent:apply"), count(recs, "outcome:accepted"); sent > intents || sent < accepted || sent >= 6 {
				t.Errorf("k=%d: %d changes sent, %d intents and %d accepted recorded: %v", k, sent, intents, accepted, recs)
			}
			if !strings.Contains(r.stderr, "could not be written, so the run stopped before its next call") {
				t.Errorf("k=%d: stderr %q", k, r.stderr)
			}
			r = e.runIn(t, t.Context(), false, []appOption{counted}, "apply", "--resume", path, "--query", "Counts.applied")
			wantCode(t, r, exitOK)
			// Each instance was changed once, by the run or by the resume (a
			// call that a worker began as the run stopped may be refused for
			// its cancelled context, and is then made by the resume).
			if r.stdout != "6\n" {
				t.Errorf("k=%d: resume: %q applied, want 6", k, r.stdout)
			}
			for id, n := range counter.changes {
				if n != 1 {
					t.Errorf("k=%d: %s changed %d times by the run and the resume", k, id, n)
				}
			}
			if len(counter.changes) != 6 {
				t.Errorf("k=%d: %d instances changed, want 6", k, len(counter.changes))
			}
			for _, id := range ids {
				if got := currentOptions(t, e.ec2, id); got.HttpTokens != "required" {
					t.Errorf("k=%d: %s: %+v", k, id, got)
				}
			}
		})
	}
}

// journaledEnv is a fake with 3 instances and the journal of an apply that
// changed them.
func journaledEnv(t *testing.T) (*fleetEnv, []string, string) {
	t.Helper()
	e := newRolloutEnv(t, func(o *fake.Options) { o.ApplyDelay = 0 })
	ids := e.launchN(t, 3)
	path := filepath.Join(t.TempDir(), "run.jsonl")
	r := e.runIn(t, t.Context(), false, nil, "apply", "--tags", "env=prod", "--http-tokens", "required", "--journal", path)
	wantCode(t, r, exitOK)
	if !strings.Contains(r.stderr, `imdsopts: the journal `+path+` records the run: imdsopts undo `+path+` --region us-east-1 restores every instance it changed`) {
		t.Errorf("stderr %q", r.stderr)
	}
	return e, ids, path
}

// A journal of another Region or account is refused before any call
// (253); one that is not a journal, naming its line (252). A last line cut
// short is ignored, with a note.
func TestJournalChecks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e, ids, path := journaledEnv(t)
		calls := countCalls(e.ec2)
		for _, tt := range []struct {
			region, account string
			want            string
		}{
			{"us-west-2", fake.AccountID, `journal ` + path + ` was written in Region us-east-1, but this run calls Region "us-west-2"`},
			{"us-east-1", "111122223333", `journal ` + path + ` was written in account 123456789012, but the credentials are account 111122223333's`},
		} {
			for _, args := range [][]string{{"undo", path}, {"apply", "--resume", path}} {
				r := e.runIn(t, t.Context(), false, []appOption{fixedIdentity(tt.region, tt.account)}, args...)
				wantCode(t, r, exitConfig)
				if !strings.Contains(r.stderr, tt.want) || r.stdout != "" {
					t.Errorf("%v in %s of %s: stderr %q", args, tt.region, tt.account, r.stderr)
				}
			}
		}
		if n := countCalls(e.ec2) - calls; n != 0 {
			t.Errorf("%d calls made for journals of another account or Region", n)
		}

		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.SplitAfter(string(data), "\n")
		write := func(content string) {
			t.Helper()
			if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		last := len(lines) - 1 // lines[last] is "": the file ends with a line break
		out := 0               // the first outcome; the calls run at once, so it is not always the same line
		for !strings.Contains(lines[out], `"record":"outcome"`) {
			out++
		}
		for _, tt := range []struct {
			name    string
			content string
			want    string
		}{
			{"garbage", "hello\n", `journal ` + path + `: line 1: not an imdsopts journal: its first line is not a journal's header record`},
			{"empty", "", `journal ` + path + `: no record`},
			{"apply's output", "{\n    \"Items\": []\n}\n", `journal ` + path + `: line 1: not an imdsopts journal: its first record is not one JSON object on one line`},
			{"unknown field", strings.Replace(string(data), `"record":"outcome"`, `"record":"outcome","extra":1`, 1),
				fmt.Sprintf(`journal %s: line %d: not a journal record: json: unknown field "extra"`, path, out+1)},
			{"cut in the middle", lines[0] + lines[1][:20] + "\n" + strings.Join(lines[2:], ""),
				`journal ` + path + `: line 2: the record is cut short, and is not the last of its run`},
			{"outcome without intent", lines[0] + lines[out], `line 2: an outcome for`},
		} {
			write(tt.content)
			for _, args := range [][]string{{"undo", path}, {"apply", "--resume", path}} {
				var none *fleetEnv // no client may be built
				r := none.run(t, t.Context(), false, args...)
				wantCode(t, r, exitUsage)
				if !strings.Contains(r.stderr, tt.want) {
					t.Errorf("%s: %v: stderr %q, want %q", tt.name, args, r.stderr, tt.want)
				}
			}
		}
		// Cut short at the end: the run that wrote it was killed.
		write(strings.Join(lines[:last], "") + `{"record":"intent","time":"20`)
		r := e.runIn(t, t.Context(), false, nil, "undo", path, "--query", "Counts.\"rolled-back\"")
		wantCode(t, r, exitOK)
		if r.stdout != "3\n" || !strings.Contains(r.stderr, fmt.Sprintf(`imdsopts: note: journal %s: line %d was cut short (the run writing it was killed, or its write failed: a full disk, a file size limit): ignored`, path, last+1)) {
			t.Errorf("cut short: %q, stderr %q", r.stdout, r.stderr)
		}
		for _, id := range ids {
			if got := currentOptions(t, e.ec2, id); got.HttpTokens != "optional" {
				t.Errorf("%s: %+v", id, got)
			}
		}
		// The undo's records follow on a line of their own.
		if recs := records(t, path); recs[last] != "cut" || recs[last+1] != "header:undo" {
			t.Errorf("records %v", recs)
		}
	})
}

// A journal another run holds is refused.
func TestJournalLocked(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e, _, path := journaledEnv(t)
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := lockFile(f); err != nil {
			t.Skipf("no file locks here: %v", err)
		}
		for _, args := range [][]string{{"undo", path}, {"apply", "--resume", path}} {
			r := e.runIn(t, t.Context(), false, nil, args...)
			wantCode(t, r, exitUsage)
			if !strings.Contains(r.stderr, "another imdsopts run is writing it") {
				t.Errorf("%v: stderr %q", args, r.stderr)
			}
		}
	})
}

// A rollout that halted is not resumed: the message says to undo it.
func TestJournalHaltedNotResumed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newRolloutEnv(t)
		ids := e.launchN(t, 3)
		if err := e.ec2.CallIMDSv1(ids[0], 3); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "run.jsonl")
		r := e.runIn(t, t.Context(), false, nil, "apply", "--tags", "env=prod", "--http-tokens", "required", "--min-imdsv1-free-days", "0",
			"--canary", "1", "--bake", "5m", "--journal", path)
		wantCode(t, r, exitService)
		if !strings.Contains(r.stderr, `the journal `+path+` records the rollout: imdsopts undo `+path+` --region us-east-1 restores every instance it changed`) {
			t.Errorf("stderr %q", r.stderr)
		}
		calls := countCalls(e.ec2)
		r = e.runIn(t, t.Context(), false, nil, "apply", "--resume", path)
		wantCode(t, r, exitUsage)
		if !strings.Contains(r.stderr, "rollout halted") || !strings.Contains(r.stderr, `to restore what it changed: imdsopts undo `+path) ||
			countCalls(e.ec2) != calls {
			t.Errorf("stderr %q, %d calls", r.stderr, countCalls(e.ec2)-calls)
		}
		// The canary was rolled back already: undo has nothing to do.
		r = e.runIn(t, t.Context(), false, nil, "undo", path, "--query", "Items[].Status", "--output", "text")
		wantCode(t, r, exitOK)
		if r.stdout != "satisfied\n" {
			t.Errorf("undo: %q", r.stdout)
		}
	})
}

// withJournalWriter makes the run write journals through wrap.
func withJournalWriter(wrap func(io.Writer) io.Writer) appOption {
	return func(a *app) { a.journalWriter = wrap }
}

// stsStub serves STS GetCallerIdentity with account, and everything else
// with next.
func stsStub(account string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if strings.Contains(string(body), "Action=GetCallerIdentity") {
			w.Header().Set("Content-Type", "text/xml")
			fmt.Fprintf(w, `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult>`+
				`<Arn>arn:aws:iam::%s:user/test</Arn><UserId>AIDATEST</UserId><Account>%s</Account></GetCallerIdentityResult>`+
				`<ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></GetCallerIdentityResponse>`, account, account)
			return
		}
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		next.ServeHTTP(w, r)
	})
}

// The account comes from STS GetCallerIdentity; an endpoint given with
// --endpoint-url that does not serve STS is asked for its instances'
// owner, with a note; AWS's own STS must answer.
func TestAccountOfTheCredentials(t *testing.T) {
	f := fake.New()
	if _, err := f.Launch(1); err != nil {
		t.Fatal(err)
	}
	ec2Only := httptest.NewServer(fake.NewHandler(f))
	defer ec2Only.Close()
	withSTS := httptest.NewServer(stsStub("111122223333", fake.NewHandler(f)))
	defer withSTS.Close()
	sdkEnv(t)
	account := func(url string) (string, string, error) {
		g := newGlobals()
		g.endpointURL = url
		return sdkAccount(t.Context(), g, f, io.Discard)
	}
	if acct, note, err := account(withSTS.URL); acct != "111122223333" || note != "" || err != nil {
		t.Errorf("with STS: %q, %q, %v", acct, note, err)
	}
	acct, note, err := account(ec2Only.URL)
	if acct != fake.AccountID || err != nil ||
		note != "imdsopts: note: the endpoint does not serve STS GetCallerIdentity (InvalidAction): the account is 123456789012, the owner of the instances it lists" {
		t.Errorf("without STS: %q, %q, %v", acct, note, err)
	}
	// AWS's endpoints (here, STS's endpoint set for the SDK alone): no
	// fallback, a configuration error.
	t.Setenv("AWS_ENDPOINT_URL_STS", ec2Only.URL)
	if acct, _, err := account(""); acct != "" || exitCode(context.Background(), err) != exitConfig || !strings.Contains(fmt.Sprint(err), "STS GetCallerIdentity") {
		t.Errorf("AWS's STS failing: %q, %v", acct, err)
	}

	// Through the command: a journal of the fake's account, credentials of
	// another (as STS says).
	_, _, path := journaledEnv(t)
	r := runSDK(t, "undo", path, "--endpoint-url", withSTS.URL)
	wantCode(t, r, exitConfig)
	if !strings.Contains(r.stderr, "was written in account 123456789012, but the credentials are account 111122223333's") {
		t.Errorf("stderr %q", r.stderr)
	}
}

// A run resumed after the account began to enforce IMDSv2 would make
// changes no rollback or undo could restore: it changes nothing without
// --accept-irreversible.
func TestResumeRefusesIrreversible(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newRolloutEnv(t, func(o *fake.Options) { o.ApplyDelay = 0 })
		e.launchN(t, 4)
		// Changes made, not calls: a call that a worker began as the run
		// stopped may be refused for its cancelled context.
		counter := &changeCounter{EC2: e.ec2, changes: map[string]int{}}
		counted := func(o *app) {
			o.newAPI = func(context.Context, *globals, io.Writer) (API, error) { return counter, nil }
		}
		total := func() int {
			n := 0
			for _, c := range counter.changes {
				n += c
			}
			return n
		}
		path := filepath.Join(t.TempDir(), "run.jsonl")
		wrap := withJournalWriter(func(w io.Writer) io.Writer { return &failingJournal{f: w.(*os.File), k: 4} })
		r := e.runIn(t, t.Context(), false, []appOption{wrap, counted}, "apply", "--tags", "env=prod", "--http-tokens", "required", "--journal", path)
		wantCode(t, r, exitOther)
		made := total()
		enforceIMDSv2(t, e.ec2)
		r = e.runIn(t, t.Context(), false, []appOption{counted}, "apply", "--resume", path)
		wantCode(t, r, exitService)
		if !strings.Contains(r.stderr, "the account enforces IMDSv2 (HttpTokensEnforced enabled), and instances left to change would go from HttpTokens optional to required") ||
			!strings.Contains(r.stderr, "nothing was changed: give --accept-irreversible to go on") || r.stdout != "" {
			t.Errorf("stdout %q, stderr %q", r.stdout, r.stderr)
		}
		if n := total(); n != made {
			t.Errorf("%d changes made without consent", n-made)
		}
		r = e.runIn(t, t.Context(), false, []appOption{counted}, "apply", "--resume", path, "--accept-irreversible", "--query", "Counts.applied")
		wantCode(t, r, exitOK)
		if r.stdout != "4\n" || total() != 4 || len(counter.changes) != 4 {
			t.Errorf("accepted: %q, changes by instance %v", r.stdout, counter.changes)
		}
	})
}

// A journal longer than the limit is refused, never read as one that ends
// there (which would take a record cut at the limit for the last one).
func TestJournalReadLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, _, path := journaledEnv(t)
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		cut := int64(len(data) - 10) // within the last record
		_, err = fleet.ReadJournal(&limitedReader{r: strings.NewReader(string(data)), n: cut}, fake.AccountID, "us-east-1")
		if !errors.Is(err, errJournalTooLarge) {
			t.Errorf("read past the limit: %v", err)
		}
	})
}

// A journal written in a Region whose name has a four-letter prefix
// (eusc-de-east-1, the AWS European Sovereign Cloud) is read with its own
// Region: the CLI and the library share one rule of Region names, so undo
// does not check its records against another Region and refuse them.
func TestJournalOfASovereignRegion(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newRolloutEnv(t)
		ids := e.launchMixed(t, 2)
		before := fiveOptions(t, e.ec2, ids)
		path := filepath.Join(t.TempDir(), "run.jsonl")
		eusc := []appOption{fixedIdentity("eusc-de-east-1", fake.AccountID)}
		r := e.runIn(t, t.Context(), false, eusc, "apply", "--tags", "env=prod", "--http-tokens", "required", "--journal", path)
		wantCode(t, r, exitOK)
		r = e.runIn(t, t.Context(), false, eusc, "undo", path, "--query", "Counts.\"rolled-back\"")
		wantCode(t, r, exitOK)
		if r.stdout != "2\n" {
			t.Errorf("undo: %q\n%s", r.stdout, r.stderr)
		}
		if diff := cmp.Diff(before, fiveOptions(t, e.ec2, ids)); diff != "" {
			t.Errorf("options after undo (-before +after):\n%s", diff)
		}
		// The same journal is refused in another Region, naming its own.
		r = e.runIn(t, t.Context(), false, nil, "undo", path)
		wantCode(t, r, exitConfig)
		if !strings.Contains(r.stderr, "was written in Region eusc-de-east-1, but this run calls Region \"us-east-1\"") {
			t.Errorf("undo in us-east-1: %q", r.stderr)
		}
	})
}

// fileTooLarge is a journal on a file at its size limit from its kth
// write on: that write stores half its bytes, then fails with EFBIG, as a
// write that crosses RLIMIT_FSIZE does.
type fileTooLarge struct {
	mu sync.Mutex
	f  *os.File
	n  int
	k  int
}

func (j *fileTooLarge) Write(p []byte) (int, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.n++
	switch {
	case j.n == j.k:
		n, _ := j.f.Write(p[:len(p)/2])
		return n, &os.PathError{Op: "write", Path: j.f.Name(), Err: syscall.EFBIG}
	case j.n > j.k:
		return 0, &os.PathError{Op: "write", Path: j.f.Name(), Err: syscall.EFBIG}
	}
	return j.f.Write(p)
}

func (j *fileTooLarge) Sync() error { return j.f.Sync() }

// TestJournalCutByFailedWrite: a record cut short by a write that failed
// (EFBIG) is described as what it may be, not as a run that was killed:
// the run said the write failed, and the note of the undo says a cut line
// comes from a kill or a failed write.
func TestJournalCutByFailedWrite(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newRolloutEnv(t, func(o *fake.Options) { o.ApplyDelay = 0 })
		e.launchN(t, 3)
		path := filepath.Join(t.TempDir(), "run.jsonl")
		wrap := withJournalWriter(func(w io.Writer) io.Writer { return &fileTooLarge{f: w.(*os.File), k: 3} })
		r := e.runIn(t, t.Context(), false, []appOption{wrap}, "apply", "--tags", "env=prod", "--http-tokens", "required", "--journal", path)
		wantCode(t, r, exitOther)
		if !strings.Contains(r.stderr, "file too large") {
			t.Errorf("apply: stderr %q", r.stderr)
		}
		r = e.runIn(t, t.Context(), false, nil, "undo", path)
		wantCode(t, r, exitOK)
		if !strings.Contains(r.stderr, "was cut short (the run writing it was killed, or its write failed: a full disk, a file size limit): ignored") {
			t.Errorf("undo: stderr %q", r.stderr)
		}
	})
}

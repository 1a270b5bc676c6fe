package fleet_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/imdsopts/imdsopts"
	"github.com/imdsopts/imdsopts/fake"
	"github.com/imdsopts/imdsopts/fleet"
	"github.com/imdsopts/imdsopts/internal/testenv"
)

// sampleJournal is a journal fleet.Apply wrote: a rollout over three
// instances whose second wave failed, and the rollback of the instance
// that rejected IMDSv1 calls.
const sampleJournal = `{"record":"header","time":"2000-01-01T00:02:00Z","version":1,"run":"apply","account":"123456789012","region":"us-east-1","set":{"HttpTokens":"required","HttpEndpoint":"enabled"},"waves":[["i-00000000000000001"],["i-00000000000000002","i-00000000000000003"]],"rollout":{"bake":"2m0s","check_every":"1m0s","rollback":"failed"}}
{"record":"wave","time":"2000-01-01T00:02:00Z","wave":1,"event":"start"}
{"record":"intent","time":"2000-01-01T00:02:00Z","wave":1,"instance":"i-00000000000000001","kind":"apply","previous":{"HttpTokens":"optional","HttpPutResponseHopLimit":3,"HttpEndpoint":"enabled","HttpProtocolIpv6":"enabled","InstanceMetadataTags":"enabled"},"change":{"HttpTokens":"required"}}
{"record":"outcome","time":"2000-01-01T00:02:00Z","instance":"i-00000000000000001","result":"accepted"}
{"record":"wave","time":"2000-01-01T00:04:06Z","wave":1,"event":"passed"}
{"record":"wave","time":"2000-01-01T00:04:06Z","wave":2,"event":"start"}
{"record":"intent","time":"2000-01-01T00:04:06Z","wave":2,"instance":"i-00000000000000002","kind":"apply","previous":{"HttpTokens":"optional","HttpPutResponseHopLimit":3,"HttpEndpoint":"enabled","HttpProtocolIpv6":"enabled","InstanceMetadataTags":"enabled"},"change":{"HttpTokens":"required"}}
{"record":"outcome","time":"2000-01-01T00:04:06Z","instance":"i-00000000000000002","result":"accepted"}
{"record":"intent","time":"2000-01-01T00:04:06Z","wave":2,"instance":"i-00000000000000003","kind":"apply","previous":{"HttpTokens":"optional","HttpPutResponseHopLimit":3,"HttpEndpoint":"enabled","HttpProtocolIpv6":"enabled","InstanceMetadataTags":"enabled"},"change":{"HttpTokens":"required"}}
{"record":"outcome","time":"2000-01-01T00:04:06Z","instance":"i-00000000000000003","result":"accepted"}
{"record":"halt","time":"2000-01-01T00:05:12Z","wave":2,"reason":"imdsopts: rollout halted at wave 2 of 2: 1 instance(s) rejected IMDSv1 calls (i-00000000000000003)"}
{"record":"intent","time":"2000-01-01T00:05:12Z","wave":2,"instance":"i-00000000000000003","kind":"rollback","previous":{"HttpTokens":"required","HttpPutResponseHopLimit":3,"HttpEndpoint":"enabled","HttpProtocolIpv6":"enabled","InstanceMetadataTags":"enabled"},"change":{"HttpTokens":"optional"}}
{"record":"outcome","time":"2000-01-01T00:05:12Z","instance":"i-00000000000000003","result":"accepted"}
`

const (
	account = "123456789012" // the fake's
	region  = "us-east-1"
)

func readJournal(data string) (*fleet.Journal, error) {
	return fleet.ReadJournal(strings.NewReader(data), account, region)
}

// recordingWriter is a journal file: it counts writes, flushes and syncs,
// and fails the write (or the sync, or the flush) of record failAt.
type recordingWriter struct {
	mu                     sync.Mutex
	buf                    bytes.Buffer
	writes, flushes, syncs int
	failAt                 int
	failWrite, failSync    bool
	failFlush, shortWrite  bool
	onFail                 func()
}

func (w *recordingWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.writes++
	if w.writes == w.failAt {
		if w.onFail != nil {
			w.onFail()
		}
		switch {
		case w.failWrite:
			return 0, errors.New("no space left on device")
		case w.shortWrite:
			n, _ := w.buf.Write(p[:len(p)/2])
			return n, nil
		}
	}
	return w.buf.Write(p)
}

func (w *recordingWriter) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.flushes++
	if w.failFlush && w.writes == w.failAt {
		return errors.New("flush failed")
	}
	return nil
}

func (w *recordingWriter) Sync() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.syncs++
	if w.failSync && w.writes == w.failAt {
		return errors.New("input/output error")
	}
	return nil
}

func (w *recordingWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// records decodes every line of a journal as JSON, as jq would.
func records(t *testing.T, journal string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for n, line := range strings.Split(strings.TrimSuffix(journal, "\n"), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("line %d is not one JSON object: %v\n%s", n+1, err, line)
		}
		out = append(out, rec)
	}
	return out
}

// TestJournalRecords: the journal of a rollout is one JSON object a line,
// each written, flushed and synced on its own: a header with the account,
// the Region, the Set, the time and the plan's waves; then, for every
// instance, an intent with all five of its options before and the change,
// and the outcome.
func TestJournalRecords(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newRolloutEnv(t, 6, varied)
		w := &recordingWriter{}
		plan := e.plan(t, testenv.MustNew(t, imdsopts.RequireIMDSv2()), e.opts(canaryOfOne()), func(o *fleet.Options) {
			o.Journal, o.Region = w, region
		})
		report, err := fleet.Apply(t.Context(), e.api, plan)
		if err != nil {
			t.Fatal(err)
		}
		recs := records(t, w.String())
		if w.writes != len(recs) || w.flushes != len(recs) || w.syncs != len(recs) {
			t.Errorf("%d records: %d writes, %d flushes, %d syncs; want one each a record", len(recs), w.writes, w.flushes, w.syncs)
		}
		h := recs[0]
		if h["record"] != "header" || h["version"] != 1.0 || h["run"] != "apply" || h["account"] != account || h["region"] != region ||
			fmt.Sprint(h["set"]) != "map[HttpEndpoint:enabled HttpTokens:required]" || h["time"] == nil {
			t.Errorf("header = %v", h)
		}
		waves := map[string]int{}
		for w, ids := range recs[0]["waves"].([]any) {
			for _, id := range ids.([]any) {
				waves[id.(string)] = w + 1
			}
		}
		for _, it := range report.Items {
			if waves[it.InstanceID] != it.Wave {
				t.Errorf("%s is in wave %d of the journal's plan, %d of the report", it.InstanceID, waves[it.InstanceID], it.Wave)
			}
		}
		open := map[string]bool{}
		intents := 0
		for n, rec := range recs[1:] {
			id, _ := rec["instance"].(string)
			switch rec["record"] {
			case "intent":
				intents++
				prev := rec["previous"].(map[string]any)
				if len(prev) != 5 || fmt.Sprint(rec["change"]) != "map[HttpTokens:required]" || open[id] {
					t.Errorf("record %d: %v", n+2, rec)
				}
				open[id] = true
			case "outcome":
				if !open[id] || rec["result"] != "accepted" {
					t.Errorf("record %d: %v without an intent before it", n+2, rec)
				}
				delete(open, id)
			}
		}
		if intents != 6 || len(open) != 0 {
			t.Errorf("%d intents, %d without an outcome; want 6 and 0", intents, len(open))
		}
		if _, err := readJournal(w.String()); err != nil {
			t.Errorf("ReadJournal: %v", err)
		}
	})
}

// TestJournalWriteFails: a record that cannot be written stops the run
// before its next call; every call made has its intent in the journal, and
// the report keeps what was done. One worker makes the order of records
// and calls fixed: the header, then an intent and an outcome for each of
// six instances.
func TestJournalWriteFails(t *testing.T) {
	const n = 6
	for _, tc := range []struct {
		name    string
		at      int
		writer  func(*recordingWriter)
		changed int // instances changed: calls made
	}{
		{"header", 1, func(w *recordingWriter) { w.failWrite = true }, 0},
		{"header, sync", 1, func(w *recordingWriter) { w.failSync = true }, 0},
		{"first intent, sync", 2, func(w *recordingWriter) { w.failSync = true }, 0},
		{"third intent", 6, func(w *recordingWriter) { w.failWrite = true }, 2},
		{"third outcome, short", 7, func(w *recordingWriter) { w.shortWrite = true }, 3},
		{"fourth intent, flush", 8, func(w *recordingWriter) { w.failFlush = true }, 3},
		{"last outcome", 1 + 2*n, func(w *recordingWriter) { w.failSync = true }, n},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := fake.New(func(o *fake.Options) { o.ApplyDelay = 0 })
				testenv.Fleet(t, f, n, nil)
				callsAtFailure := -1
				w := &recordingWriter{failAt: tc.at, onFail: func() { callsAtFailure = f.Calls("ModifyInstanceMetadataOptions") }}
				tc.writer(w)
				plan, err := fleet.NewPlan(t.Context(), f, fleet.Selection{}, testenv.MustNew(t, imdsopts.HopLimit(2)), func(o *fleet.Options) {
					o.Journal, o.Region, o.AllowDowngrade, o.Concurrency = w, region, true, 1
				})
				if err != nil {
					t.Fatal(err)
				}
				report, err := fleet.Apply(t.Context(), f, plan)
				if !errors.Is(err, fleet.ErrJournalWrite) || report == nil {
					t.Fatalf("error = %v, want ErrJournalWrite with a report", err)
				}
				calls := f.Calls("ModifyInstanceMetadataOptions")
				if calls != tc.changed || callsAtFailure != calls {
					t.Errorf("%d Modify calls (%d when the record failed), want %d and none after", calls, callsAtFailure, tc.changed)
				}
				c := report.Counts()
				if got := c[fleet.StatusApplied] + c[fleet.StatusUnconfirmed]; got != tc.changed || c[fleet.StatusNotAttempted] != n-tc.changed {
					t.Errorf("counts = %v, want %d changed and %d not attempted", c, tc.changed, n-tc.changed)
				}
				for _, it := range report.Items {
					if it.Status == fleet.StatusNotAttempted && !errors.Is(it.Err, fleet.ErrJournalWrite) {
						t.Errorf("%s: %v, want ErrJournalWrite", it.InstanceID, it.Err)
					}
				}
				intents := strings.Count(w.String(), `"record":"intent"`)
				if intents < calls {
					t.Errorf("%d calls but %d intents in the journal", calls, intents)
				}
			})
		})
	}
}

// TestJournalWriteFailsConcurrently: with ten workers, a failed record
// still lets no call through that the journal does not record.
func TestJournalWriteFailsConcurrently(t *testing.T) {
	for at := 3; at <= 60; at += 7 {
		t.Run(fmt.Sprint(at), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := fake.New(func(o *fake.Options) { o.ApplyDelay = 0 })
				testenv.Fleet(t, f, 40, nil)
				w := &recordingWriter{failAt: at, failWrite: true}
				plan, err := fleet.NewPlan(t.Context(), f, fleet.Selection{}, testenv.MustNew(t, imdsopts.HopLimit(2)), func(o *fleet.Options) {
					o.Journal, o.Region, o.AllowDowngrade = w, region, true
				})
				if err != nil {
					t.Fatal(err)
				}
				if _, err := fleet.Apply(t.Context(), f, plan); !errors.Is(err, fleet.ErrJournalWrite) {
					t.Fatalf("error = %v, want ErrJournalWrite", err)
				}
				calls, intents := f.Calls("ModifyInstanceMetadataOptions"), strings.Count(w.String(), `"record":"intent"`)
				if calls > intents || calls >= 40 {
					t.Errorf("%d calls, %d intents in the journal", calls, intents)
				}
			})
		})
	}
}

// TestReadJournalCutAnywhere: a journal cut at any byte (the process died
// while writing) reads, with the cut line reported, except when nothing is
// left of its header.
func TestReadJournalCutAnywhere(t *testing.T) {
	lines := strings.SplitAfter(sampleJournal, "\n")
	firstLine := len(lines[0])
	for cut := 0; cut <= len(sampleJournal); cut++ {
		data := sampleJournal[:cut]
		j, err := readJournal(data)
		if cut < firstLine-1 {
			if !errors.Is(err, fleet.ErrBadJournal) {
				t.Fatalf("cut at %d, within the header: error = %v, want ErrBadJournal", cut, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("cut at %d: %v", cut, err)
		}
		last := strings.Count(data, "\n") + 1
		partial := data[strings.LastIndex(data, "\n")+1:]
		complete := json.Valid([]byte(partial))
		switch {
		case partial == "" || complete:
			if len(j.Truncated) != 0 {
				t.Fatalf("cut at %d, at a record's end: Truncated = %v", cut, j.Truncated)
			}
		case !slices.Equal(j.Truncated, []int{last}):
			t.Fatalf("cut at %d: Truncated = %v, want [%d]", cut, j.Truncated, last)
		}
		if j.Account != account || j.Region != region || j.Set.String() != "HttpTokens=required HttpEndpoint=enabled" ||
			!j.Started.Equal(time.Date(2000, 1, 1, 0, 2, 0, 0, time.UTC)) {
			t.Fatalf("cut at %d: %+v", cut, j)
		}
	}
}

// TestReadJournalRefuses: whatever is not a journal this package wrote, in
// the order it writes it, is refused with its line number; so is a journal
// of another account or Region.
func TestReadJournalRefuses(t *testing.T) {
	lines := strings.Split(strings.TrimSuffix(sampleJournal, "\n"), "\n")
	join := func(l []string) string { return strings.Join(l, "\n") + "\n" }
	with := func(n int, line string) string { // line n replaced
		l := slices.Clone(lines)
		l[n-1] = line
		return join(l)
	}
	insert := func(n int, line string) string { // line inserted as line n
		return join(slices.Insert(slices.Clone(lines), n-1, line))
	}
	swap := func(n int, old, new string) string {
		return with(n, strings.Replace(lines[n-1], old, new, 1))
	}
	for _, tc := range []struct {
		name, data, want string
	}{
		{"empty", "", "no record"},
		{"garbage", insert(5, "hello"), "line 5: not a journal record"},
		{"not an object", insert(5, "[1,2]"), "line 5: not a journal record"},
		{"two objects", with(2, `{"record":"wave","time":"2000-01-01T00:02:00Z","wave":1,"event":"start"} {}`), "line 2: not a journal record"},
		{"unknown field", swap(3, `"kind":"apply"`, `"kind":"apply","force":true`), `line 3: not a journal record: json: unknown field "force"`},
		{"another account", swap(1, account, "210987654321"), "line 1: the journal was written in account 210987654321, Region us-east-1, not in account 123456789012"},
		{"another Region", swap(1, region, "eu-west-1"), "line 1: the journal was written in account 123456789012, Region eu-west-1"},
		{"version", swap(1, `"version":1`, `"version":2`), "line 1: version 2"},
		{"no header", join(lines[1:]), "line 1: not an imdsopts journal: it begins with a \"wave\" record"},
		{"outcome without intent", join(slices.Delete(slices.Clone(lines), 2, 3)), "line 3: an outcome for \"i-00000000000000001\""},
		{"second apply", insert(3, lines[0]), "line 3: a second apply run in one journal"},
		{"plan twice in a wave", swap(1, `["i-00000000000000001"],`, `["i-00000000000000001"],["i-00000000000000001"],`), `line 1: the plan names "i-00000000000000001", which is not an instance ID or is named twice`},
		{"previous incomplete", swap(3, `,"InstanceMetadataTags":"enabled"`, ""), "line 3: an intent for i-00000000000000001 without all five"},
		{"hop limit", swap(3, `"HttpPutResponseHopLimit":3`, `"HttpPutResponseHopLimit":65`), "line 3: an intent for i-00000000000000001: imdsopts: HttpPutResponseHopLimit 65"},
		{"no change", swap(3, `"change":{"HttpTokens":"required"}`, `"change":{}`), "line 3: an intent for i-00000000000000001 without its change"},
		{"bad ID", swap(3, `"instance":"i-00000000000000001"`, `"instance":"i-1"`), `line 3: an intent for "i-1"`},
		{"unknown result", swap(4, `"accepted"`, `"maybe"`), `line 4: unknown result "maybe"`},
		{"no time", swap(2, `"time":"2000-01-01T00:02:00Z",`, ""), "line 2: a \"wave\" record without its time"},
		{"wave out of the plan", swap(2, `"wave":1`, `"wave":3`), "line 2: wave 3 is not a wave of the plan"},
		{"wave passed, not started", join(slices.Delete(slices.Clone(lines), 1, 2)), "line 4: wave 1 passed before it started"},
		{"cut in the middle", with(4, `{"record":"outcome","time":"2000-01`), "line 4: the record is cut short, and is not the last of its run"},
		{"resume with another set", insert(14, `{"record":"header","time":"2000-01-01T01:00:00Z","version":1,"run":"resume","account":"123456789012","region":"us-east-1","set":{"HttpTokens":"required"}}`),
			"line 14: a resume header that does not continue the apply run before it"},
		// Hand-edited intents: fleet.Undo would restore what they say.
		{"change beyond the set", swap(3, `"change":{"HttpTokens":"required"}`, `"change":{"HttpTokens":"required","HttpPutResponseHopLimit":1,"HttpProtocolIpv6":"disabled"}`),
			`line 3: an intent for i-00000000000000001 whose change (HttpTokens=required HttpPutResponseHopLimit=1 HttpProtocolIpv6=disabled) is not the run's set (HttpTokens=required HttpEndpoint=enabled) applied to its options before`},
		{"change short of the set", swap(3, `"HttpEndpoint":"enabled","HttpProtocolIpv6"`, `"HttpEndpoint":"disabled","HttpProtocolIpv6"`),
			"line 3: an intent for i-00000000000000001 whose change (HttpTokens=required) is not the run's set"},
		{"hop limit beyond a container host's", swap(3, `"change":{"HttpTokens":"required"}`, `"change":{"HttpTokens":"required","HttpPutResponseHopLimit":2}`),
			"line 3: an intent for i-00000000000000001 whose change (HttpTokens=required HttpPutResponseHopLimit=2) is not the run's set"},
		{"instance not in the plan", insert(5, strings.ReplaceAll(lines[2], "i-00000000000000001", "i-00000000000000009")),
			`line 5: an intent of kind "apply" for i-00000000000000009, which is not an instance of the plan`},
		{"rollback to options never had", swap(12, `"change":{"HttpTokens":"optional"}`, `"change":{"HttpTokens":"optional","HttpPutResponseHopLimit":64}`),
			"line 12: a rollback of i-00000000000000003 whose change (HttpTokens=optional HttpPutResponseHopLimit=64) from options (HttpTokens=required HttpPutResponseHopLimit=3 HttpEndpoint=enabled HttpProtocolIpv6=enabled InstanceMetadataTags=enabled) does not restore its options before the run"},
		{"undo of an instance never changed", join(append(slices.Clone(lines), undoHeader,
			`{"record":"intent","time":"2000-01-01T01:00:00Z","instance":"i-00000000000000009","kind":"undo","previous":{"HttpTokens":"required","HttpPutResponseHopLimit":3,"HttpEndpoint":"enabled","HttpProtocolIpv6":"enabled","InstanceMetadataTags":"enabled"},"change":{"HttpTokens":"optional"}}`)),
			"line 15: an undo of i-00000000000000009, which no earlier record of the journal changed"},
		{"undo from options never given", join(append(slices.Clone(lines), undoHeader,
			`{"record":"intent","time":"2000-01-01T01:00:00Z","instance":"i-00000000000000001","kind":"undo","previous":{"HttpTokens":"required","HttpPutResponseHopLimit":64,"HttpEndpoint":"enabled","HttpProtocolIpv6":"enabled","InstanceMetadataTags":"enabled"},"change":{"HttpTokens":"optional","HttpPutResponseHopLimit":3}}`)),
			"line 15: an undo of i-00000000000000001 from options (HttpTokens=required HttpPutResponseHopLimit=64 HttpEndpoint=enabled HttpProtocolIpv6=enabled InstanceMetadataTags=enabled) that no change the journal records gave it"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			j, err := readJournal(tc.data)
			if !errors.Is(err, fleet.ErrBadJournal) || !strings.Contains(err.Error(), tc.want) || j != nil {
				t.Errorf("error = %v, want ErrBadJournal saying %q", err, tc.want)
			}
		})
	}
	t.Run("cut, then resumed", func(t *testing.T) {
		data := join(lines[:3]) + `{"record":"outcome","time":"2000-01` + "\n" +
			`{"record":"header","time":"2000-01-01T01:00:00Z","version":1,"run":"resume","account":"123456789012","region":"us-east-1","set":{"HttpTokens":"required","HttpEndpoint":"enabled"}}` + "\n"
		j, err := readJournal(data)
		if err != nil || !slices.Equal(j.Truncated, []int{4}) {
			t.Errorf("ReadJournal = %v, %v; want line 4 truncated", j, err)
		}
	})
}

// undoHeader begins an undo run of sampleJournal.
const undoHeader = `{"record":"header","time":"2000-01-01T01:00:00Z","version":1,"run":"undo","account":"123456789012","region":"us-east-1"}`

// TestReadJournalTakesWhatRunsWrite: the intents this package's runs
// write pass the checks of hand-edited ones: a container host's hop
// limit raised with the set, or kept where the set would lower it, and an
// undo from what the journal recorded.
func TestReadJournalTakesWhatRunsWrite(t *testing.T) {
	lines := strings.Split(strings.TrimSuffix(sampleJournal, "\n"), "\n")
	join := func(l []string) string { return strings.Join(l, "\n") + "\n" }
	lowering := `{"record":"header","time":"2000-01-01T00:02:00Z","version":1,"run":"apply","account":"123456789012","region":"us-east-1","set":{"HttpTokens":"required","HttpPutResponseHopLimit":1},"waves":[["i-00000000000000001"]]}`
	for _, tc := range []struct{ name, data string }{
		{"raised for a container host", join([]string{lines[0],
			`{"record":"intent","time":"2000-01-01T00:02:00Z","wave":1,"instance":"i-00000000000000001","kind":"apply","previous":{"HttpTokens":"optional","HttpPutResponseHopLimit":1,"HttpEndpoint":"enabled","HttpProtocolIpv6":"disabled","InstanceMetadataTags":"disabled"},"change":{"HttpTokens":"required","HttpPutResponseHopLimit":2}}`})},
		{"kept for a container host", join([]string{lowering,
			`{"record":"intent","time":"2000-01-01T00:02:00Z","wave":1,"instance":"i-00000000000000001","kind":"apply","previous":{"HttpTokens":"optional","HttpPutResponseHopLimit":2,"HttpEndpoint":"enabled","HttpProtocolIpv6":"disabled","InstanceMetadataTags":"disabled"},"change":{"HttpTokens":"required"}}`})},
		{"lowered", join([]string{lowering,
			`{"record":"intent","time":"2000-01-01T00:02:00Z","wave":1,"instance":"i-00000000000000001","kind":"apply","previous":{"HttpTokens":"optional","HttpPutResponseHopLimit":2,"HttpEndpoint":"enabled","HttpProtocolIpv6":"disabled","InstanceMetadataTags":"disabled"},"change":{"HttpTokens":"required","HttpPutResponseHopLimit":1}}`})},
		{"undone", join(append(slices.Clone(lines), undoHeader,
			`{"record":"intent","time":"2000-01-01T01:00:00Z","instance":"i-00000000000000001","kind":"undo","previous":{"HttpTokens":"required","HttpPutResponseHopLimit":3,"HttpEndpoint":"enabled","HttpProtocolIpv6":"enabled","InstanceMetadataTags":"enabled"},"change":{"HttpTokens":"optional"}}`))},
	} {
		if _, err := readJournal(tc.data); err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

// TestReadJournalMisuse: a nil reader, or an account or Region that is not
// one, is an error matching ErrInvalid, before anything is read.
func TestReadJournalMisuse(t *testing.T) {
	var nilReader *strings.Reader
	for _, tc := range []struct {
		r               io.Reader
		account, region string
		field           string
	}{
		{nil, account, region, "r nil"},
		{nilReader, account, region, "r nil"},
		{strings.NewReader(sampleJournal), "12345", region, `account "12345"`},
		{strings.NewReader(sampleJournal), account, "", `region ""`},
	} {
		j, err := fleet.ReadJournal(tc.r, tc.account, tc.region)
		if !errors.Is(err, imdsopts.ErrInvalid) || !strings.Contains(err.Error(), tc.field) || j != nil {
			t.Errorf("ReadJournal(%v, %q, %q) = %v; want ErrInvalid naming %s", tc.r, tc.account, tc.region, err, tc.field)
		}
	}
}

// FuzzReadJournal: ReadJournal never panics, and what it accepts is a
// journal of the account and Region asked for, whose truncated lines are
// lines of the input.
func FuzzReadJournal(f *testing.F) {
	// Short seeds: the fuzzer mutates them far better than the whole
	// sample, which TestReadJournalCutAnywhere covers.
	lines := strings.SplitAfter(sampleJournal, "\n")
	f.Add(lines[0] + lines[2] + lines[3])
	f.Add(lines[0] + lines[2] + lines[3][:40])
	f.Add(lines[0] + lines[1] + lines[4] + lines[5] + lines[10])
	f.Add(`{"record":"header","time":"2000-01-01T00:02:00Z","version":1,"run":"undo","account":"123456789012","region":"us-east-1"}` + "\n")
	f.Fuzz(func(t *testing.T, data string) {
		j, err := readJournal(data)
		if err != nil {
			if !errors.Is(err, fleet.ErrBadJournal) {
				t.Fatalf("error %v does not match ErrBadJournal", err)
			}
			return
		}
		if j.Account != account && j.Account != "" || j.Region != region {
			t.Fatalf("read a journal of %s, %s", j.Account, j.Region)
		}
		for _, n := range j.Truncated {
			if n < 1 || n > strings.Count(data, "\n")+1 {
				t.Fatalf("Truncated %v of %d lines", j.Truncated, strings.Count(data, "\n")+1)
			}
		}
	})
}

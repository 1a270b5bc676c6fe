package fleet

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/imdsopts/imdsopts"
	"github.com/imdsopts/imdsopts/internal/awsid"
	"github.com/imdsopts/imdsopts/internal/check"
	"github.com/imdsopts/imdsopts/internal/hosts"
	"github.com/imdsopts/imdsopts/internal/liberr"
)

// Reading a journal back: every record is checked, in the order this
// package writes them, so that what Resume and Undo act on is
// what the runs recorded, of this account and Region.

// Journal is a journal of [Apply], [Resume] and [Undo], as
// [ReadJournal] read it: what the runs it records set out to do, and what
// each instance had before. Pass it to Resume to finish an interrupted
// run, or to Undo to restore every instance it changed.
//
// A journal is written to Options.Journal, one JSON object a line;
// "record" is the line's kind and "time" when it was written (RFC 3339,
// UTC). Options have EC2's field names (HttpTokens,
// HttpPutResponseHopLimit, HttpEndpoint, HttpProtocolIpv6,
// InstanceMetadataTags).
//
//   - "header" begins a run: "version" (1), "run" ("apply", "resume" or
//     "undo"), "account" and "region", and "set", the options an apply or
//     resume run applies. An apply run's header also holds its plan:
//     "waves", the instance IDs to change wave by wave (one wave without a
//     rollout), and "rollout" ("bake", "check_every", "rollback").
//   - "wave": wave "wave" (1 for the canary) began ("event" "start"), or
//     passed its bake ("passed").
//   - "intent", before every ModifyInstanceMetadataOptions call:
//     "instance", "kind" ("apply", "rollback" or "undo"), "wave",
//     "previous" (all five options the instance had) and "change" (the
//     fields sent).
//   - "outcome", after it: "instance", "result" ("accepted"; "failed": EC2
//     refused it, nothing changed; "unknown": no answer, or a 5xx, so it
//     may have been made; "not-sent"), and the "error" when not accepted.
//   - "halt": the rollout halted at "wave", for "reason".
//
// So jq 'select(.record == "intent" and .kind == "apply") | .instance'
// lists the instances a run may have changed. A journal holds one run of
// Apply (ReadJournal refuses a second): give each its own file, and
// let Resume and Undo append to it.
type Journal struct {
	// Account and Region are those the journal was written in.
	Account, Region string
	// Set is what the run applies; the zero Set for a journal of an undo.
	Set imdsopts.Set
	// Started is when the first run began.
	Started time.Time
	// Truncated are the lines of records that were cut short: the process
	// died while writing them, or the write failed part way (a full disk,
	// a file size limit: the run then stopped), possibly before a later
	// run went on in the same journal. They are ignored: a call is made
	// only once its intent is written whole.
	Truncated []int

	made      bool
	plan      *journalRecord // nil: the journal begins with an undo
	instances map[string]*journaled
	order     []string // the instances in the order of their first intent
	starts    map[int]time.Time
	passed    map[int]bool
	halt      string
	undone    bool
	openEnd   bool // the last line has no line break
}

// journaled is what a journal says of one instance.
type journaled struct {
	before journalOptions   // its options before the first change recorded
	states []journalOptions // its options after each change recorded
	// Of its last change of the run's Set (kind apply): the change, and
	// what became of the call ("" while no outcome was recorded).
	applied bool
	change  imdsopts.Set
	result  string
	err     string
}

// ReadJournal reads a journal that [Apply], [Resume] or
// [Undo] wrote (Options.Journal), for the AWS account and Region
// given: a journal written in another account or Region is refused, since
// its instance IDs mean nothing there. A last line cut short (the process
// died while writing it, or the write failed part way) is tolerated, and
// so is one cut short and followed by a later run's header (a run resumed
// in the same file): Journal.Truncated says which lines. Anything else that is not a record this package wrote,
// in the order it writes them, is refused with its line number and the
// rule it breaks; so is an intent no run of this package would write (a
// change that is not the header's set applied to the options before, an
// instance not in the plan, a rollback or undo that does not restore the
// options before the run). Every
// refusal matches ErrBadJournal; a nil r, or an account or Region that is
// not one, is an error matching ErrInvalid.
func ReadJournal(r io.Reader, account, region string) (*Journal, error) {
	var errs []error
	if check.IsNil(r) {
		errs = append(errs, liberr.Misuse("r", "nil", "must be a reader of a journal, such as *os.File"))
	}
	if !awsid.IsAccountID(account) {
		errs = append(errs, &imdsopts.ValidationError{Field: "account", Value: check.Quote(account), Rule: "must be an AWS account ID of 12 digits"})
	}
	if !awsid.IsRegion(region) {
		errs = append(errs, &imdsopts.ValidationError{Field: "region", Value: check.Quote(region), Rule: `must be an AWS Region, such as "us-east-1"`})
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	jr := &journalReader{j: &Journal{instances: map[string]*journaled{}, starts: map[int]time.Time{}, passed: map[int]bool{}},
		account: account, region: region}
	br := bufio.NewReader(r)
	cut := 0 // the line of a record cut short, until the next line says whether that is allowed
	for n := 1; ; n++ {
		line, err := br.ReadBytes('\n')
		if err != nil && err != io.EOF {
			return nil, fmt.Errorf("imdsopts: journal line %d: %w", n, err)
		}
		if len(line) == 0 && err == io.EOF {
			break
		}
		jr.j.openEnd = line[len(line)-1] != '\n'
		text := bytes.TrimSpace(line)
		if len(text) == 0 {
			if err == io.EOF {
				break
			}
			continue
		}
		rec, perr := decodeRecord(text)
		if cut > 0 {
			if perr != nil || rec.Record != recHeader {
				if jr.runs == 0 {
					// Such as a JSON document written over many lines: the
					// output of plan or apply given for its journal.
					return nil, jr.bad(cut, notAJournal+": its first record is not one JSON object on one line")
				}
				return nil, jr.bad(cut, "the record is cut short, and is not the last of its run")
			}
			jr.j.Truncated = append(jr.j.Truncated, cut)
			cut = 0
		}
		switch {
		case errors.Is(perr, io.ErrUnexpectedEOF):
			cut = n
		case perr != nil && jr.runs == 0:
			return nil, jr.bad(n, notAJournal+": its first line is not a journal's header record ("+perr.Error()+")")
		case perr != nil:
			return nil, jr.bad(n, "not a journal record: "+perr.Error())
		default:
			if err := jr.add(n, rec); err != nil {
				return nil, err
			}
		}
		if err == io.EOF {
			break
		}
	}
	if cut > 0 {
		jr.j.Truncated = append(jr.j.Truncated, cut)
	}
	return jr.finish()
}

// notAJournal begins the message of a file whose first record is not a
// journal's: the most likely mistake is the wrong file, not a damaged one.
const notAJournal = "not an imdsopts journal"

// decodeRecord decodes one line: exactly one JSON object with only the
// fields of a record. A line cut short is io.ErrUnexpectedEOF.
func decodeRecord(text []byte) (journalRecord, error) {
	var rec journalRecord
	dec := json.NewDecoder(bytes.NewReader(text))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rec); err != nil {
		return rec, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return rec, errors.New("more than one JSON value on the line")
	}
	return rec, nil
}

// journalReader builds a Journal from its records, checking each.
type journalReader struct {
	j               *Journal
	account, region string
	run             string            // of the last header
	runs            int               // headers read
	open            map[string]string // instances with an intent and no outcome in this run: their kind
	planned         map[string]bool   // the instances of the apply run's plan
}

func (jr *journalReader) bad(n int, msg string) error {
	return fmt.Errorf("imdsopts: journal line %d: %s: %w", n, msg, ErrBadJournal)
}

// add takes the record of line n.
func (jr *journalReader) add(n int, rec journalRecord) error {
	j := jr.j
	if rec.Time.IsZero() {
		return jr.bad(n, fmt.Sprintf("a %s record without its time", check.Quote(rec.Record)))
	}
	if jr.runs == 0 && rec.Record != recHeader {
		return jr.bad(n, fmt.Sprintf("%s: it begins with a %s record, not a header", notAJournal, check.Quote(rec.Record)))
	}
	switch rec.Record {
	case recHeader:
		return jr.header(n, rec)
	case recWave:
		if j.plan == nil || rec.Wave < 1 || rec.Wave > len(j.plan.Waves) {
			return jr.bad(n, fmt.Sprintf("wave %d is not a wave of the plan", rec.Wave))
		}
		switch rec.Event {
		case waveStart:
			if _, ok := j.starts[rec.Wave]; !ok {
				j.starts[rec.Wave] = rec.Time
			}
		case wavePassed:
			if _, ok := j.starts[rec.Wave]; !ok {
				return jr.bad(n, fmt.Sprintf("wave %d passed before it started", rec.Wave))
			}
			j.passed[rec.Wave] = true
		default:
			return jr.bad(n, "unknown wave event "+check.Quote(rec.Event))
		}
	case recIntent:
		return jr.intent(n, rec)
	case recOutcome:
		kind, ok := jr.open[rec.Instance]
		if !ok {
			return jr.bad(n, fmt.Sprintf("an outcome for %s, which has no intent awaiting one", check.Quote(rec.Instance)))
		}
		switch rec.Result {
		case resultAccepted, resultFailed, resultUnknown, resultNotSent:
		default:
			return jr.bad(n, "unknown result "+check.Quote(rec.Result))
		}
		delete(jr.open, rec.Instance)
		if kind == runApply {
			in := j.instances[rec.Instance]
			in.result, in.err = rec.Result, rec.Error
		}
	case recHalt:
		if rec.Reason == "" {
			return jr.bad(n, "a halt record without its reason")
		}
		j.halt = rec.Reason
	default:
		return jr.bad(n, "unknown record "+check.Quote(rec.Record))
	}
	return nil
}

func (jr *journalReader) header(n int, rec journalRecord) error {
	j := jr.j
	switch {
	case rec.Version != journalVersion:
		return jr.bad(n, fmt.Sprintf("version %d; this package reads version %d", rec.Version, journalVersion))
	case rec.Account == nil || *rec.Account != "" && !awsid.IsAccountID(*rec.Account):
		return jr.bad(n, "a header without an account ID")
	case !awsid.IsRegion(rec.Region):
		return jr.bad(n, "a header without a Region")
	}
	if *rec.Account != "" && *rec.Account != jr.account || rec.Region != jr.region {
		acct := *rec.Account
		if acct == "" {
			acct = "(none)"
		}
		return jr.bad(n, fmt.Sprintf("the journal was written in account %s, Region %s, not in account %s, Region %s: its instances are not this account's",
			acct, rec.Region, jr.account, jr.region))
	}
	var s imdsopts.Set
	if rec.Set != nil {
		if err := rec.Set.check(); err != nil {
			return jr.bad(n, "the header's set: "+err.Error())
		}
		s = rec.Set.set()
	}
	switch {
	case rec.Run == runUndo && !s.IsZero():
		return jr.bad(n, "an undo header with a set")
	case rec.Run == runApply && jr.runs > 0:
		return jr.bad(n, "a second apply run in one journal")
	case rec.Run == runApply && s.IsZero():
		return jr.bad(n, "an apply header without its set")
	case rec.Run == runResume && (jr.runs == 0 || j.plan == nil || s != j.Set):
		return jr.bad(n, "a resume header that does not continue the apply run before it")
	case rec.Run != runApply && rec.Run != runResume && rec.Run != runUndo:
		return jr.bad(n, "unknown run "+check.Quote(rec.Run))
	case rec.Run != runApply && (rec.Waves != nil || rec.Rollout != nil):
		return jr.bad(n, "a header of a "+rec.Run+" run with a plan")
	case rec.Run == runApply:
		if err := jr.plan(n, rec); err != nil {
			return err
		}
	}
	if jr.runs == 0 {
		j.Account, j.Region, j.Set, j.Started = *rec.Account, rec.Region, s, rec.Time
	}
	if rec.Run == runUndo {
		j.undone = true
	}
	jr.runs++
	jr.run = rec.Run
	jr.open = map[string]string{}
	return nil
}

// plan takes the plan of an apply run's header.
func (jr *journalReader) plan(n int, rec journalRecord) error {
	seen := map[string]bool{}
	jr.planned = seen
	for w, ids := range rec.Waves {
		if len(ids) == 0 {
			return jr.bad(n, fmt.Sprintf("wave %d of the plan is empty", w+1))
		}
		for _, id := range ids {
			if imdsopts.ValidateInstanceID(id) != nil || seen[id] {
				return jr.bad(n, fmt.Sprintf("the plan names %s, which is not an instance ID or is named twice", check.Quote(id)))
			}
			seen[id] = true
		}
	}
	if r := rec.Rollout; r != nil {
		if _, err := r.rollout(); err != nil {
			return jr.bad(n, "the plan's rollout: "+err.Error())
		}
	}
	jr.j.plan = &rec
	return nil
}

func (jr *journalReader) intent(n int, rec journalRecord) error {
	j := jr.j
	if imdsopts.ValidateInstanceID(rec.Instance) != nil {
		return jr.bad(n, "an intent for "+check.Quote(rec.Instance)+", which is not an instance ID")
	}
	if _, ok := jr.open[rec.Instance]; ok {
		return jr.bad(n, "a second intent for "+rec.Instance+" before the outcome of the first")
	}
	switch {
	case rec.Kind == runApply && jr.run == runUndo, rec.Kind == kindRollback && jr.run == runUndo,
		rec.Kind == runUndo && jr.run != runUndo:
		return jr.bad(n, fmt.Sprintf("an intent of kind %s in a run of %s", check.Quote(rec.Kind), jr.run))
	case rec.Kind != runApply && rec.Kind != kindRollback && rec.Kind != runUndo:
		return jr.bad(n, "unknown kind of change "+check.Quote(rec.Kind))
	case rec.Previous == nil || len(rec.Previous.missing()) > 0:
		return jr.bad(n, "an intent for "+rec.Instance+" without all five of its options before")
	case rec.Change == nil || rec.Change.set().IsZero():
		return jr.bad(n, "an intent for "+rec.Instance+" without its change")
	}
	if err := errors.Join(rec.Previous.check(), rec.Change.check()); err != nil {
		return jr.bad(n, "an intent for "+rec.Instance+": "+err.Error())
	}
	in := j.instances[rec.Instance]
	if msg := jr.explained(rec, in); msg != "" {
		return jr.bad(n, msg)
	}
	if in == nil {
		in = &journaled{before: *rec.Previous}
		j.instances[rec.Instance] = in
		j.order = append(j.order, rec.Instance)
	}
	in.states = append(in.states, rec.Previous.with(rec.Change.set()))
	if rec.Kind == runApply {
		in.applied, in.change, in.result, in.err = true, rec.Change.set(), "", ""
	}
	jr.open[rec.Instance] = rec.Kind
	return nil
}

// explained returns why the intent rec, for an instance of which the
// journal so far says in (nil: nothing), is not one this package's runs
// write, or "": a change of the run's Set (kind apply) or a rollback must
// be of an instance of the plan; a change of the Set must be the Set
// applied to the options before (the fields of the Set that differ from
// them, but for the hop limit a container host is given, see
// Options.ContainerHopLimit); a rollback, and an undo of an instance
// the journal recorded, must restore its options before the first change,
// and an undo must start from options the journal recorded it was given.
// So a hand-edited intent cannot make Undo "restore" options the
// instance never had, nor act on an instance the run did not plan.
func (jr *journalReader) explained(rec journalRecord, in *journaled) string {
	prev, change := *rec.Previous, rec.Change.set()
	switch rec.Kind {
	case runApply, kindRollback:
		if !jr.planned[rec.Instance] {
			return fmt.Sprintf("an intent of kind %s for %s, which is not an instance of the plan", check.Quote(rec.Kind), rec.Instance)
		}
	}
	switch {
	case rec.Kind == runApply:
		if !setApplied(jr.j.Set, prev, change) {
			return fmt.Sprintf("an intent for %s whose change (%s) is not the run's set (%s) applied to its options before (%s)",
				rec.Instance, change, jr.j.Set, prev.set())
		}
	case in == nil && rec.Kind == runUndo && jr.j.plan != nil:
		return fmt.Sprintf("an undo of %s, which no earlier record of the journal changed", rec.Instance)
	case in == nil:
		// An undo that begins its journal: nothing earlier to hold it to.
	case prev.with(change) != in.before:
		return fmt.Sprintf("a %s of %s whose change (%s) from options (%s) does not restore its options before the run (%s)",
			rec.Kind, rec.Instance, change, prev.set(), in.before.set())
	case rec.Kind == runUndo && !slices.Contains(in.states, prev):
		return fmt.Sprintf("an undo of %s from options (%s) that no change the journal records gave it", rec.Instance, prev.set())
	}
	return ""
}

// setApplied reports whether change is what a run makes of s for an
// instance whose options before are prev: the fields of s that differ
// from prev, with the hop limit of a container host that the change makes
// require tokens raised to, or kept at, Options.ContainerHopLimit
// (which the journal does not record; see planItem).
func setApplied(s imdsopts.Set, prev journalOptions, change imdsopts.Set) bool {
	cur := prev.response()
	want := s.Changes(cur)
	if change == want {
		return true
	}
	if change.Without(hopField()) != want.Without(hopField()) {
		return false // a field other than the hop limit is not the Set's
	}
	limit := change.HopLimit()
	if limit == 0 { // the Set would lower the hop limit; a container host keeps it
		limit = prev.HttpPutResponseHopLimit
	}
	return limit >= 2 && limit <= imdsopts.MaxHopLimit && hosts.CutOff(want.AppliedTo(cur), limit)
}

// finish checks what only the whole journal tells.
func (jr *journalReader) finish() (*Journal, error) {
	j := jr.j
	switch {
	case jr.runs == 0:
		return nil, fmt.Errorf("imdsopts: journal: no record: %w", ErrBadJournal)
	case j.Account == "" && len(j.instances) > 0:
		return nil, fmt.Errorf("imdsopts: journal: changes recorded without the account they were made in: %w", ErrBadJournal)
	}
	j.made = true
	return j, nil
}

// planned returns the instances of the journal's plan, wave by wave.
func (j *Journal) planned() [][]string {
	if j.plan == nil {
		return nil
	}
	return j.plan.Waves
}

// rollout returns the rollout the journal's record describes.
func (r *journalRollout) rollout() (*Rollout, error) {
	bake, err1 := time.ParseDuration(r.Bake)
	every, err2 := time.ParseDuration(r.CheckEvery)
	scope, err3 := parseRollbackScope(r.Rollback)
	wait, err4 := defaultMaxDataDelay, error(nil)
	if r.MaxDataDelay != "" {
		wait, err4 = time.ParseDuration(r.MaxDataDelay)
	}
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		return nil, err
	}
	if bake < 0 || every < 0 || wait < 0 {
		return nil, errors.New("negative bake, check interval or data delay")
	}
	return &Rollout{Bake: bake, CheckEvery: every, MaxDataDelay: wait, TreatNoDataAsZero: r.TreatNoDataAsZero, Rollback: scope}, nil
}

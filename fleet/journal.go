package fleet

import (
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imdsopts/imdsopts"
	"github.com/imdsopts/imdsopts/internal/retry"
)

// The journal of a fleet operation: one JSON object a line, each written
// with one Write, flushed and synced before the operation goes on, so that
// a run that dies leaves a record of every change it may have made, with
// the options each instance had before. ReadJournal reads one back for
// Resume and Undo.

// journalVersion is the version of the record format this package writes
// and reads.
const journalVersion = 1

// The kinds of record ("record").
const (
	recHeader  = "header"  // a run begins: version, run, account, region, set; an apply run's plan: its waves and rollout
	recWave    = "wave"    // a wave of a rollout starts, or passes its bake
	recIntent  = "intent"  // a ModifyInstanceMetadataOptions call is about to be made
	recOutcome = "outcome" // what became of it
	recHalt    = "halt"    // the rollout halted
)

// The runs a header begins ("run"), and the kinds of change an intent
// records ("kind").
const (
	runApply     = "apply"    // Apply; as a kind, a change of the run's Set
	runResume    = "resume"   // Resume
	runUndo      = "undo"     // Undo; as a kind, a restore of the options before
	kindRollback = "rollback" // a rollout's rollback of an instance
)

// The outcomes of a call ("result").
const (
	resultAccepted = "accepted" // EC2 accepted the change
	resultFailed   = "failed"   // EC2 refused it: nothing changed
	resultUnknown  = "unknown"  // sent, but no answer says whether it was made
	resultNotSent  = "not-sent" // the call was never made
)

// The events of a wave record.
const (
	waveStart  = "start"
	wavePassed = "passed"
)

// journalRecord is one line of a journal; which fields it holds depends on
// Record.
type journalRecord struct {
	Record string    `json:"record"`
	Time   time.Time `json:"time"`

	Version int             `json:"version,omitempty"`
	Run     string          `json:"run,omitempty"`
	Account *string         `json:"account,omitempty"`
	Region  string          `json:"region,omitempty"`
	Set     *journalOptions `json:"set,omitempty"`
	Waves   [][]string      `json:"waves,omitempty"`
	Rollout *journalRollout `json:"rollout,omitempty"`

	Wave  int    `json:"wave,omitempty"`
	Event string `json:"event,omitempty"`

	Instance string          `json:"instance,omitempty"`
	Kind     string          `json:"kind,omitempty"`
	Previous *journalOptions `json:"previous,omitempty"`
	Change   *journalOptions `json:"change,omitempty"`

	Result string `json:"result,omitempty"`
	Error  string `json:"error,omitempty"`

	Reason string `json:"reason,omitempty"`
}

// journalOptions are metadata options with EC2's field names: all five of
// an instance's options before a change, or the fields a change sends.
type journalOptions struct {
	HttpTokens              types.HttpTokensState               `json:"HttpTokens,omitempty"`
	HttpPutResponseHopLimit int32                               `json:"HttpPutResponseHopLimit,omitempty"`
	HttpEndpoint            types.InstanceMetadataEndpointState `json:"HttpEndpoint,omitempty"`
	HttpProtocolIpv6        types.InstanceMetadataProtocolState `json:"HttpProtocolIpv6,omitempty"`
	InstanceMetadataTags    types.InstanceMetadataTagsState     `json:"InstanceMetadataTags,omitempty"`
}

// journalRollout is the part of a Rollout a resumed run goes on with.
type journalRollout struct {
	Bake       string `json:"bake"`
	CheckEvery string `json:"check_every"`
	Rollback   string `json:"rollback"`
	// MaxDataDelay is absent from the journals of versions before it;
	// they go on with defaultMaxDataDelay.
	MaxDataDelay      string `json:"max_data_delay,omitempty"`
	TreatNoDataAsZero bool   `json:"no_data_as_zero,omitempty"`
}

// optionsOf returns the five options of o as EC2 reported them; a nil o
// has none.
func optionsOf(o *types.InstanceMetadataOptionsResponse) journalOptions {
	if o == nil {
		return journalOptions{}
	}
	return journalOptions{HttpTokens: o.HttpTokens, HttpPutResponseHopLimit: aws.ToInt32(o.HttpPutResponseHopLimit),
		HttpEndpoint: o.HttpEndpoint, HttpProtocolIpv6: o.HttpProtocolIpv6, InstanceMetadataTags: o.InstanceMetadataTags}
}

// response returns o as EC2 reports options.
func (o journalOptions) response() *types.InstanceMetadataOptionsResponse {
	r := &types.InstanceMetadataOptionsResponse{HttpTokens: o.HttpTokens, HttpEndpoint: o.HttpEndpoint,
		HttpProtocolIpv6: o.HttpProtocolIpv6, InstanceMetadataTags: o.InstanceMetadataTags}
	if o.HttpPutResponseHopLimit != 0 {
		r.HttpPutResponseHopLimit = aws.Int32(o.HttpPutResponseHopLimit)
	}
	return r
}

// setOptions returns the fields s holds.
func setOptions(s imdsopts.Set) journalOptions {
	return journalOptions{HttpTokens: s.HTTPTokens(), HttpPutResponseHopLimit: s.HopLimit(), HttpEndpoint: s.HTTPEndpoint(),
		HttpProtocolIpv6: s.HTTPProtocolIPv6(), InstanceMetadataTags: s.InstanceMetadataTags()}
}

// set returns the fields o holds as a Set: o holds values EC2 reported or
// that were checked when read (see check), so SetOf takes them.
func (o journalOptions) set() imdsopts.Set {
	s, _ := imdsopts.SetOf(o.response())
	return s
}

// with returns o with the fields of c changed to c's values.
func (o journalOptions) with(c imdsopts.Set) journalOptions {
	return setOptions(o.set().With(c))
}

// missing returns EC2's names of the fields o lacks.
func (o journalOptions) missing() []string {
	var m []string
	for _, f := range []struct {
		name string
		set  bool
	}{{"HttpTokens", o.HttpTokens != ""}, {"HttpPutResponseHopLimit", o.HttpPutResponseHopLimit != 0},
		{"HttpEndpoint", o.HttpEndpoint != ""}, {"HttpProtocolIpv6", o.HttpProtocolIpv6 != ""},
		{"InstanceMetadataTags", o.InstanceMetadataTags != ""}} {
		if !f.set {
			m = append(m, f.name)
		}
	}
	return m
}

// check reports a value of o that EC2 does not define. Unlike New, it
// allows HttpProtocolIpv6 "enabled" with HttpEndpoint "disabled": an
// instance may report both.
func (o journalOptions) check() error {
	_, err := imdsopts.SetOf(o.response())
	return err
}

// journalWriter writes the records of one operation to the caller's
// writer, one at a time. After a record fails, it writes nothing more and
// every write returns the first failure: the journal stays a prefix of what
// happened.
type journalWriter struct {
	mu sync.Mutex
	w  io.Writer
	// newline, when set, starts the first record with a line break: the
	// journal appended to ended in the middle of a line.
	newline bool
	err     error
}

// newJournalWriter returns a writer of w's journal; nil when w is nil.
func newJournalWriter(w io.Writer) *journalWriter {
	if w == nil {
		return nil
	}
	return &journalWriter{w: w}
}

// write stamps rec with the time, writes it as one line with one Write,
// then flushes and syncs w when it can. On a nil writer it does nothing.
func (j *journalWriter) write(rec journalRecord) error {
	if j == nil {
		return nil
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.err != nil {
		return j.err
	}
	rec.Time = time.Now().UTC()
	line, err := json.Marshal(rec)
	if err == nil {
		if j.newline {
			line = append([]byte{'\n'}, line...)
		}
		line = append(line, '\n')
		var n int
		n, err = j.w.Write(line)
		if err == nil && n < len(line) {
			err = io.ErrShortWrite
		}
	}
	if f, ok := j.w.(interface{ Flush() error }); ok && err == nil {
		err = f.Flush()
	}
	if f, ok := j.w.(interface{ Sync() error }); ok && err == nil {
		err = f.Sync()
	}
	if err != nil {
		what := rec.Record
		if rec.Instance != "" {
			what += " of " + rec.Instance
		}
		j.err = fmt.Errorf("imdsopts: %w: the %s record: %w", ErrJournalWrite, what, err)
		return j.err
	}
	j.newline = false
	return nil
}

// failed returns the failure that stopped the journal, or nil.
func (j *journalWriter) failed() error {
	if j == nil {
		return nil
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.err
}

// intent records that instance it is about to be sent change, with its
// options before.
func (j *journalWriter) intent(kind string, it *Item) error {
	prev, change := optionsOf(it.Options), setOptions(it.Changes)
	return j.write(journalRecord{Record: recIntent, Instance: it.InstanceID, Kind: kind, Wave: it.Wave, Previous: &prev, Change: &change})
}

// outcome records what became of the call of r.
func (j *journalWriter) outcome(id string, r modResult) error {
	rec := journalRecord{Record: recOutcome, Instance: id}
	switch {
	case r.err == nil:
		rec.Result = resultAccepted
	case !r.sent:
		rec.Result = resultNotSent
	case retry.HTTPStatus(r.err) >= 400 && retry.HTTPStatus(r.err) < 500:
		rec.Result = resultFailed
	default:
		// No answer, or a 5xx: EC2 may have made the change (whether a
		// 5xx ever comes after a change was made is unverified; it is
		// taken as possible).
		rec.Result = resultUnknown
	}
	if r.err != nil {
		rec.Error = r.err.Error()
	}
	return j.write(rec)
}

// recordRollout returns the journal's record of r.
func recordRollout(r *Rollout) *journalRollout {
	return &journalRollout{Bake: r.Bake.String(), CheckEvery: r.CheckEvery.String(), Rollback: r.Rollback.String(),
		MaxDataDelay: r.MaxDataDelay.String(), TreatNoDataAsZero: r.TreatNoDataAsZero}
}

// waveIDs returns the instance IDs of items at each wave's indices.
func waveIDs(items []Item, waves [][]int) [][]string {
	out := make([][]string, len(waves))
	for w, idx := range waves {
		for _, i := range idx {
			out[w] = append(out[w], items[i].InstanceID)
		}
	}
	return out
}

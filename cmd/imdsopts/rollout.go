package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/imdsopts/imdsopts/fleet"
)

// The rollout flags of plan and apply: a canary, then waves that grow up to
// a cap, each baked and watched for the IMDSv1 calls its instances reject
// (see fleet.Rollout).

// Bounds of --bake and --check-every. EC2 publishes MetadataNoTokenRejected
// per minute, so a bake shorter than a minute may end before CloudWatch has
// a datapoint of every instance, which halts the rollout; a day bounds a
// mistyped unit. A reading more often than every 10 s adds GetMetricData
// calls without seeing anything new.
const (
	minBake       = time.Minute
	maxBake       = 24 * time.Hour
	minCheckEvery = 10 * time.Second
)

// rolloutFlags are the rollout options of plan and apply; given lists the
// flags given, so that those that need a canary can say so.
type rolloutFlags struct {
	canary     fleet.WaveSize
	canaryTags map[string]string
	growth     float64
	maxWave    fleet.WaveSize
	bake       time.Duration
	checkEvery time.Duration
	dataDelay  time.Duration
	rollback   fleet.RollbackScope
	given      map[string]bool
}

func newRolloutFlags() *rolloutFlags {
	d := fleet.NewRollout()
	return &rolloutFlags{canaryTags: map[string]string{}, growth: d.Growth, maxWave: d.MaxWave, bake: d.Bake,
		checkEvery: d.CheckEvery, dataDelay: d.MaxDataDelay, rollback: d.Rollback, given: map[string]bool{}}
}

// rolloutFlagNames are the flags that shape a rollout besides its canary.
var rolloutFlagNames = []string{"wave-growth", "max-wave", "bake", "check-every", "max-data-delay", "rollback"}

func (f *rolloutFlags) register(fs *flag.FlagSet) {
	fn := func(name, usage string, parse func(string) error) {
		fs.Func(name, usage, func(s string) error {
			f.given[name] = true
			return parse(s)
		})
	}
	fn("canary", "`N|P%` the first wave: N instances, or P% of those to change (rounded up, at least one). Turns the rollout on", waveSizeValue(&f.canary))
	addCanaryTag := addTag(f.canaryTags)
	fs.Var(listFunc(func(s string) error {
		f.given["canary-tags"] = true
		return addCanaryTag(s)
	}), "canary-tags", "`KEY=VALUE [KEY=VALUE ...]` take the canary among the instances to change that have every tag, "+
		"in the plan's order: with --canary at most that many, without it all of them. Turns the rollout on")
	fn("wave-growth", "`X` each wave after the canary is X times the one before, rounded up (a number, at least 1; default 2)", func(s string) error {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v < 1 {
			return errors.New("must be a number, at least 1 (each wave that many times the one before)")
		}
		f.growth = v
		return nil
	})
	fn("max-wave", "`N|P%` the largest wave after the canary (default 20%; 100%: no cap)", waveSizeValue(&f.maxWave))
	fn("bake", "`DURATION` how long each wave is watched once EC2 reports its changes applied, before the next one starts: "+
		"1m..24h (default 10m)", func(s string) error {
		var d time.Duration
		if err := durationValue(&d)(s); err != nil || d < minBake || d > maxBake {
			return fmt.Errorf(`must be a duration such as "10m", %v..%v: EC2 counts rejected IMDSv1 calls per minute`, minBake, maxBake)
		}
		f.bake = d
		return nil
	})
	fn("check-every", "`DURATION` how often CloudWatch is read during a bake: at least 10s, or 0 (only when the bake ends; "+
		"it is always read then) (default 1m)", func(s string) error {
		if d, err := time.ParseDuration(s); s == "0" || err == nil && d == 0 {
			f.checkEvery = 0
			return nil
		}
		var d time.Duration
		if err := durationValue(&d)(s); err != nil || d < minCheckEvery {
			return fmt.Errorf(`must be a duration such as "1m", at least %v, or 0 (read only when each bake ends)`, minCheckEvery)
		}
		f.checkEvery = d
		return nil
	})
	fn("max-data-delay", "`DURATION` how long after a bake ends CloudWatch may take to publish the data of its end, "+
		"read every --check-every (at least every minute) until it does (default 15m)", func(s string) error {
		var d time.Duration
		if err := durationValue(&d)(s); err != nil || d > maxBake {
			return fmt.Errorf(`must be a duration such as "15m", 0..%v`, maxBake)
		}
		f.dataDelay = d
		return nil
	})
	fn("rollback", "`failed|wave|none` what a failed wave restores: the instances that rejected IMDSv1 calls (failed, the default), "+
		"those and the whole wave (wave), or nothing (none: those instances are left to a person)", func(s string) error {
		for _, sc := range []fleet.RollbackScope{fleet.RollbackFailed, fleet.RollbackWave, fleet.RollbackNone} {
			if s == sc.String() {
				f.rollback = sc
				return nil
			}
		}
		return errors.New(`must be one of "failed", "wave", "none"`)
	})
}

// waveSizeValue parses a number of instances ("5") or a percentage ("1%",
// "0.5%") into dst.
func waveSizeValue(dst *fleet.WaveSize) func(string) error {
	return func(s string) error {
		if p, ok := strings.CutSuffix(s, "%"); ok {
			v, err := strconv.ParseFloat(p, 64)
			if err != nil || math.IsNaN(v) || !(v > 0 && v <= 100) {
				return errors.New("must be a percentage above 0% and at most 100%, such as 1%, or a number of instances")
			}
			*dst = fleet.WaveSize{Percent: v}
			return nil
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return errors.New("must be a whole number of instances, at least 1, or a percentage such as 1%")
		}
		*dst = fleet.WaveSize{Count: n}
		return nil
	}
}

// on reports whether a rollout was asked for: a canary, by size or tags.
func (f *rolloutFlags) on() bool {
	return f.given["canary"] || f.given["canary-tags"]
}

// check reports the rollout flags given without a canary.
func (f *rolloutFlags) check() error {
	if f.on() {
		return nil
	}
	for _, name := range rolloutFlagNames {
		if f.given[name] {
			return usageErrorf("--%s: only with a rollout: give --canary or --canary-tags too", name)
		}
	}
	return nil
}

// rollout returns the Rollout of the flags, nil when none was asked for.
// With --canary-tags and no --canary, the canary is every instance to
// change that has the tags.
func (f *rolloutFlags) rollout(onWave func(fleet.WaveReport)) *fleet.Rollout {
	if !f.on() {
		return nil
	}
	return fleet.NewRollout(func(r *fleet.Rollout) {
		r.Canary = f.canary
		if !f.given["canary"] {
			r.Canary = fleet.WaveSize{}
		}
		if len(f.canaryTags) > 0 {
			r.CanaryTags = f.canaryTags
		}
		r.Growth, r.MaxWave, r.Bake, r.CheckEvery, r.Rollback = f.growth, f.maxWave, f.bake, f.checkEvery, f.rollback
		r.MaxDataDelay = f.dataDelay
		r.OnWave = onWave
	})
}

// wavesDoc is the Waves of the output: each wave of an apply as its bake
// ended, or of a plan, its size.
func wavesDoc(waves []fleet.WaveReport) []any {
	list := make([]any, 0, len(waves))
	for _, w := range waves {
		doc := map[string]any{
			"Wave":      float64(w.Wave),
			"Instances": float64(w.Instances),
			"Started":   timeText(w.Started),
			"Ended":     timeText(w.Ended),
			"Watched":   float64(w.Watched),
			"Rejected":  float64(w.Rejected),
			"Result":    waveResult(w),
		}
		if w.Err != nil {
			doc["Error"] = trim(w.Err)
		}
		list = append(list, doc)
	}
	return list
}

// planWavesDoc is the Waves of a plan: how many instances each wave
// changes.
func planWavesDoc(items []fleet.Item) []any {
	sizes := waveSizes(items)
	list := make([]any, 0, len(sizes))
	for w, n := range sizes {
		list = append(list, map[string]any{"Wave": float64(w + 1), "Instances": float64(n)})
	}
	return list
}

// waveResult says how a wave ended: "passed", "failed" (it halted the
// rollout) or "interrupted" (its bake was cut short).
func waveResult(w fleet.WaveReport) string {
	switch {
	case w.Err == nil:
		return "passed"
	case errors.Is(w.Err, fleet.ErrRolloutHalted):
		return "failed"
	}
	return "interrupted"
}

// timeText is t in UTC, RFC 3339 to the second; "" for the zero time.
func timeText(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Truncate(time.Second).Format(time.RFC3339)
}

// rejectedText is an instance's rejected IMDSv1 calls as the text table
// shows them: "-" when the rollout did not measure them, a whole number as
// EC2 counts calls, else to two decimals (an emulator may count part of a
// minute).
func rejectedText(v *float64) string {
	switch {
	case v == nil:
		return "-"
	case *v == math.Trunc(*v):
		return strconv.FormatFloat(*v, 'f', 0, 64)
	}
	return strconv.FormatFloat(*v, 'f', 2, 64)
}

// writeRolloutTable writes a rollout's items as the library's table does,
// with each instance's wave and rejected IMDSv1 calls, then its waves.
func writeRolloutTable(w io.Writer, items []fleet.Item, waves []fleet.WaveReport) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "INSTANCE\tSTATE\tWAVE\tSTATUS\tREJECTED\tCHANGES\tNOTE")
	for _, it := range items {
		note := ""
		if it.Err != nil {
			note = strings.ReplaceAll(strings.TrimPrefix(it.Err.Error(), "imdsopts: "+it.InstanceID+": "), ": imdsopts: ", ": ")
		}
		changes, wave := "", "-"
		if !it.Changes.IsZero() {
			changes = it.Changes.String()
		}
		if it.Wave > 0 {
			wave = strconv.Itoa(it.Wave)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", it.InstanceID, it.InstanceState, wave, it.Status, rejectedText(it.RejectedCalls), changes, note)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if _, err := io.WriteString(w, ownersText(items)); err != nil {
		return err
	}
	if len(waves) == 0 {
		return nil
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "WAVE\tINSTANCES\tSTARTED\tENDED\tWATCHED\tREJECTED\tRESULT")
	for _, wr := range waves {
		result := waveResult(wr)
		if wr.Err != nil {
			result += ": " + trim(wr.Err)
		}
		fmt.Fprintf(tw, "%d\t%d\t%s\t%s\t%d\t%d\t%s\n", wr.Wave, wr.Instances, timeText(wr.Started), timeText(wr.Ended), wr.Watched, wr.Rejected, result)
	}
	return tw.Flush()
}

// rolledOut reports whether any item was planned in a wave: the output
// then has the rollout's columns.
func rolledOut(items []fleet.Item) bool {
	for _, it := range items {
		if it.Wave > 0 {
			return true
		}
	}
	return false
}

// rolloutStatus is what the progress line tells of a rollout: the wave
// under way and its size, the time left of its bake, and the instances
// found rejecting IMDSv1 calls so far. The library tells of each instance's
// outcome (OnProgress) and of each wave when its bake ends (OnWave); a
// wave's bake begins once every instance of it has its outcome.
type rolloutStatus struct {
	// sizes are the instances each wave changes; nil when not known (a
	// resumed run changes what its journal has left), and then no time
	// left is told.
	sizes []int
	bake  time.Duration
	// wave is the wave under way, 1 for the canary, 0 before it; done
	// counts the outcomes heard of each wave; bakeStart is when the bake
	// of the wave under way began (zero before).
	wave      int
	done      map[int]int
	bakeStart time.Time
	// last is the report of the last wave whose bake ended; rejected
	// counts the instances that rejected IMDSv1 calls and were heard of
	// again (rolled back or left to a person), calls their calls.
	last     *fleet.WaveReport
	rejected int
	calls    float64
}

// rollout tells the line that a rollout of waves of the given sizes (nil:
// not known) and bake is under way.
func (p *progress) rollout(sizes []int, bake time.Duration) {
	p.update(func(s *status) { s.rollout = &rolloutStatus{sizes: sizes, bake: bake, done: map[int]int{}} })
}

// wave tells the line of a wave's end, for Rollout.OnWave.
func (p *progress) wave(wr fleet.WaveReport) {
	p.update(func(s *status) {
		if r := s.rollout; r != nil {
			r.last, r.bakeStart = &wr, time.Time{}
		}
	})
}

// item takes the outcome of one instance, heard at now; again is true when
// it was heard of before.
func (r *rolloutStatus) item(it fleet.Item, again bool, now time.Time) {
	if again {
		if it.RejectedCalls != nil && *it.RejectedCalls > 0 {
			r.rejected++
			r.calls += *it.RejectedCalls
		}
		return
	}
	if it.Wave == 0 {
		return
	}
	if it.Wave > r.wave {
		r.wave, r.bakeStart = it.Wave, time.Time{}
	}
	r.done[it.Wave]++
	if it.Wave <= len(r.sizes) && r.done[it.Wave] == r.sizes[it.Wave-1] && it.Wave == r.wave {
		r.bakeStart = now
	}
}

// text is the rollout's part of the line at now, e.g. "wave 2 of 5 (4
// instances): baking, 8m12s left; no rejected IMDSv1 calls so far".
func (r *rolloutStatus) text(now time.Time) string {
	var b strings.Builder
	of := ""
	if len(r.sizes) > 0 {
		of = fmt.Sprintf(" of %d", len(r.sizes))
	}
	switch {
	case r.last != nil && r.last.Err != nil:
		fmt.Fprintf(&b, "rollout halted at wave %d%s: rolling back", r.last.Wave, of)
	case r.wave == 0:
		b.WriteString("rollout: starting")
	default:
		fmt.Fprintf(&b, "wave %d%s", r.wave, of)
		if r.wave <= len(r.sizes) {
			fmt.Fprintf(&b, " (%d instances)", r.sizes[r.wave-1])
		}
		switch {
		case r.last != nil && r.last.Wave == r.wave:
			b.WriteString(": passed")
		case !r.bakeStart.IsZero():
			left := max(r.bake-now.Sub(r.bakeStart), 0).Round(time.Second)
			fmt.Fprintf(&b, ": baking, %v left", left)
		case r.wave > len(r.sizes):
			// A resumed run: how many of the wave's instances are left
			// to change is not known, so neither is when its bake began.
			fmt.Fprintf(&b, ": %d changed, each wave baked %v", r.done[r.wave], r.bake)
		default:
			fmt.Fprintf(&b, ": changing, %d done", r.done[r.wave])
		}
	}
	switch n := r.rejected; {
	case n > 0:
		fmt.Fprintf(&b, "; %d instance(s) rejected %v IMDSv1 calls", n, r.calls)
	case r.last != nil && r.last.Rejected > 0:
		fmt.Fprintf(&b, "; %d instance(s) rejected IMDSv1 calls", r.last.Rejected)
	default:
		b.WriteString("; no rejected IMDSv1 calls so far")
	}
	return b.String()
}

// waveSizes returns how many instances each wave of a plan changes.
func waveSizes(items []fleet.Item) []int {
	var sizes []int
	for _, it := range items {
		if it.Wave > 0 {
			for len(sizes) < it.Wave {
				sizes = append(sizes, 0)
			}
			sizes[it.Wave-1]++
		}
	}
	return sizes
}

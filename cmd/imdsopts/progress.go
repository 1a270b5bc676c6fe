package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/imdsopts/imdsopts"
	"github.com/imdsopts/imdsopts/fleet"
	"github.com/imdsopts/imdsopts/internal/awscli"
	"github.com/imdsopts/imdsopts/org"
)

// progress is the status line of a run, kept up to date in place on a
// terminal's stderr while the run waits: redrawn as calls and attempts
// happen (at most every progressEvery) and every progressTick while nothing
// does. It is first drawn once the run has lasted progressDelay, so quick
// commands show nothing. finish ends it. The line shows, of what its status
// holds, the most specific: one instance's wait (attempt), a fleet's
// instances, or the API calls made so far.
//
// Where stderr is not a terminal (a CI log, a pipe to tee), a plain
// progress (newPlainProgress) writes the same status as a line of its own
// every plainEvery instead, from plainEvery on, and the last state at the
// end when it wrote any: a long bake or apply is not silent there.
//
// A nil *progress does nothing: commands call it whether or not stderr is a
// terminal. Its methods are safe for concurrent use.
type progress struct {
	w     io.Writer
	plain bool // lines of their own, every plainEvery
	lines int  // plain lines written
	start time.Time
	stop  chan struct{} // closed by finish
	done  chan struct{} // closed when the ticker has stopped

	mu       sync.Mutex
	st       status
	shown    int       // width of the line on the terminal; 0: none
	drawn    time.Time // when it was last drawn
	finished bool
}

// status is what a progress line tells.
type status struct {
	// calls counts the API calls answered, by operation; inFlight those
	// under way; failed the answers that were errors.
	calls, inFlight map[string]int
	failed          int
	// total, done and counts are a fleet's instances: all, those with a
	// final status, and how many have each; seen is the last status of
	// each instance heard of (a rollout may roll one back after it was
	// applied).
	total, done int
	counts      map[fleet.Status]int
	seen        map[string]fleet.Status
	// rollout is the state of a rollout's waves; nil without one.
	rollout *rolloutStatus
	// targets, targetsDone and targetsFailed count the targets of an
	// operation across them: all, finished, failed.
	targets, targetsDone, targetsFailed int
	// attempt is the last attempt of one instance's Apply and Wait, made at
	// attemptAt.
	attempt   *imdsopts.Attempt
	attemptAt time.Time
}

const (
	plainEvery    = 10 * time.Second
	progressDelay = 2 * time.Second
	progressEvery = 100 * time.Millisecond
	progressTick  = time.Second
)

// newProgress starts a progress line on w.
func newProgress(w io.Writer) *progress {
	p := &progress{w: w, start: time.Now(), stop: make(chan struct{}), done: make(chan struct{}),
		st: status{calls: map[string]int{}, inFlight: map[string]int{}, counts: map[fleet.Status]int{}, seen: map[string]fleet.Status{}}}
	go p.tick()
	return p
}

// newPlainProgress starts a plain progress on w, for a stderr that is not
// a terminal.
func newPlainProgress(w io.Writer) *progress {
	p := newProgress(w)
	p.mu.Lock()
	p.plain = true
	p.mu.Unlock()
	return p
}

func (p *progress) tick() {
	defer close(p.done)
	t := time.NewTicker(progressTick)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
			p.update(nil)
		}
	}
}

// update changes the status with fn (when not nil) and redraws the line
// when it is due.
func (p *progress) update(fn func(*status)) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.finished {
		return
	}
	if fn != nil {
		fn(&p.st)
	}
	now := time.Now()
	switch {
	case p.plain:
		if now.Sub(p.start) >= plainEvery && now.Sub(p.drawn) >= plainEvery && !p.st.idle() {
			p.draw(now)
		}
	case now.Sub(p.start) >= progressDelay && now.Sub(p.drawn) >= progressEvery:
		p.draw(now)
	}
}

// draw writes the line over the one shown; p.mu is held.
func (p *progress) draw(now time.Time) {
	// The states come from the service: escaped, on one line.
	text := "  " + strings.ReplaceAll(awscli.Sanitize(p.st.text(now, now.Sub(p.start))), "\n", `\n`)
	if p.plain {
		io.WriteString(p.w, "imdsopts: progress: "+strings.TrimLeft(text, " ")+"\n")
		p.lines, p.drawn = p.lines+1, now
		return
	}
	width := utf8.RuneCountInString(text)
	io.WriteString(p.w, "\r"+text+strings.Repeat(" ", max(p.shown-width, 0)))
	p.shown, p.drawn = width, now
}

// finish stops the line. With keep, its last state stays on the terminal,
// on a line of its own; else the line is cleared, so that what the command
// prints next starts on a clean line. Calls after the first do nothing.
func (p *progress) finish(keep bool) {
	if p == nil {
		return
	}
	p.mu.Lock()
	already := p.finished
	p.finished = true
	p.mu.Unlock()
	if already {
		return
	}
	close(p.stop)
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.plain:
		if keep && p.lines > 0 {
			p.draw(time.Now())
		}
	case keep:
		p.draw(time.Now())
		io.WriteString(p.w, "\n")
	case p.shown > 0:
		io.WriteString(p.w, "\r"+strings.Repeat(" ", p.shown)+"\r")
	}
}

// call tells the line that an API call of operation op starts; the function
// it returns tells that it ended, with err.
func (p *progress) call(op string) func(err error) {
	if p == nil {
		return func(error) {}
	}
	p.update(func(s *status) { s.inFlight[op]++ })
	return func(err error) {
		p.update(func(s *status) {
			s.inFlight[op]--
			s.calls[op]++
			if err != nil {
				s.failed++
			}
		})
	}
}

// attempt tells the line of an attempt of imdsopts.Apply or Waiter.Wait,
// for WaiterOptions.OnAttempt.
func (p *progress) attempt(a imdsopts.Attempt) {
	p.update(func(s *status) { s.attempt, s.attemptAt = &a, time.Now() })
}

// fleet tells the line that a fleet of total instances is being applied.
func (p *progress) fleet(total int) {
	p.update(func(s *status) { s.total = total })
}

// item tells the line of one instance's final outcome, for
// fleet.Options.OnProgress. An instance heard of again (rolled back after
// it was applied) counts with its new status.
func (p *progress) item(it fleet.Item) {
	p.update(func(s *status) {
		prev, again := s.seen[it.InstanceID]
		if again {
			s.counts[prev]--
		} else {
			s.done++
		}
		s.seen[it.InstanceID] = it.Status
		s.counts[it.Status]++
		if s.rollout != nil {
			s.rollout.item(it, again, time.Now())
		}
	})
}

// across tells the line how far an operation across targets has gone, for
// TargetsOptions.OnProgress.
func (p *progress) across(tp org.Progress) {
	p.update(func(s *status) {
		s.targets, s.targetsDone, s.targetsFailed = tp.Targets, tp.TargetsDone, tp.TargetsFailed
		s.total, s.done = tp.Instances, tp.InstancesDone
		if it := tp.Item; it != nil {
			// Instance IDs are unique within a target only; one heard of
			// again (rolled back after it was applied) counts with its
			// new status.
			key := tp.Target.String() + "/" + it.InstanceID
			if prev, again := s.seen[key]; again {
				s.counts[prev]--
			}
			s.seen[key] = it.Status
			s.counts[it.Status]++
		}
	})
}

// answered tells the line of an API call answered, for
// fleet.Options.OnAttempt.
func (p *progress) answered(a imdsopts.Attempt) {
	p.update(func(s *status) {
		s.calls[a.Operation]++
		if a.Err != nil {
			s.failed++
		}
	})
}

// text is the line for the status at now, elapsed after the start.
func (s *status) text(now time.Time, elapsed time.Duration) string {
	if s.targets > 0 {
		line := fmt.Sprintf("targets %d/%d", s.targetsDone, s.targets)
		if s.targetsFailed > 0 {
			line += fmt.Sprintf(" (%d failed)", s.targetsFailed)
		}
		return line + ", instances " + s.instancesText(now, elapsed)
	}
	return s.instancesText(now, elapsed)
}

// instancesText is the line for one account and Region.
func (s *status) instancesText(now time.Time, elapsed time.Duration) string {
	waited := elapsed.Truncate(time.Second)
	switch a := s.attempt; {
	case a != nil:
		state := "state unknown"
		if a.Options != nil {
			state = "options " + string(a.Options.State)
		}
		if a.InstanceState != "" {
			state += ", instance " + string(a.InstanceState)
		}
		if a.Err != nil {
			state = "last call failed, retrying"
		}
		line := fmt.Sprintf("%s: %s; attempt %d, %v waited", a.InstanceID, state, a.Number, waited)
		if next := a.NextDelay - now.Sub(s.attemptAt); a.NextDelay > 0 {
			line += fmt.Sprintf(", next poll in %v", max(next, 0).Round(time.Second))
		}
		return line
	case s.total > 0 || s.targets > 0:
		var b strings.Builder
		if s.rollout != nil {
			b.WriteString(s.rollout.text(now) + "; ")
		}
		width := len(fmt.Sprint(s.total))
		fmt.Fprintf(&b, "%*d/%d", width, s.done, s.total)
		for _, st := range fleet.Statuses() {
			if n := s.counts[st]; n > 0 {
				fmt.Fprintf(&b, " %s %d", st, n)
			}
		}
		fmt.Fprintf(&b, ", %s, %v", s.callsText(), waited)
		return b.String()
	default:
		return fmt.Sprintf("%s, %v", s.callsText(), waited)
	}
}

// idle reports whether the status holds nothing yet: no call, attempt,
// fleet or target heard of. A plain progress writes no line of it.
func (s *status) idle() bool {
	return len(s.calls) == 0 && len(s.inFlight) == 0 && s.attempt == nil && s.total == 0 && s.targets == 0
}

// callsText counts the calls: "5 calls (DescribeInstances 4, GetMetricData
// 1 + 1 under way), 1 failed".
func (s *status) callsText() string {
	total := 0
	ops := map[string]bool{}
	for op, n := range s.calls {
		total += n
		ops[op] = true
	}
	for op, n := range s.inFlight {
		if n > 0 {
			ops[op] = true
		}
	}
	var parts []string
	for _, op := range slices.Sorted(maps.Keys(ops)) {
		part := fmt.Sprintf("%s %d", op, s.calls[op])
		if n := s.inFlight[op]; n > 0 {
			part += fmt.Sprintf(" + %d under way", n)
		}
		parts = append(parts, part)
	}
	text := fmt.Sprintf("%d calls", total)
	if total == 1 {
		text = "1 call"
	}
	if len(parts) > 0 {
		text += " (" + strings.Join(parts, ", ") + ")"
	}
	if s.failed > 0 {
		text += fmt.Sprintf(", %d failed", s.failed)
	}
	return text
}

// observe makes one API call of operation op through call, and tells the
// run and its progress line of it.
func observe[T any](a *app, op string, call func() (T, error)) (T, error) {
	a.called.Store(true)
	end := a.prog.call(op)
	out, err := call()
	end(err)
	return out, err
}

// observedAPI is the API of a run: every call it passes on is told to the
// run (app.called) and its progress line.
type observedAPI struct {
	API
	a *app
}

func (o observedAPI) ModifyInstanceMetadataOptions(ctx context.Context, in *ec2.ModifyInstanceMetadataOptionsInput, optFns ...func(*ec2.Options)) (*ec2.ModifyInstanceMetadataOptionsOutput, error) {
	return observe(o.a, "ModifyInstanceMetadataOptions", func() (*ec2.ModifyInstanceMetadataOptionsOutput, error) {
		return o.API.ModifyInstanceMetadataOptions(ctx, in, optFns...)
	})
}

func (o observedAPI) DescribeInstances(ctx context.Context, in *ec2.DescribeInstancesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error) {
	return observe(o.a, "DescribeInstances", func() (*ec2.DescribeInstancesOutput, error) {
		return o.API.DescribeInstances(ctx, in, optFns...)
	})
}

func (o observedAPI) GetInstanceMetadataDefaults(ctx context.Context, in *ec2.GetInstanceMetadataDefaultsInput, optFns ...func(*ec2.Options)) (*ec2.GetInstanceMetadataDefaultsOutput, error) {
	return observe(o.a, "GetInstanceMetadataDefaults", func() (*ec2.GetInstanceMetadataDefaultsOutput, error) {
		return o.API.GetInstanceMetadataDefaults(ctx, in, optFns...)
	})
}

func (o observedAPI) DescribeImages(ctx context.Context, in *ec2.DescribeImagesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeImagesOutput, error) {
	return observe(o.a, "DescribeImages", func() (*ec2.DescribeImagesOutput, error) {
		return o.API.DescribeImages(ctx, in, optFns...)
	})
}

func (o observedAPI) DescribeLaunchTemplateVersions(ctx context.Context, in *ec2.DescribeLaunchTemplateVersionsInput, optFns ...func(*ec2.Options)) (*ec2.DescribeLaunchTemplateVersionsOutput, error) {
	return observe(o.a, "DescribeLaunchTemplateVersions", func() (*ec2.DescribeLaunchTemplateVersionsOutput, error) {
		return o.API.DescribeLaunchTemplateVersions(ctx, in, optFns...)
	})
}

// observedMetrics is the CloudWatch client of the IMDSv1 gate, observed as
// observedAPI is.
type observedMetrics struct {
	fleet.MetricsAPI
	a *app
}

func (o observedMetrics) GetMetricData(ctx context.Context, in *cloudwatch.GetMetricDataInput, optFns ...func(*cloudwatch.Options)) (*cloudwatch.GetMetricDataOutput, error) {
	return observe(o.a, "GetMetricData", func() (*cloudwatch.GetMetricDataOutput, error) {
		return o.MetricsAPI.GetMetricData(ctx, in, optFns...)
	})
}

package fleet

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imdsopts/imdsopts"
	"github.com/imdsopts/imdsopts/internal/check"
)

// Rollouts: the shape of a change made in waves. A canary goes first, then
// waves that grow; after each, a bake time in which the instances changed so
// far are watched for IMDSv1 calls they now reject. The run itself is in
// run.go, the watch in watch.go.

// WaveSize is a number of instances of a rollout: Count of them, or Percent
// of the instances the rollout changes (rounded up, at least one). Set one
// of the two.
type WaveSize struct {
	Count   int
	Percent float64
}

// IsZero reports whether the size sets neither field.
func (s WaveSize) IsZero() bool { return s == WaveSize{} }

// String formats the size, e.g. "100 instances" or "1%".
func (s WaveSize) String() string {
	if s.Count != 0 {
		return strconv.Itoa(s.Count) + " instances"
	}
	return strconv.FormatFloat(s.Percent, 'g', -1, 64) + "%"
}

// of returns the size in a rollout of n instances.
func (s WaveSize) of(n int) int {
	if s.Count > 0 {
		return s.Count
	}
	// The tolerance keeps 7% of 100 at 7 despite binary fractions.
	return max(1, int(math.Ceil(float64(n)*s.Percent/100-1e-9)))
}

func (s WaveSize) validate(field string, zeroOK bool) error {
	bad := func(v any, rule string) error {
		return &imdsopts.ValidationError{Field: "Rollout." + field, Value: fmt.Sprint(v), Rule: rule}
	}
	switch {
	case s.IsZero() && zeroOK:
		return nil
	case s.Count != 0 && s.Percent != 0:
		return bad(s, "must set Count or Percent, not both")
	case s.Count < 0:
		return bad(s.Count, "Count must be at least 1")
	case s.Count == 0 && !(s.Percent > 0 && s.Percent <= 100):
		return bad(s.Percent, "Percent must be above 0 and at most 100")
	}
	return nil
}

// RollbackScope says what a rollout rolls back when a wave fails.
type RollbackScope int

// The scopes of a rollback. The zero RollbackScope is not one of them.
const (
	RollbackNone   RollbackScope = iota + 1 // nothing: instances that rejected IMDSv1 calls are StatusNeedsPerson
	RollbackFailed                          // the instances that rejected IMDSv1 calls
	RollbackWave                            // those, and every instance the failed wave changed
)

var rollbackNames = [...]string{"", "none", "failed", "wave"}

// String returns "none", "failed" or "wave".
func (s RollbackScope) String() string {
	if s > 0 && int(s) < len(rollbackNames) {
		return rollbackNames[s]
	}
	return "RollbackScope(" + strconv.Itoa(int(s)) + ")"
}

// MarshalText encodes the scope as its String, for JSON output.
func (s RollbackScope) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

func parseRollbackScope(name string) (RollbackScope, error) {
	if i := slices.Index(rollbackNames[:], name); i > 0 {
		return RollbackScope(i), nil
	}
	return 0, fmt.Errorf("unknown rollback %s", check.Quote(name))
}

// Defaults of a [Rollout] made by [NewRollout].
const (
	defaultGrowth       = 2
	defaultBake         = 10 * time.Minute
	defaultCheckEvery   = time.Minute
	defaultMaxDataDelay = 15 * time.Minute
)

// Rollout makes [Apply] change a fleet in waves instead of all at
// once: a canary first, then waves that grow, each followed by a bake time
// in which the rollout watches for software that the change broke. A wave
// fails when an instance changed so far rejects IMDSv1 calls, or when that
// cannot be measured; the rollout then halts (no new wave starts, the
// instances not reached are StatusNotAttempted, matching ErrRolloutHalted)
// and rolls back as Rollback says, restoring each instance to exactly the
// five options it had at plan time. A rollback is a downgrade by definition
// (see [imdsopts.Set.Downgrade]) and is made without Options.AllowDowngrade;
// it is journaled, paced and waited for like any change.
//
// What is watched: CloudWatch's MetadataNoTokenRejected, the IMDSv1 calls
// an instance refused because it requires tokens, summed since its wave
// began, for every instance whose change makes HttpTokens "required" (and
// that EC2 reports applied). That is the only breaking change EC2 counts.
// Turning the endpoint off or lowering the hop limit can break software too,
// but no metric tells: such changes still go in waves with their bake
// times, and nothing fails a wave for them. As for the IMDSv1 gate, only a
// complete, finite sum is a measurement: a reading that fails, is
// incomplete, or has no datapoint (unless Options.TreatNoDataAsZero)
// halts the rollout with the reason ([ErrIMDSv1Unknown]). Options.Metrics
// is required. EC2 publishes the metric per minute, and CloudWatch may
// show it minutes late (how late is not documented, and not verified
// here): bake for longer than that, or the last minutes of a wave are only
// seen in the next one's bake, which reads every wave before it again.
//
// Make one with [NewRollout], which fills in the defaults; a Rollout made
// otherwise must set every field it needs.
type Rollout struct {
	// Canary is the size of the first wave. With CanaryTags it may be
	// zero: the canary is then every instance that has the tags.
	Canary WaveSize
	// CanaryTags, when set, pick the canary among the instances that have
	// every tag KEY=VALUE, in the plan's order, at most Canary of them.
	// NewPlan matches them as it lists the instances, so Apply takes
	// them from the plan's options: changing them there is an error, and
	// so is a canary no instance to change has tags for.
	CanaryTags map[string]string
	// Growth makes each wave after the canary Growth times the size of the
	// one before, rounded up (default 2); at least 1.
	Growth float64
	// MaxWave caps the size of a wave; zero leaves it uncapped.
	MaxWave WaveSize
	// Bake is how long each wave is watched once EC2 reports every change
	// of it applied, before the next wave starts (default 10 minutes).
	Bake time.Duration
	// CheckEvery is how often the metric is read during a bake (default
	// every minute); it is always read when the bake ends. 0 reads it only
	// then. A reading during the bake fails the wave on rejected calls or
	// a failed reading; only the one at its end also needs a datapoint of
	// every instance, as CloudWatch may have none yet early in the bake.
	CheckEvery time.Duration
	// MaxDataDelay is how long, once a bake ends, the watch waits for
	// CloudWatch to publish every watched instance's data through the end
	// of the bake (default 15 minutes). EC2 does not document how
	// late CloudWatch has an instance's datapoints; a minute or two is
	// usual, up to about 10 minutes under basic monitoring has been
	// reported. An instance whose data still falls short then is unknown,
	// and fails the wave.
	MaxDataDelay time.Duration
	// TreatNoDataAsZero takes a watched instance whose data CloudWatch has
	// not published through the end of the bake once MaxDataDelay has
	// passed as having rejected nothing, instead of failing the wave. It
	// is for accounts that know CloudWatch does not receive some
	// instances' data; it lets a change pass that nothing measured. Rejected
	// calls that are published, and readings that fail, still fail the
	// wave. (The IMDSv1 gate's choice is Options.TreatNoDataAsZero.)
	TreatNoDataAsZero bool
	// Rollback says what is rolled back when a wave fails (default
	// RollbackFailed).
	Rollback RollbackScope
	// OnWave, when set, hears of each wave when its bake ends, whether it
	// passed or failed, from the goroutine that called Apply.
	OnWave func(WaveReport)
}

// NewRollout returns a Rollout holding the defaults (a canary of 1%, waves
// doubling up to 20% of the fleet, a bake of 10 minutes read every
// minute, a MaxDataDelay of 15 minutes, RollbackFailed), then runs optFns on it, so a function
// may set any field, to zero too.
func NewRollout(optFns ...func(*Rollout)) *Rollout {
	r := &Rollout{Canary: WaveSize{Percent: 1}, Growth: defaultGrowth, MaxWave: WaveSize{Percent: 20},
		Bake: defaultBake, CheckEvery: defaultCheckEvery, MaxDataDelay: defaultMaxDataDelay, Rollback: RollbackFailed}
	for _, fn := range optFns {
		if fn != nil {
			fn(r)
		}
	}
	return r
}

// WaveReport is what one wave of a rollout did, as its bake ended.
type WaveReport struct {
	// Wave is the wave's number, 1 for the canary.
	Wave int
	// Instances counts the instances the wave changed.
	Instances int
	// Started is when the wave's first call was made; Ended when its bake
	// ended.
	Started, Ended time.Time
	// Watched counts the instances, of this wave and the earlier ones,
	// whose rejected IMDSv1 calls the last reading measured; Rejected those
	// that had rejected some.
	Watched, Rejected int
	// Err is why the wave failed, matching ErrRolloutHalted, or the
	// context's error when the bake was cut short; nil when it passed.
	Err error
}

// clone returns a copy of r; nil for nil.
func (r *Rollout) clone() *Rollout {
	if r == nil {
		return nil
	}
	c := *r
	c.CanaryTags = maps.Clone(r.CanaryTags)
	return &c
}

// canaryTagsOfPlan reports a Rollout given to Apply whose canary tags
// are not those the plan was listed with: NewPlan matched those.
func canaryTagsOfPlan(o *Options, plan *Plan) error {
	if o.Rollout == nil || len(o.Rollout.CanaryTags) == 0 {
		return nil
	}
	var listed map[string]string
	if plan.opts.Rollout != nil {
		listed = plan.opts.Rollout.CanaryTags
	}
	if maps.Equal(listed, o.Rollout.CanaryTags) {
		return nil
	}
	return &imdsopts.ValidationError{Field: "Rollout.CanaryTags", Value: fmt.Sprint(o.Rollout.CanaryTags),
		Rule: "must be those the plan was made with (NewPlan matches them as it lists the instances): make a new plan"}
}

func (r *Rollout) validate() error {
	bad := func(field string, v any, rule string) error {
		return &imdsopts.ValidationError{Field: "Rollout." + field, Value: fmt.Sprint(v), Rule: rule}
	}
	errs := []error{r.Canary.validate("Canary", len(r.CanaryTags) > 0), r.MaxWave.validate("MaxWave", true)}
	if !(r.Growth >= 1) || math.IsInf(r.Growth, 0) {
		errs = append(errs, bad("Growth", r.Growth, "must be a finite number, at least 1"))
	}
	if r.Bake < 0 {
		errs = append(errs, bad("Bake", r.Bake, "must not be negative"))
	}
	if r.CheckEvery < 0 {
		errs = append(errs, bad("CheckEvery", r.CheckEvery, "must not be negative"))
	}
	if r.MaxDataDelay < 0 {
		errs = append(errs, bad("MaxDataDelay", r.MaxDataDelay, "must not be negative"))
	}
	if r.Rollback < RollbackNone || r.Rollback > RollbackWave {
		errs = append(errs, bad("Rollback", int(r.Rollback), "must be RollbackNone, RollbackFailed or RollbackWave"))
	}
	if _, ok := r.CanaryTags[""]; ok {
		errs = append(errs, bad("CanaryTags", `""`, "a tag key must not be empty"))
	}
	return errors.Join(errs...)
}

// waves returns the indices of the items to change (StatusChange or
// StatusPendingStart), wave by wave.
func (r *Rollout) waves(items []Item) ([][]int, error) {
	var todo []int
	for i, it := range items {
		if it.Status == StatusChange || it.Status == StatusPendingStart {
			todo = append(todo, i)
		}
	}
	n := len(todo)
	if n == 0 {
		return nil, nil
	}
	var canary []int
	if len(r.CanaryTags) > 0 {
		for _, i := range todo {
			if items[i].canary {
				canary = append(canary, i)
			}
		}
		if len(canary) == 0 {
			return nil, &imdsopts.ValidationError{Field: "Rollout.CanaryTags", Value: fmt.Sprint(r.CanaryTags),
				Rule: fmt.Sprintf("must be the tags of at least one instance to change; none of the %d has them", n)}
		}
		if !r.Canary.IsZero() {
			canary = canary[:min(len(canary), r.Canary.of(n))]
		}
	} else {
		canary = todo[:min(n, r.Canary.of(n))]
	}
	in := map[int]bool{}
	for _, i := range canary {
		in[i] = true
	}
	rest := slices.DeleteFunc(slices.Clone(todo), func(i int) bool { return in[i] })
	waves := [][]int{canary}
	size := len(canary)
	for len(rest) > 0 {
		grown := math.Ceil(float64(size)*r.Growth - 1e-9)
		size = int(min(grown, float64(len(rest))))
		if !r.MaxWave.IsZero() {
			size = min(size, r.MaxWave.of(n))
		}
		size = max(size, 1)
		waves = append(waves, rest[:size])
		rest = rest[size:]
	}
	return waves, nil
}

// hasTags reports whether tags hold every KEY=VALUE of want.
func hasTags(tags []types.Tag, want map[string]string) bool {
	for k, v := range want {
		if !slices.ContainsFunc(tags, func(t types.Tag) bool { return aws.ToString(t.Key) == k && aws.ToString(t.Value) == v }) {
			return false
		}
	}
	return true
}

package fake

import (
	"context"
	"fmt"
	"maps"
	"sync"
	"time"

	"github.com/aws/smithy-go"
)

// Operation names, as the SDK reports them in smithy.OperationError.
const (
	opRunInstances                   = "RunInstances"
	opStartInstances                 = "StartInstances"
	opStopInstances                  = "StopInstances"
	opTerminateInstances             = "TerminateInstances"
	opDescribeInstances              = "DescribeInstances"
	opRegisterImage                  = "RegisterImage"
	opDescribeImages                 = "DescribeImages"
	opGetInstanceMetadataDefaults    = "GetInstanceMetadataDefaults"
	opModifyInstanceMetadataDefaults = "ModifyInstanceMetadataDefaults"
	opModifyInstanceMetadataOptions  = "ModifyInstanceMetadataOptions"
)

// defaultRegion is the Region of an EC2 fake made with New.
const defaultRegion = "us-east-1"

// Options configures an EC2 fake.
type Options struct {
	// ApplyDelay is how long a running instance's metadata options stay
	// "pending" after ModifyInstanceMetadataOptions before DescribeInstances
	// reports "applied". New pre-fills it with 2s before the option functions
	// run, so setting it to 0 makes changes apply at once.
	ApplyDelay time.Duration

	// PropagationDelay is how long after RunInstances (or Launch) a new
	// instance ID answers InvalidInstanceID.NotFound to DescribeInstances
	// (when named in InstanceIds) and ModifyInstanceMetadataOptions, and is
	// left out of DescribeInstances listings, as EC2's eventual consistency
	// does. The default is 0.
	PropagationDelay time.Duration

	// Throttle turns on EC2's request and resource throttling: each call
	// of an operation takes a token from its request bucket, and the calls
	// that launch, start, stop or terminate instances also take a token per
	// instance from their resource bucket; a call that finds too few tokens
	// is answered RequestLimitExceeded (HTTP 503). Every operation has
	// buckets of its own, sized by category (see [Buckets]). A throttled
	// call has no other effect but is counted by [EC2.Calls] and
	// [EC2.Throttled]. Seeding ([EC2.Launch]) takes no tokens. Off by
	// default.
	Throttle bool

	// AcceptOptionsOnDisabledEndpoint makes ModifyInstanceMetadataOptions
	// accept HttpTokens, HttpPutResponseHopLimit and HttpProtocolIpv6 on an
	// instance whose endpoint is disabled and stays so. By default the fake
	// refuses them with InvalidParameterCombination: EC2 documents "When you
	// specify a value for http-tokens, you must also set http-endpoint to
	// enabled" (and the same of the hop limit and IPv6), but not what it
	// answers a request that omits HttpEndpoint on such an instance, so the
	// fake takes the reading hardest for callers. (HttpProtocolIpv6 enabled
	// with HttpEndpoint disabled in the same request is refused either way.)
	AcceptOptionsOnDisabledEndpoint bool

	// ReportedModifyEnforcedMessage makes a ModifyInstanceMetadataOptions
	// refused by the account's enforcement of IMDSv2 answer "You can't set
	// httpTokens to 'optional' because httpTokensEnforced is enabled for
	// this account.", the wording one third-party source reports (weak),
	// instead of the text the User Guide documents for it, which is the
	// launch's ("You can't launch instances with IMDSv1 because
	// httpTokensEnforced is enabled for this account. Either launch...").
	// The code, UnsupportedOperation, is the same. Off by default.
	ReportedModifyEnforcedMessage bool

	// Buckets are the sizes of the buckets used when Throttle is on, by
	// category. New pre-fills them with EC2's documented sizes and refill
	// rates (see EC2Buckets) before the option functions run. Buckets start
	// full when New returns.
	Buckets Buckets
}

// EC2 is an in-memory model of the EC2 operations that manage instance
// metadata options. Its methods have the signatures of the same methods of
// *ec2.Client. An EC2 is safe for concurrent use; create it with New.
type EC2 struct {
	mu   sync.Mutex
	opts Options

	// The account and Region the fake is: AccountID and us-east-1 for New,
	// its own for an Organization's. home is the account of an
	// Organization, nil for New.
	account, region string
	home            *Account

	images     map[string]*image // by ID
	imageNames map[string]*image // by name
	imageOrder []*image
	instances  map[string]*instance
	order      []*instance      // launch order
	defaults   accountDefaults  // the account's own
	managed    *managedDefaults // set by a declarative policy, if any
	lt         templateStore    // launch templates: templates.go

	nextImage, nextInstance, nextReservation uint64

	calls       map[string]int
	faults      map[string][]fault
	denied      map[string]bool
	buckets     *limiters // nil unless Options.Throttle
	throttled   map[string]int
	unthrottled int // calls of Unthrottled running
}

// fault is an entry of the FailNext queue of one operation.
type fault struct {
	n   int
	err error
}

// New returns an empty EC2 fake: no images, no instances, and no account
// defaults for instance metadata options.
func New(optFns ...func(*Options)) *EC2 {
	return newEC2(AccountID, defaultRegion, nil, optFns...)
}

// newEC2 returns an empty EC2 fake of account and region, of the
// Organization's account home (nil for none).
func newEC2(account, region string, home *Account, optFns ...func(*Options)) *EC2 {
	opts := Options{ApplyDelay: 2 * time.Second, Buckets: EC2Buckets()}
	for _, fn := range optFns {
		if fn != nil {
			fn(&opts)
		}
	}
	f := &EC2{
		account:    account,
		region:     region,
		home:       home,
		opts:       opts,
		images:     make(map[string]*image),
		imageNames: make(map[string]*image),
		instances:  make(map[string]*instance),
		calls:      make(map[string]int),
		faults:     make(map[string][]fault),
		denied:     make(map[string]bool),
		throttled:  make(map[string]int),
	}
	if opts.Throttle {
		f.buckets = newLimiters(opts.Buckets)
	}
	return f
}

// FailNext makes the next n calls of operation (an SDK operation name such as
// "DescribeInstances") return err without any other effect. err is wrapped in
// a *smithy.OperationError like the SDK does, unless it already is one; build
// service errors with NewAPIError. A nil err injects an InternalError with
// HTTP status 500. Calling FailNext again for the same operation queues a
// further entry behind the ones already pending.
func (f *EC2) FailNext(operation string, n int, err error) {
	if n <= 0 {
		return
	}
	if err == nil {
		err = NewAPIError(500, "InternalError", "An internal error has occurred.")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults[operation] = append(f.faults[operation], fault{n: n, err: err})
}

// Deny withdraws the caller's permission for operation: every later call of
// it, with or without DryRun, fails with UnauthorizedOperation (HTTP 403).
// Failures queued with FailNext are answered first.
func (f *EC2) Deny(operation string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.denied[operation] = true
}

// Unthrottled runs fn with request and resource throttling suspended: the
// API calls made while it runs, by fn or anyone else, take no token from
// any bucket and are never answered RequestLimitExceeded by them. It is
// for seeding through the API (launch templates, Auto Scaling groups,
// whose launches are RunInstances calls) a fake with [Options.Throttle]
// on, whose buckets are then as full as before. Calls are still counted,
// and FailNext and Deny still apply.
func (f *EC2) Unthrottled(fn func()) {
	f.mu.Lock()
	f.unthrottled++
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.unthrottled--
		f.mu.Unlock()
	}()
	fn()
}

// AccountID returns the ID of the account the fake acts as: [AccountID]
// for a fake made with New, the account's own in an [Organization]. It is
// the OwnerId of its reservations and of the images it registers.
func (f *EC2) AccountID() string { return f.account }

// Region returns the Region the fake serves: us-east-1 for a fake made with
// New, the Region of an [Organization]'s account it was made for.
func (f *EC2) Region() string { return f.region }

// Calls reports how many times operation was called, including calls that
// failed, were injected with FailNext, or were dry runs.
func (f *EC2) Calls(operation string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[operation]
}

// CallCounts returns a copy of the call counters of all operations called so
// far, keyed by operation name.
func (f *EC2) CallCounts() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return maps.Clone(f.calls)
}

// begin is the first step of every operation and must be called with f.mu
// held. It counts the call, then answers a canceled context, an injected
// fault, an empty request token bucket, or a missing permission. With
// Options.Throttle on, a call that gets past an injected fault takes a token
// from its operation's request bucket of the kind given (see apiThrottling).
func (f *EC2) begin(ctx context.Context, op string, kind requestKind) error {
	f.calls[op]++
	if ctx != nil {
		if err := ctx.Err(); err != nil {
			return wrap(op, &smithy.CanceledError{Err: err})
		}
	}
	if q := f.faults[op]; len(q) > 0 {
		err := q[0].err
		if q[0].n--; q[0].n <= 0 {
			f.faults[op] = q[1:]
		}
		return wrap(op, err)
	}
	if f.unthrottled == 0 && !f.buckets.takeRequest(op, kind, time.Now()) {
		f.throttled[op]++
		return throttled(f.account, op)
	}
	if f.denied[op] {
		return apiError(op, 403, codeUnauthorized, "You are not authorized to perform this operation.")
	}
	return nil
}

// newID returns the next ID with the given prefix: 17 hex digits from a
// counter, so IDs are the same in every run.
func newID(prefix string, seq *uint64) string {
	*seq++
	return fmt.Sprintf("%s-%017x", prefix, *seq)
}

// isHexID reports whether id is prefix, a hyphen, and 8 or 17 lowercase hex
// digits, which is the syntax EC2 accepts for resource IDs.
func isHexID(id, prefix string) bool {
	if len(id) <= len(prefix) || id[:len(prefix)] != prefix || id[len(prefix)] != '-' {
		return false
	}
	hex := id[len(prefix)+1:]
	if len(hex) != 8 && len(hex) != 17 {
		return false
	}
	for _, c := range hex {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// dryRun reports whether the DryRun parameter p is set to true.
func dryRun(p *bool) bool { return p != nil && *p }

// dryRunError is what EC2 answers a permitted dry run.
func dryRunError(op string) error {
	return apiError(op, 412, codeDryRun, "Request would have succeeded, but DryRun flag is set.")
}

// begun returns the input of a call whose begin returned err: params, or
// the zero input when the caller passed nil, as the SDK allows.
func begun[P any](params *P, err error) (*P, error) {
	if err != nil {
		return nil, err
	}
	if params == nil {
		params = new(P)
	}
	return params, nil
}

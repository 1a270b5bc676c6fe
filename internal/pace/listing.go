package pace

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/imdsopts/imdsopts/internal/check"
)

// Listings: every paged Describe the module makes goes through
// Pacer.Pages, so that each page is paced, counted and retried by the retry
// core, and a listing that fails, answers nothing or would never end is an
// error, never a shorter list taken for the whole.

// ErrNoAnswer is a call that returned neither an answer nor an error.
var ErrNoAnswer = errors.New("answered nothing")

// Bounds on the pages of one listing. A listing that goes past its bound,
// each page with a token not seen before, is an error: an endpoint that
// always answers a fresh NextToken would otherwise be paged for ever.
// Each bound is a generous multiple of the most that EC2's quotas let an
// account hold:
//
//   - DescribeInstances (1000 instances a page): 10,000 pages, room for 10
//     million instances at full pages, and still for 100,000 (more than
//     the vCPU quotas of all but the largest accounts allow) if EC2
//     answered pages a hundredth full, as it may with filters.
//   - GetMetricData (100,800 datapoints a page): 1000 pages, about 18
//     times the most one request of ours can need (500 instances, hourly
//     over the longest IMDSv1Window).
//   - Organizations ListAccounts: DiscoverOptions.MaxAccounts pages plus
//     maxEmptyPages (one account a page, and the empty pages it may
//     answer).
//   - Every other listing (launch templates, 5,000 a Region, and their
//     versions, 10,000 a template, 200 a page; Auto Scaling groups, 500 a
//     Region, and launch configurations, 200 a Region, 100 a page; images,
//     50,000 a Region, 1000 a page): 1000 pages.
const (
	maxInstancePages = 10000
	maxPages         = 1000
)

// PageLimit returns the bound on the pages of a listing by op.
func PageLimit(op string) int {
	if op == "DescribeInstances" {
		return maxInstancePages
	}
	return maxPages
}

// PageTokens follows the page tokens of one listing by op, to tell one
// that would not end: a token answered twice, or more than limit pages.
// It keeps a digest of each token, so that tokens of any length cost
// little to remember; a nil seen counts the pages only (for a listing
// that may answer the token it was sent).
type PageTokens struct {
	op    string
	limit int
	pages int
	seen  map[[sha256.Size]byte]bool
}

// NewPageTokens returns the follower of a listing by op of at most limit
// pages.
func NewPageTokens(op string, limit int) *PageTokens {
	return &PageTokens{op: op, limit: limit, seen: map[[sha256.Size]byte]bool{}}
}

// NewPageCounter returns a follower of a listing by op that counts its
// pages only, up to limit: for a listing that may answer the token it was
// sent.
func NewPageCounter(op string, limit int) *PageTokens {
	return &PageTokens{op: op, limit: limit}
}

// Next takes the token a page answered (not empty): nil when the listing
// may go on to that page, else why it would not end.
func (t *PageTokens) Next(token string) error {
	t.pages++
	sum := sha256.Sum256([]byte(token))
	switch {
	case t.seen != nil && t.seen[sum]:
		return fmt.Errorf("%s answered the page token %s twice: the listing would not end", t.op, check.Quote(token))
	case t.pages >= t.limit:
		return fmt.Errorf("%s answered %d pages, each with a page token not seen before, and has more: the listing would not end (the bound is %d pages)",
			t.op, t.pages, t.limit)
	}
	if t.seen != nil {
		t.seen[sum] = true
	}
	return nil
}

// Pages runs a paged listing as c: page makes one attempt at the page that
// token names (nil for the first) and returns the next page's token (nil or
// empty after the last page). A page is retried as c says; page must only
// keep what it read once it returns nil. what names the listing in errors
// ("list instances"). A listing that answers a token twice, or more pages
// than PageLimit(c.Op), is an error.
func (p *Pacer) Pages(ctx context.Context, c Call, what string, page func(ctx context.Context, token *string) (next *string, err error)) error {
	var token *string
	tokens := NewPageTokens(c.Op, PageLimit(c.Op))
	for {
		var next *string
		_, err := p.Do(ctx, c, func(ctx context.Context) error {
			var err error
			next, err = page(ctx, token)
			return err
		})
		if err != nil {
			return fmt.Errorf("imdsopts: %s: %s: %w", what, c.Op, err)
		}
		t := aws.ToString(next)
		if t == "" {
			return nil
		}
		if err := tokens.Next(t); err != nil {
			return fmt.Errorf("imdsopts: %s: %w", what, err)
		}
		token = aws.String(t)
	}
}

// Collect runs a paged listing as p.Pages does, calling call for each page
// (token nil for the first) and gathering the items page returns with the
// next page's token. An answer of neither items nor an error is an error.
func Collect[T, Out any](ctx context.Context, p *Pacer, c Call, what string,
	call func(ctx context.Context, token *string) (*Out, error), page func(*Out) ([]T, *string)) ([]T, error) {
	var found []T
	err := p.Pages(ctx, c, what, func(ctx context.Context, token *string) (*string, error) {
		out, err := call(ctx, token)
		switch {
		case err != nil:
			return nil, err
		case out == nil:
			return nil, ErrNoAnswer
		}
		items, next := page(out)
		found = append(found, items...)
		return next, nil
	})
	return found, err
}

// Each calls fn for 0 ≤ i < n, at most k at a time. The first error cancels
// the calls not yet started and those under way (through their context),
// and is returned; so is the context's error when ctx ends first.
func Each(ctx context.Context, n, k int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var (
		mu    sync.Mutex
		first error
	)
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if first == nil {
			first = err
			cancel(err)
		}
	}
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(max(k, 1), n) {
		wg.Go(func() {
			for i := range next {
				if ctx.Err() != nil {
					continue
				}
				if err := fn(ctx, i); err != nil {
					fail(err)
				}
			}
		})
	}
feed:
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if first != nil {
		return first
	}
	return context.Cause(ctx)
}

package pace

import (
	"context"
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

// Pages runs a paged listing as c: page makes one attempt at the page that
// token names (nil for the first) and returns the next page's token (nil or
// empty after the last page). A page is retried as c says; page must only
// keep what it read once it returns nil. what names the listing in errors
// ("list instances").
func (p *Pacer) Pages(ctx context.Context, c Call, what string, page func(ctx context.Context, token *string) (next *string, err error)) error {
	var token *string
	seen := map[string]bool{}
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
		if seen[t] {
			return fmt.Errorf("imdsopts: %s: %s answered the page token %s twice: the listing would not end", what, c.Op, check.Quote(t))
		}
		seen[t] = true
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

package imdsopts

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// Listings: every paged Describe this package makes goes through
// pacer.pages, so that each page is paced, counted and retried by the retry
// core, and a listing that fails, answers nothing or would never end is an
// error, never a shorter list taken for the whole.

// errNoAnswer is a call that returned neither an answer nor an error.
var errNoAnswer = errors.New("answered nothing")

// pages runs a paged listing as c: page makes one attempt at the page that
// token names (nil for the first) and returns the next page's token (nil or
// empty after the last page). A page is retried as c says; page must only
// keep what it read once it returns nil. what names the listing in errors
// ("list instances").
func (p *pacer) pages(ctx context.Context, c call, what string, page func(ctx context.Context, token *string) (next *string, err error)) error {
	var token *string
	seen := map[string]bool{}
	for {
		var next *string
		_, err := p.do(ctx, c, func(ctx context.Context) error {
			var err error
			next, err = page(ctx, token)
			return err
		})
		if err != nil {
			return fmt.Errorf("imdsopts: %s: %s: %w", what, c.op, err)
		}
		t := aws.ToString(next)
		if t == "" {
			return nil
		}
		if seen[t] {
			return fmt.Errorf("imdsopts: %s: %s answered the page token %s twice: the listing would not end", what, c.op, quote(t))
		}
		seen[t] = true
		token = aws.String(t)
	}
}

// collect runs a paged listing as a.list does, calling call for each page
// (token nil for the first) and gathering the items page returns with the
// next page's token. An answer of neither items nor an error is an error.
func collect[T, Out any](ctx context.Context, a *account, op, what string,
	call func(ctx context.Context, token *string) (*Out, error), page func(*Out) ([]T, *string)) ([]T, error) {
	var found []T
	err := a.list(ctx, op, what, func(ctx context.Context, token *string) (*string, error) {
		out, err := call(ctx, token)
		switch {
		case err != nil:
			return nil, err
		case out == nil:
			return nil, errNoAnswer
		}
		items, next := page(out)
		found = append(found, items...)
		return next, nil
	})
	return found, err
}

// each calls fn for 0 ≤ i < n, at most k at a time. The first error cancels
// the calls not yet started and those under way (through their context),
// and is returned; so is the context's error when ctx ends first.
func each(ctx context.Context, n, k int, fn func(ctx context.Context, i int) error) error {
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

package fake

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
)

// pageKey is the position of an item in a listing: listings are sorted by
// their keys, compared element by element. A page token holds the key of
// the first item of the next page, so items created or deleted between two
// calls never make a later page skip or repeat an item that stays.
type pageKey [2]int64

func (k pageKey) less(o pageKey) bool {
	return k[0] < o[0] || k[0] == o[0] && k[1] < o[1]
}

// encodePageToken returns the opaque page token of key k for listings of
// the given kind; a token of one kind is refused by listings of another.
func encodePageToken(kind string, k pageKey) string {
	return base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, "fake-%s:%d:%d", kind, k[0], k[1]))
}

// decodePageToken returns the key held by token, or false when token is not
// a token of kind.
func decodePageToken(kind, token string) (pageKey, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return pageKey{}, false
	}
	s, ok := strings.CutPrefix(string(raw), "fake-"+kind+":")
	if !ok {
		return pageKey{}, false
	}
	a, b, ok := strings.Cut(s, ":")
	if !ok {
		return pageKey{}, false
	}
	var k pageKey
	var errA, errB error
	k[0], errA = strconv.ParseInt(a, 10, 64)
	k[1], errB = strconv.ParseInt(b, 10, 64)
	if errA != nil || errB != nil {
		return pageKey{}, false
	}
	// Only the canonical spelling of a key is a token.
	if encodePageToken(kind, k) != token {
		return pageKey{}, false
	}
	return k, true
}

// paginate returns the items of a listing sorted by key from the one at
// from on (all when from is nil), at most limit of them (all when limit is
// 0 or less), and the key of the first item left out, or nil on the last
// page.
func paginate[T any](items []T, key func(T) pageKey, from *pageKey, limit int) ([]T, *pageKey) {
	start := 0
	if from != nil {
		for start < len(items) && key(items[start]).less(*from) {
			start++
		}
	}
	items = items[start:]
	if limit <= 0 || len(items) <= limit {
		return items, nil
	}
	next := key(items[limit])
	return items[:limit], &next
}

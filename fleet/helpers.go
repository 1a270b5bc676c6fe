package fleet

import (
	"github.com/imdsopts/imdsopts"
)

// hopField returns a Set that holds a hop limit and nothing else: given to
// Set.Without, it takes the hop limit out of a Set.
func hopField() imdsopts.Set {
	s, _ := imdsopts.New(imdsopts.HopLimit(1)) // a valid hop limit: no error
	return s
}

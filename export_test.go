package imdsopts

// WithJitter makes the retry schedule draw its jitter from rnd, so that a
// simulation can compare schedules on the same random numbers.
func WithJitter(rnd func() float64) func(*WaiterOptions) {
	return func(o *WaiterOptions) { o.rnd = rnd }
}

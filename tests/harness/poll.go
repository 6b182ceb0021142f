package harness

import "time"

// Poll calls cond every 20 ms until it returns true or within has passed,
// and returns how long that took and whether cond held. Tests of things
// that happen "soon" (a change made underneath a mount showing through it,
// an idle unmount) poll instead of sleeping a fixed time: fast when it
// works, a bounded failure when it does not, and the time is a measurement.
func Poll(within time.Duration, cond func() bool) (time.Duration, bool) {
	start := time.Now()
	for {
		if cond() {
			return time.Since(start), true
		}
		if time.Since(start) > within {
			return time.Since(start), false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

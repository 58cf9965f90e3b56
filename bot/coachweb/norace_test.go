//go:build !race

package coachweb_test

// raceDetector is set when the tests run under the race detector, which
// makes bcrypt some 15 times slower and timings meaningless.
const raceDetector = false

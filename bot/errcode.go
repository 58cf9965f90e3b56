package bot

import (
	"strconv"
	"sync"
)

// MaxErrorCodeLabels bounds the distinct Twilio error codes
// ErrorCodeLabel names in one process; codes seen after that many are
// "other", so that a metric labelled by code cannot grow without bound.
const MaxErrorCodeLabels = 40

var errorCodes = struct {
	sync.Mutex
	seen map[int]bool
}{seen: map[int]bool{}}

// ErrorCodeLabel names a Twilio error code in a metric label: "none" for
// 0 (Twilio gave no code: a timeout, a network failure, an HTTP status
// alone), the code's digits for one of Twilio's codes (1 to 99999) among
// the first MaxErrorCodeLabels seen, "other" for the rest.
func ErrorCodeLabel(code int) string {
	if code == 0 {
		return "none"
	}
	if code < 0 || code > 99999 {
		return "other"
	}
	errorCodes.Lock()
	defer errorCodes.Unlock()
	if !errorCodes.seen[code] {
		if len(errorCodes.seen) >= MaxErrorCodeLabels {
			return "other"
		}
		errorCodes.seen[code] = true
	}
	return strconv.Itoa(code)
}

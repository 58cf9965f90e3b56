// Package httpstatus is the one table from Darsi's error kinds to HTTP
// status codes, shared by every HTTP interface (simulator, webhook,
// dashboard) so that they answer alike.
package httpstatus

import (
	"net/http"

	"github.com/darsi-ma/darsi/bot"
)

// Of returns the HTTP status for err: 400 for Invalid, 403 for Forbidden,
// 404 for NotFound, 409 for Conflict, 503 for Unavailable and 500 for
// anything else.
func Of(err error) int {
	switch bot.KindOf(err) {
	case bot.Invalid:
		return http.StatusBadRequest
	case bot.Forbidden:
		return http.StatusForbidden
	case bot.NotFound:
		return http.StatusNotFound
	case bot.Conflict:
		return http.StatusConflict
	case bot.Unavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

package pod

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/go-diaspora/federation/discovery"
	"github.com/go-diaspora/federation/examples/pod/internal/store"
)

// Problem says how to answer a person whose request failed with err: the
// HTTP status, a message for them, and for a throttled request when to
// try again. 500 means an error of the pod, to be logged, whose text is
// not shown.
func Problem(err error) (status int, msg string, retry time.Duration) {
	var t ThrottledError
	switch {
	case errors.Is(err, store.ErrNotFound), errors.Is(err, discovery.ErrNotFound):
		return http.StatusNotFound, "not found", 0
	case errors.As(err, &t):
		return http.StatusTooManyRequests, t.Error(), t.Retry
	case errors.Is(err, ErrForbidden):
		return http.StatusForbidden, "you may not do that", 0
	case errors.Is(err, store.ErrInvalid):
		return http.StatusUnprocessableEntity, strings.TrimPrefix(err.Error(), store.ErrInvalid.Error()+": "), 0
	case errors.Is(err, store.ErrConflict):
		return http.StatusConflict, strings.TrimPrefix(err.Error(), store.ErrConflict.Error()+": "), 0
	case errors.Is(err, discovery.ErrInvalidID):
		return http.StatusUnprocessableEntity, "that is not a diaspora* ID (like someone@example.org)", 0
	case discovery.IsTemporary(err):
		return http.StatusBadGateway, "the other pod could not be reached; try again later", 0
	case errors.Is(err, discovery.ErrBlockedAddress), errors.Is(err, discovery.ErrBlockedURL):
		return http.StatusUnprocessableEntity, "this pod does not connect to that address", 0
	case errors.Is(err, discovery.ErrInvalidDocument), errors.Is(err, discovery.ErrValidation),
		errors.Is(err, discovery.ErrSubjectMismatch):
		return http.StatusUnprocessableEntity, "the other pod's answer about that person is not valid", 0
	}
	return http.StatusInternalServerError, "internal error", 0
}

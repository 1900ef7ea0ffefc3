// Package temporary holds the module's one rule for telling "could not
// check now, try again later" from "checked and refused". Both
// discovery.IsTemporary and salmon.IsTemporary are this rule, and the
// Temporary methods of the SDK's error types apply it to what they wrap.
// It is a leaf (standard library only).
package temporary

import (
	"context"
	"net"
	"net/http"
)

// Is reports whether err is a temporary failure. It looks at err and
// everything it wraps (Unwrap() error and Unwrap() []error):
//
//   - nil is not temporary, and neither is a tree that holds a cancelled
//     context or a final refusal made with [Final] (a blocked address, a
//     key that is not found), even when it also holds a network error;
//   - otherwise the tree is temporary when anything in it says so: a
//     net.Error (a refused connection, a timeout,
//     context.DeadlineExceeded), whatever its own Temporary method says,
//     or another error whose Temporary() bool method reports true (an
//     HTTP 503, a failed lookup). One attempt that failed for good beside
//     one that may succeed later (a 404, then a 502 from a fallback) is
//     worth a retry;
//   - an error where nothing says so is not temporary.
func Is(err error) bool {
	temporary, _ := Answer(err)
	return temporary
}

// Answer is [Is] that also tells whether anything in err answered: a
// final refusal, a network error, or an error with a Temporary() bool
// method. An error that does not answer is neither temporary nor known to
// be final, and the caller picks the default (magicenv treats a key
// resolver's silent error as temporary, for example).
func Answer(err error) (temporary, answered bool) {
	if err == nil {
		return false, false
	}
	if anyNode(err, isFinal) {
		return false, true
	}
	temporary = anyNode(err, func(e error) bool {
		if _, ok := e.(net.Error); ok {
			answered = true
			return true
		}
		if t, ok := e.(interface{ Temporary() bool }); ok {
			answered = true
			return t.Temporary()
		}
		return false
	})
	return temporary, answered
}

// Status reports whether an HTTP status says "try again later": 408, 425,
// 429 and every 5xx.
func Status(code int) bool {
	switch code {
	case http.StatusRequestTimeout, http.StatusTooEarly, http.StatusTooManyRequests:
		return true
	}
	return code >= 500 && code < 600
}

func isFinal(e error) bool {
	if e == context.Canceled {
		return true
	}
	_, ok := e.(*finalError)
	return ok
}

// Final returns a sentinel error with the given text whose presence in an
// error tree makes it final for [Is]: a refusal that a retry cannot
// change (a blocked address, a document on another host) even when it
// wraps a network error.
func Final(text string) error { return &finalError{text} }

// Refused reports whether err holds a final refusal made with [Final] (a
// blocked address, say): unlike [Is], a cancelled context does not count,
// so a caller can tell "refused for good" from "stopped".
func Refused(err error) bool {
	return anyNode(err, func(e error) bool { _, ok := e.(*finalError); return ok })
}

type finalError struct{ s string }

func (e *finalError) Error() string { return e.s }

// Temporary reports false: the error is final.
func (e *finalError) Temporary() bool { return false }

// anyNode reports whether f holds for err or any error it wraps, depth
// first, stopping at the first node for which it holds.
func anyNode(err error, f func(error) bool) bool {
	for depth := 0; err != nil && depth < 100; depth++ {
		if f(err) {
			return true
		}
		switch u := err.(type) {
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				if anyNode(e, f) {
					return true
				}
			}
			return false
		case interface{ Unwrap() error }:
			err = u.Unwrap()
		default:
			return false
		}
	}
	return false
}

// Package logs holds the SDK's one rule for loggers: a nil *slog.Logger
// logs nothing. Network code records errors under the key "err".
package logs

import "log/slog"

var discard = slog.New(slog.DiscardHandler)

// Or returns l, or a logger that discards everything when l is nil.
func Or(l *slog.Logger) *slog.Logger {
	if l == nil {
		return discard
	}
	return l
}

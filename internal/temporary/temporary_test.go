package temporary

import (
	"context"
	"errors"
	"fmt"
	"net"
	"syscall"
	"testing"
)

type says bool

func (s says) Error() string   { return fmt.Sprintf("says %v", bool(s)) }
func (s says) Temporary() bool { return bool(s) }

func TestIs(t *testing.T) {
	final := Final("blocked")
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	plain := errors.New("plain")
	tests := []struct {
		name          string
		err           error
		temp, answers bool
	}{
		{"nil", nil, false, false},
		{"plain", plain, false, false},
		{"wrapped plain", fmt.Errorf("x: %w", plain), false, false},
		{"refused connection (its own Temporary says false)", refused, true, true},
		{"deadline", fmt.Errorf("x: %w", context.DeadlineExceeded), true, true},
		{"cancelled", context.Canceled, false, true},
		{"cancelled beside a timeout", errors.Join(context.DeadlineExceeded, context.Canceled), false, true},
		{"final", final, false, true},
		{"final wrapping a network error", fmt.Errorf("%w: %w", refused, final), false, true},
		{"method true", fmt.Errorf("x: %w", says(true)), true, true},
		{"method false", says(false), false, true},
		{"a final answer beside a temporary one", fmt.Errorf("%w: %w", says(false), refused), true, true},
		{"any temporary answer", errors.Join(plain, says(false), says(true)), true, true},
		{"only final answers", errors.Join(plain, says(false), says(false)), false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			temp, answers := Answer(tt.err)
			if temp != tt.temp || answers != tt.answers {
				t.Errorf("Answer = %v, %v; want %v, %v", temp, answers, tt.temp, tt.answers)
			}
			if Is(tt.err) != tt.temp {
				t.Errorf("Is = %v", !tt.temp)
			}
		})
	}
	if final.Error() != "blocked" {
		t.Errorf("Final text = %q", final.Error())
	}
}

func TestStatus(t *testing.T) {
	for code, want := range map[int]bool{200: false, 301: false, 404: false, 408: true, 410: false, 425: true, 429: true, 500: true, 503: true, 599: true, 600: false} {
		if got := Status(code); got != want {
			t.Errorf("Status(%d) = %v, want %v", code, got, want)
		}
	}
}

func TestRefused(t *testing.T) {
	final := Final("blocked")
	dial := &net.OpError{Op: "dial", Net: "tcp", Err: fmt.Errorf("%w: 127.0.0.1:443", final)}
	for _, tt := range []struct {
		err  error
		want bool
	}{
		{nil, false},
		{final, true},
		{fmt.Errorf("delivery: %w", dial), true},
		{errors.Join(errors.New("a"), final), true},
		{context.Canceled, false},
		{fmt.Errorf("x: %w", context.Canceled), false},
		{&net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, false},
	} {
		if got := Refused(tt.err); got != tt.want {
			t.Errorf("Refused(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

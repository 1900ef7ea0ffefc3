package logs

import (
	"bytes"
	"log/slog"
	"testing"
)

func TestOr(t *testing.T) {
	Or(nil).Error("nothing happens", "err", "x") // must not panic
	if Or(nil).Enabled(t.Context(), slog.LevelError) {
		t.Error("the default logger is enabled")
	}
	var b bytes.Buffer
	l := slog.New(slog.NewTextHandler(&b, nil))
	Or(l).Info("kept")
	if !bytes.Contains(b.Bytes(), []byte("kept")) {
		t.Errorf("Or(l) does not log to l: %q", b.String())
	}
}

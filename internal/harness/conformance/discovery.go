package conformance

import (
	"context"
	"encoding/json"

	"github.com/go-diaspora/federation/discovery"
	"github.com/go-diaspora/federation/internal/harness/vectors"
)

// judgeDiscovery parses and validates a discovery document.
func judgeDiscovery(_ context.Context, _ *Env, v vectors.Vector, body []byte) Verdict {
	view, err := discovery.ParseKind(v.Kind, body)
	if err != nil {
		c := discovery.Category(err)
		return Verdict{Category: c, Message: err.Error(), Error: &VerdictError{Category: c, Message: err.Error()}}
	}
	b, err := json.Marshal(view)
	if err != nil {
		return Verdict{Category: "error", Message: err.Error(), Error: &VerdictError{Category: "error", Message: err.Error()}}
	}
	var out any
	_ = json.Unmarshal(b, &out)
	return Verdict{Valid: true, Entity: out}
}

package pod

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/go-diaspora/federation/examples/pod/internal/store"
	"github.com/go-diaspora/federation/magicenv"
	"github.com/go-diaspora/federation/salmon"
)

// outboxQueue is a durable salmon.Queue over the outbox table. Next
// polls the table (and wakes early when something is enqueued); claimed
// rows are leased so that a crash never loses them.
type outboxQueue struct {
	s    *store.Store
	log  *slog.Logger
	wake chan struct{}
	poll time.Duration
	p    *Pod
}

func (q *outboxQueue) Next(ctx context.Context) (*salmon.Job, error) {
	for {
		j, err := q.s.ClaimOutbox(ctx)
		if err == nil {
			return j, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if !errors.Is(err, store.ErrNotFound) {
			q.log.ErrorContext(ctx, "outbox claim", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-q.wake:
		case <-time.After(q.poll):
		}
	}
}

// Done records the final outcome: the row leaves the queue, the pod's
// health keeps the result (and the error of a final failure). Errors are
// logged, not returned: the row's lease then runs out and it is tried
// again (at least once).
func (q *outboxQueue) Done(ctx context.Context, j *salmon.Job, a salmon.Attempt) error {
	if q.p != nil {
		q.p.retryErr.Delete(j.Delivery.ID)
	}
	errText := ""
	if a.Err != nil {
		errText = a.Err.Error()
	}
	err := q.s.OutboxDone(ctx, j.Delivery.ID, a.Outcome == salmon.Delivered, errText)
	if err != nil {
		q.log.ErrorContext(ctx, "outbox done", "id", j.Delivery.ID, "err", err)
	} else if a.Outcome == salmon.Delivered && q.p != nil {
		notify(q.p.nodeInfoWake) // the pod may be due for a NodeInfo look (runNodeInfo)
	}
	return nil
}

// Reschedule puts a job back after a temporary failure. (A delivery the
// SSRF guard refused, a peer URL in a reserved range, never comes here:
// the Sender fails it for good, and Done records it.)
func (q *outboxQueue) Reschedule(ctx context.Context, j *salmon.Job, due time.Time) error {
	errText := ""
	if q.p != nil {
		if v, ok := q.p.retryErr.LoadAndDelete(j.Delivery.ID); ok {
			errText = v.(error).Error()
		}
	}
	err := q.s.OutboxRetry(ctx, j.Delivery.ID, j.Attempts, due, errText)
	if err != nil {
		q.log.ErrorContext(ctx, "outbox reschedule", "id", j.Delivery.ID, "err", err)
	}
	return nil
}

// deliveriesFor gives one public delivery of an envelope per pod.
func deliveriesFor(body []byte, pods []string) ([]salmon.Delivery, error) {
	var ds []salmon.Delivery
	for _, pod := range pods {
		u, err := url.Parse(pod)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("bad pod URL %q", pod)
		}
		ru := strings.TrimSuffix(pod, "/") + "/receive/public"
		ds = append(ds, salmon.Delivery{ID: ru, URL: ru, ContentType: magicenv.ContentType, Body: body})
	}
	return ds, nil
}
